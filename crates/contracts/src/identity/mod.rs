//! Identity: accounts, sign-in and tokens, email verification, passwords, addresses.

pub mod client;
pub mod dto;
pub mod events;

pub use client::IdentityClient;

pub const SERVICE: &str = "identity";

pub use kernel::ids::{SessionId, UserId};
kernel::typed_id!(pub AddressId, "adr");
