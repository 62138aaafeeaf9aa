//! Orders' HTTP API under `/api/v1/orders`: checkout (with `Idempotency-Key`), the
//! customer's orders, a store's sub-orders and their actions, and the admins' view.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kernel::auth::{AdminUser, AuthUser, Claims};
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::money::{Currency, Money};
use kernel::validation::FieldErrors;
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use contracts::orders::dto::*;

use crate::Error;
use crate::checkout::{CheckoutInput, Saga};
use crate::domain::{
    self, Address, CheckoutId, OrderId, Step, SubOrderAction, SubOrderId, SubOrderStatus,
};
use crate::store::{self, CheckoutRow, OrderRow, SubOrderRow};
use contracts::orders::events::SubOrderChanged;
use kernel::ids::StoreId;

const TAG: &str = "orders";
const LIST_LIMIT: i64 = 100;

type State = axum::extract::State<Saga>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(saga: Saga) -> OpenApiRouter {
    OpenApiRouter::<Saga>::new()
        .routes(routes!(checkout))
        .routes(routes!(preview))
        .routes(routes!(get_checkout))
        .routes(routes!(my_orders))
        .routes(routes!(get_order))
        .routes(routes!(store_sub_orders))
        .routes(routes!(get_sub_order))
        .routes(routes!(sub_order_action))
        .routes(routes!(refund_sub_order))
        .routes(routes!(admin_orders))
        .with_state(saga)
}

fn parse_address(a: &Address, errs: &mut FieldErrors) -> Option<Address> {
    let text = |v: &str, max| kernel::validation::bounded_text(v, 1, max);
    let name = errs.check("address.name", "invalid", text(&a.name, 100));
    let line1 = errs.check("address.line1", "invalid", text(&a.line1, 200));
    let line2 = match a.line2.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => errs
            .check("address.line2", "invalid", text(l, 200))
            .map(Some),
        None => Some(None),
    };
    let city = errs.check("address.city", "invalid", text(&a.city, 100));
    let postal_code = errs.check("address.postal_code", "invalid", text(&a.postal_code, 20));
    let country = errs.check(
        "address.country",
        "invalid",
        kernel::values::parse_country(&a.country),
    );
    let region = match a.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => errs
            .check("address.region", "invalid", text(r, 50))
            .map(Some),
        None => Some(None),
    };
    Some(Address {
        name: name?,
        line1: line1?,
        line2: line2?,
        city: city?,
        postal_code: postal_code?,
        country: country?,
        region: region?,
    })
}

async fn checkout_view(conn: &mut PgConnection, row: &CheckoutRow) -> Result<CheckoutView> {
    let order = match row.order_id {
        Some(id) => match store::order(conn, id).await? {
            Some(o) => Some(order_view(conn, o, None).await?),
            None => None,
        },
        None => None,
    };
    let step = row.step;
    Ok(CheckoutView {
        id: CheckoutId(row.id),
        status: step.as_str().to_owned(),
        order,
        next_action_url: (step == Step::AwaitingAction)
            .then(|| row.action_url.clone())
            .flatten(),
        failure_code: if step == Step::Failed {
            row.failure_code.clone()
        } else {
            None
        },
        failure_message: if step == Step::Failed {
            row.failure_message.clone()
        } else {
            None
        },
    })
}

