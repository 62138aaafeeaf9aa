//! The Stripe adapter: PaymentIntents with manual capture (create + confirm in one call,
//! capture, cancel), refunds, the `Idempotency-Key` header on every write, and
//! `Stripe-Signature` webhook verification. Selected with `PAYMENTS_PROVIDER=stripe`.
//!
//! Stripe never takes raw card numbers from a server: the card field carries a
//! PaymentMethod id (`pm_…`) made by Stripe.js in the customer's browser. With a test
//! key (`sk_test_…`) our simulator's test card numbers are mapped to Stripe's test
//! PaymentMethods, so the same cards work in both.

use std::time::Duration;

use kernel::money::Money;
use serde::Deserialize;

use crate::provider::{
    Authorization, Authorize, IntentState, PaymentProvider, ProviderError, WebhookEvent, cards,
};

pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: String,
    webhook_secret: Vec<u8>,
}

/// The parts of a PaymentIntent we read.
#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    #[serde(default)]
    next_action: Option<NextAction>,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

#[derive(Debug, Deserialize)]
struct NextAction {
    #[serde(default)]
    redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Debug, Deserialize)]
struct RedirectToUrl {
    url: String,
}

#[derive(Debug, Deserialize)]
struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    payment_intent: Option<Box<PaymentIntent>>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: PaymentIntent,
}

fn state_of(status: &str) -> IntentState {
    match status {
        "requires_action" | "requires_confirmation" => IntentState::RequiresAction,
        "requires_capture" => IntentState::Authorized,
        "succeeded" => IntentState::Captured,
        "canceled" => IntentState::Canceled,
        // requires_payment_method: the attempt failed (declined, authentication failed).
        _ => IntentState::Declined,
    }
}

/// Stripe's lowest-denomination amount is our minor unit, and its currency codes are
/// ISO 4217 in lower case.
fn amount_params(amount: Money) -> [(&'static str, String); 2] {
    [
        ("amount", amount.amount_minor.to_string()),
        ("currency", amount.currency.code().to_ascii_lowercase()),
    ]
}

impl Stripe {
    pub fn new(
        base: &str,
        key: &str,
        webhook_secret: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            webhook_secret: webhook_secret.as_bytes().to_vec(),
        })
    }

    /// The PaymentMethod to charge: a `pm_…` id as is; with a test key, a test card
    /// number as Stripe's matching test PaymentMethod.
    fn payment_method(&self, card: &str) -> Result<String, ProviderError> {
        if card.starts_with("pm_") {
            return Ok(card.to_owned());
        }
        if !self.key.starts_with("sk_test_") {
            return Err(ProviderError::Refused(
                "Stripe takes a payment method from Stripe.js, not a card number".into(),
            ));
        }
        Ok(match card {
            cards::SUCCEEDS => "pm_card_visa",
            cards::DECLINED => "pm_card_visa_chargeDeclined",
            cards::INSUFFICIENT_FUNDS => "pm_card_visa_chargeDeclinedInsufficientFunds",
            cards::NEEDS_CONFIRMATION => "pm_card_threeDSecure2Required",
            cards::FAILS_ONCE => "pm_card_chargeDeclinedProcessingError",
            _ => {
                return Err(ProviderError::Refused(
                    "in test mode, use one of the documented test cards".into(),
                ));
            }
        }
        .to_owned())
    }

    /// A form POST to Stripe with the idempotency key; Stripe's error object becomes a
    /// `Declined` answer for card errors and a refusal or transient failure otherwise.
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        form: &[(&str, String)],
    ) -> Result<Result<T, StripeError>, ProviderError> {
        let body =
            serde_urlencoded::to_string(form).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        self.read(res).await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        res: reqwest::Response,
    ) -> Result<Result<T, StripeError>, ProviderError> {
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map(Ok).map_err(|e| {
                ProviderError::Transient(format!("unexpected answer from Stripe: {e}"))
            });
        }
        // 429 and 5xx are worth retrying (with the same idempotency key).
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(ProviderError::Transient(format!(
                "Stripe answered {status}"
            )));
        }
        let error = serde_json::from_slice::<ErrorBody>(&bytes)
            .map_err(|_| ProviderError::Refused(format!("Stripe answered {status}")))?
            .error;
        Ok(Err(error))
    }

    fn answer(&self, intent: &PaymentIntent) -> Authorization {
        match state_of(&intent.status) {
            IntentState::Authorized | IntentState::Captured => Authorization::Authorized {
                provider_ref: intent.id.clone(),
            },
            IntentState::RequiresAction => Authorization::RequiresAction {
                provider_ref: intent.id.clone(),
                url: intent
                    .next_action
                    .as_ref()
                    .and_then(|a| a.redirect_to_url.as_ref())
                    .map(|r| r.url.clone())
                    .unwrap_or_default(),
            },
            IntentState::Declined | IntentState::Canceled => {
                let error = intent.last_payment_error.as_ref();
                declined(intent.id.clone(), error)
            }
        }
    }
}

