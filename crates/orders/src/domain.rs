//! Order rules, free of I/O: the checkout's plan and its arithmetic, the status
//! machines, order numbers and commissions.
//!
//! A checkout's money, per store (all integer minor units, one currency):
//! - `subtotal` = Σ unit price × quantity;
//! - `discount` = Σ the promotion's per-line discounts (split as promotions documents);
//!   a free-shipping code zeroes the store's shipping instead;
//! - `tax` = Σ per-line tax on (line − its discount), from the tax service (prices
//!   exclusive of tax add it; inclusive prices contain it, so it is not added again);
//! - `total` = subtotal − discount + shipping (+ tax when prices exclude it).
//!
//! The order's figures are the sums of its stores'. Commission is the store's rate on
//! what its goods fetched before platform-funded discounts (subtotal − store-funded
//! discount), rounded half up, never above what the store is owed.

pub use contracts::orders::{Address, CheckoutId, OrderId, SubOrderId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of a checkout as priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLine {
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub title: String,
    pub sku: String,
    pub options: serde_json::Value,
    /// The product's category and its ancestors (promotion conditions).
    #[serde(default)]
    pub category_path: Vec<Uuid>,
    pub quantity: i32,
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
}

impl PlanLine {
    pub fn amount(&self) -> i64 {
        self.unit_price * i64::from(self.quantity)
    }
}

/// One store's part of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStore {
    pub store_id: Uuid,
    pub store_name: String,
    pub shipping_method: String,
    pub shipping_method_id: String,
    pub shipping: i64,
    pub commission_bps: i32,
    pub lines: Vec<PlanLine>,
}

/// Everything a checkout decided before touching stock or money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub currency: String,
    pub email: String,
    pub address: Address,
    pub stores: Vec<PlanStore>,
    pub promotion_code: Option<String>,
    /// Whether the customer had no paid order when this was priced.
    pub first_order: bool,
    /// `true` when the promotion is funded by the platform (else by its store).
    pub platform_funded: bool,
    pub prices_include_tax: bool,
}

/// A store's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
}

impl std::ops::Add for Totals {
    type Output = Totals;

    fn add(self, o: Totals) -> Totals {
        Totals {
            subtotal: self.subtotal + o.subtotal,
            discount: self.discount + o.discount,
            shipping: self.shipping + o.shipping,
            tax: self.tax + o.tax,
            total: self.total + o.total,
        }
    }
}

impl Plan {
    pub fn store_totals(&self, s: &PlanStore) -> Totals {
        let subtotal: i64 = s.lines.iter().map(PlanLine::amount).sum();
        let discount: i64 = s.lines.iter().map(|l| l.discount).sum();
        let tax: i64 = s.lines.iter().map(|l| l.tax).sum();
        let added_tax = if self.prices_include_tax { 0 } else { tax };
        Totals {
            subtotal,
            discount,
            shipping: s.shipping,
            tax,
            total: subtotal - discount + s.shipping + added_tax,
        }
    }

    pub fn totals(&self) -> Totals {
        self.stores
            .iter()
            .map(|s| self.store_totals(s))
            .fold(Totals::default(), |a, b| a + b)
    }

    /// Discounts on the store's part that the platform pays for.
    pub fn platform_discount(&self, s: &PlanStore) -> i64 {
        if self.platform_funded {
            self.store_totals(s).discount
        } else {
            0
        }
    }

    pub fn commission(&self, s: &PlanStore) -> i64 {
        let t = self.store_totals(s);
        let store_funded = t.discount - self.platform_discount(s);
        commission(t.subtotal - store_funded, s.commission_bps)
            .min(t.total + self.platform_discount(s))
    }
}

