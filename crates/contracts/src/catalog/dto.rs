//! Request and response bodies of catalog's API (shared with its client).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::CategoryId;

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
    /// 1 to 80 characters.
    #[schema(schema_with = kernel::http::schema::text::<1, 80>)]
    pub name: String,
    /// Unique: 2 to 60 letters, digits and single hyphens between them (stored in
    /// lower case).
    #[schema(schema_with = super::schema::slug)]
    pub slug: String,
    /// The parent; absent or `null` makes a root category.
    pub parent_id: Option<CategoryId>,
    /// Its place among its siblings (0 when absent).
    #[serde(default)]
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub position: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    /// 1 to 80 characters; absent or `null` keeps the name.
    #[schema(schema_with = kernel::http::schema::text_or_null::<1, 80>)]
    pub name: Option<String>,
    /// As when created; absent or `null` keeps the slug.
    #[schema(schema_with = super::schema::slug_or_null)]
    pub slug: Option<String>,
    /// Absent or `null` keeps the position.
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub position: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveCategory {
    /// The new parent; `null` makes it a root category.
    pub parent_id: Option<CategoryId>,
    /// Its place among its new siblings (0 when absent).
    #[serde(default)]
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub position: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    /// The `key` answered by `POST /api/v1/catalog/media` (32 lowercase hex digits).
    #[schema(schema_with = super::schema::media_key)]
    pub key: String,
    /// Describes the picture for people who cannot see it; at most 200 characters.
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::prose::<200>)]
    pub alt: String,
    /// Ties the image to one variant, e.g. its colour: one of this product's SKUs.
    #[schema(schema_with = super::schema::sku_or_null)]
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
    /// Unique within the store (in any letter case): 1 to 64 letters, digits, `-`, `_`
    /// or `.`.
    #[schema(schema_with = super::schema::sku)]
    pub sku: String,
    /// e.g. `{"Size": "M", "Color": "Red"}`: at most 5, names of 1 to 30 characters and
    /// values of 1 to 60.
    #[serde(default)]
    #[schema(schema_with = super::schema::options)]
    pub options: std::collections::BTreeMap<String, String>,
    /// Minor units (cents): `1999` is 19.99. Required, 0 to 1 000 000 000 000.
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 1000000000000.0)]
    pub price_minor: Option<i64>,
    /// ISO 4217, the same for every variant of a product.
    #[schema(schema_with = super::schema::currency)]
    pub currency: String,
    /// The "was" price, above `price_minor` and at most 1 000 000 000 000.
    #[schema(minimum = 1, maximum = 1000000000000.0)]
    pub compare_at_minor: Option<i64>,
    /// 0 to 1 000 000.
    #[schema(minimum = 0, maximum = 1000000)]
    pub weight_grams: Option<i64>,
    /// EAN/UPC/GTIN, 8 to 14 digits; `null` or blank for none.
    #[schema(schema_with = super::schema::barcode)]
    pub barcode: Option<String>,
}

/// A product as its vendor writes it; `PUT` replaces it whole, variants included
/// (variants keep their ids by SKU).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// Unique within the store: 2 to 60 letters, digits and single hyphens between
    /// them (stored in lower case).
    #[schema(schema_with = super::schema::slug)]
    pub slug: String,
    /// 2 to 200 characters.
    #[schema(schema_with = kernel::http::schema::text::<2, 200>)]
    pub title: String,
    /// Markdown, at most 20 000 characters; rendered to sanitised HTML.
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::prose::<20000>)]
    pub description: String,
    /// At most 80 characters; `null` or blank for none.
    #[schema(schema_with = kernel::http::schema::optional_text::<80>)]
    pub brand: Option<String>,
    /// An existing category.
    pub category_id: Option<CategoryId>,
    /// Typed filter values, e.g. `{"color": "red", "organic": true}`: at most 30, keys
    /// of 1 to 30 letters, digits and `_` (stored lower-cased), values short text
    /// (1 to 60 characters), numbers or booleans.
    #[serde(default)]
    #[schema(schema_with = super::schema::attributes)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// At most 20, each 1 to 30 characters (stored lower-cased, repeats once).
    #[serde(default)]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Vec<String>,
    /// At most 70 characters; `null` or blank for none.
    #[schema(schema_with = kernel::http::schema::optional_text::<70>)]
    pub seo_title: Option<String>,
    /// At most 160 characters; `null` or blank for none.
    #[schema(schema_with = kernel::http::schema::optional_text::<160>)]
    pub seo_description: Option<String>,
    /// 1 to 100 variants with distinct SKUs and one currency.
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Vec<VariantRequest>,
    /// At most 20, in display order; the first is the product's main image.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub images: Vec<ImageRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StoreRef {
    pub id: crate::vendors::StoreId,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VariantView {
    pub id: super::VariantId,
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
    pub id: super::ProductId,
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
    pub id: super::ProductId,
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
    /// Shown to the vendor: 3 to 1000 characters.
    #[schema(schema_with = kernel::http::schema::text::<3, 1000>)]
    pub reason: String,
}

fn in_stock_default() -> bool {
    true
}
