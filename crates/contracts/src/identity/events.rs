//! What identity publishes (see docs/events.md): notifications emails people from it.

use kernel::events::Event;
use serde::{Deserialize, Serialize};

use super::UserId;

macro_rules! identity_event {
    ($name:ident, $type:literal) => {
        impl Event for $name {
            const TYPE: &'static str = $type;

            fn aggregate_id(&self) -> String {
                self.user_id.to_string()
            }
        }
    };
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRegistered {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// The 6-digit email verification code, for the welcome email.
    pub verification_code: String,
}
identity_event!(UserRegistered, "identity.user.registered");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailVerificationRequested {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub verification_code: String,
}
identity_event!(
    EmailVerificationRequested,
    "identity.email_verification.requested"
);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailVerified {
    pub user_id: UserId,
    pub email: String,
}
identity_event!(EmailVerified, "identity.email.verified");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PasswordResetRequested {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// Single-use reset token, for the reset link.
    pub reset_token: String,
}
identity_event!(PasswordResetRequested, "identity.password_reset.requested");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PasswordChanged {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
}
identity_event!(PasswordChanged, "identity.password.changed");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserStatusChanged {
    pub user_id: UserId,
    /// `active` or `suspended`.
    pub status: String,
}
identity_event!(UserStatusChanged, "identity.user.status_changed");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRolesChanged {
    pub user_id: UserId,
    pub is_admin: bool,
}
identity_event!(UserRolesChanged, "identity.user.roles_changed");
