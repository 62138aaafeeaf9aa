//! Promotions: codes with conditions and limits, evaluated and redeemed for checkouts.

mod api;
mod domain;
mod error;
mod store;

use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::promotions::SERVICE;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone()),
        pages: kernel::http::access::Pages::default(),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}
