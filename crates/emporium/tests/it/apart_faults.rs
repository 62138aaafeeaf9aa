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

async fn put_a_mug_in_the_cart(app: &TestApp, token: &str, shop: &Shop) {
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

async fn database_of(topology: &Topology, member: &str, schema: &str) -> PgPool {
    let url = topology.member(member).unwrap().database_url().unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", schema)]))
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
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

pub async fn finish(topology: Topology, app: Arc<TestApp>) {
    let app = Arc::try_unwrap(app).unwrap_or_else(|_| panic!("shoppers still hold the app"));
    crate::apart::clean_up(topology, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_survive_orders_payments_and_inventory_killed_mid_load() {
    let mut topology = start_topology(FAULT_SETTINGS).await;
    let app = Arc::new(TestApp::through_gateway(&topology).await);
    let shop = Arc::new(shop(&app, MUGS).await);
    let load = Load::start(&app, &shop).await;
    let started = Instant::now();
    load.wait_for_completed(20).await;
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

/// A TCP proxy the test controls: it forwards to `upstream` until cut, then drops
/// every connection and refuses new ones until restored.
struct Cuttable {
    port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl Cuttable {
    async fn start(upstream: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*watch.borrow() {
                    continue;
                }
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watch.wait_for(|open| !open) => {}
                    }
                });
            }
        });
        Self { port, open }
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn restore(&self) {
        self.open.send_replace(true);
    }
}

/// Events recorded in every outbox but not yet published.
async fn unpublished(topology: &Topology) -> i64 {
    let mut total = 0;
    for member in [
        "identity",
        "vendors",
        "catalog-1",
        "inventory",
        "payments",
        "orders",
    ] {
        let schema = member.trim_end_matches("-1");
        let pool = database_of(topology, member, schema).await;
        total += count(
            &pool,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        )
        .await;
        pool.close().await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_go_on_and_no_event_is_lost_while_the_broker_is_cut_off_for_ten_seconds() {
    let broker = Cuttable::start("127.0.0.1:5672").await;
    let amqp = format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port);
    let settings: Vec<(&str, &str)> = FAULT_SETTINGS
        .iter()
        .copied()
        .chain([("AMQP_URL", amqp.as_str())])
        .collect();
    let topology = start_topology(&settings).await;
    let app = Arc::new(TestApp::through_gateway(&topology).await);
    let shop = Arc::new(shop(&app, MUGS).await);
    let load = Load::start(&app, &shop).await;
    load.wait_for_completed(20).await;

    broker.cut();
    let cut = Instant::now();
    let at_cut = load.completed();
    // Ten seconds without the broker: checkouts go on (they call services over HTTP),
    // their events wait in the outboxes, and readiness says the broker is gone.
    let orders = topology.member("orders").unwrap().url();
    let mut backlog = 0;
    let mut ready_while_cut = 200;
    while cut.elapsed() < Duration::from_secs(10) {
        backlog = backlog.max(unpublished(&topology).await);
        ready_while_cut = app
            .http
            .get(format!("{orders}/ready"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = load.completed() - at_cut;
    broker.restore();
    let restored = Instant::now();
    load.wait_for_completed(load.completed() + 20).await;
    let attempts = load.finish().await;
    let accounted = assert_all_accounted(&topology, &app, &attempts).await;
    let drained = restored.elapsed();
    assert!(during > 0, "checkouts went on without the broker");
    assert!(backlog > 0, "events waited in the outboxes");
    assert_eq!(
        ready_while_cut, 503,
        "orders is not ready without its broker"
    );
    assert_eq!(unpublished(&topology).await, 0);
    eprintln!(
        "broker cut: {during} checkouts completed during the 10 s cut, up to {backlog} events \
         waiting in the outboxes, all handled {drained:?} after it came back; {accounted}"
    );
    finish(topology, app).await;
}

/// `GET /dev/mailbox` through the gateway (routed to notifications): its status, the
/// `Retry-After` it carried, and how long it took.
async fn mailbox(app: &TestApp) -> (u16, Option<u64>, Duration) {
    let sent = Instant::now();
    let r = app
        .http
        .get(format!("{}/dev/mailbox", app.base))
        .send()
        .await
        .unwrap();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (r.status().as_u16(), retry_after, sent.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_service_opens_its_breaker_while_checkouts_go_on_and_closes_once_it_answers() {
    let settings: Vec<(&str, &str)> = FAULT_SETTINGS
        .iter()
        .copied()
        .chain([
            ("GATEWAY_ROUTE_TIMEOUTS", "/dev/mailbox=300"),
            ("GATEWAY_BREAKER_THRESHOLD", "3"),
        ])
        .collect();
    let topology = start_topology(&settings).await;
    let app = Arc::new(TestApp::through_gateway(&topology).await);
    let shop = Arc::new(shop(&app, MUGS).await);
    let load = Load::start(&app, &shop).await;
    load.wait_for_completed(20).await;
    assert_eq!(mailbox(&app).await.0, 200);

    // Notifications hangs (SIGSTOP: its sockets still take connections, nothing
    // answers): each call waits out its 300 ms limit until the breaker opens.
    topology.pause("notifications").await.unwrap();
    let hung = Instant::now();
    let mut timed_out = 0;
    let (status, retry_after, took) = loop {
        let answer = mailbox(&app).await;
        if answer.0 != 504 {
            break answer;
        }
        timed_out += 1;
        assert!(timed_out <= 3, "the breaker never opened");
    };
    let opened_after = hung.elapsed();
    assert_eq!((status, timed_out), (503, 3), "open after three time-outs");
    assert!(
        retry_after.is_some(),
        "the open breaker says when to come back"
    );
    assert!(
        took < Duration::from_millis(100),
        "answered at once: {took:?}"
    );

    // Checkouts do not need notifications and go on.
    let before = load.completed();
    load.wait_for_completed(before + 20).await;

    // Recovered: after the cool-down one probe goes through and closes the breaker.
    topology.resume("notifications").await.unwrap();
    let resumed = Instant::now();
    let deadline = resumed + Duration::from_secs(10);
    loop {
        let (status, retry_after, _) = mailbox(&app).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after the service came back"
        );
        tokio::time::sleep(Duration::from_millis(retry_after.map_or(50, |s| s * 1000))).await;
    }
    let closed = resumed.elapsed();
    let attempts = load.finish().await;
    let accounted = assert_all_accounted(&topology, &app, &attempts).await;
    eprintln!(
        "hung service: breaker open {opened_after:?} after the hang ({timed_out} time-outs \
         of 300 ms), open answers in {took:?}; 20 checkouts completed meanwhile; closed \
         {closed:?} after the service came back; {accounted}"
    );
    finish(topology, app).await;
}
