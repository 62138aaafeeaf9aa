//! The signed-in customer's account: profile, password, sessions, address book.

use super::PagePath;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::identity::AddressId;
use contracts::identity::dto::{
    AddressRequest, AddressView, ChangePasswordRequest, UpdateProfileRequest, UserView,
};
use serde::Deserialize;

use super::auth::EmptyForm;
use super::{
    FormErrors, error_page, form_errors, page, redirect_with_flash, require_user, rerender,
    signed_out,
};
use crate::WebState;
use crate::session::{CsrfForm, CurrentUser, PageContext};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    me: UserView,
    name: String,
    phone: String,
    addresses: Vec<AddressView>,
}

async fn account_page(
    state: &WebState,
    ctx: PageContext,
    user: &CurrentUser,
    errors: FormErrors,
    edited: Option<(String, String)>,
) -> Response {
    let me = match state.identity.me(&user.access_token).await {
        Ok(me) => me,
        Err(e) => return error_for(&ctx, e),
    };
    let addresses = match state.identity.addresses(&user.access_token).await {
        Ok(list) => list.items,
        Err(e) => return error_for(&ctx, e),
    };
    let status = if errors.general.is_some() || edited.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (name, phone) =
        edited.unwrap_or_else(|| (me.name.clone(), me.phone.clone().unwrap_or_default()));
    super::render(
        status,
        &AccountPage {
            ctx,
            title: "My account".into(),
            errors,
            me,
            name,
            phone,
            addresses,
        },
    )
}

fn error_for(ctx: &PageContext, e: kernel::http::client::ClientError) -> Response {
    match form_errors(ctx, e) {
        Ok(errors) => error_page(
            ctx,
            400,
            errors.general.as_deref().unwrap_or("That did not work."),
        ),
        Err(page) => page,
    }
}

pub async fn overview(State(state): State<WebState>, ctx: PageContext) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    account_page(&state, ctx, &user, FormErrors::default(), None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    name: String,
    phone: String,
}

pub async fn update_profile(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = UpdateProfileRequest {
        name: Some(form.name.clone()),
        phone: Some(form.phone.clone()),
    };
    match state.identity.update_me(&user.access_token, &req).await {
        Ok(_) => redirect_with_flash("/account", "Your profile is saved.", state.secure_cookies),
        Err(e) => match form_errors(&ctx, e) {
            Ok(errors) => {
                account_page(&state, ctx, &user, errors, Some((form.name, form.phone))).await
            }
            Err(page) => page,
        },
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
}

pub async fn password_form(ctx: PageContext) -> Response {
    if let Err(r) = require_user(&ctx, "/account/password") {
        return r;
    }
    page(&PasswordPage {
        ctx,
        title: "Change your password".into(),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let user = match require_user(&ctx, "/account/password") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = ChangePasswordRequest {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match state
        .identity
        .change_password(&user.access_token, &req)
        .await
    {
        Ok(()) => redirect_with_flash(
            "/account",
            "Your password is changed. Other sessions were signed out.",
            state.secure_cookies,
        ),
        Err(e) => rerender(&ctx, e, |errors| PasswordPage {
            ctx: ctx.clone(),
            title: "Change your password".into(),
            errors,
        }),
    }
}

pub async fn logout_all(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.identity.logout_all(&user.access_token).await {
        Ok(()) => signed_out("You are signed out everywhere.", "/", state.secure_cookies),
        Err(e) => error_for(&ctx, e),
    }
}

/// The address form as typed: strings, and checkboxes present only when ticked.
#[derive(Debug, Default, Deserialize)]
pub struct AddressForm {
    label: String,
    full_name: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    phone: String,
    is_default_shipping: Option<String>,
    is_default_billing: Option<String>,
}

fn optional(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl AddressForm {
    fn request(&self) -> AddressRequest {
        AddressRequest {
            label: optional(&self.label),
            full_name: self.full_name.clone(),
            line1: self.line1.clone(),
            line2: optional(&self.line2),
            city: self.city.clone(),
            region: optional(&self.region),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            phone: optional(&self.phone),
            is_default_shipping: self.is_default_shipping.is_some(),
            is_default_billing: self.is_default_billing.is_some(),
        }
    }

    fn from_view(a: AddressView) -> Self {
        let tick = |b: bool| b.then(|| "on".to_owned());
        Self {
            label: a.label.unwrap_or_default(),
            full_name: a.full_name,
            line1: a.line1,
            line2: a.line2.unwrap_or_default(),
            city: a.city,
            region: a.region.unwrap_or_default(),
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone.unwrap_or_default(),
            is_default_shipping: tick(a.is_default_shipping),
            is_default_billing: tick(a.is_default_billing),
        }
    }
}

#[derive(Template)]
#[template(path = "address_form.html")]
struct AddressPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    action: String,
    form: AddressForm,
}

pub async fn new_address(ctx: PageContext) -> Response {
    if let Err(r) = require_user(&ctx, "/account/addresses/new") {
        return r;
    }
    page(&AddressPage {
        ctx,
        title: "New address".into(),
        errors: FormErrors::default(),
        action: "/account/addresses".into(),
        form: AddressForm::default(),
    })
}

pub async fn create_address(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Response {
    let user = match require_user(&ctx, "/account/addresses/new") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .identity
        .create_address(&user.access_token, &form.request())
        .await
    {
        Ok(_) => redirect_with_flash("/account", "Address added.", state.secure_cookies),
        Err(e) => rerender(&ctx, e, |errors| AddressPage {
            ctx: ctx.clone(),
            title: "New address".into(),
            errors,
            action: "/account/addresses".into(),
            form,
        }),
    }
}

pub async fn edit_address(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<AddressId>,
) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.identity.address(&user.access_token, &id).await {
        Ok(a) => page(&AddressPage {
            title: "Edit address".into(),
            errors: FormErrors::default(),
            action: format!("/account/addresses/{}", a.id),
            form: AddressForm::from_view(a),
            ctx,
        }),
        Err(_) => error_page(
            &ctx,
            404,
            "We could not find that address in your address book.",
        ),
    }
}

pub async fn update_address(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<AddressId>,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .identity
        .update_address(&user.access_token, &id, &form.request())
        .await
    {
        Ok(_) => redirect_with_flash("/account", "Address saved.", state.secure_cookies),
        Err(e) => rerender(&ctx, e, |errors| AddressPage {
            ctx: ctx.clone(),
            title: "Edit address".into(),
            errors,
            action: format!("/account/addresses/{id}"),
            form,
        }),
    }
}

pub async fn delete_address(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<AddressId>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let user = match require_user(&ctx, "/account") {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.identity.delete_address(&user.access_token, &id).await {
        Ok(()) => redirect_with_flash("/account", "Address deleted.", state.secure_cookies),
        Err(_) => error_page(
            &ctx,
            404,
            "We could not find that address in your address book.",
        ),
    }
}
