use axum::http::StatusCode;
use kernel::http::{FieldError, Problem};

use crate::domain::Refusal;

/// Everything promotions can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you are not allowed to manage this store's promotions")]
    Forbidden,
    #[error("this code does not apply")]
    Refused(Refusal),
    #[error("this code has been used up")]
    Exhausted,
    #[error("you have used this code as often as it allows")]
    CustomerLimit,
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::NotFound(what) => Problem::not_found(what),
            Error::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", text),
            Error::Refused(r) => {
                Problem::validation(vec![FieldError::new("code", r.code(), r.message())])
            }
            Error::Exhausted => Problem::new(StatusCode::CONFLICT, "promotion_exhausted", text),
            Error::CustomerLimit => {
                Problem::new(StatusCode::CONFLICT, "promotion_customer_limit", text)
            }
            Error::Problem(p) => p,
            Error::Database(e) => Problem::internal(&e),
            Error::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}

kernel::problem_response!(Error);
