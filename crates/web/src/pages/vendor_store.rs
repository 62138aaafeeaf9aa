//! A store's own pages for its people: settings (profile and payout details), staff
//! (members, invitations, removal), and accepting an emailed invitation.

use super::PagePath;
use contracts::identity::UserId;
use contracts::vendors::StoreId;
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use contracts::vendors::dto::{
    InviteRequest, MemberView, PayoutRequest, StoreView, UpdateStoreRequest,
};
use kernel::auth::StoreRole;
use kernel::http::client::ClientError;
use serde::Deserialize;

use super::{FormErrors, error_page, page, redirect_with_flash, require_user, rerender};
use crate::WebState;
use crate::session::{
    CsrfForm, CsrfUpload, CurrentUser, NewTokens, PageContext, REFRESH, cookie, session_cookies,
};

fn failed(ctx: &PageContext, e: &ClientError) -> Response {
    match e {
        ClientError::Problem(p) if p.status == 403 => {
            error_page(ctx, 403, "You do not run this store.")
        }
        ClientError::Problem(p) if p.status == 404 => {
            error_page(ctx, 404, "We could not find that store.")
        }
        other => {
            tracing::error!(error = %other, "store page call failed");
            error_page(
                ctx,
                503,
                "That cannot be shown right now. Please try again.",
            )
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    logo_url: String,
    #[serde(default)]
    support_email: String,
    #[serde(default)]
    country: String,
    #[serde(default, rename = "payout.holder_name")]
    payout_holder: String,
    #[serde(default, rename = "payout.iban")]
    payout_iban: String,
}

impl SettingsForm {
    fn from_store(s: &StoreView) -> Self {
        Self {
            name: s.name.clone(),
            description: s.description.clone(),
            logo_url: s.logo_url.clone().unwrap_or_default(),
            support_email: s.support_email.clone(),
            country: s.country.clone(),
            payout_holder: s
                .payout
                .as_ref()
                .map(|p| p.holder_name.clone())
                .unwrap_or_default(),
            // The IBAN is never echoed back into a form; leaving it empty keeps it.
            payout_iban: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "vendor_settings.html")]
struct SettingsPage {
    ctx: PageContext,
    title: String,
    store: StoreView,
    is_owner: bool,
    masked_iban: String,
    form: SettingsForm,
    errors: FormErrors,
}

fn settings_page(
    ctx: &PageContext,
    store: StoreView,
    form: SettingsForm,
    errors: FormErrors,
) -> SettingsPage {
    SettingsPage {
        ctx: ctx.clone(),
        title: format!("{} · Settings", store.name),
        is_owner: store.my_role == Some(StoreRole::Owner)
            || ctx.user.as_ref().is_some_and(CurrentUser::is_admin),
        masked_iban: store
            .payout
            .as_ref()
            .map(|p| p.iban.clone())
            .unwrap_or_default(),
        store,
        form,
        errors,
    }
}

pub async fn settings(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{id}/settings")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.vendors.store(&id, Some(&user.access_token)).await {
        Ok(s) if s.my_role.is_some() || user.is_admin() => {
            let form = SettingsForm::from_store(&s);
            page(&settings_page(&ctx, s, form, FormErrors::default()))
        }
        Ok(_) => error_page(&ctx, 403, "You do not run this store."),
        Err(e) => failed(&ctx, &e),
    }
}

pub async fn save_settings(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Response {
    let here = format!("/vendor/stores/{id}/settings");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let store = match state.vendors.store(&id, Some(token)).await {
        Ok(s) => s,
        Err(e) => return failed(&ctx, &e),
    };
    // Payout details go along only when the IBAN was typed in again.
    let payout = (!form.payout_iban.trim().is_empty()).then(|| PayoutRequest {
        holder_name: form.payout_holder.clone(),
        iban: form.payout_iban.clone(),
    });
    let req = UpdateStoreRequest {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        logo_url: Some(form.logo_url.clone()),
        support_email: Some(form.support_email.clone()),
        country: Some(form.country.clone()),
        payout,
    };
    match state.vendors.update_store(token, &id, &req).await {
        Ok(s) => redirect_with_flash(
            &here,
            &format!("{} is saved.", s.name),
            state.secure_cookies,
        ),
        Err(e) => rerender(&ctx, e, |errors| settings_page(&ctx, store, form, errors)),
    }
}

/// Uploads a logo through catalog's media pipeline (checked, re-encoded, metadata
/// stripped) and makes its 160 px rendition the store's logo.
pub async fn upload_logo(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
    upload: CsrfUpload,
) -> Response {
    let here = format!("/vendor/stores/{id}/settings");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(file) = upload.file else {
        return redirect_with_flash(&here, "Choose a picture first.", state.secure_cookies);
    };
    let token = user.access_token.as_str();
    let (content_type, body) =
        super::vendor_products::multipart_file(&file.file_name, &file.content_type, &file.bytes);
    let media = match state.catalog.upload_media(token, &content_type, body).await {
        Ok(m) => m,
        Err(ClientError::Problem(p)) if p.status < 500 => {
            let why = p
                .errors
                .first()
                .map_or(p.title.clone(), |e| e.message.clone());
            return redirect_with_flash(
                &here,
                &format!("That logo was refused: {why}."),
                state.secure_cookies,
            );
        }
        Err(e) => return failed(&ctx, &e),
    };
    let req = UpdateStoreRequest {
        logo_url: Some(format!(
            "/media/{}",
            contracts::catalog::media::rendition_name(&media.key, 160)
        )),
        ..UpdateStoreRequest::default()
    };
    match state.vendors.update_store(token, &id, &req).await {
        Ok(_) => redirect_with_flash(&here, "Your new logo is up.", state.secure_cookies),
        Err(e) => failed(&ctx, &e),
    }
}

#[derive(Template)]
#[template(path = "vendor_staff.html")]
struct StaffPage {
    ctx: PageContext,
    title: String,
    store: StoreView,
    members: Vec<MemberView>,
    is_owner: bool,
    errors: FormErrors,
    email: String,
}

pub async fn staff(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{id}/staff")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let (store, members) = tokio::join!(
        state.vendors.store(&id, Some(token)),
        state.vendors.members(token, &id)
    );
    match (store, members) {
        (Ok(store), Ok(members)) => page(&StaffPage {
            title: format!("{} · Staff", store.name),
            is_owner: store.my_role == Some(StoreRole::Owner) || user.is_admin(),
            store,
            members: members.items,
            errors: FormErrors::default(),
            email: String::new(),
            ctx,
        }),
        (Err(e), _) | (_, Err(e)) => failed(&ctx, &e),
    }
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<StoreId>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Response {
    let here = format!("/vendor/stores/{id}/staff");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let req = InviteRequest {
        email: form.email.clone(),
        role: StoreRole::parse(&form.role),
    };
    match state.vendors.invite(token, &id, &req).await {
        Ok(inv) => redirect_with_flash(
            &here,
            &format!(
                "We emailed an invitation to {} ({}).",
                inv.email,
                inv.role.as_str()
            ),
            state.secure_cookies,
        ),
        Err(e) => {
            let (store, members) = tokio::join!(
                state.vendors.store(&id, Some(token)),
                state.vendors.members(token, &id)
            );
            let (store, members) = match (store, members) {
                (Ok(s), Ok(m)) => (s, m),
                (Err(e), _) | (_, Err(e)) => return failed(&ctx, &e),
            };
            rerender(&ctx, e, |errors| StaffPage {
                ctx: ctx.clone(),
                title: format!("{} · Staff", store.name),
                is_owner: store.my_role == Some(StoreRole::Owner) || user.is_admin(),
                store,
                members: members.items,
                errors,
                email: form.email,
            })
        }
    }
}

pub async fn remove_member(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((id, member)): PagePath<(StoreId, UserId)>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    let here = format!("/vendor/stores/{id}/staff");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let message = match state
        .vendors
        .remove_member(&user.access_token, &id, &member)
        .await
    {
        Ok(()) => "Removed.".to_owned(),
        Err(ClientError::Problem(p)) if p.status < 500 => format!("Not removed: {}.", p.title),
        Err(e) => return failed(&ctx, &e),
    };
    redirect_with_flash(&here, &message, state.secure_cookies)
}

#[derive(Template)]
#[template(path = "vendor_invitation.html")]
struct InvitationPage {
    ctx: PageContext,
    title: String,
    token: String,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    #[serde(default)]
    token: String,
}

/// The emailed link lands here; accepting needs the invitee signed in.
pub async fn invitation(ctx: PageContext, Query(q): Query<InvitationQuery>) -> Response {
    let here = format!(
        "/vendor/invitations/accept?{}",
        serde_urlencoded::to_string([("token", q.token.as_str())]).unwrap_or_default()
    );
    if let Err(r) = require_user(&ctx, &here) {
        return r;
    }
    page(&InvitationPage {
        ctx,
        title: "Join a store".into(),
        token: q.token,
    })
}

#[derive(Deserialize)]
pub struct AcceptForm {
    token: String,
}

/// Joins the store, then renews the session until its token carries the membership
/// (identity learns of it by event, within moments), so the store's pages work at once.
pub async fn accept(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Response {
    let user = match require_user(&ctx, "/vendor") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let store = match state
        .vendors
        .accept_invitation(&user.access_token, &form.token)
        .await
    {
        Ok(s) => s,
        Err(ClientError::Problem(p)) if p.status < 500 => {
            return error_page(&ctx, p.status, &format!("{}.", p.title));
        }
        Err(e) => return failed(&ctx, &e),
    };
    let mut response = redirect_with_flash(
        "/vendor",
        &format!("Welcome to {}.", store.name),
        state.secure_cookies,
    );
    let Some(mut refresh) = cookie(&headers, REFRESH) else {
        return response;
    };
    for _ in 0..30 {
        let Ok(tokens) = state.identity.refresh(&refresh).await else {
            break;
        };
        let joined = state
            .verifier
            .verify(&tokens.access_token)
            .await
            .is_ok_and(|c| c.store_role(store.id).is_some());
        refresh = tokens.refresh_token.clone();
        let mut set = HeaderMap::new();
        session_cookies(
            &mut set,
            &NewTokens {
                access: tokens.access_token,
                refresh: tokens.refresh_token,
            },
            state.secure_cookies,
        );
        // Each refresh rotates the pair: only the newest may reach the browser.
        let mut fresh = redirect_with_flash(
            "/vendor",
            &format!("Welcome to {}.", store.name),
            state.secure_cookies,
        )
        .into_response();
        for (name, value) in &set {
            fresh.headers_mut().append(name, value.clone());
        }
        response = fresh;
        if joined {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    response
}
