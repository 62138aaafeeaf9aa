//! Vendors: applications to open a store, their review by admins, store profiles and
//! payout details, staff and invitations, and commission rates.

mod api;
mod domain;
mod error;
mod store;

use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::vendors::SERVICE;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone()).layer(axum::middleware::from_fn(
            kernel::http::conditional::conditional_get,
        )),
        pages: kernel::http::access::Pages::default(),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}
