//! Checkout and the customer's orders: the checkout page (address from the address book
//! or new, a shipping method per store, a promotion code, the card), the totals preview,
//! the page a confirmation step returns to, order history and detail with the timeline,
//! cancelling a sub-order before it ships.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use contracts::identity::dto::AddressView;
use contracts::orders::dto::{
    ActionRequest, CheckoutRequest, CheckoutView, OrderView, PreviewView,
};
use contracts::orders::{Address, CheckoutId, OrderId, SubOrderId};
use contracts::shipping::dto::MethodView;
use kernel::http::client::ClientError;
use serde::Deserialize;

use super::{
    FormErrors, PagePath, error_page, form_errors, page, redirect_with_flash, refusal, require_user,
};
use crate::WebState;
use crate::session::{CsrfForm, CurrentUser, PageContext};

/// One store's part of the cart, with the methods it ships by.
pub struct StoreChoice {
    pub store_id: String,
    pub store_name: String,
    pub subtotal: String,
    pub methods: Vec<MethodView>,
    pub chosen: String,
}

/// The checkout form as typed, kept across re-renders.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckoutForm {
    /// A saved address's id, or `new`.
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    promotion_code: String,
    #[serde(default)]
    card_number: String,
    /// One checkout per page load: a double submit is one order.
    #[serde(default)]
    key: String,
    /// The total the customer was shown, in minor units (a string: flattened forms
    /// only carry strings).
    #[serde(default)]
    expected_total: String,
    /// `shipping.<sto_…>` → `shp_…`.
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    ctx: PageContext,
    title: String,
    form: CheckoutForm,
    addresses: Vec<AddressView>,
    stores: Vec<StoreChoice>,
    preview: Option<PreviewView>,
    errors: FormErrors,
}

/// Shipping methods method-by-method as a customer reads them.
pub fn describe(m: &MethodView) -> String {
    let money = |minor: i64| {
        kernel::money::Currency::parse(&m.currency).map_or_else(
            |_| format!("{minor}"),
            |c| {
                kernel::money::Money {
                    amount_minor: minor,
                    currency: c,
                }
                .display()
            },
        )
    };
    match (m.kind.as_str(), m.free_over_minor) {
        ("free_over", Some(f)) => format!("{}, free from {}", money(m.price_minor), money(f)),
        ("weight_bands", _) => "by weight".to_owned(),
        _ => money(m.price_minor),
    }
}

impl CheckoutForm {
    fn chosen(&self, store: &str) -> Option<&String> {
        self.rest.get(&format!("shipping.{store}"))
    }

    fn request(&self, addresses: &[AddressView], stores: &[StoreChoice]) -> CheckoutRequest {
        let saved = addresses
            .iter()
            .find(|a| a.id.to_string() == self.address_id);
        let address = match saved {
            Some(a) => Address {
                name: a.full_name.clone(),
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                city: a.city.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
                region: a.region.clone(),
            },
            None => Address {
                name: self.name.clone(),
                line1: self.line1.clone(),
                line2: Some(self.line2.clone()).filter(|l| !l.trim().is_empty()),
                city: self.city.clone(),
                postal_code: self.postal_code.clone(),
                country: self.country.clone(),
                region: Some(self.region.clone()).filter(|r| !r.trim().is_empty()),
            },
        };
        CheckoutRequest {
            address,
            shipping: stores
                .iter()
                // An unchosen (or mangled) method is left out: the API then asks for it.
                .filter_map(|s| Some((s.store_id.parse().ok()?, s.chosen.parse().ok()?)))
                .collect::<BTreeMap<_, _>>(),
            promotion_code: Some(self.promotion_code.clone()).filter(|c| !c.trim().is_empty()),
            card_number: self.card_number.clone(),
            expected_total_minor: self.expected_total.parse().ok(),
        }
    }
}

