//! Search's own tables: product versions seen, suspended stores, variants' stock and
//! products' ratings.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::Rating;

/// Records `version` as the product's newest; false when a newer (or the same) one was
/// seen already, in which case the caller drops the change.
pub async fn advance_product_version(
    conn: &mut PgConnection,
    product: Uuid,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let advanced: Option<i64> = sqlx::query_scalar(
        "INSERT INTO product_versions (product_id, version) VALUES ($1, $2) \
         ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version \
         WHERE product_versions.version < EXCLUDED.version RETURNING version",
    )
    .bind(product)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(advanced.is_some())
}

/// The bulk form of [`advance_product_version`] for a reindex: never lowers a version.
pub async fn raise_product_versions(
    conn: &mut PgConnection,
    products: &[Uuid],
    versions: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO product_versions (product_id, version) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[]) \
         ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version \
         WHERE product_versions.version < EXCLUDED.version",
    )
    .bind(products)
    .bind(versions)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the store's state at `version`; false when a newer one was seen already.
pub async fn set_store_suspended(
    conn: &mut PgConnection,
    store: Uuid,
    version: i64,
    suspended: bool,
) -> Result<bool, sqlx::Error> {
    let changed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO stores (store_id, version, suspended) VALUES ($1, $2, $3) \
         ON CONFLICT (store_id) DO UPDATE SET version = EXCLUDED.version, suspended = EXCLUDED.suspended \
         WHERE stores.version < EXCLUDED.version RETURNING version",
    )
    .bind(store)
    .bind(version)
    .bind(suspended)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

pub async fn suspended_stores(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT store_id FROM stores WHERE suspended")
        .fetch_all(conn)
        .await
}

/// Records a variant's availability at `version`; false when a newer one was seen.
pub async fn set_variant_stock(
    conn: &mut PgConnection,
    variant: Uuid,
    product: Uuid,
    available: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let changed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO variant_stock (variant_id, product_id, available, version) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (variant_id) DO UPDATE SET available = EXCLUDED.available, version = EXCLUDED.version \
         WHERE variant_stock.version < EXCLUDED.version RETURNING version",
    )
    .bind(variant)
    .bind(product)
    .bind(available)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

/// Whether every tracked variant of the product is sold out.
pub async fn product_sold_out(conn: &mut PgConnection, product: Uuid) -> Result<bool, sqlx::Error> {
    let sold_out: Option<bool> = sqlx::query_scalar(
        "SELECT bool_and(available <= 0) FROM variant_stock WHERE product_id = $1",
    )
    .bind(product)
    .fetch_one(conn)
    .await?;
    Ok(sold_out.unwrap_or(false))
}

pub async fn sold_out_products(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT product_id FROM variant_stock GROUP BY product_id HAVING bool_and(available <= 0)",
    )
    .fetch_all(conn)
    .await
}

/// The bulk form of [`set_store_suspended`] for a catch-up; returns the stores whose
/// state it changed, with their state now.
pub async fn set_store_states(
    conn: &mut PgConnection,
    stores: &[Uuid],
    versions: &[i64],
    suspended: &[bool],
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO stores (store_id, version, suspended) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bool[]) \
         ON CONFLICT (store_id) DO UPDATE SET version = EXCLUDED.version, suspended = EXCLUDED.suspended \
         WHERE stores.version < EXCLUDED.version RETURNING store_id, suspended",
    )
    .bind(stores)
    .bind(versions)
    .bind(suspended)
    .fetch_all(conn)
    .await
}

/// The bulk form of [`set_variant_stock`] for a catch-up; returns whether each product
/// whose variants it changed is now sold out. (The statement's reads see the table as
/// it was before its own insert, hence the union with what it changed.)
pub async fn set_variant_stocks(
    conn: &mut PgConnection,
    variants: &[Uuid],
    products: &[Uuid],
    available: &[i64],
    versions: &[i64],
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    sqlx::query_as(
        "WITH changed AS ( \
             INSERT INTO variant_stock (variant_id, product_id, available, version) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[]) \
             ON CONFLICT (variant_id) DO UPDATE SET available = EXCLUDED.available, version = EXCLUDED.version \
             WHERE variant_stock.version < EXCLUDED.version RETURNING variant_id, product_id, available) \
         SELECT product_id, bool_and(available <= 0) FROM ( \
             SELECT product_id, available FROM changed \
             UNION ALL \
             SELECT s.product_id, s.available FROM variant_stock s \
             WHERE s.product_id IN (SELECT product_id FROM changed) \
               AND s.variant_id NOT IN (SELECT variant_id FROM changed)) now \
         GROUP BY product_id",
    )
    .bind(variants)
    .bind(products)
    .bind(available)
    .bind(versions)
    .fetch_all(conn)
    .await
}

/// Claims the database for this replica: the replica that holds it, and whether this
/// claim is the first (a new database, which has seen no event yet). Two replicas
/// sharing one would each skip the events the other applied.
pub async fn claim_for_replica(
    pool: &sqlx::PgPool,
    replica: &str,
) -> Result<(String, bool), sqlx::Error> {
    let claimed: Option<String> = sqlx::query_scalar(
        "INSERT INTO replica (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING name",
    )
    .bind(replica)
    .fetch_optional(pool)
    .await?;
    match claimed {
        Some(name) => Ok((name, true)),
        None => Ok((
            sqlx::query_scalar("SELECT name FROM replica")
                .fetch_one(pool)
                .await?,
            false,
        )),
    }
}

/// A `product_ratings` row (id, count, average in tenths) as the index keeps it.
fn rated((product, count, tenths): (Uuid, i64, i32)) -> (Uuid, Rating) {
    let rating = Rating {
        tenths: u16::try_from(tenths).unwrap_or(0),
        count: u32::try_from(count).unwrap_or(u32::MAX),
    };
    (product, rating)
}

/// Records a product's rating at `version`; false when a newer one was seen.
pub async fn set_product_rating(
    conn: &mut PgConnection,
    product: Uuid,
    version: i64,
    rating: Rating,
) -> Result<bool, sqlx::Error> {
    let changed = set_product_ratings(
        conn,
        &[product],
        &[version],
        &[i64::from(rating.count)],
        &[i32::from(rating.tenths)],
    )
    .await?;
    Ok(!changed.is_empty())
}

/// Records each product's rating at its version, keeping newer ones; returns the
/// products whose rating it changed, with their rating now.
pub async fn set_product_ratings(
    conn: &mut PgConnection,
    products: &[Uuid],
    versions: &[i64],
    counts: &[i64],
    tenths: &[i32],
) -> Result<Vec<(Uuid, Rating)>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i32)> = sqlx::query_as(
        "INSERT INTO product_ratings (product_id, version, rating_count, average_tenths) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::integer[]) \
         ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version, \
             rating_count = EXCLUDED.rating_count, average_tenths = EXCLUDED.average_tenths \
         WHERE product_ratings.version < EXCLUDED.version \
         RETURNING product_id, rating_count, average_tenths",
    )
    .bind(products)
    .bind(versions)
    .bind(counts)
    .bind(tenths)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(rated).collect())
}

/// Every rated product's rating, for the index's overlay on start.
pub async fn product_ratings(conn: &mut PgConnection) -> Result<Vec<(Uuid, Rating)>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i32)> = sqlx::query_as(
        "SELECT product_id, rating_count, average_tenths FROM product_ratings WHERE rating_count > 0",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(rated).collect())
}
