//! Identity's HTTP API under `/api/v1/identity`.

mod accounts;
mod admin;
mod internal;
mod profile;
mod sessions;

pub use accounts::create_user;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use kernel::auth::{AdminUser, AuthUser, Claims, ISSUER, Jwks, Role, StoreMembership};
use kernel::http::Path;
use kernel::http::pagination::{Page, PageParams, time_key};
use kernel::http::{ClientIp, Json, Problem, Query};
use kernel::validation::FieldErrors;
use serde::Deserialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{
    self, Address, AddressId, AddressInput, CodeCheck, EmailAddress, Password, RefreshCheck,
    SessionId, UserId, UserStatus,
};
use crate::passwords::Hasher;
use crate::store::{self, AddressRow, UserRow};
use crate::{Error, Keys};
use contracts::identity::dto::*;
use contracts::identity::events::{
    EmailVerificationRequested, EmailVerified, PasswordChanged, PasswordResetRequested,
    UserRegistered, UserRolesChanged, UserStatusChanged,
};

const TAG: &str = "identity";

#[derive(Clone)]
pub struct State {
    pool: PgPool,
    keys: Arc<Keys>,
    hasher: Hasher,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl State {
    pub fn new(pool: PgPool, keys: Arc<Keys>, config: &kernel::Config) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            keys,
            hasher: Hasher::new(config.argon2)?,
            access_ttl: config.access_token_ttl,
            refresh_ttl: config.refresh_token_ttl,
        })
    }
}

type AppState = axum::extract::State<State>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::verify_email))
        .routes(routes!(accounts::resend_verification))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::logout_all))
        .routes(routes!(sessions::jwks))
        .routes(routes!(sessions::forgot_password))
        .routes(routes!(sessions::reset_password))
        .routes(routes!(profile::me, profile::update_me))
        .routes(routes!(sessions::change_password))
        .routes(routes!(profile::list_addresses, profile::create_address))
        .routes(routes!(
            profile::get_address,
            profile::update_address,
            profile::delete_address
        ))
        .routes(routes!(admin::admin_list_users))
        .routes(routes!(admin::admin_suspend))
        .routes(routes!(admin::admin_reactivate))
        .routes(routes!(admin::admin_grant_admin, admin::admin_revoke_admin))
        .routes(routes!(internal::revocations))
        .with_state(state)
}

// --- helpers ---

fn view(u: &UserRow) -> UserView {
    let mut roles = vec![Role::Customer];
    if u.is_admin {
        roles.push(Role::Admin);
    }
    UserView {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        phone: u.phone.clone(),
        email_verified: u.email_verified_at.is_some(),
        status: u.status.to_string(),
        roles,
        created_at: u.created_at,
    }
}

fn address_view(a: AddressRow) -> AddressView {
    AddressView {
        id: a.id,
        label: a.label,
        full_name: a.full_name,
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        region: a.region,
        postal_code: a.postal_code,
        country: a.country,
        phone: a.phone,
        is_default_shipping: a.is_default_shipping,
        is_default_billing: a.is_default_billing,
    }
}

/// The address a request asks to email, once the caller's address has an email
/// request left (both refusals come before anything is looked up).
async fn email_request(s: &State, ip: &str, raw: &str) -> Result<EmailAddress> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, raw);
    let (email,) = errs.finish_with((email,))?;
    take_attempt(
        &s.pool,
        &format!("email-requests:ip:{ip}"),
        domain::EMAIL_REQUESTS_PER_IP,
    )
    .await?;
    Ok(email)
}

fn parse_email(errs: &mut FieldErrors, raw: &str) -> Option<EmailAddress> {
    errs.check("email", "invalid_email", EmailAddress::parse(raw))
}

fn expires_in(d: Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + d
}

/// Counts an attempt against `key` and refuses it once the window holds more than `limit`.
async fn take_attempt(pool: &PgPool, key: &str, limit: i32) -> Result<()> {
    let window = domain::THROTTLE_WINDOW.as_secs() as i64;
    let (hits, retry_after) = store::throttle_hit(pool, key, window).await?;
    if hits > limit {
        return Err(Error::Throttled {
            retry_after: u64::try_from(retry_after).unwrap_or(1),
        });
    }
    Ok(())
}

/// Issues a pair: without `rotating`, a new session (refresh-token family) with a random
/// first refresh token; with `rotating`, the next pair of that session, with the given
/// refresh token (the successor derived from the one being exchanged).
/// Runs inside the caller's transaction, so a rotation either fully happens or not.
async fn issue_tokens(
    s: &State,
    tx: &mut sqlx::PgConnection,
    user: &UserRow,
    rotating: Option<(SessionId, String)>,
) -> Result<TokenResponse> {
    let (session, refresh_token) = match rotating {
        Some(next) => next,
        None => {
            let id = SessionId::new();
            store::insert_session(tx, id, user.id).await?;
            (id, format!("rt_{}", kernel::secret::random_token()))
        }
    };
    // Revocations refuse the user's tokens issued up to their second; a token issued
    // after one (these claims are read after it) is stamped past that second, so it is
    // never mistaken for a stale one.
    let revoked_up_to = store::user_tokens_revoked_up_to(tx, user.id).await?;
    let now = OffsetDateTime::now_utc()
        .unix_timestamp()
        .max(revoked_up_to.map_or(0, |at| at + 1));
    let v = view(user);
    let stores = store::store_memberships(tx, user.id)
        .await?
        .into_iter()
        .map(|(store, role)| {
            let store = store
                .parse()
                .map_err(|e| anyhow::anyhow!("a membership of {store:?}: {e}"))?;
            Ok(StoreMembership { store, role })
        })
        .collect::<Result<_>>()?;
    let claims = Claims {
        sub: user.id,
        sid: session,
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        roles: v.roles.clone(),
        stores,
        iss: ISSUER.to_owned(),
        iat: now,
        exp: now + s.access_ttl.as_secs() as i64,
    };
    store::insert_refresh_token(
        tx,
        session,
        &kernel::secret::digest(&refresh_token),
        expires_in(s.refresh_ttl),
        &claims,
    )
    .await?;
    Ok(token_response(s, &claims, refresh_token, v))
}

/// Ed25519 signatures are deterministic, so the same claims always give the same
/// access token: a replay answers byte for byte what the first use got.
fn token_response(
    s: &State,
    claims: &Claims,
    refresh_token: String,
    user: UserView,
) -> TokenResponse {
    TokenResponse {
        access_token: s.keys.signing.sign(claims),
        token_type: "Bearer".into(),
        expires_in: s.access_ttl.as_secs(),
        refresh_token,
        user,
    }
}

fn new_verification_code(keys: &Keys) -> (String, Vec<u8>) {
    let code = kernel::secret::random_digits(6);
    let hash = kernel::secret::keyed_digest(&keys.code_pepper, &code);
    (code, hash)
}

/// Token responses must not be cached or stored anywhere (RFC 6749 §5.1).
pub struct NoStore<T>(T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> axum::response::Response {
        let mut res = self.0.into_response();
        res.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        res
    }
}

// --- registration and verification ---
