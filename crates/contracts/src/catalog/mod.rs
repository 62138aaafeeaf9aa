//! Catalog: the category tree, stores' products with their variants, product media and
//! the product CSV.

pub mod client;
pub mod dto;
pub mod events;
pub mod import;
pub mod internal;
pub mod media;
pub mod schema;

pub use client::CatalogClient;

pub const SERVICE: &str = "catalog";

kernel::typed_id!(pub CategoryId, "cat");
kernel::typed_id!(pub ProductId, "prd");
kernel::typed_id!(pub VariantId, "var");

/// Variants one product may have.
pub const MAX_VARIANTS: usize = 100;
