//! Payments' HTTP API: authorizations, captures, voids and refunds for the checkout saga
//! and order changes (`/internal/payments`, services only); webhooks from the provider;
//! store balances, payout runs and the ledger under `/api/v1/payments`; the simulator's
//! confirmation page under `/payments/simulator`.

use kernel::http::access::{Access, Pages};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kernel::auth::{AdminUser, AuthUser, ServiceCaller};
use kernel::http::Path;
use kernel::http::client::ServiceClient;
use kernel::http::{Failure, FieldError, Json, Problem};
use kernel::money::{Currency, Money};
use serde::Deserialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use contracts::payments::dto::*;

use crate::Error;
use crate::domain::{self, PaymentEvent, PaymentId, PaymentStatus, PayoutId, Split};
use crate::provider::{
    self, Authorization, IntentState, PaymentProvider, ProviderError, Simulator,
};
use crate::store::{self, Outcome, PaymentRow, PayoutRow, RefundRow};
use contracts::payments::events::{PaymentAuthorized, PaymentDeclined};
use kernel::ids::StoreId;

const TAG: &str = "payments";
/// Attempts at a provider call that fails transiently.
const PROVIDER_ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub provider: Arc<dyn PaymentProvider>,
    /// Present when the simulator is the provider (its confirmation page).
    pub simulator: Option<Arc<Simulator>>,
    /// Payments itself, to deliver the simulator's webhooks the way a gateway would.
    pub own: ServiceClient,
    pub public_url: String,
}

type State = axum::extract::State<AppState>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::<AppState>::new()
        .routes(routes!(authorize))
        .routes(routes!(by_reference))
        .routes(routes!(capture))
        .routes(routes!(void))
        .routes(routes!(refund))
        .routes(routes!(webhook))
        .routes(routes!(store_balance))
        .routes(routes!(payout_run, list_payouts))
        .routes(routes!(ledger))
        .with_state(state)
}

/// The simulator's confirmation step, where a customer's browser is sent (anyone holding
/// the payment's id, as with a real gateway's hosted page).
pub fn pages(state: AppState) -> Pages {
    Pages::new(None)
        .get(
            "/payments/simulator/confirm/{payment}",
            Access::Anyone,
            simulator_page,
        )
        .post(
            "/payments/simulator/confirm/{payment}",
            Access::Anyone,
            simulator_answer,
        )
        .with_state(state)
}

/// Calls the provider, retrying transient failures with a short backoff.
async fn with_retries<T, F, Fut>(mut call: F) -> std::result::Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, ProviderError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(ProviderError::Transient(reason)) if attempt < PROVIDER_ATTEMPTS => {
                tracing::warn!(%reason, attempt, "payment provider failed transiently; retrying");
                tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
            }
            other => return other,
        }
    }
}

/// A currency code as stored (written from a parsed `Currency`, so a failure is ours).
fn currency(code: &str) -> Result<Currency> {
    Currency::parse(code).map_err(|e| Error::internal(anyhow::anyhow!(e)))
}

fn view(p: &PaymentRow) -> Result<PaymentView> {
    let currency = currency(&p.currency)?;
    let money = |amount_minor| Money {
        amount_minor,
        currency,
    };
    Ok(PaymentView {
        id: PaymentId(p.id),
        reference: p.reference.clone(),
        amount: money(p.amount_minor),
        status: p.status.to_string(),
        card_last4: p.card_last4.clone(),
        action_url: p.action_url.clone(),
        failure_code: p.failure_code.clone(),
        failure_message: p.failure_message.clone(),
        captured: money(p.captured_minor),
        refunded: money(p.refunded_minor),
    })
}

/// Authorize a payment for a checkout (services only). Declines are answers, not
/// errors: `status` is `declined` with a code and a message for the customer.
#[utoipa::path(post, path = "/internal/payments/authorizations", security(("service" = [])), tag = "internal",
    request_body = AuthorizeRequest,
    responses((status = 200, body = PaymentView), (status = 422, body = Problem),
              (status = 503, body = Problem, description = "payment_provider_unavailable: try again")))]
