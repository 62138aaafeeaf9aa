//! Payments' SQL: payments, refunds, the ledger and payouts.

use kernel::ids::{StoreId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{PaymentId, PayoutId};

use crate::domain::{PaymentStatus, Split};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: PaymentId,
    pub reference: String,
    pub customer: UserId,
    pub amount_minor: i64,
    pub currency: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub status: PaymentStatus,
    pub card_last4: Option<String>,
    pub action_url: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

const PAYMENT_COLUMNS: &str = "id, reference, customer, amount_minor, currency, provider, provider_ref, \
     status, card_last4, action_url, failure_code, failure_message, captured_minor, refunded_minor";

/// Inserts a pending payment; `false` when the reference has one already.
pub async fn insert_payment(conn: &mut PgConnection, p: &PaymentRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO payments (id, reference, customer, amount_minor, currency, provider, status, card_last4) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) ON CONFLICT (reference) DO NOTHING",
    )
    .bind(p.id)
    .bind(&p.reference)
    .bind(p.customer)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .bind(&p.provider)
    .bind(&p.card_last4)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE reference = $1"
    ))
    .bind(reference)
    .fetch_optional(conn)
    .await
}

pub async fn by_provider_ref(
    conn: &mut PgConnection,
    provider_ref: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE provider_ref = $1 FOR UPDATE"
    ))
    .bind(provider_ref)
    .fetch_optional(conn)
    .await
}

