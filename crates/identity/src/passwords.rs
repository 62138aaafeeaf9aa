//! Argon2id password hashing. Hashing is deliberately slow, so it runs on the blocking
//! pool, never on the async workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kernel::config::Argon2Params;

#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// A real hash of a random password, verified against when the email is unknown so
    /// that a login's timing does not reveal whether an account exists.
    dummy: String,
}

impl Hasher {
    pub fn new(p: Argon2Params) -> anyhow::Result<Self> {
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = hash_with(&argon, &kernel::secret::random_token())?;
        Ok(Self { argon, dummy })
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || hash_with(&argon, &password)).await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is no account.
    pub async fn verify(&self, password: String, stored: Option<String>) -> bool {
        let argon = self.argon.clone();
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&kernel::secret::random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let h = Hasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let stored = h.hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            h.verify("correct horse battery".into(), Some(stored.clone()))
                .await
        );
        assert!(!h.verify("wrong horse battery".into(), Some(stored)).await);
        assert!(!h.verify("anything".into(), None).await);
    }
}
