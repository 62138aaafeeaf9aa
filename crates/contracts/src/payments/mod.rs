//! Payments: authorizations, captures, voids and refunds through a provider; the
//! ledger, store balances and payouts.

pub mod client;
pub mod dto;
pub mod events;

pub use client::*;

pub const SERVICE: &str = "payments";
kernel::typed_id!(pub PaymentId, "pay");
kernel::typed_id!(pub PayoutId, "pout");

/// A card number as typed: 12 to 19 digits (spaces and dashes ignored) passing the Luhn
/// check. Returns the digits.
pub fn parse_card_number(text: &str) -> Result<String, &'static str> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be 12 to 19 digits");
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err("is not a valid card number");
    }
    Ok(digits)
}

/// What a customer pays with: a card number (the simulator; test cards with Stripe's
/// test keys) or a provider's payment method id made in the browser (`pm_…`, Stripe.js).
pub fn parse_payment_source(text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("pm_") {
        if (1..=250).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Ok(t.to_owned());
        }
        return Err("is not a valid payment method id");
    }
    parse_card_number(t)
}
