//! The distributed topology as `emporium topology` runs it: every service in a process
//! and database of its own, two replicas of catalog, search and web, the gateway in
//! front, RabbitMQ and Redis between them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use emporium::topology::{Plan, Topology};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};

use crate::support::*;

/// Events recorded in the topology's outboxes against those each consumer has handled
/// (its inbox, keyed by event id: nothing is handled twice). Equal counts: nothing lost.
pub struct EventAccount {
    outboxes: Vec<(&'static str, PgPool)>,
    /// Each consuming database: the consumer, the events it takes, its pool.
    inboxes: Vec<(String, &'static str, &'static [&'static str], PgPool)>,
}

impl EventAccount {
    pub async fn new(topology: &Topology) -> Self {
        let mut pools: HashMap<String, PgPool> = HashMap::new();
        let mut outboxes = Vec::new();
        let mut inboxes = Vec::new();
        for member in topology.members() {
            let (Some(service), Some(url)) = (member.service, member.database_url()) else {
                continue;
            };
            if pools.contains_key(url) {
                continue;
            }
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap();
            pools.insert(url.to_owned(), pool.clone());
            outboxes.push((service, pool.clone()));
            if let Some((_, types)) = emporium::CONSUMERS.iter().find(|(c, _)| *c == service) {
                inboxes.push((member.name.clone(), service, *types, pool));
            }
        }
        Self { outboxes, inboxes }
    }

    /// The account without one member's inbox: a replica that caught up from the
    /// sources has not handled the events it missed, and need not.
    pub fn without(mut self, member: &str) -> Self {
        self.inboxes.retain(|(name, ..)| name != member);
        self
    }

    /// For each consuming database: (member, events of its types recorded, handled).
    pub async fn tally(&self) -> Vec<(String, i64, i64)> {
        // Recorded first, one count per event type and outbox: whatever is handled
        // afterwards was recorded before.
        let mut recorded: HashMap<String, i64> = HashMap::new();
        for (schema, outbox) in &self.outboxes {
            let counts: Vec<(String, i64)> = sqlx::query_as(&format!(
                "SELECT event_type, count(*) FROM {schema}.outbox GROUP BY event_type"
            ))
            .fetch_all(outbox)
            .await
            .unwrap();
            for (event_type, count) in counts {
                *recorded.entry(event_type).or_default() += count;
            }
        }
        let mut tally = Vec::new();
        for (member, consumer, types, pool) in &self.inboxes {
            let handled: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {consumer}.inbox WHERE consumer = $1"
            ))
            .bind(consumer)
            .fetch_one(pool)
            .await
            .unwrap();
            let expected = types.iter().filter_map(|t| recorded.get(*t)).sum();
            tally.push((member.clone(), expected, handled));
        }
        tally
    }

    /// Waits until every consumer has handled every event of its types recorded so far.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let lagging: Vec<_> = self
                .tally()
                .await
                .into_iter()
                .filter(|(_, recorded, handled)| handled < recorded)
                .collect();
            if lagging.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "events still unhandled after a minute (member, recorded, handled): {lagging:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The topology on free loopback ports, with databases named after a fresh test prefix
/// and its own broker namespace; rate limits raised for tests that sign in often;
/// `extra` settings for every process.
pub async fn start_topology(extra: &[(&str, &str)]) -> Topology {
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    start_topology_on(&server, extra).await
}

/// The same, with every database on `server`.
pub async fn start_topology_on(server: &str, extra: &[(&str, &str)]) -> Topology {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let data_dir = std::env::temp_dir().join(format!("emporium-topology-{id}"));
    let members = member_count();
    let first_port = free_port_block(members + 1);
    let gateway = std::net::SocketAddr::from(([127, 0, 0, 1], first_port + members));
    let env = [
        (
            "AMQP_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
        ),
        ("REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
        ("INTERNAL_API_SECRET", INTERNAL_SECRET.to_owned()),
        ("EMPORIUM_NAMESPACE", format!("test-{id}")),
        ("EMPORIUM_DEV", "1".to_owned()),
        ("EVENT_RETRY_BASE_MS", "20".to_owned()),
        ("ARGON2_MEMORY_KIB", "1024".to_owned()),
        ("ARGON2_ITERATIONS", "1".to_owned()),
        (
            "RUST_LOG",
            std::env::var("TOPOLOGY_LOG").unwrap_or_else(|_| "warn".to_owned()),
        ),
        ("GATEWAY_RATE_SIGN_IN", "10000".to_owned()),
        ("GATEWAY_RATE_REGISTRATION", "10000".to_owned()),
        ("GATEWAY_RATE_CHECKOUT", "10000".to_owned()),
        ("GATEWAY_RATE_PER_CLIENT", "1000000".to_owned()),
        ("GATEWAY_RATE_PER_USER", "1000000".to_owned()),
    ];
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).chain(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let plan = Plan {
        exe: env!("CARGO_BIN_EXE_emporium").into(),
        gateway,
        first_port: Some(first_port),
        database_server: server.trim_end_matches('/').to_owned(),
        database_prefix: format!("emporium_test_{id}"),
        data_dir,
        connections_per_member: 3,
        env: env.collect(),
        show_output: true,
    };
    Topology::start(plan).await.unwrap()
}

/// How many processes the topology starts besides the gateway.
fn member_count() -> u16 {
    let extra: usize = emporium::topology::REPLICAS
        .iter()
        .map(|(_, n)| n - 1)
        .sum();
    u16::try_from(emporium::SERVICES.len() + extra).unwrap()
}

/// The first of `n` consecutive loopback ports that are free now, below the range the
/// kernel hands out for `bind(…:0)` (32768 and up), so no other test's server, picking
/// a free port that way, can take one between this check and a member's start.
pub fn free_port_block(n: u16) -> u16 {
    for _ in 0..50 {
        let offset = u16::from_le_bytes([
            uuid::Uuid::new_v4().as_bytes()[0],
            uuid::Uuid::new_v4().as_bytes()[1],
        ]) % 10_000;
        let first = 20_000 + offset;
        let free =
            (first..first + n).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return first;
        }
    }
    panic!("no {n} free consecutive ports between 20000 and 30000");
}

impl TestApp {
    /// A test client of the topology: requests go through its gateway, set-up that needs
    /// a database (an admin) goes to the service's own.
    pub async fn through_gateway(topology: &Topology) -> Self {
        let mut config = kernel::testing::fresh_database_config();
        config.internal_secret = Some(kernel::secret::Redacted(INTERNAL_SECRET.into()));
        config.public_url = topology.gateway_url();
        config.gateway_url = topology.gateway_url();
        config.service_urls.clear();
        for member in topology.members() {
            if let (Some(service), Some(url)) = (member.service, member.database_url()) {
                config
                    .domain_database_urls
                    .entry(service.to_owned())
                    .or_insert_with(|| url.to_owned());
            }
        }
        let platform = kernel::Platform::new(config.clone(), &[]).unwrap();
        Self {
            base: topology.gateway_url(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            config,
            platform,
            apart: Some(Arc::new(EventAccount::new(topology).await)),
        }
    }
}

async fn suspend_poster_press(app: &TestApp, shop: &crate::checkout::Shop) {
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{}/suspend", shop.b_store),
        Some(token(&shop.admin)),
        Some(json!({ "reason": "Checks pending" })),
    )
    .await;
    assert_eq!(r.status(), 200);
}

/// What one search replica, asked directly, answers for `query`: the products found
/// in order, and the facet counts.
async fn answer(http: &reqwest::Client, replica: &str, query: &str) -> Value {
    let r: Value = http
        .get(format!("{replica}/api/v1/search/products?{query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    json!({ "ids": ids, "total": r["total"], "facets": r["facets"] })
}

/// Stops the topology and drops its queues, exchanges and databases.
pub async fn clean_up(topology: Topology, app: TestApp) {
    drop(app);
    let namespace = topology.setting("EMPORIUM_NAMESPACE").unwrap().to_owned();
    let databases: Vec<String> = topology
        .members()
        .iter()
        .filter_map(|m| m.database_url().map(str::to_owned))
        .collect();
    drop(topology);
    let mut queues: Vec<String> = emporium::CONSUMERS
        .iter()
        .map(|(c, _)| (*c).to_owned())
        .collect();
    queues.extend(["search.search-1".to_owned(), "search.search-2".to_owned()]);
    let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
    crate::events::drop_topology(&namespace, &queues).await;
    for url in databases {
        let (server, name) = url.rsplit_once('/').unwrap();
        if let Ok(mut admin) = sqlx::PgConnection::connect(&format!("{server}/postgres")).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purchase_journey_runs_through_the_gateway_with_every_service_apart() {
    let mut topology = start_topology(&[]).await;
    let app = TestApp::through_gateway(&topology).await;
    let shop = crate::browser::guest_buys_from_two_stores_and_each_vendor_ships(&app).await;
    app.settle().await;

    // Both search replicas, asked directly, answer alike: each got every event.
    let replicas = [
        topology.member("search-1").unwrap().url(),
        topology.member("search-2").unwrap().url(),
    ];
    let queries = ["q=", "q=mug", "q=&in_stock=true"];
    for query in queries {
        let one = answer(&app.http, &replicas[0], query).await;
        assert_eq!(one, answer(&app.http, &replicas[1], query).await, "{query}");
    }
    let everything = answer(&app.http, &replicas[0], "q=").await;
    assert_eq!(everything["total"], 2, "{everything}");

    // A replica that lost its index and database builds both again from the sources
    // and catches up with what changed while it was away: a store suspended.
    let lost = topology.member("search-2").unwrap().clone();
    topology.kill("search-2").await.unwrap();
    suspend_poster_press(&app, &shop).await;
    let database = lost.database_url().unwrap();
    let (server, name) = database.rsplit_once('/').unwrap();
    let mut admin_conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin_conn)
        .await
        .unwrap();
    std::fs::remove_dir_all(lost.setting("SEARCH_INDEX_DIR").unwrap()).unwrap();
    topology.restart("search-2").await.unwrap();
    // Ready means filled: the suspension came from vendors' export, the documents and
    // availability from catalog's and inventory's.
    EventAccount::new(&topology)
        .await
        .without("search-2")
        .settle()
        .await;
    for query in queries {
        let one = answer(&app.http, &replicas[0], query).await;
        assert_eq!(one, answer(&app.http, &replicas[1], query).await, "{query}");
    }
    let after = answer(&app.http, &replicas[1], "q=").await;
    assert_eq!(
        after["total"], 1,
        "the suspended store's product is hidden: {after}"
    );
    clean_up(topology, app).await;
}

/// What a new search replica copies: every store's suspension and every tracked
/// variant's availability, each with the version its latest event carried.
#[tokio::test]
async fn a_new_search_replica_reads_suspensions_availability_and_ratings_from_their_owners() {
    let app = TestApp::spawn().await;
    let shop = crate::checkout::shop(&app, 7).await;
    suspend_poster_press(&app, &shop).await;

    let first = app.vendors().store_states(None, 1).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let rest = app
        .vendors()
        .store_states(first.next_after, 1000)
        .await
        .unwrap();
    assert_eq!(rest.next_after, None);
    let states: HashMap<String, (bool, i64)> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|s| (s.store_id.to_string(), (s.suspended, s.version)))
        .collect();
    assert_eq!(states.len(), 2);
    assert!(states[&shop.b_store].0, "{states:?}");
    assert!(!states[&shop.a_store].0, "{states:?}");
    assert!(states[&shop.b_store].1 > states[&shop.a_store].1);

    let stock = app
        .inventory()
        .availability_export(None, 1000)
        .await
        .unwrap();
    assert_eq!(stock.next_after, None);
    assert_eq!(stock.items.len(), 1, "only the mug's stock ever moved");
    assert_eq!(stock.items[0].variant_id.to_string(), shop.mug);
    assert_eq!((stock.items[0].available, stock.items[0].version), (7, 1));

    let rater = app.customer(&unique_email("rater")).await;
    let sub_order = crate::reviews::bought_mug(&app, &shop, &rater, "rater").await;
    crate::reviews::deliver(&app, &shop, &sub_order).await;
    let product = stock.items[0].product_id;
    let review = serde_json::json!({ "product_id": product, "rating": 4, "title": "Good mug" });
    let r = crate::checkout::send(
        &app,
        reqwest::Method::PUT,
        "/api/v1/reviews/mine",
        token(&rater),
        Some(review),
    )
    .await;
    assert_eq!(r.status(), 201);
    let reviews = contracts::reviews::ReviewsClient::new(app.platform.client("reviews"));
    let ratings = reviews.rating_export(None, 1000).await.unwrap();
    assert_eq!(ratings.next_after, None);
    assert_eq!(ratings.items.len(), 1);
    assert_eq!(ratings.items[0].product_id, product);
    assert_eq!(ratings.items[0].histogram, [0, 0, 0, 1, 0]);

    // Services only: to anyone else, even an admin, they do not exist.
    for path in [
        "/internal/vendors/store-states",
        "/internal/inventory/availability-export",
        "/internal/reviews/product-ratings",
    ] {
        let r = app.get_auth(path, token(&shop.admin)).await;
        assert_eq!(r.status(), 404, "{path}");
    }
}
