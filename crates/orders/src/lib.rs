//! Orders: the checkout saga (with its recovery worker), orders split into one
//! sub-order per store, their status machines and timelines.

pub mod api;
pub mod checkout;
pub mod client;
pub mod domain;
mod error;
pub mod events;
pub mod store;

use std::sync::Arc;

use kernel::events::Subscription;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub const SERVICE: &str = "orders";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let up = checkout::Upstream {
        cart: cart::client::CartClient::new(platform.client(cart::SERVICE)),
        catalog: contracts::catalog::CatalogClient::new(
            platform.client(contracts::catalog::SERVICE),
        ),
        inventory: contracts::inventory::InventoryClient::new(
            platform.client(contracts::inventory::SERVICE),
        ),
        shipping: shipping::client::ShippingClient::new(platform.client(shipping::SERVICE)),
        tax: tax::client::TaxClient::new(platform.client(tax::SERVICE)),
        promotions: promotions::client::PromotionsClient::new(platform.client(promotions::SERVICE)),
        payments: payments::client::PaymentsClient::new(platform.client(payments::SERVICE)),
        vendors: contracts::vendors::VendorsClient::new(
            platform.client(contracts::vendors::SERVICE),
        ),
    };
    let saga = checkout::Saga {
        pool: pool.clone(),
        up,
        public_url: platform.config.public_url.trim_end_matches('/').to_owned(),
        lease: platform.config.checkout_lease,
    };
    // The worker calls these; those hosted here answer only once `Platform::mount` has
    // mounted every module, which happens after this one is built.
    let hosted = [
        cart::SERVICE,
        contracts::catalog::SERVICE,
        contracts::inventory::SERVICE,
        shipping::SERVICE,
        tax::SERVICE,
        promotions::SERVICE,
        payments::SERVICE,
        contracts::vendors::SERVICE,
    ]
    .into_iter()
    .filter(|s| platform.hosts(s))
    .map(|s| platform.client(s))
    .collect();
    tokio::spawn(
        saga.clone()
            .run_recovery(hosted, platform.shutdown_signal()),
    );
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(saga),
        pages: kernel::http::access::Pages::default(),
        subscriptions: vec![Subscription {
            consumer: SERVICE,
            event_types: events::CONSUMES.to_vec(),
            handler: Arc::new(events::PaymentAnswered),
            pool: pool.clone(),
        }],
        pool: Some(pool),
        fallback: None,
    })
}
