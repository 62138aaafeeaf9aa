//! Outages the distributed topology rides out while sixteen customers check out through
//! the gateway: the broker cut off, a service hung.

use std::time::{Duration, Instant};

use emporium::topology::Topology;

use crate::apart::start_topology;
use crate::apart_faults::{
    assert_all_accounted, count, database_of, fault_settings, finish, under_load,
};
use crate::support::*;

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
    let topology = start_topology(&fault_settings(&[("AMQP_URL", amqp.as_str())])).await;
    let (app, load) = under_load(&topology).await;

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
    let topology = start_topology(&fault_settings(&[
        ("GATEWAY_ROUTE_TIMEOUTS", "/dev/mailbox=300"),
        ("GATEWAY_BREAKER_THRESHOLD", "3"),
    ]))
    .await;
    let (app, load) = under_load(&topology).await;
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
