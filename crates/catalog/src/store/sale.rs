//! What carts and checkouts ask of a variant: its owner, stock and sale terms.

use super::*;

/// Which product and store a variant belongs to.
pub async fn variant_owner(
    conn: &mut PgConnection,
    id: crate::domain::VariantId,
) -> Result<Option<(crate::domain::ProductId, Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT product_id, store_id, sku FROM variants WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Records a variant's availability at `version`; false when a newer one was seen.
pub async fn set_variant_stock(
    conn: &mut PgConnection,
    variant: Uuid,
    available: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let changed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO variant_stock (variant_id, available, version) VALUES ($1, $2, $3) \
         ON CONFLICT (variant_id) DO UPDATE SET available = EXCLUDED.available, version = EXCLUDED.version \
         WHERE variant_stock.version < EXCLUDED.version RETURNING version",
    )
    .bind(variant)
    .bind(available)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

/// What a cart shows of a variant, read fresh on every view.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SaleVariantRow {
    pub variant_id: crate::domain::VariantId,
    pub product_id: crate::domain::ProductId,
    pub store_id: StoreId,
    pub store_slug: String,
    pub store_name: String,
    pub product_slug: String,
    pub title: String,
    pub sku: String,
    pub options: serde_json::Value,
    pub price_minor: i64,
    pub currency: String,
    pub weight_grams: Option<i32>,
    pub image: Option<String>,
    /// Published, in an open store.
    pub for_sale: bool,
    /// The product's category and its ancestors, root first.
    pub category_path: Option<Vec<Uuid>>,
}

pub async fn sale_variants(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<SaleVariantRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.id AS variant_id, p.id AS product_id, s.id AS store_id, s.slug AS store_slug, \
         s.name AS store_name, p.slug AS product_slug, p.title, v.sku, v.options, v.price_minor, \
         v.currency, v.weight_grams, \
         (SELECT i.media_key FROM product_images i WHERE i.product_id = p.id ORDER BY i.position LIMIT 1) AS image, \
         (p.status = 'published' AND s.status = 'approved') AS for_sale, \
         (SELECT c.path FROM categories c WHERE c.id = p.category_id) AS category_path \
         FROM variants v JOIN products p ON p.id = v.product_id JOIN stores s ON s.id = p.store_id \
         WHERE v.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
}