async fn authorize(
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
    let customer = errs.check(
        "customer",
        "invalid",
        kernel::ids::parse_prefixed(&req.customer, "usr"),
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
    let (reference, customer, card) = errs.finish_with((reference, customer, card))?;
    let mut conn = st.pool.acquire().await?;
    let row = PaymentRow {
        id: Uuid::now_v7(),
        reference: reference.clone(),
        customer,
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
            p.customer == customer
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
async fn by_reference(
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
async fn apply_intent_state(
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
                payment_id: PaymentId(p.id),
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
                payment_id: PaymentId(p.id),
                reference: p.reference.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Capture an authorized payment in full and record it in the ledger, split between
/// the stores and the platform's commission (services only; capturing twice changes
/// nothing).
#[utoipa::path(post, path = "/internal/payments/{payment}/capture", security(("service" = [])), tag = "internal",
    params(("payment" = String, Path)), request_body = CaptureRequest,
    responses((status = 200, body = PaymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn capture(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(PaymentId(id)): Path<PaymentId>,
    Json(req): Json<CaptureRequest>,
) -> Result<Json<PaymentView>> {
    let mut splits = Vec::with_capacity(req.splits.len());
    for s in &req.splits {
        splits.push(Split {
            store: s.store_id.0,
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
    store::post(
        &mut tx,
        "capture",
        &PaymentId(p.id).to_string(),
        &p.currency,
        &entries,
    )
    .await?;
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
async fn void(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(PaymentId(id)): Path<PaymentId>,
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
async fn refund(
    axum::extract::State(st): State,
    _caller: ServiceCaller,
    Path(PaymentId(id)): Path<PaymentId>,
    Json(req): Json<RefundRequest>,
) -> Result<Json<RefundView>> {
    let store = req.store_id.0;
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
async fn refund_plan(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    store: Uuid,
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

/// The provider's webhooks: signature checked (HMAC-SHA256 over timestamp and body,
/// five-minute replay window), each event applied once. A bad signature is a 400 and
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/{provider}", security(()), tag = TAG,
    params(("provider" = String, Path, description = "simulator or stripe")),
    request_body(content = String, content_type = "application/json", description = "The provider's event, signed"),
    responses((status = 200), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn webhook(
    axum::extract::State(st): State,
    Path(provider_name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode> {
    if provider_name != st.provider.name() {
        return Err(Error::not_found("webhook"));
    }
    let header_name = if provider_name == "stripe" {
        "stripe-signature"
    } else {
        "emporium-signature"
    };
    let signature = headers
        .get(header_name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let event = st
        .provider
        .verify_webhook(signature, &body, now)
        .map_err(|reason| {
            tracing::warn!(%reason, provider = %provider_name, "webhook refused");
            Error::BadWebhook(reason)
        })?;
    // The delivery is recorded with its effect: a failure leaves neither, and the
    // provider's redelivery applies it.
    let mut tx = st.pool.begin().await?;
    if !store::first_delivery(&mut tx, &provider_name, &event.event_id).await? {
        return Ok(StatusCode::OK);
    }
    match apply_intent_state(&mut tx, &event.provider_ref, event.state).await {
        // A payment we do not know (another environment's): acknowledged, nothing to do.
        Ok(()) | Err(Error::Failure(Failure::NotFound(_))) => {
            tx.commit().await?;
            Ok(StatusCode::OK)
        }
        Err(e) => Err(e),
    }
}

fn payout_view(p: &PayoutRow) -> Result<PayoutView> {
    Ok(PayoutView {
        id: PayoutId(p.id),
        store_id: StoreId(p.store_id),
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
async fn store_balance(
    axum::extract::State(st): State,
    AuthUser(claims): AuthUser,
    Path(StoreId(store)): Path<StoreId>,
) -> Result<Json<BalanceView>> {
    if !claims.manages_store(StoreId(store)) {
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
async fn payout_run(
    axum::extract::State(st): State,
    AdminUser(claims): AdminUser,
) -> Result<Response> {
    let by = claims.sub.0;
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
            id: Uuid::now_v7(),
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
            &PayoutId(row.id).to_string(),
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
async fn list_payouts(
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
async fn ledger(axum::extract::State(st): State, _admin: AdminUser) -> Result<Json<LedgerView>> {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The simulator's stand-in for a bank's confirmation page (3-D Secure).
async fn simulator_page(axum::extract::State(st): State, Path(payment): Path<String>) -> Response {
    let Some(sim) = &st.simulator else {
        return Problem::not_found("payment").into_response();
    };
    let body = match sim.pending_action(&payment).await {
        Ok(Some(amount)) => format!(
            "<h1>Confirm your payment</h1><p>Your bank asks you to confirm a payment of <strong>{}</strong>.</p>\
             <p>This is the Emporium payment simulator: no real bank is involved.</p>\
             <form method=\"post\"><button name=\"outcome\" value=\"confirm\" id=\"confirm\">Confirm payment</button> \
             <button name=\"outcome\" value=\"fail\" id=\"fail\">Fail authentication</button></form>",
            escape(&amount.display())
        ),
        Ok(None) => {
            "<h1>Nothing to confirm</h1><p>This payment needs no confirmation.</p>".to_owned()
        }
        Err(_) => return Problem::not_found("payment").into_response(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Confirm your payment</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:system-ui;max-width:32rem;margin:3rem auto\">{body}</body></html>"
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct SimulatorAnswer {
    outcome: String,
}

async fn simulator_answer(
    axum::extract::State(st): State,
    Path(payment): Path<String>,
    axum::Form(form): axum::Form<SimulatorAnswer>,
) -> Response {
    let Some(sim) = &st.simulator else {
        return Problem::not_found("payment").into_response();
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (body, signature, return_url) = match sim
        .complete_action(&payment, form.outcome == "confirm", now)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            return Problem::new(StatusCode::CONFLICT, "nothing_to_confirm", e.to_string())
                .into_response();
        }
    };
    // Delivered as a gateway would: a signed POST to our webhook endpoint. Should it be
    // lost, the checkout's recovery worker asks the provider instead.
    let delivered = st
        .own
        .post("/api/v1/payments/webhooks/simulator")
        .header(
            axum::http::HeaderName::from_static("emporium-signature"),
            &signature,
        )
        .body("application/json", body)
        .send_empty()
        .await;
    if let Err(e) = delivered {
        tracing::warn!(error = %e, "simulator webhook delivery failed");
    }
    match return_url {
        Some(url) if url.starts_with(&st.public_url) => Redirect::to(&url).into_response(),
        _ => Html("<p>Done. You may close this page.</p>").into_response(),
    }
}
