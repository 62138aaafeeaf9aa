//! Events identity publishes (see docs/events.md). Notifications consumes the ones
//! that carry a code or token to email; those secrets exist nowhere else in clear.

use std::sync::Arc;

use contracts::vendors::events::{MemberAdded, MemberRemoved};
use kernel::events::{Envelope, Event, Handler, Subscription};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::domain::UserId;
use crate::store;

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

/// Events identity consumes: store memberships, which access tokens carry.
pub const CONSUMES: &[&str] = &[MemberAdded::TYPE, MemberRemoved::TYPE];

/// Keeps `store_memberships` in step with vendors.
pub struct MembershipProjection;

#[async_trait::async_trait]
impl Handler for MembershipProjection {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            MemberAdded::TYPE => {
                let e: MemberAdded = event.decode()?;
                let role = e.role.as_str();
                let store = e.store_id.to_string();
                let user = e.user_id.parse()?;
                let before = store::store_role(tx, user, &store).await?;
                store::apply_store_membership(tx, user, &store, Some(role), e.version).await?;
                // A role taken away (owner to staff) must not outlive the change; a new
                // membership only adds, so older tokens may stay until they refresh.
                if before.is_some_and(|r| r != role) {
                    store::revoke_user_tokens(tx, user).await?;
                }
            }
            MemberRemoved::TYPE => {
                let e: MemberRemoved = event.decode()?;
                let store = e.store_id.to_string();
                let user = e.user_id.parse()?;
                store::apply_store_membership(tx, user, &store, None, e.version).await?;
                // The member's tokens still name the store: every service refuses them
                // now, and a refresh issues claims without it.
                store::revoke_user_tokens(tx, user).await?;
            }
            other => anyhow::bail!("identity does not handle {other}"),
        }
        Ok(())
    }
}

pub fn subscriptions(pool: &PgPool) -> Vec<Subscription> {
    vec![Subscription {
        consumer: crate::SERVICE,
        event_types: CONSUMES.to_vec(),
        handler: Arc::new(MembershipProjection),
        pool: pool.clone(),
    }]
}
