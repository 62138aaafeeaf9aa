//! Structured logs (JSON by default) carrying trace ids, OpenTelemetry spans exported
//! over OTLP when configured, and the Prometheus recorder.

mod export;
pub mod gauges;
pub mod sql;
pub mod trace;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::LogFormat;
pub use export::TraceSettings;

/// Flushes exported spans when the process stops.
#[must_use = "dropping it stops exporting spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Exports what is still buffered as the process ends.
impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber: logs (`RUST_LOG` overrides the default filter), and,
/// when `settings` asks for export, spans for requests, calls, events and SQL statements
/// under `service_name` (unless `OTEL_SERVICE_NAME` names it). Without an exporter no
/// span is recorded beyond what the logs need.
pub fn init(format: LogFormat, settings: &TraceSettings, service_name: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn,tower_http=warn"));
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let provider = if settings.export {
        match export::provider(settings, service_name) {
            Ok(provider) => Some(provider),
            Err(e) => {
                eprintln!("tracing: cannot export spans ({e:#}); continuing without");
                None
            }
        }
    } else {
        None
    };
    let spans = provider.as_ref().map(|provider| {
        let tracer = provider.tracer("emporium");
        trace::set_exporting(tracer.clone(), settings.sample_ratio);
        span_layer(tracer)
    });
    let _ = Registry::default().with(logs).with(spans).try_init();
    Telemetry { provider }
}

/// What is exported: the spans `trace::Part` chose to record (never `UNTRACED` ones),
/// the warnings and errors logged in them, and a span per SQL statement run inside one.
fn span_layer<S>(tracer: SdkTracer) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let ours = Targets::new()
        .with_default(Level::INFO)
        .with_target("lapin", LevelFilter::OFF)
        .with_target("sqlx", LevelFilter::OFF)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target(trace::UNTRACED, LevelFilter::OFF);
    let statements = sql::SqlSpans::new(tracer.clone())
        .with_filter(filter_fn(|meta| meta.target() == sql::TARGET));
    // Spans, and the warnings and errors logged in them (an error marks its span
    // failed); the many info lines stay in the logs only.
    let worth_a_span = ours.and(filter_fn(|meta| {
        meta.is_span() || *meta.level() <= Level::WARN
    }));
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // What each span would otherwise carry costs allocations and clock reads on
        // every request (thread names, busy/idle timings) and says little.
        .with_target(false)
        .with_threads(false)
        .with_location(false)
        .with_tracked_inactivity(false)
        .with_filter(worth_a_span)
        .and_then(statements)
}

/// A problem or decline code as a metric label: our codes and a provider's decline
/// codes are short snake_case words from fixed sets; anything else counts as `other`,
/// so a label never takes unbounded values.
pub fn code_label(code: &str) -> String {
    let plain = (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain { code } else { "other" }.to_owned()
}

/// The process-wide metrics recorder (installed on first use).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            // Every duration is a histogram with buckets, so PromQL can take any
            // quantile across replicas (a summary's quantiles cannot be summed).
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Only fails if another recorder was installed first, which we never do.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

#[cfg(test)]
mod tests {
    /// Tracing off costs nothing: what the log filter leaves out (sqlx's statement
    /// events, debug lines, info spans) is never even built. (Each test runs in a
    /// process of its own under nextest, so the global subscriber is this test's.)
    #[test]
    fn with_tracing_off_what_the_logs_leave_out_is_disabled_at_the_source() {
        let _telemetry = super::init(
            crate::config::LogFormat::Json,
            &super::TraceSettings::default(),
            "test",
        );
        assert!(!tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG));
        assert!(!tracing::enabled!(target: "kernel", tracing::Level::DEBUG));
        assert!(tracing::span!(tracing::Level::DEBUG, "request").is_disabled());
        assert!(tracing::enabled!(target: "kernel", tracing::Level::INFO));
    }

    #[test]
    fn codes_become_labels_only_when_they_look_like_codes() {
        assert_eq!(super::code_label("card_declined"), "card_declined");
        assert_eq!(super::code_label("Card declined!"), "other");
        assert_eq!(super::code_label(""), "other");
        assert_eq!(super::code_label(&"a".repeat(41)), "other");
    }
}
