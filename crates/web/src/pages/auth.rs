//! Register, verify, sign in and out, forgotten and reset passwords.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use contracts::identity::dto::{
    LoginRequest, RegisterRequest, ResetPasswordRequest, TokenResponse, VerifyEmailRequest,
};
use kernel::http::ClientIp;
use serde::Deserialize;

use super::{FormErrors, page, redirect_with_flash, rerender, safe_next, signed_out};
use crate::WebState;
use crate::session::{self, CsrfForm, NewTokens, PageContext, REFRESH, cookie};

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    name: String,
    email: String,
    /// Where to go once registered (e.g. back to checkout); empty: verify the email.
    next: String,
}

fn optional_next(next: Option<&str>) -> String {
    next.filter(|n| !n.is_empty())
        .map_or_else(String::new, |n| safe_next(Some(n)))
}

pub async fn register_form(ctx: PageContext, Query(q): Query<NextQuery>) -> Response {
    page(&RegisterPage {
        ctx,
        title: "Create your account".into(),
        errors: FormErrors::default(),
        name: String::new(),
        email: String::new(),
        next: optional_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct RegisterForm {
    name: String,
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Stores the new session's cookies (if sign-in worked) and redirects with a message.
/// Sets the session cookies (and brings a guest's cart along) and redirects.
async fn start_session(
    state: &WebState,
    request: &HeaderMap,
    tokens: Option<TokenResponse>,
    message: &str,
    to: &str,
) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(t) = tokens {
        super::cart::merge_guest_cart(state, request, &t.access_token, &mut headers).await;
        session::session_cookies(
            &mut headers,
            &NewTokens {
                access: t.access_token,
                refresh: t.refresh_token,
            },
            state.secure_cookies,
        );
    }
    session::flash(&mut headers, message, state.secure_cookies);
    (headers, Redirect::to(to)).into_response()
}

fn verify_url(email: &str) -> String {
    let qs = serde_urlencoded::to_string([("email", email)]).unwrap_or_default();
    format!("/verify-email?{qs}")
}

/// Creates the account and signs the new user in, then asks for the emailed code.
pub async fn register(
    State(state): State<WebState>,
    ctx: PageContext,
    ip: ClientIp,
    request: HeaderMap,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Response {
    let req = RegisterRequest {
        email: form.email.clone(),
        password: form.password.clone(),
        name: form.name.clone(),
    };
    let user = match state.identity.register(&req).await {
        Ok(user) => user,
        Err(e) => {
            return rerender(&ctx, e, |errors| RegisterPage {
                ctx: ctx.clone(),
                title: "Create your account".into(),
                errors,
                name: form.name,
                email: form.email,
                next: optional_next(form.next.as_deref()),
            });
        }
    };
    let login = LoginRequest {
        email: user.email.clone(),
        password: form.password,
    };
    let tokens = state.identity.login(&login, &ip).await.ok();
    // Someone registering on their way somewhere (checkout) goes on there; the code
    // can be entered later from the account page.
    let next = optional_next(form.next.as_deref());
    let to = if next.is_empty() {
        verify_url(&user.email)
    } else {
        next
    };
    start_session(
        &state,
        &request,
        tokens,
        &format!("Welcome! We sent a 6-digit code to {}.", user.email),
        &to,
    )
    .await
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(ctx: PageContext, Query(q): Query<NextQuery>) -> Response {
    page(&LoginPage {
        ctx,
        title: "Sign in".into(),
        errors: FormErrors::default(),
        email: String::new(),
        next: safe_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<WebState>,
    ctx: PageContext,
    ip: ClientIp,
    request: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let req = LoginRequest {
        email: form.email.clone(),
        password: form.password,
    };
    match state.identity.login(&req, &ip).await {
        Ok(tokens) => {
            let message = format!("Signed in as {}.", tokens.user.email);
            start_session(&state, &request, Some(tokens), &message, &next).await
        }
        Err(e) => rerender(&ctx, e, |errors| LoginPage {
            ctx: ctx.clone(),
            title: "Sign in".into(),
            errors,
            email: form.email,
            next,
        }),
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    if let Some(refresh) = cookie(&headers, REFRESH)
        && let Err(e) = state.identity.logout(&refresh).await
    {
        tracing::warn!(error = %e, "ending the session failed; clearing cookies anyway");
    }
    signed_out("You are signed out.", "/", state.secure_cookies)
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    email: String,
}

#[derive(Deserialize)]
pub struct EmailQuery {
    email: Option<String>,
}

pub async fn verify_form(ctx: PageContext, Query(q): Query<EmailQuery>) -> Response {
    page(&VerifyPage {
        ctx,
        title: "Verify your email".into(),
        errors: FormErrors::default(),
        email: q.email.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub struct VerifyForm {
    email: String,
    code: String,
}

pub async fn verify(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> Response {
    let req = VerifyEmailRequest {
        email: form.email.clone(),
        code: form.code,
    };
    match state.identity.verify_email(&req).await {
        Ok(_) => {
            let to = if ctx.user.is_some() {
                "/account"
            } else {
                "/login"
            };
            redirect_with_flash(
                to,
                "Your email is verified. Thank you!",
                state.secure_cookies,
            )
        }
        Err(e) => rerender(&ctx, e, |errors| VerifyPage {
            ctx: ctx.clone(),
            title: "Verify your email".into(),
            errors,
            email: form.email,
        }),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn resend(
    State(state): State<WebState>,
    ctx: PageContext,
    ip: ClientIp,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Response {
    match state.identity.resend_verification(&form.email, &ip).await {
        Ok(accepted) => redirect_with_flash(
            &verify_url(&form.email),
            &accepted.message,
            state.secure_cookies,
        ),
        Err(e) => rerender(&ctx, e, |errors| VerifyPage {
            ctx: ctx.clone(),
            title: "Verify your email".into(),
            errors,
            email: form.email,
        }),
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    email: String,
}

pub async fn forgot_form(ctx: PageContext) -> Response {
    page(&ForgotPage {
        ctx,
        title: "Forgot your password?".into(),
        errors: FormErrors::default(),
        email: String::new(),
    })
}

pub async fn forgot(
    State(state): State<WebState>,
    ctx: PageContext,
    ip: ClientIp,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Response {
    match state.identity.forgot_password(&form.email, &ip).await {
        Ok(accepted) => redirect_with_flash("/login", &accepted.message, state.secure_cookies),
        Err(e) => rerender(&ctx, e, |errors| ForgotPage {
            ctx: ctx.clone(),
            title: "Forgot your password?".into(),
            errors,
            email: form.email,
        }),
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    ctx: PageContext,
    title: String,
    errors: FormErrors,
    token: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn reset_form(ctx: PageContext, Query(q): Query<TokenQuery>) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        return super::error_page(
            &ctx,
            400,
            "This reset link is incomplete. Ask for a new one.",
        );
    };
    page(&ResetPage {
        ctx,
        title: "Choose a new password".into(),
        errors: FormErrors::default(),
        token,
    })
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    new_password: String,
}

pub async fn reset(
    State(state): State<WebState>,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    let req = ResetPasswordRequest {
        token: form.token.clone(),
        new_password: form.new_password,
    };
    match state.identity.reset_password(&req).await {
        Ok(()) => signed_out(
            "Your password is changed. Sign in with the new one.",
            "/login",
            state.secure_cookies,
        ),
        Err(e) => rerender(&ctx, e, |errors| ResetPage {
            ctx: ctx.clone(),
            title: "Choose a new password".into(),
            errors,
            token: form.token,
        }),
    }
}
