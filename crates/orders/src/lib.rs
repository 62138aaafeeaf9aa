//! Orders: the checkout saga (with its recovery worker), orders split into one
//! sub-order per store, their status machines and timelines.

mod api;
mod checkout;
mod domain;
mod error;
mod events;
mod store;
mod telemetry;

use std::sync::Arc;

use kernel::events::Subscription;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::orders::SERVICE;
pub use events::CONSUMES;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    telemetry::register();
    let up = checkout::Upstream {
        cart: contracts::cart::CartClient::new(platform.client(contracts::cart::SERVICE)),
        catalog: contracts::catalog::CatalogClient::new(
            platform.client(contracts::catalog::SERVICE),
        ),
        inventory: contracts::inventory::InventoryClient::new(
            platform.client(contracts::inventory::SERVICE),
        ),
        shipping: contracts::shipping::ShippingClient::new(
            platform.client(contracts::shipping::SERVICE),
        ),
        tax: contracts::tax::TaxClient::new(platform.client(contracts::tax::SERVICE)),
        promotions: contracts::promotions::PromotionsClient::new(
            platform.client(contracts::promotions::SERVICE),
        ),
        payments: contracts::payments::PaymentsClient::new(
            platform.client(contracts::payments::SERVICE),
        ),
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
        contracts::cart::SERVICE,
        contracts::catalog::SERVICE,
        contracts::inventory::SERVICE,
        contracts::shipping::SERVICE,
        contracts::tax::SERVICE,
        contracts::promotions::SERVICE,
        contracts::payments::SERVICE,
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
            queue: kernel::events::Queue::Shared,
        }],
        pool: Some(pool),
        fallback: None,
    })
}