/// The cart's stores with their shipping methods, each with the customer's choice
/// (or the first method).
async fn store_choices(
    state: &WebState,
    user: &CurrentUser,
    form: &CheckoutForm,
) -> Result<Vec<StoreChoice>, ClientError> {
    let cart = state
        .cart
        .view(contracts::cart::CartOf::Customer(&user.access_token))
        .await?;
    let mut out = Vec::new();
    for s in cart.stores {
        let id = s.store_id.to_string();
        let methods = state.shipping.methods(&s.store_id).await?.items;
        let chosen = form
            .chosen(&id)
            .cloned()
            .or_else(|| methods.first().map(|m| m.id.to_string()))
            .unwrap_or_default();
        out.push(StoreChoice {
            store_id: id,
            store_name: s.store_name,
            subtotal: s.subtotal.display(),
            methods,
            chosen,
        });
    }
    Ok(out)
}

/// Renders the checkout page for `form`, with a totals preview when the form says
/// enough to price it.
async fn checkout_page(
    state: &WebState,
    ctx: PageContext,
    user: &CurrentUser,
    mut form: CheckoutForm,
    mut errors: FormErrors,
) -> Response {
    let addresses = state
        .identity
        .addresses(&user.access_token)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    if form.address_id.is_empty() {
        form.address_id = addresses
            .iter()
            .find(|a| a.is_default_shipping)
            .or(addresses.first())
            .map_or_else(|| "new".to_owned(), |a| a.id.to_string());
    }
    if form.key.is_empty() {
        form.key = kernel::secret::random_token();
    }
    let stores = match store_choices(state, user, &form).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "checkout cannot read the cart");
            return error_page(&ctx, 503, "Checkout is not available right now.");
        }
    };
    if stores.is_empty() {
        return redirect_with_flash("/cart", "Your cart is empty.", state.secure_cookies);
    }
    let priceable = form.address_id != "new" || !form.country.trim().is_empty();
    let mut preview = None;
    if priceable {
        let mut req = form.request(&addresses, &stores);
        req.card_number.clear();
        req.expected_total_minor = None;
        match state.orders.preview(&user.access_token, &req).await {
            Ok(p) => {
                form.expected_total = p.total.amount_minor.to_string();
                preview = Some(p);
            }
            Err(e) if errors.general.is_none() => match form_errors(&ctx, e) {
                Ok(found) => errors = found,
                Err(page) => return page,
            },
            Err(_) => {}
        }
    }
    page(&CheckoutPage {
        ctx,
        title: "Checkout".into(),
        form,
        addresses,
        stores,
        preview,
        errors,
    })
}

pub async fn checkout_form(State(state): State<WebState>, ctx: PageContext) -> Response {
    let user = match require_user(&ctx, "/checkout") {
        Ok(u) => u,
        Err(r) => return r,
    };
    checkout_page(
        &state,
        ctx,
        &user,
        CheckoutForm::default(),
        FormErrors::default(),
    )
    .await
}

/// "Update totals": the page again with the choices made.
pub async fn preview(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<CheckoutForm>,
) -> Response {
    let user = match require_user(&ctx, "/checkout") {
        Ok(u) => u,
        Err(r) => return r,
    };
    checkout_page(&state, ctx, &user, form, FormErrors::default()).await
}

/// "Pay": the checkout runs; a card refusal or a change comes back to the page, the
/// cart untouched.
pub async fn place_order(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<CheckoutForm>,
) -> Response {
    let user = match require_user(&ctx, "/checkout") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let addresses = state
        .identity
        .addresses(&user.access_token)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let stores = match store_choices(&state, &user, &form).await {
        Ok(s) => s,
        Err(_) => return error_page(&ctx, 503, "Checkout is not available right now."),
    };
    if form.key.is_empty() {
        return error_page(
            &ctx,
            400,
            "That checkout form is out of date; please try again.",
        );
    }
    let req = form.request(&addresses, &stores);
    match state
        .orders
        .checkout(&user.access_token, &form.key, &req)
        .await
    {
        Ok(view) => after_checkout(&state, &view),
        Err(e) => {
            let errors = match form_errors(&ctx, e) {
                Ok(errors) => errors,
                Err(page) => return page,
            };
            // A new attempt is a new checkout; the card number is not kept.
            let retry = CheckoutForm {
                key: String::new(),
                card_number: String::new(),
                expected_total: String::new(),
                ..form
            };
            checkout_page(&state, ctx, &user, retry, errors).await
        }
    }
}

