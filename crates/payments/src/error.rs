use axum::http::StatusCode;
use kernel::http::{Failure, Problem};

use crate::provider::ProviderError;

/// Everything payments can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a payment cannot go on from {from}")]
    IllegalTransition { from: &'static str },
    #[error("this reference belongs to another payment")]
    ReferenceReused,
    #[error("the webhook was refused: {0}")]
    BadWebhook(String),
    #[error(transparent)]
    Provider(ProviderError),
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
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to see this store's money"
);
