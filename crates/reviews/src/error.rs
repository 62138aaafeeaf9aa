//! Reviews refuses with the errors every service shares (its own refusals are
//! problems with stable codes, made where they happen).

pub use kernel::http::Failure as Error;
