//! Schemas for promotions' request fields, stated exactly as the validation applies
//! them (the conformance test holds the document to its word both ways).

use kernel::money::MAX_PRICE_MINOR;
use utoipa::openapi::schema::Type;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

/// `core`, with any space around it.
fn trimmed(core: &str, nullable: bool) -> ObjectBuilder {
    kernel::http::schema::pattern(kernel::http::schema::trimmed(core), nullable)
}

/// A promotion code as customers type it: trimmed, 3 to 32 letters, digits, `-` or `_`
/// (case-insensitive).
pub fn code() -> RefOr<Schema> {
    trimmed("[A-Za-z0-9_-]{3,32}", false)
        .description(Some(
            "What customers type: 3 to 32 letters, digits, '-' or '_' (case-insensitive).",
        ))
        .examples(["SUMMER-10"])
        .into()
}

/// `percentage`, `fixed` or `free_shipping`.
pub fn promotion_kind() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["percentage", "fixed", "free_shipping"]))
        .into()
}

/// A percent as `kernel::money::parse_fixed_point(p, 2)` reads it, 0.01 to 100: at most
/// 13 digits, then `.` or `,` and at most 2 decimals; or null.
pub fn percent() -> RefOr<Schema> {
    let core = [
        // 100, with leading zeros and zero decimals
        "0{0,10}100(?:[.,]0{0,2})?",
        // 1 to 99.99
        "(?:0{0,12}[1-9]|0{0,11}[1-9][0-9])(?:[.,][0-9]{0,2})?",
        // 0.01 to 0.99
        "0{1,13}[.,](?:0[1-9]|[1-9][0-9]?)",
    ]
    .join("|");
    trimmed(&core, true)
        .description(Some(
            "Percentage codes (required there): 0.01 to 100, e.g. \"10\" or \"12.5\".",
        ))
        .examples(["12.5"])
        .into()
}

/// A fixed code's amount off: 1 to 10¹² minor units; or null.
pub fn amount_off() -> RefOr<Schema> {
    kernel::http::schema::money(1, MAX_PRICE_MINOR, true)
        .description(Some(
            "Fixed codes (required there): the amount off, more than 0.",
        ))
        .into()
}

/// A cart line's amount: 0 to 10¹² minor units.
pub fn line_amount() -> RefOr<Schema> {
    kernel::http::schema::money(0, MAX_PRICE_MINOR, false)
        .description(Some("Price × quantity; every line in one currency."))
        .into()
}
