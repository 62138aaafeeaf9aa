//! Orders' SQL: checkouts (the saga's state), orders, sub-orders, lines and timelines.

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Plan, Step, SubOrderStatus};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutRow {
    pub id: Uuid,
    pub customer: Uuid,
    pub step: Step,
    /// Absent while the checkout is `started` (pricing), or when it failed then.
    pub plan: Option<Json<Plan>>,
    pub reservations: Json<std::collections::BTreeMap<String, String>>,
    pub payment_id: Option<String>,
    pub action_url: Option<String>,
    pub order_id: Option<Uuid>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: OffsetDateTime,
}

const CHECKOUT_COLUMNS: &str = "id, customer, step, plan, reservations, payment_id, action_url, order_id, \
     failure_code, failure_message, created_at";

/// The unique index that lets a customer have one checkout under way at a time.
pub const ONE_IN_FLIGHT: &str = "checkouts_one_in_flight";

/// Starts a checkout under the caller's key (step `started`, before the cart is read),
/// or finds the one the key started. Fails on [`ONE_IN_FLIGHT`] when another checkout
/// of the customer's is under way.
pub async fn start_checkout(
    conn: &mut PgConnection,
    id: Uuid,
    customer: Uuid,
    key: &str,
    lease_secs: i64,
) -> Result<CheckoutRow, sqlx::Error> {
    sqlx::query(
        "INSERT INTO checkouts (id, customer, idempotency_key, step, lease_until) \
         VALUES ($1, $2, $3, 'started', now() + make_interval(secs => $4)) \
         ON CONFLICT (customer, idempotency_key) DO NOTHING",
    )
    .bind(id)
    .bind(customer)
    .bind(key)
    .bind(lease_secs as f64)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE customer = $1 AND idempotency_key = $2"
    ))
    .bind(customer)
    .bind(key)
    .fetch_one(conn)
    .await
}

/// Records a started checkout's plan (→ `priced`, the lease renewed); `None` when it
/// is no longer `started` (the worker gave it up).
pub async fn set_plan(
    conn: &mut PgConnection,
    id: Uuid,
    plan: &Plan,
    lease_secs: i64,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE checkouts SET plan = $2, step = 'priced', lease_until = now() + make_interval(secs => $3), \
         updated_at = now() WHERE id = $1 AND step = 'started' RETURNING {CHECKOUT_COLUMNS}"
    ))
    .bind(id)
    .bind(Json(plan))
    .bind(lease_secs as f64)
    .fetch_optional(conn)
    .await
}

/// Forgets a started checkout whose cart could not be priced (nothing was held), so
/// the slot is free and the same key may try again.
pub async fn drop_started(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM checkouts WHERE id = $1 AND step = 'started'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends a started checkout whose driver vanished while pricing (nothing was held).
pub async fn abandon_started(
    conn: &mut PgConnection,
    id: Uuid,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE checkouts SET step = 'failed', failure_code = coalesce(failure_code, $2), \
         failure_message = coalesce(failure_message, $3), updated_at = now() \
         WHERE id = $1 AND step = 'started'",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The customer's checkout under way, if any.
pub async fn checkout_in_flight(
    conn: &mut PgConnection,
    customer: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM checkouts WHERE customer = $1 AND step NOT IN ('completed', 'failed')",
    )
    .bind(customer)
    .fetch_optional(conn)
    .await
}

pub async fn checkout_by_key(
    conn: &mut PgConnection,
    customer: Uuid,
    key: &str,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE customer = $1 AND idempotency_key = $2"
    ))
    .bind(customer)
    .bind(key)
    .fetch_optional(conn)
    .await
}

