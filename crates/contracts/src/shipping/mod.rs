//! Shipping: stores' shipping methods (flat, free over an amount, weight bands, by
//! country) and quotes for parcels.

pub mod client;
pub mod dto;
pub mod schema;

pub use client::*;

pub const SERVICE: &str = "shipping";
kernel::typed_id!(pub MethodId, "shp");

/// A weight band: parcels up to `up_to_grams` (inclusive) cost `price_minor`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Band {
    /// More than 0; each band heavier than the one before.
    #[schema(minimum = 1)]
    pub up_to_grams: i64,
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub price_minor: i64,
}
