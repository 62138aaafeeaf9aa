//! Request and answer bodies of cart's API, public and internal.

use crate::vendors::StoreId;
use kernel::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::VariantId;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GuestTokenView {
    /// Send as the `Cart-Token` header; keep it secret (it is the cart's key).
    pub cart_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartLineView {
    pub variant_id: VariantId,
    pub product_slug: String,
    pub store_slug: String,
    pub store_name: String,
    pub title: String,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub image: Option<String>,
    pub quantity: i32,
    pub unit_price: Money,
    pub line_total: Money,
    /// False when it can no longer be bought; such lines are not counted in totals.
    pub available: bool,
    /// What changed since the customer last looked: price, stock, availability.
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreSubtotal {
    /// The store (`sto_…`).
    pub store_id: StoreId,
    pub store_slug: String,
    pub store_name: String,
    pub subtotal: Money,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    pub lines: Vec<CartLineView>,
    /// One per store: each ships (and is paid out) separately.
    pub stores: Vec<StoreSubtotal>,
    /// Absent for an empty cart. Discounts, shipping and tax are added at checkout.
    pub subtotal: Option<Money>,
    pub item_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// 0 removes the line.
    #[schema(minimum = 0, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchasedLine {
    pub variant_id: VariantId,
    pub quantity: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The checkout: the same reference takes items out once.
    pub reference: String,
    /// The customer (`usr_…`).
    pub customer: kernel::ids::UserId,
    pub lines: Vec<PurchasedLine>,
}
