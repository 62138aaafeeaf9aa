//! Validators for public reads: a strong `ETag` from the response body, `304 Not
//! Modified` when the client already has it, and `Cache-Control` that lets shared
//! caches keep anonymous answers briefly but never personalised ones.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Anonymous answers may be reused this long by browsers and CDNs.
const PUBLIC_MAX_AGE: &str = "public, max-age=60";
/// Bodies larger than this are passed through without a validator.
const MAX_TAGGED_BODY: usize = 8 * 1024 * 1024;

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// `If-None-Match` may list several tags, or `*`.
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

pub async fn conditional_get(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let personal = req.headers().contains_key(header::AUTHORIZATION);
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.run(req).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TAGGED_BODY).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "response too large to tag",
        )
            .into_response();
    };
    let etag = etag_of(&bytes);
    let cache_control = if personal {
        "private, no-cache"
    } else {
        PUBLIC_MAX_AGE
    };
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    // Answers differ with and without a token.
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Authorization"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    if if_none_match.is_some_and(|inm| matches(&inm, &etag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_follow_the_body_and_match_lists() {
        let a = etag_of(b"{\"x\":1}");
        assert_eq!(a, etag_of(b"{\"x\":1}"));
        assert_ne!(a, etag_of(b"{\"x\":2}"));
        assert!(matches(&a, &a));
        assert!(matches(&format!("\"other\", W/{a}"), &a));
        assert!(matches("*", &a));
        assert!(!matches("\"other\"", &a));
    }
}
