//! Catalog's SQL. Every function takes a connection so callers decide the transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::CategoryId;
use crate::domain::ProductStatus;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    pub slug: String,
    pub position: i32,
    pub path: Vec<Uuid>,
}

const CATEGORY_COLUMNS: &str = "id, parent_id, name, slug, position, path";

/// Category edits are rare: one at a time keeps every path consistent.
pub async fn lock_tree(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn all_categories(conn: &mut PgConnection) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY array_length(path, 1), position, name"
    ))
    .fetch_all(conn)
    .await
}

pub async fn category(
    conn: &mut PgConnection,
    id: CategoryId,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn category_by_slug(
    conn: &mut PgConnection,
    slug: &str,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// The categories on `path`, root first.
pub async fn categories_on_path(
    conn: &mut PgConnection,
    path: &[Uuid],
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE id = ANY($1) ORDER BY array_length(path, 1)"
    ))
    .bind(path)
    .fetch_all(conn)
    .await
}

pub async fn children(
    conn: &mut PgConnection,
    id: CategoryId,
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE parent_id = $1 ORDER BY position, name"
    ))
    .bind(id)
    .fetch_all(conn)
    .await
}

pub struct NewCategory<'a> {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: &'a str,
    pub slug: &'a str,
    pub position: i32,
    pub path: &'a [Uuid],
}

pub async fn insert_category(
    conn: &mut PgConnection,
    c: &NewCategory<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO categories (id, parent_id, name, slug, position, path) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.id)
    .bind(c.parent_id)
    .bind(c.name)
    .bind(c.slug)
    .bind(c.position)
    .bind(c.path)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_category(
    conn: &mut PgConnection,
    id: CategoryId,
    name: &str,
    slug: &str,
    position: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE categories SET name = $2, slug = $3, position = $4, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(slug)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}

/// Re-parents a category: its own path and every descendant's swap the old prefix for
/// the new one.
pub async fn move_category(
    conn: &mut PgConnection,
    id: CategoryId,
    parent: Option<CategoryId>,
    position: i32,
    old_path: &[Uuid],
    new_path: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE categories SET parent_id = $2, position = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(parent)
    .bind(position)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE categories
         SET path = $2::uuid[] || path[cardinality($1::uuid[]) + 1:]
         WHERE path[1:cardinality($1::uuid[])] = $1::uuid[]",
    )
    .bind(old_path)
    .bind(new_path)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_category(conn: &mut PgConnection, id: CategoryId) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

// --- stores (a projection of vendors' events) ---

// Each function applies a vendors event only if it is newer (by the store's version)
// than what is recorded, so a redelivered or replayed event never reopens a suspended
// store. A status event may arrive before the approval it follows: it leaves a
// placeholder row whose name and slug the approval fills in.

pub async fn store_approved(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    slug: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stores (id, slug, name, status, version) VALUES ($1, $2, $3, 'approved', $4)
         ON CONFLICT (id) DO UPDATE SET
           slug = CASE WHEN stores.version < EXCLUDED.version OR stores.slug = '' THEN EXCLUDED.slug ELSE stores.slug END,
           name = CASE WHEN stores.version < EXCLUDED.version OR stores.name = '' THEN EXCLUDED.name ELSE stores.name END,
           status = CASE WHEN stores.version < EXCLUDED.version THEN 'approved' ELSE stores.status END,
           version = GREATEST(stores.version, EXCLUDED.version),
           updated_at = now()",
    )
    .bind(id)
    .bind(slug)
    .bind(name)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_renamed(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    slug: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET slug = $2, name = $3, version = $4, updated_at = now() WHERE id = $1 AND version < $4",
    )
    .bind(id)
    .bind(slug)
    .bind(name)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_status_changed(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stores (id, slug, name, status, version) VALUES ($1, '', '', $2, $3)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version, updated_at = now()
         WHERE stores.version < EXCLUDED.version",
    )
    .bind(id)
    .bind(status)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// The store's status as catalog knows it; `None` until vendors has approved it.
pub async fn store_status(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT status FROM stores WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.0))
}

