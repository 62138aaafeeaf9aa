//! Exporting spans over OTLP/HTTP (protobuf): head sampling by ratio that still keeps
//! every span that ends in error, batched off the request path.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::SpanId;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, SamplingResult,
    SdkTracerProvider, ShouldSample,
};

use crate::config::ConfigError;

/// What the standard `OTEL_*` variables ask of tracing.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and
    /// neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` says otherwise).
    pub export: bool,
    /// `OTEL_TRACES_SAMPLER_ARG`: the share of new traces kept, 0 to 1 (default 1).
    pub sample_ratio: f64,
    /// `OTEL_SERVICE_NAME`, when set; otherwise the process names itself.
    pub service_name: Option<String>,
}

impl TraceSettings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .is_some();
        let sample_ratio = match set("OTEL_TRACES_SAMPLER_ARG") {
            None => 1.0,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| ConfigError {
                    name: "OTEL_TRACES_SAMPLER_ARG".into(),
                    reason: format!("expected a ratio from 0 to 1, got {v:?}"),
                })?,
        };
        Ok(Self {
            export: endpoint && !disabled,
            sample_ratio,
            service_name: set("OTEL_SERVICE_NAME"),
        })
    }
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            export: false,
            sample_ratio: 1.0,
            service_name: None,
        }
    }
}

/// The attribute that marks a stand-in for a failed span of a trace head sampling
/// dropped (`trace::keep_failed`): always sampled, so errors are always kept.
pub const KEPT_ERROR: &str = "error.kept";

/// Follows the caller's decision, except that a span marked `KEPT_ERROR` is always
/// sampled. New traces are sampled by ratio before their first span is built
/// (`trace::Part`), so a span without a parent reaches here only when kept.
#[derive(Debug, Clone)]
struct HeadSampler(Sampler);

impl ShouldSample for HeadSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if attributes.iter().any(|a| a.key.as_str() == KEPT_ERROR) {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: parent_context
                    .map(|cx| cx.span().span_context().trace_state().clone())
                    .unwrap_or_default(),
            };
        }
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

thread_local! {
    /// The ids the span being built on this thread takes, when set (`with_ids`).
    static PRESET: std::cell::Cell<Option<(TraceId, SpanId)>> = const { std::cell::Cell::new(None) };
}

/// Random ids, except for a span that must take ids its trace already gave out: the
/// stand-in for the dropped first span of a new trace (`trace::Part::failed`).
#[derive(Debug, Default)]
pub(super) struct PresetIds(RandomIdGenerator);

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        PRESET
            .get()
            .map_or_else(|| self.0.new_trace_id(), |(trace_id, _)| trace_id)
    }

    fn new_span_id(&self) -> SpanId {
        PRESET
            .get()
            .map_or_else(|| self.0.new_span_id(), |(_, span_id)| span_id)
    }
}

/// Builds a span with `build` (synchronously, on this thread) with the ids given.
pub(super) fn with_ids<R>(ids: (TraceId, SpanId), build: impl FnOnce() -> R) -> R {
    PRESET.set(Some(ids));
    let built = build();
    PRESET.set(None);
    built
}

/// The exporter's HTTP client. The batch processor exports from a thread of its own,
/// outside any runtime; each request is run on the process's Tokio runtime instead.
#[derive(Debug, Clone)]
struct OnRuntime {
    runtime: tokio::runtime::Handle,
    client: Client<HttpConnector, Full<Bytes>>,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let response = client.request(request.map(Full::new)).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        });
        sent.await?
    }
}

