//! What orders consumes: the outcome of a payment's confirmation step. (What it
//! publishes, an order paid and a sub-order's changes, is in `contracts::orders::events`.)

use kernel::events::{Envelope, Event, Handler};
use sqlx::PgConnection;

/// Event types orders consumes.
pub const CONSUMES: &[&str] = &[
    contracts::payments::events::PaymentAuthorized::TYPE,
    contracts::payments::events::PaymentDeclined::TYPE,
];

/// A payment that waited for the customer's confirmation was answered: the checkout
/// is made due, so the recovery worker drives it on within a second.
pub struct PaymentAnswered;

#[async_trait::async_trait]
impl Handler for PaymentAnswered {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        let reference = if event.event_type == contracts::payments::events::PaymentAuthorized::TYPE
        {
            event
                .decode::<contracts::payments::events::PaymentAuthorized>()?
                .reference
        } else {
            event
                .decode::<contracts::payments::events::PaymentDeclined>()?
                .reference
        };
        crate::store::make_due(tx, &reference).await?;
        Ok(())
    }
}
