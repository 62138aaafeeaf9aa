//! What the gateway turns away before a service spends anything on it: a bearer token
//! that does not verify, and callers over their rate limits, counted in the real Redis
//! so that gateway replicas share them. Also what it adds: CORS for listed origins,
//! gzip, a body limit.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::{get, post};
use gateway::GatewayConfig;

mod common;
use common::gateway;
use kernel::auth::{Claims, Jwks, SigningKey};
use kernel::ids::{SessionId, UserId};

/// A stand-in identity: its keys, a registration endpoint and a large page.
async fn identity(key: &SigningKey, hits: Arc<AtomicUsize>) -> String {
    let jwks = Jwks {
        keys: vec![key.jwk()],
    };
    let counted = move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::CREATED, "welcome")
        }
    };
    let app = Router::new()
        .route(
            "/api/v1/identity/jwks.json",
            get(move || async move { axum::Json(jwks) }),
        )
        .route("/api/v1/identity/register", post(counted.clone()))
        .route("/api/v1/identity/me", get(counted))
        .route(
            "/api/v1/identity/big",
            get(|| async { "all work and no play ".repeat(500) }),
        )
        .route(
            "/api/v1/identity/upload",
            post(|body: String| async move { body.len().to_string() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn key() -> SigningKey {
    SigningKey::from_bytes("test-key".into(), &[7; 32])
}

fn token(key: &SigningKey, expires_in: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    key.sign(&Claims {
        sub: UserId::new(),
        sid: SessionId::new(),
        email: "a@example.com".into(),
        email_verified: true,
        roles: Vec::new(),
        stores: Vec::new(),
        iss: "emporium".into(),
        iat: now - 10,
        exp: now + expires_in,
    })
}

#[tokio::test]
async fn tokens_that_do_not_verify_never_reach_the_service() {
    let hits = Arc::new(AtomicUsize::new(0));
    let key = key();
    let url = identity(&key, hits.clone()).await;
    let base = gateway(GatewayConfig::new(vec![("identity".into(), url)])).await;
    let http = reqwest::Client::new();
    let me = format!("{base}/api/v1/identity/me");

    let r = http
        .get(&me)
        .bearer_auth(token(&key, 300))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "a good token passes");
    let forged = token(&SigningKey::from_bytes("test-key".into(), &[8; 32]), 300);
    for bad in ["not-a-token".to_owned(), forged, token(&key, -60)] {
        let r = http.get(&me).bearer_auth(&bad).send().await.unwrap();
        assert_eq!(r.status(), 401, "{bad}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert!(r.text().await.unwrap().contains("invalid_token"));
    }
    let r = http.get(&me).send().await.unwrap();
    assert_eq!(r.status(), 201, "without a token the service decides");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn registrations_are_limited_across_gateway_replicas_through_redis() {
    let hits = Arc::new(AtomicUsize::new(0));
    let url = identity(&key(), hits.clone()).await;
    let namespace = format!("test-{}", uuid::Uuid::now_v7().simple());
    let settings = GatewayConfig {
        redis_url: Some("redis://127.0.0.1:6379".into()),
        namespace,
        ..GatewayConfig::new(vec![("identity".into(), url)])
    };
    let replicas = [gateway(settings.clone()).await, gateway(settings).await];
    let http = reqwest::Client::new();
    for i in 0..5 {
        let r = http
            .post(format!("{}/api/v1/identity/register", replicas[i % 2]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "registration {i}");
    }
    let r = http
        .post(format!("{}/api/v1/identity/register", replicas[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.text().await.unwrap().contains("rate_limited"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        5,
        "the sixth never reached identity"
    );
}

#[tokio::test]
async fn listed_origins_get_cors_answers_are_compressed_and_bodies_are_bounded() {
    let url = identity(&key(), Arc::new(AtomicUsize::new(0))).await;
    let base = gateway(GatewayConfig {
        cors_origins: vec!["https://shop.example".into()],
        max_body_bytes: 1024,
        ..GatewayConfig::new(vec![("identity".into(), url)])
    })
    .await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{base}/api/v1/identity/register"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
    };
    let r = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let r = http
        .get(format!("{base}/api/v1/identity/big"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(r.bytes().await.unwrap().len() < 1000);

    let r = http
        .post(format!("{base}/api/v1/identity/upload"))
        .body("x".repeat(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "1000");
    let r = http
        .post(format!("{base}/api/v1/identity/upload"))
        .body("x".repeat(2000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
