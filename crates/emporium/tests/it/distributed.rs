//! The distributed proof: identity and notifications as two `emporium serve
//! --services …` processes with separate databases, joined only by RabbitMQ.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(services: &str, port: u16, database_url: &str, namespace: &str) -> Child {
    serve_with(services, port, database_url, namespace, &[])
}

fn serve_with(
    services: &str,
    port: u16,
    database_url: &str,
    namespace: &str,
    env: &[(&str, &str)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_emporium"))
        .args(["serve", "--services", services])
        .envs(env.iter().copied())
        .env("EMPORIUM_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database_url)
        .env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        .env("EMPORIUM_NAMESPACE", namespace)
        .env("INTERNAL_API_SECRET", format!("{namespace}-internal"))
        .env("EMPORIUM_DEV", "1")
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    wait_for_readiness(http, base, 200).await;
}

/// Asks `base` until its `/ready` answers `status` (0: no answer at all).
pub async fn wait_for_readiness(http: &reqwest::Client, base: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = http
            .get(format!("{base}/ready"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        if now == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base}/ready stayed {now}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn database_url() -> String {
    let base = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    format!("{base}/emporium_test_{}", uuid::Uuid::now_v7().simple())
}

#[tokio::test]
async fn identity_and_notifications_in_separate_processes_talk_through_rabbitmq() {
    let namespace = format!("test-{}", uuid::Uuid::now_v7().simple());
    let (id_port, notif_port) = (free_port(), free_port());
    let mut identity = serve("identity", id_port, &database_url(), &namespace);
    let mut notifications = serve("notifications", notif_port, &database_url(), &namespace);
    let http = reqwest::Client::new();
    let (id_base, notif_base) = (
        format!("http://127.0.0.1:{id_port}"),
        format!("http://127.0.0.1:{notif_port}"),
    );
    wait_ready(&http, &id_base).await;
    wait_ready(&http, &notif_base).await;

    // Each process serves only its own service.
    let r = http
        .get(format!("{id_base}/api/v1/notifications/dev/mailbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = http
        .post(format!("{id_base}/api/v1/identity/register"))
        .json(&json!({ "email": "far@example.com", "password": "correct horse battery", "name": "Far" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let mut delivered = None;
    for _ in 0..200 {
        let mailbox: Value = http
            .get(format!(
                "{notif_base}/api/v1/notifications/dev/mailbox?to=far@example.com"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(m) = mailbox["items"].as_array().unwrap().first() {
            delivered = Some(m.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let email = delivered.expect("the verification email crossed the broker");
    assert_eq!(email["kind"], "verification");
    let code = email["subject"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    let r = http
        .post(format!("{id_base}/api/v1/identity/verify-email"))
        .json(&json!({ "email": "far@example.com", "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    identity.kill().await.unwrap();
    notifications.kill().await.unwrap();
    crate::events::drop_topology(&namespace, &["notifications"]).await;
}

/// Finding 8 of the boundary audit, apart: a session ended in identity's process is
/// refused by a service in another process within seconds, not when its token expires.
#[tokio::test]
async fn a_session_ended_in_one_process_is_refused_in_another_within_seconds() {
    let namespace = format!("test-{}", uuid::Uuid::now_v7().simple());
    let (id_port, vendors_port) = (free_port(), free_port());
    let id_db = database_url();
    let id_base = format!("http://127.0.0.1:{id_port}");
    let vendors_base = format!("http://127.0.0.1:{vendors_port}");
    let mut identity = serve("identity", id_port, &id_db, &namespace);
    let mut vendors = serve_with(
        "vendors",
        vendors_port,
        &database_url(),
        &namespace,
        &[("IDENTITY_URL", id_base.as_str())],
    );
    let http = reqwest::Client::new();
    wait_ready(&http, &id_base).await;
    wait_ready(&http, &vendors_base).await;

    let mut config = kernel::testing::fresh_database_config();
    config.database_url = id_db;
    let pool = identity::connect(&config).await.unwrap();
    identity::create_user(
        &pool,
        &config,
        "apart@example.com",
        "Apart",
        "correct horse battery",
        false,
    )
    .await
    .unwrap();
    let tokens: Value = http
        .post(format!("{id_base}/api/v1/identity/login"))
        .json(&json!({ "email": "apart@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let mine = format!("{vendors_base}/api/v1/vendors/me/stores");
    let r = http.get(&mine).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let r = http
        .post(format!("{id_base}/api/v1/identity/logout-all"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = http.get(&mine).bearer_auth(access).send().await.unwrap();
        if r.status() == 401 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "token_revoked");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {}", r.status());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    identity.kill().await.unwrap();
    vendors.kill().await.unwrap();
    let consumers = ["identity", "catalog", "search", "orders", "notifications"];
    crate::events::drop_topology(&namespace, &consumers).await;
}

#[tokio::test]
async fn a_subset_of_the_services_needs_a_broker_and_a_shared_internal_secret() {
    let mut config = kernel::testing::fresh_database_config();
    let err = emporium::build(config.clone(), &["identity"])
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("AMQP_URL"), "{err}");
    config.amqp_url = Some("amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let err = emporium::build(config, &["identity"]).await.err().unwrap();
    assert!(err.to_string().contains("INTERNAL_API_SECRET"), "{err}");
}
