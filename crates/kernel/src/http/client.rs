//! Typed clients talk to other services through a `tower::Service`: the callee's own
//! router when it runs in this process, a pooled HTTP connection when it does not.
//! Both paths send the same `http::Request`, so callers cannot tell the difference.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::Problem;
use super::middleware::{REQUEST_ID, current_request_id};
use crate::telemetry::trace;
use opentelemetry::trace::SpanKind;

const MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// The largest request a client sends (a catalog CSV import, 10 MiB, with framing).
const MAX_REQUEST: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The callee answered with a problem (4xx or 5xx).
    #[error("{0}")]
    Problem(Problem),
    #[error("{service} is unreachable: {reason}")]
    Transport {
        service: &'static str,
        reason: String,
    },
    #[error("{service} sent an unexpected answer: {reason}")]
    Decode {
        service: &'static str,
        reason: String,
    },
}

impl From<ClientError> for Problem {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Problem(p) => p,
            other => {
                tracing::error!(error = %other, "upstream call failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream_unavailable",
                    "A service we depend on is unavailable",
                )
                .retry_after(5)
            }
        }
    }
}

/// Percent-encodes one path segment (an id or slug a caller passes on).
pub fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

type Svc = BoxCloneSyncService<Request<Body>, Response<Body>, ClientError>;

#[derive(Clone)]
pub struct ServiceClient {
    service: &'static str,
    inner: Svc,
    /// Presented on every call so `/internal/…` endpoints know a service is calling.
    internal_secret: Option<HeaderValue>,
}

impl ServiceClient {
    /// Calls any in-process `tower::Service` (the platform's lazily bound router).
    pub fn in_process_service<S>(service: &'static str, inner: S) -> Self
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = ClientError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Self {
            service,
            inner: BoxCloneSyncService::new(inner),
            internal_secret: None,
        }
    }

