use axum::http::StatusCode;
use kernel::http::{Failure, FieldError, Problem};

/// Everything cart can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sign in, or send the Cart-Token header of a guest cart")]
    NoCart,
    #[error("not enough stock")]
    InsufficientStock { available: i64 },
    #[error("this cart holds items priced in another currency")]
    CurrencyMismatch,
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::NoCart => Problem::new(StatusCode::UNAUTHORIZED, "no_cart", text),
            Error::InsufficientStock { available } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "insufficient_stock", text).detail(
                    if available == 0 {
                        "It is sold out".to_owned()
                    } else {
                        format!("Only {available} can be bought now")
                    },
                );
                p.errors = vec![FieldError::new(
                    "quantity",
                    "insufficient_stock",
                    format!("at most {available}"),
                )];
                p
            }
            Error::CurrencyMismatch => {
                Problem::validation(vec![FieldError::new("variant", "currency_mismatch", text)])
            }
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(Error);
