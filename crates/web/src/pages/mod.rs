//! Page handlers and the templates they render.

pub mod account;
pub mod admin;
pub mod admin_catalog;
pub mod auth;
pub mod cart;
pub mod checkout;
pub mod order_desk;
pub mod review_desk;
pub mod selling;
pub mod shop;
pub mod vendor;
pub mod vendor_products;
pub mod vendor_stock;
pub mod vendor_store;

use askama::Template;
use axum::extract::OriginalUri;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kernel::http::Problem;
use kernel::http::access::{Access, Refusal};
use kernel::http::client::ClientError;

use crate::session::PageContext;
use kernel::ids::StoreId;

/// Errors to show on a re-rendered form: per field, and one for the whole form.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub general: Option<String>,
    fields: Vec<(String, String)>,
}

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn general(message: &str) -> Self {
        Self {
            general: Some(message.to_owned()),
            fields: Vec::new(),
        }
    }

    fn from_problem(p: &Problem) -> Self {
        let fields: Vec<(String, String)> = p
            .errors
            .iter()
            .map(|e| (e.field.clone(), sentence(&e.message)))
            .collect();
        let general = if fields.is_empty() {
            Some(match p.retry_after {
                Some(secs) => format!("{}. Try again in {} minute(s).", p.title, secs.div_ceil(60)),
                None => p
                    .detail
                    .as_ref()
                    .map_or_else(|| format!("{}.", p.title), |d| format!("{}. {d}.", p.title)),
            })
        } else {
            None
        };
        Self { general, fields }
    }
}

/// "must be at least 10 characters" → "Must be at least 10 characters."
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}

/// A service answered: a 4xx becomes form errors; anything else is an error page.
pub fn form_errors(ctx: &PageContext, e: ClientError) -> Result<FormErrors, Response> {
    match e {
        ClientError::Problem(p) if p.status < 500 => Ok(FormErrors::from_problem(&p)),
        other => {
            tracing::error!(error = %other, "service call failed");
            Err(error_page(
                ctx,
                503,
                "That did not work on our side. Please try again in a moment.",
            ))
        }
    }
}

