//! Events catalog consumes: which stores exist and whether customers may see them.

use std::sync::Arc;

use kernel::events::{Envelope, Event, Handler, Subscription};
use sqlx::{PgConnection, PgPool};
use vendors::events::{StoreApproved, StoreReinstated, StoreSuspended};

use crate::store;

pub const CONSUMES: &[&str] = &[
    StoreApproved::TYPE,
    StoreSuspended::TYPE,
    StoreReinstated::TYPE,
];

/// Keeps `catalog.stores` in step with vendors: a suspended store's products vanish
/// from every public query at once, because those queries join on its status.
pub struct StoreProjection;

#[async_trait::async_trait]
impl Handler for StoreProjection {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            StoreApproved::TYPE => {
                let e: StoreApproved = event.decode()?;
                store::upsert_store(tx, e.store_id.0, &e.slug, &e.name).await?;
            }
            StoreSuspended::TYPE => {
                let e: StoreSuspended = event.decode()?;
                store::set_store_status(tx, e.store_id.0, "suspended").await?;
            }
            StoreReinstated::TYPE => {
                let e: StoreReinstated = event.decode()?;
                store::set_store_status(tx, e.store_id.0, "approved").await?;
            }
            other => anyhow::bail!("catalog does not handle {other}"),
        }
        Ok(())
    }
}

pub fn subscriptions(pool: &PgPool) -> Vec<Subscription> {
    vec![Subscription {
        consumer: crate::SERVICE,
        event_types: CONSUMES.to_vec(),
        handler: Arc::new(StoreProjection),
        pool: pool.clone(),
    }]
}
