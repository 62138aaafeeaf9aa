//! Pages for what selling needs set up: a store's shipping methods and promotion codes
//! (its people), the platform's tax rates and promotion codes (admins).

use super::PagePath;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use contracts::promotions::dto::{PromotionRequest, PromotionView};
use contracts::shipping::dto::{MethodRequest, MethodView};
use contracts::shipping::{Band, MethodId};
use contracts::tax::dto::{RateRequest, RateView, TaxSettings};
use contracts::vendors::StoreId;
use kernel::http::client::ClientError;
use kernel::money::{Currency, Money};
use serde::Deserialize;

use super::{error_page, page, redirect_with_flash, refusal, require_admin, require_user};
use crate::WebState;
use crate::session::{CsrfForm, CurrentUser, PageContext};

/// "FR, be" → ["FR", "BE"].
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// A decimal amount as typed, in minor units of `currency` (None when empty).
fn amount(text: &str, currency: &str) -> Result<Option<i64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let c = Currency::parse(currency).map_err(|m| format!("Currency {m}."))?;
    Money::parse_decimal(text, c)
        .map(|m| Some(m.amount_minor))
        .map_err(|m| format!("The amount {m}."))
}

#[derive(Template)]
#[template(path = "vendor_shipping.html")]
struct ShippingPage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    methods: Vec<MethodView>,
}

pub async fn shipping(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
) -> Response {
    let here = format!("/vendor/stores/{store}/shipping");
    if let Err(r) = require_user(&ctx, &here) {
        return r;
    }
    match state.shipping.methods(&store).await {
        Ok(list) => page(&ShippingPage {
            title: "Shipping methods".into(),
            store_id: store,
            methods: list.items,
            ctx,
        }),
        Err(_) => error_page(&ctx, 503, "Shipping methods cannot be shown right now."),
    }
}

#[derive(Deserialize)]
pub struct MethodForm {
    name: String,
    kind: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    free_over: String,
    /// "500:3.00, 2000:7.00": up to grams, price.
    #[serde(default)]
    bands: String,
    #[serde(default)]
    countries: String,
}

fn method_request(form: &MethodForm) -> Result<MethodRequest, String> {
    let currency = if form.currency.trim().is_empty() {
        "EUR"
    } else {
        form.currency.trim()
    };
    let mut bands = Vec::new();
    for part in form
        .bands
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (grams, price) = part
            .split_once(':')
            .ok_or("Write weight bands as grams:price, e.g. 500:3.00, 2000:7.00.")?;
        bands.push(Band {
            up_to_grams: grams
                .trim()
                .parse()
                .map_err(|_| "Band weights are whole grams.")?,
            price_minor: amount(price, currency)?.unwrap_or(0),
        });
    }
    Ok(MethodRequest {
        name: form.name.clone(),
        kind: form.kind.clone(),
        countries: list(&form.countries),
        currency: currency.to_owned(),
        price_minor: amount(&form.price, currency)?,
        free_over_minor: amount(&form.free_over, currency)?,
        bands,
        position: 0,
    })
}

pub async fn add_method(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
    CsrfForm(form): CsrfForm<MethodForm>,
) -> Response {
    let here = format!("/vendor/stores/{store}/shipping");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match method_request(&form) {
        Ok(req) => match state
            .shipping
            .create(&user.access_token, &store, &req)
            .await
        {
            Ok(m) => format!("Added {}.", m.name),
            Err(e) => format!("Not added. {}", refusal(&e)),
        },
        Err(m) => format!("Not added. {m}"),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}

pub async fn delete_method(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((store, method)): PagePath<(StoreId, MethodId)>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    let here = format!("/vendor/stores/{store}/shipping");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match state.shipping.delete(&user.access_token, method).await {
        Ok(()) => "Removed.".to_owned(),
        Err(e) => format!("Not removed. {}", refusal(&e)),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}

#[derive(Template)]
#[template(path = "promotions.html")]
struct PromotionsPage {
    ctx: PageContext,
    title: String,
    action: String,
    promotions: Vec<PromotionView>,
}

#[derive(Deserialize)]
pub struct PromotionForm {
    code: String,
    kind: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    min_subtotal: String,
    #[serde(default)]
    usage_limit: String,
    #[serde(default)]
    per_customer_limit: String,
    #[serde(default)]
    first_order_only: Option<String>,
}

fn promotion_request(form: &PromotionForm) -> Result<PromotionRequest, String> {
    let currency = if form.currency.trim().is_empty() {
        "EUR"
    } else {
        form.currency.trim()
    };
    let limit = |text: &str| -> Result<Option<i32>, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            text.trim()
                .parse()
                .map(Some)
                .map_err(|_| "Limits are whole numbers.".to_owned())
        }
    };
    let fixed = amount(&form.amount, currency)?;
    Ok(PromotionRequest {
        code: form.code.clone(),
        kind: form.kind.clone(),
        percent: Some(form.percent.clone()).filter(|p| !p.trim().is_empty()),
        amount: match (fixed, Currency::parse(currency)) {
            (Some(amount_minor), Ok(c)) => Some(Money {
                amount_minor,
                currency: c,
            }),
            _ => None,
        },
        min_subtotal_minor: amount(&form.min_subtotal, currency)?.unwrap_or(0),
        starts_at: None,
        ends_at: None,
        categories: Vec::new(),
        products: Vec::new(),
        usage_limit: limit(&form.usage_limit)?,
        per_customer_limit: limit(&form.per_customer_limit)?,
        first_order_only: form.first_order_only.is_some(),
    })
}

