//! Payments: authorizations through a `PaymentProvider` (the built-in simulator by
//! default), captures, voids and refunds, signed webhooks, and the double-entry ledger
//! with store balances and payout runs.

mod api;
mod domain;
mod error;
mod provider;
mod store;
mod stripe;

use std::sync::Arc;

use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::payments::SERVICE;
pub use domain::sign_webhook;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let settings = &platform.config.payments;
    let (provider, simulator): (Arc<dyn provider::PaymentProvider>, _) =
        match settings.provider.as_str() {
            "simulator" => {
                let sim = Arc::new(provider::Simulator::new(
                    pool.clone(),
                    &platform.config.public_url,
                    settings.webhook_secret.0.as_bytes(),
                    settings.simulator_latency,
                ));
                (sim.clone(), Some(sim))
            }
            "stripe" => {
                let key = settings.stripe_api_key.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("PAYMENTS_PROVIDER=stripe needs STRIPE_API_KEY")
                })?;
                let secret = settings.stripe_webhook_secret.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("PAYMENTS_PROVIDER=stripe needs STRIPE_WEBHOOK_SECRET")
                })?;
                let stripe = stripe::Stripe::new(
                    &settings.stripe_api_base,
                    &key.0,
                    &secret.0,
                    platform.config.request_timeout,
                )?;
                (Arc::new(stripe), None)
            }
            other => anyhow::bail!(
                "PAYMENTS_PROVIDER={other} is not a known provider (simulator, stripe)"
            ),
        };
    let state = api::AppState {
        pool: pool.clone(),
        provider,
        simulator,
        own: platform.client(SERVICE),
        public_url: platform.config.public_url.trim_end_matches('/').to_owned(),
    };
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(state.clone()),
        pages: api::pages(state),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}
