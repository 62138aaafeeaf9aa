//! Operations endpoints: liveness, readiness, metrics, the OpenAPI document and docs.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use sqlx::PgPool;

use crate::events::Bus;
use crate::http::access::{Access, Pages};

#[derive(Clone)]
pub struct OpsState {
    pub pools: Vec<(&'static str, PgPool)>,
    pub bus: Arc<dyn Bus>,
    pub cache: Arc<dyn crate::cache::Cache>,
    pub warmups: Vec<(&'static str, crate::platform::Warmup)>,
    /// The public API's document.
    pub openapi: Arc<String>,
    /// The `/internal/…` operations' document, for services only.
    pub internal_openapi: Arc<String>,
}

pub fn pages(state: OpsState) -> Pages {
    Pages::new(None)
        .get("/health", Access::Anyone, health)
        .get("/ready", Access::Anyone, ready)
        .get("/metrics", Access::Anyone, metrics)
        .get("/openapi.json", Access::Anyone, openapi)
        .get("/internal/openapi.json", Access::Service, internal_openapi)
        .get("/docs", Access::Anyone, docs)
        .get("/docs/rapidoc-min.js", Access::Anyone, rapidoc)
        .with_state(state)
}

async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// Ready when every database this process uses and the event transport answer.
async fn ready(State(state): State<OpsState>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ok = true;
    for (name, pool) in &state.pools {
        let up = crate::db::ping(pool).await;
        ok &= up;
        checks.insert(
            format!("database:{name}"),
            json!(if up { "ok" } else { "down" }),
        );
    }
    let bus_up = state.bus.is_ready().await;
    ok &= bus_up;
    checks.insert(
        format!("events:{}", state.bus.name()),
        json!(if bus_up { "ok" } else { "down" }),
    );
    let cache_up = state.cache.is_ready().await;
    ok &= cache_up;
    checks.insert(
        format!("cache:{}", state.cache.name()),
        json!(if cache_up { "ok" } else { "down" }),
    );
    for (name, warmup) in &state.warmups {
        let done = warmup.is_finished();
        ok &= done;
        checks.insert(
            (*name).to_owned(),
            json!(if done { "ok" } else { "filling" }),
        );
    }
    readiness(ok, checks)
}

/// `/ready`'s answer: 200 when every check passed, 503 otherwise, each check named.
pub fn readiness(ok: bool, checks: serde_json::Map<String, serde_json::Value>) -> Response {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "status": if ok { "ready" } else { "not_ready" }, "checks": checks });
    (status, axum::Json(body)).into_response()
}

/// The process's metrics in Prometheus's text format, with the gauges of its pools,
/// outboxes and consumers read fresh.
async fn metrics(State(state): State<OpsState>) -> Response {
    crate::telemetry::gauges::refresh(&state.pools, state.bus.as_ref()).await;
    exposition()
}

/// What the recorder holds, in Prometheus's text format.
pub fn exposition() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::metrics().render(),
    )
        .into_response()
}

async fn openapi(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

async fn internal_openapi(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.internal_openapi.as_str().to_owned(),
    )
        .into_response()
}

async fn docs() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Emporium API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="module" src="/docs/rapidoc-min.js"></script></head>
<body><rapi-doc spec-url="/openapi.json" render-style="read" show-header="false"
 allow-try="true" theme="light"></rapi-doc></body></html>"#,
    )
}

/// RapiDoc, vendored from its npm package (version in `crates/kernel/assets/README.md`).
async fn rapidoc() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/rapidoc-min.js"),
    )
        .into_response()
}
