use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use super::Envelope;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the message broker is unreachable: {0}")]
    Unavailable(String),
    #[error("the broker refused the message")]
    Nacked,
}

/// Handles one event type (or several) for a consuming service. The handler runs inside
/// the consumer's transaction: its writes commit together with the inbox row.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()>;

    /// Runs once the event's effects are committed (also when a redelivery finds them
    /// committed already): the place for side effects that must not run ahead of the
    /// commit, such as invalidating caches of what the transaction changed.
    async fn after_commit(&self, _event: &Envelope) {}
}

/// A consuming service's interest in some event types.
#[derive(Clone)]
pub struct Subscription {
    /// The consuming service (names its queue and its inbox rows).
    pub consumer: &'static str,
    pub event_types: Vec<&'static str>,
    pub handler: Arc<dyn Handler>,
    /// The consumer's own pool: inbox, dead letters and the handler's effects.
    pub pool: PgPool,
}

/// Carries envelopes from relays to consumers.
#[async_trait::async_trait]
pub trait Bus: Send + Sync {
    /// Publishes one envelope; `Ok` means the transport took responsibility for it.
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError>;

    /// Makes sure events of `event_types` are kept for `consumer` from now on, even
    /// before that consumer first runs (RabbitMQ: declares its queue and bindings).
    async fn declare(&self, consumer: &str, event_types: &[&str]) -> Result<(), BusError>;

    /// Starts consuming for a subscription (in the background).
    async fn subscribe(&self, subscription: Subscription) -> Result<(), BusError>;

    /// Re-delivers the dead-lettered events of these subscriptions; returns how many.
    async fn replay_dead_letters(&self, subscriptions: &[Subscription]) -> Result<u64, BusError>;

    /// Whether the transport is usable right now (for `/ready`).
    async fn is_ready(&self) -> bool;

    fn name(&self) -> &'static str;
}
