//! Tax refuses nothing of its own: its errors are the ones every service shares.

pub use kernel::http::Failure as Error;
