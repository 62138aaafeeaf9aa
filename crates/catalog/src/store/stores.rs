//! Stores as catalog knows them: a projection of vendors' events.

use super::*;

// Each function applies a vendors event only if it is newer (by the store's version)
// than what is recorded, so a redelivered or replayed event never reopens a suspended
// store. A status event may arrive before the approval it follows: it leaves a
// placeholder row whose name and slug the approval fills in.

pub async fn store_approved(
    conn: &mut PgConnection,
    id: StoreId,
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
    id: StoreId,
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
    id: StoreId,
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
    id: StoreId,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT status FROM stores WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.0))
}
