//! Address books.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddressRow {
    pub id: AddressId,
    pub label: Option<String>,
    pub full_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

pub(super) const ADDRESS_COLUMNS: &str = "id, label, full_name, line1, line2, city, region, postal_code, country, phone, is_default_shipping, is_default_billing";

pub async fn list_addresses(pool: &PgPool, user: UserId) -> Result<Vec<AddressRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
}

/// Only ever finds the caller's own address: another user's id is simply not found.
pub async fn address(
    pool: &PgPool,
    user: UserId,
    id: AddressId,
) -> Result<Option<AddressRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 AND id = $2"
    ))
    .bind(user)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn count_addresses(conn: &mut PgConnection, user: UserId) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM addresses WHERE user_id = $1")
        .bind(user)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Clears the user's current defaults that `a` is about to take over.
pub(super) async fn release_defaults(
    conn: &mut PgConnection,
    user: UserId,
    a: &Address,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE addresses SET
           is_default_shipping = is_default_shipping AND NOT $2,
           is_default_billing = is_default_billing AND NOT $3
         WHERE user_id = $1 AND ((is_default_shipping AND $2) OR (is_default_billing AND $3))",
    )
    .bind(user)
    .bind(a.is_default_shipping)
    .bind(a.is_default_billing)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_address(
    conn: &mut PgConnection,
    user: UserId,
    id: AddressId,
    a: &Address,
) -> Result<(), sqlx::Error> {
    release_defaults(conn, user, a).await?;
    sqlx::query(
        "INSERT INTO addresses (id, user_id, label, full_name, line1, line2, city, region, postal_code, country, phone, is_default_shipping, is_default_billing)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(user)
    .bind(&a.label)
    .bind(&a.full_name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(&a.country)
    .bind(&a.phone)
    .bind(a.is_default_shipping)
    .bind(a.is_default_billing)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_address(
    conn: &mut PgConnection,
    user: UserId,
    id: AddressId,
    a: &Address,
) -> Result<bool, sqlx::Error> {
    release_defaults(conn, user, a).await?;
    let r = sqlx::query(
        "UPDATE addresses SET label = $3, full_name = $4, line1 = $5, line2 = $6, city = $7, region = $8,
           postal_code = $9, country = $10, phone = $11, is_default_shipping = $12, is_default_billing = $13
         WHERE user_id = $1 AND id = $2",
    )
    .bind(user)
    .bind(id)
    .bind(&a.label)
    .bind(&a.full_name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(&a.country)
    .bind(&a.phone)
    .bind(a.is_default_shipping)
    .bind(a.is_default_billing)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_address(
    pool: &PgPool,
    user: UserId,
    id: AddressId,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM addresses WHERE user_id = $1 AND id = $2")
        .bind(user)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Serialises address changes per user so the 20-address cap holds under concurrency.
pub async fn lock_user(conn: &mut PgConnection, user: UserId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}
