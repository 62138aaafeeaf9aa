//! HTTP conventions shared by every service.

pub mod access;
pub mod client;
pub mod conditional;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod problem;
pub mod schema;

pub use extract::{ClientIp, Json, Query};
pub use problem::{FieldError, Problem};
