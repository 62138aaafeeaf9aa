//! RFC 9457 problem details: every error a client sees has a stable `code` and, for
//! invalid input, the offending fields.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// `urn:emporium:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable error code.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Per-field validation failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `email` or `addresses[2].country`.
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: impl Into<String>) -> Self {
        Self {
            type_uri: format!("urn:emporium:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request has invalid fields",
        );
        p.errors = errors;
        p
    }

    /// 409: a unique value (a slug, a code, a name) is already in use. A conflict with
    /// what is stored, not a fault of the request's shape; `field` says which.
    pub fn taken(field: &str, code: &str, message: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::CONFLICT, code, "Already in use");
        p.errors = vec![FieldError::new(field, code, message)];
        p
    }

    /// A path that names nothing: no route, an id that cannot be one, or an internal
    /// route asked for without the service credential (hidden as if absent).
    pub fn no_such_resource() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized(code: &str, title: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, title)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You are not allowed to do this",
        )
    }

    /// An unexpected failure: logged in full, reported without internals.
    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side",
        )
    }

    /// A refusal that came without a code of its own (a framework rejection, a bare
    /// status): the stable code of its status (`code_for_status`), its reason as title.
    pub fn for_status(status: StatusCode) -> Self {
        Self::new(
            status,
            code_for_status(status),
            status.canonical_reason().unwrap_or("Request refused"),
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The stable code of a refusal known only by its status.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        410 => "gone",
        411 => "length_required",
        412 => "precondition_failed",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        416 => "range_not_satisfiable",
        417 => "expectation_failed",
        422 => "unprocessable_entity",
        428 => "precondition_required",
        429 => "too_many_requests",
        431 => "request_header_fields_too_large",
        500 => "internal_error",
        501 => "not_implemented",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        s if s < 500 => "client_error",
        _ => "server_error",
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Self {
        Self::from_database(&err)
    }
}

impl Problem {
    /// A database failure: 503 `database_unavailable` with `Retry-After` when the
    /// server is unreachable or restarting (the request may simply be sent again),
    /// 500 otherwise.
    pub fn from_database(err: &sqlx::Error) -> Self {
        if !database_unreachable(err) {
            return Self::internal(err);
        }
        tracing::warn!(error = %err, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "Our database is unavailable for a moment",
        )
        .retry_after(1)
    }
}

/// Whether `err` says the server could not be reached or is shutting down or
/// starting (SQLSTATE class 08, 57P01–57P03), rather than that a statement failed.
pub fn database_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.title)
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_a_503_to_retry_and_a_failed_statement_a_500() {
        let away = Problem::from(sqlx::Error::PoolTimedOut);
        assert_eq!(
            (away.status, away.code.as_str()),
            (503, "database_unavailable")
        );
        assert_eq!(away.retry_after, Some(1));
        let broken = Problem::from(sqlx::Error::RowNotFound);
        assert_eq!(
            (broken.status, broken.code.as_str()),
            (500, "internal_error")
        );
    }

    #[test]
    fn serialises_as_rfc9457_with_code_and_fields() {
        let p = Problem::validation(vec![FieldError::new("email", "invalid", "not an email")]);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:emporium:problem:validation_failed");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][0]["field"], "email");
        assert!(v.get("detail").is_none());
    }

    #[test]
    fn bare_statuses_get_stable_codes() {
        let p = Problem::for_status(StatusCode::URI_TOO_LONG);
        assert_eq!((p.status, p.code.as_str()), (414, "uri_too_long"));
        assert_eq!(p.type_uri, "urn:emporium:problem:uri_too_long");
        assert_eq!(
            code_for_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            "request_header_fields_too_large"
        );
        assert_eq!(code_for_status(StatusCode::IM_A_TEAPOT), "client_error");
        assert_eq!(code_for_status(StatusCode::LOOP_DETECTED), "server_error");
    }

    #[test]
    fn response_has_problem_content_type_and_retry_after() {
        let res = Problem::new(StatusCode::TOO_MANY_REQUESTS, "throttled", "Slow down")
            .retry_after(30)
            .into_response();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "30");
    }
}
