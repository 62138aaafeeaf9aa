//! What inventory publishes: availability changes (for catalog and search) and
//! low-stock warnings (for the vendor).

use crate::vendors::StoreId;
use kernel::events::Event;
use serde::{Deserialize, Serialize};

/// How many units of a variant may be sold now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StockChanged {
    pub variant_id: crate::catalog::VariantId,
    pub product_id: crate::catalog::ProductId,
    /// The store (`sto_…`).
    pub store_id: StoreId,
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
    pub variant_id: crate::catalog::VariantId,
    pub product_id: crate::catalog::ProductId,
    pub store_id: StoreId,
    pub available: i64,
    pub threshold: i32,
}

impl Event for StockLow {
    const TYPE: &'static str = "inventory.stock.low";

    fn aggregate_id(&self) -> String {
        self.variant_id.to_string()
    }
}
