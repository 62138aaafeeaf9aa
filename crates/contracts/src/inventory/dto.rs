//! Request and answer bodies of inventory's API, public and internal.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{LocationId, MAX_QUANTITY, ReservationId};
use crate::catalog::VariantId;

/// What `inventory::domain::parse_delta` takes: `-MAX_QUANTITY..=-1` or `1..=MAX_QUANTITY`.
fn delta_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let range = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min))
            .maximum(Some(max))
    };
    OneOfBuilder::new()
        .item(range(1, MAX_QUANTITY))
        .item(range(-MAX_QUANTITY, -1))
        .examples([12, -3])
        .into()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationView {
    pub id: LocationId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationRequest {
    /// Unique within the store: 2 to 80 characters.
    #[schema(schema_with = kernel::http::schema::text::<2, 80>)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationList {
    pub items: Vec<LocationView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LevelView {
    pub location_id: LocationId,
    pub location_name: String,
    pub on_hand: i32,
    pub reserved: i32,
    pub available: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub variant_id: VariantId,
    pub locations: Vec<LevelView>,
    pub available: i64,
    pub low_stock_threshold: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// One of the variant's store's locations.
    pub location_id: LocationId,
    /// Units added (received, found) or removed (damaged, lost): 1 to 1 000 000 either
    /// way, not zero.
    #[schema(schema_with = delta_schema)]
    pub delta: i64,
    /// Why, for the movement log: 2 to 200 characters.
    #[schema(schema_with = kernel::http::schema::text::<2, 200>)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    /// Warn when fewer units than this are available: 0 to 1 000 000; absent or `null`
    /// turns warnings off.
    #[schema(minimum = 0, maximum = 1000000)]
    pub low_stock_threshold: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MovementView {
    pub location_id: LocationId,
    pub delta: i32,
    pub reason: String,
    pub reference: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MovementPage {
    pub items: Vec<MovementView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Availability {
    pub variant_id: VariantId,
    /// Whether the store keeps stock of this variant; untracked variants are always
    /// for sale.
    pub tracked: bool,
    /// Units that may be bought now (0 when not tracked).
    pub available: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityList {
    pub items: Vec<Availability>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveLine {
    pub variant_id: VariantId,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    /// The caller's key for this reservation (e.g. the checkout id): asking again with
    /// the same reference returns the same reservation.
    pub reference: String,
    pub lines: Vec<ReserveLine>,
    /// How long the stock is held unless committed (default 900, at most 7200).
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReservedLine {
    pub variant_id: VariantId,
    pub location_id: LocationId,
    pub quantity: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    pub id: ReservationId,
    pub reference: String,
    /// `held`, `committed`, `released`, `expired` or `returned`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub lines: Vec<ReservedLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceReserveRequest {
    /// The customer (`usr_…`) the stock is held for.
    pub owner: kernel::ids::UserId,
    pub reservation: ReserveRequest,
}

/// A tracked variant's availability as its latest `inventory.stock.changed` event said:
/// what search needs to know which products are sold out when it builds a replica.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VariantAvailability {
    pub variant_id: VariantId,
    pub product_id: crate::catalog::ProductId,
    pub available: i64,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityPage {
    pub items: Vec<VariantAvailability>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<VariantId>,
}
