//! Shared plumbing for every Emporium service: configuration, database pools and
//! migrations, durable events, HTTP conventions, identifiers, tokens and telemetry.
//! Nothing domain-specific lives here.

pub mod auth;
pub mod cache;
pub mod config;
pub mod csv_cell;
pub mod db;
pub mod events;
pub mod housekeeping;
pub mod http;
pub mod ids;
pub mod media;
pub mod money;
pub mod platform;
pub mod progress;
pub mod secret;
pub mod telemetry;
pub mod text_enum;
pub mod validation;
pub mod values;

#[cfg(feature = "test-support")]
pub mod testing;

pub use config::Config;
pub use platform::{Platform, ServiceModule};
