//! The composition root: which services run in this process, wired together.

mod demo_reviews;
pub mod seed;
pub mod serve;
pub mod topology;

use std::sync::Arc;

use kernel::{Config, Platform, ServiceModule};

/// Every service, in start order (a service's clients may call the ones before it).
pub const SERVICES: &[&str] = &[
    identity::SERVICE,
    vendors::SERVICE,
    catalog::SERVICE,
    search::SERVICE,
    inventory::SERVICE,
    cart::SERVICE,
    shipping::SERVICE,
    tax::SERVICE,
    promotions::SERVICE,
    payments::SERVICE,
    orders::SERVICE,
    notifications::SERVICE,
    reviews::SERVICE,
    web::SERVICE,
];

/// Every consuming service and the events it takes. Every process declares the queues
/// of those whose replicas share one, so events published before a consumer's first
/// start wait for it; each search replica declares a queue of its own, and catches up
/// from the sources when that queue is new.
pub const CONSUMERS: &[(&str, &[&str])] = &[
    (identity::SERVICE, identity::CONSUMES),
    (catalog::SERVICE, catalog::CONSUMES),
    (search::SERVICE, search::CONSUMES),
    (orders::SERVICE, orders::CONSUMES),
    (notifications::SERVICE, notifications::CONSUMES),
];

/// Each service's claim on the process's connection budget, by how much of the busiest
/// path (a checkout) runs on its database; services without a database have none.
const POOL_WEIGHTS: &[(&str, u32)] = &[
    (identity::SERVICE, 2),
    (vendors::SERVICE, 1),
    (catalog::SERVICE, 2),
    (search::SERVICE, 1),
    (inventory::SERVICE, 2),
    (cart::SERVICE, 2),
    (shipping::SERVICE, 1),
    (tax::SERVICE, 1),
    (promotions::SERVICE, 1),
    (payments::SERVICE, 2),
    (orders::SERVICE, 3),
    (notifications::SERVICE, 1),
    (reviews::SERVICE, 1),
];

