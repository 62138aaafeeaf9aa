//! Orders, their numbers and statuses.

use super::*;

/// Whether the customer has an order that was paid (first-order promotions).
pub async fn has_paid_order(
    conn: &mut PgConnection,
    customer: UserId,
) -> Result<bool, sqlx::Error> {
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
    pub id: OrderId,
    pub number: String,
    pub checkout_id: CheckoutId,
    pub customer: UserId,
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

pub(super) const ORDER_COLUMNS: &str = "id, number, checkout_id, customer, email, status, currency, subtotal_minor, \
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

pub async fn order(conn: &mut PgConnection, id: OrderId) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn lock_order(
    conn: &mut PgConnection,
    id: OrderId,
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
    customer: UserId,
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
    id: OrderId,
    status: crate::domain::OrderStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}
