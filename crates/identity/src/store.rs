//! Identity's SQL. Every function takes a connection so callers decide the transaction.

use kernel::auth::Claims;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Address, AddressId, EmailAddress, SessionId, UserId, UserStatus};
use kernel::auth::StoreRole;

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

const USER_COLUMNS: &str =
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

// --- secrets ---

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

// --- sessions and refresh tokens ---

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

// --- addresses ---

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

const ADDRESS_COLUMNS: &str = "id, label, full_name, line1, line2, city, region, postal_code, country, phone, is_default_shipping, is_default_billing";

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
async fn release_defaults(
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

// --- store memberships (a projection of vendors' events) ---

pub async fn store_memberships(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Vec<(String, StoreRole)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_id, role FROM store_memberships WHERE user_id = $1 AND role IS NOT NULL ORDER BY store_id",
    )
    .bind(user)
    .fetch_all(conn)
    .await
}

/// Refuses the user's tokens issued before now everywhere (their claims are stale).
pub async fn revoke_user_tokens(conn: &mut PgConnection, user: UserId) -> Result<(), sqlx::Error> {
    // Tokens issued after the user's last revocation are stamped a second past it
    // (see `user_tokens_revoked_up_to`): this one reaches at least that far.
    sqlx::query(
        "INSERT INTO revocations (user_id, not_before)
         SELECT id, greatest(now(), (SELECT max(not_before) + interval '1 second' FROM revocations
                                     WHERE user_id = $1 AND session_id IS NULL
                                       AND created_at > now() - interval '16 minutes'))
         FROM users WHERE id = $1",
    )
    .bind(user)
    .execute(conn)
    .await?;
    Ok(())
}

/// The second up to which the user's tokens are revoked, if a revocation still stands.
pub async fn user_tokens_revoked_up_to(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT floor(extract(epoch FROM max(not_before)))::bigint FROM revocations
         WHERE user_id = $1 AND session_id IS NULL AND created_at > now() - interval '16 minutes'",
    )
    .bind(user)
    .fetch_one(conn)
    .await
}

/// Revocations after `after`, young enough to name tokens that have not expired.
pub async fn revocations_after(
    conn: &mut PgConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, UserId, Option<SessionId>, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, user_id, session_id, not_before FROM revocations
         WHERE seq > $1 AND created_at > now() - interval '16 minutes'
         ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The user's current role in `store`, if a member.
pub async fn store_role(
    conn: &mut PgConnection,
    user: UserId,
    store: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT role FROM store_memberships WHERE user_id = $1 AND store_id = $2 AND role IS NOT NULL",
    )
    .bind(user)
    .bind(store)
    .fetch_optional(conn)
    .await
}

/// Applies a membership change from vendors unless a newer one (by the store's version)
/// is already recorded. `role: None` records a removal as a tombstone. Events about a
/// user this service does not know are ignored.
pub async fn apply_store_membership(
    conn: &mut PgConnection,
    user: UserId,
    store: &str,
    role: Option<&str>,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO store_memberships (user_id, store_id, role, version)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)
         ON CONFLICT (user_id, store_id) DO UPDATE SET role = EXCLUDED.role, version = EXCLUDED.version
         WHERE store_memberships.version < EXCLUDED.version",
    )
    .bind(user)
    .bind(store)
    .bind(role)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}
