//! The card network behind one trait, and the simulator every installation ships with
//! as its default: it behaves like a real gateway's test mode, test cards and all, and
//! keeps its own books in `simulator_intents` so they outlive our processes, as a real
//! gateway's would.

use std::time::Duration;

use kernel::money::Money;
use sha2::Digest;
use sqlx::PgPool;
use uuid::Uuid;

/// What we ask of a provider to hold money on a card.
#[derive(Debug, Clone)]
pub struct Authorize {
    /// The same key asks once: a retry gets the first answer.
    pub idempotency_key: String,
    pub amount: Money,
    /// Digits only, already Luhn-checked.
    pub card_number: String,
    /// Where the customer comes back to after a confirmation step.
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Authorized {
        provider_ref: String,
    },
    /// The customer must confirm with their bank at `url`; a webhook tells the outcome.
    RequiresAction {
        provider_ref: String,
        url: String,
    },
    Declined {
        provider_ref: String,
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying (network trouble, the gateway's own hiccup).
    #[error("the payment provider is unavailable: {0}")]
    Transient(String),
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

/// Where an authorization stands at the provider (for the recovery worker and webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    RequiresAction,
    Authorized,
    Declined,
    Canceled,
    Captured,
}

/// A verified webhook: which authorization it is about and where it now stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub provider_ref: String,
    pub state: IntentState,
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    async fn authorize(&self, req: &Authorize) -> Result<Authorization, ProviderError>;
    async fn state(&self, provider_ref: &str) -> Result<IntentState, ProviderError>;
    async fn capture(
        &self,
        provider_ref: &str,
        amount: Money,
        key: &str,
    ) -> Result<(), ProviderError>;
    async fn void(&self, provider_ref: &str, key: &str) -> Result<(), ProviderError>;
    /// Returns the provider's refund id.
    async fn refund(
        &self,
        provider_ref: &str,
        amount: Money,
        key: &str,
    ) -> Result<String, ProviderError>;
    /// Checks a webhook's signature (`header`) and decodes it.
    fn verify_webhook(&self, header: &str, body: &[u8], now: i64) -> Result<WebhookEvent, String>;
}

/// Test cards, as documented in docs/api.md.
pub mod cards {
    pub const SUCCEEDS: &str = "4242424242424242";
    pub const DECLINED: &str = "4000000000000002";
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    pub const NEEDS_CONFIRMATION: &str = "4000000000003220";
    pub const FAILS_ONCE: &str = "4000000000000119";
}

/// The built-in gateway simulator.
pub struct Simulator {
    pool: PgPool,
    /// Base URL of the confirmation pages (the public URL).
    public_url: String,
    secret: Vec<u8>,
    latency: Duration,
}

#[derive(sqlx::FromRow)]
struct IntentRow {
    id: Uuid,
    status: String,
    decline_code: Option<String>,
    amount_minor: i64,
    currency: String,
    captured_minor: i64,
    refunded_minor: i64,
    /// Authorization attempts under this idempotency key.
    attempts: i32,
}

fn decline_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "Your card has insufficient funds.",
        "authentication_failed" => "Your bank did not confirm the payment.",
        _ => "Your card was declined.",
    }
}

fn intent_state(status: &str) -> IntentState {
    match status {
        "requires_action" => IntentState::RequiresAction,
        "authorized" => IntentState::Authorized,
        "canceled" => IntentState::Canceled,
        "captured" => IntentState::Captured,
        _ => IntentState::Declined,
    }
}

fn db(e: sqlx::Error) -> ProviderError {
    ProviderError::Transient(e.to_string())
}

impl Simulator {
    pub fn new(pool: PgPool, public_url: &str, secret: &[u8], latency: Duration) -> Self {
        Self {
            pool,
            public_url: public_url.trim_end_matches('/').to_owned(),
            secret: secret.to_vec(),
            latency,
        }
    }

