//! Access-token verification and signing on one core: every authenticated request
//! pays for one verification, so this bounds per-core request throughput.
//! Run: `cargo bench -p kernel --bench tokens`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kernel::auth::{Claims, ISSUER, Jwks, JwksSource, Role, SigningKey, Verifier};
use kernel::ids::{SessionId, UserId};

struct Static(Jwks);

#[async_trait::async_trait]
impl JwksSource for Static {
    async fn fetch(&self) -> anyhow::Result<Jwks> {
        Ok(self.0.clone())
    }
}

fn tokens(c: &mut Criterion) {
    let key = SigningKey::from_bytes("bench".into(), &[7; 32]);
    let claims = Claims {
        sub: UserId(uuid::Uuid::from_u128(1)),
        sid: SessionId(uuid::Uuid::from_u128(2)),
        email: "bench@example.com".into(),
        email_verified: true,
        roles: vec![Role::Customer],
        stores: Vec::new(),
        iss: ISSUER.into(),
        iat: 0,
        exp: i64::MAX,
    };
    let token = key.sign(&claims);
    let verifier = Verifier::new(Box::new(Static(Jwks {
        keys: vec![key.jwk()],
    })));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    // Warm the key cache so the loop measures verification only.
    rt.block_on(verifier.verify_at(&token, 1))
        .unwrap_or_else(|e| panic!("{e}"));

    c.bench_function("verify access token", |b| {
        b.iter(|| rt.block_on(verifier.verify_at(black_box(&token), 1)))
    });
    c.bench_function("sign access token", |b| {
        b.iter(|| key.sign(black_box(&claims)))
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