/// The tracer provider exporting to the configured OTLP endpoint (the exporter reads
/// `OTEL_EXPORTER_OTLP_*` for the endpoint, headers and timeout itself).
pub(super) fn provider(
    settings: &TraceSettings,
    service_name: &str,
) -> anyhow::Result<SdkTracerProvider> {
    let client = OnRuntime {
        runtime: tokio::runtime::Handle::try_current()?,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(client)
        .build()?;
    let sampler = HeadSampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let name = settings
        .service_name
        .clone()
        .unwrap_or_else(|| service_name.to_owned());
    Ok(SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_id_generator(PresetIds::default())
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .with_resource(Resource::builder().with_service_name(name).build())
        .build())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry::trace::Status;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<TraceSettings, ConfigError> {
        TraceSettings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn tracing_is_off_unless_an_endpoint_is_set() {
        assert_eq!(settings(&[]).unwrap(), TraceSettings::default());
        let on = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
            ("OTEL_SERVICE_NAME", "orders"),
        ])
        .unwrap();
        assert!(on.export);
        assert!((on.sample_ratio - 0.1).abs() < f64::EPSILON);
        assert_eq!(on.service_name.as_deref(), Some("orders"));
        let traces_only = settings(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector/v1/traces",
        )]);
        assert!(traces_only.unwrap().export);
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x"), off]).unwrap();
            assert!(!s.export, "{off:?}");
        }
        for bad in ["2", "-0.1", "half"] {
            let e = settings(&[("OTEL_TRACES_SAMPLER_ARG", bad)]).unwrap_err();
            assert_eq!(e.name, "OTEL_TRACES_SAMPLER_ARG");
        }
    }

    #[test]
    fn unsampled_traces_are_not_recorded_but_kept_errors_are() {
        let decide = |ratio: f64, attributes: &[KeyValue]| {
            HeadSampler(Sampler::TraceIdRatioBased(ratio))
                .should_sample(
                    None,
                    TraceId::from(7u128),
                    "checkout",
                    &SpanKind::Server,
                    attributes,
                    &[],
                )
                .decision
        };
        assert_eq!(decide(0.0, &[]), SamplingDecision::Drop);
        assert_eq!(decide(1.0, &[]), SamplingDecision::RecordAndSample);
        let kept = [KeyValue::new(KEPT_ERROR, true)];
        assert_eq!(decide(0.0, &kept), SamplingDecision::RecordAndSample);
    }

    /// Collects what reaches it, as the batch processor would be given it.
    #[derive(Debug, Clone, Default)]
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<SpanData>>>);

    impl SpanProcessor for Collect {
        fn on_start(&self, _: &mut Span, _: &Context) {}

        fn on_end(&self, span: SpanData) {
            self.0.lock().unwrap().push(span);
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_trace_not_sampled_still_sends_its_spans_that_fail() {
        use opentelemetry::trace::TracerProvider as _;
        use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
        let collected = Collect::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(HeadSampler(Sampler::ParentBased(Box::new(
                Sampler::TraceIdRatioBased(0.0),
            ))))
            .with_id_generator(PresetIds::default())
            .with_span_processor(collected.clone())
            .build();
        let tracer = provider.tracer("test");
        let request = tracer.start("GET /checkout");
        assert!(!request.span_context().is_sampled());
        let cx = Context::current_with_span(request);
        tracer.start_with_context("INSERT orders", &cx).end();
        super::super::trace::stand_in(
            &tracer,
            super::super::trace::Ids::Under(&cx),
            "GET /checkout".into(),
            SpanKind::Server,
            Duration::from_millis(3),
        );
        let sent = collected.0.lock().unwrap();
        let names: Vec<&str> = sent.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["GET /checkout"]);
        assert_eq!(
            sent[0].span_context.trace_id(),
            cx.span().span_context().trace_id()
        );
        assert!(matches!(sent[0].status, Status::Error { .. }));
        drop(sent);
        // A new trace dropped before its first span: the stand-in takes that span's
        // place, with the ids its callees were sent.
        let (trace_id, span_id) = (TraceId::from(42u128), SpanId::from(7u64));
        super::super::trace::stand_in(
            &tracer,
            super::super::trace::Ids::Root { trace_id, span_id },
            "GET gateway".into(),
            SpanKind::Server,
            Duration::from_millis(1),
        );
        let sent = collected.0.lock().unwrap();
        let root = &sent[1];
        assert_eq!(root.span_context.trace_id(), trace_id);
        assert_eq!(root.span_context.span_id(), span_id);
        assert_eq!(root.parent_span_id, SpanId::INVALID);
    }

    /// A subscriber exporting what `trace::Part` records to `collected`, with new
    /// traces kept at `ratio` (each test runs in a process of its own under nextest).
    fn exporting_to(collected: &Collect, ratio: f64) -> impl tracing::Subscriber {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = SdkTracerProvider::builder()
            .with_sampler(HeadSampler(Sampler::ParentBased(Box::new(
                Sampler::AlwaysOn,
            ))))
            .with_id_generator(PresetIds::default())
            .with_span_processor(collected.clone())
            .build();
        let tracer = provider.tracer("test");
        super::super::trace::set_exporting(tracer.clone(), ratio);
        tracing_subscriber::registry().with(super::super::span_layer(tracer))
    }

    #[tokio::test]
    async fn an_unsampled_request_records_nothing_unless_it_fails() {
        use super::super::trace::{self, Part};
        let collected = Collect::default();
        let _default = tracing::subscriber::set_default(exporting_to(&collected, 0.0));
        let request = trace::request("r1", &axum::http::Method::GET, "/x", None);
        let (call, sent) = request
            .run(async {
                let call = Part::call(|| tracing::info_span!("call"));
                (call.onward(), trace::outgoing())
            })
            .await;
        let began = request.onward().unwrap();
        // What it calls and records carries the new trace, marked not sampled.
        assert_eq!(call.as_ref(), Some(&began));
        assert_eq!(sent.as_ref(), Some(&began));
        assert!(!began.to_string().ends_with("-01"));
        request.end_request(
            &axum::http::Method::GET,
            "/x",
            200,
            Duration::from_millis(1),
        );
        assert!(collected.0.lock().unwrap().is_empty());
        // A failure is kept: in place of the request's span, with the ids sent on.
        request.end_request(
            &axum::http::Method::GET,
            "/x",
            503,
            Duration::from_millis(1),
        );
        let sent = collected.0.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let ids = format!(
            "00-{}-{}-00",
            sent[0].span_context.trace_id(),
            sent[0].span_context.span_id()
        );
        assert_eq!(ids, began.to_string());
        assert_eq!(sent[0].name, "GET /x");
    }

    #[tokio::test]
    async fn a_sampled_request_records_its_calls_in_its_trace() {
        use super::super::trace::{self, Part, TraceParent};
        let collected = Collect::default();
        let _default = tracing::subscriber::set_default(exporting_to(&collected, 0.0));
        let caller = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let request = trace::request("r2", &axum::http::Method::POST, "/y", caller);
        let onward = request
            .run(async {
                let call = Part::call(|| tracing::info_span!("call", otel.name = "POST orders"));
                let onward = call.onward();
                call.run(async {}).await;
                onward
            })
            .await;
        request.end_request(
            &axum::http::Method::POST,
            "/y",
            201,
            Duration::from_millis(1),
        );
        drop(request);
        let sent = collected.0.lock().unwrap();
        let names: Vec<&str> = sent.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["POST orders", "POST /y"]);
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert!(
            sent.iter()
                .all(|s| s.span_context.trace_id().to_string() == trace_id)
        );
        assert_eq!(sent[0].parent_span_id, sent[1].span_context.span_id());
        assert_eq!(
            sent[1].parent_span_id.to_string(),
            "00f067aa0ba902b7",
            "the request continues its caller's span"
        );
        let onward = onward.unwrap().to_string();
        assert!(onward.contains(&sent[0].span_context.span_id().to_string()));
    }

    /// A collector re-applying the ratio to the trace id keeps what was kept here.
    #[tokio::test]
    async fn a_kept_new_trace_is_exported_under_the_id_it_was_kept_for() {
        use super::super::trace;
        let collected = Collect::default();
        let _default = tracing::subscriber::set_default(exporting_to(&collected, 0.5));
        let mut sent_on = Vec::new();
        for i in 0..64 {
            let request = trace::request(&format!("r{i}"), &axum::http::Method::GET, "/", None);
            sent_on.push(request.onward().unwrap().to_string());
            request.end_request(&axum::http::Method::GET, "/", 200, Duration::from_millis(1));
        }
        let sent = collected.0.lock().unwrap();
        assert!(
            (1..64).contains(&sent.len()),
            "{} of 64 kept at 0.5",
            sent.len()
        );
        for span in sent.iter() {
            let ids = format!(
                "00-{}-{}-01",
                span.span_context.trace_id(),
                span.span_context.span_id()
            );
            assert!(sent_on.contains(&ids), "{ids} was sent on");
            assert!(trace::keeps_root(span.span_context.trace_id(), 0.5));
            assert_eq!(span.parent_span_id, SpanId::INVALID, "a root");
        }
    }
}
