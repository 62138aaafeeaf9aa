use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn health_ready_metrics_request_ids_and_openapi() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let r = app
        .http
        .get(app.url("/ready"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-123");
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database:identity"], "ok");
    assert_eq!(ready["checks"]["events:in-process"], "ok");

    app.register("metrics@example.com", "M").await;
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/api/v1/identity/register\"")
            && l.contains("status=\"201\"")),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));

    let r = app
        .http
        .get(app.url("/api/v1/no/such/thing"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;

    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/identity/login"]["post"].is_object());
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app
        .http
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/openapi.json"));
    let js = app
        .http
        .get(app.url("/docs/rapidoc-min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
}

#[tokio::test]
async fn production_mode_has_no_dev_mailbox() {
    let app = TestApp::spawn_with(|c| c.dev_mode = false).await;
    let r = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(app.url("/dev/mailbox")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .http
        .get(app.url("/api/v1/notifications/dev/mailbox"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    // Registration still works; the email is recorded, just not browsable.
    assert_eq!(app.register("prod@example.com", "Prod").await.status(), 201);
}
