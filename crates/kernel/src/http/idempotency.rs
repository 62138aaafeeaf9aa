//! `Idempotency-Key` on POST: the first response is stored and replayed to retries; the
//! same key with a different request is a 422; a retry that arrives while the first
//! attempt is still running waits for its answer. Rows live in each service's schema.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::Problem;
use crate::auth::{VerifierHandle, bearer_token};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

const MAX_BODY: usize = 1024 * 1024;
/// How long a retry waits at most for a first attempt still under way to answer,
/// before it is told to come back (409 `idempotency_key_in_progress`, `Retry-After`).
const WAIT_FOR_FIRST: Duration = Duration::from_secs(5);

/// The layer's state: where keys are kept, and how long a first attempt may run.
#[derive(Clone)]
pub struct Keys {
    pool: PgPool,
    /// No handler outlives the service's request timeout (its timeout layer drops
    /// it), so a first attempt unanswered for longer has died with its process: a
    /// retry takes its key over then, not minutes later.
    abandoned_after: Duration,
    /// Within the retry's own time limit, so it answers rather than times out.
    wait_for_first: Duration,
}

impl Keys {
    pub fn new(pool: PgPool, request_timeout: Duration) -> Self {
        Self {
            pool,
            abandoned_after: request_timeout + Duration::from_secs(1),
            wait_for_first: WAIT_FOR_FIRST.min(request_timeout / 2),
        }
    }
}
/// Response headers worth replaying.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::RETRY_AFTER];

type Stored = (
    Vec<u8>,
    Option<i16>,
    Option<serde_json::Value>,
    Option<Vec<u8>>,
);

pub async fn idempotency(State(keys): State<Keys>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_owned(),
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    match run(&keys, key, req, next).await {
        Ok(res) => res,
        Err(p) => p.into_response(),
    }
}

/// Keys are scoped to the caller, by something only that caller holds: the user of a
/// valid access token, or the digest of a guest's cart token. A caller with neither has
/// no scope of its own, so its keys are not honoured (answers are never shared).
async fn principal(headers: &HeaderMap, verifier: Option<VerifierHandle>) -> Option<String> {
    if let Some(token) = bearer_token(headers) {
        let VerifierHandle(v) = verifier?;
        return v
            .verify(token)
            .await
            .ok()
            .map(|c| format!("user:{}", c.sub));
    }
    let cart = headers.get(&CART_TOKEN).filter(|t| !t.is_empty())?;
    Some(format!(
        "cart:{}",
        hex::encode(Sha256::digest(cart.as_bytes()))
    ))
}

/// A guest cart's key (`Cart-Token`), the one secret an anonymous caller holds.
static CART_TOKEN: HeaderName = HeaderName::from_static("cart-token");

async fn run(keys: &Keys, key: String, req: Request, next: Next) -> Result<Response, Problem> {
    let pool = &keys.pool;
    let verifier = req.extensions().get::<VerifierHandle>().cloned();
    let Some(principal) = principal(req.headers(), verifier).await else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The body is larger than this endpoint accepts",
        )
    })?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    hasher.update(parts.uri.to_string());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash = hasher.finalize().to_vec();

    let claimed = claim(keys, &principal, &key, &request_hash).await?;
    if !claimed {
        return wait_for_first(keys, &principal, &key, &request_hash).await;
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (res_parts, res_body) = res.into_parts();
    let body = to_bytes(res_body, usize::MAX)
        .await
        .map_err(|e| Problem::internal(&e))?;
    if !worth_replaying(res_parts.status, &res_parts.headers) {
        // Let a retry run the request again rather than replay a transient failure, a
        // refusal that may not hold next time, or an answer too sensitive to keep.
        sqlx::query("DELETE FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2")
            .bind(&principal)
            .bind(&key)
            .execute(pool)
            .await?;
    } else {
        let headers: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
            .iter()
            .filter_map(|h| {
                let v = res_parts.headers.get(h)?.to_str().ok()?;
                Some((h.as_str().to_owned(), v.into()))
            })
            .collect();
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, response_headers = $4, response_body = $5
             WHERE principal = $1 AND idempotency_key = $2",
        )
        .bind(&principal)
        .bind(&key)
        .bind(i16::try_from(res_parts.status.as_u16()).unwrap_or(500))
        .bind(serde_json::Value::Object(headers))
        .bind(body.as_ref())
        .execute(pool)
        .await?;
    }
    Ok(Response::from_parts(res_parts, Body::from(body)))
}

/// Answers kept for replay: deterministic outcomes only. Server errors, timeouts,
/// throttling and authentication refusals may differ on the next try, and answers marked
/// `Cache-Control: no-store` (token responses) must never be written down.
fn worth_replaying(status: StatusCode, headers: &HeaderMap) -> bool {
    let no_store = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    let transient =
        status.is_server_error() || matches!(status.as_u16(), 401 | 403 | 408 | 425 | 429);
    !(no_store || transient)
}

async fn claim(keys: &Keys, principal: &str, key: &str, hash: &[u8]) -> Result<bool, Problem> {
    let pool = &keys.pool;
    // Take over a claim whose first attempt died without answering.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2
         AND status_code IS NULL AND created_at < now() - make_interval(secs => $3)",
    )
    .bind(principal)
    .bind(key)
    .bind(keys.abandoned_after.as_secs_f64())
    .execute(pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash)
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(principal)
    .bind(key)
    .bind(hash)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

async fn wait_for_first(
    keys: &Keys,
    principal: &str,
    key: &str,
    hash: &[u8],
) -> Result<Response, Problem> {
    let pool = &keys.pool;
    let deadline = tokio::time::Instant::now() + keys.wait_for_first;
    loop {
        let row: Option<Stored> = sqlx::query_as(
            "SELECT request_hash, status_code, response_headers, response_body
             FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2",
        )
        .bind(principal)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        match row {
            Some((stored_hash, _, _, _)) if stored_hash != hash => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request",
                ));
            }
            Some((_, Some(status), headers, body)) => {
                return Ok(replay(status, headers, body.unwrap_or_default()));
            }
            // The first attempt failed with a 5xx and released the key: run again.
            None => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_in_progress",
                    "The first request with this key failed; retry it",
                )
                .retry_after(1));
            }
            Some(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
                "A request with this Idempotency-Key is still being processed",
            )
            .retry_after(1));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn replay(status: i16, headers: Option<serde_json::Value>, body: Vec<u8>) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut map = HeaderMap::new();
    if let Some(serde_json::Value::Object(h)) = headers {
        for (name, value) in h {
            if let (Ok(n), Some(Ok(v))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                map.insert(n, v);
            }
        }
    }
    map.insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    (status, map, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deterministic_storable_answers_are_replayed() {
        let plain = HeaderMap::new();
        assert!(worth_replaying(StatusCode::CREATED, &plain));
        assert!(worth_replaying(StatusCode::CONFLICT, &plain));
        assert!(worth_replaying(StatusCode::UNPROCESSABLE_ENTITY, &plain));
        assert!(!worth_replaying(StatusCode::TOO_MANY_REQUESTS, &plain));
        assert!(!worth_replaying(StatusCode::UNAUTHORIZED, &plain));
        assert!(!worth_replaying(StatusCode::BAD_GATEWAY, &plain));
        let mut secret = HeaderMap::new();
        secret.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert!(!worth_replaying(StatusCode::OK, &secret));
    }
}
