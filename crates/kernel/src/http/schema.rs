//! Schemas that state a field's rules exactly as the validation applies them, for
//! `#[schema(schema_with = …)]`: the conformance test (schemathesis) holds the document
//! to its word both ways — nothing it allows is refused, nothing it forbids accepted.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// What `str::trim` removes (Unicode `White_Space`), spelled out: `\s` differs between
/// regex dialects.
pub const SPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// What `char::is_control` is true of.
pub const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// Controls that prose may hold inside: line breaks and tabs stay.
const PROSE_CONTROL: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

/// A pattern for text that, trimmed, is `min..=max` characters of `inner` between two
/// visible characters (`min` 0 also allows blank).
fn trimmed_pattern(min: usize, max: usize, inner: &str) -> String {
    let edge = format!("[^{SPACE}{CONTROL}]");
    let core = match max {
        0 => String::new(),
        1 => edge.clone(),
        _ => format!(
            "{edge}(?:[^{inner}]{{{},{}}}{edge})?",
            min.saturating_sub(2),
            max - 2
        ),
    };
    let core = if min >= 2 {
        format!(
            "{edge}[^{inner}]{{{},{}}}{edge}",
            min - 2,
            max.saturating_sub(2)
        )
    } else if min == 0 {
        format!("(?:{core})?")
    } else {
        core
    };
    format!("^[{SPACE}]*{core}[{SPACE}]*$")
}

/// The pattern of `core` with any space around it (what the validation trims).
pub fn trimmed(core: &str) -> String {
    format!("^[{SPACE}]*(?:{core})[{SPACE}]*$")
}

/// `word` with each ASCII letter in either case, for validations that ignore case.
pub fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A string matching `pattern`, or also null where null means "none" or "leave it".
pub fn pattern(pattern: String, nullable: bool) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(of_type(Type::String, nullable))
        .pattern(Some(pattern))
}

fn of_type(of: Type, nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([of, Type::Null])
    } else {
        SchemaType::Type(of)
    }
}

/// `schema` (a string, possibly an enum), also taking null.
pub fn or_null(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
            if let Some(values) = object.enum_values.as_mut() {
                values.push(serde_json::Value::Null);
            }
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

fn string(regex: String, nullable: bool) -> RefOr<Schema> {
    pattern(regex, nullable).into()
}

/// A one-line text as `validation::bounded_text(v, MIN, MAX)` takes it: surrounding
/// space is trimmed, then `MIN..=MAX` characters without control characters.
pub fn text<const MIN: usize, const MAX: usize>() -> RefOr<Schema> {
    string(trimmed_pattern(MIN, MAX, CONTROL), false)
}

/// [`text`], or null where null means "leave as it is".
pub fn text_or_null<const MIN: usize, const MAX: usize>() -> RefOr<Schema> {
    string(trimmed_pattern(MIN, MAX, CONTROL), true)
}

/// An optional one-line text: absent, null or blank means none; otherwise at most
/// `MAX` characters as [`text`].
pub fn optional_text<const MAX: usize>() -> RefOr<Schema> {
    string(trimmed_pattern(0, MAX, CONTROL), true)
}

/// Prose as `validation::bounded_prose(v, MAX)` takes it: line breaks and tabs allowed.
pub fn prose<const MAX: usize>() -> RefOr<Schema> {
    string(trimmed_pattern(0, MAX, PROSE_CONTROL), false)
}

/// Optional prose: absent or null means none.
pub fn optional_prose<const MAX: usize>() -> RefOr<Schema> {
    string(trimmed_pattern(0, MAX, PROSE_CONTROL), true)
}

/// A `Money` whose minor units lie in `min..=max` (amounts a request may carry are
/// bounded; `Money` in answers is not), or also null.
pub fn money(min: i64, max: i64, nullable: bool) -> ObjectBuilder {
    use utoipa::PartialSchema;
    ObjectBuilder::new()
        .schema_type(of_type(Type::Object, nullable))
        .property(
            "amount_minor",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .description(Some("Minor units (cents for EUR): `1999` is 19.99."))
                .minimum(Some(min))
                .maximum(Some(max)),
        )
        .required("amount_minor")
        .property("currency", crate::money::Currency::schema())
        .required("currency")
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::values::COUNTRIES.split(' ')))
        .examples(["FR"])
        .into()
}

/// A new password as `identity` takes it: 10 to 256 characters. (That it is not a
/// common password and mixes at least four characters no schema can say.)
pub fn password() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(10))
        .max_length(Some(256))
        .into()
}

/// A phone number: 6 to 15 digits, spaces, `-`, `(`, `)` and `.` between them and an
/// optional leading `+`; null or blank means none.
pub fn phone() -> RefOr<Schema> {
    let digits = r"\+?[ \-().]*(?:[0-9][ \-().]*){6,15}";
    string(trimmed(&format!("(?:{digits})?")), true)
}

/// A code of `N` digits, as emailed or texted.
pub fn digits<const N: usize>() -> RefOr<Schema> {
    string(trimmed(&format!("[0-9]{{{N}}}")), false)
}

/// An email address (`values::EmailAddress`).
pub fn email() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .examples(["ann@example.com"])
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{bounded_prose, bounded_text};

    fn matches(pattern: &str, value: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(value)
    }

    #[test]
    fn text_patterns_agree_with_the_validation() {
        let samples = [
            "",
            " ",
            "a",
            " a ",
            "ab",
            "\tab\n",
            "a\u{1}b",
            "a\nb",
            "\u{85}abc",
            "\u{1c}abc",
            "abcdef",
            "  abcdef  ",
            "abcdefg",
            "héllo wörld",
        ];
        for (min, max) in [(1, 1), (1, 6), (2, 6), (3, 200), (1, 100)] {
            let pattern = trimmed_pattern(min, max, CONTROL);
            for s in samples {
                assert_eq!(
                    matches(&pattern, s),
                    bounded_text(s, min, max).is_ok(),
                    "{min}..={max} {s:?} against {pattern}"
                );
            }
        }
        let pattern = trimmed_pattern(0, 6, PROSE_CONTROL);
        for s in samples {
            assert_eq!(
                matches(&pattern, s),
                bounded_prose(s, 6).is_ok(),
                "prose {s:?} against {pattern}"
            );
        }
    }
}
