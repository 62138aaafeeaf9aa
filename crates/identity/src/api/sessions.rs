//! Signing in and out, refreshing tokens, the signing keys, and passwords.

use super::*;

/// Sign in: an access token (15 min) and a rotating refresh token.
#[utoipa::path(post, path = "/api/v1/identity/login", security(()), tag = TAG, request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem, description = "invalid_credentials"),
              (status = 403, body = Problem, description = "account_suspended"),
              (status = 429, body = Problem, description = "too_many_attempts")))]
pub(super) async fn login(
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
pub(super) async fn refresh(
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
pub(super) async fn logout(
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
pub(super) async fn logout_all(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode> {
    let id = claims.sub;
    store::revoke_all_sessions(&mut *s.pool.acquire().await?, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Public keys for verifying access tokens (RFC 7517).
#[utoipa::path(get, path = "/api/v1/identity/jwks.json", security(()), tag = TAG, responses((status = 200, body = Jwks)))]
pub(super) async fn jwks(axum::extract::State(s): AppState) -> Json<Jwks> {
    Json(Jwks {
        keys: vec![s.keys.signing.jwk()],
    })
}

// --- passwords ---

/// Email a single-use reset link (30 min). Always 202, whether or not the email exists.
#[utoipa::path(post, path = "/api/v1/identity/password/forgot", security(()), tag = TAG, request_body = EmailRequest,
    responses((status = 202, body = Accepted), (status = 429, body = Problem)))]
pub(super) async fn forgot_password(
    axum::extract::State(s): AppState,
    ClientIp(ip): ClientIp,
    Json(req): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    let email = email_request(&s, &ip, &req.email).await?;
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
pub(super) async fn reset_password(
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
pub(super) async fn change_password(
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
