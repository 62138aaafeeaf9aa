//! Admin pages for the catalog: the category editor, product moderation, and store
//! commissions.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use contracts::catalog::dto::{CategoryNode, CreateCategory, MoveCategory, UpdateCategory};
use contracts::catalog::{CategoryId, ProductId};
use contracts::vendors::StoreId;
use serde::Deserialize;

use super::shop::{Tile, money};
use super::{PagePath, error_page, page, redirect_with_flash, refusal, require_admin};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};

/// A category in the editor, flattened with its depth.
pub struct CategoryLine {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub position: i32,
    pub depth: usize,
    pub parent: String,
}

fn lines(nodes: &[CategoryNode], depth: usize, parent: &str, out: &mut Vec<CategoryLine>) {
    for n in nodes {
        let id = n.id.to_string();
        out.push(CategoryLine {
            id: id.clone(),
            name: n.name.clone(),
            slug: n.slug.clone(),
            position: n.position,
            depth,
            parent: parent.to_owned(),
        });
        lines(&n.children, depth + 1, &id, out);
    }
}

#[derive(Template)]
#[template(path = "admin_categories.html")]
struct CategoriesPage {
    ctx: PageContext,
    title: String,
    categories: Vec<CategoryLine>,
}

pub async fn categories(State(state): State<WebState>, ctx: PageContext) -> Response {
    if let Err(r) = require_admin(&ctx, "/admin/categories") {
        return r;
    }
    match state.catalog.categories().await {
        Ok(tree) => {
            let mut out = Vec::new();
            lines(&tree.items, 0, "", &mut out);
            page(&CategoriesPage {
                title: "Categories".into(),
                categories: out,
                ctx,
            })
        }
        Err(_) => error_page(&ctx, 503, "The categories cannot be shown right now."),
    }
}

fn parse_category(raw: &str) -> Option<CategoryId> {
    raw.parse().ok()
}

#[derive(Deserialize)]
pub struct NewCategoryForm {
    name: String,
    slug: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    position: String,
}

pub async fn create_category(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<NewCategoryForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/categories") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = CreateCategory {
        name: form.name,
        slug: form.slug,
        parent_id: parse_category(&form.parent_id),
        position: form.position.trim().parse().unwrap_or(0),
    };
    let message = match state
        .catalog
        .create_category(&user.access_token, &req)
        .await
    {
        Ok(c) => format!("Added {}.", c.name),
        Err(e) => format!("Not added. {}", refusal(&e)),
    };
    redirect_with_flash("/admin/categories", &message, state.secure_cookies)
}

#[derive(Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    parent_id: String,
}

