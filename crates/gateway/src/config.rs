//! What the gateway is told: each service's replicas (`<SERVICE>_URL`, comma-separated,
//! the same variables the services use to find each other), how long each route may
//! take, and how quickly replicas are left out and breakers open.

use std::collections::HashMap;
use std::time::Duration;

use kernel::config::ConfigError;

use crate::upstream::HealthPolicy;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Service name → its replicas, `http://host:port` separated by commas.
    pub upstreams: Vec<(String, String)>,
    pub policy: HealthPolicy,
    /// `REQUEST_TIMEOUT_MS`: the time limit of a route without its own.
    pub default_timeout: Duration,
    /// `GATEWAY_ROUTE_TIMEOUTS`: `path-prefix=ms` pairs, separated by commas; the
    /// longest matching prefix wins.
    pub route_timeouts: Vec<(String, Duration)>,
    /// `GATEWAY_CONNECT_TIMEOUT_MS`: how long to wait for a replica to accept.
    pub connect_timeout: Duration,
    /// The largest request body kept in memory so an idempotent request can be retried
    /// on another replica.
    pub retry_buffer_bytes: usize,
    /// `GATEWAY_MAX_BODY_BYTES`: larger request bodies are refused with 413 at the edge.
    pub max_body_bytes: usize,
    /// Requests a minute: `GATEWAY_RATE_PER_CLIENT` (600) and `GATEWAY_RATE_PER_USER`
    /// (600) for everything from one address and one signed-in user, stricter ones
    /// for `GATEWAY_RATE_SIGN_IN` (10 per address), `GATEWAY_RATE_REGISTRATION` (5 per
    /// address) and `GATEWAY_RATE_CHECKOUT` (10 per user).
    pub rate_limits: crate::limits::RateLimits,
    /// `REDIS_URL`: where the gateway replicas share their rate-limit counters.
    pub redis_url: Option<String>,
    /// `EMPORIUM_NAMESPACE`: prefix of the counters' keys.
    pub namespace: String,
    /// `TRUSTED_PROXIES`: load balancers in front whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `GATEWAY_CORS_ORIGINS`: origins (`https://shop.example`) whose pages may call the
    /// API from a browser; none by default (the pages are served from the same origin).
    pub cors_origins: Vec<String>,
}

/// Routes that may take longer, or must answer sooner, than the default.
const ROUTE_TIMEOUTS: &[(&str, u64)] = &[
    // A checkout waits for the payment provider.
    ("/api/v1/orders/checkout", 60_000),
    // Search answers from memory; a slow one is a stuck one.
    ("/api/v1/search", 10_000),
];

impl GatewayConfig {
    /// Routes to `upstreams` (service name, replica list) with every other setting at
    /// its default.
    pub fn new(upstreams: Vec<(String, String)>) -> Self {
        Self {
            upstreams,
            policy: HealthPolicy::default(),
            default_timeout: Duration::from_secs(30),
            route_timeouts: ROUTE_TIMEOUTS
                .iter()
                .map(|(p, ms)| ((*p).to_owned(), Duration::from_millis(*ms)))
                .collect(),
            connect_timeout: Duration::from_secs(2),
            retry_buffer_bytes: 1024 * 1024,
            // The largest body a service takes is an image or CSV upload (10 MiB) with
            // its multipart framing.
            max_body_bytes: 11 * 1024 * 1024,
            rate_limits: crate::limits::RateLimits::default(),
            redis_url: None,
            namespace: "emporium".to_owned(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
        }
    }

    /// The services named in `services` that `config` has an address for, plus the
    /// `GATEWAY_*` settings from `vars`.
    pub fn from_vars(
        config: &kernel::Config,
        services: &[&str],
        vars: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let num = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match vars.get(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| ConfigError {
                    name: name.into(),
                    reason: format!("expected a whole number, got {v:?}"),
                }),
            }
        };
        let upstreams = services
            .iter()
            .filter_map(|s| {
                config
                    .service_urls
                    .get(*s)
                    .map(|urls| ((*s).to_owned(), urls.clone()))
            })
            .collect();
        let defaults = Self::new(upstreams);
        let mut route_timeouts = defaults.route_timeouts.clone();
        if let Some(list) = vars.get("GATEWAY_ROUTE_TIMEOUTS") {
            for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let parsed = pair
                    .split_once('=')
                    .filter(|(prefix, _)| prefix.starts_with('/'))
                    .and_then(|(prefix, ms)| Some((prefix, ms.trim().parse::<u64>().ok()?)));
                let Some((prefix, ms)) = parsed else {
                    return Err(ConfigError {
                        name: "GATEWAY_ROUTE_TIMEOUTS".into(),
                        reason: format!("expected /path-prefix=milliseconds, got {pair:?}"),
                    });
                };
                route_timeouts.retain(|(p, _)| p != prefix);
                route_timeouts.push((prefix.to_owned(), Duration::from_millis(ms)));
            }
        }
        let policy = &defaults.policy;
        let rates = defaults.rate_limits;
        let ms = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(num(
                name,
                default.as_millis() as u64,
            )?))
        };
        let count = |name: &str, default: u32| -> Result<u32, ConfigError> {
            u32::try_from(num(name, default.into())?).map_err(|_| ConfigError {
                name: name.into(),
                reason: "too large".into(),
            })
        };
        Ok(Self {
            policy: HealthPolicy {
                eject_after: count("GATEWAY_EJECT_AFTER", policy.eject_after)?,
                eject_for: ms("GATEWAY_EJECT_FOR_MS", policy.eject_for)?,
                breaker_threshold: count("GATEWAY_BREAKER_THRESHOLD", policy.breaker_threshold)?,
                breaker_cool_down: ms("GATEWAY_BREAKER_COOL_DOWN_MS", policy.breaker_cool_down)?,
                breaker_max_cool_down: ms(
                    "GATEWAY_BREAKER_MAX_COOL_DOWN_MS",
                    policy.breaker_max_cool_down,
                )?,
            },
            default_timeout: config.request_timeout,
            route_timeouts,
            connect_timeout: ms("GATEWAY_CONNECT_TIMEOUT_MS", defaults.connect_timeout)?,
            max_body_bytes: num("GATEWAY_MAX_BODY_BYTES", defaults.max_body_bytes as u64)? as usize,
            rate_limits: crate::limits::RateLimits {
                sign_in: count("GATEWAY_RATE_SIGN_IN", rates.sign_in)?,
                registration: count("GATEWAY_RATE_REGISTRATION", rates.registration)?,
                checkout: count("GATEWAY_RATE_CHECKOUT", rates.checkout)?,
                per_client: count("GATEWAY_RATE_PER_CLIENT", rates.per_client)?,
                per_user: count("GATEWAY_RATE_PER_USER", rates.per_user)?,
            },
            redis_url: config.redis_url.clone(),
            namespace: config.namespace.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            cors_origins: vars
                .get("GATEWAY_CORS_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            ..defaults
        })
    }
}
