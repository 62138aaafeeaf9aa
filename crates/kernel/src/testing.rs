//! Test support: a fresh, empty database per test on the real PostgreSQL.

use crate::Config;

/// A configuration pointing at a brand-new database (created on first connect).
/// Base URL from `TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432`.
pub fn fresh_database_config() -> Config {
    let base = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = format!("emporium_test_{}", uuid::Uuid::now_v7().simple());
    let url = format!("{}/{name}", base.trim_end_matches('/'));
    let mut config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "EMPORIUM_DEV" => Some("1".into()),
        "EVENT_RETRY_BASE_MS" => Some("20".into()),
        "EVENT_RELAY_INTERVAL_MS" => Some("100".into()),
        "DATABASE_MAX_CONNECTIONS" => Some("5".into()),
        _ => std::env::var(k).ok(),
    })
    .unwrap_or_else(|e| panic!("test configuration: {e}"));
    config.media_dir = std::env::temp_dir()
        .join(format!("emporium-media-{}", uuid::Uuid::now_v7().simple()))
        .to_string_lossy()
        .into_owned();
    // Tests hash many passwords: keep Argon2id cheap there, never in production.
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}
