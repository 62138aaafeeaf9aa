//! Orders: the checkout saga's requests and answers, orders split into one sub-order
//! per store, their timelines, and what orders publishes.

pub mod client;
pub mod dto;
pub mod events;

pub use client::*;

pub const SERVICE: &str = "orders";
kernel::typed_id!(pub CheckoutId, "chk");
kernel::typed_id!(pub OrderId, "ord");
kernel::typed_id!(pub SubOrderId, "sub");

/// Where an order ships.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub name: String,
    #[schema(schema_with = kernel::http::schema::text::<1, 200>)]
    pub line1: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<200>)]
    pub line2: Option<String>,
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub city: String,
    #[schema(schema_with = kernel::http::schema::text::<1, 20>)]
    pub postal_code: String,
    /// ISO 3166 alpha-2.
    #[schema(schema_with = kernel::http::schema::country)]
    pub country: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<50>)]
    pub region: Option<String>,
}
