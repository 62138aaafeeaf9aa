//! Events identity publishes (see docs/events.md). Notifications consumes the ones
//! that carry a code or token to email; those secrets exist nowhere else in clear.

use std::sync::Arc;

use contracts::vendors::events::{MemberAdded, MemberRemoved};
use kernel::events::{Envelope, Event, Handler, Subscription};
use sqlx::{PgConnection, PgPool};

use crate::store;

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
                let user = e.user_id;
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
                let user = e.user_id;
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
        queue: kernel::events::Queue::Shared,
    }]
}
