//! Accounts: who they are, their passwords, status and admin rights.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub email_verified_at: Option<OffsetDateTime>,
    pub status: UserStatus,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}

pub(super) const USER_COLUMNS: &str =
    "id, email, name, phone, password_hash, email_verified_at, status, is_admin, created_at";

pub async fn insert_user(
    conn: &mut PgConnection,
    id: UserId,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
    verified: bool,
    is_admin: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, email_verified_at, is_admin)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END, $6)",
    )
    .bind(id)
    .bind(email.as_str())
    .bind(name)
    .bind(password_hash)
    .bind(verified)
    .bind(is_admin)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn user_by_email(
    conn: &mut PgConnection,
    email: &EmailAddress,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(conn)
    .await
}

pub async fn user_by_id(
    conn: &mut PgConnection,
    id: UserId,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Locks the user row for the rest of the transaction.
pub async fn user_for_update(
    conn: &mut PgConnection,
    id: UserId,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn update_profile(
    conn: &mut PgConnection,
    id: UserId,
    name: &str,
    phone: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET name = $2, phone = $3, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(phone)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: UserId,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_verified(conn: &mut PgConnection, id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET email_verified_at = now(), updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM email_verifications WHERE user_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: UserId,
    status: UserStatus,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE users SET status = $2, updated_at = now() WHERE id = $1 AND status <> $2",
    )
    .bind(id)
    .bind(status.as_str())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_admin(
    conn: &mut PgConnection,
    id: UserId,
    is_admin: bool,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE users SET is_admin = $2, updated_at = now() WHERE id = $1 AND is_admin <> $2",
    )
    .bind(id)
    .bind(is_admin)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Users ordered newest first, optionally filtered by an email or name prefix.
pub async fn search_users(
    pool: &PgPool,
    query: Option<&str>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: u32,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let pattern = query.map(|q| {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    });
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users
         WHERE ($1::text IS NULL OR email LIKE $1 OR lower(name) LIKE $1)
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(pattern)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await
}