/// The request, validated, as the saga takes it; a preview needs no card.
fn checkout_input(
    claims: &Claims,
    customer: Uuid,
    key: String,
    headers: &HeaderMap,
    req: &CheckoutRequest,
    needs_card: bool,
) -> Result<CheckoutInput> {
    let token = kernel::auth::bearer_token(headers)
        .unwrap_or_default()
        .to_owned();
    let mut errs = FieldErrors::new();
    let address = parse_address(&req.address, &mut errs);
    let card = if needs_card || !req.card_number.trim().is_empty() {
        errs.check(
            "card_number",
            "invalid_card_number",
            contracts::payments::parse_payment_source(&req.card_number),
        )
    } else {
        Some(String::new())
    };
    if req.shipping.len() > 50 {
        errs.add("shipping", "invalid", "too many stores");
    }
    let promotion_code = req
        .promotion_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if promotion_code.is_some_and(|c| c.len() > 32) {
        errs.add("promotion_code", "unknown_code", "no such code");
    }
    let (address, card) = errs.finish_with((address, card))?;
    Ok(CheckoutInput {
        customer,
        token,
        email: claims.email.clone(),
        key,
        address,
        shipping: req.shipping.clone(),
        promotion_code: promotion_code.map(str::to_owned),
        card_number: card,
        expected_total: req.expected_total_minor,
    })
}

/// What checking out the cart this way would cost, without holding stock or money
/// (`card_number` may be empty). The same refusals as checkout.
#[utoipa::path(post, path = "/api/v1/orders/checkout/preview", tag = TAG, security(("bearer" = [])),
    request_body = CheckoutRequest,
    responses((status = 200, body = PreviewView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn preview(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    Json(req): Json<CheckoutRequest>,
) -> Result<Json<PreviewView>> {
    let customer = claims.sub.0;
    let input = checkout_input(&claims, customer, String::new(), &headers, &req, false)?;
    let plan = saga.price(&input).await?;
    let money = money_in(&plan.currency)?;
    let totals = plan.totals();
    Ok(Json(PreviewView {
        stores: plan
            .stores
            .iter()
            .map(|s| {
                let t = plan.store_totals(s);
                PreviewStore {
                    store_id: StoreId(s.store_id),
                    store_name: s.store_name.clone(),
                    shipping_method: s.shipping_method.clone(),
                    subtotal: money(t.subtotal),
                    discount: money(t.discount),
                    shipping: money(t.shipping),
                    tax: money(t.tax),
                    total: money(t.total),
                }
            })
            .collect(),
        subtotal: money(totals.subtotal),
        discount: money(totals.discount),
        shipping: money(totals.shipping),
        tax: money(totals.tax),
        total: money(totals.total),
        prices_include_tax: plan.prices_include_tax,
    }))
}

/// Card refusals are 402s; everything else that stops a checkout is a 409.
fn failure_status(code: &str) -> StatusCode {
    match code {
        "card_declined"
        | "insufficient_funds"
        | "authentication_failed"
        | "invalid_card_number" => StatusCode::PAYMENT_REQUIRED,
        _ => StatusCode::CONFLICT,
    }
}

/// Check out the signed-in customer's cart: one order, one sub-order per store. Needs
/// an `Idempotency-Key`: the same key again returns the first answer and never
/// charges twice. 201 with the paid order; 202 when the card needs a confirmation
/// step (`next_action_url`); 402 when the card is refused; 409 when stock, prices or
/// the promotion stand in the way, or `checkout_in_progress` while another checkout of
/// the customer's cart is under way (whatever its key: one cart, one checkout).
/// Nothing is charged unless an order is paid.
#[utoipa::path(post, path = "/api/v1/orders/checkout", tag = TAG, security(("bearer" = [])),
    request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, pattern = "^[\\x21-\\x7e]{1,255}$", description = "One checkout per key: 1 to 255 visible ASCII characters")),
    responses((status = 201, body = CheckoutView), (status = 202, body = CheckoutView),
              (status = 400, body = Problem, description = "idempotency_key_required"),
              (status = 402, body = Problem, description = "card_declined, insufficient_funds, authentication_failed"),
              (status = 409, body = Problem, description = "checkout_in_progress (another checkout of the cart is under way), out_of_stock, cart_empty, cart_changed, price_changed, promotion_exhausted, promotion_customer_limit"),
              (status = 422, body = Problem), (status = 503, body = Problem, description = "checkout_incomplete: retry with the same Idempotency-Key")))]
