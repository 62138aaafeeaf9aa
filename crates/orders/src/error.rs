use axum::http::StatusCode;
use kernel::http::Problem;

/// Everything orders can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you are not allowed to do this to this order")]
    Forbidden,
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
            Error::IllegalTransition { .. } => {
                Problem::new(StatusCode::CONFLICT, "illegal_transition", text)
            }
            Error::Refused { code, message } => Problem::new(StatusCode::CONFLICT, code, message),
            Error::Upstream(p) | Error::Problem(p) => p,
            Error::Database(e) => Problem::internal(&e),
            Error::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}

kernel::problem_response!(Error);