/// Rename (`save`), move under another parent (`move`) or delete (`delete`).
pub async fn category_action(
    State(state): State<WebState>,
    ctx: PageContext,
    Path((key, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<CategoryForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/categories") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(id) = parse_category(&key) else {
        return error_page(&ctx, 404, "No such category.");
    };
    let token = user.access_token.as_str();
    let position = form.position.trim().parse().ok();
    let result = match action.as_str() {
        "save" => state
            .catalog
            .update_category(
                token,
                id,
                &UpdateCategory {
                    name: Some(form.name),
                    slug: Some(form.slug),
                    position,
                },
            )
            .await
            .map(|c| format!("Saved {}.", c.name)),
        "move" => state
            .catalog
            .move_category(
                token,
                id,
                &MoveCategory {
                    parent_id: parse_category(&form.parent_id),
                    position: position.unwrap_or(0),
                },
            )
            .await
            .map(|c| format!("Moved {}.", c.name)),
        "delete" => state
            .catalog
            .delete_category(token, id)
            .await
            .map(|()| "Deleted.".to_owned()),
        _ => return error_page(&ctx, 404, "No such action."),
    };
    let message = result.unwrap_or_else(|e| format!("Not done. {}", refusal(&e)));
    redirect_with_flash("/admin/categories", &message, state.secure_cookies)
}

pub struct ModeratedLine {
    pub id: String,
    pub title: String,
    pub store: String,
    pub price: String,
}

#[derive(Template)]
#[template(path = "admin_products.html")]
struct ProductsPage {
    ctx: PageContext,
    title: String,
    q: String,
    results: Vec<(String, Tile)>,
    moderated: Vec<ModeratedLine>,
}

#[derive(Deserialize)]
pub struct ProductsQuery {
    #[serde(default)]
    q: String,
}

/// Find published products to take down, and the ones taken down to release.
pub async fn products(
    State(state): State<WebState>,
    ctx: PageContext,
    Query(query): Query<ProductsQuery>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/products") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q: String = query.q.chars().take(200).collect();
    let search = format!(
        "per_page=30&{}",
        serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default()
    );
    let (found, moderated) = tokio::join!(
        state.search.search(&search),
        state.catalog.moderated(&user.access_token)
    );
    let (found, moderated) = match (found, moderated) {
        (Ok(f), Ok(m)) => (f, m),
        _ => return error_page(&ctx, 503, "Products cannot be shown right now."),
    };
    page(&ProductsPage {
        title: "Product moderation".into(),
        results: found
            .items
            .into_iter()
            .map(|c| (c.id.clone(), Tile::from(c)))
            .collect(),
        moderated: moderated
            .items
            .into_iter()
            .map(|p| ModeratedLine {
                id: p.id.to_string(),
                title: p.title,
                store: p.store.name,
                price: money(p.price_from.amount_minor, p.price_from.currency.code()),
            })
            .collect(),
        q,
        ctx,
    })
}

#[derive(Deserialize)]
pub struct TakeDownForm {
    #[serde(default)]
    reason: String,
}

/// `unpublish` (with a reason the vendor sees) or `release`.
pub async fn product_action(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((id, action)): PagePath<(ProductId, String)>,
    CsrfForm(form): CsrfForm<TakeDownForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/products") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let result = match action.as_str() {
        "unpublish" => state
            .catalog
            .moderate(token, id, &form.reason)
            .await
            .map(|p| format!("{} is off the storefront; its vendor sees why.", p.title)),
        "release" => state
            .catalog
            .release(token, id)
            .await
            .map(|p| format!("{} may be published again by its vendor.", p.title)),
        _ => return error_page(&ctx, 404, "No such action."),
    };
    let message = result.unwrap_or_else(|e| format!("Not done. {}", refusal(&e)));
    redirect_with_flash("/admin/products", &message, state.secure_cookies)
}

#[derive(Deserialize)]
pub struct CommissionForm {
    #[serde(default)]
    percent: String,
}

/// Sets a store's commission from a percentage ("12.5"); empty means the platform
/// default.
pub async fn set_commission(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
    CsrfForm(form): CsrfForm<CommissionForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/stores") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let bps = match parse_percent(&form.percent) {
        Ok(bps) => bps,
        Err(message) => {
            return redirect_with_flash(
                "/admin/stores?status=approved",
                message,
                state.secure_cookies,
            );
        }
    };
    let message = match state
        .vendors
        .set_commission(&user.access_token, &id, bps)
        .await
    {
        Ok(s) => format!(
            "{} now pays {}.",
            s.name,
            s.commission_bps
                .map(|b| super::admin::percent(i64::from(b)))
                .unwrap_or_default()
        ),
        Err(e) => format!("Not changed. {}", refusal(&e)),
    };
    redirect_with_flash(
        "/admin/stores?status=approved",
        &message,
        state.secure_cookies,
    )
}

/// "12.5" or "12.5 %" as basis points; empty is `None`.
fn parse_percent(text: &str) -> Result<Option<i64>, &'static str> {
    let text = text.trim().trim_end_matches('%').trim();
    if text.is_empty() {
        return Ok(None);
    }
    // Basis points are hundredths of a percent.
    kernel::money::parse_fixed_point(text, 2)
        .map(Some)
        .map_err(|_| "Commission: write a percentage such as 12.5.")
}

/// The platform's default commission, which stores without their own rate pay.
pub async fn set_default_commission(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<CommissionForm>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/stores") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match parse_percent(&form.percent) {
        Ok(Some(bps)) => match state
            .vendors
            .set_default_commission(&user.access_token, bps)
            .await
        {
            Ok(d) => format!(
                "The platform default is now {}.",
                super::admin::percent(d.default_commission_bps)
            ),
            Err(e) => format!("Not changed. {}", refusal(&e)),
        },
        Ok(None) => "Commission: write a percentage such as 12.5.".to_owned(),
        Err(m) => m.to_owned(),
    };
    redirect_with_flash(
        "/admin/stores?status=approved",
        &message,
        state.secure_cookies,
    )
}
