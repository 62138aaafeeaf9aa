//! Promotions: platform and store codes, their conditions and limits; evaluation for a
//! cart and redemption at checkout.

pub mod client;
pub mod dto;
pub mod schema;

pub use client::*;

pub const SERVICE: &str = "promotions";
kernel::typed_id!(pub PromotionId, "prm");
