//! Issue 9, "fix the class": refusals from every layer are problem+json, JSON bodies
//! documented as objects must be objects, refusals keep keep-alive connections healthy,
//! and the checkout recovery worker does not start before the services it calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::{
    INTERNAL_SECRET, TestApp, assert_problem, call, token, unique_email, until_counter_above,
};

async fn send_json(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &str,
) -> reqwest::Response {
    app.request(method, path)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Asserts a 422 whose only error is `field` expecting a JSON object.
async fn assert_not_an_object(res: reqwest::Response, field: &str) {
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], field, "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("a JSON object"),
        "{p}"
    );
}

/// Finding 14: a struct is read only from a JSON object, never from the array of its
/// fields, at the top level and nested; nothing changes.
#[tokio::test]
async fn json_bodies_documented_as_objects_must_be_objects() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&unique_email("admin")).await;
    let admin = token(&admin).to_owned();

    let before: Value = app
        .get_auth("/api/v1/tax/settings", &admin)
        .await
        .json()
        .await
        .unwrap();
    let flipped = !before["prices_include_tax"].as_bool().unwrap();
    let r = send_json(
        &app,
        Method::PUT,
        "/api/v1/tax/settings",
        &admin,
        &format!("[{flipped}]"),
    )
    .await;
    assert_not_an_object(r, "body").await;
    let after: Value = app
        .get_auth("/api/v1/tax/settings", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
    // The object form still works.
    let r = send_json(
        &app,
        Method::PUT,
        "/api/v1/tax/settings",
        &admin,
        &json!({ "prices_include_tax": before["prices_include_tax"] }).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);

    // A guest's cart line.
    let guest: Value = app
        .post("/api/v1/cart/guest-token", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let variant = contracts::catalog::VariantId::new();
    let r = app
        .request(Method::PUT, &format!("/api/v1/cart/lines/{variant}"))
        .header("cart-token", guest["cart_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .body("[3]")
        .send()
        .await
        .unwrap();
    assert_not_an_object(r, "body").await;

    // The profile.
    let customer = app.customer(&unique_email("arrays")).await;
    let customer = token(&customer).to_owned();
    let me: Value = app
        .get_auth("/api/v1/identity/me", &customer)
        .await
        .json()
        .await
        .unwrap();
    let r = send_json(
        &app,
        Method::PATCH,
        "/api/v1/identity/me",
        &customer,
        "[null,null]",
    )
    .await;
    assert_not_an_object(r, "body").await;
    let r = send_json(
        &app,
        Method::PATCH,
        "/api/v1/identity/me",
        &customer,
        r#"["Renamed",null]"#,
    )
    .await;
    assert_not_an_object(r, "body").await;
    let again: Value = app
        .get_auth("/api/v1/identity/me", &customer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["name"], me["name"]);

    // Nested: an address written as the array of its fields.
    let r = send_json(
        &app,
        Method::POST,
        "/api/v1/orders/checkout/preview",
        &customer,
        &json!({
            "address": ["Ada", "1 Main St", null, "Lyon", "69001", "FR", null],
            "shipping": {},
            "card_number": "4242424242424242",
        })
        .to_string(),
    )
    .await;
    assert_not_an_object(r, "address").await;
}

/// Finding 15: every refusal — extractors, body limits, the HTTP server's own limits —
/// is problem+json with a code.
#[tokio::test]
async fn every_refusal_is_problem_json() {
    let app = TestApp::spawn().await;

    // Invalid UTF-8 in a path segment (axum's `Path` rejection).
    let r = app
        .request(Method::GET, "/api/v1/catalog/products/%FF%FE")
        .send()
        .await
        .unwrap();
    let p = assert_problem(r, 400, "bad_request").await;
    assert!(p["detail"].as_str().unwrap().contains("UTF-8"), "{p}");

    // A media upload that is not multipart (axum's `Multipart` rejection), signed in.
    let customer = app.customer(&unique_email("uploader")).await;
    let r = app
        .request(Method::POST, "/api/v1/catalog/media")
        .bearer_auth(token(&customer))
        .json(&json!({ "file": "not an upload" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "bad_request").await;

    // A body over the limit on a route that reads raw bytes (axum's body limit).
    let r = app
        .request(Method::POST, "/api/v1/payments/webhooks/simulator")
        .header("content-type", "application/json")
        .body(vec![b' '; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_problem(r, 413, "payload_too_large").await;

    // A 20 KB request target.
    let long = format!("/api/v1/catalog/products?q={}", "a".repeat(20 * 1024));
    let r = app.request(Method::GET, &long).send().await.unwrap();
    assert_problem(r, 414, "uri_too_long").await;

    // 200 header fields.
    let mut req = app.request(Method::GET, "/health");
    for i in 0..200 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    let r = req.send().await.unwrap();
    assert_problem(r, 431, "request_header_fields_too_large").await;

    // A bare method refusal and an unknown API path keep their codes.
    let r = app
        .request(Method::DELETE, "/api/v1/tax/settings")
        .send()
        .await
        .unwrap();
    assert_problem(r, 405, "method_not_allowed").await;

    // The web UI's own pages stay pages.
    let r = app
        .request(Method::GET, "/no-such-page")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        r.headers()
    );
}

/// One response read off a raw connection: its status and whether it says
/// `Connection: close`; `None` when the connection ended without (a whole) one.
async fn read_response(conn: &mut BufReader<TcpStream>) -> Option<(u16, bool)> {
    let mut line = String::new();
    if conn.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
    let (mut length, mut close) = (0usize, false);
    loop {
        line.clear();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "connection" => close = value.trim().eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.ok()?;
    Some((status, close))
}

/// Finding 10: 10 000 POSTs refused before their body is read (no token on a signed-in
/// route), over keep-alive connections, head and body written apart: every one answered.
#[tokio::test]
async fn refused_posts_keep_keep_alive_connections_healthy() {
    const CONNECTIONS: usize = 4;
    const PER_CONNECTION: usize = 2_500;
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = json!({ "note": "x".repeat(200) }).to_string();
    let head = format!(
        "POST /api/v1/cart/merge HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (addr, head, body) = (addr.clone(), head.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let (mut dropped, mut closed) = (0, 0);
            let mut conn: Option<BufReader<TcpStream>> = None;
            for i in 0..PER_CONNECTION {
                let stream = match conn.as_mut() {
                    Some(c) => c,
                    None => {
                        let s = TcpStream::connect(&addr).await.unwrap();
                        s.set_nodelay(true).unwrap();
                        conn.insert(BufReader::new(s))
                    }
                };
                // Every other body follows its head a moment later, as on a real
                // network: the refusal is then ready before the body has arrived.
                let late = i % 2 == 1;
                let sent = async {
                    stream.get_mut().write_all(head.as_bytes()).await?;
                    if late {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    stream.get_mut().write_all(body.as_bytes()).await
                }
                .await;
                let answer = match sent {
                    Ok(()) => read_response(stream).await,
                    Err(_) => None,
                };
                match answer {
                    Some((status, close)) => {
                        assert_eq!(status, 401);
                        if close {
                            closed += 1;
                            conn = None;
                        }
                    }
                    None => {
                        dropped += 1;
                        conn = None;
                    }
                }
            }
            (dropped, closed)
        }));
    }
    let (mut dropped, mut closed) = (0, 0);
    for w in workers {
        let (d, c) = w.await.unwrap();
        dropped += d;
        closed += c;
    }
    assert_eq!(
        dropped,
        0,
        "{dropped} of {} refused POSTs lost their connection without an answer",
        CONNECTIONS * PER_CONNECTION
    );
    // Small bodies are drained: the connections stay open.
    assert_eq!(closed, 0, "answers that closed their connection");
}

/// Finding 16: merging a guest cart needs the guest cart's `Cart-Token`.
#[tokio::test]
async fn cart_merge_requires_the_cart_token() {
    let app = TestApp::spawn().await;
    let customer = app.customer(&unique_email("merger")).await;
    let r = call(
        &app,
        Method::POST,
        "/api/v1/cart/merge",
        Some(token(&customer)),
        None,
    )
    .await;
    let p = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "Cart-Token", "{p}");
    let r = app
        .request(Method::POST, "/api/v1/cart/merge")
        .bearer_auth(token(&customer))
        .header("cart-token", "short")
        .send()
        .await
        .unwrap();
    let p = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "Cart-Token", "{p}");
    // With one, it merges (an unknown guest cart merges nothing).
    let r = app
        .request(Method::POST, "/api/v1/cart/merge")
        .bearer_auth(token(&customer))
        .header("cart-token", kernel::secret::random_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// ERROR events, recorded by a subscriber installed for this test's thread.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Errors {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            let mut text = String::new();
            event.record(
                &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                    text.push_str(&format!("{}={value:?} ", field.name()));
                },
            );
            self.0.lock().unwrap().push(text);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Finding 18: a process starting with a checkout to recover does not report the
/// services it hosts as unreachable: the recovery worker starts once they are mounted.
/// (A current-thread runtime: every task runs on this thread, under the subscriber.)
#[tokio::test]
async fn checkout_recovery_starts_once_the_services_are_mounted() {
    let errors = Errors::default();
    let _guard = tracing::subscriber::set_default(errors.clone());
    let mut config = kernel::testing::fresh_database_config();
    config.internal_secret = Some(kernel::secret::Redacted(INTERNAL_SECRET.into()));
    // A checkout whose process died while the payment awaited confirmation: the next
    // process's worker takes it over at once, asking payments about it first.
    let pool = orders::connect(&config).await.unwrap();
    let id = uuid::Uuid::now_v7();
    let plan = json!({
        "currency": "EUR",
        "email": "crashed@example.com",
        "address": { "name": "Ada", "line1": "1 Main St", "city": "Lyon",
                     "postal_code": "69001", "country": "FR" },
        "stores": [],
        "promotion_code": null,
        "first_order": true,
        "platform_funded": false,
        "prices_include_tax": false,
    });
    sqlx::query(
        "INSERT INTO checkouts (id, customer, idempotency_key, step, plan, lease_until) \
         VALUES ($1, $2, 'crashed', 'awaiting_action', $3, now() - interval '1 minute')",
    )
    .bind(id)
    .bind(uuid::Uuid::now_v7())
    .bind(&plan)
    .execute(&pool)
    .await
    .unwrap();

    let app = emporium::build(config, emporium::SERVICES).await.unwrap();
    let mut attempts = 0;
    for _ in 0..500 {
        attempts = sqlx::query_scalar("SELECT attempts FROM checkouts WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if attempts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(attempts > 0, "the recovery worker never took the checkout");
    // What is asserted is an absence (no "unreachable" error): wait until the round that
    // took the checkout has ended, which the worker counts.
    until_counter_above("checkout_recovery_rounds_total", 0.0).await;
    app.platform.shut_down();
    let errors = errors.0.lock().unwrap().clone();
    let unreachable: Vec<_> = errors
        .iter()
        .filter(|e| e.contains("not started yet") || e.contains("unreachable"))
        .collect();
    assert!(unreachable.is_empty(), "{unreachable:#?}");
}

/// A path id that cannot be one is a 404 problem naming the parameter, answered by the
/// extractor before any handler runs.
#[tokio::test]
async fn a_malformed_path_id_is_a_404_problem_naming_it() {
    let app = TestApp::spawn().await;
    let customer = app.customer(&unique_email("paths")).await;
    for path in [
        "/api/v1/orders/not-an-order",
        "/api/v1/orders/sub-orders/sto_0192f3a4b5c67d8e9fa0b1c2d3e4f5a6",
        "/api/v1/identity/me/addresses/adr_123",
    ] {
        let r = app.get_auth(path, token(&customer)).await;
        let p = assert_problem(r, 404, "not_found").await;
        let field = p["errors"][0]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!field.is_empty(), "{path}: {p}");
        assert_eq!(p["errors"][0]["code"], "invalid", "{path}: {p}");
    }
}
