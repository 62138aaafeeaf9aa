//! Promotions' SQL. Usage limits are enforced by a conditional update on the
//! promotion's row, which also serialises concurrent redemptions of one code.

use contracts::catalog::{CategoryId, ProductId};
use contracts::promotions::PromotionId;
use kernel::ids::{StoreId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromotionRow {
    pub id: PromotionId,
    pub code: String,
    pub store_id: Option<StoreId>,
    pub kind: String,
    pub percent_bps: Option<i32>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub min_subtotal_minor: i64,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub category_ids: Vec<CategoryId>,
    pub product_ids: Vec<ProductId>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub first_order_only: bool,
    pub uses: i32,
}

const COLUMNS: &str = "id, code, store_id, kind, percent_bps, amount_minor, currency, min_subtotal_minor, \
     starts_at, ends_at, category_ids, product_ids, usage_limit, per_customer_limit, first_order_only, uses";

pub async fn insert(
    conn: &mut PgConnection,
    p: &PromotionRow,
) -> Result<PromotionRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO promotions (id, code, store_id, kind, percent_bps, amount_minor, currency, min_subtotal_minor, \
         starts_at, ends_at, category_ids, product_ids, usage_limit, per_customer_limit, first_order_only) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLUMNS}"
    ))
    .bind(p.id)
    .bind(&p.code)
    .bind(p.store_id)
    .bind(&p.kind)
    .bind(p.percent_bps)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .bind(p.min_subtotal_minor)
    .bind(p.starts_at)
    .bind(p.ends_at)
    .bind(&p.category_ids)
    .bind(&p.product_ids)
    .bind(p.usage_limit)
    .bind(p.per_customer_limit)
    .bind(p.first_order_only)
    .fetch_one(conn)
    .await
}

pub async fn by_code(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<PromotionRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM promotions WHERE code = $1"))
        .bind(code)
        .fetch_optional(conn)
        .await
}

/// Takes one use if any is left (locking the row until the caller's commit).
pub async fn take_use(conn: &mut PgConnection, id: PromotionId) -> Result<bool, sqlx::Error> {
    let taken: Option<i32> = sqlx::query_scalar(
        "UPDATE promotions SET uses = uses + 1 WHERE id = $1 AND (usage_limit IS NULL OR uses < usage_limit) RETURNING uses",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(taken.is_some())
}

pub async fn give_back_use(conn: &mut PgConnection, id: PromotionId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE promotions SET uses = uses - 1 WHERE id = $1 AND uses > 0")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn customer_uses(
    conn: &mut PgConnection,
    promotion: PromotionId,
    customer: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM redemptions WHERE promotion_id = $1 AND customer = $2 AND status = 'redeemed'",
    )
    .bind(promotion)
    .bind(customer)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RedemptionRow {
    pub id: Uuid,
    pub promotion_id: PromotionId,
    pub customer: UserId,
    pub reference: String,
    pub discount_minor: i64,
    pub status: String,
}

/// Records the redemption; `false` when the reference was redeemed already.
pub async fn insert_redemption(
    conn: &mut PgConnection,
    r: &RedemptionRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO redemptions (id, promotion_id, customer, reference, discount_minor, status) \
         VALUES ($1, $2, $3, $4, $5, 'redeemed') ON CONFLICT (reference) DO NOTHING",
    )
    .bind(r.id)
    .bind(r.promotion_id)
    .bind(r.customer)
    .bind(&r.reference)
    .bind(r.discount_minor)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn lock_redemption(
    conn: &mut PgConnection,
    reference: &str,
) -> Result<Option<RedemptionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, promotion_id, customer, reference, discount_minor, status FROM redemptions WHERE reference = $1 FOR UPDATE",
    )
    .bind(reference)
    .fetch_optional(conn)
    .await
}

pub async fn release(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE redemptions SET status = 'released' WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A store's codes, or the platform's (`None`), newest first.
pub async fn list(
    conn: &mut PgConnection,
    store: Option<StoreId>,
) -> Result<Vec<PromotionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM promotions WHERE store_id IS NOT DISTINCT FROM $1 ORDER BY created_at DESC LIMIT 200"
    ))
    .bind(store)
    .fetch_all(conn)
    .await
}