fn declined(provider_ref: String, error: Option<&StripeError>) -> Authorization {
    let code = error
        .and_then(|e| e.decline_code.clone().or_else(|| e.code.clone()))
        .map(|c| {
            if c == "generic_decline" {
                "card_declined".to_owned()
            } else {
                c
            }
        })
        .unwrap_or_else(|| "card_declined".into());
    Authorization::Declined {
        provider_ref,
        message: error
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| "Your card was declined.".into()),
        code,
    }
}

fn refused(e: StripeError) -> ProviderError {
    // A processing error on a card is Stripe's transient failure.
    if e.code.as_deref() == Some("processing_error") {
        return ProviderError::Transient(e.message.unwrap_or_default());
    }
    ProviderError::Refused(e.message.or(e.code).unwrap_or_else(|| "refused".into()))
}

#[async_trait::async_trait]
impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn authorize(&self, req: &Authorize) -> Result<Authorization, ProviderError> {
        let payment_method = self.payment_method(&req.card_number)?;
        let [amount, currency] = amount_params(req.amount);
        let form = [
            amount,
            currency,
            ("capture_method", "manual".to_owned()),
            ("confirm", "true".to_owned()),
            ("payment_method", payment_method),
            ("payment_method_types[]", "card".to_owned()),
            ("return_url", req.return_url.clone()),
            ("metadata[reference]", req.idempotency_key.clone()),
        ];
        match self
            .post::<PaymentIntent>("/v1/payment_intents", &req.idempotency_key, &form)
            .await?
        {
            Ok(intent) => Ok(self.answer(&intent)),
            Err(e) if e.kind.as_deref() == Some("card_error") => {
                if e.code.as_deref() == Some("processing_error") {
                    return Err(refused(e));
                }
                let id = e
                    .payment_intent
                    .as_ref()
                    .map(|p| p.id.clone())
                    .unwrap_or_default();
                Ok(declined(id, Some(&e)))
            }
            Err(e) => Err(refused(e)),
        }
    }

    async fn state(&self, provider_ref: &str) -> Result<IntentState, ProviderError> {
        let res = self
            .http
            .get(format!("{}/v1/payment_intents/{provider_ref}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        match self.read::<PaymentIntent>(res).await? {
            Ok(intent) => Ok(state_of(&intent.status)),
            Err(e) => Err(refused(e)),
        }
    }

    async fn capture(
        &self,
        provider_ref: &str,
        amount: Money,
        key: &str,
    ) -> Result<(), ProviderError> {
        let form = [("amount_to_capture", amount.amount_minor.to_string())];
        match self
            .post::<PaymentIntent>(
                &format!("/v1/payment_intents/{provider_ref}/capture"),
                key,
                &form,
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) => Err(refused(e)),
        }
    }

    async fn void(&self, provider_ref: &str, key: &str) -> Result<(), ProviderError> {
        match self
            .post::<PaymentIntent>(
                &format!("/v1/payment_intents/{provider_ref}/cancel"),
                key,
                &[],
            )
            .await?
        {
            Ok(_) => Ok(()),
            // Already canceled: what we wanted.
            Err(e) if e.code.as_deref() == Some("payment_intent_unexpected_state") => Ok(()),
            Err(e) => Err(refused(e)),
        }
    }

    async fn refund(
        &self,
        provider_ref: &str,
        amount: Money,
        key: &str,
    ) -> Result<String, ProviderError> {
        let form = [
            ("payment_intent", provider_ref.to_owned()),
            ("amount", amount.amount_minor.to_string()),
        ];
        match self.post::<Refund>("/v1/refunds", key, &form).await? {
            Ok(r) => Ok(r.id),
            Err(e) => Err(refused(e)),
        }
    }

    fn verify_webhook(&self, header: &str, body: &[u8], now: i64) -> Result<WebhookEvent, String> {
        crate::domain::verify_webhook(&self.webhook_secret, header, body, now)
            .map_err(|e| e.to_string())?;
        let event: Event = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        Ok(WebhookEvent {
            event_id: event.id,
            state: state_of(&event.data.object.status),
            provider_ref: event.data.object.id,
        })
    }
}
