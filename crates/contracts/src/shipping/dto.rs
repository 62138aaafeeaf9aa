//! Request and answer bodies of shipping's API, public and internal.

use crate::vendors::StoreId;
use kernel::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    #[schema(schema_with = kernel::http::schema::text::<2, 80>)]
    pub name: String,
    /// `flat`, `free_over` or `weight_bands`.
    #[schema(schema_with = super::schema::method_kind)]
    pub kind: String,
    /// ISO 3166 alpha-2 destinations, at most 250; empty or absent: everywhere.
    #[serde(default)]
    #[schema(schema_with = super::schema::countries)]
    pub countries: Vec<String>,
    #[schema(schema_with = super::schema::currency)]
    pub currency: String,
    /// The price (flat and free-over methods), minor units; absent: 0.
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub price_minor: Option<i64>,
    /// Free-over methods (required there): the store subtotal from which shipping is
    /// free.
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub free_over_minor: Option<i64>,
    /// Weight-band methods (1 to 20 required there): lightest first, at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub bands: Vec<Band>,
    #[serde(default)]
    pub position: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MethodView {
    pub id: MethodId,
    pub store_id: StoreId,
    pub name: String,
    pub kind: String,
    pub countries: Vec<String>,
    pub currency: String,
    pub price_minor: i64,
    pub free_over_minor: Option<i64>,
    pub bands: Vec<Band>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MethodList {
    pub items: Vec<MethodView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Parcel {
    /// The store (`sto_…`) shipping it.
    #[schema(pattern = "^sto_[0-9a-fA-F]{32}$")]
    pub store_id: StoreId,
    /// What the store's items cost together.
    pub subtotal: Money,
    /// 0 to 10⁹ grams.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub weight_grams: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ShippingQuoteRequest)]
pub struct QuoteRequest {
    /// ISO 3166 alpha-2 destination.
    #[schema(schema_with = kernel::http::schema::country)]
    pub country: String,
    /// One per store, 1 to 50.
    #[schema(min_items = 1, max_items = 50)]
    pub parcels: Vec<Parcel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShippingOption {
    pub method_id: MethodId,
    pub name: String,
    pub price: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ParcelQuote {
    pub store_id: StoreId,
    /// The methods that serve this parcel, cheapest first; empty when none does.
    pub options: Vec<ShippingOption>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ShippingQuoteView)]
pub struct QuoteView {
    pub parcels: Vec<ParcelQuote>,
}
