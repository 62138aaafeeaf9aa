//! Access tokens: Ed25519-signed JWTs, the keys that sign them, and the verifier every service holds.

use super::*;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// One public key in JWKS form (RFC 8037: `kty: OKP`, `crv: Ed25519`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A private signing key with its key id.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    pub fn from_bytes(kid: String, bytes: &[u8; 32]) -> Self {
        Self {
            kid,
            key: ed25519_dalek::SigningKey::from_bytes(bytes),
        }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
            kid: self.kid.clone(),
            x: B64.encode(self.key.verifying_key().as_bytes()),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
            kid: self.kid.clone(),
        };
        // Serialising plain structs of strings and integers cannot fail.
        let h = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
        let c = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{h}.{c}");
        let sig = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
    #[error("the token was revoked (signed out, suspended, or a store membership ended)")]
    Revoked,
}

impl From<TokenError> for Problem {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => {
                Problem::unauthorized("token_expired", "The access token has expired")
            }
            TokenError::Revoked => Problem::unauthorized(
                "token_revoked",
                "The access token was revoked; refresh it or sign in again",
            ),
            TokenError::KeysUnavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                "Tokens cannot be checked right now",
            )
            .retry_after(5),
            _ => Problem::unauthorized("invalid_token", "The access token is not valid")
                .detail(e.to_string()),
        }
    }
}

/// Where a verifier gets public keys: identity's own key store in its process, or
/// identity's JWKS endpoint through its client everywhere else.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> anyhow::Result<Jwks>;
}

/// Verifies access tokens with cached public keys, refetching on an unknown `kid`.
/// Verifications with known keys only ever take the read lock, so a slow or failing
/// fetch never holds them up.
pub struct Verifier {
    source: Box<dyn JwksSource>,
    keys: RwLock<HashMap<String, VerifyingKey>>,
    revoked: std::sync::RwLock<Revoked>,
    /// Serialises fetches and remembers when the last one was tried.
    fetching: Mutex<Option<Instant>>,
}

/// At most one JWKS fetch per interval (successful or not), so forged `kid`s cannot
/// hammer identity.
pub(super) const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

impl Verifier {
    pub fn new(source: Box<dyn JwksSource>) -> Self {
        Self {
            source,
            keys: RwLock::new(HashMap::new()),
            revoked: std::sync::RwLock::new(Revoked::default()),
            fetching: Mutex::new(None),
        }
    }

    /// Takes in revocations identity published since the last call; answers the
    /// sequence number to ask after next time.
    pub fn revoke(&self, list: &[Revocation], now: i64) -> i64 {
        let mut revoked = self
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        revoked.apply(list, now)
    }

    fn is_revoked(&self, claims: &Claims) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .refuses(claims)
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, time::OffsetDateTime::now_utc().unix_timestamp())
            .await
    }

    pub async fn verify_at(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = decode_json(h)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Malformed);
        }
        let sig_bytes = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let sig =
            ed25519_dalek::Signature::from_slice(&sig_bytes).map_err(|_| TokenError::Malformed)?;
        let key = self.key(&header.kid).await?;
        let signing_input = &token[..h.len() + 1 + c.len()];
        key.verify_strict(signing_input.as_bytes(), &sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode_json(c)?;
        if claims.iss != ISSUER {
            return Err(TokenError::Malformed);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if self.is_revoked(&claims) {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<VerifyingKey, TokenError> {
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(*k);
        }
        let mut last_attempt = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(*k);
        }
        if last_attempt.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
            return Err(TokenError::UnknownKey);
        }
        *last_attempt = Some(Instant::now());
        let jwks = self.source.fetch().await.map_err(|e| {
            tracing::warn!(error = %e, "fetching JWKS failed");
            TokenError::KeysUnavailable
        })?;
        let fresh: HashMap<String, VerifyingKey> = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "OKP" && k.crv == "Ed25519")
            .filter_map(|k| {
                let bytes: [u8; 32] = B64.decode(&k.x).ok()?.try_into().ok()?;
                Some((k.kid.clone(), VerifyingKey::from_bytes(&bytes).ok()?))
            })
            .collect();
        let found = fresh.get(kid).copied();
        *self.keys.write().await = fresh;
        found.ok_or(TokenError::UnknownKey)
    }
}

