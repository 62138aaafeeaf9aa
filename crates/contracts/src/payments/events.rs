//! What payments publishes: the outcome of a confirmation step, which only a webhook
//! reports (checkouts wait for it). It consumes nothing.

use kernel::events::Event;
use serde::{Deserialize, Serialize};

use super::PaymentId;

/// A payment that needed the customer's confirmation was authorized.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentAuthorized {
    pub payment_id: PaymentId,
    /// The checkout's reference the payment was asked with.
    pub reference: String,
}

impl Event for PaymentAuthorized {
    const TYPE: &'static str = "payments.payment.authorized";

    fn aggregate_id(&self) -> String {
        self.payment_id.to_string()
    }
}

/// A payment that needed the customer's confirmation was declined.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentDeclined {
    pub payment_id: PaymentId,
    pub reference: String,
    pub code: String,
}

impl Event for PaymentDeclined {
    const TYPE: &'static str = "payments.payment.declined";

    fn aggregate_id(&self) -> String {
        self.payment_id.to_string()
    }
}
