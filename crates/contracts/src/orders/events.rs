//! What orders publishes (see docs/events.md): notifications tells customers and stores.

use crate::vendors::StoreId;
use kernel::events::Event;
use serde::{Deserialize, Serialize};

use super::{OrderId, SubOrderId};

/// An order's payment was captured: its stores have work to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderPaid {
    pub order_id: OrderId,
    pub number: String,
    /// The customer (`usr_…`).
    pub customer: kernel::ids::UserId,
    pub email: String,
    /// The stores (`sto_…`) with a sub-order in it.
    pub stores: Vec<StoreId>,
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
    pub store_id: StoreId,
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
