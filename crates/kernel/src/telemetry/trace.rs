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
use tracing::field::Empty;
use tracing::{Instrument, Span};
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

/// The tracer stand-ins for failed spans are made with (`Part::failed`).
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

pub(super) fn set_exporting(tracer: SdkTracer, ratio: f64) {
    let _ = TRACER.set(tracer);
    let _ = RATIO.set(ratio);
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Where a stand-in goes: in place of a new trace's root, or under a caller's span.
pub(super) enum Ids<'a> {
    Root { trace_id: TraceId, span_id: SpanId },
    Under(&'a opentelemetry::Context),
}

/// Exports a failed span of a dropped trace in its place (`Part::failed`).
pub(super) fn stand_in(
    tracer: &SdkTracer,
    ids: Ids<'_>,
    name: String,
    kind: SpanKind,
    elapsed: Duration,
) {
    let end = SystemTime::now();
    let builder = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_start_time(end.checked_sub(elapsed).unwrap_or(end))
        .with_attributes([KeyValue::new(super::export::KEPT_ERROR, true)]);
    let mut span = match ids {
        Ids::Root { trace_id, span_id } => super::export::with_ids((trace_id, span_id), || {
            builder.start_with_context(tracer, &opentelemetry::Context::new())
        }),
        Ids::Under(parent) => builder.start_with_context(tracer, parent),
    };
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

    /// A new trace, sampled, for a request that arrived without one. Its ids are
    /// fully random (a v4 UUID's fixed bits would skew the ratio read from them).
    pub fn new_root() -> Self {
        let mut bytes = [0u8; 24];
        if getrandom::getrandom(&mut bytes).is_err() {
            // No entropy source: a time-ordered id still keeps traces apart.
            bytes[..16].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
        }
        let mut trace = [0u8; 16];
        let mut span = [0u8; 8];
        trace.copy_from_slice(&bytes[..16]);
        span.copy_from_slice(&bytes[16..]);
        Self {
            trace_id: TraceId::from(u128::from_be_bytes(trace).max(1)),
            parent_id: SpanId::from(u64::from_be_bytes(span).max(1)),
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

/// The target of the spans only the logs see (the part of a trace head sampling
/// dropped): the exporting layer filters it out, so such a span costs what it costs
/// with tracing off.
pub const UNTRACED: &str = "untraced";

/// The share of new traces recorded (`OTEL_TRACES_SAMPLER_ARG`), set with the exporter.
static RATIO: OnceLock<f64> = OnceLock::new();

/// Whether a new trace with `trace_id` is kept at `ratio`: by its id's low 64 bits,
/// as OpenTelemetry's `TraceIdRatioBased` decides.
pub(super) fn keeps_root(trace_id: TraceId, ratio: f64) -> bool {
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    #[allow(clippy::cast_precision_loss)]
    let position = (u64::from_be_bytes(low) >> 1) as f64 / (1u64 << 63) as f64;
    position < ratio
}

/// How a part of a trace is to be taken: recorded, or passed on as `context`.
#[derive(Debug, PartialEq)]
struct Decision {
    record: bool,
    /// The caller's context, or the ids of a new trace this process began (recorded
    /// under them when kept, passed on when dropped).
    context: Option<TraceParent>,
    /// `context` is a new trace this process began, not a caller's.
    root: bool,
}

/// Head sampling, decided before any span is built: follow the caller's decision, or
/// for a new trace keep `ratio` of them. A dropped new trace still gets ids, so what it
/// calls and records shares one `trace_id` in the logs (and drops it too).
fn decide(exporting: bool, ratio: f64, parent: Option<TraceParent>) -> Decision {
    match parent {
        _ if !exporting => Decision {
            record: false,
            context: parent,
            root: false,
        },
        Some(parent) => Decision {
            record: parent.flags.is_sampled(),
            context: Some(parent),
            root: false,
        },
        None => {
            let mut root = TraceParent::new_root();
            let record = keeps_root(root.trace_id, ratio);
            if !record {
                root.flags = TraceFlags::default();
            }
            Decision {
                record,
                context: Some(root),
                root: true,
            }
        }
    }
}

/// This process's part in a trace: a request it serves, an event it handles, a call it
/// makes. Its span is recorded and exported only when the trace is sampled; otherwise
/// its span is one only the logs see and the context it came with is passed on, so an
/// unsampled request costs about what it costs with tracing off.
pub struct Part {
    span: Span,
    recorded: bool,
    context: Option<TraceParent>,
    root: bool,
}

impl Part {
    /// A part of the trace `parent` (a new trace when `None`): its span is `recorded()`
    /// when sampled, else `unrecorded()` (target `UNTRACED`). Both declare empty
    /// `trace_id` fields (and the recorded one `span_id`) for the logs.
    pub fn new(
        parent: Option<TraceParent>,
        recorded: impl FnOnce() -> Span,
        unrecorded: impl FnOnce() -> Span,
    ) -> Self {
        let decision = decide(exporting(), ratio(), parent.clone());
        Self::decided(decision, parent.as_ref(), recorded, unrecorded)
    }

    /// A call to another service: a child of the span it is made in when that one is
    /// recorded; otherwise it follows the context the task runs under.
    pub fn call(recorded: impl FnOnce() -> Span) -> Self {
        if exporting()
            && opentelemetry::Context::current()
                .span()
                .span_context()
                .is_sampled()
        {
            return Self::recorded(recorded());
        }
        let parent = incoming();
        let decision = decide(exporting(), ratio(), parent.clone());
        Self::decided(decision, parent.as_ref(), recorded, Span::none)
    }

    /// The part `decision` makes: a recorded span joined to its trace (under the ids it
    /// was kept for when it begins one), or a span only the logs see.
    fn decided(
        decision: Decision,
        parent: Option<&TraceParent>,
        recorded: impl FnOnce() -> Span,
        unrecorded: impl FnOnce() -> Span,
    ) -> Self {
        if decision.record {
            let span = recorded();
            match &decision.context {
                Some(ids) if decision.root => join_as_root(&span, ids),
                _ => join(&span, parent),
            }
            return Self::recorded(span);
        }
        let span = unrecorded();
        if let Some(context) = &decision.context {
            span.record("trace_id", tracing::field::display(context.trace_id));
        }
        Self {
            span,
            recorded: false,
            context: decision.context,
            root: decision.root,
        }
    }

    fn recorded(span: Span) -> Self {
        Self {
            span,
            recorded: true,
            context: None,
            root: false,
        }
    }

    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Links the recorded span to `other` as well: an event's handling points at what
    /// recorded it.
    pub fn link(&self, other: &TraceParent) {
        if self.recorded {
            self.span.add_link(SpanContext::new(
                other.trace_id,
                other.parent_id,
                other.flags,
                true,
                TraceState::default(),
            ));
        }
    }

    /// The context this part passes on to what it calls and records.
    pub fn onward(&self) -> Option<TraceParent> {
        if self.recorded {
            TraceParent::from_span_context(self.span.context().span().span_context())
        } else {
            self.context.clone()
        }
    }

    /// Runs `fut` as this part: inside its span, passing its context on.
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        INCOMING
            .scope(self.context.clone(), fut.instrument(self.span.clone()))
            .await
    }

    /// Marks the part failed. Errors are always kept: a failed part of a trace head
    /// sampling dropped is exported as a stand-in (`name()`, `kind`, `elapsed`, marked
    /// `error.kept`) in the same trace — in place of the root it began, or under the
    /// caller's span.
    pub fn failed(&self, name: impl FnOnce() -> String, kind: SpanKind, elapsed: Duration) {
        if self.recorded {
            self.span.record("otel.status_code", "ERROR");
            return;
        }
        let (Some(tracer), Some(context)) = (TRACER.get(), &self.context) else {
            return;
        };
        if self.root {
            let ids = Ids::Root {
                trace_id: context.trace_id,
                span_id: context.parent_id,
            };
            stand_in(tracer, ids, name(), kind, elapsed);
        } else {
            let parent = context.remote_context();
            stand_in(tracer, Ids::Under(&parent), name(), kind, elapsed);
        }
    }

    /// Records how a request ended: its span's name (`GET /api/v1/…/{product}`, by
    /// route or upstream, never by raw path), its status, and a failure for a 5xx.
    pub fn end_request(&self, method: &Method, target: &str, status: u16, elapsed: Duration) {
        let name = || format!("{method} {target}");
        if self.recorded {
            // Built when it joined its trace: renamed on the span itself (a recorded
            // `otel.name` only names a span not built yet).
            self.span.context().span().update_name(name());
            self.span.record("http.response.status_code", status);
        }
        if status >= 500 {
            self.failed(name, SpanKind::Server, elapsed);
        }
    }
}

/// The part of a request a process serves (the gateway, or a service), with the fields
/// its log lines carry.
pub fn request(request_id: &str, method: &Method, path: &str, parent: Option<TraceParent>) -> Part {
    Part::new(
        parent,
        || {
            tracing::info_span!(
                "request",
                request_id = %request_id,
                %method,
                %path,
                trace_id = Empty,
                span_id = Empty,
                otel.kind = "server",
                otel.status_code = Empty,
                http.response.status_code = Empty,
            )
        },
        || {
            tracing::info_span!(
                target: UNTRACED,
                "request",
                request_id = %request_id,
                %method,
                %path,
                trace_id = Empty,
            )
        },
    )
}

fn ratio() -> f64 {
    RATIO.get().copied().unwrap_or(1.0)
}

fn incoming() -> Option<TraceParent> {
    INCOMING.try_with(Clone::clone).ok().flatten()
}

/// Builds the recorded `span` as the first span of the new trace `ids` names, so the
/// trace id the sampling decision was read from is the one exported.
fn join_as_root(span: &Span, ids: &TraceParent) {
    super::export::with_ids((ids.trace_id, ids.parent_id), || join(span, None));
}

/// Makes the recorded `span` a child of `parent`, the context a request or an event
/// came with, and records its ids for the logs. Called before the span is entered.
fn join(span: &Span, parent: Option<&TraceParent>) {
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
}

/// The context to record in an event or send with a call from the current span: its
/// own when recorded, else the one this task runs under.
pub fn outgoing() -> Option<TraceParent> {
    if exporting() {
        let current = Span::current().context();
        if let Some(own) = TraceParent::from_span_context(current.span().span_context()) {
            return Some(own);
        }
    }
    incoming()
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
        let part = Part::new(Some(incoming.clone()), Span::none, Span::none);
        assert_eq!(part.onward(), Some(incoming.clone()));
        let seen = part
            .run(async { (outgoing(), Part::call(Span::none).onward()) })
            .await;
        assert_eq!(seen, (Some(incoming.clone()), Some(incoming)));
        assert_eq!(outgoing(), None);
    }

    #[test]
    fn head_sampling_follows_the_caller_and_keeps_a_share_of_new_traces() {
        let sampled = TraceParent::new_root();
        let mut dropped = sampled.clone();
        dropped.flags = TraceFlags::default();
        let follow = decide(true, 0.0, Some(sampled.clone()));
        assert!(follow.record && !follow.root);
        assert_eq!(follow.context, Some(sampled.clone()));
        let follow = decide(true, 1.0, Some(dropped.clone()));
        assert!(!follow.record && !follow.root);
        assert_eq!(follow.context, Some(dropped));
        // Without an exporter nothing is recorded and the caller's context goes on.
        let off = decide(false, 1.0, Some(sampled.clone()));
        assert_eq!((off.record, off.context), (false, Some(sampled)));
        assert_eq!(decide(false, 1.0, None).context, None);
        // A new trace: always at 1, never at 0, and a dropped one still gets ids,
        // marked not sampled, so everything it reaches drops it too; a kept one is
        // recorded under the ids it was kept for.
        let kept = decide(true, 1.0, None);
        assert!(kept.record && kept.root);
        assert!(kept.context.is_some_and(|c| c.flags.is_sampled()));
        let new = decide(true, 0.0, None);
        assert!(!new.record && new.root);
        assert!(new.context.is_some_and(|c| !c.flags.is_sampled()));
        let kept = (0..4000)
            .filter(|_| decide(true, 0.25, None).record)
            .count();
        assert!((800..1200).contains(&kept), "{kept} of 4000 kept at 0.25");
    }

    #[test]
    fn the_ratio_is_read_from_the_trace_id_as_opentelemetry_does() {
        let at = |low: u64| TraceId::from(u128::from(low));
        assert!(keeps_root(at(0), 0.01));
        assert!(!keeps_root(at(u64::MAX), 0.99));
        assert!(keeps_root(at(u64::MAX / 4), 0.26));
        assert!(!keeps_root(at(u64::MAX / 4), 0.24));
        assert!(!keeps_root(at(0), 0.0));
    }
}
