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