async fn checkout(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    Json(req): Json<CheckoutRequest>,
) -> Result<Response> {
    let customer = claims.sub.0;
    let key = headers
        .get(&kernel::http::idempotency::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "A checkout needs an Idempotency-Key header, so a retry never orders twice",
            )
        })?
        .to_owned();
    let input = checkout_input(&claims, customer, key, &headers, &req, true)?;
    let row = saga.checkout(&input).await?;
    let mut conn = saga.pool.acquire().await?;
    let view = checkout_view(&mut conn, &row).await?;
    match row.step {
        Step::Completed => Ok((StatusCode::CREATED, Json(view)).into_response()),
        Step::AwaitingAction => Ok((StatusCode::ACCEPTED, Json(view)).into_response()),
        Step::Failed => {
            let code = row.failure_code.as_deref().unwrap_or("checkout_failed");
            let message = row
                .failure_message
                .clone()
                .unwrap_or_else(|| "The checkout failed.".into());
            Ok(Problem::new(failure_status(code), code, message).into_response())
        }
        _ => Ok(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "checkout_incomplete",
            "The checkout could not finish yet; retry with the same Idempotency-Key",
        )
        .retry_after(2)
        .into_response()),
    }
}

/// Where a checkout stands (its customer): the page a confirmation step returns to
/// polls this.
#[utoipa::path(get, path = "/api/v1/orders/checkouts/{checkout}", tag = TAG, security(("bearer" = [])),
    params(("checkout" = String, Path)),
    responses((status = 200, body = CheckoutView), (status = 404, body = Problem)))]
async fn get_checkout(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<CheckoutId>,
) -> Result<Json<CheckoutView>> {
    let mut conn = saga.pool.acquire().await?;
    let row = store::checkout(&mut conn, id.0)
        .await?
        .filter(|c| sees(&claims, c.customer))
        .ok_or(Error::not_found("checkout"))?;
    Ok(Json(checkout_view(&mut conn, &row).await?))
}

fn money_in(currency: &str) -> Result<impl Fn(i64) -> Money> {
    let currency = Currency::parse(currency).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    Ok(move |amount_minor| Money {
        amount_minor,
        currency,
    })
}

/// Sub-orders as views, their lines read in one query; `currencies` maps each order to
/// its currency.
async fn sub_order_views(
    conn: &mut PgConnection,
    subs: Vec<SubOrderRow>,
    currencies: &HashMap<Uuid, String>,
    with_commission: bool,
) -> Result<Vec<SubOrderView>> {
    let ids: Vec<Uuid> = subs.iter().map(|s| s.id).collect();
    let mut lines: HashMap<Uuid, Vec<store::LineRow>> = HashMap::new();
    for l in store::lines_of(conn, &ids).await? {
        lines.entry(l.sub_order_id).or_default().push(l);
    }
    let mut views = Vec::with_capacity(subs.len());
    for s in subs {
        let currency = currencies
            .get(&s.order_id)
            .ok_or(Error::not_found("order"))?;
        let money = money_in(currency)?;
        views.push(SubOrderView {
            id: SubOrderId(s.id),
            order_id: OrderId(s.order_id),
            number: s.number,
            store_id: StoreId(s.store_id),
            store_name: s.store_name,
            status: s.status.to_string(),
            subtotal: money(s.subtotal_minor),
            discount: money(s.discount_minor),
            shipping: money(s.shipping_minor),
            tax: money(s.tax_minor),
            total: money(s.total_minor),
            refunded: money(s.refunded_minor),
            commission: with_commission.then(|| money(s.commission_minor)),
            shipping_method: s.shipping_method,
            tracking_number: s.tracking_number,
            cancel_reason: s.cancel_reason,
            lines: lines
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|l| LineView {
                    variant_id: contracts::catalog::VariantId(l.variant_id).to_string(),
                    product_id: contracts::catalog::ProductId(l.product_id).to_string(),
                    title: l.title,
                    sku: l.sku,
                    options: l.options,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price_minor),
                    discount: money(l.discount_minor),
                    tax: money(l.tax_minor),
                    total: money(l.total_minor),
                })
                .collect(),
        });
    }
    Ok(views)
}

