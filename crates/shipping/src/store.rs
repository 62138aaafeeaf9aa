//! Shipping's SQL.

use contracts::shipping::MethodId;
use kernel::ids::StoreId;
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MethodRow {
    pub id: MethodId,
    pub store_id: StoreId,
    pub name: String,
    pub kind: String,
    pub countries: Vec<String>,
    pub currency: String,
    pub price_minor: i64,
    pub free_over_minor: Option<i64>,
    pub bands: serde_json::Value,
}

const COLUMNS: &str =
    "id, store_id, name, kind, countries, currency, price_minor, free_over_minor, bands";

pub struct NewMethod<'a> {
    pub id: MethodId,
    pub store_id: StoreId,
    pub name: &'a str,
    pub kind: &'a str,
    pub countries: &'a [String],
    pub currency: &'a str,
    pub price_minor: i64,
    pub free_over_minor: Option<i64>,
    pub bands: serde_json::Value,
    pub position: i32,
}

pub async fn insert(conn: &mut PgConnection, m: &NewMethod<'_>) -> Result<MethodRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO methods (id, store_id, name, kind, countries, currency, price_minor, free_over_minor, bands, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(m.id)
    .bind(m.store_id)
    .bind(m.name)
    .bind(m.kind)
    .bind(m.countries)
    .bind(m.currency)
    .bind(m.price_minor)
    .bind(m.free_over_minor)
    .bind(&m.bands)
    .bind(m.position)
    .fetch_one(conn)
    .await
}

pub async fn of_stores(
    conn: &mut PgConnection,
    stores: &[StoreId],
) -> Result<Vec<MethodRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM methods WHERE store_id = ANY($1) ORDER BY store_id, position, created_at"
    ))
    .bind(stores)
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: MethodId) -> Result<Option<MethodRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM methods WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn delete(conn: &mut PgConnection, id: MethodId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM methods WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
