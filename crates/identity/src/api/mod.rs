//! Identity's HTTP API under `/api/v1/identity`.

mod internal;

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
        .routes(routes!(register))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(jwks))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(get_address, update_address, delete_address))
        .routes(routes!(admin_list_users))
        .routes(routes!(admin_suspend))
        .routes(routes!(admin_reactivate))
        .routes(routes!(admin_grant_admin, admin_revoke_admin))
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

/// Create an account; a verification code is emailed.
#[utoipa::path(post, path = "/api/v1/identity/register", security(()), tag = TAG, request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, body = Problem, description = "email_taken"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn register(
    axum::extract::State(s): AppState,
    Json(req): Json<RegisterRequest>,
) -> Result<impl IntoResponse> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, &req.email);
    let password = errs.check("password", "weak_password", Password::parse(&req.password));
    let name = errs.check("name", "invalid", domain::parse_name(&req.name));
    let (email, password, name) = errs.finish_with((email, password, name))?;
    let hash = s.hasher.hash(password.expose().to_owned()).await?;
    let id = UserId::new();
    let (code, code_hash) = new_verification_code(&s.keys);
    let mut tx = s.pool.begin().await?;
    if let Err(e) = store::insert_user(&mut tx, id, &email, &name, &hash, false, false).await {
        return Err(if kernel::db::is_unique_violation(&e, "users_email_key") {
            Error::EmailTaken
        } else {
            e.into()
        });
    }
    store::upsert_verification(
        &mut tx,
        id,
        &code_hash,
        expires_in(domain::VERIFICATION_CODE_TTL),
    )
    .await?;
    kernel::events::outbox::record(
        &mut tx,
        &UserRegistered {
            user_id: id,
            email: email.as_str().to_owned(),
            name,
            verification_code: code,
        },
    )
    .await?;
    let user = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&user))))
}

/// Confirm an email address with the emailed 6-digit code.
#[utoipa::path(post, path = "/api/v1/identity/verify-email", security(()), tag = TAG, request_body = VerifyEmailRequest,
    responses((status = 200, body = Verified), (status = 422, body = Problem, description = "invalid_code"),
              (status = 410, body = Problem, description = "code_expired / code_attempts_exhausted")))]
async fn verify_email(
    axum::extract::State(s): AppState,
    Json(req): Json<VerifyEmailRequest>,
) -> Result<Json<Verified>> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, &req.email);
    let code = req.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        errs.add(
            "code",
            "invalid_code",
            "must be the 6 digits from the email",
        );
    }
    errs.finish()?;
    let Some(email) = email else {
        return Err(Error::InvalidCode);
    };
    let mut tx = s.pool.begin().await?;
    // An unknown email answers like a wrong code: nothing to learn from it.
    let Some(user) = store::user_by_email(&mut tx, &email).await? else {
        return Err(Error::InvalidCode);
    };
    if user.email_verified_at.is_some() {
        return Err(Error::AlreadyVerified);
    }
    let Some(row) = store::verification_for_update(&mut tx, user.id).await? else {
        return Err(Error::CodeExpired);
    };
    let matches = kernel::secret::verify_keyed_digest(&s.keys.code_pepper, code, &row.code_hash);
    let expired = row.expires_at <= OffsetDateTime::now_utc();
    match domain::check_code(matches, row.attempts, expired) {
        CodeCheck::Valid => {
            store::mark_verified(&mut tx, user.id).await?;
            kernel::events::outbox::record(
                &mut tx,
                &EmailVerified {
                    user_id: user.id,
                    email: user.email.clone(),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Json(Verified {
                email_verified: true,
            }))
        }
        CodeCheck::Wrong => {
            store::count_verification_attempt(&mut tx, user.id).await?;
            tx.commit().await?;
            Err(Error::InvalidCode)
        }
        CodeCheck::Expired => Err(Error::CodeExpired),
        CodeCheck::TooManyAttempts => Err(Error::CodeAttemptsExhausted),
    }
}