/// An order as its customer (all sub-orders) or a store (`only_store`: its own
/// sub-order alone, with that part's figures as the order's) sees it.
async fn order_view(
    conn: &mut PgConnection,
    o: OrderRow,
    only_store: Option<Uuid>,
) -> Result<OrderView> {
    order_views(conn, vec![o], only_store)
        .await?
        .pop()
        .ok_or(Error::not_found("order"))
}

/// Orders as views in four queries however many there are (sub-orders, their lines and
/// the timelines read for all of them at once).
async fn order_views(
    conn: &mut PgConnection,
    orders: Vec<OrderRow>,
    only_store: Option<Uuid>,
) -> Result<Vec<OrderView>> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let currencies: HashMap<Uuid, String> =
        orders.iter().map(|o| (o.id, o.currency.clone())).collect();
    let subs: Vec<SubOrderRow> = store::sub_orders_in(conn, &ids)
        .await?
        .into_iter()
        .filter(|s| only_store.is_none_or(|st| s.store_id == st))
        .collect();
    let numbers: HashMap<Uuid, String> = subs.iter().map(|s| (s.id, s.number.clone())).collect();
    let mut timelines: HashMap<Uuid, Vec<TimelineEntry>> = HashMap::new();
    for e in store::events_of(conn, &ids).await? {
        if only_store.is_some() && e.sub_order_id.is_some_and(|s| !numbers.contains_key(&s)) {
            continue;
        }
        timelines
            .entry(e.order_id)
            .or_default()
            .push(TimelineEntry {
                at: e.at,
                status: e.status,
                sub_order: e.sub_order_id.and_then(|s| numbers.get(&s).cloned()),
                note: e.note,
            });
    }
    let mut sub_views: HashMap<Uuid, Vec<SubOrderView>> = HashMap::new();
    for v in sub_order_views(conn, subs, &currencies, only_store.is_some()).await? {
        sub_views.entry(v.order_id.0).or_default().push(v);
    }
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        let money = money_in(&o.currency)?;
        let sub_orders = sub_views.remove(&o.id).unwrap_or_default();
        let mut view = OrderView {
            id: OrderId(o.id),
            number: o.number,
            status: o.status,
            email: o.email,
            subtotal: money(o.subtotal_minor),
            discount: money(o.discount_minor),
            shipping: money(o.shipping_minor),
            tax: money(o.tax_minor),
            total: money(o.total_minor),
            promotion_code: o.promotion_code,
            address: serde_json::to_value(&o.address.0).unwrap_or_default(),
            created_at: o.created_at,
            sub_orders,
            timeline: timelines.remove(&o.id).unwrap_or_default(),
        };
        if only_store.is_some() {
            as_store_part(&mut view, &money);
        }
        views.push(view);
    }
    Ok(views)
}

/// A store sees only its part of an order: the order's figures become those of the
/// store's own sub-order, its status the one that part alone gives, and the promotion
/// code shows only when it discounted that part — nothing of the other stores' parts.
fn as_store_part(view: &mut OrderView, money: &impl Fn(i64) -> Money) {
    let sum = |part: fn(&SubOrderView) -> &Money| {
        view.sub_orders
            .iter()
            .map(|s| part(s).amount_minor)
            .sum::<i64>()
    };
    let subtotal = sum(|s| &s.subtotal);
    let discount = sum(|s| &s.discount);
    let shipping = sum(|s| &s.shipping);
    let tax = sum(|s| &s.tax);
    let total = sum(|s| &s.total);
    let statuses: Vec<SubOrderStatus> = view
        .sub_orders
        .iter()
        .filter_map(|s| SubOrderStatus::parse(&s.status))
        .collect();
    view.subtotal = money(subtotal);
    view.discount = money(discount);
    view.shipping = money(shipping);
    view.tax = money(tax);
    view.total = money(total);
    view.status = domain::order_status(&statuses).to_owned();
    if discount == 0 {
        view.promotion_code = None;
    }
}

