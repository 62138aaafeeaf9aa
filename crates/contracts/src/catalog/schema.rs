//! Schemas of catalog's request fields whose rules `kernel::http::schema` does not
//! cover, stated exactly as the validation applies them (see that module).

use kernel::http::schema::{SPACE, any_case, pattern as string, text, trimmed};
use kernel::money::Currency;
use utoipa::PartialSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type,
};

/// A slug as `domain::parse_slug` takes it: trimmed, 2 to 60 ASCII letters (any case),
/// digits and single hyphens between them.
fn slug_schema(nullable: bool) -> RefOr<Schema> {
    string(
        trimmed("[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]"),
        nullable,
    )
    // No two hyphens in a row: a length bound and that rule in one regular expression
    // would need a look-ahead.
    .extensions(Some(Extensions::from_iter([(
        "not",
        serde_json::json!({ "type": "string", "pattern": "--" }),
    )])))
    .examples(["summer-shirts"])
    .into()
}

pub fn slug() -> RefOr<Schema> {
    slug_schema(false)
}

/// [`slug`], or null for "leave it as it is".
pub fn slug_or_null() -> RefOr<Schema> {
    slug_schema(true)
}

const SKU: &str = "[A-Za-z0-9._-]{1,64}";

/// A SKU as `domain::parse_sku` takes it: trimmed, 1 to 64 ASCII letters, digits,
/// `-`, `_` or `.`.
pub fn sku() -> RefOr<Schema> {
    string(trimmed(SKU), false).examples(["TS-M-RED"]).into()
}

/// An image's variant: null, or (trimmed) one of the product's SKUs, so a SKU.
pub fn sku_or_null() -> RefOr<Schema> {
    string(trimmed(SKU), true).into()
}

/// The currency codes, each letter in either case (`Currency::parse` trims and
/// upper-cases).
fn currency_codes() -> String {
    let codes = match Currency::schema() {
        RefOr::T(Schema::Object(o)) => o.enum_values.unwrap_or_default(),
        _ => Vec::new(),
    };
    let alternatives: Vec<String> = codes
        .iter()
        .filter_map(serde_json::Value::as_str)
        .map(any_case)
        .collect();
    format!("(?:{})", alternatives.join("|"))
}

/// A currency as `Currency::parse` takes it: a supported ISO 4217 code, trimmed, in
/// any case.
pub fn currency() -> RefOr<Schema> {
    string(trimmed(&currency_codes()), false)
        .description(Some(
            "A supported ISO 4217 code such as EUR (any letter case)",
        ))
        .examples(["EUR"])
        .into()
}

/// An optional currency filter: empty (no filter) or a currency as [`currency`].
pub fn currency_filter() -> RefOr<Schema> {
    string(
        format!("^(?:[{SPACE}]*{}[{SPACE}]*)?$", currency_codes()),
        false,
    )
    .into()
}

/// A price filter as `str::parse::<i64>` reads it, 0 to `MAX_PRICE_MINOR`
/// (1 000 000 000 000); empty is no filter.
pub fn price_filter() -> RefOr<Schema> {
    string(
        r"^(?:-0+|\+?0*(?:[0-9]{1,12}|1000000000000))?$".to_owned(),
        false,
    )
    .examples(["1999"])
    .into()
}

/// EAN/UPC/GTIN: null or blank for none, otherwise 8 to 14 digits (trimmed).
pub fn barcode() -> RefOr<Schema> {
    string(trimmed("(?:[0-9]{8,14})?"), true)
        .examples(["4006381333931"])
        .into()
}

/// The key `POST /api/v1/catalog/media` answers: 32 lowercase hex digits.
pub fn media_key() -> RefOr<Schema> {
    string("^[0-9a-f]{32}$".to_owned(), false).into()
}

/// At most 5 options: names of 1 to 30 characters, values of 1 to 60 (as
/// `validation::bounded_text`).
pub fn options() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(text::<1, 30>()))
        .additional_properties(Some(AdditionalProperties::RefOr(text::<1, 60>())))
        .max_properties(Some(5))
        .examples([serde_json::json!({"Size": "M", "Color": "Red"})])
        .into()
}

/// At most 30 attributes: keys (trimmed) of 1 to 30 ASCII letters, digits and `_`
/// (stored lower-cased); values text of 1 to 60 characters, numbers or booleans.
pub fn attributes() -> RefOr<Schema> {
    let value = AnyOfBuilder::new()
        .item(text::<1, 60>())
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string(trimmed("[a-zA-Z0-9_]{1,30}"), false)))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::AnyOf(
            value.build(),
        )))))
        .max_properties(Some(30))
        .examples([serde_json::json!({"color": "red", "organic": true})])
        .into()
}

/// At most 20 tags of 1 to 30 characters; repeats (in any case) are kept once.
pub fn tags() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(text::<1, 30>())
        .max_items(Some(20))
        .into()
}

/// The CSV header as export writes it.
fn csv_header() -> String {
    super::import::COLUMNS.join(",")
}

/// The body of a CSV import: UTF-8 text (an optional byte order mark) whose first line
/// is the header export writes. (Import also reads the columns in any order and letter
/// case, and needs only `product_slug`, `sku`, `price` and `currency`; that set of
/// headers is beyond a regular expression of sensible size, so the document names the
/// one shape.)
pub struct ProductCsv;

impl PartialSchema for ProductCsv {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "CSV, UTF-8: a header row naming the columns, then one row per variant",
            ))
            .pattern(Some(format!(
                "^\u{feff}?{}(?:[\\r\\n][\\s\\S]*)?$",
                csv_header()
            )))
            .examples([format!(
                "{}\ntee,Tee,,,,,,draft,TS-M,Size=M,19.99,EUR,,,,\n",
                csv_header()
            )])
            .into()
    }
}

impl utoipa::ToSchema for ProductCsv {}
