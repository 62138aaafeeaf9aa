//! Forwards a request to an upstream's replicas: through its breaker, round the
//! replicas, within the route's time limit, retrying on another replica only what is
//! safe to send twice (idempotent methods, whose body is buffered for the purpose).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{self, CONNECTION, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use axum::response::IntoResponse;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kernel::http::Problem;
use tokio::time::Instant;

use crate::breaker::Permit;
use crate::upstream::{Replica, Upstream};

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

static FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// How long `/ready` waits for a replica's `/health`.
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Replicas tried for one call at most (the first and two retries).
const MAX_ATTEMPTS: usize = 3;

#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpConnector, Body>,
    /// The largest body buffered so an idempotent request can be retried; larger ones
    /// are streamed and sent once.
    retry_buffer: usize,
}

impl Proxy {
    pub fn new(connect_timeout: Duration, retry_buffer: usize) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            client,
            retry_buffer,
        }
    }

    /// Sends `req` to `upstream`, answering a problem when it cannot.
    pub async fn forward(
        &self,
        upstream: &Upstream,
        req: Request<Body>,
        peer: SocketAddr,
        timeout: Duration,
    ) -> Response<Body> {
        let probe = match upstream.breaker.permit() {
            Permit::Call => false,
            Permit::Probe => true,
            Permit::Refuse(wait) => {
                metrics::counter!("gateway_upstream_refusals_total", "upstream" => upstream.name.clone())
                    .increment(1);
                return unavailable(&upstream.name, wait);
            }
        };
        let started = Instant::now();
        let deadline = started + timeout;
        let (mut parts, body) = req.into_parts();
        prepare_headers(&mut parts.headers, peer);
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        // Only what is safe to send twice is retried, and only if it fits in memory.
        let (replayable, mut body) =
            if is_idempotent(&parts.method) && known_small(&parts.headers, self.retry_buffer) {
                match axum::body::to_bytes(body, self.retry_buffer).await {
                    Ok(bytes) => (Some(bytes), None),
                    Err(_) => {
                        return Problem::new(
                            StatusCode::BAD_REQUEST,
                            "unreadable_body",
                            "The request body could not be read",
                        )
                        .into_response();
                    }
                }
            } else {
                (None, Some(body))
            };
        let candidates = upstream.candidates();
        let attempts = if replayable.is_some() {
            candidates.len().min(MAX_ATTEMPTS)
        } else {
            1
        };
        let mut outcome = Outcome::Unreachable;
        for replica in candidates.into_iter().take(attempts) {
            let body = match (&replayable, body.take()) {
                (Some(bytes), _) => Body::from(bytes.clone()),
                (None, Some(body)) => body,
                (None, None) => break,
            };
            let mut request = Request::from_parts(parts.clone(), body);
            *request.uri_mut() = match upstream_uri(replica, &path_and_query) {
                Ok(uri) => uri,
                Err(_) => return Problem::no_such_resource().into_response(),
            };
            outcome = self.attempt(upstream, replica, request, deadline).await;
            if !outcome.worth_another_replica() {
                break;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        metrics::histogram!("gateway_upstream_duration_seconds", "upstream" => upstream.name.clone())
            .record(elapsed);
        match outcome {
            Outcome::Answered(response) => {
                upstream.breaker.succeeded();
                count(upstream, response.status().as_str());
                response
            }
            Outcome::Failed(response) => {
                upstream.breaker.failed();
                count(upstream, response.status().as_str());
                response
            }
            Outcome::TimedOut => {
                upstream.breaker.failed();
                count(upstream, "timeout");
                Problem::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    "The service took too long to answer",
                )
                .detail(format!(
                    "{} did not answer within {timeout:?}",
                    upstream.name
                ))
                .into_response()
            }
            Outcome::Unreachable => {
                upstream.breaker.failed();
                count(upstream, "unreachable");
                if probe {
                    tracing::warn!(upstream = %upstream.name, "probe failed: circuit stays open");
                }
                unavailable(&upstream.name, Duration::from_secs(1))
            }
        }
    }

    /// True when one of the upstream's replicas answers its `/health` in time (asked
    /// in their listed order: readiness checks do not move the rotation).
    pub async fn any_replica_healthy(&self, upstream: &Upstream) -> bool {
        for replica in &upstream.replicas {
            let Ok(uri) = upstream_uri(replica, "/health") else {
                continue;
            };
            let mut request = Request::new(Body::empty());
            *request.uri_mut() = uri;
            if let Ok(Ok(response)) =
                tokio::time::timeout(READY_PROBE_TIMEOUT, self.client.request(request)).await
                && response.status().is_success()
            {
                return true;
            }
        }
        false
    }

    /// The body of `GET path` on `upstream` (through its breaker and replicas), for
    /// the gateway's own needs: identity's keys, the services' API documents.
    pub async fn get_bytes(
        &self,
        upstream: &Upstream,
        path: &'static str,
        timeout: Duration,
        limit: usize,
    ) -> anyhow::Result<axum::body::Bytes> {
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::from_static(path);
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let response = self.forward(upstream, request, local, timeout).await;
        anyhow::ensure!(
            response.status().is_success(),
            "{} answered {} for {path}",
            upstream.name,
            response.status()
        );
        Ok(axum::body::to_bytes(response.into_body(), limit).await?)
    }

    async fn attempt(
        &self,
        upstream: &Upstream,
        replica: &Replica,
        request: Request<Body>,
        deadline: Instant,
    ) -> Outcome {
        match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Err(_) => {
                upstream.replica_failed(replica);
                Outcome::TimedOut
            }
            Ok(Err(e)) => {
                tracing::warn!(upstream = %upstream.name, replica = %replica.authority, error = %e, "replica unreachable");
                upstream.replica_failed(replica);
                Outcome::Unreachable
            }
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let response = Response::from_parts(parts, Body::new(body));
                // A replica that cannot serve (its own dependencies down, shutting
                // down) counts against it; any other answer is the service's word,
                // including a 503 with `Retry-After`: a live replica saying when this
                // one request may be asked again (a checkout still being finished),
                // which must not take the whole service out.
                let deliberate = response.headers().contains_key(header::RETRY_AFTER);
                if matches!(
                    response.status(),
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE
                ) && !deliberate
                {
                    upstream.replica_failed(replica);
                    Outcome::Failed(response)
                } else {
                    upstream.replica_succeeded(replica);
                    Outcome::Answered(response)
                }
            }
        }
    }
}