/// Shares `DATABASE_MAX_CONNECTIONS` among the pools of `services` and the outbox
/// listener of each database they use.
fn share_connections(config: &mut Config, services: &[&'static str]) -> anyhow::Result<()> {
    let weights: Vec<(&'static str, u32)> = POOL_WEIGHTS
        .iter()
        .filter(|(service, _)| services.contains(service))
        .copied()
        .collect();
    let databases: std::collections::HashSet<&str> = weights
        .iter()
        .map(|(service, _)| config.database_url_for(service))
        .collect();
    let sizes = kernel::db::share_budget(
        config.database_max_connections,
        databases.len() as u32,
        &weights,
    )?;
    config.pool_sizes = sizes
        .into_iter()
        .map(|(service, size)| (service.to_owned(), size))
        .collect();
    Ok(())
}

/// Parses `--services a,b`; `None` means all of them.
pub fn select_services(arg: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    let Some(arg) = arg else {
        return Ok(SERVICES.to_vec());
    };
    let mut selected = Vec::new();
    for name in arg.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let known = SERVICES.iter().find(|s| **s == name).ok_or_else(|| {
            anyhow::anyhow!("unknown service {name:?}; known: {}", SERVICES.join(", "))
        })?;
        if !selected.contains(known) {
            selected.push(*known);
        }
    }
    anyhow::ensure!(!selected.is_empty(), "--services names no service");
    Ok(selected)
}

async fn build_module(platform: &Platform, name: &str) -> anyhow::Result<ServiceModule> {
    match name {
        identity::SERVICE => identity::module(platform).await,
        vendors::SERVICE => vendors::module(platform).await,
        catalog::SERVICE => catalog::module(platform).await,
        search::SERVICE => search::module(platform).await,
        inventory::SERVICE => inventory::module(platform).await,
        cart::SERVICE => cart::module(platform).await,
        shipping::SERVICE => shipping::module(platform).await,
        tax::SERVICE => tax::module(platform).await,
        promotions::SERVICE => promotions::module(platform).await,
        payments::SERVICE => payments::module(platform).await,
        orders::SERVICE => orders::module(platform).await,
        notifications::SERVICE => notifications::module(platform).await,
        reviews::SERVICE => reviews::module(platform).await,
        web::SERVICE => web::module(platform).await,
        other => anyhow::bail!("unknown service {other}"),
    }
}

/// A running composition: the router to serve and the platform behind it.
pub struct App {
    pub router: axum::Router,
    pub platform: Arc<Platform>,
}

/// Connects, migrates and mounts `services`, starting their relays and consumers.
pub async fn build(mut config: Config, services: &[&'static str]) -> anyhow::Result<App> {
    anyhow::ensure!(
        config.amqp_url.is_some() || SERVICES.iter().all(|s| services.contains(s)),
        "running a subset of the services needs AMQP_URL: in-process events cannot reach \
         services in other processes"
    );
    anyhow::ensure!(
        config.internal_secret.is_some() || SERVICES.iter().all(|s| services.contains(s)),
        "running a subset of the services needs INTERNAL_API_SECRET, the same in every \
         process: services call each other's /internal routes with it"
    );
    share_connections(&mut config, services)?;
    let platform = Platform::new(config, services)?;
    for (consumer, event_types) in CONSUMERS.iter().filter(|(c, _)| *c != search::SERVICE) {
        platform.bus.declare(consumer, event_types).await?;
    }
    let mut modules = Vec::new();
    for name in services {
        modules.push(build_module(&platform, name).await?);
    }
    // Outside the platform's layers: request-head limits, problem+json for every
    // refusal, connections kept healthy after one.
    let router = kernel::http::middleware::edge(platform.mount(modules).await?);
    Ok(App { router, platform })
}

/// Migrates every domain schema without serving.
pub async fn migrate_all(config: &Config) -> anyhow::Result<()> {
    identity::connect(config).await?.close().await;
    vendors::connect(config).await?.close().await;
    catalog::connect(config).await?.close().await;
    search::connect(config).await?.close().await;
    inventory::connect(config).await?.close().await;
    cart::connect(config).await?.close().await;
    shipping::connect(config).await?.close().await;
    tax::connect(config).await?.close().await;
    promotions::connect(config).await?.close().await;
    payments::connect(config).await?.close().await;
    orders::connect(config).await?.close().await;
    notifications::connect(config).await?.close().await;
    reviews::connect(config).await?.close().await;
    Ok(())
}

/// Imports a CSV file of products into a store (by id or slug) straight through the
/// catalog's database, with a progress bar. Events reach the other services through
/// the outbox as usual.
pub async fn import_products(
    config: &Config,
    store: &str,
    csv: &[u8],
) -> anyhow::Result<contracts::catalog::import::ImportReport> {
    catalog::operations::import_csv(config, store, csv).await
}

/// The catalog's own database as search's export, for a reindex with the server
/// stopped (only the composition knows both).
struct CatalogDatabase(sqlx::PgPool);

#[async_trait::async_trait]
impl search::CatalogExport for CatalogDatabase {
    async fn page(
        &self,
        after: Option<contracts::catalog::ProductId>,
        limit: u32,
    ) -> anyhow::Result<contracts::catalog::internal::SearchDocumentPage> {
        catalog::operations::search_documents(&self.0, after, limit).await
    }
}

/// Rebuilds the search index from the catalog's database; returns the products indexed.
pub async fn reindex_search(config: &Config) -> anyhow::Result<u64> {
    let catalog = catalog::connect(config).await?;
    let pool = search::connect(config).await?;
    let index = search::open_index(config, &pool).await?;
    search::reindex(&index, &pool, CatalogDatabase(catalog), true).await
}

/// Re-delivers dead-lettered events of every consuming service.
pub async fn replay_dead_letters(mut config: Config) -> anyhow::Result<u64> {
    share_connections(&mut config, SERVICES)?;
    let platform = Platform::new(config, SERVICES)?;
    let mut subscriptions = Vec::new();
    for name in SERVICES {
        subscriptions.extend(build_module(&platform, name).await?.subscriptions);
    }
    Ok(platform.bus.replay_dead_letters(&subscriptions).await?)
}
