//! An upstream is one service's replicas behind one circuit breaker. Calls go round
//! the replicas in turn; a replica that fails `eject_after` times in a row is left out
//! for `eject_for` and then tried again by the next call (passive health checks: no
//! probes of our own, the traffic is the probe).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::Uri;
use axum::http::uri::Authority;
use tokio::time::Instant;

use crate::breaker::Breaker;

/// How replicas are judged and how the breaker trips.
#[derive(Debug, Clone)]
pub struct HealthPolicy {
    /// Failures in a row before a replica is left out.
    pub eject_after: u32,
    /// How long a replica is left out before it is tried again.
    pub eject_for: Duration,
    /// Failed calls in a row (after trying every replica) that open the breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open at first (doubling while probes fail).
    pub breaker_cool_down: Duration,
    pub breaker_max_cool_down: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            eject_after: 3,
            eject_for: Duration::from_secs(10),
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(5),
            breaker_max_cool_down: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
pub struct Replica {
    pub authority: Authority,
    failures: AtomicU32,
    left_out_until: Mutex<Option<Instant>>,
}

impl Replica {
    fn new(authority: Authority) -> Self {
        Self {
            authority,
            failures: AtomicU32::new(0),
            left_out_until: Mutex::new(None),
        }
    }

    fn until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.left_out_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_left_out(&self, now: Instant) -> bool {
        self.until().is_some_and(|until| now < until)
    }
}

#[derive(Debug)]
pub struct Upstream {
    pub name: String,
    pub replicas: Vec<Replica>,
    pub breaker: Breaker,
    next: AtomicUsize,
    policy: HealthPolicy,
}

/// A replica list that does not parse (`CATALOG_URL=http://a:8081,http://b:8081`).
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct BadUpstream {
    pub name: String,
    pub reason: String,
}

impl Upstream {
    /// `urls` is a comma-separated list of `http://host:port` replicas.
    pub fn parse(name: &str, urls: &str, policy: HealthPolicy) -> Result<Self, BadUpstream> {
        let bad = |reason: String| BadUpstream {
            name: name.to_owned(),
            reason,
        };
        let mut replicas = Vec::new();
        for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let uri: Uri = url
                .parse()
                .map_err(|e| bad(format!("{url:?} is not a URL: {e}")))?;
            if uri.scheme_str() != Some("http") {
                return Err(bad(format!(
                    "{url:?}: replicas are reached over plain http inside the cluster"
                )));
            }
            let authority = uri
                .authority()
                .cloned()
                .ok_or_else(|| bad(format!("{url:?} names no host")))?;
            replicas.push(Replica::new(authority));
        }
        if replicas.is_empty() {
            return Err(bad("no replica given".into()));
        }
        Ok(Self {
            name: name.to_owned(),
            replicas,
            breaker: Breaker::new(
                policy.breaker_threshold,
                policy.breaker_cool_down,
                policy.breaker_max_cool_down,
            ),
            next: AtomicUsize::new(0),
            policy,
        })
    }

    /// The replicas to try for one call, in order: those in rotation from the next in
    /// turn; when every one is left out, all of them anyway (trying beats refusing).
    pub fn candidates(&self) -> Vec<&Replica> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let rotated = (0..n).map(|i| &self.replicas[(start + i) % n]);
        let now = Instant::now();
        let healthy: Vec<&Replica> = rotated.clone().filter(|r| !r.is_left_out(now)).collect();
        if healthy.is_empty() {
            rotated.collect()
        } else {
            healthy
        }
    }

    pub fn replica_succeeded(&self, replica: &Replica) {
        replica.failures.store(0, Ordering::Relaxed);
        *replica.until() = None;
    }

    pub fn replica_failed(&self, replica: &Replica) {
        let failures = replica.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.policy.eject_after {
            tracing::warn!(
                upstream = %self.name,
                replica = %replica.authority,
                failures,
                "replica left out of rotation"
            );
            replica.failures.store(0, Ordering::Relaxed);
            *replica.until() = Some(Instant::now() + self.policy.eject_for);
        }
    }

    /// Replicas currently in rotation.
    pub fn healthy_replicas(&self) -> usize {
        let now = Instant::now();
        self.replicas.iter().filter(|r| !r.is_left_out(now)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream() -> Upstream {
        Upstream::parse(
            "catalog",
            "http://10.0.0.1:8080, http://10.0.0.2:8080,http://10.0.0.3:8080",
            HealthPolicy::default(),
        )
        .unwrap()
    }

    fn hosts(u: &Upstream) -> Vec<String> {
        u.candidates()
            .iter()
            .map(|r| r.authority.host().to_owned())
            .collect()
    }

    #[test]
    fn replicas_take_turns() {
        let u = upstream();
        let firsts: Vec<String> = (0..4).map(|_| hosts(&u)[0].clone()).collect();
        assert_eq!(firsts, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"]);
        assert_eq!(hosts(&u).len(), 3, "the others follow, for retries");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_replica_is_left_out_then_tried_again() {
        let u = upstream();
        for _ in 0..3 {
            u.replica_failed(&u.replicas[1]);
        }
        assert_eq!(u.healthy_replicas(), 2);
        for _ in 0..6 {
            assert!(!hosts(&u).contains(&"10.0.0.2".to_owned()));
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(u.healthy_replicas(), 3);
        u.replica_succeeded(&u.replicas[1]);
        assert_eq!(u.healthy_replicas(), 3);
    }

    #[test]
    fn with_every_replica_left_out_all_are_tried_anyway() {
        let u = upstream();
        for r in &u.replicas {
            for _ in 0..3 {
                u.replica_failed(r);
            }
        }
        assert_eq!(u.healthy_replicas(), 0);
        assert_eq!(hosts(&u).len(), 3);
    }

    #[test]
    fn replica_lists_are_checked() {
        for bad in ["", "https://x:1", "not a url", "http://"] {
            assert!(
                Upstream::parse("x", bad, HealthPolicy::default()).is_err(),
                "{bad:?}"
            );
        }
    }
}
