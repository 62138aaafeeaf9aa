//! Checkouts: their steps, leases and what each step recorded.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutRow {
    pub id: CheckoutId,
    pub customer: UserId,
    pub step: Step,
    /// Absent while the checkout is `started` (pricing), or when it failed then.
    pub plan: Option<Json<Plan>>,
    pub reservations: Json<std::collections::BTreeMap<String, String>>,
    pub payment_id: Option<String>,
    pub action_url: Option<String>,
    pub order_id: Option<OrderId>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: OffsetDateTime,
}

pub(super) const CHECKOUT_COLUMNS: &str = "id, customer, step, plan, reservations, payment_id, action_url, order_id, \
     failure_code, failure_message, created_at";

/// The unique index that lets a customer have one checkout under way at a time.
pub const ONE_IN_FLIGHT: &str = "checkouts_one_in_flight";

/// Starts a checkout under the caller's key (step `started`, before the cart is read),
/// or finds the one the key started. Fails on [`ONE_IN_FLIGHT`] when another checkout
/// of the customer's is under way.
pub async fn start_checkout(
    conn: &mut PgConnection,
    id: CheckoutId,
    customer: UserId,
    key: &str,
    lease_secs: i64,
) -> Result<CheckoutRow, sqlx::Error> {
    sqlx::query(
        "INSERT INTO checkouts (id, customer, idempotency_key, step, lease_until) \
         VALUES ($1, $2, $3, 'started', now() + make_interval(secs => $4)) \
         ON CONFLICT (customer, idempotency_key) DO NOTHING",
    )
    .bind(id)
    .bind(customer)
    .bind(key)
    .bind(lease_secs as f64)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE customer = $1 AND idempotency_key = $2"
    ))
    .bind(customer)
    .bind(key)
    .fetch_one(conn)
    .await
}

/// Records a started checkout's plan (→ `priced`, the lease renewed); `None` when it
/// is no longer `started` (the worker gave it up).
pub async fn set_plan(
    conn: &mut PgConnection,
    id: CheckoutId,
    plan: &Plan,
    lease_secs: i64,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE checkouts SET plan = $2, step = 'priced', lease_until = now() + make_interval(secs => $3), \
         updated_at = now() WHERE id = $1 AND step = 'started' RETURNING {CHECKOUT_COLUMNS}"
    ))
    .bind(id)
    .bind(Json(plan))
    .bind(lease_secs as f64)
    .fetch_optional(conn)
    .await
}

/// Forgets a started checkout whose cart could not be priced (nothing was held), so
/// the slot is free and the same key may try again.
pub async fn drop_started(conn: &mut PgConnection, id: CheckoutId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM checkouts WHERE id = $1 AND step = 'started'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends a started checkout whose driver vanished while pricing (nothing was held).
pub async fn abandon_started(
    conn: &mut PgConnection,
    id: CheckoutId,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE checkouts SET step = 'failed', failure_code = coalesce(failure_code, $2), \
         failure_message = coalesce(failure_message, $3), updated_at = now() \
         WHERE id = $1 AND step = 'started'",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The customer's checkout under way, if any.
pub async fn checkout_in_flight(
    conn: &mut PgConnection,
    customer: UserId,
) -> Result<Option<CheckoutId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM checkouts WHERE customer = $1 AND step NOT IN ('completed', 'failed')",
    )
    .bind(customer)
    .fetch_optional(conn)
    .await
}

pub async fn checkout_by_key(
    conn: &mut PgConnection,
    customer: UserId,
    key: &str,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE customer = $1 AND idempotency_key = $2"
    ))
    .bind(customer)
    .bind(key)
    .fetch_optional(conn)
    .await
}

pub async fn checkout(
    conn: &mut PgConnection,
    id: CheckoutId,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves a checkout on, only from the step the caller saw (a racing driver's move wins).
pub async fn advance(
    conn: &mut PgConnection,
    id: CheckoutId,
    from: Step,
    to: Step,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE checkouts SET step = $3, updated_at = now() WHERE id = $1 AND step = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_reservation(
    conn: &mut PgConnection,
    id: CheckoutId,
    store: &str,
    reservation: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET reservations = reservations || jsonb_build_object($2::text, $3::text), \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(store)
    .bind(reservation)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_payment(
    conn: &mut PgConnection,
    id: CheckoutId,
    payment: &str,
    action_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET payment_id = $2, action_url = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(payment)
    .bind(action_url)
    .execute(conn)
    .await?;
    Ok(())
}

/// Decides that a checkout fails (compensation follows; the reason is kept for the
/// customer). The first reason stands.
pub async fn mark_failing(
    conn: &mut PgConnection,
    id: CheckoutId,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET failure_code = coalesce(failure_code, $2), \
         failure_message = coalesce(failure_message, $3), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(())
}

/// Lets the recovery worker take a checkout at once (an awaited payment answered).
pub async fn make_due(conn: &mut PgConnection, reference: &str) -> Result<(), sqlx::Error> {
    let Ok(id) = kernel::ids::parse_prefixed(reference, "chk") else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE checkouts SET lease_until = now() WHERE id = $1 AND step NOT IN ('completed', 'failed')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the current holder's lease, so the worker may look at it (a checkout left
/// waiting for the customer's confirmation).
pub async fn release_lease(
    conn: &mut PgConnection,
    id: CheckoutId,
    after_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE checkouts SET lease_until = now() + make_interval(secs => $2) WHERE id = $1",
    )
    .bind(id)
    .bind(after_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unfinished checkouts whose lease ran out, leased to the caller (replicas share the
/// work: `SKIP LOCKED`).
pub async fn claim_due(
    conn: &mut PgConnection,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<CheckoutId>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE checkouts SET lease_until = now() + make_interval(secs => $1), attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM checkouts WHERE step NOT IN ('completed', 'failed') \
                      AND lease_until < now() ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id",
    )
    .bind(lease_secs as f64)
    .bind(limit)
    .fetch_all(conn)
    .await
}
