//! Extractors whose rejections are problem+json: malformed JSON, the wrong content
//! type, an oversized body or unknown fields become clear 4xx answers.

use std::net::IpAddr;

use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::problem::{FieldError, Problem};

/// `axum::Json` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The body is larger than this endpoint accepts",
                )
            } else {
                Problem::new(r.status(), "bad_request", "The body could not be read")
            }
        })?;
        // PostgreSQL text cannot hold NUL; refuse it here rather than fail on insert.
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(Problem::validation(vec![FieldError::new(
                "body",
                "invalid_characters",
                "text must not contain NUL (\\u0000) characters",
            )]));
        }
        from_json_bytes(&bytes).map(Self)
    }
}

/// Deserialises a JSON body the way `axum::Json` does (with the path of a bad field),
/// except that a struct must be written as an object: serde also reads one from an
/// array of its fields in order (`[true]` for `{"enabled": true}`), a form our API
/// never documents, at the top level and in every nested struct.
fn from_json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(objects_only::Strict(&mut de))
        .map_err(|e| deserialize_problem(&e))?;
    de.end().map_err(|e| malformed_json(&e.to_string()))?;
    Ok(value)
}

fn deserialize_problem(err: &serde_path_to_error::Error<serde_json::Error>) -> Problem {
    match err.inner().classify() {
        serde_json::error::Category::Data => {
            let (field, message) = data_error_field(&err.to_string());
            Problem::validation(vec![FieldError::new(field, "invalid", message)])
        }
        _ => malformed_json(&err.to_string()),
    }
}

fn malformed_json(why: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        "The body is not valid JSON",
    )
    .detail(format!("Failed to parse the request body as JSON: {why}"))
}

mod objects_only;

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// serde_path_to_error reports `path: message`; split it so the field is machine-readable.
fn data_error_field(text: &str) -> (String, String) {
    let msg = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    match msg.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && path != "." => {
            (path.to_owned(), rest.to_owned())
        }
        _ => {
            // Missing, unknown and duplicate fields are reported at the root with the
            // name in backticks; anything else at the root is about the body itself.
            let named = ["missing field", "unknown field", "duplicate field"]
                .iter()
                .any(|p| msg.starts_with(p));
            let name = msg.split('`').nth(1).filter(|_| named).unwrap_or("body");
            (name.to_owned(), msg.to_owned())
        }
    }
}

/// `axum::extract::Query` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(rejection) => Err(query_problem(&rejection)),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    let text = rejection.body_text();
    let msg = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text)
        .to_owned();
    let field = msg.split('`').nth(1).unwrap_or("query").to_owned();
    Problem::validation(vec![FieldError::new(field, "invalid", msg)])
}

/// `axum::extract::Path` with problem+json rejections. Path parameters are typed (ids,
/// countries): a value that does not parse names nothing that exists, so it is a 404
/// naming the parameter, never a handler parsing strings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(e))
                if e.status().is_client_error() =>
            {
                Err(path_problem(e.kind()))
            }
            Err(other) => Err(Problem::internal(&other.body_text())),
        }
    }
}

