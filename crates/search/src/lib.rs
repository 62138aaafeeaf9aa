//! Search: a tantivy index of published products, fed by catalog's, vendors',
//! inventory's and reviews' events. Each replica keeps its own index, database and event queue.

mod api;
mod catch_up;
mod domain;
mod error;
mod events;
mod index;
mod reindex;
mod store;

use std::path::Path;
use std::sync::Arc;

use catch_up::Sources;
use contracts::catalog::CatalogClient;
use contracts::inventory::InventoryClient;
use contracts::reviews::ReviewsClient;
use contracts::vendors::VendorsClient;
use kernel::events::Queue;
use kernel::{Platform, ServiceModule};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use error::Error;
pub use events::CONSUMES;
use index::ProductIndex;

pub use contracts::search::SERVICE;
pub use reindex::{CatalogExport, reindex};

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Opens this replica's database: `{replica}` in its URL stands for `SEARCH_REPLICA`, so
/// one URL (one secret) gives every replica of a StatefulSet a database of its own.
pub async fn connect(config: &kernel::Config) -> anyhow::Result<PgPool> {
    let url = config.database_url_for(SERVICE);
    if !url.contains("{replica}") {
        return Ok(kernel::db::open(config, SERVICE, &MIGRATIONS).await?);
    }
    let mut own = config.clone();
    let url = url.replace("{replica}", &config.search_replica);
    own.domain_database_urls.insert(SERVICE.to_owned(), url);
    Ok(kernel::db::open(&own, SERVICE, &MIGRATIONS).await?)
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
    index.set_ratings(store::product_ratings(&mut conn).await?);
    Ok(Arc::new(index))
}

pub async fn module(platform: &Platform) -> anyhow::Result<ServiceModule> {
    let config = &platform.config;
    let pool = connect(config).await?;
    let (holder, new_database) = store::claim_for_replica(&pool, &config.search_replica).await?;
    anyhow::ensure!(
        holder == config.search_replica,
        "search's database holds replica {holder:?}'s state, not {:?}'s: give each search \
         replica a database (SEARCH_DATABASE_URL) and index directory of its own",
        config.search_replica
    );
    let index = open_index(config, &pool).await?;
    let sources = Sources {
        catalog: CatalogClient::new(platform.client(contracts::catalog::SERVICE)),
        vendors: VendorsClient::new(platform.client(contracts::vendors::SERVICE)),
        inventory: InventoryClient::new(platform.client(contracts::inventory::SERVICE)),
        reviews: ReviewsClient::new(platform.client(contracts::reviews::SERVICE)),
    };
    let subscription = events::subscription(
        &pool,
        index.clone(),
        Queue::Replica {
            name: config.search_replica.clone(),
            expires: config.search_queue_expires,
        },
    );
    // Before anything is read from the sources, so what changes from now on waits in
    // the queue. A queue made just now, or a database that has seen no event, means
    // earlier events went by unapplied.
    let new_queue = platform.bus.open_queue(&subscription).await?;
    let missed_events = new_queue || new_database;
    if missed_events || index.num_docs() == 0 {
        tokio::spawn(fill_when_sources_answer(
            index.clone(),
            pool.clone(),
            sources.clone(),
            missed_events,
            platform.warmup("search:index"),
            platform.shutdown_signal(),
        ));
    }
    let rebuilder = api::Rebuilder {
        pool: pool.clone(),
        catalog: sources.catalog,
    };
    Ok(ServiceModule {
        name: SERVICE,
        api: api::router(index, rebuilder),
        pages: kernel::http::access::Pages::default(),
        subscriptions: vec![subscription],
        pool: Some(pool),
        fallback: None,
    })
}

/// Fills the index of a replica that missed events (everything from the sources) or
/// whose index is empty (the documents from the catalog); the process is not ready
/// until it is done, so no one is sent to a replica that would answer with half an
/// index. The sources may still be starting: retried until they answer or the process
/// stops.
async fn fill_when_sources_answer(
    index: Arc<ProductIndex>,
    pool: PgPool,
    sources: Sources,
    missed_events: bool,
    warmup: kernel::platform::Warmup,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        let filled = if missed_events {
            catch_up::catch_up(&index, &pool, &sources).await
        } else {
            reindex::reindex(&index, &pool, sources.catalog.clone(), false).await
        };
        match filled {
            Ok(count) => {
                tracing::info!(count, missed_events, "search index filled from its sources");
                warmup.finish();
                return;
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "filling the search index failed; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(30));
    }
}
