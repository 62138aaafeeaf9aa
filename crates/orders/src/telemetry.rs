//! What the business and the on-call engineer count about checkouts and orders.
//! Labels are steps, outcomes, problem codes and currencies: fixed sets.

use std::time::Duration;

use crate::domain::{Plan, Step};

/// Makes the checkout counters exist at zero, so a rate of failures is 0 and not
/// absent before the first one.
pub fn register() {
    for outcome in ["completed", "failed"] {
        metrics::counter!("checkout_outcomes_total", "outcome" => outcome, "reason" => "none")
            .increment(0);
    }
}

/// The action that moves a checkout on from `step`.
pub fn action_from(step: Step) -> &'static str {
    match step {
        Step::Started => "abandon",
        Step::Priced => "redeem",
        Step::Redeemed => "reserve",
        Step::Reserved => "authorize",
        Step::AwaitingAction => "await_confirmation",
        Step::Authorized => "confirm",
        Step::Confirmed => "capture",
        Step::Completed | Step::Failed => "none",
    }
}

/// One action of the saga took `elapsed` (`compensate` for undoing a failed one).
pub fn step_took(step: &'static str, elapsed: Duration) {
    metrics::histogram!("checkout_step_duration_seconds", "step" => step)
        .record(elapsed.as_secs_f64());
}

/// A checkout this process drove to its end: completed, or failed for `reason`.
pub fn checkout_ended(step: Step, reason: Option<&str>) {
    let reason = reason.map_or_else(|| "none".to_owned(), kernel::telemetry::code_label);
    metrics::counter!("checkout_outcomes_total", "outcome" => step.as_str(), "reason" => reason)
        .increment(1);
}

/// An order was paid: one more order, its items and its value in its currency.
pub fn order_paid(plan: &Plan, total_minor: i64) {
    let currency = kernel::telemetry::code_label(&plan.currency.to_ascii_lowercase());
    let items: i64 = plan
        .stores
        .iter()
        .flat_map(|s| &s.lines)
        .map(|l| i64::from(l.quantity))
        .sum();
    metrics::counter!("orders_paid_total", "currency" => currency.clone()).increment(1);
    metrics::counter!("order_items_total", "currency" => currency.clone())
        .increment(u64::try_from(items).unwrap_or(0));
    metrics::counter!("gmv_minor_total", "currency" => currency.clone())
        .increment(u64::try_from(total_minor).unwrap_or(0));
    // Refunds in a currency sold in count from zero, not from the first refund.
    metrics::counter!("refunds_total", "currency" => currency.clone()).increment(0);
    metrics::counter!("refunded_minor_total", "currency" => currency).increment(0);
}

/// Money went back to a customer.
pub fn refunded(currency: &str, amount_minor: i64) {
    let currency = kernel::telemetry::code_label(&currency.to_ascii_lowercase());
    metrics::counter!("refunds_total", "currency" => currency.clone()).increment(1);
    metrics::counter!("refunded_minor_total", "currency" => currency)
        .increment(u64::try_from(amount_minor).unwrap_or(0));
}
