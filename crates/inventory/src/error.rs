use axum::http::StatusCode;
use kernel::http::{Failure, FieldError, Problem};

/// Everything inventory can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not enough stock")]
    OutOfStock(Vec<FieldError>),
    #[error("that would leave less stock than is reserved for checkouts in progress")]
    BelowReserved,
    #[error("a {from} reservation cannot do that")]
    IllegalTransition { from: &'static str },
    #[error("this location already exists")]
    LocationTaken,
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::OutOfStock(lines) => {
                let mut p = Problem::new(StatusCode::CONFLICT, "out_of_stock", text)
                    .detail("Lower the quantities or remove the items listed");
                p.errors = lines;
                p
            }
            Error::BelowReserved => Problem::new(StatusCode::CONFLICT, "below_reserved", text),
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", text)
            }
            Error::LocationTaken => Problem::taken(
                "name",
                "location_taken",
                "this store already has a location with this name",
            ),
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to manage this store's stock"
);
