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

use contracts::shipping::MethodId;
use kernel::ids::StoreId;
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
use crate::domain::{self, Address, CheckoutId, Plan, PlanLine, PlanStore, Step, SubOrderStatus};
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
    pub customer: Uuid,
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
            CheckoutId(row.id),
            row.step
        ))
    })
}

fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(constraint))
}

/// The 409 for a second checkout while one of the customer's is under way.
fn in_progress(holder: Option<Uuid>) -> Error {
    let problem = Problem::new(
        axum::http::StatusCode::CONFLICT,
        "checkout_in_progress",
        "Another checkout of your cart is under way; wait for it to finish.",
    );
    Error::problem(match holder {
        Some(id) => problem.detail(format!(
            "Checkout {} is under way: GET /api/v1/orders/checkouts/{} says how it ends.",
            CheckoutId(id),
            CheckoutId(id)
        )),
        None => problem,
    })
}

impl Saga {
    fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(30).max(1)
    }

    /// Prices the customer's cart as the plan of a new checkout.
    pub async fn price(&self, input: &CheckoutInput) -> Result<Plan, Error> {
        let cart = self
            .up
            .cart
            .view(CartOf::Customer(&input.token))
            .await
            .map_err(upstream)?;
        if cart.lines.is_empty() {
            return Err(Error::Refused {
                code: "cart_empty",
                message: "Your cart is empty.".into(),
            });
        }
        // Stock is not judged here: the reservation decides, so a sold-out line is a
        // clear `out_of_stock` whatever the cart last showed.
        let ids: Vec<VariantId> = cart.lines.iter().map(|l| l.variant_id).collect();
        let variants = self
            .up
            .catalog
            .sale_variants(&ids)
            .await
            .map_err(upstream)?;
        let by_id: HashMap<VariantId, _> = variants
            .items
            .into_iter()
            .map(|v| (v.variant_id, v))
            .collect();
        let mut currency = None;
        let mut stores: BTreeMap<StoreId, PlanStore> = BTreeMap::new();
        let mut weights: HashMap<StoreId, i64> = HashMap::new();
        for line in &cart.lines {
            let v = by_id
                .get(&line.variant_id)
                .filter(|v| v.for_sale)
                .ok_or_else(|| Error::Refused {
                    code: "cart_changed",
                    message: format!(
                        "{} is no longer for sale; please review your cart.",
                        line.title
                    ),
                })?;
            if *currency.get_or_insert(v.price.currency) != v.price.currency {
                return Err(Error::Refused {
                    code: "mixed_currencies",
                    message: "Items priced in different currencies cannot be bought together."
                        .into(),
                });
            }
            let entry = stores.entry(v.store_id).or_insert_with(|| PlanStore {
                store_id: v.store_id.0,
                store_name: v.store_name.clone(),
                shipping_method: String::new(),
                shipping_method_id: String::new(),
                shipping: 0,
                commission_bps: 0,
                lines: Vec::new(),
            });
            *weights.entry(v.store_id).or_default() +=
                i64::from(v.weight_grams.unwrap_or(0)) * i64::from(line.quantity);
            entry.lines.push(PlanLine {
                variant_id: v.variant_id.0,
                product_id: v.product_id.0,
                title: v.title.clone(),
                sku: v.sku.clone(),
                options: v.options.clone(),
                category_path: v.category_path.iter().map(|c| c.0).collect(),
                quantity: line.quantity,
                unit_price: v.price.amount_minor,
                discount: 0,
                tax: 0,
            });
        }
        let currency =
            currency.ok_or_else(|| Error::internal(anyhow::anyhow!("a cart without lines")))?;
        let money = |amount_minor| Money {
            amount_minor,
            currency,
        };
        // Shipping: the method the customer picked for each store, as quoted now.
        for key in input.shipping.keys() {
            if !stores.contains_key(key) {
                return Err(field(
                    &format!("shipping.{key}"),
                    "unknown_store",
                    "nothing in your cart comes from this store",
                ));
            }
        }
        let quote = self
            .up
            .shipping
            .quote(&contracts::shipping::dto::QuoteRequest {
                country: input.address.country.clone(),
                parcels: stores
                    .iter()
                    .map(|(id, s)| contracts::shipping::dto::Parcel {
                        store_id: *id,
                        subtotal: money(s.lines.iter().map(PlanLine::amount).sum()),
                        weight_grams: weights.get(id).copied().unwrap_or(0),
                    })
                    .collect(),
            })
            .await
            .map_err(upstream)?;
        for (parcel, (id, s)) in quote.parcels.iter().zip(stores.iter_mut()) {
            let Some(chosen) = input.shipping.get(id) else {
                return Err(field(
                    &format!("shipping.{id}"),
                    "required",
                    format!("choose how {} ships to you", s.store_name),
                ));
            };
            let option = parcel
                .options
                .iter()
                .find(|o| o.method_id == *chosen)
                .ok_or_else(|| {
                    field(
                        &format!("shipping.{id}"),
                        "not_offered",
                        format!(
                            "{} does not offer this shipping method to {}",
                            s.store_name, input.address.country
                        ),
                    )
                })?;
            s.shipping_method = option.name.clone();
            s.shipping_method_id = chosen.to_string();
            s.shipping = option.price.amount_minor;
        }
        // The promotion, split over the lines it applies to.
        let mut platform_funded = false;
        let mut promotion_code = None;
        let mut conn = self.pool.acquire().await?;
        let first_order = !store::has_paid_order(&mut conn, input.customer).await?;
        drop(conn);
        if let Some(code) = &input.promotion_code {
            let lines: Vec<contracts::promotions::dto::CartLine> = stores
                .iter()
                .flat_map(|(id, s)| {
                    s.lines
                        .iter()
                        .map(|l| promotion_line(*id, l, money(l.amount())))
                })
                .collect();
            let discount = self
                .up
                .promotions
                .evaluate(&contracts::promotions::dto::EvaluateRequest {
                    code: code.clone(),
                    lines,
                    first_order,
                })
                .await
                .map_err(|e| match e {
                    ClientError::Problem(p) if p.status == 404 => {
                        field("promotion_code", "unknown_code", "no such code")
                    }
                    ClientError::Problem(p) if p.status == 422 => Error::problem(Problem {
                        errors: p
                            .errors
                            .into_iter()
                            .map(|mut f| {
                                f.field = "promotion_code".into();
                                f
                            })
                            .collect(),
                        ..p
                    }),
                    other => upstream(other),
                })?;
            let mut parts = discount.per_line.iter();
            for (id, s) in stores.iter_mut() {
                for l in &mut s.lines {
                    l.discount = parts.next().map_or(0, |m| m.amount_minor);
                }
                if discount.free_shipping.contains(id) {
                    s.shipping = 0;
                }
            }
            platform_funded = discount.funded_by == "platform";
            promotion_code = Some(discount.code);
        }
        // Tax per line on what the line costs after its discount.
        let taxed = self
            .up
            .tax
            .quote(&contracts::tax::dto::QuoteRequest {
                country: input.address.country.clone(),
                region: input.address.region.clone(),
                lines: stores
                    .values()
                    .flat_map(|s| s.lines.iter().map(|l| money(l.amount() - l.discount)))
                    .collect(),
            })
            .await
            .map_err(upstream)?;
        let mut taxes = taxed.lines.iter();
        for s in stores.values_mut() {
            for l in &mut s.lines {
                l.tax = taxes.next().map_or(0, |t| t.tax.amount_minor);
            }
        }
        for (id, s) in stores.iter_mut() {
            s.commission_bps = self
                .up
                .vendors
                .commission(&id.to_string())
                .await
                .map_err(upstream)?
                .commission_bps;
        }
        let plan = Plan {
            currency: currency.code().to_owned(),
            email: input.email.clone(),
            address: input.address.clone(),
            stores: stores.into_values().collect(),
            promotion_code,
            first_order,
            platform_funded,
            prices_include_tax: taxed.prices_include_tax,
        };
        if let Some(expected) = input.expected_total
            && expected != plan.totals().total
        {
            return Err(Error::Refused {
                code: "price_changed",
                message: format!(
                    "The total is now {}; please review it and confirm again.",
                    money(plan.totals().total).display()
                ),
            });
        }
        Ok(plan)
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
                    let id = Uuid::now_v7();
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
    async fn plan_started(&self, id: Uuid, input: &CheckoutInput) -> Result<CheckoutRow, Error> {
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
                    tracing::warn!(error = %d, checkout = %CheckoutId(id), "could not forget an unpriced checkout");
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
    pub async fn drive(&self, id: Uuid, card: Option<&str>) -> Result<CheckoutRow, Error> {
        loop {
            let mut conn = self.pool.acquire().await?;
            let row = store::checkout(&mut conn, id)
                .await?
                .ok_or(Error::not_found("checkout"))?;
            drop(conn);
            let step = row.step;
            if step.is_final() {
                return Ok(row);
            }
            if row.failure_code.is_some() && !step.is_past_authorization() {
                self.compensate(&row).await?;
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
            if !moved {
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
        CheckoutId(row.id).to_string()
    }

    async fn redeem(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        if let Some(code) = &plan.promotion_code {
            let currency =
                Currency::parse(&plan.currency).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
            let req = contracts::promotions::dto::ServiceRedeemRequest {
                customer: kernel::ids::format_prefixed("usr", row.customer),
                redemption: contracts::promotions::dto::RedeemRequest {
                    reference: Self::reference(row),
                    cart: contracts::promotions::dto::EvaluateRequest {
                        code: code.clone(),
                        lines: plan
                            .stores
                            .iter()
                            .flat_map(|s| {
                                s.lines.iter().map(move |l| {
                                    let amount = Money {
                                        amount_minor: l.amount(),
                                        currency,
                                    };
                                    let store = StoreId(s.store_id);
                                    promotion_line(store, l, amount)
                                })
                            })
                            .collect(),
                        first_order: plan.first_order,
                    },
                },
            };
            if let Err(e) = self.up.promotions.redeem(&req).await {
                return match e {
                    ClientError::Problem(p) if p.status < 500 => {
                        let message = p.detail.clone().unwrap_or_else(|| p.title.clone());
                        self.fail(row, &p.code, &message).await
                    }
                    other => Err(upstream(other)),
                };
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Priced, Step::Redeemed).await?)
    }

    async fn reserve(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        let ids: Vec<VariantId> = plan
            .stores
            .iter()
            .flat_map(|s| s.lines.iter().map(|l| VariantId(l.variant_id)))
            .collect();
        let availability = self
            .up
            .inventory
            .availability(&ids)
            .await
            .map_err(upstream)?;
        let tracked: std::collections::HashSet<VariantId> = availability
            .items
            .iter()
            .filter(|a| a.tracked)
            .map(|a| a.variant_id)
            .collect();
        for s in &plan.stores {
            let store_key = StoreId(s.store_id).to_string();
            if row.reservations.0.contains_key(&store_key) {
                continue;
            }
            let lines: Vec<ReserveLine> = s
                .lines
                .iter()
                .filter(|l| tracked.contains(&VariantId(l.variant_id)))
                .map(|l| ReserveLine {
                    variant_id: VariantId(l.variant_id),
                    quantity: i64::from(l.quantity),
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let req = ServiceReserveRequest {
                owner: kernel::ids::format_prefixed("usr", row.customer),
                reservation: ReserveRequest {
                    reference: format!("{}:{store_key}", Self::reference(row)),
                    lines,
                    ttl_secs: Some(RESERVATION_TTL_SECS),
                },
            };
            match self.up.inventory.reserve(&req).await {
                Ok(r) => {
                    let mut conn = self.pool.acquire().await?;
                    store::record_reservation(&mut conn, row.id, &store_key, &r.id.to_string())
                        .await?;
                }
                Err(ClientError::Problem(p)) if p.code == "out_of_stock" => {
                    let names: Vec<&str> = s.lines.iter().map(|l| l.title.as_str()).collect();
                    return self
                        .fail(
                            row,
                            "out_of_stock",
                            &format!("Not enough stock left of: {}.", names.join(", ")),
                        )
                        .await;
                }
                Err(e) => return Err(upstream(e)),
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Redeemed, Step::Reserved).await?)
    }

    async fn authorize(&self, row: &CheckoutRow, card: Option<&str>) -> Result<bool, Error> {
        let plan = plan_of(row)?;
        let reference = Self::reference(row);
        let payment = match card {
            Some(card) => {
                let currency = Currency::parse(&plan.currency)
                    .map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
                let req = AuthorizeRequest {
                    reference: reference.clone(),
                    customer: kernel::ids::format_prefixed("usr", row.customer),
                    amount: Money {
                        amount_minor: plan.totals().total,
                        currency,
                    },
                    card_number: card.to_owned(),
                    return_url: format!("{}/checkout/{reference}", self.public_url),
                };
                match self.up.payments.authorize(&req).await {
                    Ok(p) => p,
                    Err(ClientError::Problem(p)) if p.status == 422 => {
                        return self
                            .fail(row, "invalid_card_number", "The card number is not valid.")
                            .await;
                    }
                    Err(e) => return Err(upstream(e)),
                }
            }
            // The worker has no card: the payment stands as the provider last answered,
            // and one never asked for is never made.
            None => match self.up.payments.by_reference(&reference, true).await {
                Ok(p) => p,
                Err(ClientError::Problem(p)) if p.status == 404 => {
                    return self.interrupted(row).await;
                }
                Err(e) => return Err(upstream(e)),
            },
        };
        let mut conn = self.pool.acquire().await?;
        store::record_payment(
            &mut conn,
            row.id,
            &payment.id.to_string(),
            payment.action_url.as_deref(),
        )
        .await?;
        match payment.status.as_str() {
            "authorized" => {
                Ok(store::advance(&mut conn, row.id, Step::Reserved, Step::Authorized).await?)
            }
            "requires_action" => {
                Ok(store::advance(&mut conn, row.id, Step::Reserved, Step::AwaitingAction).await?)
            }
            "declined" => {
                drop(conn);
                self.fail(
                    row,
                    payment.failure_code.as_deref().unwrap_or("card_declined"),
                    payment
                        .failure_message
                        .as_deref()
                        .unwrap_or("Your card was declined."),
                )
                .await
            }
            "pending" if card.is_none() => {
                drop(conn);
                self.interrupted(row).await
            }
            other => Err(Error::internal(anyhow::anyhow!(
                "payment in unexpected status {other}"
            ))),
        }
    }

    /// A checkout waiting for the customer's confirmation: `true` once it moved on.
    async fn await_action(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let payment = self
            .up
            .payments
            .by_reference(&Self::reference(row), true)
            .await
            .map_err(upstream)?;
        let mut conn = self.pool.acquire().await?;
        match payment.status.as_str() {
            "authorized" => {
                store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Authorized).await?;
                Ok(true)
            }
            "declined" | "voided" => {
                store::mark_failing(
                    &mut conn,
                    row.id,
                    payment.failure_code.as_deref().unwrap_or("card_declined"),
                    payment
                        .failure_message
                        .as_deref()
                        .unwrap_or("Your card was declined."),
                )
                .await?;
                // Compensation runs from `reserved` on.
                store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Reserved).await?;
                Ok(true)
            }
            _ => {
                // Held stock runs out: give up before it does.
                let age = time::OffsetDateTime::now_utc() - row.created_at;
                if age.whole_seconds() > i64::try_from(RESERVATION_TTL_SECS).unwrap_or(900) - 60 {
                    store::mark_failing(
                        &mut conn,
                        row.id,
                        "confirmation_timeout",
                        "The payment was not confirmed in time; nothing was charged.",
                    )
                    .await?;
                    store::advance(&mut conn, row.id, Step::AwaitingAction, Step::Reserved).await?;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    /// Writes the order and commits the held stock.
    async fn confirm(&self, row: &CheckoutRow) -> Result<bool, Error> {
        for reservation in row.reservations.0.values() {
            let id: contracts::inventory::ReservationId = reservation
                .parse()
                .map_err(|_| Error::internal(anyhow::anyhow!("bad reservation id")))?;
            if let Err(e) = self.up.inventory.reservation_action(id, "commit").await {
                return match e {
                    // The hold ran out before the payment was confirmed: nothing is sold.
                    ClientError::Problem(p) if p.status == 409 => {
                        let mut conn = self.pool.acquire().await?;
                        store::mark_failing(
                            &mut conn,
                            row.id,
                            "reservation_expired",
                            "The items were held for too long; nothing was charged.",
                        )
                        .await?;
                        Ok(
                            store::advance(&mut conn, row.id, Step::Authorized, Step::Reserved)
                                .await?,
                        )
                    }
                    other => Err(upstream(other)),
                };
            }
        }
        let plan = plan_of(row)?;
        let totals = plan.totals();
        let payment = row
            .payment_id
            .clone()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("authorized without a payment")))?;
        let mut tx = self.pool.begin().await?;
        let seq = store::next_order_number(&mut tx).await?;
        let number = domain::order_number(seq);
        let order = OrderRow {
            id: Uuid::now_v7(),
            number: number.clone(),
            checkout_id: row.id,
            customer: row.customer,
            email: plan.email.clone(),
            status: "placed".into(),
            currency: plan.currency.clone(),
            subtotal_minor: totals.subtotal,
            discount_minor: totals.discount,
            shipping_minor: totals.shipping,
            tax_minor: totals.tax,
            total_minor: totals.total,
            promotion_code: plan.promotion_code.clone(),
            address: sqlx::types::Json(plan.address.clone()),
            payment_id: payment,
            created_at: time::OffsetDateTime::now_utc(),
        };
        store::insert_order(&mut tx, &order).await?;
        for (i, s) in plan.stores.iter().enumerate() {
            let t = plan.store_totals(s);
            let sub = SubOrderRow {
                id: Uuid::now_v7(),
                order_id: order.id,
                number: domain::sub_order_number(&number, i + 1),
                store_id: s.store_id,
                store_name: s.store_name.clone(),
                status: SubOrderStatus::Placed,
                subtotal_minor: t.subtotal,
                discount_minor: t.discount,
                platform_discount_minor: plan.platform_discount(s),
                shipping_minor: t.shipping,
                tax_minor: t.tax,
                total_minor: t.total,
                commission_bps: s.commission_bps,
                commission_minor: plan.commission(s),
                refunded_minor: 0,
                shipping_method: s.shipping_method.clone(),
                reservation_id: row
                    .reservations
                    .0
                    .get(&StoreId(s.store_id).to_string())
                    .cloned(),
                tracking_number: None,
                cancel_reason: None,
                created_at: order.created_at,
            };
            store::insert_sub_order(&mut tx, &sub).await?;
            for l in &s.lines {
                let added_tax = if plan.prices_include_tax { 0 } else { l.tax };
                store::insert_line(
                    &mut tx,
                    &LineRow {
                        id: Uuid::now_v7(),
                        sub_order_id: sub.id,
                        variant_id: l.variant_id,
                        product_id: l.product_id,
                        title: l.title.clone(),
                        sku: l.sku.clone(),
                        options: l.options.clone(),
                        quantity: l.quantity,
                        unit_price_minor: l.unit_price,
                        discount_minor: l.discount,
                        tax_minor: l.tax,
                        total_minor: l.amount() - l.discount + added_tax,
                    },
                )
                .await?;
            }
        }
        store::record_event(&mut tx, order.id, None, "placed", None, Some(row.customer)).await?;
        let moved = sqlx::query(
            "UPDATE checkouts SET step = 'confirmed', order_id = $2, updated_at = now() WHERE id = $1 AND step = 'authorized'",
        )
        .bind(row.id)
        .bind(order.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if moved {
            tx.commit().await?;
        }
        Ok(moved)
    }

    /// Takes the money, splits it in the ledger, marks the order paid.
    async fn capture(&self, row: &CheckoutRow) -> Result<bool, Error> {
        let order_id = row
            .order_id
            .ok_or_else(|| Error::internal(anyhow::anyhow!("confirmed without an order")))?;
        let payment: PaymentId = row
            .payment_id
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| Error::internal(anyhow::anyhow!("confirmed without a payment")))?;
        let plan = plan_of(row)?;
        let splits = plan
            .stores
            .iter()
            .map(|s| SplitRequest {
                store_id: StoreId(s.store_id),
                gross_minor: plan.store_totals(s).total,
                platform_discount_minor: plan.platform_discount(s),
                commission_minor: plan.commission(s),
            })
            .collect();
        self.up
            .payments
            .capture(payment, &CaptureRequest { splits })
            .await
            .map_err(upstream)?;
        let mut tx = self.pool.begin().await?;
        let order = store::lock_order(&mut tx, order_id)
            .await?
            .ok_or(Error::not_found("order"))?;
        if order.status == "placed" {
            store::set_order_status(&mut tx, order_id, "paid").await?;
            store::set_sub_orders_status(&mut tx, order_id, SubOrderStatus::Paid.as_str()).await?;
            store::record_event(&mut tx, order_id, None, "paid", None, None).await?;
            kernel::events::outbox::record(
                &mut tx,
                &OrderPaid {
                    order_id: domain::OrderId(order_id),
                    number: order.number.clone(),
                    customer: kernel::ids::format_prefixed("usr", row.customer),
                    email: order.email.clone(),
                    stores: plan.stores.iter().map(|s| StoreId(s.store_id)).collect(),
                },
            )
            .await?;
            // Each store hears of its own part.
            for sub in store::sub_orders_of(&mut tx, order_id).await? {
                kernel::events::outbox::record(
                    &mut tx,
                    &SubOrderChanged {
                        sub_order_id: domain::SubOrderId(sub.id),
                        order_id: domain::OrderId(order_id),
                        number: sub.number,
                        store_id: StoreId(sub.store_id),
                        status: SubOrderStatus::Paid.as_str().to_owned(),
                        tracking_number: None,
                        email: order.email.clone(),
                        reason: None,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        // What was bought leaves the cart before the checkout completes and so frees the
        // customer's checkout slot: the next checkout reads a cart without it. The order
        // is paid either way; should the cart not answer, the checkout stays `confirmed`
        // and is finished on the next attempt (the same key, or the recovery worker).
        let purchase = contracts::cart::dto::PurchaseRequest {
            reference: Self::reference(row),
            customer: kernel::ids::format_prefixed("usr", row.customer),
            lines: plan
                .stores
                .iter()
                .flat_map(|s| s.lines.iter())
                .map(|l| contracts::cart::dto::PurchasedLine {
                    variant_id: VariantId(l.variant_id),
                    quantity: l.quantity,
                })
                .collect(),
        };
        if let Err(e) = self.up.cart.record_purchase(&purchase).await {
            tracing::warn!(error = %e, checkout = %Self::reference(row), "could not take bought items out of the cart");
            return Err(upstream(e));
        }
        let mut conn = self.pool.acquire().await?;
        Ok(store::advance(&mut conn, row.id, Step::Confirmed, Step::Completed).await?)
    }

    /// Undoes what a failed checkout did before authorization, then marks it failed.
    async fn compensate(&self, row: &CheckoutRow) -> Result<(), Error> {
        if let Some(payment) = row
            .payment_id
            .as_deref()
            .and_then(|p| p.parse::<PaymentId>().ok())
        {
            self.up.payments.void(payment).await.map_err(upstream)?;
        }
        for reservation in row.reservations.0.values() {
            let Ok(id) = reservation.parse::<contracts::inventory::ReservationId>() else {
                continue;
            };
            self.up
                .inventory
                .reservation_action(id, "release")
                .await
                .map_err(upstream)?;
        }
        if row
            .plan
            .as_ref()
            .is_some_and(|p| p.0.promotion_code.is_some())
        {
            match self.up.promotions.release(&Self::reference(row)).await {
                Ok(()) => {}
                Err(ClientError::Problem(p)) if p.status == 404 => {}
                Err(e) => return Err(upstream(e)),
            }
        }
        let mut conn = self.pool.acquire().await?;
        store::advance(&mut conn, row.id, row.step, Step::Failed).await?;
        Ok(())
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
                            tracing::warn!(error = %e, checkout = %CheckoutId(id), "recovery could not finish a checkout yet");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "recovery worker could not read checkouts"),
            }
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