/// The signed-in customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = OrderList)))]
async fn my_orders(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
) -> Result<Json<OrderList>> {
    let customer = claims.sub.0;
    let mut conn = saga.pool.acquire().await?;
    let orders = store::customer_orders(&mut conn, customer, LIST_LIMIT).await?;
    let items = order_views(&mut conn, orders, None).await?;
    Ok(Json(OrderList { items }))
}

/// One order with its sub-orders and timeline (its customer; admins). Another
/// customer's order is a 404.
#[utoipa::path(get, path = "/api/v1/orders/{order}", tag = TAG, security(("bearer" = [])),
    params(("order" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
async fn get_order(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<OrderId>,
) -> Result<Json<OrderView>> {
    let mut conn = saga.pool.acquire().await?;
    let o = store::order(&mut conn, id.0)
        .await?
        .filter(|o| sees(&claims, o.customer))
        .ok_or(Error::not_found("order"))?;
    Ok(Json(order_view(&mut conn, o, None).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubOrderFilter {
    /// Only sub-orders in this status.
    #[param(
        pattern = "^(placed|paid|processing|shipped|delivered|cancelled|partially_refunded|refunded)?$"
    )]
    pub status: Option<String>,
}

/// A store's sub-orders, newest first, optionally in one status (its members; admins).
#[utoipa::path(get, path = "/api/v1/orders/stores/{store}/sub-orders", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path), SubOrderFilter),
    responses((status = 200, body = SubOrderList), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn store_sub_orders(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(StoreId(store_id)): Path<StoreId>,
    Query(filter): Query<SubOrderFilter>,
) -> Result<Json<SubOrderList>> {
    if !claims.manages_store(StoreId(store_id)) {
        return Err(Error::forbidden());
    }
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(SubOrderStatus::parse(s).ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "status",
                "invalid",
                "not a sub-order status",
            )])
        })?),
        None => None,
    };
    let mut conn = saga.pool.acquire().await?;
    let subs = store::store_sub_orders(
        &mut conn,
        store_id,
        status.map(SubOrderStatus::as_str),
        LIST_LIMIT,
    )
    .await?;
    let order_ids: Vec<Uuid> = subs.iter().map(|s| s.order_id).collect();
    let currencies = store::currencies(&mut conn, &order_ids).await?;
    let items = sub_order_views(&mut conn, subs, &currencies, true).await?;
    Ok(Json(SubOrderList { items }))
}

/// Who may see or act on a sub-order.
enum Role {
    Customer,
    /// A member of the sub-order's store: sees that store's part only.
    Store(Uuid),
    Admin,
}

/// Whether the caller may see what `customer` owns: the customer, and admins.
fn sees(claims: &Claims, customer: Uuid) -> bool {
    claims.is_admin() || claims.sub.0 == customer
}

fn role_of(claims: &Claims, order: &OrderRow, sub: &SubOrderRow) -> Option<Role> {
    if claims.is_admin() {
        Some(Role::Admin)
    } else if claims.manages_store(StoreId(sub.store_id)) {
        Some(Role::Store(sub.store_id))
    } else if sees(claims, order.customer) {
        Some(Role::Customer)
    } else {
        None
    }
}

