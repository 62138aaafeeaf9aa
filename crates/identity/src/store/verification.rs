//! Secrets, email verification codes and password resets.

use super::*;

/// Returns the named secret, creating it from `generate` on first use. Concurrent
/// first starts agree on one value: the insert that loses the race reads the winner's.
pub async fn get_or_create_secret(
    pool: &PgPool,
    name: &str,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(generate())
        .execute(pool)
        .await?;
    let (value,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(value)
}

// --- email verification ---

#[derive(Debug, sqlx::FromRow)]
pub struct VerificationRow {
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts: i32,
    pub last_sent_at: OffsetDateTime,
}

pub async fn upsert_verification(
    conn: &mut PgConnection,
    user: UserId,
    code_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_verifications (user_id, code_hash, expires_at, attempts, last_sent_at)
         VALUES ($1, $2, $3, 0, now())
         ON CONFLICT (user_id) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0, last_sent_at = now()",
    )
    .bind(user)
    .bind(code_hash)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn verification_for_update(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Option<VerificationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code_hash, expires_at, attempts, last_sent_at FROM email_verifications
         WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
}

pub async fn count_verification_attempt(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = $1")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

// --- password resets ---

pub async fn insert_reset(
    conn: &mut PgConnection,
    user: UserId,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Consumes a reset token: returns its user only if it was unused and unexpired, and
/// marks it used in the same statement so two concurrent resets cannot both succeed.
pub async fn consume_reset(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<UserId>, sqlx::Error> {
    let row: Option<(UserId,)> = sqlx::query_as(
        "UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((user,)) = row {
        // Any other outstanding reset links for this user die with this one.
        sqlx::query(
            "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user)
        .execute(conn)
        .await?;
        return Ok(Some(user));
    }
    Ok(None)
}
