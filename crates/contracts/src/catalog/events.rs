//! Events catalog publishes (see docs/events.md): search indexes products from them.

use crate::vendors::StoreId;
use kernel::events::Event;
use serde::{Deserialize, Serialize};

use super::{CategoryId, ProductId};

/// A product is (still) for sale: everything a search index needs, so consumers never
/// call back. Sent on publishing and on every change while published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductPublished {
    pub product_id: ProductId,
    /// Grows with every change of the product; a consumer ignores anything older than
    /// what it has.
    #[serde(default)]
    pub version: i64,
    pub store_id: StoreId,
    pub store_slug: String,
    pub store_name: String,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    /// The Markdown source, for full-text indexing.
    pub description: String,
    pub category_id: Option<CategoryId>,
    /// From the root down to the product's category.
    pub category_path: Vec<CategoryId>,
    /// The names along `category_path`.
    #[serde(default)]
    pub category_names: Vec<String>,
    pub attributes: serde_json::Value,
    /// Every value each variant option takes, e.g. `{"size": ["M", "L"]}`.
    #[serde(default)]
    pub options: serde_json::Value,
    pub tags: Vec<String>,
    pub currency: String,
    pub min_price_minor: i64,
    #[serde(default)]
    pub max_price_minor: i64,
    /// Key of the main image (renditions at `/media/<key>-<width>.webp`).
    pub image: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<time::OffsetDateTime>,
}

impl Event for ProductPublished {
    const TYPE: &'static str = "catalog.product.published";

    fn aggregate_id(&self) -> String {
        self.product_id.to_string()
    }
}

/// A product left the storefront: unpublished, archived or moderated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProductWithdrawn {
    pub product_id: ProductId,
    #[serde(default)]
    pub version: i64,
}

impl Event for ProductWithdrawn {
    const TYPE: &'static str = "catalog.product.withdrawn";

    fn aggregate_id(&self) -> String {
        self.product_id.to_string()
    }
}
