//! The layers every request passes: request id, structured log line, metrics labelled
//! by matched route (never by raw path, which would explode cardinality); and, at the
//! edge, limits on the request head, problem+json for every refusal and connections
//! kept healthy after a refusal.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};

use super::Problem;
use crate::telemetry::trace::{self, TraceParent};

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any (copied into events).
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` as part of the request `id` (so events it records carry the id).
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    CURRENT_REQUEST_ID.scope(id, fut).await
}

/// The matched route, carried from the routing layer out to the observing layer.
#[derive(Clone)]
struct RouteLabel(String);

/// Accepts a sane client-supplied id so traces join up across hops; otherwise makes one.
fn request_id_from(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Outermost layer: request id in, request id out, one log line and metrics per request.
pub async fn observe(req: Request, next: Next) -> Response {
    let id = request_id_from(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let parent = TraceParent::from_headers(req.headers());
    let part = trace::request(&id, &method, &path, parent);
    let start = Instant::now();
    let mut res = part.run(with_request_id(id.clone(), next.run(req))).await;
    let elapsed = start.elapsed();
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = res.status().as_u16();
    part.end_request(&method, &route, status, elapsed);
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        &[("method", method.to_string()), ("route", route.clone())]
    )
    .record(elapsed.as_secs_f64());
    part.span().in_scope(|| {
        tracing::info!(
            status,
            route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request handled"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}

/// Route layer: records which route matched, for `observe` to label metrics with.
pub async fn label_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(RouteLabel(route));
    }
    res
}

/// The layers outside the platform's own, for the router a process serves: refusals of
/// oversized request heads, problem+json for every refusal, and healthy connections
/// after a refusal (outermost first: `keep_connection_healthy`, `refusals_as_problems`,
/// `limit_request_head`).
pub fn edge(router: axum::Router) -> axum::Router {
    router
        .layer(axum::middleware::from_fn(limit_request_head))
        .layer(axum::middleware::from_fn(refusals_as_problems))
        .layer(axum::middleware::from_fn(keep_connection_healthy))
}

/// Longest request target (path and query) we accept: 414 `uri_too_long` beyond.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields a request may carry: 431 `request_header_fields_too_large` beyond.
pub const MAX_HEADER_FIELDS: usize = 100;
/// Most bytes of header names and values a request may carry (431 beyond).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses request heads beyond our limits with problem+json. The HTTP server's own
/// limits are set well above these (see `emporium::serve`), so that such requests
/// reach this layer instead of getting the server's bodiless 414/431.
pub async fn limit_request_head(req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "The address is longer than this server accepts",
        )
        .detail(format!("at most {MAX_URI_BYTES} bytes of path and query"))
        .into_response();
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        return Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            "The request carries more headers than this server accepts",
        )
        .detail(format!(
            "at most {MAX_HEADER_FIELDS} header fields and {MAX_HEADER_BYTES} bytes of them"
        ))
        .into_response();
    }
    next.run(req).await
}

/// Most of a plain-text refusal kept as the problem's `detail`.
const MAX_REFUSAL_TEXT: usize = 4 * 1024;

/// Makes every refusal problem+json. A 4xx or 5xx answered as plain text or with no
/// body at all — axum's own rejections (`Path`, `Multipart`, `Bytes`, body limits), a
/// timeout's bare 503, a handler's bare status — becomes a problem whose `code` is
/// derived from the status (`code_for_status`); for a 4xx the text becomes `detail`.
/// Answers that have a type of their own (problem+json, JSON, HTML pages) pass
/// untouched, and so do the answer's other headers.
pub async fn refusals_as_problems(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = res.headers().get(header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str().is_ok_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/plain")
        })
    });
    if !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let mut problem = Problem::for_status(status);
    if status.is_client_error()
        && let Ok(bytes) = axum::body::to_bytes(body, MAX_REFUSAL_TEXT).await
        && let Ok(text) = std::str::from_utf8(&bytes)
        && !text.trim().is_empty()
    {
        problem = problem.detail(text.trim());
    }
    let mut out = problem.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    *out.extensions_mut() = parts.extensions;
    out
}

/// Up to this much of a request body its handler left unread (the platform's body
/// limit) is read and thrown away before the answer goes out, so the connection can
/// carry the next request.
pub const DRAIN_LIMIT_BYTES: usize = crate::platform::MAX_BODY_BYTES;
/// How long draining may wait for the rest of a body.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Keeps keep-alive connections healthy after a request whose body was not read (a
/// refusal before the body: 401, 403, 404, 413, 414, 431, …). The HTTP server closes
/// a connection whose request body is left unread, and when that races with the answer
/// the client reuses a connection that is being closed and loses its next request.
/// So the unread rest of the body is drained (up to `DRAIN_LIMIT_BYTES`, within
/// `DRAIN_TIMEOUT`) before answering; when it cannot be — larger, slower, or the client
/// waits for `100 Continue` — the answer says `Connection: close`, which the client
/// honours.
pub async fn keep_connection_healthy(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let expects_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (give_back, mut returned) = tokio::sync::oneshot::channel();
    let req = req.map(|body| {
        Body::new(Tracked {
            body: Some(body),
            finished: false,
            give_back: Some(give_back),
        })
    });
    let mut res = next.run(req).await;
    let healthy = match returned.try_recv() {
        // Dropped before its end: drain what is left, unless that would invite it.
        Ok(rest) => !expects_continue && drain(rest).await,
        // Read to its end (or it failed, and the connection is gone anyway), or still
        // held by whoever reads it: nothing to do here.
        Err(_) => true,
    };
    if !healthy {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Reads and discards the rest of a body; whether it ended within the limits.
async fn drain(mut body: Body) -> bool {
    use http_body_util::BodyExt;
    if body.is_end_stream() {
        return true;
    }
    if body.size_hint().lower() > DRAIN_LIMIT_BYTES as u64 {
        return false;
    }
    let read = async {
        let mut seen = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            seen += frame.data_ref().map_or(0, bytes::Bytes::len);
            if seen > DRAIN_LIMIT_BYTES {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIMEOUT, read)
        .await
        .unwrap_or(false)
}

/// A request body that, when dropped before its end, hands the rest back to
/// `keep_connection_healthy`.
struct Tracked {
    body: Option<Body>,
    finished: bool,
    give_back: Option<tokio::sync::oneshot::Sender<Body>>,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.finished
            && let (Some(body), Some(give_back)) = (self.body.take(), self.give_back.take())
        {
            let _ = give_back.send(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    fn app() -> axum::Router {
        edge(
            axum::Router::new()
                .route(
                    "/plain",
                    get(|| async { (StatusCode::BAD_REQUEST, "Invalid `boundary`") }),
                )
                .route("/bare", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
                .route(
                    "/page",
                    get(|| async { (StatusCode::NOT_FOUND, axum::response::Html("<p>gone</p>")) }),
                )
                .route(
                    "/problem",
                    get(|| async { Problem::new(StatusCode::CONFLICT, "taken", "Taken") }),
                )
                .route(
                    "/refuse",
                    post(|| async { ([(header::RETRY_AFTER, "7")], StatusCode::UNAUTHORIZED) }),
                )
                .route("/read", post(|body: String| async move { body })),
        )
    }

    async fn problem_of(res: Response) -> serde_json::Value {
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            super::super::problem::CONTENT_TYPE
        );
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn get_req(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn plain_and_bare_refusals_become_problems_others_pass() {
        let res = app().oneshot(get_req("/plain")).await.unwrap();
        assert_eq!(res.status(), 400);
        let p = problem_of(res).await;
        assert_eq!(
            (p["code"].as_str(), p["detail"].as_str()),
            (Some("bad_request"), Some("Invalid `boundary`"))
        );

        let res = app().oneshot(get_req("/bare")).await.unwrap();
        let p = problem_of(res).await;
        assert_eq!(p["code"], "service_unavailable");
        assert!(p.get("detail").is_none());

        let res = app().oneshot(get_req("/page")).await.unwrap();
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let p = problem_of(app().oneshot(get_req("/problem")).await.unwrap()).await;
        assert_eq!(p["code"], "taken");
        let res = app().oneshot(get_req("/nowhere")).await.unwrap();
        assert_eq!(problem_of(res).await["code"], "not_found");
    }

    #[tokio::test]
    async fn oversized_heads_are_refused() {
        let long = format!("/plain?q={}", "a".repeat(MAX_URI_BYTES));
        let res = app().oneshot(get_req(&long)).await.unwrap();
        assert_eq!(res.status(), 414);
        assert_eq!(problem_of(res).await["code"], "uri_too_long");

        let mut req = get_req("/plain");
        for i in 0..=MAX_HEADER_FIELDS {
            req.headers_mut().insert(
                HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
                HeaderValue::from_static("1"),
            );
        }
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 431);
        assert_eq!(
            problem_of(res).await["code"],
            "request_header_fields_too_large"
        );
    }

    /// A streamed body of `chunks` × `size` bytes that counts what was read of it.
    fn counted(chunks: usize, size: usize) -> (Body, Arc<AtomicUsize>) {
        let read = Arc::new(AtomicUsize::new(0));
        let seen = read.clone();
        let stream = futures_util::stream::iter((0..chunks).map(move |_| {
            seen.fetch_add(size, Ordering::SeqCst);
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; size]))
        }));
        (Body::from_stream(stream), read)
    }

    fn post_req(uri: &str, body: Body) -> Request {
        Request::post(uri).body(body).unwrap()
    }

    #[tokio::test]
    async fn an_unread_body_is_drained_or_the_connection_closed() {
        // Refused without reading: the body is read to its end, the connection stays.
        let (body, read) = counted(4, 1000);
        let res = app().oneshot(post_req("/refuse", body)).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
        assert!(res.headers().get(header::CONNECTION).is_none());
        assert_eq!(read.load(Ordering::SeqCst), 4000);
        assert_eq!(problem_of(res).await["code"], "unauthorized");

        // More than is worth reading: the answer closes the connection.
        let (body, read) = counted(64, 32 * 1024);
        let res = app().oneshot(post_req("/refuse", body)).await.unwrap();
        assert_eq!(res.headers()[header::CONNECTION], "close");
        assert!(read.load(Ordering::SeqCst) <= DRAIN_LIMIT_BYTES + 32 * 1024);

        // A client waiting for `100 Continue` is not invited to send it.
        let (body, read) = counted(1, 10);
        let mut req = post_req("/refuse", body);
        req.headers_mut()
            .insert(header::EXPECT, HeaderValue::from_static("100-continue"));
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.headers()[header::CONNECTION], "close");
        assert_eq!(read.load(Ordering::SeqCst), 0);

        // A handler that reads the body: nothing to do.
        let (body, read) = counted(3, 10);
        let res = app().oneshot(post_req("/read", body)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get(header::CONNECTION).is_none());
        assert_eq!(read.load(Ordering::SeqCst), 30);
    }

    /// What the JSON log layer printed, for the test to read back.
    #[derive(Clone, Default)]
    struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl tracing_subscriber::fmt::MakeWriter<'_> for Lines {
        type Writer = Lines;

        fn make_writer(&self) -> Lines {
            self.clone()
        }
    }

    #[tokio::test]
    async fn log_lines_carry_the_trace_id_the_request_came_with() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(lines.clone())
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        let app = axum::Router::new()
            .route("/x", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(observe));
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let res = app
            .oneshot(
                Request::builder()
                    .uri("/x")
                    .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = text
            .lines()
            .find(|l| l.contains("request handled"))
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap();
        assert_eq!(line["span"]["trace_id"], trace, "{line}");
        assert!(line["span"]["request_id"].is_string());
    }
}
