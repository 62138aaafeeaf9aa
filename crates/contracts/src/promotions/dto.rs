//! Request and answer bodies of promotions's API, public and internal.

use crate::vendors::StoreId;
use kernel::money::Money;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::*;
use crate::catalog::{CategoryId, ProductId};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionRequest {
    /// What customers type: 3 to 32 letters, digits, '-' or '_' (case-insensitive).
    #[schema(schema_with = super::schema::code)]
    pub code: String,
    /// `percentage`, `fixed` or `free_shipping`.
    #[schema(schema_with = super::schema::promotion_kind)]
    pub kind: String,
    /// Percentage codes (required there): 0.01 to 100, e.g. "10" or "12.5".
    #[schema(schema_with = super::schema::percent)]
    pub percent: Option<String>,
    /// Fixed codes (required there): the amount off, more than 0.
    #[schema(schema_with = super::schema::amount_off)]
    pub amount: Option<Money>,
    /// The eligible items must cost at least this (minor units, the cart's currency).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub min_subtotal_minor: i64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    /// After `starts_at`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Only products in these categories (and their subcategories); at most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub categories: Vec<CategoryId>,
    /// Only these products; at most 1000.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub products: Vec<ProductId>,
    /// Redemptions in all.
    #[schema(minimum = 1)]
    pub usage_limit: Option<i32>,
    /// Redemptions per customer.
    #[schema(minimum = 1)]
    pub per_customer_limit: Option<i32>,
    #[serde(default)]
    pub first_order_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PromotionView {
    pub id: PromotionId,
    pub code: String,
    /// The store that funds it; absent for platform codes.
    pub store_id: Option<StoreId>,
    pub kind: String,
    pub uses: i32,
    pub usage_limit: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PromotionList {
    pub items: Vec<PromotionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    /// The store (`sto_…`) selling it.
    #[schema(pattern = "^sto_[0-9a-fA-F]{32}$")]
    pub store_id: StoreId,
    pub product_id: ProductId,
    /// The product's category and its ancestors.
    #[serde(default)]
    pub category_path: Vec<CategoryId>,
    /// Price × quantity: 0 to 10¹² minor units, every line in one currency.
    #[schema(schema_with = super::schema::line_amount)]
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    #[schema(schema_with = super::schema::code)]
    pub code: String,
    /// 1 to 200 lines.
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<CartLine>,
    /// Whether the customer has never ordered (checkout knows).
    #[serde(default)]
    pub first_order: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiscountView {
    pub code: String,
    /// Per line, in the request's order.
    pub per_line: Vec<Money>,
    pub total: Money,
    /// Stores (`sto_…`) whose shipping becomes free.
    pub free_shipping: Vec<StoreId>,
    /// `platform` or `store`: who pays for it.
    pub funded_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The checkout's key: the same reference redeems once.
    pub reference: String,
    pub cart: EvaluateRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRedeemRequest {
    /// The customer (`usr_…`) redeeming it.
    pub customer: kernel::ids::UserId,
    pub redemption: RedeemRequest,
}