// --- products ---

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: crate::domain::ProductId,
    pub store_id: Uuid,
    pub store_slug: String,
    pub store_name: String,
    pub store_status: String,
    pub slug: String,
    pub title: String,
    pub description_md: String,
    pub description_html: String,
    pub brand: Option<String>,
    pub category_id: Option<CategoryId>,
    pub attributes: serde_json::Value,
    pub tags: Vec<String>,
    pub status: ProductStatus,
    pub moderation_reason: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub currency: String,
    pub min_price_minor: i64,
    pub published_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Key of the first image, if any.
    pub main_image: Option<String>,
}

const PRODUCT_COLUMNS: &str = "p.id, p.store_id, s.slug AS store_slug, s.name AS store_name, s.status AS store_status, \
     p.slug, p.title, p.description_md, p.description_html, p.brand, p.category_id, p.attributes, p.tags, p.status, \
     p.moderation_reason, p.seo_title, p.seo_description, p.currency, p.min_price_minor, p.published_at, p.created_at, \
     (SELECT i.media_key FROM product_images i WHERE i.product_id = p.id ORDER BY i.position LIMIT 1) AS main_image";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VariantRow {
    pub id: crate::domain::VariantId,
    pub sku: String,
    pub options: serde_json::Value,
    pub price_minor: i64,
    pub currency: String,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<String>,
    /// Units for sale, when inventory tracks the variant.
    pub available: Option<i64>,
}

/// A product's fields as written (validated).
pub struct ProductFields<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub description_md: &'a str,
    pub description_html: &'a str,
    pub brand: Option<&'a str>,
    pub category_id: Option<CategoryId>,
    pub attributes: &'a serde_json::Value,
    pub tags: &'a [String],
    pub seo_title: Option<&'a str>,
    pub seo_description: Option<&'a str>,
    pub currency: &'a str,
    pub min_price_minor: i64,
}

/// Creates a draft product, or rewrites an existing one's fields (never its store or
/// status).
pub async fn save_product(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
    store: Uuid,
    f: &ProductFields<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO products (id, store_id, slug, title, description_md, description_html, brand, category_id,
           attributes, tags, status, seo_title, seo_description, currency, min_price_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11, $12, $13, $14)
         ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, title = EXCLUDED.title,
           description_md = EXCLUDED.description_md, description_html = EXCLUDED.description_html,
           brand = EXCLUDED.brand, category_id = EXCLUDED.category_id, attributes = EXCLUDED.attributes,
           tags = EXCLUDED.tags, seo_title = EXCLUDED.seo_title, seo_description = EXCLUDED.seo_description,
           currency = EXCLUDED.currency, min_price_minor = EXCLUDED.min_price_minor, updated_at = now()",
    )
    .bind(id)
    .bind(store)
    .bind(f.slug)
    .bind(f.title)
    .bind(f.description_md)
    .bind(f.description_html)
    .bind(f.brand)
    .bind(f.category_id)
    .bind(f.attributes)
    .bind(f.tags)
    .bind(f.seo_title)
    .bind(f.seo_description)
    .bind(f.currency)
    .bind(f.min_price_minor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a product's variants: kept SKUs keep their ids, others are created or removed.
/// Returns the first SKU that another product of the store already uses, if any (the
/// caller rolls back).
pub async fn replace_variants(
    conn: &mut PgConnection,
    product: crate::domain::ProductId,
    store: Uuid,
    variants: &[crate::domain::VariantInput],
) -> Result<Option<String>, sqlx::Error> {
    let skus: Vec<&str> = variants.iter().map(|v| v.sku.as_str()).collect();
    sqlx::query("DELETE FROM variants WHERE product_id = $1 AND NOT (sku = ANY($2))")
        .bind(product)
        .bind(&skus)
        .execute(&mut *conn)
        .await?;
    for (position, v) in variants.iter().enumerate() {
        let written = sqlx::query(
            "INSERT INTO variants (id, product_id, store_id, sku, options, price_minor, currency, compare_at_minor,
               weight_grams, barcode, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (store_id, sku) DO UPDATE SET options = $5, price_minor = $6, currency = $7,
               compare_at_minor = $8, weight_grams = $9, barcode = $10, position = $11
             WHERE variants.product_id = $2",
        )
        .bind(crate::domain::VariantId::new())
        .bind(product)
        .bind(store)
        .bind(&v.sku)
        .bind(serde_json::to_value(&v.options).unwrap_or_default())
        .bind(v.price.amount_minor)
        .bind(v.price.currency.code())
        .bind(v.compare_at_minor)
        .bind(v.weight_grams)
        .bind(&v.barcode)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if written == 0 {
            return Ok(Some(v.sku.clone()));
        }
    }
    Ok(None)
}

pub async fn product(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN stores s ON s.id = p.store_id WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn product_by_slug(
    conn: &mut PgConnection,
    store_slug: &str,
    slug: &str,
) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN stores s ON s.id = p.store_id WHERE s.slug = $1 AND p.slug = $2"
    ))
    .bind(store_slug)
    .bind(slug)
    .fetch_optional(conn)
    .await
}

