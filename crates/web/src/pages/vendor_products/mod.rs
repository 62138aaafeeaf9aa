//! A vendor's products: the list, the create/edit form with variants, image upload,
//! and status changes (publish, unpublish, archive, restore).

mod csv;
mod editing;
mod form;

pub use csv::*;
pub(super) use editing::multipart_file;
pub use editing::*;
pub use form::*;

use contracts::vendors::StoreId;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use contracts::catalog::ProductId;
use contracts::catalog::dto::{
    CategoryNode, ImageRequest, ProductCard, ProductRequest, ProductView, VariantRequest,
};
use kernel::http::FieldError;
use kernel::http::Problem;
use kernel::http::client::ClientError;
use kernel::money::{Currency, Money};
use serde::Deserialize;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::{
    FormErrors, PagePath, error_page, page, redirect_with_flash, render, require_user, rerender,
};
use crate::WebState;
use crate::session::{CsrfForm, CsrfUpload, CurrentUser, PageContext};

/// Empty variant rows the form offers beyond the product's own.
const SPARE_VARIANT_ROWS: usize = 2;

fn failed(ctx: &PageContext, e: &ClientError) -> Response {
    match e {
        ClientError::Problem(p) if p.status == 403 => {
            error_page(ctx, 403, "You do not manage this store.")
        }
        ClientError::Problem(p) if p.status == 404 => error_page(
            ctx,
            404,
            "We could not find that page. It may have moved, or the link may be wrong.",
        ),
        other => {
            tracing::error!(error = %other, "vendor page call failed");
            error_page(
                ctx,
                503,
                "That cannot be shown right now. Please try again.",
            )
        }
    }
}

pub struct ProductLine {
    pub id: String,
    pub title: String,
    pub status: String,
    pub price: String,
    pub image: Option<String>,
}

impl From<ProductCard> for ProductLine {
    fn from(p: ProductCard) -> Self {
        Self {
            id: p.id.to_string(),
            title: p.title,
            status: p.status,
            price: p.price_from.display(),
            image: p.image_url,
        }
    }
}

#[derive(Template)]
#[template(path = "vendor_products.html")]
struct ProductsPage {
    ctx: PageContext,
    title: String,
    store_id: String,
    store_name: String,
    store_slug: String,
    products: Vec<ProductLine>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store_id): PagePath<StoreId>,
    Query(q): Query<CursorQuery>,
) -> Response {
    let here = format!("/vendor/stores/{store_id}/products");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let (store, products) = tokio::join!(
        state.vendors.store(&store_id, Some(token)),
        state
            .catalog
            .store_products(token, &store_id, q.cursor.as_deref())
    );
    let (store, products) = match (store, products) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(e), _) | (_, Err(e)) => return failed(&ctx, &e),
    };
    page(&ProductsPage {
        title: format!("{} · Products", store.name),
        store_id: store.id.to_string(),
        store_name: store.name,
        store_slug: store.slug,
        next: products.next_cursor.map(|c| {
            format!(
                "{here}?{}",
                serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()
            )
        }),
        products: products.items.into_iter().map(ProductLine::from).collect(),
        ctx,
    })
}
