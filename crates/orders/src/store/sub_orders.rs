//! Sub-orders: each store's part of an order.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubOrderRow {
    pub id: SubOrderId,
    pub order_id: OrderId,
    pub number: String,
    pub store_id: StoreId,
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

pub(super) const SUB_ORDER_COLUMNS: &str = "id, order_id, number, store_id, store_name, status, subtotal_minor, \
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
    order: OrderId,
) -> Result<Vec<SubOrderRow>, sqlx::Error> {
    sub_orders_in(conn, &[order]).await
}

/// The sub-orders of several orders, by order then number.
pub async fn sub_orders_in(
    conn: &mut PgConnection,
    orders: &[OrderId],
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
    orders: &[OrderId],
) -> Result<std::collections::HashMap<OrderId, String>, sqlx::Error> {
    let rows: Vec<(OrderId, String)> =
        sqlx::query_as("SELECT id, currency FROM orders WHERE id = ANY($1)")
            .bind(orders)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn lock_sub_order(
    conn: &mut PgConnection,
    id: SubOrderId,
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
    id: SubOrderId,
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
    store: StoreId,
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
    id: SubOrderId,
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
    order: OrderId,
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
