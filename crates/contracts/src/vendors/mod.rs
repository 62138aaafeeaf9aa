//! Vendors: stores, their applications, staff and commission.

pub mod client;
pub mod dto;
pub mod events;
mod schema;

pub use client::VendorsClient;

pub const SERVICE: &str = "vendors";

pub use kernel::ids::StoreId;
kernel::typed_id!(pub InvitationId, "inv");

/// Words a store slug may not be: they would shadow pages or confuse people.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "account", "vendor", "vendors", "store", "stores", "new", "edit", "search",
    "login", "logout", "register", "emporium", "support", "help", "static", "assets", "media",
];
