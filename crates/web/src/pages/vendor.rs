//! The vendor side: applying to open a store, and the stores one runs.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use contracts::vendors::dto::{ApplyRequest, PayoutRequest};
use serde::Deserialize;

use super::{FormErrors, error_page, login_redirect, page, redirect_with_flash, rerender};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};

#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    name: String,
    slug: String,
    #[serde(default)]
    description: String,
    support_email: String,
    country: String,
    #[serde(rename = "payout.holder_name")]
    payout_holder: String,
    #[serde(rename = "payout.iban")]
    payout_iban: String,
}

#[derive(Template)]
#[template(path = "vendor_apply.html")]
struct ApplyPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    form: ApplyForm,
}

pub async fn apply_form(ctx: PageContext) -> Response {
    if ctx.user.is_none() {
        return login_redirect("/vendor/apply");
    }
    page(&ApplyPage {
        ctx,
        title: "Open your store".into(),
        errors: FormErrors::default(),
        form: ApplyForm::default(),
    })
}

pub async fn apply(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<ApplyForm>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/vendor/apply");
    };
    let req = ApplyRequest {
        slug: form.slug.clone(),
        name: form.name.clone(),
        description: form.description.clone(),
        logo_url: None,
        support_email: form.support_email.clone(),
        country: form.country.clone(),
        payout: PayoutRequest {
            holder_name: form.payout_holder.clone(),
            iban: form.payout_iban.clone(),
        },
    };
    match state.vendors.apply(&user.access_token, &req).await {
        Ok(store) => redirect_with_flash(
            "/vendor",
            &format!("Thank you! We will review {} and email you.", store.name),
            state.secure_cookies,
        ),
        Err(e) => rerender(&ctx, e, |errors| ApplyPage {
            ctx: ctx.clone(),
            title: "Open your store".into(),
            errors,
            form,
        }),
    }
}

pub struct StoreLine {
    id: String,
    name: String,
    slug: String,
    role: String,
    status: String,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "vendor_home.html")]
struct VendorHome {
    ctx: PageContext,
    title: String,
    stores: Vec<StoreLine>,
}

pub async fn home(State(state): State<WebState>, ctx: PageContext) -> Response {
    let Some(user) = ctx.user.clone() else {
        return login_redirect("/vendor");
    };
    match state.vendors.my_stores(&user.access_token).await {
        Ok(mine) => page(&VendorHome {
            title: "Your stores".into(),
            stores: mine
                .items
                .into_iter()
                .map(|s| StoreLine {
                    role: s.my_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
                    status: s.status.unwrap_or_default(),
                    reason: s.status_reason,
                    id: s.id.to_string(),
                    name: s.name,
                    slug: s.slug,
                })
                .collect(),
            ctx,
        }),
        Err(_) => error_page(&ctx, 503, "Your stores cannot be shown right now."),
    }
}
