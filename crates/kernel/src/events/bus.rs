use std::sync::Arc;
use std::time::Duration;

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

/// Where a subscription's events wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// One queue for the consuming service, its replicas taking turns: they share one
    /// database, so any of them may handle any event.
    Shared,
    /// A queue of one replica's own that receives every event, for a replica that keeps
    /// state of its own (search's index). The broker deletes it once it has had no
    /// consumer for `expires`; the replica then starts afresh.
    Replica { name: String, expires: Duration },
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
    pub queue: Queue,
}

impl Subscription {
    /// What names the subscription's queues on a broker: the consumer, and the replica
    /// when the queue is the replica's own.
    pub fn queue_key(&self) -> String {
        match &self.queue {
            Queue::Shared => self.consumer.to_owned(),
            Queue::Replica { name, .. } => format!("{}.{name}", self.consumer),
        }
    }

    /// How long the broker keeps the queue without a consumer (none: for ever).
    pub fn expires(&self) -> Option<Duration> {
        match &self.queue {
            Queue::Shared => None,
            Queue::Replica { expires, .. } => Some(*expires),
        }
    }
}

/// One consumer's waiting work, as its transport counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerBacklog {
    pub consumer: &'static str,
    /// Delivered to the transport, not yet handled.
    pub waiting: u64,
    /// Given up on after every attempt, waiting for a replay.
    pub dead_lettered: u64,
}

/// Carries envelopes from relays to consumers.
#[async_trait::async_trait]
pub trait Bus: Send + Sync {
    /// Publishes one envelope; `Ok` means the transport took responsibility for it.
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError>;

    /// Makes sure events of `event_types` are kept for `consumer` from now on, even
    /// before that consumer first runs (RabbitMQ: declares its queue and bindings).
    async fn declare(&self, consumer: &str, event_types: &[&str]) -> Result<(), BusError>;

    /// Declares the subscription's queue now; `true` when it did not exist before, so
    /// the consumer has missed every earlier event and must catch up another way.
    async fn open_queue(&self, subscription: &Subscription) -> Result<bool, BusError>;

    /// Starts consuming for a subscription (in the background).
    async fn subscribe(&self, subscription: Subscription) -> Result<(), BusError>;

    /// Re-delivers the dead-lettered events of these subscriptions; returns how many.
    async fn replay_dead_letters(&self, subscriptions: &[Subscription]) -> Result<u64, BusError>;

    /// Whether the transport is usable right now (for `/ready`).
    async fn is_ready(&self) -> bool;

    /// What waits for each consumer of this process: events not yet handled and events
    /// dead-lettered (for `/metrics`); empty when the transport cannot tell.
    async fn backlog(&self) -> Vec<ConsumerBacklog>;

    fn name(&self) -> &'static str;
}