pub async fn payment(
    conn: &mut PgConnection,
    id: PaymentId,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn lock(
    conn: &mut PgConnection,
    id: PaymentId,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Records the provider's answer.
pub struct Outcome<'a> {
    pub status: PaymentStatus,
    pub provider_ref: Option<&'a str>,
    pub action_url: Option<&'a str>,
    pub failure: Option<(&'a str, &'a str)>,
}

pub async fn set_outcome(
    conn: &mut PgConnection,
    id: PaymentId,
    o: &Outcome<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET status = $2, provider_ref = coalesce($3, provider_ref), action_url = $4, \
         failure_code = $5, failure_message = $6, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(o.status)
    .bind(o.provider_ref)
    .bind(o.action_url)
    .bind(o.failure.map(|f| f.0))
    .bind(o.failure.map(|f| f.1))
    .execute(conn)
    .await?;
    // Counted as written: a transaction rolled back after this is retried, rarely.
    let reason = o
        .failure
        .map_or_else(|| "none".to_owned(), |f| kernel::telemetry::code_label(f.0));
    metrics::counter!("payment_outcomes_total", "status" => o.status.as_str(), "reason" => reason)
        .increment(1);
    Ok(())
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: PaymentId,
    status: PaymentStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payments SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_captured(
    conn: &mut PgConnection,
    id: PaymentId,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET status = 'captured', captured_minor = $2, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(amount)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_splits(
    conn: &mut PgConnection,
    payment: PaymentId,
    splits: &[Split],
) -> Result<(), sqlx::Error> {
    for s in splits {
        sqlx::query(
            "INSERT INTO capture_splits (payment_id, store_id, gross_minor, platform_discount_minor, commission_minor) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(payment)
        .bind(s.store)
        .bind(s.gross)
        .bind(s.platform_discount)
        .bind(s.commission)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A store's part of a capture, locked, with what was refunded of it.
pub async fn lock_split(
    conn: &mut PgConnection,
    payment: PaymentId,
    store: StoreId,
) -> Result<Option<(Split, i64)>, sqlx::Error> {
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT gross_minor, platform_discount_minor, commission_minor, refunded_minor \
         FROM capture_splits WHERE payment_id = $1 AND store_id = $2 FOR UPDATE",
    )
    .bind(payment)
    .bind(store)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(gross, platform_discount, commission, refunded)| {
        (
            Split {
                store,
                gross,
                platform_discount,
                commission,
            },
            refunded,
        )
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: Uuid,
    pub payment_id: PaymentId,
    pub store_id: StoreId,
    pub reference: String,
    pub amount_minor: i64,
}

pub async fn refund_by_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, payment_id, store_id, reference, amount_minor FROM refunds WHERE reference = $1",
    )
    .bind(reference)
    .fetch_optional(conn)
    .await
}

pub async fn insert_refund(
    conn: &mut PgConnection,
    r: &RefundRow,
    provider_ref: &str,
    next: PaymentStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refunds (id, payment_id, store_id, reference, amount_minor, provider_ref) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.id)
    .bind(r.payment_id)
    .bind(r.store_id)
    .bind(&r.reference)
    .bind(r.amount_minor)
    .bind(provider_ref)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE capture_splits SET refunded_minor = refunded_minor + $3 WHERE payment_id = $1 AND store_id = $2",
    )
    .bind(r.payment_id)
    .bind(r.store_id)
    .bind(r.amount_minor)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE payments SET refunded_minor = refunded_minor + $2, status = $3, updated_at = now()
         WHERE id = $1",
    )
    .bind(r.payment_id)
    .bind(r.amount_minor)
    .bind(next)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes one balanced ledger transaction; `false` when `(kind, reference)` has one.
/// The database checks the balance at commit.
pub async fn post(
    conn: &mut PgConnection,
    kind: &str,
    reference: &str,
    currency: &str,
    entries: &[(String, i64)],
) -> Result<bool, sqlx::Error> {
    let id = Uuid::now_v7();
    let done = sqlx::query(
        "INSERT INTO ledger_transactions (id, kind, reference, currency) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, reference) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(reference)
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for (account, _) in entries {
        if let Some(store) = account.strip_prefix("store_payable:") {
            let store = Uuid::parse_str(store).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO ledger_accounts (code, kind, store_id) VALUES ($1, 'liability', $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(store)
            .execute(&mut *conn)
            .await?;
        }
    }
    let (accounts, amounts): (Vec<String>, Vec<i64>) = entries.iter().cloned().unzip();
    sqlx::query(
        "INSERT INTO ledger_entries (transaction_id, account, amount_minor) \
         SELECT $1, a, m FROM unnest($2::text[], $3::bigint[]) AS e (a, m)",
    )
    .bind(id)
    .bind(&accounts)
    .bind(&amounts)
    .execute(conn)
    .await?;
    Ok(true)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountBalance {
    pub account: String,
    pub currency: String,
    pub balance_minor: i64,
}

/// Every account's balance per currency (debits positive).
pub async fn balances(conn: &mut PgConnection) -> Result<Vec<AccountBalance>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.account, t.currency, sum(e.amount_minor)::bigint AS balance_minor \
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
         GROUP BY e.account, t.currency ORDER BY e.account, t.currency",
    )
    .fetch_all(conn)
    .await
}

/// What the platform owes a store, per currency (its payable's credit balance).
pub async fn store_balances(
    conn: &mut PgConnection,
    store: StoreId,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.currency, (-sum(e.amount_minor))::bigint FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE e.account = $1 GROUP BY t.currency ORDER BY t.currency",
    )
    .bind(crate::domain::store_account(store))
    .fetch_all(conn)
    .await
}

/// Every store owed money, per currency, with the store's payable rows locked against
/// a concurrent payout run (the advisory lock serialises runs).
pub async fn positive_store_balances(
    conn: &mut PgConnection,
) -> Result<Vec<(StoreId, String, i64)>, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('payments.payout_run'))")
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(
        "SELECT a.store_id, t.currency, (-sum(e.amount_minor))::bigint AS owed \
         FROM ledger_entries e JOIN ledger_accounts a ON a.code = e.account \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE a.store_id IS NOT NULL GROUP BY a.store_id, t.currency \
         HAVING -sum(e.amount_minor) > 0 ORDER BY a.store_id, t.currency",
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_run(
    conn: &mut PgConnection,
    id: Uuid,
    by: UserId,
    count: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO payout_runs (id, started_by, payout_count) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(by)
        .bind(count)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutRow {
    pub id: PayoutId,
    pub run_id: Uuid,
    pub store_id: StoreId,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: OffsetDateTime,
}

pub async fn insert_payout(conn: &mut PgConnection, p: &PayoutRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payouts (id, run_id, store_id, amount_minor, currency) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(p.id)
    .bind(p.run_id)
    .bind(p.store_id)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn payouts(
    conn: &mut PgConnection,
    store: Option<StoreId>,
) -> Result<Vec<PayoutRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, run_id, store_id, amount_minor, currency, created_at FROM payouts \
         WHERE $1::uuid IS NULL OR store_id = $1 ORDER BY created_at DESC LIMIT 200",
    )
    .bind(store)
    .fetch_all(conn)
    .await
}

/// `false` when the event was applied before.
pub async fn first_delivery(
    conn: &mut PgConnection,
    provider: &str,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO webhook_events (provider, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(provider)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
