//! Identity: accounts, sign-in and tokens, email verification, passwords, addresses.

pub mod client;
pub mod dto;
pub mod events;

pub use client::IdentityClient;

pub const SERVICE: &str = "identity";

kernel::typed_id!(pub UserId, "usr");
kernel::typed_id!(pub SessionId, "ses");
kernel::typed_id!(pub AddressId, "adr");