/// Email a fresh verification code (at most once a minute).
#[utoipa::path(post, path = "/api/v1/identity/verify-email/resend", security(()), tag = TAG, request_body = EmailRequest,
    responses((status = 202, body = Accepted), (status = 429, body = Problem, description = "resend_cooldown")))]
async fn resend_verification(
    axum::extract::State(s): AppState,
    ClientIp(ip): ClientIp,
    Json(req): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, &req.email);
    errs.finish()?;
    take_attempt(
        &s.pool,
        &format!("email-requests:ip:{ip}"),
        domain::EMAIL_REQUESTS_PER_IP,
    )
    .await?;
    let accepted = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If the account exists and is unverified, a new code is on its way".into(),
        }),
    );
    let Some(email) = email else {
        return Ok(accepted);
    };
    let mut tx = s.pool.begin().await?;
    let Some(user) = store::user_by_email(&mut tx, &email).await? else {
        return Ok(accepted);
    };
    if user.email_verified_at.is_some() {
        return Ok(accepted);
    }
    if let Some(row) = store::verification_for_update(&mut tx, user.id).await? {
        let next = row.last_sent_at + domain::VERIFICATION_RESEND_COOLDOWN;
        let wait = (next - OffsetDateTime::now_utc()).whole_seconds();
        if wait > 0 {
            return Err(Error::ResendCooldown {
                retry_after: u64::try_from(wait).unwrap_or(1),
            });
        }
    }
    let (code, hash) = new_verification_code(&s.keys);
    store::upsert_verification(
        &mut tx,
        user.id,
        &hash,
        expires_in(domain::VERIFICATION_CODE_TTL),
    )
    .await?;
    kernel::events::outbox::record(
        &mut tx,
        &EmailVerificationRequested {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            verification_code: code,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(accepted)
}

// --- sessions ---

/// Sign in: an access token (15 min) and a rotating refresh token.
#[utoipa::path(post, path = "/api/v1/identity/login", security(()), tag = TAG, request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem, description = "invalid_credentials"),
              (status = 403, body = Problem, description = "account_suspended"),
              (status = 429, body = Problem, description = "too_many_attempts")))]
async fn login(
    axum::extract::State(s): AppState,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<NoStore<Json<TokenResponse>>> {
    let ip_key = format!("login:ip:{ip}");
    take_attempt(&s.pool, &ip_key, domain::LOGIN_FAILURES_PER_IP).await?;
    // Not an email: it cannot be an account, and it never reaches the database.
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return Err(Error::InvalidCredentials);
    };
    let account_key = format!("login:account:{}", email.as_str());
    take_attempt(&s.pool, &account_key, domain::LOGIN_FAILURES_PER_ACCOUNT).await?;
    let user = store::user_by_email(&mut *s.pool.acquire().await?, &email).await?;
    let ok = s
        .hasher
        .verify(
            req.password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
    let Some(user) = user.filter(|_| ok) else {
        return Err(Error::InvalidCredentials);
    };
    // A right password does not count against the account or the address.
    store::throttle_clear(&s.pool, &account_key).await?;
    store::throttle_release(&s.pool, &ip_key).await?;
    if user.status == UserStatus::Suspended {
        return Err(Error::Suspended);
    }
    let mut tx = s.pool.begin().await?;
    let tokens = issue_tokens(&s, &mut tx, &user, None).await?;
    tx.commit().await?;
    Ok(NoStore(Json(tokens)))
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting
/// it again within 10 s of its first use, before the pair it got is itself refreshed,
/// answers that very same pair again (two tabs racing); any other reuse ends the whole
/// session (someone copied it).
#[utoipa::path(post, path = "/api/v1/identity/token/refresh", security(()), tag = TAG, request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem, description = "invalid_refresh_token / refresh_token_reused"),
              (status = 403, body = Problem, description = "account_suspended")))]
