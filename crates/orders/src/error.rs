use axum::http::StatusCode;
use kernel::http::{Failure, Problem};

/// Everything orders can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a sub-order that is {from} cannot be {action}")]
    IllegalTransition {
        from: &'static str,
        action: &'static str,
    },
    /// The checkout cannot go ahead as asked; `code` is stable, `message` is for the
    /// customer.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// A service the checkout depends on answered with this problem.
    #[error("{}", .0.title)]
    Upstream(Problem),
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", text)
            }
            Error::Refused { code, message } => Problem::new(StatusCode::CONFLICT, code, message),
            Error::Upstream(p) => p,
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to do this to this order"
);
