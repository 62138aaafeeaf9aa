//! Events notifications consumes. Each becomes at most one email: the inbox row and the
//! email row commit together, so a redelivered event sends nothing new.

use kernel::ids::StoreId;
use std::sync::Arc;

use contracts::identity::events::{
    EmailVerificationRequested, PasswordChanged, PasswordResetRequested, UserRegistered,
};
use contracts::inventory::events::StockLow;
use contracts::orders::events::{OrderPaid, SubOrderChanged};
use contracts::reviews::events::ReviewPosted;
use contracts::vendors::VendorsClient;
use contracts::vendors::events::{StaffInvited, StoreApproved, StoreRejected};
use kernel::events::{Envelope, Event, Handler, Subscription};
use sqlx::{PgConnection, PgPool};

use crate::domain::{self, OutgoingEmail};
use crate::mailer::Mailer;
use crate::store;

pub struct EmailHandler {
    mailer: Arc<Mailer>,
    public_url: String,
    /// Where stores' contact addresses come from.
    vendors: VendorsClient,
}

impl EmailHandler {
    pub fn new(mailer: Arc<Mailer>, config: &kernel::Config, vendors: VendorsClient) -> Self {
        Self {
            mailer,
            public_url: config.public_url.clone(),
            vendors,
        }
    }

    /// A store, for its name and its support address (the one vendors asked customers
    /// to use).
    async fn store(&self, id: StoreId) -> anyhow::Result<contracts::vendors::dto::StoreView> {
        self.vendors
            .store(&id.to_string(), None)
            .await
            .map_err(|err| anyhow::anyhow!("vendors: {err}"))
    }

    /// The email an event asks for; `None` when this one asks for none.
    async fn compose(&self, event: &Envelope) -> anyhow::Result<Option<OutgoingEmail>> {
        let url = &self.public_url;
        Ok(Some(match event.event_type.as_str() {
            OrderPaid::TYPE => {
                let e: OrderPaid = event.decode()?;
                domain::order_confirmed(
                    url,
                    &e.email,
                    &e.number,
                    &e.order_id.to_string(),
                    e.stores.len(),
                )?
            }
            SubOrderChanged::TYPE => {
                let e: SubOrderChanged = event.decode()?;
                if e.status == "paid" {
                    // A new part to ship: to the store, not the customer.
                    let store = self.store(e.store_id).await?;
                    domain::new_order(
                        url,
                        &store.support_email,
                        &store.name,
                        &e.number,
                        &e.store_id.to_string(),
                        &e.sub_order_id.to_string(),
                    )?
                } else {
                    match domain::sub_order_changed(
                        url,
                        &e.email,
                        &e.number,
                        &e.order_id.to_string(),
                        &e.status,
                        e.tracking_number.as_deref(),
                        e.reason.as_deref(),
                    )? {
                        Some(email) => email,
                        None => return Ok(None),
                    }
                }
            }
            StockLow::TYPE => {
                let e: StockLow = event.decode()?;
                let store = self.store(e.store_id).await?;
                domain::low_stock(
                    url,
                    &store.support_email,
                    &store.name,
                    &e.product_id.to_string(),
                    e.available,
                    e.threshold,
                )?
            }
            ReviewPosted::TYPE => {
                let e: ReviewPosted = event.decode()?;
                let store = self.store(e.store_id).await?;
                domain::new_review(
                    url,
                    &store.support_email,
                    &store.name,
                    &e.store_id.to_string(),
                    e.rating,
                    &e.title,
                )?
            }
            UserRegistered::TYPE => {
                let e: UserRegistered = event.decode()?;
                domain::verification(url, &e.email, &e.name, &e.verification_code)?
            }
            EmailVerificationRequested::TYPE => {
                let e: EmailVerificationRequested = event.decode()?;
                domain::verification(url, &e.email, &e.name, &e.verification_code)?
            }
            PasswordResetRequested::TYPE => {
                let e: PasswordResetRequested = event.decode()?;
                domain::password_reset(url, &e.email, &e.name, &e.reset_token)?
            }
            PasswordChanged::TYPE => {
                let e: PasswordChanged = event.decode()?;
                domain::password_changed(url, &e.email, &e.name)?
            }
            StoreApproved::TYPE => {
                let e: StoreApproved = event.decode()?;
                domain::store_approved(url, &e.owner_email, &e.name, &e.slug)?
            }
            StoreRejected::TYPE => {
                let e: StoreRejected = event.decode()?;
                domain::store_rejected(&e.applicant_email, &e.name, &e.reason)?
            }
            StaffInvited::TYPE => {
                let e: StaffInvited = event.decode()?;
                let role = e.role.as_str();
                domain::staff_invited(url, &e.email, &e.store_name, role, &e.token)?
            }
            other => anyhow::bail!("notifications does not handle {other}"),
        }))
    }
}

#[async_trait::async_trait]
impl Handler for EmailHandler {
    async fn handle(&self, event: &Envelope, tx: &mut PgConnection) -> anyhow::Result<()> {
        let Some(email) = self.compose(event).await? else {
            return Ok(());
        };
        // The dev mailbox is the only place a full copy is kept.
        let record = match self.mailer.as_ref() {
            Mailer::DevMailbox => email.clone(),
            Mailer::Smtp { .. } => email.redacted(),
        };
        if store::insert_email(tx, event.id, &record, self.mailer.transport_name()).await? {
            // Sent inside the transaction: if sending fails the row rolls back and the
            // event is retried. A crash between send and commit can resend once.
            self.mailer.send(&email).await?;
            tracing::info!(kind = email.kind, event_id = %event.id, "email sent");
        }
        Ok(())
    }
}

/// Every event type notifications consumes.
pub const CONSUMES: &[&str] = &[
    UserRegistered::TYPE,
    EmailVerificationRequested::TYPE,
    PasswordResetRequested::TYPE,
    PasswordChanged::TYPE,
    StoreApproved::TYPE,
    StoreRejected::TYPE,
    StaffInvited::TYPE,
    StockLow::TYPE,
    OrderPaid::TYPE,
    SubOrderChanged::TYPE,
    ReviewPosted::TYPE,
];

pub fn subscriptions(handler: EmailHandler, pool: &PgPool) -> Vec<Subscription> {
    vec![Subscription {
        consumer: crate::SERVICE,
        event_types: CONSUMES.to_vec(),
        handler: Arc::new(handler),
        pool: pool.clone(),
        queue: kernel::events::Queue::Shared,
    }]
}
