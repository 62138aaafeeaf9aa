//! W3C trace context: carried in through `traceparent`, out through every service call
//! and event envelope. With an OTLP exporter configured the ids are OpenTelemetry's own
//! (`tracing-opentelemetry` spans); without one the incoming context is passed on
//! unchanged, so logs of one request still share a `trace_id` across services.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, Method};
use opentelemetry::KeyValue;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

static EXPORTING: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    /// The context a request or event arrived with, for the path without an exporter.
    static INCOMING: Option<TraceParent>;
}

/// Whether spans are recorded and exported (an OTLP endpoint is configured).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The tracer stand-ins for failed spans are made with (`keep_failed`).
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

pub(super) fn set_exporting(tracer: SdkTracer) {
    let _ = TRACER.set(tracer);
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Errors are always kept: when `span` failed in a trace that head sampling dropped, a
/// stand-in with its name, kind and duration, marked `error.kept`, is exported in the
/// same trace (under the dropped span) in its place.
pub fn keep_failed(span: &Span, name: String, kind: SpanKind, elapsed: Duration) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let context = span.context();
    if !context.span().span_context().is_sampled() {
        stand_in(tracer, &context, name, kind, elapsed);
    }
}

pub(super) fn stand_in(
    tracer: &SdkTracer,
    parent: &opentelemetry::Context,
    name: String,
    kind: SpanKind,
    elapsed: Duration,
) {
    let end = SystemTime::now();
    let mut span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_start_time(end.checked_sub(elapsed).unwrap_or(end))
        .with_attributes([KeyValue::new(super::export::KEPT_ERROR, true)])
        .start_with_context(tracer, parent);
    span.set_status(Status::error("failed"));
    span.end_with_timestamp(end);
}

/// One `traceparent` value: `00-<trace id>-<parent span id>-<flags>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// Parses a header value; `None` for anything W3C Trace Context §3.2 rejects
    /// (wrong lengths, non-hex, version `ff`, all-zero ids).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        // Version 00 has exactly four fields; later versions may append more.
        let extra = parts.next().is_some();
        if !hex(version, 2) || version == "ff" || (version == "00" && extra) {
            return None;
        }
        if !hex(trace, 32) || !hex(parent, 16) || !hex(flags, 2) {
            return None;
        }
        let trace_id = TraceId::from_hex(trace).ok()?;
        let parent_id = SpanId::from_hex(parent).ok()?;
        if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
            return None;
        }
        let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1);
        Some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace, sampled, for a request that arrived without one.
    pub fn new_root() -> Self {
        let random = uuid::Uuid::new_v4().as_u128();
        let span = uuid::Uuid::new_v4().as_u64_pair().0;
        Self {
            trace_id: TraceId::from(random.max(1)),
            parent_id: SpanId::from(span.max(1)),
            flags: TraceFlags::SAMPLED,
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(&TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
    }

    pub fn trace_id(&self) -> String {
        self.trace_id.to_string()
    }

    fn from_span_context(context: &SpanContext) -> Option<Self> {
        context.is_valid().then(|| Self {
            trace_id: context.trace_id(),
            parent_id: context.span_id(),
            flags: context.trace_flags(),
        })
    }

    fn remote_context(&self) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            self.trace_id,
            self.parent_id,
            self.flags,
            true,
            TraceState::default(),
        ))
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            self.flags.to_u8()
        )
    }
}

/// The span of one request a process serves (the gateway, or a service), with the
/// fields its log lines carry; `join` it to the caller's trace before entering it.
pub fn server_span(request_id: &str, method: &Method, path: &str) -> Span {
    tracing::info_span!(
        "request",
        request_id = %request_id,
        %method,
        %path,
        trace_id = Empty,
        span_id = Empty,
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        http.response.status_code = Empty,
    )
}

/// Records how the request ended: its span's name (`GET /api/v1/…/{product}`, by
/// route or upstream, never by raw path), its status, and an error for a 5xx.
pub fn end_server_span(span: &Span, method: &Method, target: &str, status: u16, elapsed: Duration) {
    // A disabled span (tracing off, logs below info) records nothing: skip the name.
    if span.is_disabled() {
        return;
    }
    let name = format!("{method} {target}");
    span.record("otel.name", name.as_str());
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        keep_failed(span, name, SpanKind::Server, elapsed);
    }
}

/// Makes `span` (declared with empty `trace_id` and `span_id` fields) a child of
/// `parent`, the context a request or an event came with, and records its ids for the
/// logs. Call it before the span is entered.
pub fn join(span: &Span, parent: Option<&TraceParent>) {
    if exporting() {
        if let Some(parent) = parent {
            let _ = span.set_parent(parent.remote_context());
        }
        let context = span.context();
        let own = context.span();
        let ids = own.span_context();
        if ids.is_valid() {
            span.record("trace_id", tracing::field::display(ids.trace_id()));
            span.record("span_id", tracing::field::display(ids.span_id()));
        }
    } else if let Some(parent) = parent {
        span.record("trace_id", tracing::field::display(parent.trace_id));
    }
}

/// Links `span` to `parent` as well: an event's handling points at what recorded it.
pub fn link(span: &Span, parent: &TraceParent) {
    if exporting() {
        span.add_link(SpanContext::new(
            parent.trace_id,
            parent.parent_id,
            parent.flags,
            true,
            TraceState::default(),
        ));
    }
}

/// Runs `fut` with `parent` as the context it passes on when no exporter runs.
pub async fn scope<F: Future>(parent: Option<TraceParent>, fut: F) -> F::Output {
    INCOMING.scope(parent, fut).await
}

/// The context to send on from inside `span`: its own when exporting, else the one
/// this task arrived with.
pub fn outgoing_from(span: &Span) -> Option<TraceParent> {
    if exporting() {
        TraceParent::from_span_context(span.context().span().span_context())
    } else {
        INCOMING.try_with(Clone::clone).ok().flatten()
    }
}

/// The context to send with a call or record in an event from the current span.
pub fn outgoing() -> Option<TraceParent> {
    outgoing_from(&Span::current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_contexts_are_parsed_as_w3c_defines_them() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceParent::parse(value).unwrap();
        assert_eq!(parsed.to_string(), value);
        assert_eq!(parsed.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        // A later version may carry more fields; flags beyond "sampled" are dropped.
        let later = TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-x")
            .unwrap();
        assert_eq!(later.to_string(), value);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn new_roots_are_valid_and_distinct() {
        let (a, b) = (TraceParent::new_root(), TraceParent::new_root());
        assert_ne!(a, b);
        assert_eq!(TraceParent::parse(&a.to_string()), Some(a));
    }

    #[tokio::test]
    async fn without_an_exporter_the_incoming_context_is_passed_on() {
        let incoming = TraceParent::new_root();
        let seen = scope(Some(incoming.clone()), async { outgoing() }).await;
        assert_eq!(seen, Some(incoming));
        assert_eq!(outgoing(), None);
    }
}