enum Outcome {
    Answered(Response<Body>),
    /// The replica answered that it cannot serve.
    Failed(Response<Body>),
    TimedOut,
    Unreachable,
}

impl Outcome {
    fn worth_another_replica(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::Unreachable)
    }
}

fn count(upstream: &Upstream, status: &str) {
    metrics::counter!(
        "gateway_upstream_requests_total",
        "upstream" => upstream.name.clone(),
        "status" => status.to_owned()
    )
    .increment(1);
}

/// Whole seconds for `Retry-After`, never less than `wait` nor less than one.
pub fn retry_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// 503 problem+json telling the caller when to come back.
fn unavailable(upstream: &str, wait: Duration) -> Response<Body> {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
        "A service we depend on is unavailable",
    )
    .detail(format!("{upstream} is not answering; try again shortly"))
    .retry_after(retry_seconds(wait))
    .into_response()
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// True when the body is declared and fits the retry buffer (or there is none).
fn known_small(headers: &HeaderMap, limit: usize) -> bool {
    match headers.get(axum::http::header::CONTENT_LENGTH) {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n <= limit),
        None => !headers.contains_key(axum::http::header::TRANSFER_ENCODING),
    }
}

fn upstream_uri(replica: &Replica, path_and_query: &str) -> Result<Uri, axum::http::Error> {
    Uri::builder()
        .scheme("http")
        .authority(replica.authority.clone())
        .path_and_query(path_and_query)
        .build()
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    for name in named
        .iter()
        .map(String::as_str)
        .chain(HOP_BY_HOP.iter().copied())
    {
        headers.remove(name);
    }
}

/// Hop-by-hop headers out; who called, over what and for which host in.
fn prepare_headers(headers: &mut HeaderMap, peer: SocketAddr) {
    strip_hop_by_hop(headers);
    let forwarded_for = match headers.get(&FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        headers.insert(FORWARDED_FOR.clone(), v);
    }
    if !headers.contains_key(&FORWARDED_PROTO) {
        headers.insert(FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    }
    if let Some(host) = headers.remove(HOST) {
        headers.entry(FORWARDED_HOST.clone()).or_insert(host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("accept", HeaderValue::from_static("text/html"));
        h.insert(HOST, HeaderValue::from_static("shop.example"));
        prepare_headers(&mut h, "10.1.2.3:5555".parse().unwrap());
        assert!(h.get("x-secret-hop").is_none() && h.get("keep-alive").is_none());
        assert!(h.get(CONNECTION).is_none());
        assert_eq!(h["accept"], "text/html");
        assert_eq!(h["x-forwarded-for"], "10.1.2.3");
        assert_eq!(h["x-forwarded-host"], "shop.example");
        assert!(h.get(HOST).is_none(), "the client sets the upstream's own");
    }

    #[test]
    fn forwarded_for_keeps_earlier_hops() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        prepare_headers(&mut h, "10.1.2.3:5555".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 10.1.2.3");
    }

    #[test]
    fn only_idempotent_methods_with_small_bodies_are_replayed() {
        assert!(is_idempotent(&Method::GET) && is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
        let mut h = HeaderMap::new();
        assert!(known_small(&h, 10));
        h.insert("content-length", HeaderValue::from_static("11"));
        assert!(!known_small(&h, 10));
        h.insert("content-length", HeaderValue::from_static("10"));
        assert!(known_small(&h, 10));
        h.remove("content-length");
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        assert!(!known_small(&h, 10));
    }
}
