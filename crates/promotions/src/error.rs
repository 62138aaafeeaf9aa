use axum::http::StatusCode;
use kernel::http::{Failure, FieldError, Problem};

use crate::domain::Refusal;

/// Everything promotions can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("this code does not apply")]
    Refused(Refusal),
    #[error("this code has been used up")]
    Exhausted,
    #[error("you have used this code as often as it allows")]
    CustomerLimit,
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Refused(r) => {
                Problem::validation(vec![FieldError::new("code", r.code(), r.message())])
            }
            Error::Exhausted => Problem::new(StatusCode::CONFLICT, "promotion_exhausted", text),
            Error::CustomerLimit => {
                Problem::new(StatusCode::CONFLICT, "promotion_customer_limit", text)
            }
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to manage this store's promotions"
);
