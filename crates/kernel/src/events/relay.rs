//! Publishes committed outbox rows. Woken by `pg_notify` on commit (low latency), and
//! polling on an interval as a safety net (missed notifications, broker outages).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener};
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::outbox::NOTIFY_CHANNEL;
use super::{Bus, Envelope};

const BATCH: i64 = 100;

/// What a relay hears from its database's listener: a schema whose transaction
/// recorded events, or `ANY_SCHEMA` when notifications may have been missed.
pub type Wakeups = broadcast::Receiver<Arc<str>>;

/// Wakes every relay: the listener (re)connected, so commits may have gone unheard.
const ANY_SCHEMA: &str = "*";

pub struct OutboxRelay {
    pub schema: &'static str,
    pub pool: PgPool,
    pub bus: Arc<dyn Bus>,
    pub interval: Duration,
    /// From `listen_for_commits` on the database holding this schema.
    pub wakeups: Wakeups,
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

/// Holds the one `LISTEN` connection of a database for every relay of the process
/// (outside the pools, one connection of the budget), forwarding the schema each
/// commit names. Reconnects after a failure; relays poll on their interval meanwhile.
pub async fn listen_for_commits(
    url: String,
    wakeups: broadcast::Sender<Arc<str>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let any: Arc<str> = Arc::from(ANY_SCHEMA);
    loop {
        match listen(&url).await {
            Ok(mut listener) => {
                let _ = wakeups.send(any.clone());
                loop {
                    tokio::select! {
                        received = listener.try_recv() => match received {
                            Ok(Some(n)) => {
                                let _ = wakeups.send(Arc::from(n.payload()));
                            }
                            // Reconnected by sqlx: notifications may have been missed.
                            Ok(None) => {
                                let _ = wakeups.send(any.clone());
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "outbox listener lost its connection");
                                break;
                            }
                        },
                        _ = shutdown.changed() => return,
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox listener cannot connect; relays poll"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("emporium-outbox-listener");
    let mut listener = PgListener::connect_with(
        &sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options),
    )
    .await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(listener)
}

impl OutboxRelay {
    /// Runs until `shutdown` flips to true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
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
            let schema = self.schema;
            let wakeups = &mut self.wakeups;
            let wake = async {
                loop {
                    match wakeups.recv().await {
                        Ok(s) if &*s == schema || &*s == ANY_SCHEMA => return,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        // The polling interval below covers a stopped listener.
                        Err(broadcast::error::RecvError::Closed) => {
                            return std::future::pending().await;
                        }
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
