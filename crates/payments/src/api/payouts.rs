//! What stores are owed, payout runs, and the ledger.

use super::*;

pub(super) fn payout_view(p: &PayoutRow) -> Result<PayoutView> {
    Ok(PayoutView {
        id: p.id,
        store_id: p.store_id,
        amount: Money {
            amount_minor: p.amount_minor,
            currency: currency(&p.currency)?,
        },
        created_at: p.created_at,
    })
}

/// A store's balance (derived from its ledger entries) and payouts (its members;
/// admins).
#[utoipa::path(get, path = "/api/v1/payments/stores/{store}/balance", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path)),
    responses((status = 200, body = BalanceView), (status = 403, body = Problem)))]
pub(super) async fn store_balance(
    axum::extract::State(st): State,
    AuthUser(claims): AuthUser,
    Path(store): Path<StoreId>,
) -> Result<Json<BalanceView>> {
    if !claims.manages_store(store) {
        return Err(Error::forbidden());
    }
    let mut conn = st.pool.acquire().await?;
    let mut balances = Vec::new();
    for (code, amount_minor) in store::store_balances(&mut conn, store).await? {
        let currency = currency(&code)?;
        balances.push(Money {
            amount_minor,
            currency,
        });
    }
    let payouts = store::payouts(&mut conn, Some(store))
        .await?
        .iter()
        .map(payout_view)
        .collect::<Result<_>>()?;
    Ok(Json(BalanceView { balances, payouts }))
}

/// Pay every store with a positive balance what it is owed, recorded in the ledger
/// (admins). Runs are serialised; a second run right after pays nothing.
#[utoipa::path(post, path = "/api/v1/payments/payout-runs", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 201, body = PayoutRunView), (status = 403, body = Problem)))]
pub(super) async fn payout_run(
    axum::extract::State(st): State,
    AdminUser(claims): AdminUser,
) -> Result<Response> {
    let by = claims.sub;
    let mut tx = st.pool.begin().await?;
    let owed = store::positive_store_balances(&mut tx).await?;
    let run = Uuid::now_v7();
    store::insert_run(
        &mut tx,
        run,
        by,
        i32::try_from(owed.len()).unwrap_or(i32::MAX),
    )
    .await?;
    let mut payouts = Vec::with_capacity(owed.len());
    for (store_id, currency, amount_minor) in owed {
        let row = PayoutRow {
            id: PayoutId::new(),
            run_id: run,
            store_id,
            amount_minor,
            currency: currency.clone(),
            created_at: OffsetDateTime::now_utc(),
        };
        store::insert_payout(&mut tx, &row).await?;
        store::post(
            &mut tx,
            "payout",
            &row.id.to_string(),
            &currency,
            &domain::payout_postings(store_id, amount_minor),
        )
        .await?;
        payouts.push(payout_view(&row)?);
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PayoutRunView { id: run, payouts }),
    )
        .into_response())
}

/// The latest payouts to every store (admins).
#[utoipa::path(get, path = "/api/v1/payments/payout-runs", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 200, body = PayoutList), (status = 403, body = Problem)))]
pub(super) async fn list_payouts(
    axum::extract::State(st): State,
    _admin: AdminUser,
) -> Result<Json<PayoutList>> {
    let rows = store::payouts(&mut *st.pool.acquire().await?, None).await?;
    Ok(Json(PayoutList {
        items: rows.iter().map(payout_view).collect::<Result<_>>()?,
    }))
}

/// Every ledger account's balance (admins).
#[utoipa::path(get, path = "/api/v1/payments/ledger", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 200, body = LedgerView), (status = 403, body = Problem)))]
pub(super) async fn ledger(
    axum::extract::State(st): State,
    _admin: AdminUser,
) -> Result<Json<LedgerView>> {
    let rows = store::balances(&mut *st.pool.acquire().await?).await?;
    let mut accounts = Vec::with_capacity(rows.len());
    let mut totals: Vec<Money> = Vec::new();
    for r in rows {
        let currency = currency(&r.currency)?;
        match totals.iter_mut().find(|t| t.currency == currency) {
            Some(t) => t.amount_minor += r.balance_minor,
            None => totals.push(Money {
                amount_minor: r.balance_minor,
                currency,
            }),
        }
        accounts.push(AccountView {
            account: r.account,
            balance: Money {
                amount_minor: r.balance_minor,
                currency,
            },
        });
    }
    Ok(Json(LedgerView { accounts, totals }))
}