fn path_problem(kind: &PathErrorKind) -> Problem {
    let field = match kind {
        // Not text at all: a malformed request rather than a name for nothing.
        PathErrorKind::InvalidUtf8InPathParam { .. } => {
            return Problem::for_status(StatusCode::BAD_REQUEST).detail(kind.to_string());
        }
        PathErrorKind::ParseErrorAtKey { key, .. }
        | PathErrorKind::DeserializeError { key, .. } => key.as_str(),
        _ => "path",
    };
    let mut problem = Problem::no_such_resource();
    problem.errors = vec![FieldError::new(field, "invalid", kind.to_string())];
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let outsider: IpAddr = "198.51.100.9".parse().unwrap();
        let trusted = [lo];
        // A client talking to us directly cannot pick its own address.
        assert_eq!(
            resolve_client_ip(Some(outsider), Some("10.0.0.1"), &trusted),
            "198.51.100.9"
        );
        // Behind our proxy, the right-most hop the proxy added is the client.
        assert_eq!(
            resolve_client_ip(Some(lo), Some("10.9.9.9, 203.0.113.7"), &trusted),
            "203.0.113.7"
        );
        assert_eq!(resolve_client_ip(Some(lo), None, &trusted), "127.0.0.1");
        assert_eq!(
            resolve_client_ip(Some(lo), Some("junk"), &trusted),
            "127.0.0.1"
        );
        // In-process calls carry the address our front end resolved.
        assert_eq!(
            resolve_client_ip(None, Some("203.0.113.7"), &trusted),
            "203.0.113.7"
        );
        assert_eq!(resolve_client_ip(None, None, &trusted), "unknown");
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Inner {
        a: u32,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Shaped { x: u8 },
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Outer {
        flag: bool,
        inner: Option<Inner>,
        list: Vec<Inner>,
        pair: (u8, u8),
        kind: Kind,
    }

    fn refused_field(body: &[u8]) -> (String, String) {
        let p = from_json_bytes::<Outer>(body).unwrap_err();
        assert_eq!(p.code, "validation_failed", "{p:?}");
        (p.errors[0].field.clone(), p.errors[0].message.clone())
    }

    #[test]
    fn structs_are_read_only_from_objects_at_every_depth() {
        let ok: Outer = from_json_bytes(
            br#"{"flag":true,"inner":{"a":1},"list":[{"a":2}],"pair":[3,4],"kind":{"shaped":{"x":5}}}"#,
        )
        .unwrap();
        assert_eq!(ok.inner, Some(Inner { a: 1 }));
        assert_eq!(
            (ok.list.len(), ok.pair, ok.kind),
            (1, (3, 4), Kind::Shaped { x: 5 })
        );
        // Sequences and tuples are still arrays; top-level arrays of objects too.
        let list: Vec<Inner> = from_json_bytes(br#" [{"a":1}]"#).unwrap();
        assert_eq!(list, vec![Inner { a: 1 }]);

        // The body itself as an array of the fields in order.
        let (field, message) = refused_field(br#"[true, null, [], [1, 2], "plain"]"#);
        assert_eq!(field, "body");
        assert!(message.contains("a JSON object"), "{message}");
        // Or as any other non-object.
        assert_eq!(refused_field(b"true").0, "body");
        assert_eq!(refused_field(b"null").0, "body");
        // Nested structs, in an option, a list and a struct variant.
        let base = |inner: &str, list: &str, kind: &str| {
            format!(r#"{{"flag":true,"inner":{inner},"list":{list},"pair":[1,2],"kind":{kind}}}"#)
        };
        let (field, message) = refused_field(base("[1]", "[]", r#""plain""#).as_bytes());
        assert_eq!(field, "inner");
        assert!(message.contains("a JSON object"), "{message}");
        assert_eq!(
            refused_field(base("null", "[[1]]", r#""plain""#).as_bytes()).0,
            "list[0]"
        );
        assert_eq!(
            refused_field(base("null", "[]", r#"{"shaped":[1]}"#).as_bytes()).0,
            "kind.shaped"
        );
        // Other failures are reported as before.
        assert_eq!(
            refused_field(base(r#"{"a":"x"}"#, "[]", r#""plain""#).as_bytes()).0,
            "inner.a"
        );
        let p = from_json_bytes::<Outer>(b"{").unwrap_err();
        assert_eq!(p.code, "malformed_json");
        let p = from_json_bytes::<Vec<Inner>>(b"[] []").unwrap_err();
        assert_eq!(p.code, "malformed_json");
    }

    #[test]
    fn data_error_paths_become_fields() {
        let (f, _) = data_error_field(
            "Failed to deserialize the JSON body into the target type: email: invalid type: integer `3`, expected a string at line 1 column 10",
        );
        assert_eq!(f, "email");
        let (f, _) = data_error_field(
            "Failed to deserialize the JSON body into the target type: missing field `password` at line 1 column 2",
        );
        assert_eq!(f, "password");
        let (f, _) = data_error_field(
            "Failed to deserialize the JSON body into the target type: unknown field `admin`, expected one of `email`, `name` at line 1 column 9",
        );
        assert_eq!(f, "admin");
    }
}

/// The client's address, used as a throttling key. `X-Forwarded-For` is believed only
/// when it cannot be forged: on in-process calls (made by our own web front end, which
/// resolved the address itself) and when the TCP peer is a trusted proxy
/// (`TRUSTED_PROXIES`); then the right-most untrusted hop is the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

pub static FORWARDED_FOR: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-forwarded-for");

/// The proxies whose `X-Forwarded-For` we believe (installed by the platform).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<IpAddr>>);

pub fn resolve_client_ip(
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    trusted: &[IpAddr],
) -> String {
    let hops = || {
        forwarded
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
    };
    match peer {
        // In-process: the caller is our own code and set the header from a real peer.
        None => hops()
            .next()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        Some(p) if trusted.contains(&p) => hops()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(p)
            .to_string(),
        Some(p) => p.to_string(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get(&FORWARDED_FOR)
            .and_then(|v| v.to_str().ok());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = parts
            .extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_default();
        Ok(Self(resolve_client_ip(peer, forwarded, &trusted.0)))
    }
}

/// Refuses request targets that carry a NUL byte (`%00`): no path or query value we
/// accept may contain one, and PostgreSQL would reject it deep inside a handler.
pub async fn reject_nul(req: Request, next: axum::middleware::Next) -> Response {
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    if target.to_ascii_lowercase().contains("%00") {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_characters",
            "The address contains a NUL character",
        )
        .into_response();
    }
    next.run(req).await
}