/// Re-renders a form with the service's complaints, or shows an error page.
pub fn rerender<T: Template>(
    ctx: &PageContext,
    e: ClientError,
    build: impl FnOnce(FormErrors) -> T,
) -> Response {
    match form_errors(ctx, e) {
        Ok(errors) => render(StatusCode::UNPROCESSABLE_ENTITY, &build(errors)),
        Err(page) => page,
    }
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

pub fn page(p: &impl Template) -> Response {
    render(StatusCode::OK, p)
}

/// 303 to `to`, with a flash message for the next page.
pub fn redirect_with_flash(to: &str, message: &str, secure: bool) -> Response {
    let mut headers = HeaderMap::new();
    crate::session::flash(&mut headers, message, secure);
    (headers, Redirect::to(to)).into_response()
}

/// Clears the session cookies and redirects with a message.
pub fn signed_out(message: &str, to: &str, secure: bool) -> Response {
    let mut headers = HeaderMap::new();
    crate::session::end_session(&mut headers);
    crate::session::flash(&mut headers, message, secure);
    (headers, Redirect::to(to)).into_response()
}

/// Only local paths may be a `next` target: no open redirects.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from `Location` and treat a backslash as `/`, so any
        // of them could turn `/x` into `//evil.example`.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

/// The signed-in user, or a redirect to sign in and come back to `here`.
pub fn require_user(
    ctx: &PageContext,
    here: &str,
) -> Result<crate::session::CurrentUser, Response> {
    ctx.user.clone().ok_or_else(|| login_redirect(here))
}

/// The signed-in admin; others are sent to sign in, or told the page is not theirs.
pub fn require_admin(
    ctx: &PageContext,
    here: &str,
) -> Result<crate::session::CurrentUser, Response> {
    let user = require_user(ctx, here)?;
    if user.is_admin() {
        Ok(user)
    } else {
        Err(error_page(ctx, 403, "This page is for administrators."))
    }
}

/// Enforces a page's declared access (see `kernel::http::access`) with the session the
/// session layer found: strangers are sent to sign in, the wrong people told no.
pub fn guard(access: Access, parts: &Parts, store: Option<StoreId>) -> Option<Response> {
    let ctx = parts
        .extensions
        .get::<PageContext>()
        .cloned()
        .unwrap_or_default();
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let user = ctx.user.as_ref().map(|u| &u.claims);
    let service = false;
    match access.permits(user, store, service) {
        Ok(()) => None,
        Err(Refusal::Unauthenticated) => Some(login_redirect(&here)),
        Err(Refusal::Forbidden) if access == Access::Admin => {
            Some(error_page(&ctx, 403, "This page is for administrators."))
        }
        Err(Refusal::Forbidden) => Some(error_page(&ctx, 403, "This page is not yours to see.")),
        Err(Refusal::Hidden) => Some(no_such_page(&ctx)),
    }
}

/// A service's refusal in its own words, for a flash message.
pub fn refusal(e: &ClientError) -> String {
    match e {
        ClientError::Problem(p) if p.status < 500 => match (p.errors.first(), &p.detail) {
            (Some(f), _) => format!("{}: {}.", f.field, f.message.trim_end_matches('.')),
            (None, Some(d)) => format!("{}. {d}.", p.title),
            (None, None) => format!("{}.", p.title),
        },
        _ => "That did not work on our side; try again.".into(),
    }
}

pub fn login_redirect(path: &str) -> Response {
    let qs = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
    Redirect::to(&format!("/login?{qs}")).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: &'a PageContext,
    title: String,
    heading: String,
    message: &'a str,
}

/// A page's typed path parameters (ids). A value that does not parse names nothing
/// there is, so the visitor gets the site's own 404 page, and no handler parses strings.
pub struct PagePath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PagePath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => {
                let ctx = parts
                    .extensions
                    .get::<PageContext>()
                    .cloned()
                    .unwrap_or_default();
                Err(no_such_page(&ctx))
            }
        }
    }
}

/// The site's 404 page for a path that names nothing there is.
fn no_such_page(ctx: &PageContext) -> Response {
    error_page(ctx, 404, "There is no such page.")
}

pub fn error_page(ctx: &PageContext, status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found".to_owned(),
        StatusCode::FORBIDDEN => "Not allowed".to_owned(),
        s if s.is_server_error() => "Something went wrong".to_owned(),
        _ => "That did not work".to_owned(),
    };
    render(
        status,
        &ErrorPage {
            ctx,
            title: heading.clone(),
            heading,
            message,
        },
    )
}

/// Unmatched paths: HTML for people, problem+json under the API prefixes.
pub async fn not_found(
    ctx: PageContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json") && !a.contains("html"));
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/internal/") || wants_json {
        return Problem::no_such_resource().into_response();
    }
    error_page(
        &ctx,
        404,
        "We could not find that page. It may have moved, or the link may be wrong.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/account/password")), "/account/password");
        assert_eq!(safe_next(Some("//evil.example")), "/account");
        assert_eq!(safe_next(Some("https://evil.example")), "/account");
        assert_eq!(safe_next(Some("/\\evil.example")), "/account");
        assert_eq!(safe_next(None), "/account");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/account");
        assert_eq!(safe_next(Some("/\n")), "/account");
    }

    #[test]
    fn problems_become_form_errors() {
        let p = Problem::validation(vec![kernel::http::FieldError::new(
            "email",
            "invalid",
            "is not a valid email address",
        )]);
        let e = FormErrors::from_problem(&p);
        assert_eq!(e.get("email"), Some("Is not a valid email address."));
        assert!(e.general.is_none());
        let throttled = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many attempts",
        )
        .retry_after(90);
        assert_eq!(
            FormErrors::from_problem(&throttled).general.as_deref(),
            Some("Too many attempts. Try again in 2 minute(s).")
        );
    }
}
