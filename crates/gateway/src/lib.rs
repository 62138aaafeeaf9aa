//! `emporium gateway`: the one public entry of the distributed mode. It routes by path
//! to each service's replicas (`proxy`, `upstream`), never exposes `/internal/…`,
//! stamps every request with an `X-Request-Id` and a W3C `traceparent`, logs it, and
//! answers its own `/health`, `/ready` and `/metrics`.

mod breaker;
mod config;
mod document;
mod edge;
mod limits;
mod proxy;
mod routes;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::auth::Verifier;
use kernel::http::Problem;
use kernel::http::middleware::REQUEST_ID;
use kernel::telemetry::trace::{self, TRACEPARENT, TraceParent};
use serde_json::json;
use tokio::time::Instant;
use tracing::Instrument;

pub use config::GatewayConfig;
pub use upstream::HealthPolicy;

use document::Documents;
use edge::{Edge, IdentityKeys};
use limits::Limiter;
use proxy::Proxy;
use routes::{Destination, Routes};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

struct Gateway {
    routes: Arc<Routes>,
    proxy: Proxy,
    edge: Arc<Edge>,
    documents: Arc<Documents>,
}

/// The gateway's application: its own endpoints, then everything else checked at the
/// edge and forwarded.
pub fn router(config: GatewayConfig) -> anyhow::Result<Router> {
    // Install the recorder before the first request so no sample is lost.
    kernel::telemetry::metrics();
    let routes = Arc::new(Routes::new(&config)?);
    // At zero from the start, so rates and alerts see every upstream.
    for upstream in routes.upstreams() {
        metrics::counter!("gateway_upstream_refusals_total", "upstream" => upstream.name.clone())
            .increment(0);
    }
    let proxy = Proxy::new(config.connect_timeout, config.retry_buffer_bytes);
    let verifier = routes.upstream("identity").is_some().then(|| {
        Verifier::new(Box::new(IdentityKeys {
            proxy: proxy.clone(),
            routes: routes.clone(),
        }))
    });
    let edge = Arc::new(Edge {
        verifier,
        limiter: Limiter::new(
            limits::default_rules(config.rate_limits),
            config.redis_url.as_deref(),
            &config.namespace,
        )?,
        trusted_proxies: config.trusted_proxies.clone(),
    });
    let gateway = Gateway {
        routes,
        proxy,
        edge,
        documents: Arc::new(Documents::default()),
    };
    let router = Router::new()
        .route("/health", axum::routing::get(health))
        .route("/ready", axum::routing::get(ready))
        .route("/metrics", axum::routing::get(metrics))
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(forward)
        // One shared state: extracting it per request clones an `Arc`, not the
        // client and every handle inside.
        .with_state(Arc::new(gateway))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(CompressionLayer::new().gzip(true))
        // The body limit's and CORS's bare refusals become problem+json too.
        .layer(axum::middleware::from_fn(
            kernel::http::middleware::refusals_as_problems,
        ));
    Ok(match cors(&config.cors_origins)? {
        Some(cors) => router.layer(cors),
        None => router,
    })
}

/// Browsers on these origins may call the API (with credentials: the session cookie).
fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o)
                .map_err(|_| anyhow::anyhow!("GATEWAY_CORS_ORIGINS: {o:?} is not an origin"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                REQUEST_ID.clone(),
            ])
            .expose_headers([REQUEST_ID.clone(), header::RETRY_AFTER])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

