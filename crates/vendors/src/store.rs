//! Vendors' SQL. Every function takes a connection so callers decide the transaction.

use kernel::auth::StoreRole;
use kernel::ids::UserId;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{InvitationId, StoreId, StoreStatus};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreRow {
    pub id: StoreId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub logo_url: Option<String>,
    pub support_email: String,
    pub country: String,
    pub payout_holder: String,
    pub payout_iban: String,
    pub status: StoreStatus,
    pub status_reason: Option<String>,
    pub commission_bps: Option<i32>,
    pub applicant_user_id: UserId,
    pub applicant_email: String,
    pub created_at: OffsetDateTime,
}

const STORE_COLUMNS: &str = "id, slug, name, description, logo_url, support_email, country, payout_holder, \
     payout_iban, status, status_reason, commission_bps, applicant_user_id, applicant_email, created_at";

/// A new application, validated.
pub struct NewStore<'a> {
    pub id: StoreId,
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub logo_url: Option<&'a str>,
    pub support_email: &'a str,
    pub country: &'a str,
    pub payout_holder: &'a str,
    pub payout_iban: &'a str,
    pub applicant_user_id: UserId,
    pub applicant_email: &'a str,
}

pub async fn insert_store(conn: &mut PgConnection, s: &NewStore<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stores (id, slug, name, description, logo_url, support_email, country, payout_holder,
           payout_iban, status, applicant_user_id, applicant_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11)",
    )
    .bind(s.id)
    .bind(s.slug)
    .bind(s.name)
    .bind(s.description)
    .bind(s.logo_url)
    .bind(s.support_email)
    .bind(s.country)
    .bind(s.payout_holder)
    .bind(s.payout_iban)
    .bind(s.applicant_user_id)
    .bind(s.applicant_email)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_by_id(
    conn: &mut PgConnection,
    id: StoreId,
) -> Result<Option<StoreRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn store_by_slug(
    conn: &mut PgConnection,
    slug: &str,
) -> Result<Option<StoreRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS} FROM stores WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(conn)
    .await
}

pub async fn store_for_update(
    conn: &mut PgConnection,
    id: StoreId,
) -> Result<Option<StoreRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS} FROM stores WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Stores with `status`, newest first, after the cursor.
pub async fn stores_by_status(
    pool: &PgPool,
    status: StoreStatus,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: u32,
) -> Result<Vec<StoreRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS} FROM stores
         WHERE status = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(status.as_str())
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: StoreId,
    status: StoreStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts one more change to the store (and locks its row): the number every event
/// about the store carries.
pub async fn bump_version(conn: &mut PgConnection, id: StoreId) -> Result<i64, sqlx::Error> {
    let (v,): (i64,) =
        sqlx::query_as("UPDATE stores SET version = version + 1 WHERE id = $1 RETURNING version")
            .bind(id)
            .fetch_one(conn)
            .await?;
    Ok(v)
}

/// Each store's suspension and version after `after`, by id (stores with events only).
pub async fn store_states(
    conn: &mut PgConnection,
    after: Option<StoreId>,
    limit: i64,
) -> Result<Vec<(StoreId, bool, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, status = 'suspended', version FROM stores \
         WHERE version > 0 AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The editable profile of a store (what its members may change).
pub struct Profile<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub logo_url: Option<&'a str>,
    pub support_email: &'a str,
    pub country: &'a str,
}

pub async fn update_profile(
    conn: &mut PgConnection,
    id: StoreId,
    p: &Profile<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET name = $2, description = $3, logo_url = $4, support_email = $5, country = $6,
           updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(p.name)
    .bind(p.description)
    .bind(p.logo_url)
    .bind(p.support_email)
    .bind(p.country)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_payout(
    conn: &mut PgConnection,
    id: StoreId,
    holder: &str,
    iban: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET payout_holder = $2, payout_iban = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(holder)
    .bind(iban)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_commission(
    conn: &mut PgConnection,
    id: StoreId,
    bps: Option<i32>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stores SET commission_bps = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(bps)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn default_commission(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    let (v,): (serde_json::Value,) =
        sqlx::query_as("SELECT value FROM settings WHERE key = 'default_commission_bps'")
            .fetch_one(conn)
            .await?;
    Ok(v.as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(1000))
}

pub async fn set_default_commission(conn: &mut PgConnection, bps: i32) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE settings SET value = $1 WHERE key = 'default_commission_bps'")
        .bind(serde_json::Value::from(bps))
        .execute(conn)
        .await?;
    Ok(())
}

// --- members ---

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub role: StoreRole,
    pub created_at: OffsetDateTime,
}

pub async fn insert_member(
    conn: &mut PgConnection,
    store: StoreId,
    user: UserId,
    email: &str,
    role: StoreRole,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO members (store_id, user_id, email, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (store_id, user_id) DO NOTHING",
    )
    .bind(store)
    .bind(user)
    .bind(email)
    .bind(role)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn members(
    conn: &mut PgConnection,
    store: StoreId,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, email, role, created_at FROM members WHERE store_id = $1 ORDER BY created_at, user_id",
    )
    .bind(store)
    .fetch_all(conn)
    .await
}

pub async fn member_role(
    conn: &mut PgConnection,
    store: StoreId,
    user: UserId,
) -> Result<Option<StoreRole>, sqlx::Error> {
    let row: Option<(StoreRole,)> =
        sqlx::query_as("SELECT role FROM members WHERE store_id = $1 AND user_id = $2")
            .bind(store)
            .bind(user)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|r| r.0))
}

pub async fn delete_member(
    conn: &mut PgConnection,
    store: StoreId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM members WHERE store_id = $1 AND user_id = $2")
        .bind(store)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores a user belongs to, with the role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    #[sqlx(flatten)]
    pub store: StoreRow,
    pub role: StoreRole,
}

/// Stores a user belongs to, with the role, in the order they joined.
pub async fn memberships(pool: &PgPool, user: UserId) -> Result<Vec<MembershipRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS}, m.role FROM stores
         JOIN (SELECT store_id, role, created_at AS joined_at FROM members WHERE user_id = $1) m
           ON m.store_id = stores.id
         ORDER BY m.joined_at"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
}

/// A user's applications still under review or turned down (approved ones are stores
/// they are a member of).
pub async fn open_applications(pool: &PgPool, user: UserId) -> Result<Vec<StoreRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS} FROM stores
         WHERE applicant_user_id = $1 AND status IN ('pending', 'rejected') ORDER BY created_at DESC"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
}

// --- invitations ---

pub async fn insert_invitation(
    conn: &mut PgConnection,
    id: InvitationId,
    store: StoreId,
    email: &str,
    role: &str,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invitations (id, store_id, email, role, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(store)
    .bind(email)
    .bind(role)
    .bind(token_hash)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Consumes an invitation: returns (store, email, role) only if unused and unexpired.
pub async fn consume_invitation(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<(StoreId, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE invitations SET accepted_at = now()
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()
         RETURNING store_id, email, role",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}
