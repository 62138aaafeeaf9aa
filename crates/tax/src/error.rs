use kernel::http::Problem;

/// Everything shipping can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => Problem::not_found(what),
            Error::Problem(p) => p,
            Error::Database(e) => Problem::internal(&e),
            Error::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}

kernel::problem_response!(Error);
