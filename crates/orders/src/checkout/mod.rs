//! The checkout saga: price → redeem promotion → reserve stock → authorize payment →
//! confirm (order written, stock committed) → capture. Each step is recorded in
//! `checkouts` before the next begins, and each call it makes is idempotent by the
//! checkout's reference, so whoever drives a checkout — the request that started it,
//! or the recovery worker after a crash — can repeat the last step safely.
//! Before authorization a failure compensates (void, release stock, give the code's
//! use back); after it the saga only goes forward.
//!
//! A customer has one checkout under way at a time (`started` until it completed or
//! failed): see [`Saga::checkout`].

mod completion;
mod pricing;
mod steps;

use contracts::shipping::MethodId;
use kernel::ids::{StoreId, UserId};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use contracts::cart::{CartClient, CartOf};
use contracts::catalog::CatalogClient;
use contracts::catalog::VariantId;
use contracts::inventory::InventoryClient;
use contracts::inventory::dto::{ReserveLine, ReserveRequest, ServiceReserveRequest};
use contracts::payments::PaymentId;
use contracts::payments::PaymentsClient;
use contracts::payments::dto::{AuthorizeRequest, CaptureRequest, SplitRequest};
use contracts::promotions::PromotionsClient;
use contracts::shipping::ShippingClient;
use contracts::tax::TaxClient;
use contracts::vendors::VendorsClient;
use kernel::http::client::{ClientError, ServiceClient};
use kernel::http::{FieldError, Problem};
use kernel::money::{Currency, Money};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Error;
use crate::domain::{
    self, Address, CheckoutId, OrderId, Plan, PlanLine, PlanStore, Step, SubOrderAction,
    SubOrderId, SubOrderStatus,
};
use crate::store::{self, CheckoutRow, LineRow, OrderRow, SubOrderRow};
use contracts::orders::events::{OrderPaid, SubOrderChanged};

/// How long stock is held for a checkout (a confirmation step must finish within it).
const RESERVATION_TTL_SECS: u64 = 900;

/// The services a checkout talks to.
#[derive(Clone)]
pub struct Upstream {
    pub cart: CartClient,
    pub catalog: CatalogClient,
    pub inventory: InventoryClient,
    pub shipping: ShippingClient,
    pub tax: TaxClient,
    pub promotions: PromotionsClient,
    pub payments: PaymentsClient,
    pub vendors: VendorsClient,
}

#[derive(Clone)]
pub struct Saga {
    pub pool: PgPool,
    pub up: Upstream,
    pub public_url: String,
    /// How long a driver owns a checkout before the worker may take it over.
    pub lease: Duration,
}

/// What the customer asked for, validated.
pub struct CheckoutInput {
    pub customer: UserId,
    pub token: String,
    pub email: String,
    pub key: String,
    pub address: Address,
    /// The shipping method chosen for each store.
    pub shipping: BTreeMap<StoreId, MethodId>,
    pub promotion_code: Option<String>,
    pub card_number: String,
    pub expected_total: Option<i64>,
}

fn upstream(e: ClientError) -> Error {
    Error::Upstream(Problem::from(e))
}

fn field(name: &str, code: &str, message: impl Into<String>) -> Error {
    Error::problem(Problem::validation(vec![FieldError::new(
        name, code, message,
    )]))
}

/// What a checkout past `started` decided.
fn plan_of(row: &CheckoutRow) -> Result<&Plan, Error> {
    row.plan.as_ref().map(|p| &p.0).ok_or_else(|| {
        Error::internal(anyhow::anyhow!(
            "checkout {} has no plan at step {}",
            row.id,
            row.step
        ))
    })
}

fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(constraint))
}

/// The 409 for a second checkout while one of the customer's is under way.
fn in_progress(holder: Option<CheckoutId>) -> Error {
    let problem = Problem::new(
        axum::http::StatusCode::CONFLICT,
        "checkout_in_progress",
        "Another checkout of your cart is under way; wait for it to finish.",
    );
    Error::problem(match holder {
        Some(id) => problem.detail(format!(
            "Checkout {} is under way: GET /api/v1/orders/checkouts/{} says how it ends.",
            id, id
        )),
        None => problem,
    })
}

