//! Notifications: emails from other services' events; in dev mode, a mailbox to read
//! them back.

pub mod client;
pub mod dto;

pub use client::*;

pub const SERVICE: &str = "notifications";
