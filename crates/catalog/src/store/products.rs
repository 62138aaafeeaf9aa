//! Products, their variants and images, and listings.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: crate::domain::ProductId,
    pub store_id: StoreId,
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

pub(super) const PRODUCT_COLUMNS: &str = "p.id, p.store_id, s.slug AS store_slug, s.name AS store_name, s.status AS store_status, \
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
    store: StoreId,
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
    store: StoreId,
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
    store: StoreId,
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
    pub store: Option<StoreId>,
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
    Store(StoreId),
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