async fn load(conn: &mut PgConnection, id: SubOrderId) -> Result<(OrderRow, SubOrderRow)> {
    let sub = store::sub_order(conn, id.0)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    let order = store::order(conn, sub.order_id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    Ok((order, sub))
}

async fn detail(
    conn: &mut PgConnection,
    order: OrderRow,
    sub_id: Uuid,
    role: &Role,
) -> Result<SubOrderDetail> {
    let only_store = match role {
        Role::Store(store) => Some(*store),
        Role::Customer | Role::Admin => None,
    };
    let order = order_view(conn, order, only_store).await?;
    let sub_order = order
        .sub_orders
        .iter()
        .find(|s| s.id.0 == sub_id)
        .cloned()
        .ok_or(Error::not_found("sub-order"))?;
    Ok(SubOrderDetail { order, sub_order })
}

/// One sub-order with its order (its store's members, the order's customer, admins);
/// anyone else gets a 404.
#[utoipa::path(get, path = "/api/v1/orders/sub-orders/{sub_order}", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path)),
    responses((status = 200, body = SubOrderDetail), (status = 404, body = Problem)))]
async fn get_sub_order(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(key): Path<SubOrderId>,
) -> Result<Json<SubOrderDetail>> {
    let mut conn = saga.pool.acquire().await?;
    let (order, sub) = load(&mut conn, key).await?;
    let role = role_of(&claims, &order, &sub).ok_or(Error::not_found("sub-order"))?;
    Ok(Json(detail(&mut conn, order, sub.id, &role).await?))
}

/// What one move of a sub-order records.
struct Move<'a> {
    next: SubOrderStatus,
    tracking: Option<&'a str>,
    /// Why (cancellations, refunds), for the timeline and the customer.
    note: Option<&'a str>,
    /// What the move refunded.
    refunded: i64,
    actor: Uuid,
}

/// Records a sub-order's move with its timeline entry and event, and the order's
/// status that follows from all its sub-orders.
async fn record_move(
    conn: &mut PgConnection,
    order: &OrderRow,
    sub: &SubOrderRow,
    m: &Move<'_>,
) -> Result<()> {
    let Move {
        next,
        tracking,
        note,
        refunded,
        actor,
    } = *m;
    store::update_sub_order(
        conn,
        sub.id,
        next.as_str(),
        tracking,
        note.filter(|_| next == SubOrderStatus::Cancelled),
        refunded,
    )
    .await?;
    store::record_event(
        conn,
        sub.order_id,
        Some(sub.id),
        next.as_str(),
        note,
        Some(actor),
    )
    .await?;
    let statuses: Vec<SubOrderStatus> = store::sub_orders_of(conn, sub.order_id)
        .await?
        .iter()
        .map(|s| s.status)
        .collect();
    store::set_order_status(conn, sub.order_id, domain::order_status(&statuses)).await?;
    kernel::events::outbox::record(
        conn,
        &SubOrderChanged {
            sub_order_id: SubOrderId(sub.id),
            order_id: OrderId(sub.order_id),
            number: sub.number.clone(),
            store_id: StoreId(sub.store_id),
            status: next.as_str().to_owned(),
            tracking_number: tracking.map(str::to_owned),
            email: order.email.clone(),
            reason: note.map(str::to_owned),
        },
    )
    .await?;
    Ok(())
}

