use axum::http::StatusCode;
use kernel::http::Problem;

/// Everything shipping can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you are not allowed to manage this store's shipping")]
    Forbidden,
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
            Error::Problem(p) => p,
            Error::Database(e) => Problem::internal(&e),
            Error::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}

kernel::problem_response!(Error);
