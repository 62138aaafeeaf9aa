//! Search: a tantivy index of published products, fed by catalog's and vendors' events.

mod api;
mod domain;
mod error;
mod events;
mod index;
mod reindex;
mod store;

use std::path::Path;
use std::sync::Arc;

use contracts::catalog::CatalogClient;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;
use index::ProductIndex;

pub use contracts::search::SERVICE;
pub use events::CONSUMES;
pub use reindex::{CatalogExport, reindex};

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?)
}

/// Opens the index this process keeps, with the suspended stores it must hide.
pub async fn open_index(
    config: &kernel::Config,
    pool: &PgPool,
) -> anyhow::Result<Arc<ProductIndex>> {
    let index = ProductIndex::open(Path::new(&config.search_index_dir))?;
    let mut conn = pool.acquire().await?;
    index.set_suspended_stores(store::suspended_stores(&mut conn).await?);
    index.set_sold_out_products(store::sold_out_products(&mut conn).await?);
    Ok(Arc::new(index))
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let pool = connect(&platform.config).await?;
    let index = open_index(&platform.config, &pool).await?;
    let catalog = CatalogClient::new(platform.client(contracts::catalog::SERVICE));
    if index.num_docs() == 0 {
        tokio::spawn(rebuild_when_catalog_answers(
            index.clone(),
            pool.clone(),
            catalog.clone(),
            platform.shutdown_signal(),
        ));
    }
    let rebuilder = api::Rebuilder {
        pool: pool.clone(),
        catalog,
    };
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(index.clone(), rebuilder),
        pages: kernel::http::access::Pages::default(),
        subscriptions: events::subscriptions(&pool, index),
        pool: Some(pool),
        fallback: None,
    })
}

/// An empty index (a new replica, a lost volume) fills itself from the catalog, which
/// may still be starting: retried until it answers or the process stops.
async fn rebuild_when_catalog_answers(
    index: Arc<ProductIndex>,
    pool: PgPool,
    catalog: CatalogClient,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        match reindex::reindex(&index, &pool, catalog.clone(), false).await {
            Ok(count) => {
                tracing::info!(count, "search index rebuilt from the catalog");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "search index rebuild failed; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(30));
    }
}
