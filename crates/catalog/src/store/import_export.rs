//! The CSV import and export, and benchmark products made in bulk.

use super::*;

/// The product of `store` with this slug, locked for the caller's transaction.
pub async fn lock_product_by_slug(
    conn: &mut PgConnection,
    store: StoreId,
    slug: &str,
) -> Result<Option<(crate::domain::ProductId, String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, status, moderation_reason FROM products WHERE store_id = $1 AND slug = $2 FOR UPDATE",
    )
    .bind(store)
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// One variant of a store's product, with what its CSV row needs.
#[derive(Debug, sqlx::FromRow)]
pub struct ExportRow {
    pub slug: String,
    pub title: String,
    pub description_md: String,
    pub brand: Option<String>,
    pub category_slug: Option<String>,
    pub attributes: serde_json::Value,
    pub tags: Vec<String>,
    pub status: String,
    pub sku: String,
    pub options: serde_json::Value,
    pub price_minor: i64,
    pub currency: String,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<String>,
    pub images: Vec<String>,
}

/// Every variant of every product of `store`, products in creation order.
pub async fn export_rows(
    conn: &mut PgConnection,
    store: StoreId,
) -> Result<Vec<ExportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.slug, p.title, p.description_md, p.brand, c.slug AS category_slug, p.attributes, p.tags, \
         p.status, v.sku, v.options, v.price_minor, v.currency, v.compare_at_minor, v.weight_grams, v.barcode, \
         ARRAY(SELECT i.media_key FROM product_images i WHERE i.product_id = p.id ORDER BY i.position) AS images \
         FROM products p JOIN variants v ON v.product_id = p.id LEFT JOIN categories c ON c.id = p.category_id \
         WHERE p.store_id = $1 ORDER BY p.created_at, p.id, v.position",
    )
    .bind(store)
    .fetch_all(conn)
    .await
}

/// A store catalog knows, by id (`sto_…`) or slug.
pub async fn store_id_by_key(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<StoreId>, sqlx::Error> {
    let id = key.parse::<StoreId>().ok();
    sqlx::query_scalar("SELECT id FROM stores WHERE id = $1 OR slug = $2")
        .bind(id)
        .bind(key.to_ascii_lowercase())
        .fetch_optional(conn)
        .await
}

/// What bulk generation spreads products over.
pub struct BulkSpread<'a> {
    pub stores: &'a [Uuid],
    pub categories: &'a [Uuid],
    pub media_keys: &'a [String],
}

/// Generates published products numbered `from..from + count` (two variants and a
/// picture each) in one statement, for benchmarks: a million rows is a few
/// statements, not a million requests. Writes no events: rebuild search afterwards.
pub async fn bulk_generate_products(
    conn: &mut PgConnection,
    from: i64,
    count: i64,
    spread: &BulkSpread<'_>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "WITH src AS (
           SELECT g.i, gen_random_uuid() AS id,
             ($3::uuid[])[1 + (g.i % cardinality($3::uuid[]))] AS store_id,
             ($4::uuid[])[1 + ((g.i / 7) % cardinality($4::uuid[]))] AS category_id,
             (ARRAY['Classic','Soft','Grand','Little','Rustic','Minimal','Heritage','Everyday','Bold','Quiet'])[1 + g.i % 10] AS adj,
             (ARRAY['red','blue','green','black','white','ochre','plum','sand','teal','grey'])[1 + (g.i / 10) % 10] AS color,
             (ARRAY['cotton','linen','leather','wool','silk','ceramic','steel','oak','glass','paper'])[1 + (g.i / 100) % 10] AS material,
             (ARRAY['Shirt','Bag','Vase','Mug','Scarf','Lamp','Notebook','Knife','Candle','Bowl','Chair','Jacket'])[1 + (g.i / 1000) % 12] AS noun,
             500 + (g.i * 7919) % 30000 AS price
           FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS g(i)
         ), p AS (
           INSERT INTO products (id, store_id, slug, title, description_md, description_html, brand,
                                 category_id, attributes, tags, status, currency, min_price_minor,
                                 published_at, created_at, updated_at, version)
           SELECT id, store_id, 'bench-' || i, adj || ' ' || color || ' ' || material || ' ' || noun,
                  adj || ' ' || noun || ' made of ' || material || ', in ' || color || '.',
                  '<p>' || adj || ' ' || noun || ' made of ' || material || ', in ' || color || '.</p>',
                  adj || ' Goods', category_id,
                  jsonb_build_object('color', color, 'material', material),
                  ARRAY[lower(noun), material], 'published', 'EUR', price,
                  now() - make_interval(secs => i), now(), now(), 1
           FROM src
           RETURNING id, store_id, slug, min_price_minor
         ), v AS (
           INSERT INTO variants (id, product_id, store_id, sku, options, price_minor, currency, position)
           SELECT gen_random_uuid(), p.id, p.store_id, upper(p.slug) || '-' || s.size,
                  jsonb_build_object('Size', s.size), p.min_price_minor + s.extra, 'EUR', s.pos
           FROM p CROSS JOIN (VALUES ('S', 0, 0), ('M', 300, 1)) AS s(size, extra, pos)
         )
         INSERT INTO product_images (product_id, position, media_key, alt)
         SELECT p.id, 0, ($5::text[])[1 + (abs(hashtext(p.slug)) % cardinality($5::text[]))], 'Product picture'
         FROM p",
    )
    .bind(from)
    .bind(count)
    .bind(spread.stores)
    .bind(spread.categories)
    .bind(spread.media_keys)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// What bulk generation needs to know: approved stores, leaf categories, media keys in
/// use, and the number the next generated product takes.
pub async fn bulk_spread_sources(
    conn: &mut PgConnection,
) -> Result<(Vec<Uuid>, Vec<Uuid>, Vec<String>, i64), sqlx::Error> {
    let stores = sqlx::query_scalar("SELECT id FROM stores WHERE status = 'approved' ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    let leaves = sqlx::query_scalar(
        "SELECT c.id FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY c.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let media =
        sqlx::query_scalar("SELECT DISTINCT media_key FROM product_images ORDER BY 1 LIMIT 100")
            .fetch_all(&mut *conn)
            .await?;
    let existing: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(substring(slug from 7)::bigint) + 1, 0) FROM products WHERE slug ~ '^bench-[0-9]+$'",
    )
        .fetch_one(&mut *conn)
        .await?;
    Ok((stores, leaves, media, existing))
}