/// Move a sub-order: `accept` (→ processing), `ship` with a tracking number, `deliver`
/// (its store; admins); `cancel` before it ships — by its customer, or by its store or
/// an admin with a reason — refunds what was paid for it and puts the stock back.
/// An illegal move is a 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/orders/sub-orders/{sub_order}/{action}", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path), ("action" = String, Path, pattern = "^(accept|ship|deliver|cancel)$", description = "accept, ship, deliver or cancel")),
    request_body = ActionRequest,
    responses((status = 200, body = SubOrderDetail), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sub_order_action(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path((key, action_name)): Path<(SubOrderId, String)>,
    Json(req): Json<ActionRequest>,
) -> Result<Json<SubOrderDetail>> {
    let action = match action_name.as_str() {
        "accept" => SubOrderAction::Accept,
        "ship" => SubOrderAction::Ship,
        "deliver" => SubOrderAction::Deliver,
        "cancel" => SubOrderAction::Cancel,
        _ => return Err(Error::not_found("action")),
    };
    let actor = claims.sub.0;
    let mut tx = saga.pool.begin().await?;
    let (order, sub) = lock_for_change(&mut tx, key).await?;
    let role = role_of(&claims, &order, &sub).ok_or(Error::not_found("sub-order"))?;
    if matches!(role, Role::Customer) && action != SubOrderAction::Cancel {
        return Err(Error::forbidden());
    }
    let tracking = match action {
        SubOrderAction::Ship => Some(
            kernel::validation::bounded_text(
                req.tracking_number.as_deref().unwrap_or_default(),
                3,
                64,
            )
            .map_err(|m| {
                Problem::validation(vec![FieldError::new("tracking_number", "invalid", m)])
            })?,
        ),
        _ => None,
    };
    let reason = match (action, &role) {
        (SubOrderAction::Cancel, Role::Customer) => Some(
            req.reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("Cancelled by the customer")
                .to_owned(),
        ),
        (SubOrderAction::Cancel, _) => Some(
            kernel::validation::bounded_text(req.reason.as_deref().unwrap_or_default(), 3, 500)
                .map_err(|m| Problem::validation(vec![FieldError::new("reason", "required", m)]))?,
        ),
        _ => None,
    };
    let from = sub.status;
    let next = from.apply(action).ok_or(Error::IllegalTransition {
        from: from.as_str(),
        action: action_verb(action),
    })?;
    let mut refunded = 0;
    if action == SubOrderAction::Cancel {
        refunded = sub.total_minor - sub.refunded_minor;
        refund(
            &saga,
            &order,
            &sub,
            &format!("cancel:{}", SubOrderId(sub.id)),
            refunded,
        )
        .await?;
        if let Some(reservation) = sub.reservation_id.as_deref().and_then(|r| r.parse().ok()) {
            saga.up
                .inventory
                .reservation_action(reservation, "return")
                .await
                .map_err(|e| Error::Upstream(e.into()))?;
        }
    }
    record_move(
        &mut tx,
        &order,
        &sub,
        &Move {
            next,
            tracking: tracking.as_deref(),
            note: reason.as_deref(),
            refunded,
            actor,
        },
    )
    .await?;
    tx.commit().await?;
    fresh_detail(&saga, order.id, sub.id, &role).await
}

/// The sub-order a change is about, locked for it, with its order. The lock is held
/// across the refund and restock calls on purpose: two changes of one sub-order (a
/// cancel racing a refund) must not both pay out.
async fn lock_for_change(tx: &mut PgConnection, id: SubOrderId) -> Result<(OrderRow, SubOrderRow)> {
    let sub = store::lock_sub_order(tx, id.0)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    let order = store::order(tx, sub.order_id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    Ok((order, sub))
}

/// The sub-order as it is after a committed change.
async fn fresh_detail(
    saga: &Saga,
    order: Uuid,
    sub: Uuid,
    role: &Role,
) -> Result<Json<SubOrderDetail>> {
    let mut conn = saga.pool.acquire().await?;
    let order = store::order(&mut conn, order)
        .await?
        .ok_or(Error::not_found("order"))?;
    Ok(Json(detail(&mut conn, order, sub, role).await?))
}

fn action_verb(action: SubOrderAction) -> &'static str {
    match action {
        SubOrderAction::Pay => "paid",
        SubOrderAction::Accept => "accepted",
        SubOrderAction::Ship => "shipped",
        SubOrderAction::Deliver => "delivered",
        SubOrderAction::Cancel => "cancelled",
        SubOrderAction::RefundPart | SubOrderAction::RefundRest => "refunded",
    }
}

async fn refund(
    saga: &Saga,
    order: &OrderRow,
    sub: &SubOrderRow,
    reference: &str,
    amount: i64,
) -> Result<()> {
    if amount <= 0 {
        return Ok(());
    }
    let payment: contracts::payments::PaymentId = order
        .payment_id
        .parse()
        .map_err(|_| Error::internal(anyhow::anyhow!("order without a payment")))?;
    saga.up
        .payments
        .refund(
            payment,
            &contracts::payments::dto::RefundRequest {
                reference: reference.to_owned(),
                store_id: StoreId(sub.store_id),
                amount_minor: amount,
            },
        )
        .await
        .map_err(|e| Error::Upstream(e.into()))?;
    Ok(())
}

/// Refund part or all of what is left of a shipped or delivered sub-order (admins;
/// cancelling refunds one that has not shipped). The ledger reverses the capture in
/// proportion.
#[utoipa::path(post, path = "/api/v1/orders/sub-orders/{sub_order}/refunds", tag = TAG, security(("bearer" = ["admin"])),
    params(("sub_order" = String, Path)), request_body = RefundRequest,
    responses((status = 200, body = SubOrderDetail), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refund_sub_order(
    axum::extract::State(saga): State,
    AdminUser(claims): AdminUser,
    Path(key): Path<SubOrderId>,
    Json(req): Json<RefundRequest>,
) -> Result<Json<SubOrderDetail>> {
    let actor = claims.sub.0;
    let reason = kernel::validation::bounded_text(&req.reason, 3, 500)
        .map_err(|m| Problem::validation(vec![FieldError::new("reason", "required", m)]))?;
    let mut tx = saga.pool.begin().await?;
    let (order, sub) = lock_for_change(&mut tx, key).await?;
    if !(1..=kernel::money::MAX_PRICE_MINOR).contains(&req.amount_minor) {
        return Err(Problem::validation(vec![FieldError::new(
            "amount_minor",
            "out_of_range",
            "must be a positive amount in minor units",
        )])
        .into());
    }
    // More than is left depends on the sub-order's state, not on the request: a 409.
    let left = sub.total_minor - sub.refunded_minor;
    if req.amount_minor > left {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "refund_too_large",
            format!("At most what is left to refund: {left} minor units"),
        )
        .into());
    }
    let action = if req.amount_minor == left {
        SubOrderAction::RefundRest
    } else {
        SubOrderAction::RefundPart
    };
    let from = sub.status;
    let next = from.apply(action).ok_or(Error::IllegalTransition {
        from: from.as_str(),
        action: "refunded",
    })?;
    // Keyed by what was refunded before: a retry of this refund refunds once.
    let reference = format!("refund:{}:{}", SubOrderId(sub.id), sub.refunded_minor);
    refund(&saga, &order, &sub, &reference, req.amount_minor).await?;
    record_move(
        &mut tx,
        &order,
        &sub,
        &Move {
            next,
            tracking: None,
            note: Some(&reason),
            refunded: req.amount_minor,
            actor,
        },
    )
    .await?;
    tx.commit().await?;
    fresh_detail(&saga, order.id, sub.id, &Role::Admin).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// An order or sub-order number, or a customer's email.
    pub q: Option<String>,
}

/// Every order, newest first, or those matching a number or email (admins).
#[utoipa::path(get, path = "/api/v1/orders/admin/orders", tag = TAG, security(("bearer" = ["admin"])),
    params(AdminOrderQuery),
    responses((status = 200, body = OrderList), (status = 403, body = Problem)))]
async fn admin_orders(
    axum::extract::State(saga): State,
    _admin: AdminUser,
    Query(query): Query<AdminOrderQuery>,
) -> Result<Json<OrderList>> {
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty() && q.len() <= 320);
    let mut conn = saga.pool.acquire().await?;
    let orders = store::search_orders(&mut conn, q, LIST_LIMIT).await?;
    let items = order_views(&mut conn, orders, None).await?;
    Ok(Json(OrderList { items }))
}
