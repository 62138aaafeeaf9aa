//! Payments' HTTP API: authorizations, captures, voids and refunds for the checkout saga
//! and order changes (`/internal/payments`, services only); webhooks from the provider;
//! store balances, payout runs and the ledger under `/api/v1/payments`; the simulator's
//! confirmation page under `/payments/simulator`.

mod authorization;
mod money_movement;
mod payouts;
mod simulator;
mod webhooks;

pub use authorization::*;
pub use money_movement::*;
pub use payouts::*;
use simulator::*;
pub use webhooks::*;

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
        id: p.id,
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
