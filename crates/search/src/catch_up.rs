//! How a replica that missed events (a new one, or one back after its queue expired)
//! catches up: stores' suspensions from vendors, availability from inventory, ratings
//! from reviews, then every document from the catalog. Its queue exists before this starts, so whatever
//! changes meanwhile also arrives as an event; versions settle which is newer.

use std::sync::Arc;

use contracts::catalog::CatalogClient;
use contracts::inventory::InventoryClient;
use contracts::reviews::ReviewsClient;
use contracts::vendors::VendorsClient;
use kernel::http::pagination::MAX_EXPORT_PAGE;
use sqlx::PgPool;

use crate::domain::Rating;
use crate::index::ProductIndex;
use crate::{reindex, store};

/// The services whose state a search replica mirrors.
#[derive(Clone)]
pub struct Sources {
    pub catalog: CatalogClient,
    pub vendors: VendorsClient,
    pub inventory: InventoryClient,
    pub reviews: ReviewsClient,
}

/// Copies every store's suspension and every variant's availability, then rebuilds the
/// index; returns how many products it holds.
pub async fn catch_up(
    index: &Arc<ProductIndex>,
    pool: &PgPool,
    sources: &Sources,
) -> anyhow::Result<u64> {
    let mut after = None;
    loop {
        let page = sources.vendors.store_states(after, MAX_EXPORT_PAGE).await?;
        let ids: Vec<_> = page.items.iter().map(|s| s.store_id.0).collect();
        let versions: Vec<_> = page.items.iter().map(|s| s.version).collect();
        let suspended: Vec<_> = page.items.iter().map(|s| s.suspended).collect();
        let mut conn = pool.acquire().await?;
        for (store, suspended) in
            store::set_store_states(&mut conn, &ids, &versions, &suspended).await?
        {
            index.set_store_suspended(store, suspended);
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut after = None;
    loop {
        let page = sources
            .inventory
            .availability_export(after, MAX_EXPORT_PAGE)
            .await?;
        let variants: Vec<_> = page.items.iter().map(|v| v.variant_id.0).collect();
        let products: Vec<_> = page.items.iter().map(|v| v.product_id.0).collect();
        let available: Vec<_> = page.items.iter().map(|v| v.available).collect();
        let versions: Vec<_> = page.items.iter().map(|v| v.version).collect();
        let mut conn = pool.acquire().await?;
        for (product, sold_out) in
            store::set_variant_stocks(&mut conn, &variants, &products, &available, &versions)
                .await?
        {
            index.set_sold_out(product, sold_out);
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut after = None;
    loop {
        let page = sources
            .reviews
            .rating_export(after, MAX_EXPORT_PAGE)
            .await?;
        let products: Vec<_> = page.items.iter().map(|r| r.product_id.0).collect();
        let versions: Vec<_> = page.items.iter().map(|r| r.version).collect();
        let ratings: Vec<Rating> = page
            .items
            .iter()
            .map(|r| Rating::from_histogram(&r.histogram))
            .collect();
        let counts: Vec<_> = ratings.iter().map(|r| i64::from(r.count)).collect();
        let tenths: Vec<_> = ratings.iter().map(|r| i32::from(r.tenths)).collect();
        let mut conn = pool.acquire().await?;
        for (product, rating) in
            store::set_product_ratings(&mut conn, &products, &versions, &counts, &tenths).await?
        {
            index.set_rating(product, rating);
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    reindex::reindex(index, pool, sources.catalog.clone(), false).await
}
