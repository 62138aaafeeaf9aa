//! Exporting spans over OTLP/HTTP (protobuf): head sampling by ratio that still keeps
//! every span that ends in error, batched off the request path.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{Link, SpanContext, SpanKind, Status, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
    Span, SpanData, SpanProcessor,
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

/// Head sampling that records what it does not keep (`RecordOnly`), so `KeepErrors`
/// can still export a span of an unsampled trace that fails.
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
        let mut result =
            self.0
                .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if result.decision == SamplingDecision::Drop {
            result.decision = SamplingDecision::RecordOnly;
        }
        result
    }
}

/// Passes sampled spans on, and an unsampled one only when it ended in error.
#[derive(Debug)]
struct KeepErrors<P>(P);

impl<P: SpanProcessor> SpanProcessor for KeepErrors<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.on_end(span);
        } else if matches!(span.status, Status::Error { .. }) {
            let c = &span.span_context;
            span.span_context = SpanContext::new(
                c.trace_id(),
                c.span_id(),
                c.trace_flags().with_sampled(true),
                c.is_remote(),
                c.trace_state().clone(),
            );
            self.0.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
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
    let sampler = HeadSampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        settings.sample_ratio,
    ))));
    let name = settings
        .service_name
        .clone()
        .unwrap_or_else(|| service_name.to_owned());
    Ok(SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(KeepErrors(BatchSpanProcessor::builder(exporter).build()))
        .with_resource(Resource::builder().with_service_name(name).build())
        .build())
}

#[cfg(test)]
mod tests {
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
    fn unsampled_traces_are_recorded_so_their_errors_can_be_kept() {
        let never = HeadSampler(Sampler::TraceIdRatioBased(0.0));
        let result = never.should_sample(
            None,
            TraceId::from(7u128),
            "checkout",
            &SpanKind::Server,
            &[],
            &[],
        );
        assert_eq!(result.decision, SamplingDecision::RecordOnly);
        let always = HeadSampler(Sampler::TraceIdRatioBased(1.0));
        let result = always.should_sample(
            None,
            TraceId::from(7u128),
            "checkout",
            &SpanKind::Server,
            &[],
            &[],
        );
        assert_eq!(result.decision, SamplingDecision::RecordAndSample);
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
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let collected = Collect::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(HeadSampler(Sampler::TraceIdRatioBased(0.0)))
            .with_span_processor(KeepErrors(collected.clone()))
            .build();
        let tracer = provider.tracer("test");
        tracer.start("fine").end();
        let mut failing = tracer.start("failing");
        failing.set_status(Status::error("the database went away"));
        failing.end();
        let sent = collected.0.lock().unwrap();
        let names: Vec<&str> = sent.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["failing"]);
        assert!(sent[0].span_context.is_sampled(), "exported as sampled");
    }
}
