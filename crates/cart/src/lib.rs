//! Cart: guest and customer carts, durable in PostgreSQL, priced afresh on every view.

mod api;
mod domain;
mod error;
mod store;

use contracts::catalog::CatalogClient;
use contracts::inventory::InventoryClient;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::cart::SERVICE;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let upstream = api::Upstream {
        catalog: CatalogClient::new(platform.client(contracts::catalog::SERVICE)),
        inventory: InventoryClient::new(platform.client(contracts::inventory::SERVICE)),
    };
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone(), upstream),
        pages: kernel::http::access::Pages::default(),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}
