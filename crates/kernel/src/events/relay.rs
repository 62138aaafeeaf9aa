//! Publishes committed outbox rows. Woken by `pg_notify` on commit (low latency), and
//! polling on an interval as a safety net (missed notifications, broker outages).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::outbox::NOTIFY_CHANNEL;
use super::{Bus, Envelope};

const BATCH: i64 = 100;

pub struct OutboxRelay {
    pub schema: &'static str,
    pub pool: PgPool,
    pub bus: Arc<dyn Bus>,
    pub interval: Duration,
}

type OutboxRow = (
    Uuid,
    String,
    i32,
    String,
    OffsetDateTime,
    Option<String>,
    serde_json::Value,
);

impl OutboxRelay {
    /// Runs until `shutdown` flips to true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut l) => match l.listen(NOTIFY_CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(schema = self.schema, error = %e, "outbox LISTEN failed; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(schema = self.schema, error = %e, "outbox listener failed; polling only");
                None
            }
        };
        loop {
            loop {
                match self.publish_batch().await {
                    Ok(n) if n == BATCH as usize => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(schema = self.schema, error = %e, "outbox relay pass failed");
                        break;
                    }
                }
            }
            let wake = async {
                let Some(l) = listener.as_mut() else {
                    return std::future::pending().await;
                };
                // Every schema's commits notify one channel; only ours is worth a pass.
                loop {
                    match l.try_recv().await {
                        Ok(Some(n)) if n.payload() == self.schema => return,
                        Ok(Some(_)) => {}
                        // Reconnected: notifications may have been missed.
                        Ok(None) => return,
                        // The polling interval below covers a broken listener.
                        Err(_) => return std::future::pending().await,
                    }
                }
            };
            tokio::select! {
                () = wake => {}
                () = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Publishes up to one batch; returns how many were published. Rows are locked with
    /// SKIP LOCKED so replicas of a service share the work without publishing twice.
    pub async fn publish_batch(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, event_type, schema_version, aggregate_id, occurred_at, trace_context, payload
             FROM outbox WHERE published_at IS NULL
             ORDER BY occurred_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut published = 0;
        for (id, event_type, schema_version, aggregate_id, occurred_at, trace_context, payload) in
            rows
        {
            let envelope = Envelope {
                id,
                event_type,
                schema_version,
                occurred_at,
                aggregate_id,
                trace_context,
                payload,
            };
            match self.bus.publish(&envelope).await {
                Ok(()) => {
                    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    published += 1;
                    metrics::counter!("events_published_total", "schema" => self.schema)
                        .increment(1);
                }
                Err(e) => {
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(e.to_string())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Err(e.into());
                }
            }
        }
        tx.commit().await?;
        Ok(published)
    }
}