pub(super) fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = B64.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Static(Jwks);

    #[async_trait::async_trait]
    impl JwksSource for Static {
        async fn fetch(&self) -> anyhow::Result<Jwks> {
            Ok(self.0.clone())
        }
    }

    fn key(kid: &str, seed: u8) -> SigningKey {
        SigningKey::from_bytes(kid.into(), &[seed; 32])
    }

    fn user() -> UserId {
        UserId(uuid::Uuid::from_u128(1))
    }

    fn session() -> SessionId {
        SessionId(uuid::Uuid::from_u128(2))
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: user(),
            sid: session(),
            email: "a@example.com".into(),
            email_verified: true,
            roles: vec![Role::Customer],
            stores: vec![StoreMembership {
                store: StoreId(uuid::Uuid::from_u128(3)),
                role: StoreRole::Staff,
            }],
            iss: ISSUER.into(),
            iat: 0,
            exp,
        }
    }

    fn verifier(keys: &[&SigningKey]) -> Verifier {
        Verifier::new(Box::new(Static(Jwks {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        })))
    }

    #[tokio::test]
    async fn a_signed_token_verifies_and_round_trips_claims() {
        let k = key("k1", 7);
        let token = k.sign(&claims(100));
        assert_eq!(verifier(&[&k]).verify_at(&token, 50).await, Ok(claims(100)));
    }

    #[tokio::test]
    async fn expired_tampered_and_foreign_tokens_are_rejected() {
        let k = key("k1", 7);
        let v = verifier(&[&k]);
        let token = k.sign(&claims(100));
        assert_eq!(v.verify_at(&token, 100).await, Err(TokenError::Expired));

        // Swap in claims that make the holder an admin: the signature no longer matches.
        let mut forged = claims(100);
        forged.roles.push(Role::Admin);
        let forged_body = B64.encode(serde_json::to_vec(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], forged_body, parts[2]);
        assert_eq!(
            v.verify_at(&tampered, 50).await,
            Err(TokenError::BadSignature)
        );

        let stranger = key("k1", 9).sign(&claims(100));
        assert_eq!(
            v.verify_at(&stranger, 50).await,
            Err(TokenError::BadSignature)
        );
        let unknown = key("k2", 7).sign(&claims(100));
        assert_eq!(v.verify_at(&unknown, 50).await, Err(TokenError::UnknownKey));
        assert_eq!(v.verify_at("a.b", 50).await, Err(TokenError::Malformed));
        assert_eq!(v.verify_at("", 50).await, Err(TokenError::Malformed));
    }

    struct Failing(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    #[async_trait::async_trait]
    impl JwksSource for Failing {
        async fn fetch(&self) -> anyhow::Result<Jwks> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            anyhow::bail!("identity is down")
        }
    }

    #[tokio::test]
    async fn failed_key_fetches_are_rate_limited_too() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let v = Verifier::new(Box::new(Failing(calls.clone())));
        let token = key("k9", 1).sign(&claims(100));
        assert_eq!(
            v.verify_at(&token, 50).await,
            Err(TokenError::KeysUnavailable)
        );
        assert_eq!(v.verify_at(&token, 50).await, Err(TokenError::UnknownKey));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn revoked_sessions_and_users_are_refused_until_their_tokens_expire() {
        let k = key("k1", 7);
        let v = verifier(&[&k]);
        let mut old = claims(1_000);
        old.iat = 100;
        let token = k.sign(&old);
        assert!(v.verify_at(&token, 200).await.is_ok());
        let revoke_user = Revocation {
            seq: 4,
            user: user(),
            session: None,
            not_before: 150,
        };
        assert_eq!(v.revoke(&[revoke_user], 200), 4);
        assert_eq!(v.verify_at(&token, 200).await, Err(TokenError::Revoked));
        // A token issued after the revocation (a refresh) carries fresh claims.
        let mut fresh = claims(1_000);
        fresh.iat = 151;
        assert!(v.verify_at(&k.sign(&fresh), 200).await.is_ok());
        let end_session = Revocation {
            seq: 5,
            user: user(),
            session: Some(session()),
            not_before: 300,
        };
        assert_eq!(v.revoke(&[end_session], 300), 5);
        assert_eq!(
            v.verify_at(&k.sign(&fresh), 300).await,
            Err(TokenError::Revoked)
        );
        // Forgotten once every token they could name has expired.
        assert_eq!(v.revoke(&[], 300 + REVOCATION_KEPT_SECS), 5);
        assert!(v.verify_at(&k.sign(&fresh), 200).await.is_ok());
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let k = key("k1", 7);
        let v = verifier(&[&k]);
        let header = B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let body = B64.encode(serde_json::to_vec(&claims(100)).unwrap());
        let token = format!("{header}.{body}.");
        assert_eq!(v.verify_at(&token, 50).await, Err(TokenError::Malformed));
    }
}
