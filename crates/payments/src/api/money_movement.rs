//! Capture, void and refund: each through the state machine, each posted to the ledger.

use super::*;

/// Capture an authorized payment in full and record it in the ledger, split between
/// the stores and the platform's commission (services only; capturing twice changes
/// nothing).
#[utoipa::path(post, path = "/internal/payments/{payment}/capture", security(("service" = [])), tag = "internal",
    params(("payment" = String, Path)), request_body = CaptureRequest,
    responses((status = 200, body = PaymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn capture(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(id): Path<PaymentId>,
    Json(req): Json<CaptureRequest>,
) -> Result<Json<PaymentView>> {
    let mut splits = Vec::with_capacity(req.splits.len());
    for s in &req.splits {
        splits.push(Split {
            store: s.store_id,
            gross: s.gross_minor,
            platform_discount: s.platform_discount_minor,
            commission: s.commission_minor,
        });
    }
    // No connection is held while the provider is called: the simulator shares this pool.
    let mut conn = st.pool.acquire().await?;
    let p = store::payment(&mut conn, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    let from = p.status;
    if matches!(
        from,
        PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
    ) {
        return Ok(Json(view(&p)?));
    }
    from.apply(PaymentEvent::Capture)
        .ok_or(Error::IllegalTransition {
            from: from.as_str(),
        })?;
    let total: i64 = splits.iter().map(|s| s.gross).sum();
    let entries = domain::capture_postings(&splits)
        .filter(|_| total == p.amount_minor && !splits.is_empty())
        .ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "splits",
                "invalid",
                "the parts must add up to the payment and each commission fit its part",
            )])
        })?;
    let currency = currency(&p.currency)?;
    let provider_ref = p
        .provider_ref
        .clone()
        .ok_or(Error::IllegalTransition { from: "pending" })?;
    let money = Money {
        amount_minor: p.amount_minor,
        currency,
    };
    drop(conn);
    let key = format!("capture:{}", p.reference);
    with_retries(|| st.provider.capture(&provider_ref, money, &key))
        .await
        .map_err(Error::Provider)?;
    let mut tx = st.pool.begin().await?;
    let current = store::lock(&mut tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    if current.status != PaymentStatus::Authorized {
        // A concurrent capture recorded it first.
        return Ok(Json(view(&current)?));
    }
    store::set_captured(&mut tx, p.id, p.amount_minor).await?;
    store::insert_splits(&mut tx, p.id, &splits).await?;
    store::post(&mut tx, "capture", &p.id.to_string(), &p.currency, &entries).await?;
    let done = store::lock(&mut tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    tx.commit().await?;
    Ok(Json(view(&done)?))
}

/// Release an authorization that will not be captured (services only; voiding twice,
/// or a declined payment, changes nothing).
#[utoipa::path(post, path = "/internal/payments/{payment}/void", security(("service" = [])), tag = "internal",
    params(("payment" = String, Path)),
    responses((status = 200, body = PaymentView), (status = 409, body = Problem)))]
