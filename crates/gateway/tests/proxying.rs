//! The gateway over real sockets, in front of small upstream servers whose behaviour a
//! test switches (answering, hanging, refusing): turns between replicas, retries of
//! what is safe to retry, hidden internal routes, and a breaker that opens on a hung
//! upstream and closes once it recovers.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use gateway::{GatewayConfig, HealthPolicy};

mod common;
use common::gateway;

const ANSWER: u8 = 0;
const HANG: u8 = 1;
/// 503 with `Retry-After`: a live replica asking the caller to come back later.
const BUSY: u8 = 2;
/// 503 without it: a replica that cannot serve.
const DOWN: u8 = 3;

/// An upstream replica: answers with its name, or hangs, as the test says.
struct Replica {
    name: &'static str,
    mode: AtomicU8,
    hits: AtomicUsize,
}

async fn who(State(r): State<Arc<Replica>>, headers: HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    r.hits.fetch_add(1, Ordering::SeqCst);
    match r.mode.load(Ordering::SeqCst) {
        HANG => std::future::pending::<()>().await,
        BUSY => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "2")],
                "later",
            )
                .into_response();
        }
        DOWN => return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
        _ => {}
    }
    let seen = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    (
        StatusCode::OK,
        format!(
            "{} {} {} {}",
            r.name,
            seen("x-request-id"),
            seen("traceparent"),
            seen("x-forwarded-for")
        ),
    )
        .into_response()
}

async fn echo(State(r): State<Arc<Replica>>, body: String) -> String {
    r.hits.fetch_add(1, Ordering::SeqCst);
    format!("{} {body}", r.name)
}

