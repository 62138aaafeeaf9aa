//! Rate limits at the edge, per client address and per signed-in user, stricter on
//! signing in, registering and checking out. Counted in Redis when `REDIS_URL` is set,
//! so every gateway replica shares them; in memory otherwise. The rule is GCRA (a
//! leaky bucket kept as one timestamp per key): `limit` requests per `period`, all of
//! them at once if they come in a burst, then one every `period / limit`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::Method;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// Whom a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// The client's address.
    Client,
    /// The signed-in user (the client's address when nobody is signed in).
    User,
    /// The signed-in user only: anonymous requests are left to the per-client rule.
    SignedInUser,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: &'static str,
    pub per: Per,
    pub limit: u32,
    pub period: Duration,
    /// `(method, path prefix)` pairs the rule covers; empty covers every request.
    pub covers: &'static [(Method, &'static str)],
}

impl Rule {
    fn applies(&self, method: &Method, path: &str) -> bool {
        self.covers.is_empty()
            || self
                .covers
                .iter()
                .any(|(m, prefix)| m == method && path.starts_with(prefix))
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// Requests a minute each rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub sign_in: u32,
    pub registration: u32,
    pub checkout: u32,
    pub per_client: u32,
    pub per_user: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            sign_in: 10,
            registration: 5,
            checkout: 10,
            per_client: 600,
            per_user: 600,
        }
    }
}

/// The rules: a limit for everything per client and per user, stricter ones for what
/// attackers hammer (passwords, sign-ups) and what costs the most.
pub fn default_rules(limits: RateLimits) -> Vec<Rule> {
    vec![
        Rule {
            name: "sign-in",
            per: Per::Client,
            limit: limits.sign_in,
            period: MINUTE,
            covers: &[
                (Method::POST, "/api/v1/identity/login"),
                (Method::POST, "/login"),
            ],
        },
        Rule {
            name: "registration",
            per: Per::Client,
            limit: limits.registration,
            period: MINUTE,
            covers: &[
                (Method::POST, "/api/v1/identity/register"),
                (Method::POST, "/register"),
            ],
        },
        Rule {
            name: "checkout",
            per: Per::User,
            limit: limits.checkout,
            period: MINUTE,
            covers: &[
                (Method::POST, "/api/v1/orders/checkout"),
                (Method::POST, "/checkout"),
            ],
        },
        Rule {
            name: "client",
            per: Per::Client,
            limit: limits.per_client,
            period: MINUTE,
            covers: &[],
        },
        Rule {
            name: "user",
            per: Per::SignedInUser,
            limit: limits.per_user,
            period: MINUTE,
            covers: &[],
        },
    ]
}

/// One GCRA step, atomically in Redis with its clock (so replicas with skewed clocks
/// agree), in microseconds (a limit of thousands a minute is a fraction of a
/// millisecond apart; written with `%.0f`, as Lua would print 16 digits in exponent
/// form): returns `{1, 0}` when allowed, `{0, ms to wait}` when not.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then return {0, math.ceil((allow_at - now) / 1000)} end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, 0}
";

pub struct Limiter {
    rules: Vec<Rule>,
    prefix: String,
    backend: Backend,
}

enum Backend {
    Redis {
        client: redis::Client,
        conn: OnceCell<ConnectionManager>,
    },
    /// Theoretical arrival time per key, for a single gateway.
    Memory(Mutex<HashMap<String, Instant>>),
}

/// Keys kept in memory before the expired ones are swept.
const SWEEP_AT: usize = 100_000;

