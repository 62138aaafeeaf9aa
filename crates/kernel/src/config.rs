//! Configuration from environment variables. Every setting has a default that makes
//! `emporium serve` work on a machine with PostgreSQL on localhost and nothing else.
//! The table in README.md lists them; keep the two in step.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// An S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// For S3-compatible services (MinIO, R2, …); AWS when absent.
    pub endpoint: Option<String>,
    /// `MEDIA_S3_ACCESS_KEY_ID` / `MEDIA_S3_SECRET_ACCESS_KEY`; when unset, the standard
    /// AWS variables (`AWS_ACCESS_KEY_ID`, …) and instance roles apply.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<crate::secret::Redacted>,
}

/// How payments reach a card network.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// `PAYMENTS_PROVIDER`: `simulator` or `stripe`.
    pub provider: String,
    /// `PAYMENTS_WEBHOOK_SECRET`: signs the simulator's webhooks (random per process
    /// when unset).
    pub webhook_secret: crate::secret::Redacted,
    /// `PAYMENTS_SIMULATOR_LATENCY_MS`: how long each simulated network call takes.
    pub simulator_latency: Duration,
    /// `STRIPE_API_KEY`, `STRIPE_WEBHOOK_SECRET`: the Stripe adapter's credentials;
    /// `STRIPE_API_BASE` (default `https://api.stripe.com`): where its API answers.
    pub stripe_api_key: Option<crate::secret::Redacted>,
    pub stripe_webhook_secret: Option<crate::secret::Redacted>,
    pub stripe_api_base: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `EMPORIUM_BIND`: where `serve` listens.
    pub bind: SocketAddr,
    /// `EMPORIUM_PUBLIC_URL`: the externally visible base URL, used in emailed links.
    pub public_url: String,
    /// `DATABASE_URL`: the default database for every domain.
    pub database_url: String,
    /// `<DOMAIN>_DATABASE_URL`: per-domain overrides (e.g. `IDENTITY_DATABASE_URL`).
    pub domain_database_urls: HashMap<String, String>,
    /// `DATABASE_MAX_CONNECTIONS`: the most PostgreSQL connections this process holds,
    /// shared by the pools of every domain it hosts and its outbox listeners.
    pub database_max_connections: u32,
    /// Each hosted domain's share of that budget, set by the composition
    /// (`kernel::db::share_budget`); a domain missing here may use all of it.
    pub pool_sizes: HashMap<String, u32>,
    /// `AMQP_URL`: RabbitMQ; when unset, events travel in-process.
    pub amqp_url: Option<String>,
    /// `EMPORIUM_NAMESPACE`: prefix of exchange and queue names and of cache keys, so
    /// several environments (or test runs) can share one broker and one Redis.
    pub namespace: String,
    /// `REDIS_URL`: shared cache across replicas; when unset, each process caches in memory.
    pub redis_url: Option<String>,
    /// `CACHE_TTL_SECS`: the longest a cached read may be served.
    pub cache_ttl: Duration,
    /// `MEDIA_DIR`: where uploaded images are kept (unless in a bucket).
    pub media_dir: String,
    /// `MEDIA_S3_BUCKET` (with `MEDIA_S3_REGION`, default `us-east-1`, and
    /// `MEDIA_S3_ENDPOINT` for S3-compatible services): keep images in a bucket instead.
    pub media_s3: Option<S3Config>,
    /// `SEARCH_INDEX_DIR`: where the search index files are kept (derived data: rebuilt
    /// from the catalog when missing).
    pub search_index_dir: String,
    /// `SEARCH_REPLICA`: this search replica's name (lowercase letters, digits and `-`),
    /// which names its own event queue. Each replica also needs its own database and
    /// index directory: they hold what that replica has applied.
    pub search_replica: String,
    /// `SEARCH_QUEUE_EXPIRES_SECS`: how long the broker keeps a search replica's queue
    /// while no replica consumes it (default a day); a replica back after longer
    /// rebuilds its index.
    pub search_queue_expires: Duration,
    /// `INTERNAL_API_SECRET`: what services present to each other on `/internal/…`
    /// endpoints. When unset the platform makes one per process, which is right when one
    /// process runs every service; services running apart need the same value set.
    pub internal_secret: Option<crate::secret::Redacted>,
    /// `CHECKOUT_LEASE_SECS`: how long a checkout's driver owns it before the recovery
    /// worker may finish or compensate it.
    pub checkout_lease: Duration,
    /// `PAYMENTS_PROVIDER` (`simulator`, the default, or `stripe`) and its settings.
    pub payments: PaymentsConfig,
    /// `SMTP_URL`: outgoing mail; when unset, mail goes to the dev mailbox.
    pub smtp_url: Option<String>,
    /// `EMAIL_FROM`: sender address of outgoing mail.
    pub email_from: String,
    /// `EMPORIUM_DEV`: developer conveniences such as `/dev/mailbox`.
    pub dev_mode: bool,
    /// `<DOMAIN>_URL`: where a service that is not in this process answers
    /// (e.g. `IDENTITY_URL=http://10.0.0.5:8080`); defaults to `EMPORIUM_GATEWAY_URL`.
    pub service_urls: HashMap<String, String>,
    /// `EMPORIUM_GATEWAY_URL`: fallback base URL for services not in this process.
    pub gateway_url: String,
    /// `TRUSTED_PROXIES`: comma-separated addresses of proxies (and of our own services
    /// calling each other) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_format: LogFormat,
    /// `OTEL_*`: whether and how spans are exported (see `telemetry::TraceSettings`).
    pub tracing: crate::telemetry::TraceSettings,
    /// `EVENT_RELAY_INTERVAL_MS`: how often the outbox relay polls when idle.
    pub relay_interval: Duration,
    /// `EVENT_MAX_ATTEMPTS`: handler attempts before an event is dead-lettered.
    pub event_max_attempts: u32,
    /// `EVENT_RETRY_BASE_MS`: first retry delay; doubles per attempt.
    pub event_retry_base: Duration,
    /// `REQUEST_TIMEOUT_MS`: time limit for handling one HTTP request.
    pub request_timeout: Duration,
    /// `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM`: password hashing cost.
    pub argon2: Argon2Params,
    /// `ACCESS_TOKEN_TTL_SECS`: lifetime of signed access tokens.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_DAYS`: lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Copy)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid value for {name}: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub reason: String,
}

