//! The cart page: lines with quantities (htmx updates in place), notices of what
//! changed, per-store subtotals; "Add to cart" from product pages. A guest's cart lives
//! behind the `em_cart` cookie and joins the customer's cart at sign-in.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, header::SET_COOKIE};
use axum::response::Response;
use contracts::cart::CartOf;
use contracts::cart::dto::CartView;
use contracts::catalog::VariantId;
use kernel::http::client::ClientError;
use serde::Deserialize;

use super::{PagePath, error_page, page, redirect_with_flash};
use crate::WebState;
use crate::session::{CsrfForm, PageContext, clear_cookie, cookie, set_cookie};

/// The guest cart's token.
pub const CART_COOKIE: &str = "em_cart";
const CART_COOKIE_MAX_AGE: u64 = 30 * 86_400;

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    ctx: PageContext,
    title: String,
    cart: CartView,
}

#[derive(Template)]
#[template(path = "cart_partial.html")]
struct CartPartial {
    ctx: PageContext,
    cart: CartView,
}

fn who<'a>(ctx: &'a PageContext, guest: Option<&'a str>) -> Option<CartOf<'a>> {
    match (&ctx.user, guest) {
        (Some(u), _) => Some(CartOf::Customer(&u.access_token)),
        (None, Some(g)) => Some(CartOf::Guest(g)),
        (None, None) => None,
    }
}

fn empty() -> CartView {
    CartView {
        lines: Vec::new(),
        stores: Vec::new(),
        subtotal: None,
        item_count: 0,
    }
}

pub async fn view(State(state): State<WebState>, ctx: PageContext, headers: HeaderMap) -> Response {
    let guest = cookie(&headers, CART_COOKIE);
    let cart = match who(&ctx, guest.as_deref()) {
        Some(w) => match state.cart.view(w).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cart unavailable");
                return error_page(&ctx, 503, "Your cart cannot be shown right now.");
            }
        },
        None => empty(),
    };
    page(&CartPage {
        title: "Your cart".into(),
        cart,
        ctx,
    })
}

#[derive(Deserialize)]
pub struct AddForm {
    variant_id: String,
    #[serde(default)]
    quantity: Option<i64>,
}

/// Adds to the cart (creating a guest cart when needed) and shows it.
pub async fn add(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Response {
    let Ok(variant) = form.variant_id.parse::<VariantId>() else {
        return error_page(&ctx, 404, "We could not find that item.");
    };
    let mut set = HeaderMap::new();
    let guest = match (&ctx.user, cookie(&headers, CART_COOKIE)) {
        (Some(_), _) => None,
        (None, Some(g)) => Some(g),
        (None, None) => match state.cart.guest_token().await {
            Ok(t) => {
                set.append(
                    SET_COOKIE,
                    set_cookie(
                        CART_COOKIE,
                        &t.cart_token,
                        Some(CART_COOKIE_MAX_AGE),
                        state.secure_cookies,
                    ),
                );
                Some(t.cart_token)
            }
            Err(_) => return error_page(&ctx, 503, "Your cart cannot be changed right now."),
        },
    };
    let Some(w) = who(&ctx, guest.as_deref()) else {
        return error_page(&ctx, 503, "Your cart cannot be changed right now.");
    };
    let current = state
        .cart
        .view(w)
        .await
        .ok()
        .and_then(|c| {
            c.lines
                .iter()
                .find(|l| l.variant_id == variant)
                .map(|l| i64::from(l.quantity))
        })
        .unwrap_or(0);
    let wanted = current + form.quantity.unwrap_or(1).clamp(1, 999);
    let message = match state.cart.set(w, variant, wanted).await {
        Ok(_) => "Added to your cart.".to_owned(),
        Err(e) => refusal(&e),
    };
    let mut response = redirect_with_flash("/cart", &message, state.secure_cookies);
    for (name, value) in &set {
        response.headers_mut().append(name, value.clone());
    }
    response
}

fn refusal(e: &ClientError) -> String {
    match e {
        ClientError::Problem(p) if p.status < 500 => match &p.detail {
            Some(d) => format!("{} — {d}.", p.title.trim_end_matches('.')),
            None => format!("{}.", p.title),
        },
        _ => "Your cart cannot be changed right now.".into(),
    }
}

#[derive(Deserialize)]
pub struct QuantityForm {
    quantity: i64,
}

/// Changes a line's quantity (0 removes it); htmx swaps the cart in place.
pub async fn set_line(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    PagePath(variant): PagePath<VariantId>,
    CsrfForm(form): CsrfForm<QuantityForm>,
) -> Response {
    let guest = cookie(&headers, CART_COOKIE);
    let Some(w) = who(&ctx, guest.as_deref()) else {
        return redirect_with_flash(
            "/cart",
            "That item is not in your cart.",
            state.secure_cookies,
        );
    };
    let result = state
        .cart
        .set(w, variant, form.quantity.clamp(0, 999))
        .await;
    if headers.contains_key("hx-request") {
        let (cart, message) = match result {
            Ok(c) => (c, None),
            Err(e) => (
                state.cart.view(w).await.unwrap_or_else(|_| empty()),
                Some(refusal(&e)),
            ),
        };
        let mut ctx = ctx;
        ctx.flash = message;
        return page(&CartPartial { ctx, cart });
    }
    let message = match result {
        Ok(_) => "Your cart is updated.".to_owned(),
        Err(e) => refusal(&e),
    };
    redirect_with_flash("/cart", &message, state.secure_cookies)
}

/// At sign-in: the guest cart joins the customer's, and the cookie goes.
pub async fn merge_guest_cart(
    state: &WebState,
    headers: &HeaderMap,
    access_token: &str,
    out: &mut HeaderMap,
) {
    let Some(guest) = cookie(headers, CART_COOKIE) else {
        return;
    };
    match state.cart.merge(access_token, &guest).await {
        Ok(_) => {
            out.append(SET_COOKIE, clear_cookie(CART_COOKIE));
        }
        Err(e) => {
            tracing::warn!(error = %e, "guest cart not merged; it stays for the next sign-in")
        }
    }
}
