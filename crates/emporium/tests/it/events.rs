//! The event guarantees, on the real PostgreSQL and RabbitMQ: a rolled-back event is
//! never published; one committed while the broker is away goes out when it returns;
//! a duplicate delivery is handled once; a handler that keeps failing is dead-lettered
//! and `outbox replay` brings the event back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use kernel::events::consumer::RetryPolicy;
use kernel::events::in_process::InProcessBus;
use kernel::events::rabbitmq::{RabbitBus, Topology};
use kernel::events::relay::OutboxRelay;
use kernel::events::{Bus, Envelope, Event, Handler, Subscription, outbox};
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;

use crate::support::{counter, until_counter_above};
use sqlx::{PgConnection, PgPool};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const SCHEMA: &str = "eventlab";
static NO_DOMAIN_MIGRATIONS: Migrator = Migrator::DEFAULT;

#[derive(Debug, Serialize, Deserialize)]
struct Pinged {
    n: i32,
}

impl Event for Pinged {
    const TYPE: &'static str = "eventlab.ping.sent";

    fn aggregate_id(&self) -> String {
        self.n.to_string()
    }
}

/// Records each event it handles in `handled`, in the consumer's transaction.
#[derive(Default)]
struct Recorder {
    calls: AtomicUsize,
    failing: AtomicBool,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(!self.failing.load(Ordering::SeqCst), "handler told to fail");
        let ping: Pinged = event.decode()?;
        sqlx::query("INSERT INTO handled (event_id, n) VALUES ($1, $2)")
            .bind(event.id)
            .bind(ping.n)
            .execute(tx)
            .await?;
        Ok(())
    }
}

async fn lab() -> PgPool {
    let config = kernel::testing::fresh_database_config();
    let pool = kernel::db::connect_domain(&config, SCHEMA).await.unwrap();
    kernel::db::migrate(&pool, SCHEMA, &NO_DOMAIN_MIGRATIONS)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE handled (event_id uuid PRIMARY KEY, n int NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
    }
}

fn subscription(pool: &PgPool, handler: Arc<Recorder>) -> Subscription {
    Subscription {
        consumer: "lab",
        event_types: vec![Pinged::TYPE],
        handler,
        pool: pool.clone(),
        queue: kernel::events::Queue::Shared,
    }
}

async fn record_ping(pool: &PgPool, n: i32, commit: bool) {
    let mut tx = pool.begin().await.unwrap();
    outbox::record(&mut tx, &Pinged { n }).await.unwrap();
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
}

