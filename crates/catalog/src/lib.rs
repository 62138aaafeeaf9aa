//! Catalog: the category tree, and stores' products with their variants.

pub mod api;
pub mod client;
pub mod domain;
mod error;
pub mod events;
pub mod markdown;
pub mod store;

use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub const SERVICE: &str = "catalog";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    let pool = kernel::db::connect_domain(config, SERVICE).await?;
    kernel::db::migrate(&pool, SERVICE, &MIGRATIONS).await?;
    Ok(pool)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone())
            .layer(axum::Extension(platform.cache.clone()))
            .layer(axum::middleware::from_fn(
                kernel::http::conditional::conditional_get,
            )),
        pages: axum::Router::new(),
        subscriptions: events::subscriptions(&pool, platform.cache.clone()),
        pool: Some(pool),
        fallback: None,
    })
}
