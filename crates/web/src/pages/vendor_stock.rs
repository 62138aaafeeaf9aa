//! A product's stock editor: each variant's units per location, adjustments with a
//! reason, and the store's locations.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use contracts::catalog::VariantId;
use contracts::inventory::LocationId;
use contracts::inventory::dto::{AdjustmentRequest, LevelView};
use contracts::vendors::StoreId;
use serde::Deserialize;

use super::{PagePath, error_page, login_redirect, page, redirect_with_flash, refusal};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};
use contracts::catalog::ProductId;

pub struct VariantStock {
    pub id: String,
    pub sku: String,
    pub label: String,
    pub available: i64,
    pub levels: Vec<LevelView>,
}

#[derive(Template)]
#[template(path = "vendor_stock.html")]
struct StockPage {
    ctx: PageContext,
    title: String,
    product_id: String,
    product_title: String,
    store_id: String,
    variants: Vec<VariantStock>,
    locations: Vec<(String, String)>,
}

pub async fn stock(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<ProductId>,
) -> Response {
    let here = format!("/vendor/products/{id}/stock");
    let Some(user) = ctx.user.clone() else {
        return login_redirect(&here);
    };
    let token = user.access_token.as_str();
    let product = match state.catalog.product(id, Some(token)).await {
        Ok(p) if user.manages(p.store.id) => p,
        Ok(_) => return error_page(&ctx, 403, "You do not manage this store."),
        Err(_) => return error_page(&ctx, 404, "We could not find that product."),
    };
    let locations = match state.inventory.locations(token, &product.store.id).await {
        Ok(l) => l.items,
        Err(_) => return error_page(&ctx, 503, "Stock cannot be shown right now."),
    };
    let mut variants = Vec::new();
    for v in &product.variants {
        let stock = match state.inventory.stock(token, v.id).await {
            Ok(s) => s,
            Err(_) => return error_page(&ctx, 503, "Stock cannot be shown right now."),
        };
        variants.push(VariantStock {
            id: v.id.to_string(),
            sku: v.sku.clone(),
            label: super::shop::option_label(&v.options),
            available: stock.available,
            levels: stock.locations,
        });
    }
    page(&StockPage {
        title: format!("Stock of {}", product.title),
        product_id: product.id.to_string(),
        product_title: product.title,
        store_id: product.store.id.to_string(),
        variants,
        locations: locations
            .into_iter()
            .map(|l| (l.id.to_string(), l.name))
            .collect(),
        ctx,
    })
}

#[derive(Deserialize)]
pub struct AdjustForm {
    variant_id: String,
    location_id: String,
    #[serde(default)]
    delta: String,
    #[serde(default)]
    reason: String,
}

pub async fn adjust(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(key): PagePath<ProductId>,
    CsrfForm(form): CsrfForm<AdjustForm>,
) -> Response {
    let here = format!("/vendor/products/{key}/stock");
    let Some(user) = ctx.user.clone() else {
        return login_redirect(&here);
    };
    let (Ok(variant), Ok(location)) = (
        form.variant_id.parse::<VariantId>(),
        form.location_id.parse::<LocationId>(),
    ) else {
        return redirect_with_flash(
            &here,
            "Choose a variant and a location.",
            state.secure_cookies,
        );
    };
    let Ok(delta) = form.delta.trim().trim_start_matches('+').parse::<i64>() else {
        return redirect_with_flash(
            &here,
            "Change: a whole number of units, negative to remove.",
            state.secure_cookies,
        );
    };
    let req = AdjustmentRequest {
        location_id: location,
        delta,
        reason: form.reason,
    };
    let message = match state
        .inventory
        .adjust(&user.access_token, variant, &req)
        .await
    {
        Ok(s) => format!("Saved: {} available.", s.available),
        Err(e) => format!("Not saved. {}", refusal(&e)),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}

#[derive(Deserialize)]
pub struct LocationForm {
    store_id: String,
    name: String,
}

pub async fn add_location(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(key): PagePath<ProductId>,
    CsrfForm(form): CsrfForm<LocationForm>,
) -> Response {
    let here = format!("/vendor/products/{key}/stock");
    let Some(user) = ctx.user.clone() else {
        return login_redirect(&here);
    };
    let Ok(store) = form.store_id.parse::<StoreId>() else {
        return redirect_with_flash(&here, "Choose a store.", state.secure_cookies);
    };
    let message = match state
        .inventory
        .create_location(&user.access_token, &store, &form.name)
        .await
    {
        Ok(l) => format!("Added the location {}.", l.name),
        Err(e) => format!("Not added. {}", refusal(&e)),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}