    async fn network(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    fn reference(id: Uuid) -> String {
        format!("sim_{}", id.simple())
    }

    fn parse_reference(provider_ref: &str) -> Result<Uuid, ProviderError> {
        provider_ref
            .strip_prefix("sim_")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| ProviderError::Refused("no such payment".into()))
    }

    async fn intent(&self, provider_ref: &str) -> Result<IntentRow, ProviderError> {
        let id = Self::parse_reference(provider_ref)?;
        sqlx::query_as(
            "SELECT id, status, decline_code, amount_minor, currency, captured_minor, refunded_minor, attempts \
             FROM simulator_intents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .ok_or_else(|| ProviderError::Refused("no such payment".into()))
    }

    fn answer(&self, row: &IntentRow) -> Authorization {
        let provider_ref = Self::reference(row.id);
        match row.status.as_str() {
            "requires_action" => Authorization::RequiresAction {
                url: format!(
                    "{}/payments/simulator/confirm/{provider_ref}",
                    self.public_url
                ),
                provider_ref,
            },
            "declined" => {
                let code = row
                    .decline_code
                    .clone()
                    .unwrap_or_else(|| "card_declined".into());
                Authorization::Declined {
                    message: decline_message(&code).to_owned(),
                    code,
                    provider_ref,
                }
            }
            _ => Authorization::Authorized { provider_ref },
        }
    }

    /// The customer's answer on the confirmation page: moves the intent on and returns
    /// the signed webhook the simulator sends about it (body, signature header) and
    /// where the customer goes back to.
    pub async fn complete_action(
        &self,
        provider_ref: &str,
        confirmed: bool,
        now: i64,
    ) -> Result<(Vec<u8>, String, Option<String>), ProviderError> {
        let id = Self::parse_reference(provider_ref)?;
        let (status, code) = if confirmed {
            ("authorized", None)
        } else {
            ("declined", Some("authentication_failed"))
        };
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE simulator_intents SET status = $2, decline_code = $3 \
             WHERE id = $1 AND status = 'requires_action' RETURNING return_url",
        )
        .bind(id)
        .bind(status)
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some((return_url,)) = row else {
            return Err(ProviderError::Refused(
                "this payment needs no confirmation".into(),
            ));
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "id": format!("evt_{}", Uuid::now_v7().simple()),
            "type": if confirmed { "payment_intent.authorized" } else { "payment_intent.declined" },
            "data": { "object": { "id": provider_ref, "status": status } },
        }))
        .map_err(|e| ProviderError::Refused(e.to_string()))?;
        let signature = crate::domain::sign_webhook(&self.secret, now, &body);
        Ok((body, signature, return_url))
    }

    /// What the confirmation page shows: the amount, if the intent awaits confirmation.
    pub async fn pending_action(&self, provider_ref: &str) -> Result<Option<Money>, ProviderError> {
        let row = self.intent(provider_ref).await?;
        if row.status != "requires_action" {
            return Ok(None);
        }
        let currency = kernel::money::Currency::parse(&row.currency)
            .map_err(|e| ProviderError::Refused(e.to_owned()))?;
        Ok(Some(Money {
            amount_minor: row.amount_minor,
            currency,
        }))
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }

    async fn authorize(&self, req: &Authorize) -> Result<Authorization, ProviderError> {
        if req.card_number.starts_with("pm_") {
            return Err(ProviderError::Refused(
                "the simulator takes card numbers, not payment method ids".into(),
            ));
        }
        self.network().await;
        let (status, code) = match req.card_number.as_str() {
            cards::DECLINED => ("declined", Some("card_declined")),
            cards::INSUFFICIENT_FUNDS => ("declined", Some("insufficient_funds")),
            cards::NEEDS_CONFIRMATION => ("requires_action", None),
            _ => ("authorized", None),
        };
        let last4 = &req.card_number[req.card_number.len().saturating_sub(4)..];
        // Every attempt counts, so the transient card can fail its first one only.
        let row: IntentRow = sqlx::query_as(
            "INSERT INTO simulator_intents \
               (id, idempotency_key, amount_minor, currency, card_last4, status, decline_code, return_url, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) \
             ON CONFLICT (idempotency_key) DO UPDATE SET attempts = simulator_intents.attempts + 1 \
             RETURNING id, status, decline_code, amount_minor, currency, captured_minor, refunded_minor, attempts",
        )
        .bind(Uuid::now_v7())
        .bind(&req.idempotency_key)
        .bind(req.amount.amount_minor)
        .bind(req.amount.currency.code())
        .bind(last4)
        .bind(status)
        .bind(code)
        .bind(&req.return_url)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        if req.card_number == cards::FAILS_ONCE && row.attempts == 1 {
            return Err(ProviderError::Transient(
                "processing_error: try again".into(),
            ));
        }
        Ok(self.answer(&row))
    }

    async fn state(&self, provider_ref: &str) -> Result<IntentState, ProviderError> {
        self.network().await;
        Ok(intent_state(&self.intent(provider_ref).await?.status))
    }

    async fn capture(
        &self,
        provider_ref: &str,
        amount: Money,
        _key: &str,
    ) -> Result<(), ProviderError> {
        self.network().await;
        let row = self.intent(provider_ref).await?;
        match row.status.as_str() {
            "captured" => Ok(()),
            "authorized" if amount.amount_minor <= row.amount_minor => {
                sqlx::query(
                    "UPDATE simulator_intents SET status = 'captured', captured_minor = $2 WHERE id = $1",
                )
                .bind(row.id)
                .bind(amount.amount_minor)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }
            other => Err(ProviderError::Refused(format!(
                "cannot capture a {other} payment"
            ))),
        }
    }

    async fn void(&self, provider_ref: &str, _key: &str) -> Result<(), ProviderError> {
        self.network().await;
        let row = self.intent(provider_ref).await?;
        match row.status.as_str() {
            "canceled" | "declined" => Ok(()),
            "authorized" | "requires_action" => {
                sqlx::query("UPDATE simulator_intents SET status = 'canceled' WHERE id = $1")
                    .bind(row.id)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }
            other => Err(ProviderError::Refused(format!(
                "cannot cancel a {other} payment"
            ))),
        }
    }

    async fn refund(
        &self,
        provider_ref: &str,
        amount: Money,
        key: &str,
    ) -> Result<String, ProviderError> {
        self.network().await;
        let row = self.intent(provider_ref).await?;
        let id = format!(
            "re_{}",
            hex::encode(&sha2::Sha256::digest(key.as_bytes())[..12])
        );
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT amount_minor FROM simulator_refunds WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        if done.is_some() {
            return Ok(id);
        }
        if row.status != "captured" || row.refunded_minor + amount.amount_minor > row.captured_minor
        {
            return Err(ProviderError::Refused(
                "the refund exceeds what was captured".into(),
            ));
        }
        // The same key refunds once, however often it is asked.
        sqlx::query(
            "WITH first AS (INSERT INTO simulator_refunds (key, intent_id, amount_minor) \
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING amount_minor) \
             UPDATE simulator_intents SET refunded_minor = refunded_minor + \
               (SELECT coalesce(sum(amount_minor), 0) FROM first) WHERE id = $2",
        )
        .bind(key)
        .bind(row.id)
        .bind(amount.amount_minor)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(id)
    }

    fn verify_webhook(&self, header: &str, body: &[u8], now: i64) -> Result<WebhookEvent, String> {
        crate::domain::verify_webhook(&self.secret, header, body, now)
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let event_id = v["id"].as_str().ok_or("no event id")?.to_owned();
        let object = &v["data"]["object"];
        Ok(WebhookEvent {
            event_id,
            provider_ref: object["id"].as_str().ok_or("no payment id")?.to_owned(),
            state: intent_state(object["status"].as_str().ok_or("no status")?),
        })
    }
}