pub async fn variants(
    conn: &mut PgConnection,
    product: crate::domain::ProductId,
) -> Result<Vec<VariantRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.id, v.sku, v.options, v.price_minor, v.currency, v.compare_at_minor, v.weight_grams,
                v.barcode, vs.available
         FROM variants v LEFT JOIN variant_stock vs ON vs.variant_id = v.id
         WHERE v.product_id = $1 ORDER BY v.position",
    )
    .bind(product)
    .fetch_all(conn)
    .await
}

pub async fn set_product_status(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
    status: &str,
    moderation_reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET status = $2, moderation_reason = COALESCE($3, moderation_reason), updated_at = now(),
           published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(moderation_reason)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn product_ids_of_store(
    conn: &mut PgConnection,
    store: Uuid,
) -> Result<Vec<crate::domain::ProductId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM products WHERE store_id = $1")
        .bind(store)
        .fetch_all(conn)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRow {
    pub media_key: String,
    pub alt: String,
    pub variant_sku: Option<String>,
}

pub async fn images(
    conn: &mut PgConnection,
    product: crate::domain::ProductId,
) -> Result<Vec<ImageRow>, sqlx::Error> {
    sqlx::query_as("SELECT media_key, alt, variant_sku FROM product_images WHERE product_id = $1 ORDER BY position")
        .bind(product)
        .fetch_all(conn)
        .await
}

/// Replaces a product's images with `images`, in order.
pub async fn replace_images(
    conn: &mut PgConnection,
    product: crate::domain::ProductId,
    images: &[ImageRow],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM product_images WHERE product_id = $1")
        .bind(product)
        .execute(&mut *conn)
        .await?;
    for (position, image) in images.iter().enumerate() {
        sqlx::query(
            "INSERT INTO product_images (product_id, position, media_key, alt, variant_sku) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(product)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(&image.media_key)
        .bind(&image.alt)
        .bind(&image.variant_sku)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Lifts an admin's moderation: the vendor may publish again.
pub async fn clear_moderation(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE products SET moderation_reason = NULL, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks a product row for the rest of the transaction.
pub async fn lock_product(
    conn: &mut PgConnection,
    id: crate::domain::ProductId,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM products WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn products_in_category(
    conn: &mut PgConnection,
    category: CategoryId,
) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM products WHERE category_id = $1")
        .bind(category)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Public listing filters; every one optional.
#[derive(Debug, Default)]
pub struct Listing {
    pub category: Option<CategoryId>,
    pub store: Option<Uuid>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub currency: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Leave out sold-out products.
    pub in_stock: bool,
    pub sort: Sort,
    /// `(sort key, id)` of the last item of the previous page.
    pub after: Option<(i64, Uuid)>,
    pub limit: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
}

/// Published products of approved stores matching `l`, one page (plus one to tell
/// whether more exist).
pub async fn list_products(
    conn: &mut PgConnection,
    l: &Listing,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    // Ordering by the column itself (not an expression of it) lets the listing index
    // deliver rows in order: the newest page of a million products is a short index
    // walk instead of a sort. The cursor's microseconds turn back into a timestamp
    // exactly (PostgreSQL keeps microseconds).
    let (key, cursor, order, cmp) = match l.sort {
        Sort::Newest => (
            "p.published_at",
            "timestamptz 'epoch' + $7::bigint * interval '1 microsecond'",
            "DESC",
            "<",
        ),
        Sort::PriceAsc => ("p.min_price_minor", "$7::bigint", "ASC", ">"),
        Sort::PriceDesc => ("p.min_price_minor", "$7::bigint", "DESC", "<"),
    };
    // Only constants are formatted into the SQL; every value is a bound parameter.
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN stores s ON s.id = p.store_id
         WHERE p.status = 'published' AND s.status = 'approved'
           AND ($1::uuid IS NULL OR p.category_id IN (SELECT id FROM categories WHERE path @> ARRAY[$1::uuid]))
           AND ($2::uuid IS NULL OR p.store_id = $2)
           AND ($3::bigint IS NULL OR p.min_price_minor >= $3)
           AND ($4::bigint IS NULL OR p.min_price_minor <= $4)
           AND ($5::text IS NULL OR p.currency = $5)
           AND p.attributes @> $6
           AND (NOT $10 OR NOT (
                 EXISTS (SELECT 1 FROM variants v JOIN variant_stock vs ON vs.variant_id = v.id WHERE v.product_id = p.id)
             AND NOT EXISTS (SELECT 1 FROM variants v JOIN variant_stock vs ON vs.variant_id = v.id
                             WHERE v.product_id = p.id AND vs.available > 0)))
           AND ($7::bigint IS NULL OR ({key}, p.id) {cmp} ({cursor}, $8))
         ORDER BY {key} {order}, p.id {order}
         LIMIT $9"
    );
    sqlx::query_as(&sql)
        .bind(l.category)
        .bind(l.store)
        .bind(l.min_price)
        .bind(l.max_price)
        .bind(&l.currency)
        .bind(serde_json::Value::Object(l.attributes.clone()))
        .bind(l.after.map(|a| a.0))
        .bind(l.after.map(|a| a.1))
        .bind(i64::from(l.limit) + 1)
        .bind(l.in_stock)
        .fetch_all(conn)
        .await
}

/// All of one store's products, any status, newest first (for its members).
/// Which products a management list shows.
#[derive(Debug, Clone, Copy)]
pub enum ProductScope {
    /// Every product of one store, drafts included.
    Store(Uuid),
    /// Every product an admin took down, across stores.
    Moderated,
}

/// Products in `scope`, newest first, one page (plus one to tell whether more exist).
pub async fn scoped_products(
    conn: &mut PgConnection,
    scope: ProductScope,
    after: Option<(i64, Uuid)>,
    limit: u32,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    let (store, moderated) = match scope {
        ProductScope::Store(id) => (Some(id), false),
        ProductScope::Moderated => (None, true),
    };
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN stores s ON s.id = p.store_id
         WHERE ($1::uuid IS NULL OR p.store_id = $1)
           AND (NOT $5 OR p.moderation_reason IS NOT NULL)
           AND ($2::bigint IS NULL OR ((extract(epoch from p.created_at) * 1000000)::bigint, p.id) < ($2, $3))
         ORDER BY (extract(epoch from p.created_at) * 1000000)::bigint DESC, p.id DESC LIMIT $4"
    ))
    .bind(store)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(i64::from(limit) + 1)
    .bind(moderated)
    .fetch_all(conn)
    .await
}

/// A published product as search sees it, flattened in one query so a full export of a
/// million products is a scan, not a query per product. Products of suspended stores are
/// included: search hides them itself, so they come back the moment the store does.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchDocumentRow {
    pub product_id: crate::domain::ProductId,
    pub version: i64,
    pub store_id: Uuid,
    pub store_slug: String,
    pub store_name: String,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    pub description_md: String,
    pub category_id: Option<CategoryId>,
    pub category_path: Vec<Uuid>,
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

const SEARCH_DOCUMENT_SELECT: &str = "SELECT p.id AS product_id, p.version, s.id AS store_id, \
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

/// The product of `store` with this slug, locked for the caller's transaction.
pub async fn lock_product_by_slug(
    conn: &mut PgConnection,
    store: Uuid,
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
    store: Uuid,
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
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = kernel::ids::parse_prefixed(key, "sto").ok();
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
    pub store_id: Uuid,
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
