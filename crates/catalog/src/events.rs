//! Events catalog publishes (what search and storefront caches follow) and consumes
//! (which stores exist and whether customers may see them).

use kernel::ids::StoreId;
use std::sync::Arc;

use contracts::vendors::events::{StoreApproved, StoreReinstated, StoreSuspended, StoreUpdated};
use kernel::cache::Cache;
use kernel::events::{Envelope, Event, Handler, Subscription};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use crate::store;
use contracts::catalog::ProductId;
use contracts::catalog::events::{ProductPublished, ProductWithdrawn};

/// The document of a product as the store reads it.
impl From<store::SearchDocumentRow> for ProductPublished {
    fn from(row: store::SearchDocumentRow) -> Self {
        Self {
            product_id: row.product_id,
            version: row.version,
            store_id: row.store_id,
            store_slug: row.store_slug,
            store_name: row.store_name,
            slug: row.slug,
            title: row.title,
            brand: row.brand,
            description: row.description_md,
            category_id: row.category_id,
            category_path: row.category_path,
            category_names: row.category_names,
            attributes: row.attributes,
            options: row.options,
            tags: row.tags,
            currency: row.currency,
            min_price_minor: row.min_price_minor,
            max_price_minor: row.max_price_minor,
            image: row.image,
            published_at: row.published_at,
        }
    }
}

/// Records the event that matches the product's state after a change, in the caller's
/// transaction: published products announce themselves, others withdraw.
pub async fn record_product_state(conn: &mut PgConnection, id: ProductId) -> anyhow::Result<()> {
    let version = store::bump_product_version(conn, id).await?;
    match store::search_document(conn, id).await? {
        Some(doc) => kernel::events::outbox::record(conn, &ProductPublished::from(doc)).await?,
        None => {
            let withdrawn = ProductWithdrawn {
                product_id: id,
                version,
            };
            kernel::events::outbox::record(conn, &withdrawn).await?
        }
    };
    Ok(())
}

/// Inventory's availability change, as catalog reads it (inventory builds on catalog,
/// so catalog names the event by its contract rather than its Rust type).
pub const STOCK_CHANGED: &str = "inventory.stock.changed";

#[derive(Deserialize)]
struct StockChangedPayload {
    variant_id: crate::domain::VariantId,
    available: i64,
    version: i64,
}

pub const CONSUMES: &[&str] = &[
    StoreApproved::TYPE,
    StoreSuspended::TYPE,
    StoreReinstated::TYPE,
    StoreUpdated::TYPE,
    ProductPublished::TYPE,
    ProductWithdrawn::TYPE,
    STOCK_CHANGED,
];

/// Cache key of a product's public detail at a generation of its counter.
pub fn product_cache_key(id: ProductId, generation: u64) -> String {
    format!("catalog:product:{id}:g{generation}")
}

/// The counter that invalidates a product's cached detail.
pub fn product_generation_key(id: ProductId) -> String {
    format!("catalog:product-generation:{id}")
}

/// The counter that invalidates every cached listing page: any product or store
/// change may move a product into or out of any listing.
pub const LISTING_GENERATION_KEY: &str = "catalog:listing-generation";

/// Cache key of a listing page (its normalised query) at a generation.
pub fn listing_cache_key(query: &str, generation: u64) -> String {
    format!("catalog:listing:g{generation}:{query}")
}

/// Makes every cached copy of the product's detail unreachable, including one a
/// concurrent reader is about to store, and every cached listing with it.
pub async fn forget_product(cache: &dyn Cache, id: ProductId) {
    cache.bump(&product_generation_key(id)).await;
    cache.bump(LISTING_GENERATION_KEY).await;
}

/// Keeps `catalog.stores` in step with vendors (a suspended store's products vanish
/// from every public query at once, because those queries join on its status), and
/// drops cached product details whenever a product or its store changes.
pub struct StoreProjection {
    pub cache: Arc<dyn Cache>,
    pub pool: PgPool,
}

impl StoreProjection {
    async fn forget_store_products(&self, store: StoreId) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        for id in store::product_ids_of_store(&mut conn, store).await? {
            forget_product(self.cache.as_ref(), id).await;
        }
        self.cache.bump(LISTING_GENERATION_KEY).await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Handler for StoreProjection {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            StoreApproved::TYPE => {
                let e: StoreApproved = event.decode()?;
                store::store_approved(tx, e.store_id, e.version, &e.slug, &e.name).await?;
            }
            StoreUpdated::TYPE => {
                let e: StoreUpdated = event.decode()?;
                store::store_renamed(tx, e.store_id, e.version, &e.slug, &e.name).await?;
            }
            StoreSuspended::TYPE => {
                let e: StoreSuspended = event.decode()?;
                store::store_status_changed(tx, e.store_id, e.version, "suspended").await?;
            }
            StoreReinstated::TYPE => {
                let e: StoreReinstated = event.decode()?;
                store::store_status_changed(tx, e.store_id, e.version, "approved").await?;
            }
            STOCK_CHANGED => {
                let e: StockChangedPayload = serde_json::from_value(event.payload.clone())?;
                store::set_variant_stock(tx, e.variant_id.0, e.available, e.version).await?;
            }
            // Product events change nothing here; their caches go after the commit.
            ProductPublished::TYPE | ProductWithdrawn::TYPE => {}
            other => anyhow::bail!("catalog does not handle {other}"),
        }
        Ok(())
    }

    /// Cached copies go only once the new state is visible: a reader that took the new
    /// generation before the commit could otherwise store the old state under it.
    async fn after_commit(&self, event: &Envelope) {
        let forgotten = match event.event_type.as_str() {
            StoreUpdated::TYPE | StoreSuspended::TYPE | StoreReinstated::TYPE => {
                match serde_json::from_value::<StoreRef>(event.payload.clone()) {
                    Ok(s) => self.forget_store_products(s.store_id).await,
                    Err(e) => Err(e.into()),
                }
            }
            ProductPublished::TYPE | ProductWithdrawn::TYPE | STOCK_CHANGED => {
                match serde_json::from_value::<ProductRef>(event.payload.clone()) {
                    Ok(p) => {
                        forget_product(self.cache.as_ref(), p.product_id).await;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            _ => Ok(()),
        };
        if let Err(e) = forgotten {
            tracing::warn!(error = %format!("{e:#}"), event_id = %event.id, "cache invalidation failed; entries expire with CACHE_TTL_SECS");
        }
    }
}

/// The part of a store event cache invalidation needs.
#[derive(Deserialize)]
struct StoreRef {
    store_id: contracts::vendors::StoreId,
}

/// The part of a product event cache invalidation needs.
#[derive(Deserialize)]
struct ProductRef {
    product_id: ProductId,
}

pub fn subscriptions(pool: &PgPool, cache: Arc<dyn Cache>) -> Vec<Subscription> {
    vec![Subscription {
        consumer: crate::SERVICE,
        event_types: CONSUMES.to_vec(),
        handler: Arc::new(StoreProjection {
            cache,
            pool: pool.clone(),
        }),
        pool: pool.clone(),
        queue: kernel::events::Queue::Shared,
    }]
}
