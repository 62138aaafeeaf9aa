//! Inventory: stock per variant and location, its movements, and reservations taken by
//! checkouts.

pub mod client;
pub mod dto;
pub mod events;

pub use client::InventoryClient;

pub const SERVICE: &str = "inventory";

kernel::typed_id!(pub LocationId, "loc");
kernel::typed_id!(pub ReservationId, "rsv");

/// The most units one adjustment, reservation line or level may move.
pub const MAX_QUANTITY: i64 = 1_000_000;
