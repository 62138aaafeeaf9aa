//! Sessions, refresh tokens and the sign-in throttle.

use super::*;

pub async fn insert_session(
    conn: &mut PgConnection,
    id: SessionId,
    user: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (id, user_id) VALUES ($1, $2)")
        .bind(id)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a refresh token by its digest, with the claims of the access token issued
/// alongside it (not a credential: without the signature they prove nothing), so that
/// a replay can sign the very same access token again.
pub async fn insert_refresh_token(
    conn: &mut PgConnection,
    session: SessionId,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
    access_claims: &Claims,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at, access_claims)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(session)
    .bind(expires_at)
    .bind(Json(access_claims))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshRow {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub session_revoked_at: Option<OffsetDateTime>,
}

/// Locks the token row: concurrent refreshes with one token are serialised, so the
/// second one sees the first one's rotation and replays its answer.
pub async fn refresh_for_update(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.session_id, s.user_id, t.expires_at, t.used_at, s.revoked_at AS session_revoked_at
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
         WHERE t.token_hash = $1 FOR UPDATE OF t",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct SuccessorRow {
    pub session_id: SessionId,
    pub used_at: Option<OffsetDateTime>,
    /// `None` only for tokens issued before claims were recorded.
    pub access_claims: Option<Json<Claims>>,
}

/// The token a rotation issued, locked so that it cannot be exchanged while its
/// predecessor's answer is being replayed.
pub async fn successor_for_update(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<SuccessorRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT session_id, used_at, access_claims FROM refresh_tokens
         WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

pub async fn mark_refresh_used(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a session, and publishes it to every service so its access tokens stop working.
pub async fn revoke_session(conn: &mut PgConnection, id: SessionId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH ended AS (
             UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
             RETURNING id, user_id)
         INSERT INTO revocations (user_id, session_id) SELECT user_id, id FROM ended",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes every session of a user, except `keep` (the caller's own, when changing password).
pub async fn revoke_all_sessions(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "WITH ended AS (
             UPDATE sessions SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
             RETURNING id, user_id)
         INSERT INTO revocations (user_id, session_id) SELECT user_id, id FROM ended",
    )
    .bind(user)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

// --- throttling ---

/// Counts one attempt atomically (a stale window restarts at one) and returns the
/// attempts in the current window with the seconds until it ends. Counting before
/// acting means parallel attempts cannot all slip under the limit.
pub async fn throttle_hit(
    pool: &PgPool,
    key: &str,
    window_secs: i64,
) -> Result<(i32, i64), sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO throttle (key, hits, window_start) VALUES ($1, 1, now())
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN throttle.window_start > now() - make_interval(secs => $2) THEN throttle.hits + 1 ELSE 1 END,
           window_start = CASE WHEN throttle.window_start > now() - make_interval(secs => $2) THEN throttle.window_start ELSE now() END
         RETURNING hits,
           GREATEST(1, CEIL(EXTRACT(EPOCH FROM (window_start + make_interval(secs => $2) - now())))::bigint)",
    )
    .bind(key)
    .bind(window_secs as f64)
    .fetch_one(pool)
    .await
}

/// Gives back one counted attempt (a login that turned out to be right).
pub async fn throttle_release(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE throttle SET hits = GREATEST(hits - 1, 0) WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn throttle_clear(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
