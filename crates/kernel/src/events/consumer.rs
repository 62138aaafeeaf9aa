//! The consuming side shared by every transport: inbox de-duplication, retries with
//! exponential backoff, and the decision to dead-letter.

use std::time::Duration;

use super::{Envelope, Subscription};
use opentelemetry::trace::SpanKind;

use crate::telemetry::trace::{self, TraceParent};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
}

#[derive(Debug)]
pub enum Outcome {
    /// Handled now, or already handled before (a duplicate delivery).
    Done,
    /// Every attempt failed; the transport must dead-letter it.
    Failed(String),
}

/// Makes the consumer's counters exist at zero, so rates and alerts see it from the
/// start rather than from its first failure.
pub fn register_counters(consumer: &'static str) {
    for name in [
        "events_handled_total",
        "events_duplicates_total",
        "events_retries_total",
        "events_dead_lettered_total",
    ] {
        metrics::counter!(name, "consumer" => consumer).increment(0);
    }
}

/// Handles one delivery exactly once per consumer, as a span of the trace that
/// recorded the event (and linked to it).
pub async fn deliver(sub: &Subscription, envelope: &Envelope, policy: RetryPolicy) -> Outcome {
    let started = std::time::Instant::now();
    let parent = envelope
        .trace_context
        .as_deref()
        .and_then(TraceParent::parse);
    let name = || format!("{} {}", sub.consumer, envelope.event_type);
    let part = trace::Part::new(
        parent.clone(),
        || {
            tracing::info_span!(
                "event",
                consumer = sub.consumer,
                event_type = %envelope.event_type,
                event_id = %envelope.id,
                trace_id = tracing::field::Empty,
                span_id = tracing::field::Empty,
                otel.name = %name(),
                otel.kind = "consumer",
                otel.status_code = tracing::field::Empty,
            )
        },
        || {
            tracing::info_span!(
                target: trace::UNTRACED,
                "event",
                consumer = sub.consumer,
                event_type = %envelope.event_type,
                event_id = %envelope.id,
                trace_id = tracing::field::Empty,
            )
        },
    );
    if let Some(parent) = &parent {
        part.link(parent);
    }
    let outcome = part.run(attempts(sub, envelope, policy)).await;
    if let Outcome::Failed(_) = outcome {
        part.failed(name, SpanKind::Consumer, started.elapsed());
    }
    outcome
}

async fn attempts(sub: &Subscription, envelope: &Envelope, policy: RetryPolicy) -> Outcome {
    let mut last_error = String::new();
    for attempt in 1..=policy.max_attempts {
        match try_once(sub, envelope).await {
            Ok(()) => return Outcome::Done,
            Err(e) => {
                last_error = format!("{e:#}");
                tracing::warn!(
                    consumer = sub.consumer,
                    event_id = %envelope.id,
                    event_type = %envelope.event_type,
                    attempt,
                    error = %last_error,
                    "event handler failed"
                );
                if attempt < policy.max_attempts {
                    metrics::counter!("events_retries_total", "consumer" => sub.consumer)
                        .increment(1);
                    tokio::time::sleep(policy.base_delay * 2u32.saturating_pow(attempt - 1)).await;
                }
            }
        }
    }
    metrics::counter!("events_dead_lettered_total", "consumer" => sub.consumer).increment(1);
    Outcome::Failed(last_error)
}

async fn try_once(sub: &Subscription, envelope: &Envelope) -> anyhow::Result<()> {
    let mut tx = sub.pool.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO inbox (event_id, consumer) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(envelope.id)
    .bind(sub.consumer)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        tracing::debug!(consumer = sub.consumer, event_id = %envelope.id, "duplicate delivery ignored");
        metrics::counter!("events_duplicates_total", "consumer" => sub.consumer).increment(1);
        drop(tx);
        sub.handler.after_commit(envelope).await;
        return Ok(());
    }
    sub.handler.handle(envelope, &mut tx).await?;
    tx.commit().await?;
    sub.handler.after_commit(envelope).await;
    metrics::counter!("events_handled_total", "consumer" => sub.consumer).increment(1);
    Ok(())
}
