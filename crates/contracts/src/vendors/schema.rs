//! Schemas for vendors' request fields whose rules `kernel::http::schema` has no word
//! for, stated exactly as the validation applies them (the conformance test holds the
//! document to its word both ways).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use kernel::http::schema::{CONTROL, SPACE, any_case, or_null, pattern as string};

/// A store slug as `vendors::domain::parse_slug` takes it: trimmed and lower-cased, 3 to 60
/// letters and digits with single hyphens between them, and not a reserved word.
pub fn slug() -> RefOr<Schema> {
    let reserved = super::RESERVED_SLUGS
        .iter()
        .map(|w| any_case(w))
        .collect::<Vec<_>>()
        .join("|");
    let a = "[a-zA-Z0-9]";
    let pattern = format!(
        "^(?![{SPACE}]*(?:{reserved})[{SPACE}]*$)(?![{SPACE}]*[a-zA-Z0-9-]{{61}})\
         [{SPACE}]*{a}(?:-{a}|{a}-?{a})(?:-?{a})*[{SPACE}]*$"
    );
    string(pattern, false)
        .description(Some(
            "The store's address: `/stores/<slug>`. 3 to 60 lowercase letters and digits, \
             single hyphens between them (upper case is lowered); not a reserved word.",
        ))
        .examples(["corner-shop"])
        .into()
}

/// An IBAN as `vendors::domain::parse_iban` takes it: space anywhere, either case, two letters,
/// two digits and 11 to 30 letters or digits. (That its check digits add up no schema
/// can say: a wrong one is a 422 `invalid_iban`.)
pub fn iban() -> RefOr<Schema> {
    let s = format!("[{SPACE}]*");
    let pattern = format!("^{s}(?:[A-Za-z]{s}){{2}}(?:[0-9]{s}){{2}}(?:[A-Za-z0-9]{s}){{11,30}}$");
    string(pattern, false)
        .description(Some(
            "IBAN; spaces allowed. Its check digits must add up (422 `invalid_iban`).",
        ))
        .examples(["FR76 3000 6000 0112 3456 7890 189"])
        .into()
}

/// A logo as `parse_logo_url` takes it: null or blank for none, otherwise an
/// `http(s)://` URL or a `/media/` path of at most 500 characters without space,
/// control characters, `"` or `<`; surrounding space is trimmed.
pub fn logo_url() -> RefOr<Schema> {
    let c = format!("[^{SPACE}{CONTROL}\"<]");
    let pattern = format!(
        "^[{SPACE}]*(?:https://{c}{{0,492}}|http://{c}{{0,493}}|/media/{c}{{0,493}})?[{SPACE}]*$"
    );
    string(pattern, true)
        .description(Some(
            "An `http(s)://` URL or a `/media/` path, at most 500 characters; blank: no logo.",
        ))
        .examples(["https://example.com/logo.png"])
        .into()
}

/// [`kernel::http::schema::email`], or null.
pub fn email_or_null() -> RefOr<Schema> {
    or_null(kernel::http::schema::email())
}

/// [`kernel::http::schema::country`], or null.
pub fn country_or_null() -> RefOr<Schema> {
    or_null(kernel::http::schema::country())
}