async fn refresh(
    axum::extract::State(s): AppState,
    Json(req): Json<RefreshRequest>,
) -> Result<NoStore<Json<TokenResponse>>> {
    let hash = kernel::secret::digest(&req.refresh_token);
    let mut tx = s.pool.begin().await?;
    let Some(row) = store::refresh_for_update(&mut tx, &hash).await? else {
        return Err(Error::InvalidRefreshToken);
    };
    let now = OffsetDateTime::now_utc();
    let used_secs_ago = row.used_at.map(|t| (now - t).whole_seconds());
    // The token its first use returned: the same keyed MAC of the presented token.
    let successor = domain::successor_refresh_token(&s.keys.code_pepper, &req.refresh_token);
    // For a used token, the claims of the pair its first use got, as long as that pair
    // is still unused. A successor exchanged since (or not found) means the chain has
    // moved on, so this presentation is a copy being replayed.
    let replayable = match row.used_at {
        Some(_) => store::successor_for_update(&mut tx, &kernel::secret::digest(&successor))
            .await?
            .filter(|t| t.session_id == row.session_id && t.used_at.is_none())
            .and_then(|t| t.access_claims)
            .map(|claims| claims.0),
        None => None,
    };
    let replay = match domain::check_refresh(
        used_secs_ago,
        replayable.is_none(),
        row.session_revoked_at.is_some(),
        row.expires_at <= now,
    ) {
        RefreshCheck::Rotate => None,
        RefreshCheck::Replay => Some(replayable.ok_or(Error::InvalidRefreshToken)?),
        RefreshCheck::Reused => {
            store::revoke_session(&mut tx, row.session_id).await?;
            tx.commit().await?;
            tracing::warn!(session = %row.session_id, "refresh token reuse; session revoked");
            return Err(Error::RefreshTokenReused);
        }
        RefreshCheck::Expired | RefreshCheck::Revoked => return Err(Error::InvalidRefreshToken),
    };
    let user = store::user_by_id(&mut tx, row.user_id)
        .await?
        .ok_or(Error::InvalidRefreshToken)?;
    if user.status == UserStatus::Suspended {
        store::revoke_session(&mut tx, row.session_id).await?;
        tx.commit().await?;
        return Err(Error::Suspended);
    }
    let tokens = match replay {
        // Nothing is written: the answer is the first use's, so no second chain exists.
        Some(claims) => {
            tx.commit().await?;
            tracing::info!(session = %row.session_id, "refresh token reused within grace; replayed");
            token_response(&s, &claims, successor, view(&user))
        }
        None => {
            store::mark_refresh_used(&mut tx, &hash).await?;
            let tokens =
                issue_tokens(&s, &mut tx, &user, Some((row.session_id, successor))).await?;
            tx.commit().await?;
            tokens
        }
    };
    Ok(NoStore(Json(tokens)))
}

/// End the session a refresh token belongs to.
#[utoipa::path(post, path = "/api/v1/identity/logout", security(()), tag = TAG, request_body = RefreshRequest,
    responses((status = 204, description = "Session ended (also when it was already over)")))]
async fn logout(
    axum::extract::State(s): AppState,
    Json(req): Json<RefreshRequest>,
) -> Result<StatusCode> {
    let mut tx = s.pool.begin().await?;
    if let Some(row) =
        store::refresh_for_update(&mut tx, &kernel::secret::digest(&req.refresh_token)).await?
    {
        store::revoke_session(&mut tx, row.session_id).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the signed-in user.
#[utoipa::path(post, path = "/api/v1/identity/logout-all", tag = TAG, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout_all(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode> {
    let id = claims.sub;
    store::revoke_all_sessions(&mut *s.pool.acquire().await?, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Public keys for verifying access tokens (RFC 7517).
#[utoipa::path(get, path = "/api/v1/identity/jwks.json", security(()), tag = TAG, responses((status = 200, body = Jwks)))]
async fn jwks(axum::extract::State(s): AppState) -> Json<Jwks> {
    Json(Jwks {
        keys: vec![s.keys.signing.jwk()],
    })
}

// --- passwords ---

/// Email a single-use reset link (30 min). Always 202, whether or not the email exists.
#[utoipa::path(post, path = "/api/v1/identity/password/forgot", security(()), tag = TAG, request_body = EmailRequest,
    responses((status = 202, body = Accepted), (status = 429, body = Problem)))]
async fn forgot_password(
    axum::extract::State(s): AppState,
    ClientIp(ip): ClientIp,
    Json(req): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, &req.email);
    errs.finish()?;
    take_attempt(
        &s.pool,
        &format!("email-requests:ip:{ip}"),
        domain::EMAIL_REQUESTS_PER_IP,
    )
    .await?;
    if let Some(email) = email {
        // However many addresses they come from, one inbox gets a bounded number of links.
        take_attempt(
            &s.pool,
            &format!("email-requests:account:{}", email.as_str()),
            domain::EMAIL_REQUESTS_PER_ACCOUNT,
        )
        .await?;
        let mut tx = s.pool.begin().await?;
        if let Some(user) = store::user_by_email(&mut tx, &email).await?
            && user.status == UserStatus::Active
        {
            let token = kernel::secret::random_token();
            store::insert_reset(
                &mut tx,
                user.id,
                &kernel::secret::digest(&token),
                expires_in(domain::RESET_TOKEN_TTL),
            )
            .await?;
            kernel::events::outbox::record(
                &mut tx,
                &PasswordResetRequested {
                    user_id: user.id,
                    email: user.email.clone(),
                    name: user.name.clone(),
                    reset_token: token,
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If an account exists for this email, a reset link is on its way".into(),
        }),
    ))
}

