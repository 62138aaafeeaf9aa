//! Request and answer bodies of orders's API, public and internal.

#![allow(unused_imports)]
use crate::vendors::StoreId;
use std::collections::BTreeMap;

use kernel::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub address: Address,
    /// The shipping method (`shp_…`) chosen for each store (`sto_…`) in the cart.
    #[schema(schema_with = shipping_choices)]
    pub shipping: BTreeMap<StoreId, crate::shipping::MethodId>,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<32>)]
    pub promotion_code: Option<String>,
    /// The card number to pay with (the simulator's test cards are in docs/api.md), or,
    /// with Stripe, the PaymentMethod id (`pm_…`) Stripe.js made in the browser.
    pub card_number: String,
    /// The total the customer agreed to; a different total now is a 409
    /// `price_changed` instead of a charge.
    #[serde(default)]
    pub expected_total_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutView {
    pub id: CheckoutId,
    /// `completed`, `awaiting_action` (the customer confirms at `next_action_url`),
    /// `failed`, or a step still under way.
    pub status: String,
    pub order: Option<OrderView>,
    pub next_action_url: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreviewStore {
    pub store_id: StoreId,
    pub store_name: String,
    pub shipping_method: String,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreviewView {
    pub stores: Vec<PreviewStore>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    /// What checking out now would charge (send it back as `expected_total_minor`).
    pub total: Money,
    pub prices_include_tax: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    pub variant_id: crate::catalog::VariantId,
    pub product_id: crate::catalog::ProductId,
    pub title: String,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub quantity: i32,
    pub unit_price: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubOrderView {
    pub id: SubOrderId,
    pub order_id: OrderId,
    pub number: String,
    pub store_id: StoreId,
    pub store_name: String,
    /// `paid`, `processing`, `shipped`, `delivered`, `cancelled`,
    /// `partially_refunded` or `refunded` (`placed` until the payment is captured).
    pub status: String,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub refunded: Money,
    /// The platform's commission on it (shown to the store and admins).
    pub commission: Option<Money>,
    pub shipping_method: String,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    pub lines: Vec<LineView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: String,
    /// The sub-order it concerns, if not the whole order.
    pub sub_order: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub number: String,
    /// `placed`, `paid`, `cancelled`, `partially_refunded` or `refunded`.
    pub status: String,
    pub email: String,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub promotion_code: Option<String>,
    #[schema(value_type = Object)]
    pub address: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub sub_orders: Vec<SubOrderView>,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubOrderList {
    pub items: Vec<SubOrderView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubOrderDetail {
    /// The order. Its store sees only its own part: this sub-order alone, and the
    /// order's figures (subtotal, discount, shipping, tax, total) and status are that
    /// part's; the customer and admins see the whole order.
    pub order: OrderView,
    pub sub_order: SubOrderView,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `ship`: the carrier's tracking number.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// `cancel`: why (required from stores and admins).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SubOrderRefundRequest)]
pub struct RefundRequest {
    /// At most what is left to refund (more is a 409 `refund_too_large`).
    #[schema(minimum = 1, maximum = 1000000000000.0)]
    pub amount_minor: i64,
    #[schema(schema_with = kernel::http::schema::text::<3, 500>)]
    pub reason: String,
}

/// `{"sto_…": "shp_…"}`, at most 50 stores.
pub fn shipping_choices() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let id = |prefix: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{prefix}_[0-9a-fA-F]{{32}}$")))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(id("sto")))
        .additional_properties(Some(id("shp")))
        .max_properties(Some(50))
        .into()
}

/// Which of a customer's received lines to list: those of a product, or of one
/// sub-order (at least one of the two).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceivedQuery {
    pub customer: kernel::ids::UserId,
    pub product: Option<crate::catalog::ProductId>,
    pub sub_order: Option<SubOrderId>,
}

/// A line of a delivered sub-order: what a customer received, and when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceivedLine {
    pub sub_order_id: SubOrderId,
    pub store_id: StoreId,
    pub product_id: crate::catalog::ProductId,
    pub variant_id: crate::catalog::VariantId,
    pub quantity: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub delivered_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceivedList {
    pub items: Vec<ReceivedLine>,
}
