//! RabbitMQ transport: a durable topic exchange keyed by event type, one durable queue
//! per consuming service with a dead-letter exchange behind it, publisher confirms and
//! manual acks. lapin does not reconnect by itself, so publishing reopens the
//! connection on demand and every consumer loop re-declares its topology after a drop.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use super::consumer::{Outcome, RetryPolicy, deliver};
use super::{Bus, BusError, ConsumerBacklog, Envelope, Subscription};

/// Exchange and queue names under one namespace (`EMPORIUM_NAMESPACE`, default `emporium`).
#[derive(Debug, Clone)]
pub struct Topology {
    namespace: String,
}

impl Topology {
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
        }
    }

    pub fn exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letters", self.namespace)
    }

    pub fn queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.namespace)
    }

    pub fn dead_letter_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.dead-letters", self.namespace)
    }
}

pub struct RabbitBus {
    url: String,
    topology: Topology,
    /// Every consumer of the system and its event types, declared on each (re)connect
    /// of the publisher, so no event is published before its queues exist.
    consumers: std::sync::Mutex<Vec<(String, Vec<String>)>>,
    policy: RetryPolicy,
    publisher: Mutex<Option<(Connection, Channel)>>,
    /// This process's consumers and their queue keys, for `backlog`.
    subscribed: std::sync::Mutex<Vec<(&'static str, String)>>,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

async fn connect(url: &str) -> Result<Connection, BusError> {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    tokio::time::timeout(Duration::from_secs(5), Connection::connect(url, props))
        .await
        .map_err(|_| unavailable("connection timed out"))?
        .map_err(unavailable)
}

async fn declare_exchanges(channel: &Channel, t: &Topology) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            &t.exchange(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    channel
        .exchange_declare(
            &t.dead_letter_exchange(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)
}

/// The broker's `x-expires` argument: the queue goes after this long without a
/// consumer. Dead-letter queues never expire: nobody consumes them, and what they hold
/// waits for a person.
fn expiry(expires: Option<Duration>) -> FieldTable {
    let mut args = FieldTable::default();
    if let Some(expires) = expires {
        let millis = i32::try_from(expires.as_millis())
            .unwrap_or(i32::MAX)
            .max(1);
        args.insert(ShortString::from("x-expires"), AMQPValue::LongInt(millis));
    }
    args
}

/// The consumer's queue (bound to its event types) and its dead-letter queue; `key`
/// names both (see [`Subscription::queue_key`]).
async fn declare_consumer_queues(
    channel: &Channel,
    t: &Topology,
    key: &str,
    event_types: &[&str],
    expires: Option<Duration>,
) -> Result<(), BusError> {
    declare_exchanges(channel, t).await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let dlq = t.dead_letter_queue(key);
    let dlx = t.dead_letter_exchange();
    channel
        .queue_declare(&dlq, durable, FieldTable::default())
        .await
        .map_err(unavailable)?;
    channel
        .queue_bind(
            &dlq,
            &dlx,
            key,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    let mut args = expiry(expires);
    args.insert(
        ShortString::from("x-dead-letter-exchange"),
        AMQPValue::LongString(LongString::from(dlx.as_str())),
    );
    args.insert(
        ShortString::from("x-dead-letter-routing-key"),
        AMQPValue::LongString(LongString::from(key)),
    );
    let queue = t.queue(key);
    let exchange = t.exchange();
    channel
        .queue_declare(&queue, durable, args)
        .await
        .map_err(unavailable)?;
    for event_type in event_types {
        channel
            .queue_bind(
                &queue,
                &exchange,
                event_type,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

async fn confirmed_publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    envelope: &Envelope,
) -> Result<(), BusError> {
    let body = serde_json::to_vec(envelope).map_err(unavailable)?;
    let props = BasicProperties::default()
        .with_message_id(ShortString::from(envelope.id.to_string()))
        .with_type(ShortString::from(envelope.event_type.clone()))
        .with_content_type(ShortString::from("application/json"))
        .with_delivery_mode(2);
    let confirm = channel
        .basic_publish(
            exchange,
            routing_key,
            BasicPublishOptions::default(),
            &body,
            props,
        )
        .await
        .map_err(unavailable)?
        .await
        .map_err(unavailable)?;
    if confirm.is_ack() {
        Ok(())
    } else {
        Err(BusError::Nacked)
    }
}

impl RabbitBus {
    pub fn new(url: String, namespace: &str, policy: RetryPolicy) -> Self {
        Self {
            url,
            topology: Topology::new(namespace),
            consumers: std::sync::Mutex::new(Vec::new()),
            policy,
            publisher: Mutex::new(None),
            subscribed: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn publisher_channel(&self) -> Result<Channel, BusError> {
        let mut guard = self.publisher.lock().await;
        if let Some((conn, channel)) = guard.as_ref()
            && conn.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let conn = connect(&self.url).await?;
        let channel = conn.create_channel().await.map_err(unavailable)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        declare_exchanges(&channel, &self.topology).await?;
        let consumers = self.consumers.lock().map(|c| c.clone()).unwrap_or_default();
        for (consumer, types) in &consumers {
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            declare_consumer_queues(&channel, &self.topology, consumer, &types, None).await?;
        }
        *guard = Some((conn, channel.clone()));
        Ok(channel)
    }

    /// Consumes until the connection drops; the caller reconnects.
    async fn consume(
        url: &str,
        t: &Topology,
        sub: &Subscription,
        policy: RetryPolicy,
        ready: &tokio::sync::Notify,
    ) -> Result<(), BusError> {
        let conn = connect(url).await?;
        let channel = conn.create_channel().await.map_err(unavailable)?;
        let key = sub.queue_key();
        declare_consumer_queues(&channel, t, &key, &sub.event_types, sub.expires()).await?;
        channel
            .basic_qos(16, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let mut deliveries = channel
            .basic_consume(
                &t.queue(&key),
                &format!("{key}-{}", uuid::Uuid::now_v7().simple()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        ready.notify_one();
        tracing::info!(consumer = sub.consumer, "consuming from RabbitMQ");
        while let Some(delivery) = deliveries.next().await {
            let delivery = delivery.map_err(unavailable)?;
            let outcome = match serde_json::from_slice::<Envelope>(&delivery.data) {
                Ok(envelope) => deliver(sub, &envelope, policy).await,
                Err(e) => Outcome::Failed(format!("undecodable envelope: {e}")),
            };
            match outcome {
                Outcome::Done => delivery.acker.ack(BasicAckOptions::default()).await,
                Outcome::Failed(error) => {
                    tracing::error!(consumer = sub.consumer, error, "event dead-lettered");
                    delivery
                        .acker
                        .nack(BasicNackOptions {
                            requeue: false,
                            ..Default::default()
                        })
                        .await
                }
            }
            .map_err(unavailable)?;
        }
        Err(unavailable("consumer stream ended"))
    }
}

#[async_trait::async_trait]
impl Bus for RabbitBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let channel = self.publisher_channel().await?;
        let exchange = self.topology.exchange();
        let result = confirmed_publish(&channel, &exchange, &envelope.event_type, envelope).await;
        if result.is_err() {
            // Drop the connection so the next attempt starts afresh.
            *self.publisher.lock().await = None;
        }
        result
    }

    /// Remembers the consumer for every future connection and declares it now if the
    /// broker answers; if it does not, the relay's next connection will.
    async fn declare(&self, consumer: &str, event_types: &[&str]) -> Result<(), BusError> {
        if let Ok(mut c) = self.consumers.lock() {
            c.push((
                consumer.to_owned(),
                event_types.iter().map(|t| (*t).to_owned()).collect(),
            ));
        }
        let declared = match self.publisher_channel().await {
            Ok(channel) => {
                declare_consumer_queues(&channel, &self.topology, consumer, event_types, None).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = declared {
            tracing::warn!(error = %e, "RabbitMQ unreachable; queues will be declared on connect");
        }
        Ok(())
    }

    /// Looks for the queue first on a channel of its own (a passive declaration that
    /// misses closes its channel), then declares it.
    async fn open_queue(&self, sub: &Subscription) -> Result<bool, BusError> {
        let key = sub.queue_key();
        let conn = connect(&self.url).await?;
        let probe = conn.create_channel().await.map_err(unavailable)?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let existed = probe
            .queue_declare(&self.topology.queue(&key), passive, FieldTable::default())
            .await
            .is_ok();
        let channel = conn.create_channel().await.map_err(unavailable)?;
        let declared = declare_consumer_queues(
            &channel,
            &self.topology,
            &key,
            &sub.event_types,
            sub.expires(),
        )
        .await;
        let _ = conn.close(0, "queue opened").await;
        declared.map(|()| !existed)
    }

    /// Declares the topology before returning (so events published afterwards reach the
    /// queue even if the consumer task is slow to start), then consumes in the background.
    async fn subscribe(&self, sub: Subscription) -> Result<(), BusError> {
        if let Ok(mut subscribed) = self.subscribed.lock() {
            subscribed.push((sub.consumer, sub.queue_key()));
        }
        let url = self.url.clone();
        let topology = self.topology.clone();
        let policy = self.policy;
        let ready = Arc::new(tokio::sync::Notify::new());
        let started = ready.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                if let Err(e) = Self::consume(&url, &topology, &sub, policy, &ready).await {
                    tracing::warn!(consumer = sub.consumer, error = %e, "RabbitMQ consumer stopped; reconnecting");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
        // Wait briefly for the first successful declaration; if the broker is down the
        // loop keeps trying in the background and events wait in the outbox.
        let _ = tokio::time::timeout(Duration::from_secs(5), started.notified()).await;
        Ok(())
    }

    /// Moves every message from each consumer's dead-letter queue back to its queue.
    async fn replay_dead_letters(&self, subscriptions: &[Subscription]) -> Result<u64, BusError> {
        let channel = self.publisher_channel().await?;
        let mut moved = 0;
        for sub in subscriptions {
            let key = sub.queue_key();
            declare_consumer_queues(
                &channel,
                &self.topology,
                &key,
                &sub.event_types,
                sub.expires(),
            )
            .await?;
            let dlq = self.topology.dead_letter_queue(&key);
            while let Some(msg) = channel
                .basic_get(&dlq, BasicGetOptions::default())
                .await
                .map_err(unavailable)?
            {
                let delivery = msg.delivery;
                let Ok(envelope) = serde_json::from_slice::<Envelope>(&delivery.data) else {
                    tracing::error!(queue = dlq, "dropping undecodable dead letter");
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(unavailable)?;
                    continue;
                };
                // The default exchange routes by queue name: only the failing consumer
                // sees the event again, not every subscriber of its type.
                let queue = self.topology.queue(&key);
                confirmed_publish(&channel, "", &queue, &envelope).await?;
                delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(unavailable)?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Asks the broker how many messages each queue and dead-letter queue holds, on a
    /// channel of its own (a failed passive declaration closes its channel).
    async fn backlog(&self) -> Vec<ConsumerBacklog> {
        let subscribed = self
            .subscribed
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        if subscribed.is_empty() || self.publisher_channel().await.is_err() {
            return Vec::new();
        }
        let channel = match self.publisher.lock().await.as_ref() {
            Some((conn, _)) => conn.create_channel().await,
            None => return Vec::new(),
        };
        let Ok(channel) = channel else {
            return Vec::new();
        };
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let mut backlog = Vec::new();
        for (consumer, key) in subscribed {
            let count = |queue: String| {
                let channel = &channel;
                async move {
                    channel
                        .queue_declare(&queue, passive, FieldTable::default())
                        .await
                        .map(|q| u64::from(q.message_count()))
                }
            };
            let waiting = count(self.topology.queue(&key)).await;
            let dead = count(self.topology.dead_letter_queue(&key)).await;
            let (Ok(waiting), Ok(dead_lettered)) = (waiting, dead) else {
                break;
            };
            backlog.push(ConsumerBacklog {
                consumer,
                waiting,
                dead_lettered,
            });
        }
        let _ = channel.close(0, "backlog counted").await;
        backlog
    }

    async fn is_ready(&self) -> bool {
        self.publisher_channel().await.is_ok()
    }

    fn name(&self) -> &'static str {
        "rabbitmq"
    }
}
