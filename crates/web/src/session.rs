//! The browser session: tokens in HttpOnly, SameSite=Lax cookies, refreshed
//! transparently when the access token expires; a CSRF token for every form
//! (double-submit: a cookie and a hidden field that must match); one-shot flash
//! messages.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use kernel::auth::{Claims, TokenError};
use kernel::http::client::ClientError;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

use crate::WebState;
use crate::pages::error_page;
use kernel::ids::StoreId;

pub const ACCESS: &str = "em_access";
pub const REFRESH: &str = "em_refresh";
pub const CSRF: &str = "em_csrf";
pub const FLASH: &str = "em_flash";

const REFRESH_MAX_AGE: u64 = 30 * 86_400;

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Builds a `Set-Cookie` value. Everything is HttpOnly: no script needs these.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

pub fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The signed-in user of this request, if any.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub claims: Claims,
    pub access_token: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.claims.is_admin()
    }

    /// Whether this user may manage `store`'s products (its members; admins).
    pub fn manages(&self, store: StoreId) -> bool {
        self.claims.is_admin() || self.claims.store_role(store).is_some()
    }
}

/// What every page needs from the session: user, CSRF token, flash message.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub flash: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<PageContext>()
            .cloned()
            .unwrap_or_default())
    }
}

/// Tokens handed out by a sign-in or refresh, to be stored as cookies.
pub struct NewTokens {
    pub access: String,
    pub refresh: String,
}

pub fn session_cookies(headers: &mut HeaderMap, tokens: &NewTokens, secure: bool) {
    headers.append(
        SET_COOKIE,
        set_cookie(ACCESS, &tokens.access, Some(REFRESH_MAX_AGE), secure),
    );
    headers.append(
        SET_COOKIE,
        set_cookie(REFRESH, &tokens.refresh, Some(REFRESH_MAX_AGE), secure),
    );
}

pub fn end_session(headers: &mut HeaderMap) {
    headers.append(SET_COOKIE, clear_cookie(ACCESS));
    headers.append(SET_COOKIE, clear_cookie(REFRESH));
}

pub fn flash(headers: &mut HeaderMap, message: &str, secure: bool) {
    let encoded = kernel::secret::b64url(message.as_bytes());
    headers.append(SET_COOKIE, set_cookie(FLASH, &encoded, Some(60), secure));
}

/// Resolves the session before the page handler runs, refreshing expired access
/// tokens, and writes any cookie changes onto the response.
pub async fn session_layer(
    State(state): State<WebState>,
    mut req: Request,
    next: Next,
) -> Response {
    // Only the four cookies are needed; read them before the request moves on.
    let (csrf_cookie, flash_cookie, access_cookie, refresh_cookie) = {
        let h = req.headers();
        (
            cookie(h, CSRF),
            cookie(h, FLASH),
            cookie(h, ACCESS),
            cookie(h, REFRESH),
        )
    };
    let mut set = HeaderMap::new();
    let secure = state.secure_cookies;

    let csrf = match csrf_cookie.filter(|c| c.len() >= 32) {
        Some(c) => c,
        None => {
            let c = kernel::secret::random_token();
            set.append(SET_COOKIE, set_cookie(CSRF, &c, None, secure));
            c
        }
    };
    let flash = flash_cookie.and_then(|f| {
        set.append(SET_COOKIE, clear_cookie(FLASH));
        kernel::secret::b64url_decode(&f).and_then(|b| String::from_utf8(b).ok())
    });

    let mut user = None;
    if let Some(access) = access_cookie {
        match state.verifier.verify(&access).await {
            Ok(claims) => {
                user = Some(CurrentUser {
                    claims,
                    access_token: access,
                });
            }
            Err(TokenError::Expired | TokenError::Revoked) => {
                if let Some(refresh) = refresh_cookie {
                    match state.identity.refresh(&refresh).await {
                        Ok(t) => {
                            if let Ok(claims) = state.verifier.verify(&t.access_token).await {
                                session_cookies(
                                    &mut set,
                                    &NewTokens {
                                        access: t.access_token.clone(),
                                        refresh: t.refresh_token,
                                    },
                                    secure,
                                );
                                user = Some(CurrentUser {
                                    claims,
                                    access_token: t.access_token,
                                });
                            }
                        }
                        // Only a refusal ends the session; identity being briefly
                        // unreachable must not sign everyone out.
                        Err(ClientError::Problem(p)) if matches!(p.status, 401 | 403) => {
                            end_session(&mut set);
                        }
                        Err(e) => tracing::warn!(error = %e, "session refresh failed"),
                    }
                } else {
                    end_session(&mut set);
                }
            }
            Err(_) => end_session(&mut set),
        }
    }

    req.extensions_mut()
        .insert(PageContext { user, csrf, flash });
    let mut res = next.run(req).await;
    for v in set.get_all(SET_COOKIE) {
        res.headers_mut().append(SET_COOKIE, v.clone());
    }
    res
}

/// A form body whose hidden `csrf` field matches the CSRF cookie.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let expected = cookie(req.headers(), CSRF);
        let ctx = req
            .extensions()
            .get::<PageContext>()
            .cloned()
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .map_err(|_| error_page(&ctx, 413, "That form was too large."))?;
        let field: CsrfField =
            serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
        if !csrf_matches(expected.as_deref(), field.csrf.as_deref()) {
            return Err(csrf_refused(&ctx));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| {
                error_page(
                    &ctx,
                    400,
                    "That form was incomplete. Go back and try again.",
                )
            })
    }
}

/// Compares in constant time (through digests), and an empty token never matches.
fn csrf_matches(cookie: Option<&str>, field: Option<&str>) -> bool {
    match (cookie, field) {
        (Some(e), Some(f)) => {
            !e.is_empty() && kernel::secret::digest(e) == kernel::secret::digest(f)
        }
        _ => false,
    }
}

fn csrf_refused(ctx: &PageContext) -> Response {
    error_page(
        ctx,
        403,
        "This form expired or did not come from this site. Go back, reload the page and try again.",
    )
}

/// A file sent through a form.
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A multipart form (text fields and at most one file) whose `csrf` field matches the
/// CSRF cookie.
pub struct CsrfUpload {
    pub fields: HashMap<String, String>,
    pub file: Option<Upload>,
}

impl<S: Send + Sync> FromRequest<S> for CsrfUpload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = cookie(req.headers(), CSRF);
        let ctx = req
            .extensions()
            .get::<PageContext>()
            .cloned()
            .unwrap_or_default();
        let incomplete = |ctx: &PageContext| {
            error_page(
                ctx,
                413,
                "That upload was too large or incomplete. Images may be at most 10 MiB.",
            )
        };
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|_| {
                error_page(
                    &ctx,
                    400,
                    "That form was incomplete. Go back and try again.",
                )
            })?;
        let mut fields = HashMap::new();
        let mut file = None;
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_owned();
                    match field.file_name().map(str::to_owned) {
                        Some(file_name) => {
                            let content_type = field.content_type().unwrap_or_default().to_owned();
                            let bytes = field.bytes().await.map_err(|_| incomplete(&ctx))?;
                            if !bytes.is_empty() {
                                file = Some(Upload {
                                    file_name,
                                    content_type,
                                    bytes: bytes.to_vec(),
                                });
                            }
                        }
                        None => {
                            let text = field.text().await.map_err(|_| incomplete(&ctx))?;
                            fields.insert(name, text);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => return Err(incomplete(&ctx)),
            }
        }
        if !csrf_matches(expected.as_deref(), fields.get("csrf").map(String::as_str)) {
            return Err(csrf_refused(&ctx));
        }
        Ok(Self { fields, file })
    }
}
