//! What inventory publishes: availability changes (for catalog and search) and
//! low-stock warnings (for the vendor). It consumes nothing yet.

use contracts::catalog::VariantId;
use std::collections::HashMap;

use contracts::inventory::events::{StockChanged, StockLow};
use sqlx::PgConnection;

use crate::{domain, store};

/// Records, in the caller's transaction, the events for variants whose availability
/// moved from `before`.
pub async fn record_changes(
    conn: &mut PgConnection,
    before: &HashMap<VariantId, i64>,
) -> anyhow::Result<()> {
    let variants: Vec<VariantId> = before.keys().copied().collect();
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
        let store_id = v.store_id;
        kernel::events::outbox::record(
            conn,
            &StockChanged {
                variant_id: *variant,
                product_id: v.product_id,
                store_id,
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
                    variant_id: *variant,
                    product_id: v.product_id,
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
