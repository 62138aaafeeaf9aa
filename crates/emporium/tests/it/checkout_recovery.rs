//! A process killed in the middle of a checkout: the next one finishes it, or undoes
//! what was done.

use std::time::Duration;

use crate::checkout::*;
use crate::support::*;

/// `emporium serve` as a child process on the test's database.
fn serve_child(app: &TestApp, port: u16, extra: &[(&str, &str)]) -> tokio::process::Child {
    let scratch =
        std::env::temp_dir().join(format!("emporium-search-{}", uuid::Uuid::now_v7().simple()));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium"));
    cmd.arg("serve")
        .env("EMPORIUM_BIND", format!("127.0.0.1:{port}"))
        .env("EMPORIUM_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("DATABASE_URL", &app.config.database_url)
        .env("SEARCH_INDEX_DIR", scratch.join("index"))
        .env("MEDIA_DIR", scratch.join("media"))
        .env("EMPORIUM_DEV", "1")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

async fn checkout_step(app: &TestApp) -> Option<String> {
    let pool = app.pool("orders").await;
    sqlx::query_scalar("SELECT step FROM checkouts ORDER BY created_at DESC LIMIT 1")
        .fetch_optional(&pool)
        .await
        .unwrap()
}

/// A shop with one customer's cart of `mugs`, handed over to child processes: the
/// first serves a checkout through a gateway that takes `latency_ms` per call.
struct Crash {
    app: TestApp,
    http: reqwest::Client,
    first: tokio::process::Child,
    request: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

async fn start_crash(name: &str, mugs: i64, latency_ms: &str) -> Crash {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email(name)).await;
    add_to_cart(&app, &customer, &shop.mug, mugs).await;
    // From here on, child processes own the database.
    app.platform.shut_down();
    let port = crate::distributed::free_port();
    let first = serve_child(
        &app,
        port,
        &[
            ("PAYMENTS_SIMULATOR_LATENCY_MS", latency_ms),
            ("CHECKOUT_LEASE_SECS", "2"),
        ],
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    crate::distributed::wait_ready(&http, &base).await;
    let body = checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]);
    let (h, t) = (http.clone(), token(&customer).to_owned());
    let request = tokio::spawn(async move {
        h.post(format!("{base}/api/v1/orders/checkout"))
            .bearer_auth(t)
            .header("Idempotency-Key", "crash-1")
            .json(&body)
            .send()
            .await
    });
    Crash {
        app,
        http,
        first,
        request,
    }
}

/// Polls the checkout's step until it is one of `steps` (or gives up and returns it).
async fn wait_for_step(
    app: &TestApp,
    steps: &[&str],
    tries: usize,
    every: Duration,
) -> Option<String> {
    let mut step = None;
    for _ in 0..tries {
        step = checkout_step(app).await;
        if step.as_deref().is_some_and(|s| steps.contains(&s)) {
            break;
        }
        tokio::time::sleep(every).await;
    }
    step
}

impl Crash {
    /// SIGKILLs the first process once the checkout reached one of `steps`, then starts
    /// the next one, whose recovery worker takes over.
    async fn kill_at(mut self, steps: &[&str]) -> (TestApp, tokio::process::Child) {
        let step = wait_for_step(&self.app, steps, 200, Duration::from_millis(25)).await;
        self.first.start_kill().unwrap();
        self.first.wait().await.unwrap();
        assert!(
            step.as_deref().is_some_and(|s| steps.contains(&s)),
            "killed at {step:?}"
        );
        assert!(
            self.request.await.unwrap().is_err(),
            "the killed process cannot have answered"
        );
        let port = crate::distributed::free_port();
        let second = serve_child(&self.app, port, &[("CHECKOUT_LEASE_SECS", "2")]);
        crate::distributed::wait_ready(&self.http, &format!("http://127.0.0.1:{port}")).await;
        (self.app, second)
    }
}

#[tokio::test]
async fn a_checkout_killed_after_authorization_is_finished_by_the_next_process() {
    // The gateway is slow, so the process dies after authorization, before capture.
    let crash = start_crash("kim", 1, "1500").await;
    let (app, _second) = crash.kill_at(&["authorized", "confirmed"]).await;
    let step = wait_for_step(&app, &["completed"], 200, Duration::from_millis(100)).await;
    assert_eq!(step.as_deref(), Some("completed"));
    expect_count(
        &app,
        "orders",
        "SELECT count(*) FROM orders WHERE status = 'paid'",
        1,
    )
    .await;
    expect_one_capture(&app).await;
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;
    expect_count(
        &app,
        "inventory",
        "SELECT coalesce(sum(on_hand), 0)::bigint FROM stock_levels",
        4,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_entries",
        0,
    )
    .await;
}

#[tokio::test]
async fn a_checkout_killed_before_the_gateway_answered_is_compensated() {
    // Stock is held and the gateway has not answered when the process dies.
    let crash = start_crash("lou", 2, "3000").await;
    let (app, _second) = crash.kill_at(&["reserved"]).await;
    let step = wait_for_step(&app, &["failed"], 200, Duration::from_millis(100)).await;
    assert_eq!(step.as_deref(), Some("failed"));
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;
    expect_count(
        &app,
        "inventory",
        "SELECT coalesce(sum(reserved), 0)::bigint FROM stock_levels",
        0,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status IN ('authorized', 'captured')",
        0,
    )
    .await;
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 0).await;
}
