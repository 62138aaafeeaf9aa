//! What inventory publishes: availability changes (for catalog and search) and
//! low-stock warnings (for the vendor). It consumes nothing yet.

use std::collections::HashMap;

use kernel::events::Event;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{domain, store};

/// How many units of a variant may be sold now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StockChanged {
    pub variant_id: catalog::domain::VariantId,
    pub product_id: catalog::domain::ProductId,
    /// The store (`sto_…`).
    pub store_id: String,
    pub available: i64,
    /// Grows with every change of the variant's stock; consumers drop older ones.
    pub version: i64,
}

impl Event for StockChanged {
    const TYPE: &'static str = "inventory.stock.changed";

    fn aggregate_id(&self) -> String {
        self.variant_id.to_string()
    }
}

/// A variant fell below its store's low-stock threshold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StockLow {
    pub variant_id: catalog::domain::VariantId,
    pub product_id: catalog::domain::ProductId,
    pub store_id: String,
    pub available: i64,
    pub threshold: i32,
}

impl Event for StockLow {
    const TYPE: &'static str = "inventory.stock.low";

    fn aggregate_id(&self) -> String {
        self.variant_id.to_string()
    }
}

/// Records, in the caller's transaction, the events for variants whose availability
/// moved from `before`.
pub async fn record_changes(
    conn: &mut PgConnection,
    before: &HashMap<Uuid, i64>,
) -> anyhow::Result<()> {
    let variants: Vec<Uuid> = before.keys().copied().collect();
    let after = store::available(conn, &variants).await?;
    for (variant, was) in before {
        let now = after.get(variant).copied().unwrap_or(0);
        if now == *was {
            continue;
        }
        let Some(v) = store::variant(conn, *variant).await? else {
            continue;
        };
        let version = store::bump_version(conn, *variant).await?;
        let store_id = contracts::vendors::StoreId(v.store_id).to_string();
        kernel::events::outbox::record(
            conn,
            &StockChanged {
                variant_id: catalog::domain::VariantId(*variant),
                product_id: catalog::domain::ProductId(v.product_id),
                store_id: store_id.clone(),
                available: now,
                version,
            },
        )
        .await?;
        if let (true, Some(threshold)) = (
            domain::crossed_low(*was, now, v.low_stock_threshold),
            v.low_stock_threshold,
        ) {
            kernel::events::outbox::record(
                conn,
                &StockLow {
                    variant_id: catalog::domain::VariantId(*variant),
                    product_id: catalog::domain::ProductId(v.product_id),
                    store_id,
                    available: now,
                    threshold,
                },
            )
            .await?;
        }
    }
    Ok(())
}