    /// Calls the service over HTTP at `base_urls`: one address (`http://10.0.0.5:8080`,
    /// or a Kubernetes Service that balances itself) or several replicas separated by
    /// commas, which calls take in turn. A replica that refuses the connection is
    /// skipped for the next one: the request never reached it, so sending it again is
    /// safe whatever the method.
    pub fn remote(service: &'static str, base_urls: &str, timeout: Duration) -> Self {
        let client: Client<_, Body> = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build_http();
        let bases: Arc<[String]> = base_urls
            .split(',')
            .map(|b| b.trim().trim_end_matches('/').to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        let next = Arc::new(AtomicUsize::new(0));
        let inner = tower::service_fn(move |req: Request<Body>| {
            let (client, bases, next) = (client.clone(), bases.clone(), next.clone());
            let transport = move |reason: String| ClientError::Transport { service, reason };
            async move {
                let (parts, body) = req.into_parts();
                // Our own requests, already in memory: kept so another replica can
                // be tried.
                let body = to_bytes(body, MAX_REQUEST)
                    .await
                    .map_err(|e| transport(e.to_string()))?;
                let path = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned();
                let start = next.fetch_add(1, Ordering::Relaxed);
                let mut refused = "no address configured".to_owned();
                for i in 0..bases.len() {
                    let base = &bases[(start + i) % bases.len()];
                    let mut req = Request::from_parts(parts.clone(), Body::from(body.clone()));
                    *req.uri_mut() = format!("{base}{path}")
                        .parse::<Uri>()
                        .map_err(|e| transport(e.to_string()))?;
                    match tokio::time::timeout(timeout, client.request(req)).await {
                        Err(_) => return Err(transport("timed out".into())),
                        Ok(Err(e)) if e.is_connect() => refused = format!("{base}: {e}"),
                        Ok(Err(e)) => return Err(transport(e.to_string())),
                        Ok(Ok(res)) => return Ok(res.map(Body::new)),
                    }
                }
                Err(transport(refused))
            }
        });
        Self {
            service,
            inner: BoxCloneSyncService::new(inner),
            internal_secret: None,
        }
    }

    /// Presents `secret` (`INTERNAL_API_SECRET`) on every call.
    pub fn with_internal_secret(mut self, secret: &str) -> Self {
        self.internal_secret = HeaderValue::from_str(secret).ok();
        self
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            builder: Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PATCH, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    pub async fn send(&self, req: Request<Body>) -> Result<Response<Body>, ClientError> {
        self.inner.clone().oneshot(req).await
    }
}

pub struct RequestBuilder<'a> {
    client: &'a ServiceClient,
    builder: http::request::Builder,
    body: Body,
}

impl RequestBuilder<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.builder = self.builder.header(name, v);
        }
        self
    }

    pub fn json<T: Serialize>(mut self, body: &T) -> Self {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// A body already encoded, e.g. a multipart upload being passed on.
    pub fn body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            self.builder = self.builder.header(header::CONTENT_TYPE, v);
        }
        self.body = Body::from(bytes);
        self
    }

    async fn execute(self) -> Result<(StatusCode, bytes::Bytes), ClientError> {
        let service = self.client.service;
        let method = self.builder.method_ref().cloned();
        let name = || format!("{} {service}", method.as_ref().map_or("", Method::as_str));
        // Built (and named) only when the trace it is part of is recorded.
        let part = trace::Part::call(|| {
            tracing::info_span!(
                "call",
                otel.name = %name(),
                otel.kind = "client",
                peer.service = service,
                http.request.method = method.as_ref().map_or("", Method::as_str),
                otel.status_code = tracing::field::Empty,
            )
        });
        let started = std::time::Instant::now();
        let outcome = part.run(self.call(part.onward())).await;
        if outcome
            .as_ref()
            .is_err_and(|e| !matches!(e, ClientError::Problem(p) if p.status < 500))
        {
            part.failed(name, SpanKind::Client, started.elapsed());
        }
        outcome
    }

    async fn call(
        self,
        trace_context: Option<trace::TraceParent>,
    ) -> Result<(StatusCode, bytes::Bytes), ClientError> {
        let service = self.client.service;
        let mut builder = self.builder;
        if let Some(id) = current_request_id() {
            builder = builder.header(REQUEST_ID.clone(), id);
        }
        if let Some(parent) = trace_context {
            builder = builder.header(trace::TRACEPARENT.clone(), parent.to_string());
        }
        if let Some(secret) = &self.client.internal_secret {
            builder = builder.header(crate::auth::INTERNAL_SECRET_HEADER.clone(), secret);
        }
        let req = builder
            .body(self.body)
            .map_err(|e| ClientError::Transport {
                service,
                reason: e.to_string(),
            })?;
        let res = self.client.send(req).await?;
        let status = res.status();
        let bytes =
            to_bytes(res.into_body(), MAX_RESPONSE)
                .await
                .map_err(|e| ClientError::Transport {
                    service,
                    reason: e.to_string(),
                })?;
        if status.is_client_error() || status.is_server_error() {
            let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| {
                Problem::new(
                    status,
                    "upstream_error",
                    "The service answered with an error",
                )
            });
            return Err(ClientError::Problem(problem));
        }
        Ok((status, bytes))
    }

    /// Sends and decodes a JSON answer.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        let service = self.client.service;
        let (_, bytes) = self.execute().await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            service,
            reason: e.to_string(),
        })
    }

    /// Sends and returns the answer's body as it came (e.g. a CSV file).
    pub async fn send_bytes(self) -> Result<bytes::Bytes, ClientError> {
        self.execute().await.map(|(_, bytes)| bytes)
    }

    /// Sends and expects no body worth reading (e.g. `204`).
    pub async fn send_empty(self) -> Result<(), ClientError> {
        self.execute().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn replica(name: &'static str) -> String {
        let app =
            axum::Router::new().route("/who", axum::routing::post(move || async move { name }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn calls_take_turns_round_the_replicas_and_skip_one_that_refuses() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let urls = format!("{},{dead}, {}", replica("a").await, replica("b").await);
        let client = ServiceClient::remote("test", &urls, Duration::from_secs(5));
        let mut seen = Vec::new();
        for _ in 0..6 {
            let bytes = client
                .post("/who")
                .json(&"hello")
                .send_bytes()
                .await
                .unwrap();
            seen.push(String::from_utf8(bytes.to_vec()).unwrap());
        }
        assert_eq!(seen, ["a", "b", "b", "a", "b", "b"]);
        let none = ServiceClient::remote("test", &dead, Duration::from_secs(5));
        assert!(matches!(
            none.post("/who").send_bytes().await,
            Err(ClientError::Transport { .. })
        ));
    }
}
