//! Inventory: stock per variant and location, an append-only movement log, and
//! reservations that hold stock for checkouts until they are paid, released or expire.

mod api;

mod domain;
mod error;
mod events;
mod store;

use std::time::Duration;

use contracts::catalog::CatalogClient;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;

pub use contracts::inventory::SERVICE;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// How often held reservations past their time are looked for.
const EXPIRY_SWEEP: Duration = Duration::from_secs(1);

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    tokio::spawn(expire_reservations(
        pool.clone(),
        platform.shutdown_signal(),
    ));
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(
            pool.clone(),
            CatalogClient::new(platform.client(contracts::catalog::SERVICE)),
        ),
        pages: kernel::http::access::Pages::default(),
        subscriptions: Vec::new(),
        pool: Some(pool),
        fallback: None,
    })
}

/// Releases held reservations whose time ran out, a batch at a time; several replicas
/// share the work (`SKIP LOCKED`).
async fn expire_reservations(pool: PgPool, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        match expire_batch(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "reservations expired"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reservation expiry failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EXPIRY_SWEEP) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Expires one batch in one transaction; returns how many.
pub async fn expire_batch(pool: &PgPool) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let due = store::lock_expired(&mut tx, 100).await?;
    for id in &due {
        api::apply(&mut tx, *id, domain::ReservationAction::Expire, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", kernel::http::Problem::from(e).title))?;
    }
    tx.commit().await?;
    Ok(due.len())
}
