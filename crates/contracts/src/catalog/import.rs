//! The product CSV: its columns and what an import answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The columns, in export order. `product_slug`, `sku`, `price` and `currency` are
/// required in every row; product fields are read from a product's first row.
pub const COLUMNS: &[&str] = &[
    "product_slug",
    "title",
    "description",
    "brand",
    "category",
    "attributes",
    "tags",
    "status",
    "sku",
    "options",
    "price",
    "currency",
    "compare_at_price",
    "weight_grams",
    "barcode",
    "images",
];

/// A row the import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedRow {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub product_slug: String,
    pub sku: String,
    /// The column (or field) at fault.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read (one per variant).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Of those, how many are now published.
    pub published: u64,
    /// Every refused row, with its line and reason; their products were not written.
    pub rejected: Vec<RejectedRow>,
}
