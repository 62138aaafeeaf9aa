//! Authorizing a payment, and reading one back by its reference (asking the provider again when the customer was sent to confirm).

use super::*;

/// Authorize a payment for a checkout (services only). Declines are answers, not
/// errors: `status` is `declined` with a code and a message for the customer.
#[utoipa::path(post, path = "/internal/payments/authorizations", security(("service" = [])), tag = "internal",
    request_body = AuthorizeRequest,
    responses((status = 200, body = PaymentView), (status = 422, body = Problem),
              (status = 503, body = Problem, description = "payment_provider_unavailable: try again")))]
pub(super) async fn authorize(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Json(req): Json<AuthorizeRequest>,
) -> Result<Json<PaymentView>> {
    let mut errs = kernel::validation::FieldErrors::new();
    let reference = errs.check(
        "reference",
        "invalid",
        kernel::validation::bounded_text(&req.reference, 1, 200),
    );
    let card = errs.check(
        "card_number",
        "invalid_card_number",
        domain::parse_payment_source(&req.card_number),
    );
    if !(1..=kernel::money::MAX_PRICE_MINOR).contains(&req.amount.amount_minor) {
        errs.add("amount", "invalid", "must be positive");
    }
    if !req.return_url.starts_with(&st.public_url) {
        errs.add("return_url", "invalid", "must be under the public URL");
    }
    let (reference, card) = errs.finish_with((reference, card))?;
    let mut conn = st.pool.acquire().await?;
    let row = PaymentRow {
        id: PaymentId::new(),
        reference: reference.clone(),
        customer: req.customer,
        amount_minor: req.amount.amount_minor,
        currency: req.amount.currency.code().to_owned(),
        provider: st.provider.name().to_owned(),
        provider_ref: None,
        status: PaymentStatus::Pending,
        // A card's last four digits; a payment method id says nothing worth keeping.
        card_last4: (!card.starts_with("pm_")).then(|| card[card.len() - 4..].to_owned()),
        action_url: None,
        failure_code: None,
        failure_message: None,
        captured_minor: 0,
        refunded_minor: 0,
    };
    store::insert_payment(&mut conn, &row).await?;
    let existing = store::by_reference(&mut conn, &reference)
        .await?
        .filter(|p| {
            p.customer == row.customer
                && p.amount_minor == row.amount_minor
                && p.currency == row.currency
        })
        .ok_or(Error::ReferenceReused)?;
    if existing.status != PaymentStatus::Pending {
        return Ok(Json(view(&existing)?));
    }
    drop(conn);
    // Pending: first attempt, or an earlier one that never recorded its answer. The
    // provider's idempotency key makes asking again safe.
    let ask = provider::Authorize {
        idempotency_key: reference.clone(),
        amount: req.amount,
        card_number: card,
        return_url: req.return_url.clone(),
    };
    let answer = with_retries(|| st.provider.authorize(&ask))
        .await
        .map_err(Error::Provider)?;
    let mut tx = st.pool.begin().await?;
    let current = store::lock(&mut tx, existing.id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    if current.status == PaymentStatus::Pending {
        let (event, provider_ref, action_url, failure) = match &answer {
            Authorization::Authorized { provider_ref } => {
                (PaymentEvent::Authorize, provider_ref, None, None)
            }
            Authorization::RequiresAction { provider_ref, url } => (
                PaymentEvent::ActionRequired,
                provider_ref,
                Some(url.as_str()),
                None,
            ),
            Authorization::Declined {
                provider_ref,
                code,
                message,
            } => (
                PaymentEvent::Decline,
                provider_ref,
                None,
                Some((code.as_str(), message.as_str())),
            ),
        };
        let status = current
            .status
            .apply(event)
            .ok_or(Error::IllegalTransition {
                from: current.status.as_str(),
            })?;
        store::set_outcome(
            &mut tx,
            current.id,
            &Outcome {
                status,
                provider_ref: Some(provider_ref),
                action_url,
                failure,
            },
        )
        .await?;
    }
    let done = store::lock(&mut tx, existing.id)
        .await?
        .ok_or(Error::not_found("payment"))?;
    tx.commit().await?;
    Ok(Json(view(&done)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefreshParams {
    /// Ask the provider where a payment awaiting confirmation stands (a webhook may
    /// have been lost).
    #[serde(default)]
    pub refresh: bool,
}

/// A checkout's payment (services only).
#[utoipa::path(get, path = "/internal/payments/by-reference/{reference}", security(("service" = [])), tag = "internal",
    params(("reference" = String, Path), RefreshParams),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem)))]
pub(super) async fn by_reference(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(reference): Path<String>,
    kernel::http::Query(params): kernel::http::Query<RefreshParams>,
) -> Result<Json<PaymentView>> {
    let mut conn = st.pool.acquire().await?;
    let p = store::by_reference(&mut conn, &reference)
        .await?
        .ok_or(Error::not_found("payment"))?;
    if params.refresh
        && p.status == PaymentStatus::RequiresAction
        && let Some(provider_ref) = &p.provider_ref
    {
        let state = with_retries(|| st.provider.state(provider_ref))
            .await
            .map_err(Error::Provider)?;
        drop(conn);
        let mut tx = st.pool.begin().await?;
        apply_intent_state(&mut tx, provider_ref, state).await?;
        tx.commit().await?;
        let mut conn = st.pool.acquire().await?;
        let p = store::by_reference(&mut conn, &reference)
            .await?
            .ok_or(Error::not_found("payment"))?;
        return Ok(Json(view(&p)?));
    }
    Ok(Json(view(&p)?))
}

/// Moves a payment awaiting confirmation to what the provider says, publishing the
/// outcome for the checkout waiting on it. Other states change nothing.
/// Runs in the caller's transaction, so a webhook's delivery row commits with its effect.
pub(super) async fn apply_intent_state(
    tx: &mut sqlx::PgConnection,
    provider_ref: &str,
    state: IntentState,
) -> Result<()> {
    let Some(p) = store::by_provider_ref(tx, provider_ref).await? else {
        return Err(Error::not_found("payment"));
    };
    let from = p.status;
    let event = match state {
        IntentState::Authorized => PaymentEvent::Authorize,
        IntentState::Declined | IntentState::Canceled => PaymentEvent::Decline,
        IntentState::RequiresAction | IntentState::Captured => return Ok(()),
    };
    if from != PaymentStatus::RequiresAction {
        return Ok(());
    }
    let Some(next) = from.apply(event) else {
        return Ok(());
    };
    if next == PaymentStatus::Declined {
        let code = "authentication_failed";
        store::set_outcome(
            tx,
            p.id,
            &Outcome {
                status: next,
                provider_ref: None,
                action_url: None,
                failure: Some((code, "Your bank did not confirm the payment.")),
            },
        )
        .await?;
        kernel::events::outbox::record(
            tx,
            &PaymentDeclined {
                payment_id: p.id,
                reference: p.reference.clone(),
                code: code.into(),
            },
        )
        .await?;
    } else {
        store::set_status(tx, p.id, next).await?;
        kernel::events::outbox::record(
            tx,
            &PaymentAuthorized {
                payment_id: p.id,
                reference: p.reference.clone(),
            },
        )
        .await?;
    }
    Ok(())
}