pub async fn checkout(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves a checkout on, only from the step the caller saw (a racing driver's move wins).
pub async fn advance(
    conn: &mut PgConnection,
    id: Uuid,
    from: Step,
    to: Step,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE checkouts SET step = $3, updated_at = now() WHERE id = $1 AND step = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_reservation(
    conn: &mut PgConnection,
    id: Uuid,
    store: &str,
    reservation: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET reservations = reservations || jsonb_build_object($2::text, $3::text), \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(store)
    .bind(reservation)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_payment(
    conn: &mut PgConnection,
    id: Uuid,
    payment: &str,
    action_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET payment_id = $2, action_url = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(payment)
    .bind(action_url)
    .execute(conn)
    .await?;
    Ok(())
}

/// Decides that a checkout fails (compensation follows; the reason is kept for the
/// customer). The first reason stands.
pub async fn mark_failing(
    conn: &mut PgConnection,
    id: Uuid,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET failure_code = coalesce(failure_code, $2), \
         failure_message = coalesce(failure_message, $3), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(())
}

/// Lets the recovery worker take a checkout at once (an awaited payment answered).
pub async fn make_due(conn: &mut PgConnection, reference: &str) -> Result<(), sqlx::Error> {
    let Ok(id) = kernel::ids::parse_prefixed(reference, "chk") else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE checkouts SET lease_until = now() WHERE id = $1 AND step NOT IN ('completed', 'failed')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the current holder's lease, so the worker may look at it (a checkout left
/// waiting for the customer's confirmation).
pub async fn release_lease(
    conn: &mut PgConnection,
    id: Uuid,
    after_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET lease_until = now() + make_interval(secs => $2) WHERE id = $1",
    )
    .bind(id)
    .bind(after_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unfinished checkouts whose lease ran out, leased to the caller (replicas share the
/// work: `SKIP LOCKED`).
pub async fn claim_due(
    conn: &mut PgConnection,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE checkouts SET lease_until = now() + make_interval(secs => $1), attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM checkouts WHERE step NOT IN ('completed', 'failed') \
                      AND lease_until < now() ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id",
    )
    .bind(lease_secs as f64)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Whether the customer has an order that was paid (first-order promotions).
pub async fn has_paid_order(conn: &mut PgConnection, customer: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE customer = $1 AND status <> 'placed')",
    )
    .bind(customer)
    .fetch_one(conn)
    .await
}

pub async fn next_order_number(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT nextval('order_numbers')")
        .fetch_one(conn)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub number: String,
    pub checkout_id: Uuid,
    pub customer: Uuid,
    pub email: String,
    pub status: String,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub promotion_code: Option<String>,
    pub address: Json<crate::domain::Address>,
    pub payment_id: String,
    pub created_at: OffsetDateTime,
}

const ORDER_COLUMNS: &str = "id, number, checkout_id, customer, email, status, currency, subtotal_minor, \
     discount_minor, shipping_minor, tax_minor, total_minor, promotion_code, address, payment_id, created_at";

pub async fn insert_order(conn: &mut PgConnection, o: &OrderRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO orders (id, number, checkout_id, customer, email, status, currency, subtotal_minor, \
         discount_minor, shipping_minor, tax_minor, total_minor, promotion_code, address, payment_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(o.id)
    .bind(&o.number)
    .bind(o.checkout_id)
    .bind(o.customer)
    .bind(&o.email)
    .bind(&o.status)
    .bind(&o.currency)
    .bind(o.subtotal_minor)
    .bind(o.discount_minor)
    .bind(o.shipping_minor)
    .bind(o.tax_minor)
    .bind(o.total_minor)
    .bind(&o.promotion_code)
    .bind(&o.address)
    .bind(&o.payment_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn order(conn: &mut PgConnection, id: Uuid) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn lock_order(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn customer_orders(
    conn: &mut PgConnection,
    customer: Uuid,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE customer = $1 ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(customer)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Every order, newest first, optionally those whose number or email matches `q`.
pub async fn search_orders(
    conn: &mut PgConnection,
    q: Option<&str>,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE $1::text IS NULL OR number = upper($1) \
         OR lower(email) = lower($1) OR id IN (SELECT order_id FROM sub_orders WHERE number = upper($1)) \
         ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(q)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn set_order_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubOrderRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub number: String,
    pub store_id: Uuid,
    pub store_name: String,
    pub status: SubOrderStatus,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub platform_discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub commission_bps: i32,
    pub commission_minor: i64,
    pub refunded_minor: i64,
    pub shipping_method: String,
    pub reservation_id: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
}

const SUB_ORDER_COLUMNS: &str = "id, order_id, number, store_id, store_name, status, subtotal_minor, \
     discount_minor, platform_discount_minor, shipping_minor, tax_minor, total_minor, commission_bps, \
     commission_minor, refunded_minor, shipping_method, reservation_id, tracking_number, cancel_reason";

pub async fn insert_sub_order(conn: &mut PgConnection, s: &SubOrderRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sub_orders (id, order_id, number, store_id, store_name, status, subtotal_minor, \
         discount_minor, platform_discount_minor, shipping_minor, tax_minor, total_minor, commission_bps, \
         commission_minor, shipping_method, reservation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(s.id)
    .bind(s.order_id)
    .bind(&s.number)
    .bind(s.store_id)
    .bind(&s.store_name)
    .bind(s.status)
    .bind(s.subtotal_minor)
    .bind(s.discount_minor)
    .bind(s.platform_discount_minor)
    .bind(s.shipping_minor)
    .bind(s.tax_minor)
    .bind(s.total_minor)
    .bind(s.commission_bps)
    .bind(s.commission_minor)
    .bind(&s.shipping_method)
    .bind(&s.reservation_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn sub_orders_of(
    conn: &mut PgConnection,
    order: Uuid,
) -> Result<Vec<SubOrderRow>, sqlx::Error> {
    sub_orders_in(conn, &[order]).await
}

/// The sub-orders of several orders, by order then number.
pub async fn sub_orders_in(
    conn: &mut PgConnection,
    orders: &[Uuid],
) -> Result<Vec<SubOrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUB_ORDER_COLUMNS} FROM sub_orders WHERE order_id = ANY($1) ORDER BY order_id, number"
    ))
    .bind(orders)
    .fetch_all(conn)
    .await
}

/// Each of `orders`' currency.
pub async fn currencies(
    conn: &mut PgConnection,
    orders: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, currency FROM orders WHERE id = ANY($1)")
            .bind(orders)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn lock_sub_order(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<SubOrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUB_ORDER_COLUMNS} FROM sub_orders WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn sub_order(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<SubOrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUB_ORDER_COLUMNS} FROM sub_orders WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A store's sub-orders, newest first, optionally in one status.
pub async fn store_sub_orders(
    conn: &mut PgConnection,
    store: Uuid,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<SubOrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SUB_ORDER_COLUMNS} FROM sub_orders WHERE store_id = $1 AND status <> 'placed' \
         AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC LIMIT $3"
    ))
    .bind(store)
    .bind(status)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Moves a sub-order to `status` with what the move records.
pub async fn update_sub_order(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    tracking: Option<&str>,
    reason: Option<&str>,
    refunded: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sub_orders SET status = $2, tracking_number = coalesce($3, tracking_number), \
         cancel_reason = coalesce($4, cancel_reason), refunded_minor = refunded_minor + $5 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(tracking)
    .bind(reason)
    .bind(refunded)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves every sub-order of `order` that is `from` to `to`.
pub async fn advance_sub_orders(
    conn: &mut PgConnection,
    order: Uuid,
    from: SubOrderStatus,
    to: SubOrderStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sub_orders SET status = $3 WHERE order_id = $1 AND status = $2")
        .bind(order)
        .bind(from)
        .bind(to)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: Uuid,
    pub sub_order_id: Uuid,
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub title: String,
    pub sku: String,
    pub options: serde_json::Value,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

pub async fn insert_line(conn: &mut PgConnection, l: &LineRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_lines (id, sub_order_id, variant_id, product_id, title, sku, options, quantity, \
         unit_price_minor, discount_minor, tax_minor, total_minor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(l.id)
    .bind(l.sub_order_id)
    .bind(l.variant_id)
    .bind(l.product_id)
    .bind(&l.title)
    .bind(&l.sku)
    .bind(&l.options)
    .bind(l.quantity)
    .bind(l.unit_price_minor)
    .bind(l.discount_minor)
    .bind(l.tax_minor)
    .bind(l.total_minor)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn lines_of(
    conn: &mut PgConnection,
    sub_orders: &[Uuid],
) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, sub_order_id, variant_id, product_id, title, sku, options, quantity, unit_price_minor, \
         discount_minor, tax_minor, total_minor FROM order_lines WHERE sub_order_id = ANY($1) ORDER BY id",
    )
    .bind(sub_orders)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub order_id: Uuid,
    pub sub_order_id: Option<Uuid>,
    pub status: String,
    pub note: Option<String>,
    pub at: OffsetDateTime,
}

pub async fn record_event(
    conn: &mut PgConnection,
    order: Uuid,
    sub_order: Option<Uuid>,
    status: &str,
    note: Option<&str>,
    actor: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_events (order_id, sub_order_id, status, note, actor) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order)
    .bind(sub_order)
    .bind(status)
    .bind(note)
    .bind(actor)
    .execute(conn)
    .await?;
    Ok(())
}

/// The timelines of `orders`, oldest entry first.
pub async fn events_of(
    conn: &mut PgConnection,
    orders: &[Uuid],
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT order_id, sub_order_id, status, note, at FROM order_events WHERE order_id = ANY($1) ORDER BY id",
    )
    .bind(orders)
    .fetch_all(conn)
    .await
}