/// `base × bps / 10 000`, rounded half up (`base ≥ 0`).
pub fn commission(base: i64, bps: i32) -> i64 {
    let n = i128::from(base.max(0)) * i128::from(bps.max(0));
    i64::try_from((n + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// `EM-100001`; sub-orders add their position: `EM-100001-2`.
pub fn order_number(seq: i64) -> String {
    format!("EM-{seq}")
}

pub fn sub_order_number(order: &str, position: usize) -> String {
    format!("{order}-{position}")
}

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The customer's one checkout slot is taken and the cart is being priced (no plan
    /// yet).
    Started,
    Priced,
    Redeemed,
    Reserved,
    AwaitingAction,
    Authorized,
    Confirmed,
    Completed,
    Failed,
}

kernel::text_enum!(Step { Started = "started", Priced = "priced", Redeemed = "redeemed", Reserved = "reserved", AwaitingAction = "awaiting_action", Authorized = "authorized", Confirmed = "confirmed", Completed = "completed", Failed = "failed" });

impl Step {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// Whether money was authorized: from here on the saga goes forward, before it a
    /// failure compensates.
    pub fn is_past_authorization(self) -> bool {
        matches!(self, Self::Authorized | Self::Confirmed | Self::Completed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubOrderStatus {
    Placed,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    PartiallyRefunded,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubOrderAction {
    Pay,
    Accept,
    Ship,
    Deliver,
    Cancel,
    /// A refund leaving part of the sub-order paid.
    RefundPart,
    /// A refund of all that is left.
    RefundRest,
}

kernel::text_enum!(SubOrderStatus { Placed = "placed", Paid = "paid", Processing = "processing", Shipped = "shipped", Delivered = "delivered", Cancelled = "cancelled", PartiallyRefunded = "partially_refunded", Refunded = "refunded" });

impl SubOrderStatus {
    /// The next status, or `None` when the action is illegal here (a 409).
    pub fn apply(self, action: SubOrderAction) -> Option<Self> {
        use SubOrderAction as A;
        use SubOrderStatus as S;
        Some(match (self, action) {
            (S::Placed, A::Pay) => S::Paid,
            (S::Paid, A::Accept) => S::Processing,
            (S::Paid | S::Processing, A::Ship) => S::Shipped,
            (S::Shipped, A::Deliver) => S::Delivered,
            // Cancelling refunds everything and puts the stock back: only before it ships.
            (S::Paid | S::Processing, A::Cancel) => S::Cancelled,
            (S::Shipped | S::Delivered | S::PartiallyRefunded, A::RefundPart) => {
                S::PartiallyRefunded
            }
            (S::Shipped | S::Delivered | S::PartiallyRefunded, A::RefundRest) => S::Refunded,
            _ => return None,
        })
    }
}

/// What an order as a whole is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Placed,
    Paid,
    /// Some parts are on their way, others still to ship.
    PartiallyShipped,
    /// Every part is on its way (or already delivered).
    Shipped,
    Delivered,
    Cancelled,
    PartiallyRefunded,
    Refunded,
}

kernel::text_enum!(OrderStatus { Placed = "placed", Paid = "paid", PartiallyShipped = "partially_shipped", Shipped = "shipped", Delivered = "delivered", Cancelled = "cancelled", PartiallyRefunded = "partially_refunded", Refunded = "refunded" });

/// The order's status, from its sub-orders once paid: money first (a cancelled or
/// refunded part shows), then how far its parts have gone.
pub fn order_status(subs: &[SubOrderStatus]) -> OrderStatus {
    use SubOrderStatus as S;
    if subs.is_empty() || subs.contains(&S::Placed) {
        return OrderStatus::Placed;
    }
    if subs.iter().all(|s| *s == S::Cancelled) {
        return OrderStatus::Cancelled;
    }
    if subs.iter().all(|s| matches!(s, S::Cancelled | S::Refunded)) {
        return OrderStatus::Refunded;
    }
    if subs
        .iter()
        .any(|s| matches!(s, S::Cancelled | S::Refunded | S::PartiallyRefunded))
    {
        return OrderStatus::PartiallyRefunded;
    }
    let on_the_way = |s: &&S| matches!(s, S::Shipped | S::Delivered);
    match subs.iter().filter(on_the_way).count() {
        0 => OrderStatus::Paid,
        n if n < subs.len() => OrderStatus::PartiallyShipped,
        _ if subs.iter().all(|s| *s == S::Delivered) => OrderStatus::Delivered,
        _ => OrderStatus::Shipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price: i64, qty: i32, discount: i64, tax: i64) -> PlanLine {
        PlanLine {
            variant_id: Uuid::now_v7(),
            product_id: Uuid::now_v7(),
            title: "t".into(),
            sku: "s".into(),
            options: serde_json::json!({}),
            category_path: Vec::new(),
            quantity: qty,
            unit_price: price,
            discount,
            tax,
        }
    }

    fn plan(include_tax: bool, platform_funded: bool) -> Plan {
        Plan {
            currency: "EUR".into(),
            email: "a@example.com".into(),
            address: Address {
                name: "A".into(),
                line1: "1 Road".into(),
                line2: None,
                city: "Town".into(),
                postal_code: "1000".into(),
                country: "DE".into(),
                region: None,
            },
            stores: vec![
                PlanStore {
                    store_id: Uuid::now_v7(),
                    store_name: "A".into(),
                    shipping_method: "Post".into(),
                    shipping_method_id: "shp_x".into(),
                    shipping: 500,
                    commission_bps: 1_000,
                    lines: vec![line(1_000, 2, 200, 342), line(999, 1, 100, 171)],
                },
                PlanStore {
                    store_id: Uuid::now_v7(),
                    store_name: "B".into(),
                    shipping_method: "Courier".into(),
                    shipping_method_id: "shp_y".into(),
                    shipping: 0,
                    commission_bps: 1_250,
                    lines: vec![line(333, 3, 0, 190)],
                },
            ],
            promotion_code: Some("SAVE".into()),
            first_order: true,
            platform_funded,
            prices_include_tax: include_tax,
        }
    }

    #[test]
    fn totals_add_up_per_store_and_order() {
        let p = plan(false, true);
        let a = p.store_totals(&p.stores[0]);
        assert_eq!(a.subtotal, 2_999);
        assert_eq!(a.discount, 300);
        assert_eq!(a.tax, 513);
        assert_eq!(a.total, 2_999 - 300 + 500 + 513);
        let all = p.totals();
        assert_eq!(all.total, a.total + p.store_totals(&p.stores[1]).total);
        // Prices that include tax do not add it again.
        let inclusive = plan(true, true);
        assert_eq!(
            inclusive.store_totals(&inclusive.stores[0]).total,
            2_999 - 300 + 500
        );
    }

    #[test]
    fn commission_is_on_what_the_goods_fetched_before_platform_discounts() {
        let p = plan(false, true);
        // Platform-funded: the store is paid as if undiscounted.
        assert_eq!(p.commission(&p.stores[0]), 300);
        assert_eq!(p.platform_discount(&p.stores[0]), 300);
        let q = plan(false, false);
        // Store-funded: the discount lowers the base.
        assert_eq!(q.commission(&q.stores[0]), 270);
        assert_eq!(q.platform_discount(&q.stores[0]), 0);
        assert_eq!(commission(999, 1_250), 125);
        assert_eq!(commission(4, 1_250), 1);
        assert_eq!(commission(3, 1_250), 0);
    }

    #[test]
    fn sub_orders_move_only_along_the_machine() {
        use SubOrderAction as A;
        use SubOrderStatus as S;
        assert_eq!(S::Paid.apply(A::Accept), Some(S::Processing));
        assert_eq!(S::Processing.apply(A::Ship), Some(S::Shipped));
        assert_eq!(S::Shipped.apply(A::Deliver), Some(S::Delivered));
        assert_eq!(S::Processing.apply(A::Cancel), Some(S::Cancelled));
        assert_eq!(S::Shipped.apply(A::Cancel), None);
        assert_eq!(S::Cancelled.apply(A::Ship), None);
        assert_eq!(S::Delivered.apply(A::Accept), None);
        assert_eq!(S::Placed.apply(A::Ship), None);
        assert_eq!(
            S::Delivered.apply(A::RefundPart),
            Some(S::PartiallyRefunded)
        );
        assert_eq!(S::PartiallyRefunded.apply(A::RefundRest), Some(S::Refunded));
        assert_eq!(S::Refunded.apply(A::RefundPart), None);
        for s in [
            S::Placed,
            S::Paid,
            S::Processing,
            S::Shipped,
            S::Delivered,
            S::Cancelled,
            S::PartiallyRefunded,
            S::Refunded,
        ] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_started_checkout_is_under_way_and_before_authorization() {
        assert_eq!(Step::parse("started"), Some(Step::Started));
        assert_eq!(Step::Started.as_str(), "started");
        assert!(!Step::Started.is_final());
        assert!(!Step::Started.is_past_authorization());
    }

    #[test]
    fn the_order_status_follows_its_sub_orders() {
        use SubOrderStatus as S;
        let status = |subs: &[S]| order_status(subs).as_str();
        assert_eq!(status(&[S::Paid, S::Processing]), "paid");
        assert_eq!(status(&[S::Paid, S::Shipped]), "partially_shipped");
        assert_eq!(status(&[S::Shipped, S::Delivered]), "shipped");
        assert_eq!(status(&[S::Delivered, S::Delivered]), "delivered");
        assert_eq!(status(&[S::Cancelled, S::Cancelled]), "cancelled");
        assert_eq!(status(&[S::Cancelled, S::Shipped]), "partially_refunded");
        assert_eq!(status(&[S::Cancelled, S::Refunded]), "refunded");
        assert_eq!(status(&[S::Placed, S::Paid]), "placed");
        assert_eq!(order_number(100_001), "EM-100001");
        assert_eq!(sub_order_number("EM-100001", 2), "EM-100001-2");
    }
}
