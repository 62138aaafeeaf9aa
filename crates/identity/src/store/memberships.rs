//! Store memberships (a projection of vendors' events) and token revocations.

use super::*;

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
