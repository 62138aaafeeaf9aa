//! A circuit breaker per upstream: after `threshold` failures in a row it opens and the
//! gateway answers at once (503 with `Retry-After`) instead of queueing callers behind
//! a service that is down; once the cool-down is over one probe request goes through
//! (half-open), whose success closes it and whose failure opens it again for twice as
//! long (up to `max_cool_down`).
//!
//! Written here rather than taken from a crate: the ones there are (`failsafe`,
//! `tower-resilience`) cannot say when they will let calls through again, which
//! `Retry-After` needs, and let every call through when half-open, not one probe.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// What the breaker says about a call about to be made.
#[derive(Debug, PartialEq, Eq)]
pub enum Permit {
    /// Closed: go ahead.
    Call,
    /// Half-open: this call is the one probe; report how it went.
    Probe,
    /// Open: refuse, and tell the caller to come back after this long.
    Refuse(Duration),
}

/// The breaker's state, as `/metrics` shows it (0 closed, 1 half-open, 2 open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    HalfOpen,
    Open,
}

impl State {
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    /// When the breaker opened and until when; `None` when closed.
    open_until: Option<Instant>,
    /// A probe is out (half-open): no other call goes through until it reports.
    probing: bool,
    cool_down: Duration,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    base_cool_down: Duration,
    max_cool_down: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration, max_cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            base_cool_down: cool_down,
            max_cool_down: max_cool_down.max(cool_down),
            inner: Mutex::new(Inner {
                failures: 0,
                open_until: None,
                probing: false,
                cool_down,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the counts inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn permit(&self) -> Permit {
        let mut inner = self.lock();
        let Some(until) = inner.open_until else {
            return Permit::Call;
        };
        let now = Instant::now();
        if now < until {
            return Permit::Refuse(until - now);
        }
        if inner.probing {
            // The probe is still out; come back about when it should have answered.
            return Permit::Refuse(Duration::from_secs(1));
        }
        inner.probing = true;
        Permit::Probe
    }

    pub fn succeeded(&self) {
        let mut inner = self.lock();
        if inner.open_until.is_some() {
            tracing::info!("upstream recovered: circuit closed");
        }
        inner.failures = 0;
        inner.open_until = None;
        inner.probing = false;
        inner.cool_down = self.base_cool_down;
    }

    pub fn failed(&self) {
        let mut inner = self.lock();
        let now = Instant::now();
        if inner.probing {
            // The probe failed: open again, for longer.
            inner.probing = false;
            inner.cool_down = (inner.cool_down * 2).min(self.max_cool_down);
            inner.open_until = Some(now + inner.cool_down);
            return;
        }
        inner.failures += 1;
        if inner.open_until.is_none() && inner.failures >= self.threshold {
            tracing::warn!(failures = inner.failures, "upstream failing: circuit open");
            inner.open_until = Some(now + inner.cool_down);
        }
    }

    pub fn state(&self) -> State {
        let inner = self.lock();
        match inner.open_until {
            None => State::Closed,
            Some(_) if inner.probing => State::HalfOpen,
            Some(until) if Instant::now() >= until => State::HalfOpen,
            Some(_) => State::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(3, Duration::from_secs(5), Duration::from_secs(60))
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_and_refuses_with_the_time_left() {
        let b = breaker();
        b.failed();
        b.failed();
        b.succeeded();
        b.failed();
        b.failed();
        assert_eq!(b.permit(), Permit::Call, "a success resets the count");
        b.failed();
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.permit(), Permit::Refuse(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(b.permit(), Permit::Refuse(Duration::from_secs(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn lets_one_probe_through_after_the_cool_down_and_closes_on_its_success() {
        let b = breaker();
        for _ in 0..3 {
            b.failed();
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.permit(), Permit::Probe);
        assert!(
            matches!(b.permit(), Permit::Refuse(_)),
            "one probe at a time"
        );
        b.succeeded();
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.permit(), Permit::Call);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_again_for_twice_as_long() {
        let b = breaker();
        for _ in 0..3 {
            b.failed();
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.permit(), Permit::Probe);
        b.failed();
        assert_eq!(b.permit(), Permit::Refuse(Duration::from_secs(10)));
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(60)).await;
            assert_eq!(b.permit(), Permit::Probe);
            b.failed();
        }
        assert_eq!(
            b.permit(),
            Permit::Refuse(Duration::from_secs(60)),
            "never longer than the ceiling"
        );
    }
}
