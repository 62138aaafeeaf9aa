//! Identity: accounts, email verification, sign-in with short-lived signed access
//! tokens and rotating refresh tokens, password reset, profiles, address books, and
//! the admin's user management.

mod api;
mod domain;
mod error;
mod events;
mod passwords;
mod store;

use std::sync::Arc;

use kernel::auth::SigningKey;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use api::create_user;
pub use contracts::identity::SERVICE;
pub use events::CONSUMES;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Opens and migrates identity's schema.
pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

/// Secrets generated on first start and shared by every replica through the database.
pub struct Keys {
    pub signing: SigningKey,
    /// Key for the keyed digests of low-entropy verification codes.
    pub code_pepper: Vec<u8>,
}

impl Keys {
    pub async fn load(pool: &PgPool) -> anyhow::Result<Self> {
        let seed = store::get_or_create_secret(pool, "jwt_signing_key", || {
            kernel::secret::random_bytes::<32>().to_vec()
        })
        .await?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| anyhow::anyhow!("stored signing key has the wrong length"))?;
        let probe = SigningKey::from_bytes(String::new(), &seed);
        // The key id is derived from the public key, so every replica agrees on it.
        let kid = hex::encode(&kernel::secret::digest(&probe.jwk().x)[..8]);
        let code_pepper = store::get_or_create_secret(pool, "code_pepper", || {
            kernel::secret::random_bytes::<32>().to_vec()
        })
        .await?;
        Ok(Self {
            signing: SigningKey::from_bytes(kid, &seed),
            code_pepper,
        })
    }
}

/// Identity's part of a process: its API and its outbox.
pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let keys = Arc::new(Keys::load(&pool).await?);
    let state = api::State::new(pool.clone(), keys, &platform.config)?;
    Ok(ServiceModule {
        name: SERVICE,
        subscriptions: events::subscriptions(&pool),
        pool: Some(pool),
        api: api::router(state),
        pages: kernel::http::access::Pages::default(),
        fallback: None,
    })
}
