//! Request and answer bodies of payments's API, public and internal.

use crate::vendors::StoreId;
use kernel::money::Money;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::*;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: PaymentId,
    pub reference: String,
    pub amount: Money,
    /// `pending`, `requires_action`, `authorized`, `declined`, `voided`, `captured`,
    /// `partially_refunded` or `refunded`.
    pub status: String,
    pub card_last4: Option<String>,
    /// Where the customer confirms the payment (`requires_action`).
    pub action_url: Option<String>,
    /// Why it was declined (`card_declined`, `insufficient_funds`, …) and what to tell
    /// the customer.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub captured: Money,
    pub refunded: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The checkout's key: asking again returns the same payment.
    pub reference: String,
    /// The paying customer (`usr_…`).
    pub customer: kernel::ids::UserId,
    pub amount: Money,
    pub card_number: String,
    /// Where the customer returns after a confirmation step (under the public URL).
    pub return_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The store (`sto_…`).
    pub store_id: StoreId,
    /// What the customer paid for this store's part.
    pub gross_minor: i64,
    /// Discounts on it the platform pays for.
    #[serde(default)]
    pub platform_discount_minor: i64,
    pub commission_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// One per store; the parts add up to the payment's amount.
    pub splits: Vec<SplitRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PaymentRefundRequest)]
pub struct RefundRequest {
    /// The caller's key (e.g. the sub-order's cancellation): the same reference
    /// refunds once.
    pub reference: String,
    /// Whose part is refunded (`sto_…`).
    pub store_id: StoreId,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    pub reference: String,
    pub amount_minor: i64,
    pub payment: PaymentView,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutView {
    pub id: PayoutId,
    pub store_id: StoreId,
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    /// What the platform owes the store, per currency.
    pub balances: Vec<Money>,
    pub payouts: Vec<PayoutView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutRunView {
    pub id: Uuid,
    pub payouts: Vec<PayoutView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutList {
    pub items: Vec<PayoutView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub account: String,
    /// Debits positive, credits negative.
    pub balance: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerView {
    pub accounts: Vec<AccountView>,
    /// The sum of every entry per currency: always zero.
    pub totals: Vec<Money>,
}
