//! What search consumes: catalog's product events (the documents), vendors' store
//! events (whose products to hide), inventory's stock and reviews' ratings. Search
//! publishes nothing.

use std::sync::Arc;

use contracts::catalog::events::{ProductPublished, ProductWithdrawn};
use contracts::inventory::events::StockChanged;
use contracts::reviews::events::ProductRatingChanged;
use contracts::vendors::events::{StoreReinstated, StoreSuspended};
use kernel::events::{Envelope, Event, Handler, Queue, Subscription};
use sqlx::{PgConnection, PgPool};

use crate::domain::Rating;
use crate::index::ProductIndex;
use crate::store;

pub const CONSUMES: &[&str] = &[
    ProductPublished::TYPE,
    ProductWithdrawn::TYPE,
    StoreSuspended::TYPE,
    StoreReinstated::TYPE,
    StockChanged::TYPE,
    ProductRatingChanged::TYPE,
];

/// Applies each change to the index and waits for its commit before the inbox
/// transaction commits: an acknowledged event is searchable, and one lost to a crash
/// is redelivered (applying a change twice is harmless).
///
/// A change waits for any running rebuild *before* it touches `product_versions`: the
/// rebuild writes those rows too, and a handler holding a row lock while waiting for
/// the rebuild would deadlock with it.
pub struct IndexFeeder {
    pub index: Arc<ProductIndex>,
}

#[async_trait::async_trait]
impl Handler for IndexFeeder {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            ProductPublished::TYPE => {
                let e: ProductPublished = event.decode()?;
                let _change = self.index.begin_change().await;
                if store::advance_product_version(tx, e.product_id.0, e.version).await? {
                    let seq = self.index.upsert(&e)?;
                    self.index.commit(seq).await?;
                }
            }
            ProductWithdrawn::TYPE => {
                let e: ProductWithdrawn = event.decode()?;
                let _change = self.index.begin_change().await;
                if store::advance_product_version(tx, e.product_id.0, e.version).await? {
                    let seq = self.index.delete(e.product_id.0)?;
                    self.index.commit(seq).await?;
                }
            }
            StoreSuspended::TYPE => {
                let e: StoreSuspended = event.decode()?;
                if store::set_store_suspended(tx, e.store_id.0, e.version, true).await? {
                    self.index.set_store_suspended(e.store_id.0, true);
                }
            }
            StoreReinstated::TYPE => {
                let e: StoreReinstated = event.decode()?;
                if store::set_store_suspended(tx, e.store_id.0, e.version, false).await? {
                    self.index.set_store_suspended(e.store_id.0, false);
                }
            }
            StockChanged::TYPE => {
                let e: StockChanged = event.decode()?;
                let (variant, product) = (e.variant_id.0, e.product_id.0);
                if store::set_variant_stock(tx, variant, product, e.available, e.version).await? {
                    let sold_out = store::product_sold_out(tx, product).await?;
                    self.index.set_sold_out(product, sold_out);
                }
            }
            ProductRatingChanged::TYPE => {
                let e: ProductRatingChanged = event.decode()?;
                let rating = Rating::from_histogram(&e.histogram);
                if store::set_product_rating(tx, e.product_id.0, e.version, rating).await? {
                    self.index.set_rating(e.product_id.0, rating);
                }
            }
            other => anyhow::bail!("search does not handle {other}"),
        }
        Ok(())
    }
}

/// Every replica keeps an index of its own, so each has a queue of its own that
/// receives every event.
pub fn subscription(pool: &PgPool, index: Arc<ProductIndex>, queue: Queue) -> Subscription {
    Subscription {
        consumer: crate::SERVICE,
        event_types: CONSUMES.to_vec(),
        handler: Arc::new(IndexFeeder { index }),
        pool: pool.clone(),
        queue,
    }
}
