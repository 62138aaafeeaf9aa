//! Schemas for shipping's request fields, stated exactly as the validation applies them
//! (the conformance test holds the document to its word both ways).

use kernel::money::Currency;
use utoipa::PartialSchema;
use utoipa::openapi::schema::{ArrayBuilder, Type};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

/// `flat`, `free_over` or `weight_bands`.
pub fn method_kind() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["flat", "free_over", "weight_bands"]))
        .into()
}

/// At most 250 ISO 3166-1 alpha-2 destinations.
pub fn countries() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(kernel::http::schema::country())
        .max_items(Some(250))
        .description(Some(
            "ISO 3166 alpha-2 destinations, at most 250; empty or absent: everywhere.",
        ))
        .into()
}

/// A supported ISO 4217 currency code.
pub fn currency() -> RefOr<Schema> {
    Currency::schema()
}
