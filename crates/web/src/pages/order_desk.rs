//! The stores' and admins' side of orders: a store's queue of sub-orders with filters,
//! a sub-order with accept / ship / deliver / cancel, the store's balance and payouts;
//! the admins' order search, refunds and cancellations, payout runs and the ledger.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use contracts::orders::dto::{
    ActionRequest, OrderView, RefundRequest, SubOrderDetail, SubOrderView,
};
use contracts::orders::{OrderId, SubOrderId};
use contracts::payments::dto::{BalanceView, LedgerView, PayoutView};
use contracts::vendors::StoreId;
use kernel::money::Money;
use serde::Deserialize;

use super::checkout::show_order;
use super::{
    PagePath, error_page, page, redirect_with_flash, refusal, require_admin, require_user,
};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};

/// The statuses a store filters its queue by.
const QUEUE_FILTERS: [&str; 7] = [
    "paid",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
    "partially_refunded",
    "refunded",
];

#[derive(Template)]
#[template(path = "vendor_orders.html")]
struct QueuePage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    status: String,
    filters: [&'static str; 7],
    items: Vec<SubOrderView>,
}

#[derive(Deserialize)]
pub struct StatusFilter {
    #[serde(default)]
    status: String,
}

pub async fn queue(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
    Query(filter): Query<StatusFilter>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store}/orders")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let status = Some(filter.status.as_str()).filter(|s| QUEUE_FILTERS.contains(s));
    match state
        .orders
        .store_sub_orders(&user.access_token, &store, status)
        .await
    {
        Ok(list) => page(&QueuePage {
            ctx,
            title: "Orders".into(),
            store_id: store,
            status: status.unwrap_or_default().to_owned(),
            filters: QUEUE_FILTERS,
            items: list.items,
        }),
        Err(e) => error_page(&ctx, 403, &refusal(&e)),
    }
}

#[derive(Template)]
#[template(path = "vendor_sub_order.html")]
struct SubOrderPage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    detail: SubOrderDetail,
}

pub async fn sub_order(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((store, id)): PagePath<(StoreId, SubOrderId)>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store}/orders/{id}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.orders.sub_order(&user.access_token, &id).await {
        Ok(detail) if detail.sub_order.store_id == store => page(&SubOrderPage {
            ctx,
            title: format!("Order {}", detail.sub_order.number),
            store_id: store,
            detail,
        }),
        _ => error_page(&ctx, 404, "We could not find that order."),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    reason: String,
}

impl ActionForm {
    fn request(self) -> ActionRequest {
        ActionRequest {
            tracking_number: Some(self.tracking_number).filter(|t| !t.trim().is_empty()),
            reason: Some(self.reason).filter(|r| !r.trim().is_empty()),
        }
    }
}

