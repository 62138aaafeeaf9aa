//! Writing events: always inside the caller's transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Envelope, Event};
use crate::telemetry::trace;

/// Channel the relay listens on; `pg_notify` is delivered only when the transaction
/// commits, so a rolled-back event wakes nobody.
pub const NOTIFY_CHANNEL: &str = "emporium_outbox";

/// Appends `event` to the outbox of the schema `conn` is bound to. Call it inside the
/// transaction that makes the change the event reports.
pub async fn record<E: Event>(conn: &mut PgConnection, event: &E) -> Result<Uuid, sqlx::Error> {
    let envelope = Envelope {
        id: Uuid::now_v7(),
        event_type: E::TYPE.to_owned(),
        schema_version: E::VERSION,
        occurred_at: OffsetDateTime::now_utc(),
        aggregate_id: event.aggregate_id(),
        trace_context: trace::outgoing().map(|t| t.to_string()),
        payload: serde_json::to_value(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
    };
    sqlx::query(
        "INSERT INTO outbox (id, event_type, schema_version, aggregate_id, occurred_at, trace_context, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(envelope.id)
    .bind(&envelope.event_type)
    .bind(envelope.schema_version)
    .bind(&envelope.aggregate_id)
    .bind(envelope.occurred_at)
    .bind(&envelope.trace_context)
    .bind(&envelope.payload)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, current_schema())")
        .bind(NOTIFY_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(envelope.id)
}
