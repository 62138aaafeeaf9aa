//! Tax: rates by country and region, whether prices include tax, and exact per-line
//! tax quotes.

pub mod client;
pub mod dto;
pub mod schema;

pub use client::*;

pub const SERVICE: &str = "tax";
