//! What search answers: results with facets, and suggestions as the customer types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::CategoryId;

/// What a result shows, stored with the document so a search needs no database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = SearchProductCard)]
pub struct ProductCard {
    pub id: String,
    pub slug: String,
    pub store_slug: String,
    pub store_name: String,
    pub title: String,
    pub brand: Option<String>,
    pub category_id: Option<CategoryId>,
    /// Names from the root category down to the product's.
    pub category_names: Vec<String>,
    pub currency: String,
    pub min_price_minor: i64,
    pub max_price_minor: i64,
    /// Media key of the main image (`/media/<key>-480.webp`).
    pub image: Option<String>,
    /// False when every tracked variant is sold out.
    #[serde(default = "in_stock_default")]
    pub in_stock: bool,
    /// What customers made of it, once someone reviewed it.
    #[serde(default)]
    pub rating: Option<CardRating>,
}

/// A product's visible reviews in brief: the average to one decimal and how many.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CardRating {
    pub average: f64,
    pub count: u64,
}

/// How many matches have an average of `min_stars` or more (the "4 stars & up" links).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RatingCount {
    pub min_stars: u8,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PriceBucket {
    /// Inclusive lower bound in minor units; absent for the first bucket.
    pub min: Option<i64>,
    /// Exclusive upper bound in minor units; absent for the last bucket.
    pub max: Option<i64>,
    pub count: u64,
}

/// Facet counts. Each facet counts the matches of every filter except its own, so a
/// customer sees what choosing another value of it would give.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Facets {
    /// Counts per category id, for every level of the tree (a product counts for its
    /// category and each ancestor).
    pub categories: Vec<FacetValue>,
    pub brands: Vec<FacetValue>,
    /// Counts per store slug.
    pub stores: Vec<FacetValue>,
    pub prices: Vec<PriceBucket>,
    /// Attribute name to its values' counts.
    pub attributes: BTreeMap<String, Vec<FacetValue>>,
    /// Matches that can be bought now, and sold-out ones (all of a product's tracked
    /// variants at zero).
    pub availability: AvailabilityCounts,
    /// Matches rated 4, 3, 2 and 1 stars and up (none while nothing is rated).
    #[serde(default)]
    pub ratings: Vec<RatingCount>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AvailabilityCounts {
    pub in_stock: u64,
    pub out_of_stock: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: u64,
    pub page: usize,
    pub per_page: usize,
    pub items: Vec<ProductCard>,
    pub facets: Facets,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Suggestions {
    pub products: Vec<ProductCard>,
    pub brands: Vec<String>,
    /// Categories as `(id, name)`.
    pub categories: Vec<CategorySuggestion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CategorySuggestion {
    pub id: CategoryId,
    pub name: String,
}

fn in_stock_default() -> bool {
    true
}