async fn replica(name: &'static str) -> (Arc<Replica>, String) {
    let state = Arc::new(Replica {
        name,
        mode: AtomicU8::new(ANSWER),
        hits: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/api/v1/catalog/who", get(who))
        .route("/api/v1/catalog/echo", post(echo))
        .route("/internal/catalog/secret", get(|| async { "secret" }))
        .route("/health", get(|| async { "ok" }))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, url)
}

/// An address where nothing listens.
fn dead_replica() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn settings(urls: &[&str], policy: HealthPolicy, timeout: Duration) -> GatewayConfig {
    GatewayConfig {
        policy,
        default_timeout: timeout,
        route_timeouts: Vec::new(),
        connect_timeout: Duration::from_millis(500),
        ..GatewayConfig::new(vec![("catalog".into(), urls.join(","))])
    }
}

/// `GET /api/v1/catalog/who` through the gateway at `base`.
async fn who_through(http: &reqwest::Client, base: &str) -> reqwest::Response {
    http.get(format!("{base}/api/v1/catalog/who"))
        .send()
        .await
        .unwrap()
}

async fn text(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn replicas_take_turns_and_internal_routes_are_not_reachable() {
    let (a, a_url) = replica("a").await;
    let (b, b_url) = replica("b").await;
    let base = gateway(settings(
        &[&a_url, &b_url],
        HealthPolicy::default(),
        Duration::from_secs(5),
    ))
    .await;
    let http = reqwest::Client::new();
    let mut names = Vec::new();
    for _ in 0..4 {
        let r = who_through(&http, &base).await;
        assert!(r.headers().contains_key("x-request-id"));
        let (status, body) = text(r).await;
        assert_eq!(status, 200);
        let fields: Vec<&str> = body.split(' ').collect();
        assert_eq!(
            fields[1].len(),
            32,
            "the gateway gave the request an id: {body}"
        );
        assert!(fields[2].starts_with("00-"), "and a trace context: {body}");
        assert_eq!(
            fields[3], "127.0.0.1",
            "the upstream knows who called: {body}"
        );
        names.push(fields[0].to_owned());
    }
    assert_eq!(names, ["a", "b", "a", "b"]);

    // The caller's own request id and trace context travel on unchanged.
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = http
        .get(format!("{base}/api/v1/catalog/who"))
        .header("x-request-id", "my-request")
        .header("traceparent", trace)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "my-request");
    assert!(text(r).await.1.contains(&format!("my-request {trace}")));

    for path in ["/internal/catalog/secret", "/%69nternal/catalog/secret"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(
        a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst),
        5
    );
}

#[tokio::test]
async fn reads_retry_on_another_replica_and_writes_are_sent_once() {
    let (live, live_url) = replica("live").await;
    let dead = dead_replica();
    let policy = HealthPolicy {
        eject_after: 100,
        ..HealthPolicy::default()
    };
    let base = gateway(settings(
        &[&dead, &live_url],
        policy,
        Duration::from_secs(5),
    ))
    .await;
    let http = reqwest::Client::new();
    // Every read answers: the one sent to the dead replica is retried on the live one.
    for _ in 0..4 {
        let (status, body) = text(who_through(&http, &base).await).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("live "));
    }
    // A write that met the dead replica is not sent again: the caller decides.
    let mut answers = Vec::new();
    for i in 0..2 {
        let r = http
            .post(format!("{base}/api/v1/catalog/echo"))
            .body(format!("order {i}"))
            .send()
            .await
            .unwrap();
        let retry_after = r.headers().get("retry-after").is_some();
        let (status, body) = text(r).await;
        answers.push((status, retry_after, body));
    }
    answers.sort();
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(
        answers[0].2, "live order 1",
        "the second went to the live replica"
    );
    assert_eq!((answers[1].0, answers[1].1), (503, true), "{answers:?}");
    assert!(answers[1].2.contains("upstream_unavailable"));
    assert_eq!(live.hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_hung_upstream_opens_the_breaker_which_answers_at_once_and_closes_on_recovery() {
    let (hung, url) = replica("slow").await;
    hung.mode.store(HANG, Ordering::SeqCst);
    let policy = HealthPolicy {
        breaker_threshold: 2,
        breaker_cool_down: Duration::from_millis(300),
        ..HealthPolicy::default()
    };
    let base = gateway(settings(&[&url], policy, Duration::from_millis(200))).await;
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = who_through(&http, &base).await;
        assert_eq!(r.status(), 504);
        assert!(text(r).await.1.contains("upstream_timeout"));
    }
    // Open: refused at once, without waiting on the upstream.
    let started = Instant::now();
    let r = who_through(&http, &base).await;
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(hung.hits.load(Ordering::SeqCst), 2);
    assert_eq!(breaker_and_readiness(&http, &base).await, (2, 503));

    // Recovered: after the cool-down the next call is the probe, and it closes it.
    hung.mode.store(ANSWER, Ordering::SeqCst);
    // The cool-down is time itself: wait until the breaker says it is over.
    while breaker_and_readiness(&http, &base).await.0 != 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = text(who_through(&http, &base).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(breaker_and_readiness(&http, &base).await, (0, 200));
}

#[tokio::test]
async fn a_503_with_retry_after_is_the_services_word_and_opens_no_breaker() {
    let (replica, url) = replica("busy").await;
    replica.mode.store(BUSY, Ordering::SeqCst);
    let policy = HealthPolicy {
        breaker_threshold: 2,
        eject_after: 2,
        ..HealthPolicy::default()
    };
    let base = gateway(settings(&[&url], policy, Duration::from_secs(5))).await;
    let http = reqwest::Client::new();
    for _ in 0..4 {
        let r = who_through(&http, &base).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2", "passed through as sent");
    }
    assert_eq!(breaker_and_readiness(&http, &base).await, (0, 200));
    // Without it, the replica cannot serve: that counts.
    replica.mode.store(DOWN, Ordering::SeqCst);
    for _ in 0..2 {
        let r = who_through(&http, &base).await;
        assert_eq!(r.status(), 503);
    }
    assert_eq!(breaker_and_readiness(&http, &base).await.0, 2);
}

/// The catalog breaker's state as `/metrics` shows it, and the status of `/ready`.
async fn breaker_and_readiness(http: &reqwest::Client, base: &str) -> (u8, u16) {
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let state = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gateway_breaker_state{upstream=\"catalog\"} "))
        .unwrap_or_else(|| panic!("no breaker state in {metrics}"))
        .parse()
        .unwrap();
    let ready = http.get(format!("{base}/ready")).send().await.unwrap();
    (state, ready.status().as_u16())
}
