//! Schemas for tax's request fields, stated exactly as the validation applies them (the
//! conformance test holds the document to its word both ways).

use kernel::http::schema::SPACE;
use kernel::money::MAX_PRICE_MINOR;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
use utoipa::openapi::{ObjectBuilder, RefOr, Required, Schema};

/// A rate as `domain::parse_rate` reads it: a percentage from 0 to 100 with at most 4
/// decimals, optionally followed by `%`.
pub fn rate() -> RefOr<Schema> {
    let number = [
        // 100, with leading zeros and zero decimals
        r"0*100(?:\.0{0,4})?",
        // up to 99.9999
        r"0*[1-9][0-9]?(?:\.[0-9]{0,4})?",
        r"0+(?:\.[0-9]{0,4})?",
        r"\.[0-9]{1,4}",
    ]
    .join("|");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^[{SPACE}]*(?:{number})[{SPACE}]*%*[{SPACE}]*$"
        )))
        .description(Some(
            "Percent, 0 to 100 with up to 4 decimals: \"20\", \"5.5\".",
        ))
        .examples(["20", "5.5"])
        .into()
}

/// A region code as the API's `region` reads it: at most 10 letters, digits or `-`
/// (case-insensitive; blank or null: the whole country).
pub fn region() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(format!("^[{SPACE}]*[A-Za-z0-9-]{{0,10}}[{SPACE}]*$")))
        .description(Some(
            "A region within the country (its rate wins there): at most 10 letters, digits \
             or `-`; absent, null or blank: the whole country.",
        ))
        .examples(["CA"])
        .into()
}

/// A checkout's line prices: 1 to 500 amounts of 0 to 10¹² minor units (all in one
/// currency).
pub fn lines() -> RefOr<Schema> {
    let amount = kernel::http::schema::money(0, MAX_PRICE_MINOR, false);
    ArrayBuilder::new()
        .description(Some(
            "Each line's price (unit price × quantity), 1 to 500, all in one currency.",
        ))
        .items(amount)
        .min_items(Some(1))
        .max_items(Some(500))
        .into()
}

/// The `{country}` of a rate's path: an ISO 3166-1 alpha-2 code.
pub struct CountryPath;

impl utoipa::IntoParams for CountryPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("country")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("ISO 3166-1 alpha-2"))
                .schema(Some(kernel::http::schema::country()))
                .build(),
        ]
    }
}
