//! Faults the distributed topology survives while sixteen customers check out without
//! pause through the gateway: processes killed outright and started again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emporium::topology::Topology;
use reqwest::StatusCode;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::apart::{EventAccount, start_topology};
use crate::checkout::{OK_CARD, Shop, checkout_body, shop};
use crate::support::*;

pub const SHOPPERS: usize = 16;
const MUGS: i64 = 100_000;

/// What one checkout request came to, as its customer saw it.
pub struct Attempt {
    key: String,
    status: Option<StatusCode>,
    /// The last answer's problem code, if it was a problem.
    code: Option<String>,
    /// The longest any one of its requests took to be answered.
    pub slowest: Duration,
}

/// Customers checking out one mug at a time until told to stop, each retrying a
/// request the platform could not answer (502, 503, 504, no answer) with the same
/// `Idempotency-Key`, as a real client does.
pub struct Load {
    stop: Arc<AtomicBool>,
    completed: Arc<AtomicU64>,
    shoppers: Vec<JoinHandle<Vec<Attempt>>>,
}

impl Load {
    pub async fn start(app: &Arc<TestApp>, shop: &Arc<Shop>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let completed = Arc::new(AtomicU64::new(0));
        let mut shoppers = Vec::new();
        for n in 0..SHOPPERS {
            let customer = app.customer(&unique_email(&format!("shopper{n}"))).await;
            let (app, shop) = (app.clone(), shop.clone());
            let (stop, completed) = (stop.clone(), completed.clone());
            shoppers.push(tokio::spawn(async move {
                let mut attempts = Vec::new();
                let mut round = 0;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let key = format!("shopper{n}-{round}");
                    put_a_mug_in_the_cart(&app, token(&customer), &shop).await;
                    let (status, code, slowest) =
                        check_out(&app, token(&customer), &shop, &key).await;
                    if status == Some(StatusCode::CREATED) {
                        completed.fetch_add(1, Ordering::Relaxed);
                    }
                    attempts.push(Attempt {
                        key,
                        status,
                        code,
                        slowest,
                    });
                }
                attempts
            }));
        }
        Self {
            stop,
            completed,
            shoppers,
        }
    }

    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Waits until `n` checkouts have completed in all.
    pub async fn wait_for_completed(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.completed() < n {
            assert!(
                self.shoppers.iter().all(|s| !s.is_finished()),
                "a shopper stopped (its panic is above)"
            );
            assert!(
                Instant::now() < deadline,
                "only {} checkouts completed",
                self.completed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn finish(self) -> Vec<Attempt> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for shopper in self.shoppers {
            all.extend(shopper.await.unwrap());
        }
        all
    }
}

/// No answer, or the platform could not answer: 502 to 504.
fn unanswered(status: Option<StatusCode>) -> bool {
    matches!(status.map(|s| s.as_u16()), None | Some(502..=504))
}

pub async fn put_a_mug_in_the_cart(app: &TestApp, token: &str, shop: &Shop) {
    for _ in 0..600 {
        let answer = app
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/cart/lines/{}", shop.mug),
            )
            .bearer_auth(token)
            .json(&serde_json::json!({ "quantity": 1 }))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if !unanswered(Some(r.status())) => {
                panic!(
                    "the cart refused: {} {}",
                    r.status(),
                    r.text().await.unwrap()
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("the cart never answered");
}

/// Sends the checkout until the platform answers it, waiting as long as a
/// `Retry-After` asks: the last status (none if nothing ever answered), its problem
/// code, and the longest one request took.
async fn check_out(
    app: &TestApp,
    token: &str,
    shop: &Shop,
    key: &str,
) -> (Option<StatusCode>, Option<String>, Duration) {
    let body = checkout_body(shop, OK_CARD, &[shop.a_store.as_str()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (None, None);
    let mut slowest = Duration::ZERO;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let answer = app
            .request(reqwest::Method::POST, "/api/v1/orders/checkout")
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await;
        slowest = slowest.max(sent.elapsed());
        let mut pause = Duration::from_millis(50);
        match answer {
            Ok(r) => {
                let status = r.status();
                if let Some(seconds) = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    pause = Duration::from_secs(seconds);
                }
                let problem: Option<serde_json::Value> = r.json().await.ok();
                let code = problem.and_then(|p| Some(p.get("code")?.as_str()?.to_owned()));
                last = (Some(status), code);
            }
            Err(_) => last = (None, None),
        }
        let in_progress = last.1.as_deref() == Some("idempotency_key_in_progress");
        if !unanswered(last.0) && !in_progress {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    (last.0, last.1, slowest)
}

/// A pool on a service's database with its schema first on the search path.
async fn database(topology: &Topology, member: &str) -> PgPool {
    database_of(topology, member, member).await
}

pub async fn database_of(topology: &Topology, member: &str, schema: &str) -> PgPool {
    let url = topology.member(member).unwrap().database_url().unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", schema)]))
        .await
        .unwrap()
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Settings for every fault test: requests end within 5 s, so a checkout whose process
/// died is taken over (its key, its lease) within seconds; a replica back after a crash
/// rejoins the gateway's rotation within a second, as a readiness probe would put it
/// back.
pub const FAULT_SETTINGS: &[(&str, &str)] = &[
    ("REQUEST_TIMEOUT_MS", "5000"),
    ("CHECKOUT_LEASE_SECS", "2"),
    ("GATEWAY_EJECT_FOR_MS", "500"),
    ("GATEWAY_BREAKER_COOL_DOWN_MS", "500"),
    ("GATEWAY_BREAKER_MAX_COOL_DOWN_MS", "1000"),
];

/// Waits until every checkout the platform took has ended, then checks each ended
/// well: completed as exactly one paid order and one capture, or failed with nothing
/// held or authorized; stock and ledger balanced; every event recorded for a consumer
/// handled by it. Returns the figures for the test's line on stderr.
pub async fn assert_all_accounted(
    topology: &Topology,
    app: &TestApp,
    attempts: &[Attempt],
) -> String {
    let orders = database(topology, "orders").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &orders,
        "SELECT count(*) FROM checkouts WHERE step NOT IN ('completed', 'failed')",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "checkouts left unfinished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.settle().await;
    let completed = count(
        &orders,
        "SELECT count(*) FROM checkouts WHERE step = 'completed'",
    )
    .await;
    let failed = count(
        &orders,
        "SELECT count(*) FROM checkouts WHERE step = 'failed'",
    )
    .await;
    assert_eq!(
        count(
            &orders,
            "SELECT count(*) FROM checkouts c WHERE step = 'completed' AND \
             (SELECT count(*) FROM orders o WHERE o.checkout_id = c.id AND o.status = 'paid') <> 1",
        )
        .await,
        0,
        "a completed checkout is exactly one paid order"
    );
    assert_eq!(
        count(&orders, "SELECT count(*) FROM orders").await,
        completed
    );
    let answered_created: Vec<String> = attempts
        .iter()
        .filter(|a| a.status == Some(StatusCode::CREATED))
        .map(|a| a.key.clone())
        .collect();
    let confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checkouts WHERE step = 'completed' AND idempotency_key = ANY($1)",
    )
    .bind(&answered_created)
    .fetch_one(&orders)
    .await
    .unwrap();
    assert_eq!(
        confirmed,
        answered_created.len() as i64,
        "each 201 is an order"
    );

    // Charged once per order, nothing left authorized, the ledger balanced.
    let payments = database(topology, "payments").await;
    assert_eq!(
        count(
            &payments,
            "SELECT count(*) FROM payments WHERE status = 'captured'"
        )
        .await,
        completed,
        "one capture per order"
    );
    assert_eq!(
        count(
            &payments,
            "SELECT count(*) FROM payments WHERE status IN ('pending', 'authorized', 'requires_action')",
        )
        .await,
        0,
        "no authorization left hanging"
    );
    assert_eq!(
        count(
            &payments,
            "SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_entries"
        )
        .await,
        0
    );

    // Stock: one mug per order gone, nothing held.
    let inventory = database(topology, "inventory").await;
    assert_eq!(
        count(
            &inventory,
            "SELECT count(*) FROM reservations WHERE status = 'held'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &inventory,
            "SELECT coalesce(sum(on_hand - reserved), 0)::bigint FROM stock_levels"
        )
        .await,
        MUGS - completed
    );

    // No event lost: every consumer handled every event of its kinds once.
    let account = EventAccount::new(topology).await;
    account.settle().await;
    let tally = account.tally().await;
    for (member, recorded, handled) in &tally {
        assert_eq!(recorded, handled, "{member}");
    }
    let never: Vec<&str> = attempts
        .iter()
        .filter(|a| unanswered(a.status))
        .map(|a| a.code.as_deref().unwrap_or("-"))
        .collect();
    let statuses: std::collections::BTreeMap<String, usize> =
        attempts.iter().fold(Default::default(), |mut m, a| {
            *m.entry(a.status.map_or("none".into(), |s| s.as_u16().to_string()))
                .or_default() += 1;
            m
        });
    format!(
        "{} checkouts ({completed} completed, {failed} failed and compensated, {} never \
         answered: {never:?}); answers {statuses:?}; events (member, recorded, handled): {tally:?}",
        attempts.len(),
        never.len()
    )
}

/// `FAULT_SETTINGS` and `extra` after them.
pub fn fault_settings<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    FAULT_SETTINGS
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// A shop in the topology, and sixteen customers checking out there, twenty of whose
/// checkouts have completed.
pub async fn under_load(topology: &Topology) -> (Arc<TestApp>, Load) {
    let app = Arc::new(TestApp::through_gateway(topology).await);
    let shop = Arc::new(shop(&app, MUGS).await);
    let load = Load::start(&app, &shop).await;
    load.wait_for_completed(20).await;
    (app, load)
}

pub async fn finish(topology: Topology, app: Arc<TestApp>) {
    let app = Arc::try_unwrap(app).unwrap_or_else(|_| panic!("shoppers still hold the app"));
    crate::apart::clean_up(topology, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_survive_orders_payments_and_inventory_killed_mid_load() {
    let mut topology = start_topology(FAULT_SETTINGS).await;
    let (app, load) = under_load(&topology).await;
    let started = Instant::now();
    let mut figures = Vec::new();
    for member in ["orders", "payments", "inventory"] {
        let before = load.completed();
        topology.kill(member).await.unwrap();
        let down = Instant::now();
        topology.restart(member).await.unwrap();
        let back = down.elapsed();
        load.wait_for_completed(before + 20).await;
        figures.push(format!(
            "{member} killed at {:?} after {before} checkouts, ready again in {back:?}",
            down - started
        ));
    }
    let attempts = load.finish().await;
    let elapsed = started.elapsed();
    let accounted = assert_all_accounted(&topology, &app, &attempts).await;
    eprintln!(
        "kills: {SHOPPERS} shoppers for {elapsed:?}; {}; {accounted}",
        figures.join("; ")
    );
    finish(topology, app).await;
}
