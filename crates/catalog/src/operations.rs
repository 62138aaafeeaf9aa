//! What operators run against catalog's database outside any request: the CSV import
//! command, benchmark data, the search export for a reindex with the server stopped,
//! and image processing for the demo seed. The composition's only way in besides the
//! HTTP client; everything else in this crate is private.

use contracts::catalog::ProductId;
use contracts::catalog::import::ImportReport;
use contracts::catalog::internal::SearchDocumentPage;
use kernel::progress::Progress;
use sqlx::PgPool;

use crate::{csv_io, store};

/// Image processing as uploads use it: renditions of one picture, and the same under the
/// process-wide decode budget (what the memory test measures).
pub use crate::media::{
    DECODE_BUDGET_BYTES, process as process_image, process_bounded as process_image_bounded,
};

/// Products each bulk statement writes: big enough to amortise the round trip, small
/// enough that progress moves and a failure loses little.
const BULK_BATCH: i64 = 10_000;

/// Imports a CSV file of products into a store (by id or slug), with a progress bar.
/// Events reach the other services through the outbox as usual.
pub async fn import_csv(
    config: &kernel::Config,
    store: &str,
    csv: &[u8],
) -> anyhow::Result<ImportReport> {
    let pool = crate::connect(config).await?;
    let mut conn = pool.acquire().await?;
    let store_id = store::store_id_by_key(&mut conn, store)
        .await?
        .ok_or_else(|| anyhow::anyhow!("catalog knows no store {store:?}"))?;
    drop(conn);
    let parsed = csv_io::parse(csv).map_err(|p| {
        let why: Vec<String> = p
            .errors
            .iter()
            .map(|e| format!("the file {}", e.message))
            .collect();
        anyhow::anyhow!("{}", why.join("; "))
    })?;
    let media = kernel::media::from_config(config)?;
    let mut progress = kernel::progress::Progress::new("products", parsed.products.len() as u64);
    let report =
        crate::api::import::import_products(&pool, media.as_ref(), store_id, parsed, |n| {
            progress.inc(n)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", kernel::http::Problem::from(e).title))?;
    progress.finish();
    Ok(report)
}

/// Adds `n` published products (two variants and a picture each) spread over the
/// stores and leaf categories the demo seed made, by set-based SQL rather than through
/// the API. Returns how many products were written.
pub async fn generate_products(config: &kernel::Config, n: u64) -> anyhow::Result<u64> {
    let pool = crate::connect(config).await?;
    let mut conn = pool.acquire().await?;
    let (stores, categories, media_keys, mut next) = store::bulk_spread_sources(&mut conn).await?;
    anyhow::ensure!(
        !stores.is_empty() && !categories.is_empty() && !media_keys.is_empty(),
        "seed --products needs stores, categories and pictures to spread products over: run `emporium seed --demo` first"
    );
    let spread = store::BulkSpread {
        stores: &stores,
        categories: &categories,
        media_keys: &media_keys,
    };
    let mut progress = Progress::new("products", n);
    let mut left = i64::try_from(n)?;
    while left > 0 {
        let count = left.min(BULK_BATCH);
        let mut tx = pool.begin().await?;
        store::bulk_generate_products(&mut tx, next, count, &spread).await?;
        tx.commit().await?;
        next += count;
        left -= count;
        progress.inc(u64::try_from(count)?);
    }
    progress.finish();
    drop(conn);
    // Fresh statistics, so the planner knows the tables grew.
    for table in ["products", "variants", "product_images"] {
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(&pool)
            .await?;
    }
    Ok(n)
}

/// One page of the documents search indexes, read straight from the database.
pub async fn search_documents(
    pool: &PgPool,
    after: Option<ProductId>,
    limit: u32,
) -> anyhow::Result<SearchDocumentPage> {
    let mut conn = pool.acquire().await?;
    Ok(crate::api::internal::search_document_page(&mut conn, after, 0, limit).await?)
}