pub(super) async fn void(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(id): Path<PaymentId>,
) -> Result<Json<PaymentView>> {
    let mut conn = st.pool.acquire().await?;
    let p = store::payment(&mut conn, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    let from = p.status;
    if matches!(from, PaymentStatus::Voided | PaymentStatus::Declined) {
        return Ok(Json(view(&p)?));
    }
    let next = from
        .apply(PaymentEvent::Void)
        .ok_or(Error::IllegalTransition {
            from: from.as_str(),
        })?;
    drop(conn);
    if let Some(provider_ref) = &p.provider_ref {
        let key = format!("void:{}", p.reference);
        with_retries(|| st.provider.void(provider_ref, &key))
            .await
            .map_err(Error::Provider)?;
    }
    let mut tx = st.pool.begin().await?;
    let current = store::lock(&mut tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    if current.status.apply(PaymentEvent::Void).is_none() {
        return Ok(Json(view(&current)?));
    }
    store::set_status(&mut tx, p.id, next).await?;
    let done = store::lock(&mut tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    tx.commit().await?;
    Ok(Json(view(&done)?))
}

/// Refund part of a store's share of a captured payment; the ledger reverses the
/// capture in proportion (services only).
#[utoipa::path(post, path = "/internal/payments/{payment}/refunds", security(("service" = [])), tag = "internal",
    params(("payment" = String, Path)), request_body = RefundRequest,
    responses((status = 200, body = RefundView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn refund(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(id): Path<PaymentId>,
    Json(req): Json<RefundRequest>,
) -> Result<Json<RefundView>> {
    let store = req.store_id;
    let reference = kernel::validation::bounded_text(&req.reference, 1, 200)
        .map_err(|m| Problem::validation(vec![FieldError::new("reference", "invalid", m)]))?;
    // Checked before the provider is asked (no connection held meanwhile: the simulator
    // shares this pool) and again, under lock, before it is recorded.
    let mut tx = st.pool.begin().await?;
    let (p, split, _) = match refund_plan(&mut tx, id, store, &reference, req.amount_minor).await? {
        Err(done) => return Ok(Json(done)),
        Ok(plan) => plan,
    };
    drop(tx);
    let entries = domain::refund_postings(&split, req.amount_minor)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("refund postings refused")))?;
    let currency = currency(&p.currency)?;
    let provider_ref = p
        .provider_ref
        .clone()
        .ok_or(Error::IllegalTransition { from: "pending" })?;
    let money = Money {
        amount_minor: req.amount_minor,
        currency,
    };
    let provider_refund = with_retries(|| st.provider.refund(&provider_ref, money, &reference))
        .await
        .map_err(Error::Provider)?;
    let row = RefundRow {
        id: Uuid::now_v7(),
        payment_id: id,
        store_id: store,
        reference: reference.clone(),
        amount_minor: req.amount_minor,
    };
    let mut tx = st.pool.begin().await?;
    let next = match refund_plan(&mut tx, id, store, &reference, req.amount_minor).await? {
        Err(done) => return Ok(Json(done)),
        Ok((_, _, next)) => next,
    };
    store::insert_refund(&mut tx, &row, &provider_refund, next).await?;
    store::post(&mut tx, "refund", &reference, &p.currency, &entries).await?;
    let done = store::lock(&mut tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    tx.commit().await?;
    Ok(Json(RefundView {
        reference,
        amount_minor: req.amount_minor,
        payment: view(&done)?,
    }))
}

/// A refund that may go ahead (the payment and the store's part, locked, and the
/// payment's status after it), or the answer already given for this reference.
pub(super) async fn refund_plan(
    tx: &mut sqlx::PgConnection,
    id: PaymentId,
    store: StoreId,
    reference: &str,
    amount: i64,
) -> Result<std::result::Result<(PaymentRow, Split, PaymentStatus), RefundView>> {
    let p = store::lock(tx, id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    if let Some(done) = store::refund_by_reference(tx, reference).await? {
        return Ok(Err(RefundView {
            reference: reference.to_owned(),
            amount_minor: done.amount_minor,
            payment: view(&p)?,
        }));
    }
    let event = if p.refunded_minor + amount == p.captured_minor {
        PaymentEvent::RefundRest
    } else {
        PaymentEvent::RefundPart
    };
    let next = p.status.apply(event).ok_or(Error::IllegalTransition {
        from: p.status.as_str(),
    })?;
    let (split, refunded) = store::lock_split(tx, id, store)
        .await?
        .ok_or(Error::not_found("store's part"))?;
    if amount <= 0 || amount > split.gross - refunded {
        return Err(Problem::validation(vec![FieldError::new(
            "amount_minor",
            "refund_too_large",
            format!(
                "between 0.01 and what is left of the store's part ({} minor units)",
                split.gross - refunded
            ),
        )])
        .into());
    }
    Ok(Ok((p, split, next)))
}
