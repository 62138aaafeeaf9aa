//! Notifications: turns other services' events into emails, sent through SMTP when
//! `SMTP_URL` is set and kept in the dev mailbox (`/dev/mailbox`) otherwise.

mod api;
mod domain;
mod events;
mod mailer;
mod store;

pub use events::CONSUMES;

use std::sync::Arc;

use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use contracts::notifications::SERVICE;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let mailer = Arc::new(mailer::Mailer::from_config(&platform.config)?);
    let handler = events::EmailHandler::new(
        mailer,
        &platform.config,
        contracts::vendors::VendorsClient::new(platform.client(contracts::vendors::SERVICE)),
    );
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(pool.clone(), platform.config.dev_mode),
        pages: api::pages(pool.clone(), platform.config.dev_mode),
        subscriptions: events::subscriptions(handler, &pool),
        pool: Some(pool),
        fallback: None,
    })
}
