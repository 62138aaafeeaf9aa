//! Durable events: nothing lost, nothing handled twice.
//!
//! A domain writes an event to its outbox table in the same transaction as the state
//! change ([`outbox::record`]); the [`relay`] publishes committed events through a
//! [`Bus`]; consumers run through [`consumer::deliver`], which records the event id in
//! the consumer's inbox in the same transaction as the handler's effects, retries with
//! backoff and finally dead-letters. The bus is in-process by default and RabbitMQ when
//! `AMQP_URL` is set; both run the same relay and consumer code.

pub mod bus;
pub mod consumer;
pub mod envelope;
pub mod in_process;
pub mod outbox;
pub mod rabbitmq;
pub mod relay;

pub use bus::{Bus, BusError, ConsumerBacklog, Handler, Queue, Subscription};
pub use envelope::{Envelope, Event};
