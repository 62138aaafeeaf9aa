//! What search indexes, read as documents.

use super::*;

/// A published product as search sees it, flattened in one query so a full export of a
/// million products is a scan, not a query per product. Products of suspended stores are
/// included: search hides them itself, so they come back the moment the store does.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchDocumentRow {
    pub product_id: crate::domain::ProductId,
    pub version: i64,
    pub store_id: StoreId,
    pub store_slug: String,
    pub store_name: String,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    pub description_md: String,
    pub category_id: Option<CategoryId>,
    pub category_path: Vec<CategoryId>,
    pub category_names: Vec<String>,
    pub attributes: serde_json::Value,
    pub options: serde_json::Value,
    pub tags: Vec<String>,
    pub currency: String,
    pub min_price_minor: i64,
    pub max_price_minor: i64,
    pub image: Option<String>,
    pub published_at: Option<OffsetDateTime>,
}

pub(super) const SEARCH_DOCUMENT_SELECT: &str = "SELECT p.id AS product_id, p.version, s.id AS store_id, \
     s.slug AS store_slug, s.name AS store_name, p.slug, p.title, p.brand, p.description_md, \
     p.category_id, COALESCE(c.path, '{}') AS category_path, \
     ARRAY(SELECT cc.name FROM unnest(c.path) WITH ORDINALITY AS u(id, n) \
           JOIN categories cc ON cc.id = u.id ORDER BY u.n) AS category_names, \
     p.attributes, \
     (SELECT COALESCE(jsonb_object_agg(o.key, o.vals), '{}') FROM \
        (SELECT e.key, jsonb_agg(DISTINCT e.value) AS vals \
           FROM variants v, jsonb_each(v.options) e WHERE v.product_id = p.id GROUP BY e.key) o) \
       AS options, \
     p.tags, p.currency, p.min_price_minor, \
     COALESCE((SELECT max(v.price_minor) FROM variants v WHERE v.product_id = p.id), p.min_price_minor) \
       AS max_price_minor, \
     (SELECT i.media_key FROM product_images i WHERE i.product_id = p.id ORDER BY i.position LIMIT 1) AS image, \
     p.published_at \
     FROM products p JOIN stores s ON s.id = p.store_id LEFT JOIN categories c ON c.id = p.category_id \
     WHERE p.status = 'published'";

/// The product's search document, when it is published.
pub async fn search_document(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
) -> Result<Option<SearchDocumentRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SEARCH_DOCUMENT_SELECT} AND p.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One page of every visible product's search document, in id order.
pub async fn search_documents(
    conn: &mut PgConnection,
    after: Option<crate::domain::ProductId>,
    offset: i64,
    limit: i64,
) -> Result<Vec<SearchDocumentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SEARCH_DOCUMENT_SELECT} AND ($1::uuid IS NULL OR p.id > $1) ORDER BY p.id OFFSET $3 LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

/// Counts a change to the product for event ordering; returns the new version.
pub async fn bump_product_version(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE products SET version = version + 1 WHERE id = $1 RETURNING version")
        .bind(id)
        .fetch_one(conn)
        .await
}

pub async fn count_published_products(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE status = 'published'")
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
