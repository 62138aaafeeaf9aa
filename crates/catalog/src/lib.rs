//! Catalog: the category tree, and stores' products with their variants.

mod api;
mod csv_io;
mod domain;
mod error;
mod events;
mod markdown;
mod media;
pub mod operations;
mod store;

use std::sync::Arc;

use kernel::media::MediaStore;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::catalog::SERVICE;
pub use events::CONSUMES;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let media: Arc<dyn MediaStore> = kernel::media::from_config(&platform.config)?;
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone())
            .layer(axum::Extension(platform.cache.clone()))
            .layer(axum::Extension(media.clone()))
            .layer(axum::middleware::from_fn(
                kernel::http::conditional::conditional_get,
            )),
        pages: api::pages().map_router(|r| r.layer(axum::Extension(media))),
        subscriptions: events::subscriptions(&pool, platform.cache.clone()),
        pool: Some(pool),
        fallback: None,
    })
}