/// Set a new password with a reset token; ends every session.
#[utoipa::path(post, path = "/api/v1/identity/password/reset", security(()), tag = TAG, request_body = ResetPasswordRequest,
    responses((status = 204), (status = 410, body = Problem, description = "invalid_reset_token"), (status = 422, body = Problem)))]
async fn reset_password(
    axum::extract::State(s): AppState,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<StatusCode> {
    let mut errs = FieldErrors::new();
    let password = errs.check(
        "new_password",
        "weak_password",
        Password::parse(&req.new_password),
    );
    errs.finish()?;
    let Some(password) = password else {
        return Err(Error::InvalidResetToken);
    };
    let hash = s.hasher.hash(password.expose().to_owned()).await?;
    let mut tx = s.pool.begin().await?;
    let Some(user_id) = store::consume_reset(&mut tx, &kernel::secret::digest(&req.token)).await?
    else {
        return Err(Error::InvalidResetToken);
    };
    let user = store::user_for_update(&mut tx, user_id)
        .await?
        .ok_or(Error::InvalidResetToken)?;
    store::set_password(&mut tx, user_id, &hash).await?;
    store::revoke_all_sessions(&mut tx, user_id, None).await?;
    kernel::events::outbox::record(
        &mut tx,
        &PasswordChanged {
            user_id,
            email: user.email,
            name: user.name,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password (needs the current one); ends every other session.
#[utoipa::path(post, path = "/api/v1/identity/me/password", tag = TAG, security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204), (status = 422, body = Problem, description = "wrong_password / weak_password")))]
async fn change_password(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode> {
    let id = claims.sub;
    let mut errs = FieldErrors::new();
    let password = errs.check(
        "new_password",
        "weak_password",
        Password::parse(&req.new_password),
    );
    errs.finish()?;
    let Some(password) = password else {
        return Err(Error::WrongCurrentPassword);
    };
    let user = store::user_by_id(&mut *s.pool.acquire().await?, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    if !s
        .hasher
        .verify(
            req.current_password.clone(),
            Some(user.password_hash.clone()),
        )
        .await
    {
        return Err(Error::WrongCurrentPassword);
    }
    let hash = s.hasher.hash(password.expose().to_owned()).await?;
    let keep = Some(claims.sid);
    let mut tx = s.pool.begin().await?;
    store::set_password(&mut tx, id, &hash).await?;
    store::revoke_all_sessions(&mut tx, id, keep).await?;
    kernel::events::outbox::record(
        &mut tx,
        &PasswordChanged {
            user_id: id,
            email: user.email,
            name: user.name,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- profile ---

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/v1/identity/me", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
async fn me(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<Json<UserView>> {
    let id = claims.sub;
    let user = store::user_by_id(&mut *s.pool.acquire().await?, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    Ok(Json(view(&user)))
}

/// Update name and phone.
#[utoipa::path(patch, path = "/api/v1/identity/me", tag = TAG, security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = UserView), (status = 422, body = Problem)))]
async fn update_me(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Json(req): Json<UpdateProfileRequest>,
) -> Result<Json<UserView>> {
    let id = claims.sub;
    let mut errs = FieldErrors::new();
    let name = req
        .name
        .as_deref()
        .map(|n| errs.check("name", "invalid", domain::parse_name(n)));
    let phone = req
        .phone
        .as_deref()
        .map(|p| errs.check("phone", "invalid", domain::parse_phone(p)));
    errs.finish()?;
    let mut tx = s.pool.begin().await?;
    let user = store::user_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    let name = name.flatten().unwrap_or(user.name);
    let phone = match phone {
        Some(p) => p.flatten(),
        None => user.phone,
    };
    store::update_profile(&mut tx, id, &name, phone.as_deref()).await?;
    let updated = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok(Json(view(&updated)))
}

// --- address book ---

fn address_input(r: AddressRequest) -> AddressInput {
    AddressInput {
        label: r.label,
        full_name: r.full_name,
        line1: r.line1,
        line2: r.line2,
        city: r.city,
        region: r.region,
        postal_code: r.postal_code,
        country: r.country,
        phone: r.phone,
        is_default_shipping: r.is_default_shipping,
        is_default_billing: r.is_default_billing,
    }
}

/// The signed-in user's addresses.
#[utoipa::path(get, path = "/api/v1/identity/me/addresses", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = AddressList)))]
async fn list_addresses(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<Json<AddressList>> {
    let id = claims.sub;
    let items = store::list_addresses(&s.pool, id).await?;
    Ok(Json(AddressList {
        items: items.into_iter().map(address_view).collect(),
    }))
}

/// Add an address (at most 20). Marking it default takes the flag from the previous default.
#[utoipa::path(post, path = "/api/v1/identity/me/addresses", tag = TAG, security(("bearer" = [])),
    request_body = AddressRequest,
    responses((status = 201, body = AddressView), (status = 409, body = Problem, description = "address_limit_reached"), (status = 422, body = Problem)))]
async fn create_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Json(req): Json<AddressRequest>,
) -> Result<impl IntoResponse> {
    let user = claims.sub;
    let address = Address::parse(&address_input(req))?;
    let id = AddressId::new();
    let mut tx = s.pool.begin().await?;
    store::lock_user(&mut tx, user).await?;
    if store::count_addresses(&mut tx, user).await? >= domain::MAX_ADDRESSES {
        return Err(Error::TooManyAddresses);
    }
    store::insert_address(&mut tx, user, id, &address).await?;
    tx.commit().await?;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok((StatusCode::CREATED, Json(address_view(row))))
}

/// One of the signed-in user's addresses.
#[utoipa::path(get, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")),
    responses((status = 200, body = AddressView), (status = 404, body = Problem)))]
async fn get_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
) -> Result<Json<AddressView>> {
    let user = claims.sub;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok(Json(address_view(row)))
}

/// Replace an address.
#[utoipa::path(put, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")), request_body = AddressRequest,
    responses((status = 200, body = AddressView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
    Json(req): Json<AddressRequest>,
) -> Result<Json<AddressView>> {
    let user = claims.sub;
    let address = Address::parse(&address_input(req))?;
    let mut tx = s.pool.begin().await?;
    store::lock_user(&mut tx, user).await?;
    if !store::update_address(&mut tx, user, id, &address).await? {
        return Err(Error::not_found("address"));
    }
    tx.commit().await?;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok(Json(address_view(row)))
}

/// Delete an address.
#[utoipa::path(delete, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
) -> Result<StatusCode> {
    let user = claims.sub;
    if store::delete_address(&s.pool, user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found("address"))
    }
}

// --- admin ---

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Email or name prefix.
    #[param(schema_with = kernel::http::schema::optional_text::<254>)]
    pub q: Option<String>,
}

/// Users, newest first, searchable by email or name prefix.
#[utoipa::path(get, path = "/api/v1/identity/admin/users", tag = TAG, security(("bearer" = ["admin"])),
    params(UserSearch, PageParams),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
async fn admin_list_users(
    axum::extract::State(s): AppState,
    _admin: AdminUser,
    Query(search): Query<UserSearch>,
    Query(page): Query<PageParams>,
) -> Result<Json<UserPage>> {
    let limit = page.limit()?;
    let after = page.after_time()?;
    let q = search.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q
        && (q.chars().count() > 254 || q.chars().any(char::is_control))
    {
        return Err(Problem::validation(vec![kernel::http::FieldError::new(
            "q",
            "invalid",
            "must be at most 254 characters, without control characters",
        )])
        .into());
    }
    let rows = store::search_users(&s.pool, q, after, limit).await?;
    let page = Page::from_rows(rows, limit, |u| time_key(u.created_at, u.id.0));
    Ok(Json(UserPage {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// What an admin does to another user's account.
#[derive(Clone, Copy)]
enum Moderation {
    Status(UserStatus),
    Admin(bool),
}

async fn moderate(
    s: &State,
    admin: &Claims,
    id: UserId,
    change: Moderation,
) -> Result<Json<UserView>> {
    if admin.sub == id {
        return Err(Error::SelfModeration);
    }
    let mut tx = s.pool.begin().await?;
    store::user_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    match change {
        Moderation::Status(status) => {
            if store::set_status(&mut tx, id, status).await? {
                if status == UserStatus::Suspended {
                    store::revoke_all_sessions(&mut tx, id, None).await?;
                }
                let event = UserStatusChanged {
                    user_id: id,
                    status: status.as_str().into(),
                };
                kernel::events::outbox::record(&mut tx, &event).await?;
            }
        }
        Moderation::Admin(is_admin) => {
            if store::set_admin(&mut tx, id, is_admin).await? {
                kernel::events::outbox::record(
                    &mut tx,
                    &UserRolesChanged {
                        user_id: id,
                        is_admin,
                    },
                )
                .await?;
            }
        }
    }
    let user = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok(Json(view(&user)))
}

/// Suspend a user: they can no longer sign in or refresh, and their sessions end.
#[utoipa::path(post, path = "/api/v1/identity/admin/users/{id}/suspend", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn admin_suspend(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Status(UserStatus::Suspended)).await
}

/// Reactivate a suspended user.
#[utoipa::path(post, path = "/api/v1/identity/admin/users/{id}/reactivate", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn admin_reactivate(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Status(UserStatus::Active)).await
}

/// Grant the admin role.
#[utoipa::path(put, path = "/api/v1/identity/admin/users/{id}/admin", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn admin_grant_admin(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Admin(true)).await
}

/// Revoke the admin role.
#[utoipa::path(delete, path = "/api/v1/identity/admin/users/{id}/admin", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn admin_revoke_admin(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Admin(false)).await
}

/// Creates an account from the command line (`emporium admin create-user`): verified,
/// optionally an admin. Same validation as registration.
pub async fn create_user(
    pool: &PgPool,
    config: &kernel::Config,
    email: &str,
    name: &str,
    password: &str,
    admin: bool,
) -> Result<UserView> {
    let mut errs = FieldErrors::new();
    let email = parse_email(&mut errs, email);
    let password = errs.check("password", "weak_password", Password::parse(password));
    let name = errs.check("name", "invalid", domain::parse_name(name));
    let (email, password, name) = errs.finish_with((email, password, name))?;
    let hash = Hasher::new(config.argon2)?
        .hash(password.expose().to_owned())
        .await?;
    let id = UserId::new();
    let mut tx = pool.begin().await?;
    if let Err(e) = store::insert_user(&mut tx, id, &email, &name, &hash, true, admin).await {
        return Err(if kernel::db::is_unique_violation(&e, "users_email_key") {
            Error::EmailTaken
        } else {
            e.into()
        });
    }
    if admin {
        kernel::events::outbox::record(
            &mut tx,
            &UserRolesChanged {
                user_id: id,
                is_admin: true,
            },
        )
        .await?;
    }
    let user = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok(view(&user))
}
