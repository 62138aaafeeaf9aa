use axum::http::StatusCode;
use kernel::http::{Failure, Problem};

/// Everything vendors can refuse, each with a stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("verify your email address before opening a store")]
    EmailNotVerified,
    #[error("this store address is taken")]
    SlugTaken,
    #[error("you already have an application under review")]
    ApplicationPending,
    #[error("a store that is {from} cannot be {action}")]
    IllegalTransition {
        from: &'static str,
        action: &'static str,
    },
    #[error("a store keeps at least one owner")]
    LastOwner,
    #[error("the invitation is invalid, used or expired")]
    InvalidInvitation,
    #[error("this invitation was sent to another email address")]
    InvitationForSomeoneElse,
    #[error("already a member of this store")]
    AlreadyMember,
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let text = e.to_string();
        match e {
            Error::EmailNotVerified => Problem::new(S::FORBIDDEN, "email_not_verified", text),
            Error::SlugTaken => Problem::taken("slug", "slug_taken", text),
            Error::ApplicationPending => Problem::new(S::CONFLICT, "application_pending", text),
            Error::IllegalTransition { .. } => {
                Problem::new(S::CONFLICT, "illegal_transition", text)
            }
            Error::LastOwner => Problem::new(S::CONFLICT, "last_owner", text),
            Error::InvalidInvitation => Problem::new(S::GONE, "invalid_invitation", text),
            Error::InvitationForSomeoneElse => {
                Problem::new(S::FORBIDDEN, "invitation_for_someone_else", text)
            }
            Error::AlreadyMember => Problem::new(S::CONFLICT, "already_member", text),
            Error::Failure(f) => f.into(),
        }
    }
}

kernel::service_error!(
    Error,
    forbidden = "you are not allowed to do this to this store"
);