/// `X_FILE=path` gives setting `X` the file's content, so secrets can be mounted as
/// files (Kubernetes Secrets, Vault, External Secrets) instead of sitting in the
/// environment; a value set outright wins. Only the settings Emporium reads are looked
/// up this way, so other programs' `*_FILE` variables are left alone.
fn lookup(vars: &HashMap<String, String>, name: &str) -> Result<Option<String>, ConfigError> {
    if let Some(v) = vars.get(name).filter(|v| !v.is_empty()) {
        return Ok(Some(v.clone()));
    }
    let file_key = format!("{name}_FILE");
    let Some(path) = vars.get(&file_key).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let value = std::fs::read_to_string(path).map_err(|e| ConfigError {
        name: file_key,
        reason: format!("cannot read {path}: {e}"),
    })?;
    // Files written by editors and `echo` end with a newline the value does not have.
    Ok(Some(value.trim_end_matches(['\n', '\r']).to_owned()))
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Builds a configuration from a set of variables (the environment, or a test's map).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        // The first file that could not be read; reported once everything is parsed.
        let unreadable: std::cell::RefCell<Option<ConfigError>> = Default::default();
        let get = |k: &str| match lookup(vars, k) {
            Ok(v) => v,
            Err(e) => {
                unreadable.borrow_mut().get_or_insert(e);
                None
            }
        };
        let parse = |name: &str, default: &str| -> String {
            get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let num = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match get(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| ConfigError {
                    name: name.to_owned(),
                    reason: format!("expected a whole number, got {v:?}"),
                }),
            }
        };
        let bind_raw = parse("EMPORIUM_BIND", "127.0.0.1:8080");
        let bind = bind_raw.parse().map_err(|_| ConfigError {
            name: "EMPORIUM_BIND".into(),
            reason: format!("expected host:port, got {bind_raw:?}"),
        })?;
        // Per-service overrides for whatever services exist: the kernel does not list them.
        let mut domain_database_urls = HashMap::new();
        let mut service_urls = HashMap::new();
        for key in vars.keys() {
            let name = key.strip_suffix("_FILE").unwrap_or(key);
            if !name.ends_with("_URL") {
                continue;
            }
            let Some(url) = get(name) else {
                continue;
            };
            if let Some(domain) = name.strip_suffix("_DATABASE_URL").filter(|d| !d.is_empty()) {
                domain_database_urls.insert(domain.to_lowercase(), url);
            } else if let Some(service) = name.strip_suffix("_URL").filter(|d| !d.is_empty()) {
                service_urls.insert(service.to_lowercase(), url.trim_end_matches('/').to_owned());
            }
        }
        let log_format = match parse("LOG_FORMAT", "json").as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                return Err(ConfigError {
                    name: "LOG_FORMAT".into(),
                    reason: format!("expected json or pretty, got {other:?}"),
                });
            }
        };
        let dev_mode = matches!(
            parse("EMPORIUM_DEV", "0").to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        );
        let to_u32 = |name: &str, default: u64| -> Result<u32, ConfigError> {
            u32::try_from(num(name, default)?).map_err(|_| ConfigError {
                name: name.to_owned(),
                reason: "too large".into(),
            })
        };
        let proxies_raw = parse("TRUSTED_PROXIES", "127.0.0.1,::1");
        let trusted_proxies = proxies_raw
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse().map_err(|_| ConfigError {
                    name: "TRUSTED_PROXIES".into(),
                    reason: format!("{p:?} is not an IP address"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let search_replica = parse("SEARCH_REPLICA", "main");
        if search_replica.len() > 40
            || !search_replica
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError {
                name: "SEARCH_REPLICA".into(),
                reason: format!(
                    "expected up to 40 lowercase letters, digits and '-', got {search_replica:?}"
                ),
            });
        }
        let config = Self {
            bind,
            trusted_proxies,
            public_url: parse("EMPORIUM_PUBLIC_URL", &format!("http://{bind}"))
                .trim_end_matches('/')
                .to_owned(),
            database_url: parse(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/emporium",
            ),
            domain_database_urls,
            database_max_connections: to_u32("DATABASE_MAX_CONNECTIONS", 20)?,
            pool_sizes: HashMap::new(),
            amqp_url: get("AMQP_URL").filter(|v| !v.is_empty()),
            namespace: parse("EMPORIUM_NAMESPACE", "emporium"),
            redis_url: get("REDIS_URL").filter(|v| !v.is_empty()),
            cache_ttl: Duration::from_secs(num("CACHE_TTL_SECS", 60)?),
            media_dir: parse("MEDIA_DIR", "data/media"),
            search_index_dir: parse("SEARCH_INDEX_DIR", "data/search-index"),
            search_replica,
            search_queue_expires: Duration::from_secs(num("SEARCH_QUEUE_EXPIRES_SECS", 86_400)?),
            checkout_lease: Duration::from_secs(num("CHECKOUT_LEASE_SECS", 30)?),
            payments: PaymentsConfig {
                provider: parse("PAYMENTS_PROVIDER", "simulator"),
                webhook_secret: crate::secret::Redacted(
                    get("PAYMENTS_WEBHOOK_SECRET")
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(crate::secret::random_token),
                ),
                simulator_latency: Duration::from_millis(num("PAYMENTS_SIMULATOR_LATENCY_MS", 0)?),
                stripe_api_key: get("STRIPE_API_KEY")
                    .filter(|v| !v.is_empty())
                    .map(crate::secret::Redacted),
                stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET")
                    .filter(|v| !v.is_empty())
                    .map(crate::secret::Redacted),
                stripe_api_base: parse("STRIPE_API_BASE", "https://api.stripe.com"),
            },
            internal_secret: get("INTERNAL_API_SECRET")
                .filter(|v| !v.is_empty())
                .map(crate::secret::Redacted),
            media_s3: get("MEDIA_S3_BUCKET")
                .filter(|b| !b.is_empty())
                .map(|bucket| S3Config {
                    bucket,
                    region: parse("MEDIA_S3_REGION", "us-east-1"),
                    endpoint: get("MEDIA_S3_ENDPOINT").filter(|e| !e.is_empty()),
                    access_key_id: get("MEDIA_S3_ACCESS_KEY_ID").filter(|k| !k.is_empty()),
                    secret_access_key: get("MEDIA_S3_SECRET_ACCESS_KEY")
                        .filter(|k| !k.is_empty())
                        .map(crate::secret::Redacted),
                }),
            smtp_url: get("SMTP_URL").filter(|v| !v.is_empty()),
            email_from: parse("EMAIL_FROM", "Emporium <no-reply@emporium.localhost>"),
            dev_mode,
            gateway_url: parse("EMPORIUM_GATEWAY_URL", &format!("http://{bind}"))
                .trim_end_matches('/')
                .to_owned(),
            service_urls,
            log_format,
            tracing: crate::telemetry::TraceSettings::from_lookup(get)?,
            relay_interval: Duration::from_millis(num("EVENT_RELAY_INTERVAL_MS", 500)?),
            event_max_attempts: to_u32("EVENT_MAX_ATTEMPTS", 5)?.max(1),
            event_retry_base: Duration::from_millis(num("EVENT_RETRY_BASE_MS", 200)?),
            request_timeout: Duration::from_millis(num("REQUEST_TIMEOUT_MS", 30_000)?),
            argon2: Argon2Params {
                memory_kib: to_u32("ARGON2_MEMORY_KIB", 19_456)?,
                iterations: to_u32("ARGON2_ITERATIONS", 2)?,
                parallelism: to_u32("ARGON2_PARALLELISM", 1)?,
            },
            access_token_ttl: Duration::from_secs(num("ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_token_ttl: Duration::from_secs(num("REFRESH_TOKEN_TTL_DAYS", 30)? * 86_400),
        };
        match unreadable.into_inner() {
            Some(e) => Err(e),
            None => Ok(config),
        }
    }

    /// The database URL for one domain: its override, or the shared one.
    /// The most connections `domain`'s pool may open: its share when the composition
    /// shared the budget, otherwise all of it but the outbox listener's one.
    pub fn pool_size(&self, domain: &str) -> u32 {
        self.pool_sizes
            .get(domain)
            .copied()
            .unwrap_or(self.database_max_connections.saturating_sub(1))
            .max(1)
    }

    pub fn database_url_for(&self, domain: &str) -> &str {
        self.domain_database_urls
            .get(domain)
            .map_or(self.database_url.as_str(), String::as_str)
    }

    /// Base URL of a service hosted by another process.
    pub fn service_url(&self, domain: &str) -> &str {
        self.service_urls
            .get(domain)
            .map_or(self.gateway_url.as_str(), String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_from_files_named_by_file_variables() {
        let dir = std::env::temp_dir().join(format!("emporium-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("internal");
        std::fs::write(&secret, "from-a-file\n").unwrap();
        let path = secret.to_string_lossy().into_owned();
        let c = config(&[("INTERNAL_API_SECRET_FILE", &path)]).unwrap();
        assert_eq!(c.internal_secret.unwrap().0, "from-a-file");
        let c = config(&[
            ("INTERNAL_API_SECRET_FILE", &path),
            ("INTERNAL_API_SECRET", "direct"),
        ])
        .unwrap();
        assert_eq!(
            c.internal_secret.unwrap().0,
            "direct",
            "a value set outright wins"
        );
        let e = config(&[("DATABASE_URL_FILE", "/no/such/file")]).unwrap_err();
        assert_eq!(e.name, "DATABASE_URL_FILE");
        std::fs::write(&secret, "http://10.0.0.7:8080").unwrap();
        let c = config(&[
            ("CATALOG_URL_FILE", &path),
            ("TF_CLI_CONFIG_FILE", "/another/program/s/setting"),
        ])
        .unwrap();
        assert_eq!(c.service_url("catalog"), "http://10.0.0.7:8080");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(&map)
    }

    #[test]
    fn defaults_work_with_nothing_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.database_url_for("identity"), c.database_url);
        assert!(c.amqp_url.is_none());
        assert!(!c.dev_mode);
    }

    #[test]
    fn per_domain_overrides_apply_only_to_that_domain() {
        let c = config(&[
            ("IDENTITY_DATABASE_URL", "postgres://x/id"),
            ("IDENTITY_URL", "http://10.1.1.1:9000/"),
            ("EMPORIUM_DEV", "true"),
        ])
        .unwrap();
        assert_eq!(c.database_url_for("identity"), "postgres://x/id");
        assert_eq!(c.database_url_for("notifications"), c.database_url);
        assert_eq!(c.service_url("identity"), "http://10.1.1.1:9000");
        assert_eq!(c.service_url("notifications"), c.gateway_url);
        assert!(c.dev_mode);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("EVENT_MAX_ATTEMPTS", "many")]).unwrap_err();
        assert_eq!(err.name, "EVENT_MAX_ATTEMPTS");
        let err = config(&[("EMPORIUM_BIND", "nowhere")]).unwrap_err();
        assert_eq!(err.name, "EMPORIUM_BIND");
    }

    #[test]
    fn a_search_replica_name_must_be_fit_for_a_queue_name() {
        assert_eq!(config(&[]).unwrap().search_replica, "main");
        assert_eq!(
            config(&[("SEARCH_REPLICA", "search-1")])
                .unwrap()
                .search_replica,
            "search-1"
        );
        for bad in ["Search", "a.b", "a b", &"x".repeat(41)] {
            let e = config(&[("SEARCH_REPLICA", bad)]).unwrap_err();
            assert_eq!(e.name, "SEARCH_REPLICA", "{bad:?}");
        }
    }
}
