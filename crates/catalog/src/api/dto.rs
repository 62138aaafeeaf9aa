//! Request and response bodies of catalog's API (shared with its client).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::CategoryId;

/// A category with its subtree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CategoryNode {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub position: i32,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryTree {
    pub items: Vec<CategoryNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CategoryRef {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
}

/// One category with where it sits and what is under it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryView {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub position: i32,
    pub parent_id: Option<CategoryId>,
    /// From the root down to this category's parent.
    pub breadcrumb: Vec<CategoryRef>,
    pub children: Vec<CategoryRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    pub slug: String,
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub position: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveCategory {
    /// The new parent; `null` makes it a root category.
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    /// The `key` answered by `POST /api/v1/catalog/media`.
    pub key: String,
    /// Describes the picture for people who cannot see it.
    #[serde(default)]
    pub alt: String,
    /// Ties the image to one variant (by SKU), e.g. its colour.
    pub variant_sku: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImageView {
    pub key: String,
    pub alt: String,
    pub variant_sku: Option<String>,
    /// 160 px wide.
    pub thumbnail_url: String,
    /// 480 px wide.
    pub url: String,
    /// 1200 px wide.
    pub large_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantRequest {
    /// Unique within the store.
    pub sku: String,
    /// e.g. `{"Size": "M", "Color": "Red"}`.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// Minor units (cents): `1999` is 19.99.
    pub price_minor: Option<i64>,
    /// ISO 4217, the same for every variant of a product.
    pub currency: String,
    /// The "was" price, above `price_minor`.
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i64>,
    /// EAN/UPC/GTIN, 8 to 14 digits.
    pub barcode: Option<String>,
}

/// A product as its vendor writes it; `PUT` replaces it whole, variants included
/// (variants keep their ids by SKU).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// Unique within the store.
    pub slug: String,
    pub title: String,
    /// Markdown; rendered to sanitised HTML.
    #[serde(default)]
    pub description: String,
    pub brand: Option<String>,
    pub category_id: Option<CategoryId>,
    /// Typed filter values, e.g. `{"color": "red", "organic": true}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub variants: Vec<VariantRequest>,
    /// In display order; the first is the product's main image.
    #[serde(default)]
    pub images: Vec<ImageRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StoreRef {
    pub id: String,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VariantView {
    pub id: crate::domain::VariantId,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub price: kernel::money::Money,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<String>,
    /// Units for sale now; absent when the store does not track this variant's stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProductView {
    pub id: crate::domain::ProductId,
    pub store: StoreRef,
    pub slug: String,
    pub title: String,
    /// The Markdown source.
    pub description: String,
    /// Sanitised HTML, safe to embed.
    pub description_html: String,
    pub brand: Option<String>,
    pub category_id: Option<CategoryId>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub tags: Vec<String>,
    /// `draft`, `published` or `archived`.
    pub status: String,
    /// Why an admin unpublished it (its store's members and admins only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub moderation_reason: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// The lowest variant price.
    pub price_from: kernel::money::Money,
    pub variants: Vec<VariantView>,
    /// False when every tracked variant is sold out.
    #[serde(default = "in_stock_default")]
    pub in_stock: bool,
    pub images: Vec<ImageView>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub published_at: Option<time::OffsetDateTime>,
}

/// A product in a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProductCard {
    pub id: crate::domain::ProductId,
    pub store: StoreRef,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    pub category_id: Option<CategoryId>,
    pub price_from: kernel::money::Money,
    pub status: String,
    /// The main image, 480 px wide.
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductCard>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    pub reason: String,
}

fn in_stock_default() -> bool {
    true
}
