//! Order lines and each order's timeline.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: Uuid,
    pub sub_order_id: SubOrderId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
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
    sub_orders: &[SubOrderId],
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
    pub order_id: OrderId,
    pub sub_order_id: Option<SubOrderId>,
    pub status: String,
    pub note: Option<String>,
    pub at: OffsetDateTime,
}

pub async fn record_event(
    conn: &mut PgConnection,
    order: OrderId,
    sub_order: Option<SubOrderId>,
    status: &str,
    note: Option<&str>,
    actor: Option<UserId>,
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
    orders: &[OrderId],
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT order_id, sub_order_id, status, note, at FROM order_events WHERE order_id = ANY($1) ORDER BY id",
    )
    .bind(orders)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceivedRow {
    pub sub_order_id: SubOrderId,
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: i32,
    pub delivered_at: OffsetDateTime,
}

/// The customer's lines of delivered sub-orders, of `product` and/or in `sub_order`,
/// most recently delivered first.
pub async fn received(
    conn: &mut PgConnection,
    customer: UserId,
    product: Option<ProductId>,
    sub_order: Option<SubOrderId>,
) -> Result<Vec<ReceivedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.sub_order_id, s.store_id, l.product_id, l.variant_id, l.quantity, d.at AS delivered_at \
         FROM orders o \
         JOIN sub_orders s ON s.order_id = o.id \
         JOIN order_lines l ON l.sub_order_id = s.id \
         JOIN LATERAL (SELECT min(e.at) AS at FROM order_events e \
                       WHERE e.order_id = o.id AND e.sub_order_id = s.id AND e.status = 'delivered') d \
           ON d.at IS NOT NULL \
         WHERE o.customer = $1 AND ($2::uuid IS NULL OR l.product_id = $2) \
           AND ($3::uuid IS NULL OR s.id = $3) \
         ORDER BY d.at DESC, l.id LIMIT 500",
    )
    .bind(customer)
    .bind(product)
    .bind(sub_order)
    .fetch_all(conn)
    .await
}