async fn handled(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar("SELECT n FROM handled ORDER BY n")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn wait_for_handled(pool: &PgPool, expected: &[i32]) {
    for _ in 0..400 {
        if handled(pool).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(handled(pool).await, expected);
}

fn relay(pool: &PgPool, bus: Arc<dyn Bus>) -> OutboxRelay {
    OutboxRelay {
        schema: SCHEMA,
        pool: pool.clone(),
        bus,
        interval: Duration::from_millis(100),
        // No listener: the relay polls on its interval.
        wakeups: tokio::sync::broadcast::channel(1).1,
    }
}

fn namespace() -> String {
    format!("test-{}", uuid::Uuid::now_v7().simple())
}

/// Removes a test namespace's exchanges and queues from the shared broker.
pub async fn drop_topology(ns: &str, consumers: &[&str]) {
    let conn = lapin::Connection::connect(
        AMQP,
        lapin::ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio),
    )
    .await
    .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let t = Topology::new(ns);
    for consumer in consumers {
        for q in [t.queue(consumer), t.dead_letter_queue(consumer)] {
            let _ = ch.queue_delete(&q, Default::default()).await;
        }
    }
    for x in [t.exchange(), t.dead_letter_exchange()] {
        let _ = ch.exchange_delete(&x, Default::default()).await;
    }
}

async fn dead_letter_count(ns: &str) -> u32 {
    let conn = lapin::Connection::connect(
        AMQP,
        lapin::ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio),
    )
    .await
    .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let q = ch
        .queue_declare(
            &Topology::new(ns).dead_letter_queue("lab"),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    q.message_count()
}

#[tokio::test]
async fn rolled_back_events_are_never_published() {
    let pool = lab().await;
    let handler = Arc::new(Recorder::default());
    let bus = Arc::new(InProcessBus::new(policy()));
    bus.subscribe(subscription(&pool, handler.clone()))
        .await
        .unwrap();
    record_ping(&pool, 1, false).await;
    record_ping(&pool, 2, true).await;
    let published = relay(&pool, bus).publish_batch().await.unwrap();
    assert_eq!(published, 1);
    assert_eq!(handled(&pool).await, [2]);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the rolled-back event never reached the outbox");
}

#[tokio::test]
async fn in_process_dead_letters_are_replayed() {
    let pool = lab().await;
    let handler = Arc::new(Recorder::default());
    handler.failing.store(true, Ordering::SeqCst);
    let bus = Arc::new(InProcessBus::new(policy()));
    let sub = subscription(&pool, handler.clone());
    bus.subscribe(sub.clone()).await.unwrap();
    record_ping(&pool, 7, true).await;
    relay(&pool, bus.clone()).publish_batch().await.unwrap();
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        3,
        "retried up to the limit"
    );
    let (dead,): (i64,) = sqlx::query_as("SELECT count(*) FROM dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dead, 1);
    handler.failing.store(false, Ordering::SeqCst);
    assert_eq!(bus.replay_dead_letters(&[sub]).await.unwrap(), 1);
    assert_eq!(handled(&pool).await, [7]);
    let (dead,): (i64,) = sqlx::query_as("SELECT count(*) FROM dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
}

/// A TCP forwarder to RabbitMQ that the test can cut and restore, so "the broker is
/// unreachable" is a real refused connection, not a mock.
struct Outage {
    port: u16,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Outage {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Self {
            port,
            running: Some(tokio::spawn(forward(listener))),
        }
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn cut(&mut self) {
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.running = Some(tokio::spawn(forward(listener)));
    }
}

async fn forward(listener: TcpListener) {
    // Dropping the set (when this task is aborted) closes every forwarded connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        connections.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5672").await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test]
async fn events_committed_while_the_broker_is_down_go_out_when_it_returns() {
    let pool = lab().await;
    let ns = namespace();
    let mut outage = Outage::start().await;
    let bus = Arc::new(RabbitBus::new(outage.url(), &ns, policy()));
    let handler = Arc::new(Recorder::default());
    bus.subscribe(subscription(&pool, handler.clone()))
        .await
        .unwrap();

    outage.cut();
    record_ping(&pool, 1, true).await;
    let relay = relay(&pool, bus.clone());
    assert!(
        relay.publish_batch().await.is_err(),
        "nothing to publish to"
    );
    let (attempts, published): (i32, bool) =
        sqlx::query_as("SELECT attempts, published_at IS NOT NULL FROM outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((attempts, published), (1, false), "kept in the outbox");

    outage.restore().await;
    assert_eq!(relay.publish_batch().await.unwrap(), 1);
    wait_for_handled(&pool, &[1]).await;
    drop_topology(&ns, &["lab"]).await;
}

#[tokio::test]
async fn duplicate_deliveries_are_handled_once() {
    // Counted from here: the recorder is installed by the first read.
    let duplicates = counter("events_duplicates_total");
    let pool = lab().await;
    let ns = namespace();
    let bus = Arc::new(RabbitBus::new(AMQP.into(), &ns, policy()));
    let handler = Arc::new(Recorder::default());
    bus.subscribe(subscription(&pool, handler.clone()))
        .await
        .unwrap();
    record_ping(&pool, 5, true).await;
    let envelope: Envelope = {
        let (id, payload, occurred_at): (uuid::Uuid, serde_json::Value, time::OffsetDateTime) =
            sqlx::query_as("SELECT id, payload, occurred_at FROM outbox")
                .fetch_one(&pool)
                .await
                .unwrap();
        Envelope {
            id,
            event_type: Pinged::TYPE.into(),
            schema_version: 1,
            occurred_at,
            aggregate_id: "5".into(),
            trace_context: None,
            payload,
        }
    };
    // The relay crashing after publishing but before marking the row: it goes out twice.
    bus.publish(&envelope).await.unwrap();
    bus.publish(&envelope).await.unwrap();
    relay(&pool, bus.clone()).publish_batch().await.unwrap();
    wait_for_handled(&pool, &[5]).await;
    // Three deliveries of one event: the two that follow the first are counted as
    // duplicates once the consumer has seen them.
    until_counter_above("events_duplicates_total", duplicates + 1.0).await;
    assert_eq!(handled(&pool).await, [5]);
    let (inbox,): (i64,) = sqlx::query_as("SELECT count(*) FROM inbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(inbox, 1);
    drop_topology(&ns, &["lab"]).await;
}

#[tokio::test]
async fn failing_handlers_dead_letter_and_replay_brings_events_back() {
    let pool = lab().await;
    let ns = namespace();
    let bus = Arc::new(RabbitBus::new(AMQP.into(), &ns, policy()));
    let handler = Arc::new(Recorder::default());
    handler.failing.store(true, Ordering::SeqCst);
    let sub = subscription(&pool, handler.clone());
    bus.subscribe(sub.clone()).await.unwrap();
    record_ping(&pool, 9, true).await;
    relay(&pool, bus.clone()).publish_batch().await.unwrap();
    for _ in 0..200 {
        if dead_letter_count(&ns).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead_letter_count(&ns).await, 1);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
    assert!(handled(&pool).await.is_empty());

    handler.failing.store(false, Ordering::SeqCst);
    assert_eq!(bus.replay_dead_letters(&[sub]).await.unwrap(), 1);
    wait_for_handled(&pool, &[9]).await;
    assert_eq!(dead_letter_count(&ns).await, 0);
    drop_topology(&ns, &["lab"]).await;
}
