use kernel::http::{Failure, Problem};

/// Everything shipping can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to manage this store's shipping"
);
