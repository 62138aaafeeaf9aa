//! Bodies of catalog's `/internal/…` operations (for services only).

use crate::vendors::StoreId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::ProductPublished;
use super::{CategoryId, ProductId, VariantId};

/// A page of the documents search indexes: what a full reindex reads.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchDocumentPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ProductPublished>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<ProductId>,
    /// How many documents there are in all; on the first page only.
    pub total: Option<u64>,
}

/// A variant's product and store, so other services can check who may manage it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VariantOwner {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// The store (`sto_…`).
    pub store_id: StoreId,
    pub sku: String,
}

/// A variant as a cart shows it: current price, what it is, whether it is for sale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SaleVariant {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// The store (`sto_…`).
    pub store_id: StoreId,
    pub store_slug: String,
    pub store_name: String,
    pub product_slug: String,
    pub title: String,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub price: kernel::money::Money,
    pub weight_grams: Option<i32>,
    /// Media key of the product's main image.
    pub image: Option<String>,
    /// Published, in an open store: may be bought.
    pub for_sale: bool,
    /// The product's category and its ancestors (for promotion conditions).
    pub category_path: Vec<CategoryId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SaleVariantList {
    pub items: Vec<SaleVariant>,
}
