use axum::http::StatusCode;
use kernel::http::Problem;

use crate::provider::ProviderError;

/// Everything payments can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you are not allowed to see this store's money")]
    Forbidden,
    #[error("a payment cannot go on from {from}")]
    IllegalTransition { from: &'static str },
    #[error("this reference belongs to another payment")]
    ReferenceReused,
    #[error("the webhook was refused: {0}")]
    BadWebhook(String),
    #[error(transparent)]
    Provider(ProviderError),
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
            Error::ReferenceReused => Problem::new(StatusCode::CONFLICT, "reference_reused", text),
            Error::BadWebhook(_) => Problem::new(StatusCode::BAD_REQUEST, "invalid_webhook", text),
            Error::Provider(ProviderError::Transient(_)) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payment_provider_unavailable",
                "The payment provider is not answering; please try again shortly",
            ),
            Error::Provider(ProviderError::Refused(_)) => {
                Problem::new(StatusCode::CONFLICT, "payment_provider_refused", text)
            }
            Error::Problem(p) => p,
            Error::Database(e) => Problem::internal(&e),
            Error::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}

kernel::problem_response!(Error);
