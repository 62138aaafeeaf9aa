//! Payment rules, free of I/O: card numbers, the payment state machine, ledger postings
//! and webhook signatures.
//!
//! Ledger sign convention: debits are positive, credits negative; every transaction's
//! entries sum to zero (the database refuses to commit one that does not).
//! - **capture**: Dr payments_clearing (what the customer paid), Dr platform_promotions
//!   (discounts the platform funds); Cr each store's payable (its part, plus the platform's
//!   discounts on it, minus commission); Cr commission_revenue.
//! - **refund** of R from one store's part: the capture reversed in proportion R / gross
//!   (commission and platform discount shares rounded half away from zero, the store
//!   takes the rest); the money leaves through `refunds`.
//! - **payout** of B to a store: Dr its payable, Cr payouts.

pub use contracts::payments::{PaymentId, PayoutId, parse_payment_source};
use hmac::{Hmac, Mac};
use kernel::ids::StoreId;
use sha2::Sha256;

pub const CLEARING: &str = "payments_clearing";
pub const COMMISSION: &str = "commission_revenue";
pub const PLATFORM_PROMOTIONS: &str = "platform_promotions";
pub const REFUNDS: &str = "refunds";
pub const PAYOUTS: &str = "payouts";

/// A store's payable account.
pub fn store_account(store: StoreId) -> String {
    // The raw uuid: account codes were written so before ids were typed.
    format!("store_payable:{}", store.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Asked of the provider; no answer recorded yet (a crash may leave it here).
    Pending,
    /// The customer must confirm with their bank first.
    RequiresAction,
    Authorized,
    Declined,
    Voided,
    Captured,
    PartiallyRefunded,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    ActionRequired,
    Authorize,
    Decline,
    Void,
    Capture,
    /// A refund that leaves something captured.
    RefundPart,
    /// A refund of everything left.
    RefundRest,
}

kernel::text_enum!(PaymentStatus { Pending = "pending", RequiresAction = "requires_action", Authorized = "authorized", Declined = "declined", Voided = "voided", Captured = "captured", PartiallyRefunded = "partially_refunded", Refunded = "refunded" });

impl PaymentStatus {
    /// The next status, or `None` when the event is illegal here.
    pub fn apply(self, event: PaymentEvent) -> Option<Self> {
        use PaymentEvent as E;
        use PaymentStatus as S;
        Some(match (self, event) {
            (S::Pending, E::ActionRequired) => S::RequiresAction,
            (S::Pending | S::RequiresAction, E::Authorize) => S::Authorized,
            (S::Pending | S::RequiresAction, E::Decline) => S::Declined,
            (S::Pending | S::RequiresAction | S::Authorized, E::Void) => S::Voided,
            (S::Authorized, E::Capture) => S::Captured,
            (S::Captured | S::PartiallyRefunded, E::RefundPart) => S::PartiallyRefunded,
            (S::Captured | S::PartiallyRefunded, E::RefundRest) => S::Refunded,
            _ => return None,
        })
    }
}

/// One store's part of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub store: StoreId,
    /// What the customer paid for it.
    pub gross: i64,
    /// Discounts on it that the platform funds.
    pub platform_discount: i64,
    pub commission: i64,
}

/// Entries of a capture transaction; `None` when a split is inconsistent (a commission
/// above what the store is owed, or negative parts).
pub fn capture_postings(splits: &[Split]) -> Option<Vec<(String, i64)>> {
    let mut entries = Vec::new();
    let (mut gross, mut funded, mut commission) = (0i64, 0i64, 0i64);
    for s in splits {
        if s.gross < 0 || s.platform_discount < 0 || s.commission < 0 {
            return None;
        }
        let owed = s
            .gross
            .checked_add(s.platform_discount)?
            .checked_sub(s.commission)?;
        if owed < 0 {
            return None;
        }
        gross = gross.checked_add(s.gross)?;
        funded = funded.checked_add(s.platform_discount)?;
        commission = commission.checked_add(s.commission)?;
        entries.push((store_account(s.store), -owed));
    }
    entries.push((CLEARING.to_owned(), gross));
    entries.push((PLATFORM_PROMOTIONS.to_owned(), funded));
    entries.push((COMMISSION.to_owned(), -commission));
    entries.retain(|(_, a)| *a != 0);
    Some(entries)
}

