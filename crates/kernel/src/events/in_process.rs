//! The default transport: publishing runs every matching consumer before it returns,
//! so the relay marks an event published only once it has been handled or
//! dead-lettered. A crash in between means the relay publishes it again and the inbox
//! drops the duplicate: at-least-once delivery, exactly-once effects.

use tokio::sync::RwLock;

use super::consumer::{Outcome, RetryPolicy, deliver};
use super::{Bus, BusError, ConsumerBacklog, Envelope, Subscription};

pub struct InProcessBus {
    subscriptions: RwLock<Vec<Subscription>>,
    policy: RetryPolicy,
}

impl InProcessBus {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            subscriptions: RwLock::new(Vec::new()),
            policy,
        }
    }
}

async fn dead_letter(sub: &Subscription, envelope: &Envelope, error: &str) -> Result<(), BusError> {
    let json = serde_json::to_value(envelope).map_err(|e| BusError::Unavailable(e.to_string()))?;
    sqlx::query(
        "INSERT INTO dead_letters (event_id, consumer, envelope, error) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id, consumer) DO UPDATE SET error = EXCLUDED.error, failed_at = now()",
    )
    .bind(envelope.id)
    .bind(sub.consumer)
    .bind(json)
    .bind(error)
    .execute(&sub.pool)
    .await
    .map_err(|e| BusError::Unavailable(e.to_string()))?;
    tracing::error!(consumer = sub.consumer, event_id = %envelope.id, error, "event dead-lettered");
    Ok(())
}

#[async_trait::async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let subs: Vec<Subscription> = self
            .subscriptions
            .read()
            .await
            .iter()
            .filter(|s| s.event_types.contains(&envelope.event_type.as_str()))
            .cloned()
            .collect();
        let runs = subs.iter().map(|sub| async move {
            match deliver(sub, envelope, self.policy).await {
                Outcome::Done => Ok(()),
                Outcome::Failed(error) => dead_letter(sub, envelope, &error).await,
            }
        });
        for result in futures_util::future::join_all(runs).await {
            result?;
        }
        Ok(())
    }

    /// Nothing to declare: in one process every consumer subscribes before any relay runs.
    async fn declare(&self, _: &str, _: &[&str]) -> Result<(), BusError> {
        Ok(())
    }

    /// No queues: every consumer of the process subscribes before its relays run.
    async fn open_queue(&self, _: &Subscription) -> Result<bool, BusError> {
        Ok(false)
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<(), BusError> {
        self.subscriptions.write().await.push(subscription);
        Ok(())
    }

    async fn replay_dead_letters(&self, subscriptions: &[Subscription]) -> Result<u64, BusError> {
        let mut replayed = 0;
        for sub in subscriptions {
            let rows: Vec<(serde_json::Value,)> = sqlx::query_as(
                "SELECT envelope FROM dead_letters WHERE consumer = $1 ORDER BY failed_at",
            )
            .bind(sub.consumer)
            .fetch_all(&sub.pool)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
            for (json,) in rows {
                let Ok(envelope) = serde_json::from_value::<Envelope>(json) else {
                    continue;
                };
                if let Outcome::Done = deliver(sub, &envelope, self.policy).await {
                    sqlx::query("DELETE FROM dead_letters WHERE event_id = $1 AND consumer = $2")
                        .bind(envelope.id)
                        .bind(sub.consumer)
                        .execute(&sub.pool)
                        .await
                        .map_err(|e| BusError::Unavailable(e.to_string()))?;
                    replayed += 1;
                }
            }
        }
        Ok(replayed)
    }

    async fn is_ready(&self) -> bool {
        true
    }

    /// Nothing waits in transit (publishing runs the consumers); dead letters are rows.
    async fn backlog(&self) -> Vec<ConsumerBacklog> {
        let subs = self.subscriptions.read().await.clone();
        let mut backlog = Vec::new();
        for sub in subs {
            if backlog
                .iter()
                .any(|b: &ConsumerBacklog| b.consumer == sub.consumer)
            {
                continue;
            }
            let dead: Option<i64> =
                sqlx::query_scalar("SELECT count(*) FROM dead_letters WHERE consumer = $1")
                    .bind(sub.consumer)
                    .fetch_one(&sub.pool)
                    .await
                    .ok();
            if let Some(dead) = dead {
                backlog.push(ConsumerBacklog {
                    consumer: sub.consumer,
                    waiting: 0,
                    dead_lettered: u64::try_from(dead).unwrap_or(0),
                });
            }
        }
        backlog
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}