/// Accept, ship, deliver or cancel, then back to the sub-order with what happened.
pub async fn act(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((store, id, action)): PagePath<(StoreId, SubOrderId, String)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Response {
    let here = format!("/vendor/stores/{store}/orders/{id}");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match state
        .orders
        .act(&user.access_token, &id, &action, &form.request())
        .await
    {
        Ok(d) => format!(
            "{} is {}.",
            d.sub_order.number,
            d.sub_order.status.replace('_', " ")
        ),
        Err(e) => refusal(&e),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}

#[derive(Template)]
#[template(path = "vendor_balance.html")]
struct BalancePage {
    ctx: PageContext,
    title: String,
    balance: BalanceView,
}

pub async fn balance(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store}/balance")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .payments
        .store_balance(&user.access_token, &store)
        .await
    {
        Ok(balance) => page(&BalancePage {
            ctx,
            title: "Balance and payouts".into(),
            balance,
        }),
        Err(e) => error_page(&ctx, 403, &refusal(&e)),
    }
}

#[derive(Template)]
#[template(path = "admin_orders.html")]
struct AdminOrdersPage {
    ctx: PageContext,
    title: String,
    q: String,
    orders: Vec<OrderView>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn admin_orders(
    State(state): State<WebState>,
    ctx: PageContext,
    Query(query): Query<SearchQuery>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query.q.trim().to_owned();
    match state
        .orders
        .admin_orders(
            &user.access_token,
            Some(q.as_str()).filter(|q| !q.is_empty()),
        )
        .await
    {
        Ok(list) => page(&AdminOrdersPage {
            ctx,
            title: "Orders".into(),
            q,
            orders: list.items,
        }),
        Err(_) => error_page(&ctx, 503, "Orders cannot be shown right now."),
    }
}

pub async fn admin_order(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<OrderId>,
) -> Response {
    let user = match require_admin(&ctx, &format!("/admin/orders/{id}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    show_order(&state, ctx, &user, &id, true).await
}

/// An admin's cancellation (with a reason) of a sub-order that has not shipped.
pub async fn admin_cancel(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<SubOrderId>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .orders
        .act(&user.access_token, &id, "cancel", &form.request())
        .await
    {
        Ok(d) => redirect_with_flash(
            &format!("/admin/orders/{}", d.order.id),
            &format!("{} is cancelled and refunded.", d.sub_order.number),
            state.secure_cookies,
        ),
        Err(e) => redirect_with_flash("/admin/orders", &refusal(&e), state.secure_cookies),
    }
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn admin_refund(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<SubOrderId>,
    CsrfForm(form): CsrfForm<RefundForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let detail = match state.orders.sub_order(&user.access_token, &id).await {
        Ok(d) => d,
        Err(_) => return error_page(&ctx, 404, "We could not find that order."),
    };
    let back = format!("/admin/orders/{}", detail.order.id);
    let currency = detail.sub_order.total.currency;
    let Ok(amount) = Money::parse_decimal(&form.amount, currency) else {
        return redirect_with_flash(
            &back,
            "Type the amount to refund, e.g. 5.00.",
            state.secure_cookies,
        );
    };
    let req = RefundRequest {
        amount_minor: amount.amount_minor,
        reason: form.reason,
    };
    let message = match state.orders.refund(&user.access_token, &id, &req).await {
        Ok(d) => format!("{} refunded on {}.", amount.display(), d.sub_order.number),
        Err(e) => refusal(&e),
    };
    redirect_with_flash(&back, &message, state.secure_cookies)
}

#[derive(Template)]
#[template(path = "admin_payouts.html")]
struct PayoutsPage {
    ctx: PageContext,
    title: String,
    payouts: Vec<PayoutView>,
    ledger: LedgerView,
}

pub async fn admin_payouts(State(state): State<WebState>, ctx: PageContext) -> Response {
    let user = match require_admin(&ctx, "/admin/payouts") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (payouts, ledger) = match (
        state.payments.payouts(&user.access_token).await,
        state.payments.ledger(&user.access_token).await,
    ) {
        (Ok(p), Ok(l)) => (p.items, l),
        _ => return error_page(&ctx, 503, "Payouts cannot be shown right now."),
    };
    page(&PayoutsPage {
        ctx,
        title: "Payouts".into(),
        payouts,
        ledger,
    })
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn run_payouts(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/payouts") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match state.payments.payout_run(&user.access_token).await {
        Ok(run) if run.payouts.is_empty() => {
            "No store is owed anything: nothing was paid out.".to_owned()
        }
        Ok(run) => {
            let total: i64 = run.payouts.iter().map(|p| p.amount.amount_minor).sum();
            let currency = run.payouts[0].amount.currency;
            let one_currency = run.payouts.iter().all(|p| p.amount.currency == currency);
            let sum = Money {
                amount_minor: total,
                currency,
            };
            if one_currency {
                format!(
                    "Paid {} store(s), {} in all.",
                    run.payouts.len(),
                    sum.display()
                )
            } else {
                format!("Paid {} store(s).", run.payouts.len())
            }
        }
        Err(e) => refusal(&e),
    };
    redirect_with_flash("/admin/payouts", &message, state.secure_cookies)
}