impl Saga {
    fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(30).max(1)
    }

    /// Starts (or, for a key seen before, resumes) a checkout and drives it as far as
    /// it goes now.
    ///
    /// One cart, one checkout: a new checkout first takes the customer's one checkout
    /// slot (a `started` row; the unique index `checkouts_one_in_flight` refuses a
    /// second one under way, whatever its key, as a 409 `checkout_in_progress`) and only
    /// then reads and prices the cart. A checkout gives the slot up only once it
    /// completed — what it bought already taken out of the cart — or failed with the
    /// cart untouched, so the next checkout never buys the same cart content again.
    pub async fn checkout(&self, input: &CheckoutInput) -> Result<CheckoutRow, Error> {
        let (row, fresh) = {
            let mut conn = self.pool.acquire().await?;
            match store::checkout_by_key(&mut conn, input.customer, &input.key).await? {
                Some(row) => (row, false),
                None => {
                    let id = CheckoutId::new();
                    match store::start_checkout(
                        &mut conn,
                        id,
                        input.customer,
                        &input.key,
                        self.lease_secs(),
                    )
                    .await
                    {
                        // Another request with this key may have started it meanwhile.
                        Ok(row) => {
                            let fresh = row.id == id;
                            (row, fresh)
                        }
                        Err(e) if violates(&e, store::ONE_IN_FLIGHT) => {
                            let holder =
                                store::checkout_in_flight(&mut conn, input.customer).await?;
                            return Err(in_progress(holder));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        };
        let row = if fresh {
            self.plan_started(row.id, input).await?
        } else {
            row
        };
        self.drive(row.id, Some(&input.card_number)).await
    }

    /// Prices the cart for a checkout that has just taken the slot. A refusal forgets
    /// the checkout (nothing was held), freeing the slot for the next attempt.
    async fn plan_started(
        &self,
        id: CheckoutId,
        input: &CheckoutInput,
    ) -> Result<CheckoutRow, Error> {
        let plan = match self.price(input).await {
            Ok(plan) => plan,
            Err(e) => {
                // Should this fail too, the recovery worker ends the checkout once its
                // lease runs out.
                let dropped = match self.pool.acquire().await {
                    Ok(mut conn) => store::drop_started(&mut conn, id).await,
                    Err(d) => Err(d),
                };
                if let Err(d) = dropped {
                    tracing::warn!(error = %d, checkout = %id, "could not forget an unpriced checkout");
                }
                return Err(e);
            }
        };
        let mut conn = self.pool.acquire().await?;
        match store::set_plan(&mut conn, id, &plan, self.lease_secs()).await? {
            Some(row) => Ok(row),
            // The worker gave it up meanwhile (pricing outlasted the lease).
            None => store::checkout(&mut conn, id)
                .await?
                .ok_or(Error::not_found("checkout")),
        }
    }

    /// Runs a checkout's remaining steps. Without the card (the recovery worker), a
    /// checkout that never reached the provider is compensated.
    pub async fn drive(&self, id: CheckoutId, card: Option<&str>) -> Result<CheckoutRow, Error> {
        // Whether this call moved the checkout, so it counts the ending it brought.
        let mut moved_any = false;
        loop {
            let mut conn = self.pool.acquire().await?;
            let row = store::checkout(&mut conn, id)
                .await?
                .ok_or(Error::not_found("checkout"))?;
            drop(conn);
            let step = row.step;
            if step.is_final() {
                if moved_any {
                    crate::telemetry::checkout_ended(step, row.failure_code.as_deref());
                }
                return Ok(row);
            }
            let started = std::time::Instant::now();
            if row.failure_code.is_some() && !step.is_past_authorization() {
                self.compensate(&row).await?;
                crate::telemetry::step_took("compensate", started.elapsed());
                moved_any = true;
                continue;
            }
            // The worker cannot pay for a checkout the gateway never saw (it has no
            // card): one interrupted before reserving gives up rather than hold stock.
            if card.is_none() && matches!(step, Step::Priced | Step::Redeemed) {
                self.interrupted(&row).await?;
                continue;
            }
            let moved = match step {
                Step::Started => {
                    // Its request is still pricing the cart. Only the worker, once that
                    // request's lease ran out, ends it: nothing was held yet.
                    if card.is_some() {
                        return Ok(row);
                    }
                    let mut conn = self.pool.acquire().await?;
                    store::abandon_started(
                        &mut conn,
                        id,
                        "interrupted",
                        "The checkout was interrupted; nothing was charged.",
                    )
                    .await?
                }
                Step::Priced => self.redeem(&row).await?,
                Step::Redeemed => self.reserve(&row).await?,
                Step::Reserved => self.authorize(&row, card).await?,
                Step::AwaitingAction => {
                    if !self.await_action(&row).await? {
                        let mut conn = self.pool.acquire().await?;
                        // Look again after a while, in case the webhook never comes.
                        store::release_lease(&mut conn, id, 60).await?;
                        return store::checkout(&mut conn, id)
                            .await?
                            .ok_or(Error::not_found("checkout"));
                    }
                    true
                }
                Step::Authorized => self.confirm(&row).await?,
                Step::Confirmed => self.capture(&row).await?,
                Step::Completed | Step::Failed => true,
            };
            if moved {
                crate::telemetry::step_took(crate::telemetry::action_from(step), started.elapsed());
                moved_any = true;
            } else {
                // Another driver moved it first; read where it is now.
                tokio::task::yield_now().await;
            }
        }
    }

    async fn fail(&self, row: &CheckoutRow, code: &str, message: &str) -> Result<bool, Error> {
        let mut conn = self.pool.acquire().await?;
        store::mark_failing(&mut conn, row.id, code, message).await?;
        Ok(true)
    }

    /// A checkout the worker cannot pay for (no card): it fails and compensates.
    async fn interrupted(&self, row: &CheckoutRow) -> Result<bool, Error> {
        self.fail(
            row,
            "interrupted",
            "The checkout was interrupted; nothing was charged.",
        )
        .await
    }

    fn reference(row: &CheckoutRow) -> String {
        row.id.to_string()
    }

    /// What the checkout's reservation at one store is made under: a retried reserve
    /// gets the first answer, and compensation finds one whose answer was lost.
    fn reservation_reference(row: &CheckoutRow, store_key: &str) -> String {
        format!("{}:{store_key}", Self::reference(row))
    }

    /// The recovery worker: every second, takes unfinished checkouts whose driver
    /// vanished (crash, lost webhook) and finishes or compensates them.
    ///
    /// `hosted` are the clients of the services it calls that run in this process: it
    /// starts only once the platform has mounted them (until then they answer "not
    /// started yet", which is no failure to report).
    pub async fn run_recovery(
        self,
        hosted: Vec<ServiceClient>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tokio::select! {
            () = wait_until_mounted(&hosted) => {}
            _ = shutdown.changed() => return,
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let due = match self.pool.acquire().await {
                Ok(mut conn) => store::claim_due(&mut conn, self.lease_secs(), 20).await,
                Err(e) => Err(e),
            };
            match due {
                Ok(ids) => {
                    for id in ids {
                        if let Err(e) = self.drive(id, None).await {
                            tracing::warn!(error = %e, checkout = %id, "recovery could not finish a checkout yet");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "recovery worker could not read checkouts"),
            }
            // Rounds finished: what tells a watcher (or a test) a round is over.
            metrics::counter!("checkout_recovery_rounds_total").increment(1);
        }
    }
}

/// Waits until every client in `hosted` reaches its service: an in-process service
/// answers only once the platform has mounted it. Any answer will do (a path no route
/// matches is the router's 404), so the probe changes nothing.
async fn wait_until_mounted(hosted: &[ServiceClient]) {
    for client in hosted {
        loop {
            let Ok(probe) = axum::http::Request::get("/").body(axum::body::Body::empty()) else {
                return;
            };
            match client.send(probe).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "checkout recovery waits for the services it calls");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// A planned line as promotions weighs it.
fn promotion_line(
    store_id: StoreId,
    l: &PlanLine,
    amount: Money,
) -> contracts::promotions::dto::CartLine {
    contracts::promotions::dto::CartLine {
        store_id,
        product_id: contracts::catalog::ProductId(l.product_id),
        category_path: l
            .category_path
            .iter()
            .copied()
            .map(contracts::catalog::CategoryId)
            .collect(),
        amount,
    }
}
