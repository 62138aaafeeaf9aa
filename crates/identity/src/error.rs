use axum::http::StatusCode;
use kernel::http::{Failure, Problem};

/// Everything identity can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("this account is suspended")]
    Suspended,
    #[error("too many attempts")]
    Throttled { retry_after: u64 },
    #[error("the code is wrong")]
    InvalidCode,
    #[error("the code has expired")]
    CodeExpired,
    #[error("too many wrong codes")]
    CodeAttemptsExhausted,
    #[error("the email is already verified")]
    AlreadyVerified,
    #[error("a code was sent moments ago")]
    ResendCooldown { retry_after: u64 },
    #[error("the reset link is invalid, used or expired")]
    InvalidResetToken,
    #[error("the refresh token is invalid")]
    InvalidRefreshToken,
    #[error("the refresh token was already used")]
    RefreshTokenReused,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("the address book is full")]
    TooManyAddresses,
    #[error("admins cannot suspend or demote themselves")]
    SelfModeration,
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let text = e.to_string();
        match e {
            Error::EmailTaken => Problem::new(S::CONFLICT, "email_taken", text),
            Error::InvalidCredentials => Problem::new(S::UNAUTHORIZED, "invalid_credentials", text),
            Error::Suspended => Problem::new(S::FORBIDDEN, "account_suspended", text),
            Error::Throttled { retry_after } => Problem::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many attempts; try again later",
            )
            .retry_after(retry_after),
            Error::InvalidCode => Problem::new(S::UNPROCESSABLE_ENTITY, "invalid_code", text),
            Error::CodeExpired => {
                Problem::new(S::GONE, "code_expired", text).detail("Ask for a new code")
            }
            Error::CodeAttemptsExhausted => {
                Problem::new(S::GONE, "code_attempts_exhausted", text).detail("Ask for a new code")
            }
            Error::AlreadyVerified => Problem::new(S::CONFLICT, "already_verified", text),
            Error::ResendCooldown { retry_after } => {
                Problem::new(S::TOO_MANY_REQUESTS, "resend_cooldown", text).retry_after(retry_after)
            }
            Error::InvalidResetToken => Problem::new(S::GONE, "invalid_reset_token", text),
            Error::InvalidRefreshToken => {
                Problem::new(S::UNAUTHORIZED, "invalid_refresh_token", text)
            }
            Error::RefreshTokenReused => {
                Problem::new(S::UNAUTHORIZED, "refresh_token_reused", text)
                    .detail("The session was ended everywhere; sign in again")
            }
            Error::WrongCurrentPassword => {
                Problem::validation(vec![kernel::http::FieldError::new(
                    "current_password",
                    "wrong_password",
                    text,
                )])
            }
            Error::TooManyAddresses => Problem::new(S::CONFLICT, "address_limit_reached", text)
                .detail(format!(
                    "At most {} addresses",
                    crate::domain::MAX_ADDRESSES
                )),
            Error::SelfModeration => Problem::new(S::CONFLICT, "self_moderation", text),
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(Error);
