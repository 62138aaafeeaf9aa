//! Test support: a fresh, empty database per test on the real PostgreSQL.

use crate::Config;

/// A configuration pointing at a brand-new database (created on first connect).
/// Base URL from `TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432`.
pub fn fresh_database_config() -> Config {
    let base = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = format!("emporium_test_{}", uuid::Uuid::now_v7().simple());
    let url = format!("{}/{name}", base.trim_end_matches('/'));
    let mut vars: std::collections::HashMap<String, String> = std::env::vars().collect();
    for (k, v) in [
        ("DATABASE_URL", url.as_str()),
        ("EMPORIUM_DEV", "1"),
        ("EVENT_RETRY_BASE_MS", "20"),
        ("EVENT_RELAY_INTERVAL_MS", "100"),
    ] {
        vars.insert(k.to_owned(), v.to_owned());
    }
    let mut config = Config::from_vars(&vars).unwrap_or_else(|e| panic!("test configuration: {e}"));
    config.media_dir = std::env::temp_dir()
        .join(format!("emporium-media-{}", uuid::Uuid::now_v7().simple()))
        .to_string_lossy()
        .into_owned();
    config.search_index_dir = std::env::temp_dir()
        .join(format!("emporium-search-{}", uuid::Uuid::now_v7().simple()))
        .to_string_lossy()
        .into_owned();
    // Tests hash many passwords: keep Argon2id cheap there, never in production.
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}
