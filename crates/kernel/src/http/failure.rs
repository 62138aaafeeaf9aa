//! The failures every service shares, declared once: each service's `Error` lists only
//! its own refusals beside one `Failure` variant, and `service_error!` gives it the
//! conversions and constructors that would otherwise be copied into every crate.

use super::Problem;

/// What any service can fail with besides its own refusals.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The named resource does not exist, or is not the caller's to see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this; the text says what they may not do.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A refusal already phrased as a problem (validation, a framework rejection).
    #[error(transparent)]
    Problem(#[from] Problem),
    /// The database failed: logged in full, answered without internals.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Anything else that should not happen: logged, answered without internals.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Another service's refusal, passed on as it was phrased (its transport failures as a
/// 503 problem).
impl From<super::client::ClientError> for Failure {
    fn from(e: super::client::ClientError) -> Self {
        Self::Problem(e.into())
    }
}

impl From<Failure> for Problem {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::NotFound(what) => Problem::not_found(what),
            Failure::Forbidden(what) => {
                Problem::new(axum::http::StatusCode::FORBIDDEN, "forbidden", what)
            }
            Failure::Problem(p) => p,
            Failure::Database(e) => Problem::from_database(&e),
            Failure::Internal(e) => match e.downcast_ref::<sqlx::Error>() {
                Some(db) if super::problem::database_unreachable(db) => Problem::from_database(db),
                _ => Problem::internal(&format!("{e:#}")),
            },
        }
    }
}

impl axum::response::IntoResponse for Failure {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// Completes a service's `Error`, which must have a `Failure(kernel::http::Failure)`
/// variant and a `From<Error> for Problem`: `?` then takes database, `anyhow` and
/// problem errors; `Error::not_found("order")`, `Error::forbidden()` (with the
/// service's own wording), `Error::problem(p)` and `Error::internal(e)` build the shared
/// failures; and the error answers as problem+json.
#[macro_export]
macro_rules! service_error {
    ($error:ident, forbidden = $forbidden:literal) => {
        impl $error {
            pub fn forbidden() -> Self {
                Self::Failure($crate::http::Failure::Forbidden($forbidden))
            }
        }

        $crate::service_error!($error);
    };
    ($error:ident) => {
        impl $error {
            pub fn not_found(what: &'static str) -> Self {
                Self::Failure($crate::http::Failure::NotFound(what))
            }

            pub fn problem(problem: $crate::http::Problem) -> Self {
                Self::Failure($crate::http::Failure::Problem(problem))
            }

            pub fn internal(error: impl Into<::anyhow::Error>) -> Self {
                Self::Failure($crate::http::Failure::Internal(error.into()))
            }
        }

        impl From<$crate::http::Problem> for $error {
            fn from(problem: $crate::http::Problem) -> Self {
                Self::problem(problem)
            }
        }

        impl From<::sqlx::Error> for $error {
            fn from(error: ::sqlx::Error) -> Self {
                Self::Failure($crate::http::Failure::Database(error))
            }
        }

        impl From<::anyhow::Error> for $error {
            fn from(error: ::anyhow::Error) -> Self {
                Self::internal(error)
            }
        }

        impl ::axum::response::IntoResponse for $error {
            fn into_response(self) -> ::axum::response::Response {
                ::axum::response::IntoResponse::into_response($crate::http::Problem::from(self))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shared_failure_answers_with_its_stable_code() {
        let cases = [
            (Failure::NotFound("order"), 404, "not_found"),
            (Failure::Forbidden("not yours"), 403, "forbidden"),
            (Failure::Problem(Problem::forbidden()), 403, "forbidden"),
            (
                Failure::Database(sqlx::Error::RowNotFound),
                500,
                "internal_error",
            ),
            (
                Failure::Internal(anyhow::anyhow!("boom")),
                500,
                "internal_error",
            ),
        ];
        for (failure, status, code) in cases {
            let p = Problem::from(failure);
            assert_eq!((p.status, p.code.as_str()), (status, code));
        }
    }

    #[test]
    fn internals_never_reach_the_caller() {
        let p = Problem::from(Failure::Internal(anyhow::anyhow!("password=hunter2")));
        assert!(!serde_json::to_string(&p).unwrap().contains("hunter2"));
    }
}