async fn promotions_page(
    state: &WebState,
    ctx: PageContext,
    user: &CurrentUser,
    store: Option<&StoreId>,
) -> Response {
    match state.promotions.list(&user.access_token, store).await {
        Ok(list) => page(&PromotionsPage {
            title: if store.is_some() {
                "Store promotions"
            } else {
                "Platform promotions"
            }
            .into(),
            action: match store {
                Some(s) => format!("/vendor/stores/{s}/promotions"),
                None => "/admin/promotions".into(),
            },
            promotions: list.items,
            ctx,
        }),
        Err(ClientError::Problem(p)) if p.status == 403 => {
            error_page(&ctx, 403, "You do not run this store.")
        }
        Err(_) => error_page(&ctx, 503, "Promotions cannot be shown right now."),
    }
}

async fn add_promotion(
    state: &WebState,
    user: &CurrentUser,
    store: Option<&StoreId>,
    form: &PromotionForm,
) -> String {
    match promotion_request(form) {
        Ok(req) => match state
            .promotions
            .create(&user.access_token, store, &req)
            .await
        {
            Ok(p) => format!("Created {}.", p.code),
            Err(e) => format!("Not created. {}", refusal(&e)),
        },
        Err(m) => format!("Not created. {m}"),
    }
}

pub async fn store_promotions(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store}/promotions")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    promotions_page(&state, ctx, &user, Some(&store)).await
}

pub async fn add_store_promotion(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
    CsrfForm(form): CsrfForm<PromotionForm>,
) -> Response {
    let here = format!("/vendor/stores/{store}/promotions");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = add_promotion(&state, &user, Some(&store), &form).await;
    redirect_with_flash(&here, &message, state.secure_cookies)
}

pub async fn platform_promotions(State(state): State<WebState>, ctx: PageContext) -> Response {
    let user = match require_admin(&ctx, "/admin/promotions") {
        Ok(u) => u,
        Err(r) => return r,
    };
    promotions_page(&state, ctx, &user, None).await
}

pub async fn add_platform_promotion(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<PromotionForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/promotions") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = add_promotion(&state, &user, None, &form).await;
    redirect_with_flash("/admin/promotions", &message, state.secure_cookies)
}

#[derive(Template)]
#[template(path = "admin_tax.html")]
struct TaxPage {
    ctx: PageContext,
    title: String,
    rates: Vec<RateView>,
    prices_include_tax: bool,
}

pub async fn tax(State(state): State<WebState>, ctx: PageContext) -> Response {
    if let Err(r) = require_admin(&ctx, "/admin/tax") {
        return r;
    }
    let (rates, settings) = tokio::join!(state.tax.rates(), state.tax.settings());
    match (rates, settings) {
        (Ok(rates), Ok(settings)) => page(&TaxPage {
            title: "Tax rates".into(),
            rates: rates.items,
            prices_include_tax: settings.prices_include_tax,
            ctx,
        }),
        _ => error_page(&ctx, 503, "Tax rates cannot be shown right now."),
    }
}

#[derive(Deserialize)]
pub struct RateForm {
    country: String,
    #[serde(default)]
    region: String,
    rate: String,
}

pub async fn set_rate(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<RateForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/tax") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = RateRequest {
        rate: form.rate,
        region: Some(form.region).filter(|r| !r.trim().is_empty()),
    };
    let message = match state
        .tax
        .set_rate(&user.access_token, &form.country, &req)
        .await
    {
        Ok(r) => format!(
            "{}{} is taxed at {} %.",
            r.country,
            if r.region.is_empty() {
                String::new()
            } else {
                format!("-{}", r.region)
            },
            r.rate
        ),
        Err(e) => format!("Not saved. {}", refusal(&e)),
    };
    redirect_with_flash("/admin/tax", &message, state.secure_cookies)
}

#[derive(Deserialize)]
pub struct InclusiveForm {
    #[serde(default)]
    prices_include_tax: Option<String>,
}

pub async fn set_inclusive(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<InclusiveForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/tax") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let settings = TaxSettings {
        prices_include_tax: form.prices_include_tax.is_some(),
    };
    let message = match state.tax.set_settings(&user.access_token, &settings).await {
        Ok(s) if s.prices_include_tax => "Prices now include tax.".to_owned(),
        Ok(_) => "Tax is now added to prices.".to_owned(),
        Err(e) => format!("Not saved. {}", refusal(&e)),
    };
    redirect_with_flash("/admin/tax", &message, state.secure_cookies)
}
