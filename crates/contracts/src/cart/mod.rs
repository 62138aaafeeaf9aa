//! Cart: guest and customer carts, priced afresh on every view, and what a checkout
//! bought taken out of them.

pub mod client;
pub mod dto;

pub use client::*;

pub const SERVICE: &str = "cart";

/// The header that carries a guest cart's token.
pub const CART_TOKEN_HEADER: &str = "cart-token";
