//! What an on-call engineer sees of the distributed topology: one trace per checkout
//! across the services and the consumers of its events (received over OTLP by a
//! receiver of the test's own), and a real Prometheus scraping every process, whose
//! data answers the dashboards' and alerts' queries.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;

use crate::apart::{clean_up, free_port_block, start_topology};
use crate::apart_faults::put_a_mug_in_the_cart;
use crate::checkout::{OK_CARD, checkout_body, shop};
use crate::observed_queries::{dashboard_queries, metric_names};
use crate::support::*;

/// Every span received, with the service that sent it.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Span)>>>);

impl Received {
    fn of_trace(&self, trace_id: &[u8]) -> Vec<(String, Span)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

/// An OTLP/HTTP receiver: decodes each `ExportTraceServiceRequest` it is sent.
async fn otlp_receiver() -> (String, Received) {
    let received = Received::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                let mut spans = store.0.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            spans.push((service.clone(), span));
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apart_a_checkout_is_one_trace_and_prometheus_sees_every_process() {
    let (receiver, received) = otlp_receiver().await;
    let topology = start_topology(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.as_str()),
        ("OTEL_TRACES_SAMPLER_ARG", "1"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let app = Arc::new(TestApp::through_gateway(&topology).await);
    let shop = shop(&app, 1_000).await;
    let customer = app.customer(&unique_email("traced")).await;
    put_a_mug_in_the_cart(&app, token(&customer), &shop).await;

    // The customer's own trace context: everything the checkout causes joins it.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let root_span = "00f067aa0ba902b7";
    let r = app
        .request(reqwest::Method::POST, "/api/v1/orders/checkout")
        .bearer_auth(token(&customer))
        .header("Idempotency-Key", "traced-checkout")
        .header("traceparent", format!("00-{trace_id}-{root_span}-01"))
        .json(&checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    app.settle().await;

    let trace_bytes = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[i * 2..i * 2 + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    // Spans arrive in batches, each process's on its own schedule: wait for the
    // services the checkout calls and for the consumers of its events.
    let needed = [
        "gateway",
        "orders",
        "inventory",
        "payments",
        "cart",
        "notifications",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = received.of_trace(&trace_bytes);
        let all_in = needed.iter().all(|n| spans.iter().any(|(s, _)| s == n));
        // A span ends (and is sent) after its children: wait for every parent.
        let ids: BTreeSet<&[u8]> = spans.iter().map(|(_, s)| s.span_id.as_slice()).collect();
        let whole = spans.iter().all(|(_, s)| {
            hex(&s.parent_span_id) == root_span || ids.contains(s.parent_span_id.as_slice())
        });
        if (all_in && whole) || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let services: BTreeSet<&str> = spans.iter().map(|(s, _)| s.as_str()).collect();
    for needed in needed {
        assert!(
            services.contains(needed),
            "{needed} missing from {services:?}"
        );
    }
    assert!(services.len() >= 5, "{services:?}");
    let ids: BTreeSet<String> = spans.iter().map(|(_, s)| hex(&s.span_id)).collect();
    // One tree: the gateway's span hangs off the customer's, every other span off a
    // span of the trace.
    for (service, span) in &spans {
        let parent = hex(&span.parent_span_id);
        assert!(
            parent == root_span || ids.contains(&parent),
            "{service}'s {:?} has a parent outside the trace",
            span.name
        );
    }
    // Requests are named by method and route (or upstream), never by raw path.
    for (service, span) in spans
        .iter()
        .filter(|(_, s)| s.kind == SpanKind::Server as i32)
    {
        let (method, target) = span.name.split_once(' ').unwrap_or_default();
        assert!(
            ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method)
                && (target.starts_with('/') || service == "gateway"),
            "{service}'s server span is named {:?}",
            span.name
        );
    }
    let gateway = spans.iter().find(|(s, _)| s == "gateway").unwrap();
    assert_eq!(hex(&gateway.1.parent_span_id), root_span);
    // The consumers' spans are linked to the span that recorded their event.
    let consumers: Vec<&(String, Span)> = spans
        .iter()
        .filter(|(_, s)| s.kind == SpanKind::Consumer as i32)
        .collect();
    assert!(
        consumers.iter().any(|(s, _)| s == "notifications"),
        "{:?}",
        consumers
            .iter()
            .map(|(s, span)| (s, &span.name))
            .collect::<Vec<_>>()
    );
    for (service, span) in &consumers {
        let link = span
            .links
            .first()
            .unwrap_or_else(|| panic!("{service}: no link"));
        assert_eq!(link.trace_id, trace_bytes);
        assert_eq!(link.span_id, span.parent_span_id);
    }
    // Statements are spans named by operation and table, with no values.
    let statements: Vec<&str> = spans
        .iter()
        .filter(|(s, span)| s == "orders" && span.kind == SpanKind::Client as i32)
        .map(|(_, span)| span.name.as_str())
        .collect();
    assert!(
        statements.iter().any(|n| n.starts_with("INSERT ")),
        "{statements:?}"
    );

    prometheus_scrapes_the_topology(&app, &topology, &shop).await;
    clean_up(topology, Arc::into_inner(app).unwrap()).await;
}

/// A Prometheus of the test's own scraping every process of the topology, with the
/// alert rules loaded.
struct Prometheus {
    url: String,
    process: tokio::process::Child,
    dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_prometheus(topology: &emporium::topology::Topology) -> Prometheus {
    let dir = std::env::temp_dir().join(format!("emporium-prometheus-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut groups = String::new();
    for member in topology.members() {
        let service = member.service.unwrap_or("gateway");
        groups.push_str(&format!(
            "      - targets: ['{}']\n        labels: {{ service: '{service}', instance_name: '{}' }}\n",
            member.addr, member.name
        ));
    }
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus/alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nscrape_configs:\n  - job_name: emporium\n    static_configs:\n{groups}",
        rules.display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port_block(1);
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let process = tokio::process::Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus (Debian's package) is installed by scripts/test");
    Prometheus {
        url: format!("http://127.0.0.1:{port}"),
        process,
        dir: TempDir(dir),
    }
}

impl Prometheus {
    async fn api(&self, http: &reqwest::Client, path: &str, query: &[(&str, &str)]) -> Value {
        let Ok(r) = http
            .get(format!("{}{path}", self.url))
            .query(query)
            .send()
            .await
        else {
            return Value::Null;
        };
        r.json().await.unwrap_or(Value::Null)
    }

    /// Asks until `check` finds what it wants in the answer, for at most a minute.
    async fn wait_for(
        &self,
        http: &reqwest::Client,
        path: &str,
        query: &[(&str, &str)],
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self.api(http, path, query).await;
            if check(&answer) {
                return answer;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.0.join("prometheus.log"));
                panic!("{path} {query:?}: {answer}\nPrometheus said: {log:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first sample of an instant query that returned one.
    async fn value(&self, http: &reqwest::Client, promql: &str) -> f64 {
        let answer = self
            .wait_for(http, "/api/v1/query", &[("query", promql)], |a| {
                a["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| v.is_finite() && v > 0.0)
            })
            .await;
        answer["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

async fn prometheus_scrapes_the_topology(
    app: &Arc<TestApp>,
    topology: &emporium::topology::Topology,
    shop: &crate::checkout::Shop,
) {
    let mut prometheus = start_prometheus(topology).await;
    let http = reqwest::Client::new();
    let members = topology.members().len();
    prometheus
        .wait_for(&http, "/api/v1/targets", &[], |a| {
            let targets = a["data"]["activeTargets"].as_array();
            targets.is_some_and(|t| t.len() == members && t.iter().all(|t| t["health"] == "up"))
        })
        .await;
    // Traffic for the queries to see: checkouts and product pages, while scraped.
    let customer = app.customer(&unique_email("scraped")).await;
    let listing = get_json(app, "/api/v1/catalog/products").await;
    let product = listing["items"][0]["id"].as_str().unwrap().to_owned();
    for round in 0..3 {
        put_a_mug_in_the_cart(app, token(&customer), shop).await;
        let r = app
            .request(reqwest::Method::POST, "/api/v1/orders/checkout")
            .bearer_auth(token(&customer))
            .header("Idempotency-Key", format!("scraped-{round}"))
            .json(&checkout_body(shop, OK_CARD, &[shop.a_store.as_str()]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        for _ in 0..10 {
            let r = app
                .request(
                    reqwest::Method::GET,
                    &format!("/api/v1/catalog/products/{product}"),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    let checkouts = prometheus
        .value(
            &http,
            "sum(rate(checkout_outcomes_total{outcome=\"completed\"}[1m]))",
        )
        .await;
    let p99 = prometheus
        .value(
            &http,
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{route=\"/api/v1/catalog/products/{product}\"}[1m])))",
        )
        .await;
    eprintln!("Prometheus: {checkouts:.3} checkouts/s, product detail p99 {p99:.4} s");
    assert!(p99 < 5.0, "{p99}");

    // Every metric a dashboard or an alert asks for is one the processes export.
    let names = prometheus
        .wait_for(&http, "/api/v1/label/__name__/values", &[], |a| {
            a["data"].as_array().is_some_and(|d| !d.is_empty())
        })
        .await;
    let exported: BTreeSet<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut missing: HashMap<String, Vec<String>> = HashMap::new();
    for (source, expr) in dashboard_queries() {
        for name in metric_names(&expr) {
            if !exported.contains(name.as_str()) {
                missing.entry(source.clone()).or_default().push(name);
            }
        }
    }
    assert!(missing.is_empty(), "named but not exported: {missing:#?}");
    // The alert rules loaded and are evaluated against this data.
    prometheus
        .wait_for(&http, "/api/v1/rules", &[], |a| {
            a["data"]["groups"].as_array().is_some_and(|g| {
                !g.is_empty()
                    && g.iter().all(|g| {
                        g["rules"]
                            .as_array()
                            .is_some_and(|r| r.iter().all(|r| r["health"] == "ok"))
                    })
            })
        })
        .await;
    let _ = prometheus.process.kill().await;
}
