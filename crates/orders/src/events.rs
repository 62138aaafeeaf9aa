//! What orders publishes (an order paid, a sub-order's changes, for notifications and
//! reports) and consumes (the outcome of a payment's confirmation step).

use kernel::events::{Envelope, Event, Handler};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::domain::{OrderId, SubOrderId};

/// Event types orders consumes.
pub const CONSUMES: &[&str] = &[
    contracts::payments::events::PaymentAuthorized::TYPE,
    contracts::payments::events::PaymentDeclined::TYPE,
];

/// An order's payment was captured: its stores have work to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderPaid {
    pub order_id: OrderId,
    pub number: String,
    /// The customer (`usr_…`).
    pub customer: String,
    pub email: String,
    /// The stores (`sto_…`) with a sub-order in it.
    pub stores: Vec<String>,
}

impl Event for OrderPaid {
    const TYPE: &'static str = "orders.order.paid";

    fn aggregate_id(&self) -> String {
        self.order_id.to_string()
    }
}

/// A sub-order moved (accepted, shipped, delivered, cancelled, refunded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubOrderChanged {
    pub sub_order_id: SubOrderId,
    pub order_id: OrderId,
    pub number: String,
    pub store_id: String,
    pub status: String,
    pub tracking_number: Option<String>,
    /// The customer's email (the order's).
    pub email: String,
    /// Why, for cancellations and refunds.
    pub reason: Option<String>,
}

impl Event for SubOrderChanged {
    const TYPE: &'static str = "orders.sub_order.changed";

    fn aggregate_id(&self) -> String {
        self.sub_order_id.to_string()
    }
}

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
