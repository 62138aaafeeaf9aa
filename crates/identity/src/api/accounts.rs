//! Opening an account: registration, email verification, and accounts made from the
//! command line.

use super::*;

/// Create an account; a verification code is emailed.
#[utoipa::path(post, path = "/api/v1/identity/register", security(()), tag = TAG, request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, body = Problem, description = "email_taken"),
              (status = 422, body = Problem, description = "validation_failed")))]
pub(super) async fn register(
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
pub(super) async fn verify_email(
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
pub(super) async fn resend_verification(
    axum::extract::State(s): AppState,
    ClientIp(ip): ClientIp,
    Json(req): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    let email = email_request(&s, &ip, &req.email).await?;
    let accepted = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If the account exists and is unverified, a new code is on its way".into(),
        }),
    );
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