/// `part × amount / whole`, rounded half away from zero (`whole > 0`).
fn share(part: i64, amount: i64, whole: i64) -> i64 {
    let n = i128::from(part) * i128::from(amount);
    let w = i128::from(whole);
    let q = (2 * n + w) / (2 * w);
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// Entries of a refund of `amount` from one store's part (`0 < amount ≤ gross`).
pub fn refund_postings(split: &Split, amount: i64) -> Option<Vec<(String, i64)>> {
    if amount <= 0 || amount > split.gross || split.gross == 0 {
        return None;
    }
    let commission = share(split.commission, amount, split.gross);
    let funded = share(split.platform_discount, amount, split.gross);
    let from_store = amount + funded - commission;
    let mut entries = vec![
        (store_account(split.store), from_store),
        (COMMISSION.to_owned(), commission),
        (PLATFORM_PROMOTIONS.to_owned(), -funded),
        (REFUNDS.to_owned(), -amount),
    ];
    entries.retain(|(_, a)| *a != 0);
    Some(entries)
}

pub fn payout_postings(store: StoreId, amount: i64) -> Vec<(String, i64)> {
    vec![
        (store_account(store), amount),
        (PAYOUTS.to_owned(), -amount),
    ]
}

/// How old a signed webhook may be before it is refused as a replay.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, the shape Stripe uses too.
pub fn sign_webhook(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = keyed(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

fn keyed(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the event is outside the replay window")]
    Stale,
}

/// Checks a signature header against the body; any `v1` may match (secret rotation).
pub fn verify_webhook(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Constant-time comparison of each candidate.
    let matched = signatures
        .iter()
        .any(|sig| keyed(secret, timestamp, body).verify_slice(sig).is_ok());
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::payments::parse_card_number;

    #[test]
    fn card_numbers_need_the_luhn_check() {
        assert_eq!(
            parse_card_number("4242 4242 4242 4242").as_deref(),
            Ok("4242424242424242")
        );
        assert!(parse_card_number("4000000000003220").is_ok());
        assert!(parse_card_number("4000000000000119").is_ok());
        assert!(parse_card_number("4242424242424241").is_err());
        assert!(parse_card_number("4242").is_err());
        assert!(parse_card_number("4242x24242424242").is_err());
        assert_eq!(
            parse_payment_source(" pm_card_visa ").as_deref(),
            Ok("pm_card_visa")
        );
        assert!(parse_payment_source("pm_").is_err());
        assert!(parse_payment_source("pm_a b").is_err());
        assert!(parse_payment_source("4242424242424242").is_ok());
    }

    #[test]
    fn payments_move_only_along_the_machine() {
        use PaymentEvent as E;
        use PaymentStatus as S;
        assert_eq!(S::Pending.apply(E::Authorize), Some(S::Authorized));
        assert_eq!(S::RequiresAction.apply(E::Decline), Some(S::Declined));
        assert_eq!(S::Authorized.apply(E::Capture), Some(S::Captured));
        assert_eq!(S::Captured.apply(E::Void), None);
        assert_eq!(S::Declined.apply(E::Capture), None);
        assert_eq!(S::Voided.apply(E::Authorize), None);
        assert_eq!(S::Captured.apply(E::RefundPart), Some(S::PartiallyRefunded));
        assert_eq!(S::PartiallyRefunded.apply(E::RefundRest), Some(S::Refunded));
        assert_eq!(S::Refunded.apply(E::RefundPart), None);
        for s in [
            S::Pending,
            S::RequiresAction,
            S::Authorized,
            S::Declined,
            S::Voided,
            S::Captured,
            S::PartiallyRefunded,
            S::Refunded,
        ] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    fn sum(entries: &[(String, i64)]) -> i64 {
        entries.iter().map(|(_, a)| a).sum()
    }

    #[test]
    fn captures_and_refunds_balance() {
        let a = StoreId::new();
        let b = StoreId::new();
        let splits = [
            Split {
                store: a,
                gross: 10_000,
                platform_discount: 500,
                commission: 1_050,
            },
            Split {
                store: b,
                gross: 3_333,
                platform_discount: 0,
                commission: 333,
            },
        ];
        let capture = capture_postings(&splits).unwrap_or_default();
        assert_eq!(sum(&capture), 0);
        assert!(capture.contains(&(store_account(a), -9_450)));
        assert!(capture.contains(&(COMMISSION.to_owned(), -1_383)));
        for amount in [1, 999, 3_333, 10_000] {
            let split = if amount <= 3_333 {
                &splits[1]
            } else {
                &splits[0]
            };
            let refund = refund_postings(split, amount).unwrap_or_default();
            assert_eq!(sum(&refund), 0, "refund of {amount}");
        }
        // Refunding everything in parts reverses the commission exactly when the parts
        // are whole shares; a full refund always does.
        let full = refund_postings(&splits[0], 10_000).unwrap_or_default();
        assert!(full.contains(&(COMMISSION.to_owned(), 1_050)));
        assert!(full.contains(&(store_account(a), 9_450)));
        assert!(refund_postings(&splits[0], 10_001).is_none());
        assert!(refund_postings(&splits[0], 0).is_none());
        let bad = Split {
            store: a,
            gross: 100,
            platform_discount: 0,
            commission: 101,
        };
        assert!(capture_postings(&[bad]).is_none());
        assert_eq!(sum(&payout_postings(a, 42)), 0);
    }

    #[test]
    fn webhook_signatures_are_checked_and_dated() {
        let secret = b"whsec_test";
        let body = br#"{"id":"evt_1"}"#;
        let header = sign_webhook(secret, 1_000_000, body);
        assert_eq!(verify_webhook(secret, &header, body, 1_000_100), Ok(()));
        assert_eq!(
            verify_webhook(secret, &header, br#"{"id":"evt_2"}"#, 1_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_webhook(b"other", &header, body, 1_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_webhook(
                secret,
                &header,
                body,
                1_000_000 + WEBHOOK_TOLERANCE_SECS + 1
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_webhook(secret, "v1=abc", body, 1_000_000),
            Err(SignatureError::Malformed)
        );
    }
}