impl Limiter {
    pub fn new(rules: Vec<Rule>, redis_url: Option<&str>, namespace: &str) -> anyhow::Result<Self> {
        let backend = match redis_url {
            Some(url) => Backend::Redis {
                client: redis::Client::open(url)
                    .map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))?,
                conn: OnceCell::new(),
            },
            None => Backend::Memory(Mutex::new(HashMap::new())),
        };
        // At zero from the start, so alerts and rates see every rule.
        for rule in &rules {
            metrics::counter!("gateway_rate_limited_total", "rule" => rule.name).increment(0);
        }
        metrics::counter!("gateway_rate_limit_errors_total").increment(0);
        Ok(Self {
            rules,
            prefix: format!("{namespace}:rate"),
            backend,
        })
    }

    /// `None` when the request may go on; otherwise how long the caller must wait,
    /// and the rule that refused.
    pub async fn check(
        &self,
        method: &Method,
        path: &str,
        client: &str,
        user: Option<&str>,
    ) -> Option<(Duration, &'static str)> {
        for rule in self.rules.iter().filter(|r| r.applies(method, path)) {
            let subject = match (rule.per, user) {
                (Per::User | Per::SignedInUser, Some(user)) => format!("user:{user}"),
                (Per::SignedInUser, None) => continue,
                (Per::User | Per::Client, _) => format!("client:{client}"),
            };
            let key = format!("{}:{}:{subject}", self.prefix, rule.name);
            let interval = rule.period / rule.limit.max(1);
            if let Some(wait) = self.take(&key, interval, rule.limit.max(1)).await {
                metrics::counter!("gateway_rate_limited_total", "rule" => rule.name).increment(1);
                return Some((wait, rule.name));
            }
        }
        None
    }

    async fn take(&self, key: &str, interval: Duration, burst: u32) -> Option<Duration> {
        match &self.backend {
            Backend::Memory(tats) => {
                let now = Instant::now();
                let mut tats = tats
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if tats.len() >= SWEEP_AT {
                    tats.retain(|_, tat| *tat > now);
                }
                let tat = tats.get(key).copied().unwrap_or(now).max(now);
                let new_tat = tat + interval;
                let allow_at = new_tat.checked_sub(interval * burst).unwrap_or(now);
                if allow_at > now {
                    return Some(allow_at - now);
                }
                tats.insert(key.to_owned(), new_tat);
                None
            }
            Backend::Redis { client, conn } => {
                let mut conn = match conn
                    .get_or_try_init(|| async {
                        tokio::time::timeout(
                            Duration::from_secs(2),
                            ConnectionManager::new(client.clone()),
                        )
                        .await
                        .map_err(|_| "timed out".to_owned())?
                        .map_err(|e| e.to_string())
                    })
                    .await
                {
                    Ok(conn) => conn.clone(),
                    Err(e) => return fail_open(&e),
                };
                let mut eval = redis::cmd("EVAL");
                eval.arg(GCRA)
                    .arg(1)
                    .arg(key)
                    .arg(interval.as_micros() as u64)
                    .arg(burst);
                let step = eval.query_async::<(i64, i64)>(&mut conn);
                match tokio::time::timeout(Duration::from_millis(500), step).await {
                    Ok(Ok((1, _))) => None,
                    Ok(Ok((_, wait_ms))) => Some(Duration::from_millis(wait_ms.max(1) as u64)),
                    Ok(Err(e)) => fail_open(&e.to_string()),
                    Err(_) => fail_open("timed out"),
                }
            }
        }
    }
}

/// Redis unreachable: let traffic through rather than refuse everyone, and say so.
fn fail_open(error: &str) -> Option<Duration> {
    tracing::warn!(
        error,
        "rate limits unavailable: letting the request through"
    );
    metrics::counter!("gateway_rate_limit_errors_total").increment(1);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(
            default_rules(RateLimits {
                per_client: 100,
                per_user: 50,
                ..RateLimits::default()
            }),
            None,
            "test",
        )
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_up_to_the_limit_passes_then_one_request_per_interval() {
        let l = limiter();
        for _ in 0..5 {
            assert!(
                l.check(&Method::POST, "/register", "1.2.3.4", None)
                    .await
                    .is_none()
            );
        }
        let (wait, rule) = l
            .check(&Method::POST, "/api/v1/identity/register", "1.2.3.4", None)
            .await
            .unwrap();
        assert_eq!(rule, "registration");
        assert_eq!(wait, Duration::from_secs(12), "one every 60 s / 5");
        assert!(
            l.check(&Method::POST, "/register", "5.6.7.8", None)
                .await
                .is_none(),
            "another client has its own allowance"
        );
        tokio::time::advance(Duration::from_secs(12)).await;
        assert!(
            l.check(&Method::POST, "/register", "1.2.3.4", None)
                .await
                .is_none()
        );
        assert!(
            l.check(&Method::POST, "/register", "1.2.3.4", None)
                .await
                .is_some()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn anonymous_callers_are_held_to_the_per_client_limit_only() {
        let l = Limiter::new(
            default_rules(RateLimits {
                per_client: 100,
                per_user: 5,
                ..RateLimits::default()
            }),
            None,
            "test",
        )
        .unwrap();
        for _ in 0..100 {
            assert!(l.check(&Method::GET, "/", "1.2.3.4", None).await.is_none());
        }
        assert_eq!(
            l.check(&Method::GET, "/", "1.2.3.4", None)
                .await
                .map(|r| r.1),
            Some("client")
        );
        for _ in 0..5 {
            assert!(
                l.check(&Method::GET, "/", "5.6.7.8", Some("usr_1"))
                    .await
                    .is_none()
            );
        }
        assert_eq!(
            l.check(&Method::GET, "/", "5.6.7.8", Some("usr_1"))
                .await
                .map(|r| r.1),
            Some("user")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn checkouts_count_per_user_wherever_they_come_from() {
        let l = limiter();
        for i in 0..10 {
            let client = format!("10.0.0.{i}");
            assert!(
                l.check(&Method::POST, "/checkout", &client, Some("usr_1"))
                    .await
                    .is_none()
            );
        }
        let refused = l
            .check(&Method::POST, "/checkout", "10.0.0.99", Some("usr_1"))
            .await;
        assert_eq!(refused.map(|r| r.1), Some("checkout"));
        assert!(
            l.check(&Method::POST, "/checkout", "10.0.0.99", Some("usr_2"))
                .await
                .is_none()
        );
        assert!(
            l.check(&Method::GET, "/checkout", "10.0.0.99", Some("usr_1"))
                .await
                .is_none(),
            "the page itself is not a checkout"
        );
    }
}