async fn forward(State(gateway): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (req, request_id) = stamp_request_id(req);
    let (req, part) = continue_trace(req, &request_id, &method, &path);
    let client = gateway.edge.client(peer, req.headers());
    let (upstream_name, mut response) = match gateway.routes.destination(&path) {
        Destination::Hidden => (None, Problem::no_such_resource().into_response()),
        Destination::Upstream { upstream, timeout } => (
            Some(upstream.name.as_str()),
            async {
                match gateway
                    .edge
                    .admit(&method, &path, req.headers(), &client)
                    .await
                {
                    Ok(()) => gateway.proxy.forward(upstream, req, peer, timeout).await,
                    Err(refusal) => refusal,
                }
            }
            .instrument(part.span().clone())
            .await,
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    let status = response.status().as_u16();
    let target = upstream_name.unwrap_or("gateway");
    part.end_request(&method, target, status, started.elapsed());
    part.span().in_scope(|| {
        tracing::info!(
            target: "access",
            %method,
            path,
            status,
            upstream = upstream_name.unwrap_or("-"),
            elapsed_ms = started.elapsed().as_millis() as u64,
            request_id,
            client,
        );
    });
    response
}

/// Gives the request an id when the caller sent none.
fn stamp_request_id(mut req: Request) -> (Request, String) {
    let headers = req.headers_mut();
    let request_id = match headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(id) if !id.is_empty() && id.len() <= 128 => id.to_owned(),
        _ => {
            let id = uuid::Uuid::now_v7().simple().to_string();
            if let Ok(v) = HeaderValue::from_str(&id) {
                headers.insert(REQUEST_ID.clone(), v);
            }
            id
        }
    };
    (req, request_id)
}

/// The request's part of the trace: a child of the caller's valid `traceparent`, or the
/// first part of a new trace. The service it goes to continues from this part (or, when
/// spans are not exported, from the caller's context unchanged).
fn continue_trace(
    mut req: Request,
    request_id: &str,
    method: &Method,
    path: &str,
) -> (Request, trace::Part) {
    let headers = req.headers_mut();
    let part = trace::request(request_id, method, path, TraceParent::from_headers(headers));
    let onward = part.onward().unwrap_or_else(TraceParent::new_root);
    if let Ok(v) = HeaderValue::from_str(&onward.to_string()) {
        headers.insert(TRACEPARENT.clone(), v);
    }
    (req, part)
}

/// The public API's one document, merged from the services'.
async fn openapi(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway
        .documents
        .merged(&gateway.proxy, &gateway.routes)
        .await
    {
        Some(doc) => axum::Json(doc.as_ref().clone()).into_response(),
        None => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
            "No service answered with its API document",
        )
        .retry_after(5)
        .into_response(),
    }
}

async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// Ready when every upstream has a replica answering its `/health` and its breaker
/// lets calls through.
async fn ready(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ok = true;
    for upstream in gateway.routes.upstreams() {
        let answering = gateway.proxy.any_replica_healthy(upstream).await;
        let state = upstream.breaker.state();
        let up = answering && state != breaker::State::Open;
        ok &= up;
        checks.insert(
            format!("upstream:{}", upstream.name),
            json!(if up { "ok" } else { "down" }),
        );
    }
    kernel::http::ops::readiness(ok, checks)
}

/// The process's metrics, with each upstream's breaker state and replicas in rotation
/// read fresh.
async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    for upstream in gateway.routes.upstreams() {
        metrics::gauge!("gateway_breaker_state", "upstream" => upstream.name.clone())
            .set(upstream.breaker.state().gauge());
        metrics::gauge!("gateway_replicas_in_rotation", "upstream" => upstream.name.clone())
            .set(upstream.healthy_replicas() as f64);
    }
    kernel::http::ops::exposition()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[test]
    fn requests_without_an_id_or_trace_get_both_and_keep_their_own() {
        let (req, id) = stamp_request_id(Request::new(Body::empty()));
        let (req, _) = continue_trace(req, &id, &Method::GET, "/");
        assert_eq!(req.headers()[&REQUEST_ID], id.as_str());
        assert!(TraceParent::from_headers(req.headers()).is_some());
        let mut own = Request::new(Body::empty());
        own.headers_mut()
            .insert(REQUEST_ID.clone(), HeaderValue::from_static("abc"));
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        own.headers_mut()
            .insert(TRACEPARENT.clone(), HeaderValue::from_static(trace));
        let (req, id) = stamp_request_id(own);
        let (req, _) = continue_trace(req, &id, &Method::GET, "/");
        assert_eq!(id, "abc");
        assert_eq!(req.headers()[&TRACEPARENT], trace);
    }
}
