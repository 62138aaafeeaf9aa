//! Reviews: customers rate and review what they received (one review per customer and
//! product, with photos), rate the store of each purchase; stores reply once per review;
//! shoppers vote reviews helpful and report them; admins moderate. Products' and
//! stores' rating summaries are kept in the same transactions and published as events.

mod api;
mod domain;
mod error;
mod store;

use std::sync::Arc;

use contracts::identity::IdentityClient;
use contracts::orders::OrdersClient;
use kernel::media::MediaStore;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use contracts::reviews::SERVICE;
pub use error::Error;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

/// What the handlers work with: the schema, who received what (orders), authors'
/// names (identity), the uploaded images photos must name, and the read cache.
#[derive(Clone)]
struct Reviews {
    pool: PgPool,
    orders: OrdersClient,
    identity: IdentityClient,
    media: Arc<dyn MediaStore>,
    /// A product's first page of reviews as product pages ask for it.
    cache: Arc<dyn kernel::cache::Cache>,
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let reviews = Reviews {
        pool: pool.clone(),
        orders: OrdersClient::new(platform.client(contracts::orders::SERVICE)),
        identity: IdentityClient::new(platform.client(contracts::identity::SERVICE)),
        media: kernel::media::from_config(&platform.config)?,
        cache: platform.cache.clone(),
    };
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(reviews),
        pages: kernel::http::access::Pages::default(),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}