fn after_checkout(state: &WebState, view: &CheckoutView) -> Response {
    match (&view.order, &view.next_action_url) {
        (Some(order), _) => redirect_with_flash(
            &format!("/orders/{}", order.id),
            &format!("Thank you! Your order {} is placed.", order.number),
            state.secure_cookies,
        ),
        (None, Some(url)) => Redirect::to(url).into_response(),
        (None, None) => Redirect::to(&format!("/checkout/{}", view.id)).into_response(),
    }
}

#[derive(Template)]
#[template(path = "checkout_wait.html")]
struct WaitPage {
    ctx: PageContext,
    title: String,
    failed: Option<String>,
}

/// Where a confirmation step returns: on to the order once paid, the reason if not,
/// and a page that refreshes itself meanwhile.
pub async fn checkout_return(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<CheckoutId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/checkout/{id}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.orders.checkout_status(&user.access_token, &id).await {
        Ok(v) if v.order.is_some() => after_checkout(&state, &v),
        Ok(v) if v.status == "failed" => page(&WaitPage {
            ctx,
            title: "Payment not completed".into(),
            failed: Some(
                v.failure_message
                    .unwrap_or_else(|| "The payment did not go through.".into()),
            ),
        }),
        Ok(_) => page(&WaitPage {
            ctx,
            title: "Confirming your payment".into(),
            failed: None,
        }),
        Err(_) => error_page(&ctx, 404, "We could not find that checkout."),
    }
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    ctx: PageContext,
    title: String,
    orders: Vec<OrderView>,
}

pub async fn my_orders(State(state): State<WebState>, ctx: PageContext) -> Response {
    let user = match require_user(&ctx, "/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.orders.my_orders(&user.access_token).await {
        Ok(list) => page(&OrdersPage {
            ctx,
            title: "Your orders".into(),
            orders: list.items,
        }),
        Err(_) => error_page(&ctx, 503, "Your orders cannot be shown right now."),
    }
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    ctx: PageContext,
    title: String,
    order: OrderView,
    /// Where each sub-order's actions post (`/orders/sub-orders` for customers).
    actions: String,
    admin: bool,
}

pub async fn order_detail(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<OrderId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/orders/{id}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    show_order(&state, ctx, &user, &id, false).await
}

/// An order's page, for its customer or (with refunds and cancellations) an admin.
pub async fn show_order(
    state: &WebState,
    ctx: PageContext,
    user: &CurrentUser,
    id: &OrderId,
    admin: bool,
) -> Response {
    match state.orders.order(&user.access_token, id).await {
        Ok(order) => page(&OrderPage {
            ctx,
            title: format!("Order {}", order.number),
            order,
            actions: if admin {
                "/admin/sub-orders"
            } else {
                "/orders/sub-orders"
            }
            .into(),
            admin,
        }),
        Err(_) => error_page(&ctx, 404, "We could not find that order."),
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
}

/// The customer cancels a sub-order that has not shipped: refunded and restocked.
pub async fn cancel(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<SubOrderId>,
    CsrfForm(form): CsrfForm<CancelForm>,
) -> Response {
    let user = match require_user(&ctx, "/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = ActionRequest {
        tracking_number: None,
        reason: Some(form.reason).filter(|r| !r.trim().is_empty()),
    };
    match state
        .orders
        .act(&user.access_token, &id, "cancel", &req)
        .await
    {
        Ok(d) => redirect_with_flash(
            &format!("/orders/{}", d.order.id),
            &format!(
                "{} is cancelled; {} will be refunded.",
                d.sub_order.number,
                d.sub_order.refunded.display()
            ),
            state.secure_cookies,
        ),
        Err(e) => redirect_with_flash("/orders", &refusal(&e), state.secure_cookies),
    }
}
