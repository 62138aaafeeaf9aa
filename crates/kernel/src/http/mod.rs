//! HTTP conventions shared by every service.

pub mod access;
pub mod client;
pub mod conditional;
pub mod extract;
pub mod failure;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod problem;
pub mod schema;

pub use extract::{ClientIp, Json, Path, Query};
pub use failure::Failure;
pub use problem::{FieldError, Problem};
