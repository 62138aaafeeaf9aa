//! Admin pages: users (suspend, reactivate) and stores (review, suspend, reinstate).

use super::PagePath;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use contracts::identity::dto::UserView;
use contracts::vendors::StoreId;
use serde::Deserialize;

use super::auth::EmptyForm;
use super::{error_page, login_redirect, page, redirect_with_flash, render};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};
use kernel::ids::UserId;

/// One table row, ready to display.
pub struct UserRow {
    id: String,
    email: String,
    name: String,
    roles: String,
    status: String,
    action: &'static str,
    action_label: &'static str,
    is_self: bool,
}

fn row(u: UserView, me: UserId) -> UserRow {
    let suspended = u.status == "suspended";
    UserRow {
        id: u.id.to_string(),
        is_self: u.id == me,
        email: u.email,
        name: u.name,
        roles: u
            .roles
            .iter()
            .map(|r| {
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", "),
        status: u.status,
        action: if suspended { "reactivate" } else { "suspend" },
        action_label: if suspended { "Reactivate" } else { "Suspend" },
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ctx: PageContext,
    title: String,
    csrf: String,
    q: String,
    users: Vec<UserRow>,
    next_cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_user_row_only.html")]
struct UserRowFragment {
    u: UserRow,
    csrf: String,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    cursor: Option<String>,
}

pub async fn users(
    State(state): State<WebState>,
    ctx: PageContext,
    Query(query): Query<UsersQuery>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/admin/users");
    };
    if !user.is_admin() {
        return error_page(&ctx, 403, "This page is for administrators.");
    }
    let q = query.q.unwrap_or_default();
    let q_opt = Some(q.trim()).filter(|q| !q.is_empty());
    match state
        .identity
        .admin_users(&user.access_token, q_opt, query.cursor.as_deref())
        .await
    {
        Ok(list) => page(&UsersPage {
            title: "Users".into(),
            csrf: ctx.csrf.clone(),
            q,
            users: list
                .items
                .into_iter()
                .map(|u| row(u, user.claims.sub))
                .collect(),
            next_cursor: list.next_cursor,
            ctx,
        }),
        Err(_) => error_page(&ctx, 400, "That search could not be run."),
    }
}

/// Suspend or reactivate. With htmx, answers the updated row; without, redirects back.
pub async fn moderate(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    PagePath((id, action)): PagePath<(UserId, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/admin/users");
    };
    let suspend = match action.as_str() {
        "suspend" => true,
        "reactivate" => false,
        _ => return error_page(&ctx, 404, "No such action."),
    };
    match state
        .identity
        .admin_set_suspended(&user.access_token, &id, suspend)
        .await
    {
        Ok(updated) => {
            if headers.contains_key("hx-request") {
                return render(
                    StatusCode::OK,
                    &UserRowFragment {
                        u: row(updated, user.claims.sub),
                        csrf: ctx.csrf.clone(),
                    },
                );
            }
            let verb = if suspend { "suspended" } else { "reactivated" };
            redirect_with_flash(
                "/admin/users",
                &format!("{} is {verb}.", updated.email),
                state.secure_cookies,
            )
        }
        Err(e) => match super::form_errors(&ctx, e) {
            Ok(errors) => error_page(
                &ctx,
                403,
                errors.general.as_deref().unwrap_or("That did not work."),
            ),
            Err(page) => page,
        },
    }
}

pub struct StoreAction {
    action: &'static str,
    label: &'static str,
    needs_reason: bool,
}

pub struct StoreCard {
    id: String,
    name: String,
    slug: String,
    description: String,
    support_email: String,
    country: String,
    commission: String,
    reason: Option<String>,
    actions: Vec<StoreAction>,
}

#[derive(Template)]
#[template(path = "admin_stores.html")]
struct StoresPage {
    ctx: PageContext,
    title: String,
    tabs: [&'static str; 4],
    status: String,
    stores: Vec<StoreCard>,
    default_commission: String,
}

/// Basis points as people read them: 1250 → "12.50 %".
pub fn percent(bps: i64) -> String {
    format!("{}.{:02} %", bps / 100, bps % 100)
}

const STORE_TABS: [&str; 4] = ["pending", "approved", "suspended", "rejected"];

fn actions_for(status: &str) -> Vec<StoreAction> {
    let a = |action, label, needs_reason| StoreAction {
        action,
        label,
        needs_reason,
    };
    match status {
        "pending" => vec![a("approve", "Approve", false), a("reject", "Reject", true)],
        "approved" => vec![a("suspend", "Suspend", true)],
        "suspended" => vec![a("reinstate", "Reinstate", false)],
        _ => Vec::new(),
    }
}

#[derive(Deserialize)]
pub struct StoresQuery {
    status: Option<String>,
}

/// The application queue and the stores by status.
pub async fn stores(
    State(state): State<WebState>,
    ctx: PageContext,
    Query(query): Query<StoresQuery>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/admin/stores");
    };
    if !user.is_admin() {
        return error_page(&ctx, 403, "This page is for administrators.");
    }
    let status = query
        .status
        .filter(|s| STORE_TABS.contains(&s.as_str()))
        .unwrap_or_else(|| "pending".to_owned());
    let (list, default) = tokio::join!(
        state
            .vendors
            .admin_stores(&user.access_token, &status, None),
        state.vendors.default_commission(&user.access_token)
    );
    match list {
        Ok(list) => page(&StoresPage {
            title: "Stores".into(),
            default_commission: default
                .map(|d| percent(d.default_commission_bps))
                .unwrap_or_default(),
            tabs: STORE_TABS,
            stores: list
                .items
                .into_iter()
                .map(|s| StoreCard {
                    id: s.id.to_string(),
                    actions: actions_for(s.status.as_deref().unwrap_or_default()),
                    commission: s
                        .commission_bps
                        .map(|b| percent(i64::from(b)))
                        .unwrap_or_default(),
                    reason: s.status_reason,
                    name: s.name,
                    slug: s.slug,
                    description: s.description,
                    support_email: s.support_email,
                    country: s.country,
                })
                .collect(),
            status,
            ctx,
        }),
        Err(_) => error_page(&ctx, 503, "The stores cannot be shown right now."),
    }
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: Option<String>,
}

/// Approve, reject, suspend or reinstate a store, then back to the list.
pub async fn store_action(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((id, action)): PagePath<(StoreId, String)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/admin/stores");
    };
    if !["approve", "reject", "suspend", "reinstate"].contains(&action.as_str()) {
        return error_page(&ctx, 404, "No such action.");
    }
    let reason = form
        .reason
        .as_deref()
        .filter(|_| matches!(action.as_str(), "reject" | "suspend"));
    match state
        .vendors
        .admin_transition(&user.access_token, &id, &action, reason)
        .await
    {
        Ok(store) => {
            let back = match action.as_str() {
                "approve" | "reinstate" => "approved",
                "suspend" => "suspended",
                _ => "pending",
            };
            redirect_with_flash(
                &format!("/admin/stores?status={back}"),
                &format!("{} is {}.", store.name, store.status.unwrap_or_default()),
                state.secure_cookies,
            )
        }
        Err(e) => match super::form_errors(&ctx, e) {
            Ok(errors) => {
                let message = errors
                    .get("reason")
                    .map(|m| format!("Reason: {m}"))
                    .or(errors.general)
                    .unwrap_or_else(|| "That did not work.".to_owned());
                redirect_with_flash("/admin/stores", &message, state.secure_cookies)
            }
            Err(page) => page,
        },
    }
}
