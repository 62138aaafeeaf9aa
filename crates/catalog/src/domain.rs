//! Catalog rules, free of I/O.

use std::collections::BTreeMap;

use kernel::money::{Currency, Money};
use kernel::validation::{FieldErrors, bounded_text};
use serde_json::Value;

pub use contracts::catalog::{CategoryId, MAX_VARIANTS, ProductId, VariantId};
const MAX_ATTRIBUTES: usize = 30;
const MAX_TAGS: usize = 20;
const MAX_OPTIONS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductStatus {
    Draft,
    Published,
    Archived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductAction {
    Publish,
    /// Back to draft: by its vendor, or by an admin with a reason.
    Unpublish,
    Archive,
    Restore,
}

kernel::text_enum!(ProductStatus { Draft = "draft", Published = "published", Archived = "archived" });

impl ProductStatus {
    /// The status machine; anything else is an illegal transition (409).
    pub fn apply(self, action: ProductAction) -> Option<Self> {
        use ProductAction as A;
        match (self, action) {
            (Self::Draft, A::Publish) => Some(Self::Published),
            (Self::Published, A::Unpublish) => Some(Self::Draft),
            (Self::Draft | Self::Published, A::Archive) => Some(Self::Archived),
            (Self::Archived, A::Restore) => Some(Self::Draft),
            _ => None,
        }
    }
}

/// A product's variant as submitted, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantInput {
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<String>,
}

/// A variant as it arrives, before validation.
pub struct RawVariant<'a> {
    pub sku: &'a str,
    pub options: &'a BTreeMap<String, String>,
    pub price_minor: Option<i64>,
    pub currency: &'a str,
    pub compare_at_minor: Option<i64>,
    pub weight_grams: Option<i64>,
    pub barcode: Option<&'a str>,
}

fn parse_sku(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim();
    if (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        Ok(v.to_owned())
    } else {
        Err("must be 1 to 64 letters, digits, '-', '_' or '.'")
    }
}

/// Validates every variant, reporting fields as `variants[i].field`; all variants
/// must share one currency and have distinct SKUs.
pub fn parse_variants(errs: &mut FieldErrors, raw: &[RawVariant<'_>]) -> Vec<VariantInput> {
    if raw.is_empty() {
        errs.add(
            "variants",
            "required",
            "a product needs at least one variant",
        );
        return Vec::new();
    }
    if raw.len() > MAX_VARIANTS {
        errs.add(
            "variants",
            "too_many",
            format!("at most {MAX_VARIANTS} variants"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut currency: Option<Currency> = None;
    let mut skus = std::collections::HashSet::new();
    for (i, v) in raw.iter().enumerate() {
        let f = |name: &str| format!("variants[{i}].{name}");
        let sku = errs.check(&f("sku"), "invalid_sku", parse_sku(v.sku));
        if let Some(s) = &sku
            && !skus.insert(s.to_ascii_lowercase())
        {
            errs.add(&f("sku"), "duplicate_sku", "appears twice in this product");
        }
        let cur = errs.check(
            &f("currency"),
            "invalid_currency",
            Currency::parse(v.currency),
        );
        if let (Some(c), Some(first)) = (cur, currency)
            && c != first
        {
            errs.add(
                &f("currency"),
                "mixed_currencies",
                "all variants of a product use one currency",
            );
        }
        currency = currency.or(cur);
        let price = match (v.price_minor, cur) {
            (None, _) => {
                errs.add(&f("price_minor"), "required", "every variant needs a price");
                None
            }
            (Some(p), Some(c)) => {
                errs.check(&f("price_minor"), "invalid_price", Money::price(p, c))
            }
            (Some(_), None) => None,
        };
        if let (Some(cmp), Some(p)) = (v.compare_at_minor, price)
            && (cmp <= p.amount_minor || cmp > kernel::money::MAX_PRICE_MINOR)
        {
            errs.add(
                &f("compare_at_minor"),
                "invalid_price",
                "must be above the price (it is the 'was' price)",
            );
        }
        let weight = match v.weight_grams {
            None => None,
            Some(w) => match i32::try_from(w)
                .ok()
                .filter(|w| (0..=1_000_000).contains(w))
            {
                Some(w) => Some(w),
                None => {
                    errs.add(
                        &f("weight_grams"),
                        "out_of_range",
                        "must be 0 to 1000000 grams",
                    );
                    None
                }
            },
        };
        let barcode = v.barcode.map(str::trim).filter(|b| !b.is_empty());
        if let Some(b) = barcode
            && !(b.len() >= 8 && b.len() <= 14 && b.bytes().all(|c| c.is_ascii_digit()))
        {
            errs.add(
                &f("barcode"),
                "invalid",
                "must be 8 to 14 digits (EAN/UPC/GTIN)",
            );
        }
        if v.options.len() > MAX_OPTIONS
            || v.options.iter().any(|(k, val)| {
                bounded_text(k, 1, 30).is_err() || bounded_text(val, 1, 60).is_err()
            })
        {
            errs.add(
                &f("options"),
                "invalid",
                format!("at most {MAX_OPTIONS} options, each a short name and value"),
            );
        }
        if let (Some(sku), Some(price)) = (sku, price) {
            out.push(VariantInput {
                sku,
                options: v
                    .options
                    .iter()
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect(),
                price,
                compare_at_minor: v.compare_at_minor,
                weight_grams: weight,
                barcode: barcode.map(str::to_owned),
            });
        }
    }
    out
}

/// Attributes are filters: short keys, and string, number or boolean values.
pub fn parse_attributes(
    errs: &mut FieldErrors,
    raw: &serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    if raw.len() > MAX_ATTRIBUTES {
        errs.add(
            "attributes",
            "too_many",
            format!("at most {MAX_ATTRIBUTES} attributes"),
        );
        return serde_json::Map::new();
    }
    let mut out = serde_json::Map::new();
    for (k, v) in raw {
        let key = k.trim().to_ascii_lowercase();
        let key_ok = (1..=30).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let value = match v {
            Value::String(s) => bounded_text(s, 1, 60).ok().map(Value::String),
            Value::Number(_) | Value::Bool(_) => Some(v.clone()),
            _ => None,
        };
        match (key_ok, value) {
            (true, Some(value)) => {
                out.insert(key, value);
            }
            _ => errs.add(
                &format!("attributes.{k}"),
                "invalid",
                "keys are lowercase words; values are short text, numbers or booleans",
            ),
        }
    }
    out
}

pub fn parse_tags(errs: &mut FieldErrors, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_TAGS {
        errs.add("tags", "too_many", format!("at most {MAX_TAGS} tags"));
        return Vec::new();
    }
    let mut tags: Vec<String> = Vec::new();
    for t in raw {
        match bounded_text(t, 1, 30) {
            Ok(t) => {
                let t = t.to_lowercase();
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            Err(m) => errs.add("tags", "invalid", m),
        }
    }
    tags
}

/// A category or product slug, 2 to 60 characters.
pub fn parse_slug(raw: &str) -> Result<String, String> {
    kernel::values::parse_slug(raw, 2)
}

/// Where a category may go: never under itself or one of its descendants.
pub fn can_move_under(moving: CategoryId, new_parent_path: &[CategoryId]) -> bool {
    !new_parent_path.contains(&moving)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(
        sku: &'a str,
        price: Option<i64>,
        currency: &'a str,
        opts: &'a BTreeMap<String, String>,
    ) -> RawVariant<'a> {
        RawVariant {
            sku,
            options: opts,
            price_minor: price,
            currency,
            compare_at_minor: None,
            weight_grams: None,
            barcode: None,
        }
    }

    #[test]
    fn product_status_machine() {
        use ProductAction as A;
        use ProductStatus as S;
        assert_eq!(S::Draft.apply(A::Publish), Some(S::Published));
        assert_eq!(S::Published.apply(A::Unpublish), Some(S::Draft));
        assert_eq!(S::Published.apply(A::Archive), Some(S::Archived));
        assert_eq!(S::Archived.apply(A::Restore), Some(S::Draft));
        assert_eq!(S::Archived.apply(A::Publish), None);
        assert_eq!(S::Published.apply(A::Publish), None);
        assert_eq!(S::Draft.apply(A::Unpublish), None);
    }

    #[test]
    fn variants_are_validated_together() {
        let opts = BTreeMap::from([("Size".to_owned(), "M".to_owned())]);
        let mut errs = FieldErrors::new();
        let ok = parse_variants(
            &mut errs,
            &[
                raw("TS-M", Some(1999), "eur", &opts),
                raw("TS-L", Some(2199), "EUR", &opts),
            ],
        );
        assert!(errs.is_empty());
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].price.currency.code(), "EUR");

        let mut errs = FieldErrors::new();
        parse_variants(
            &mut errs,
            &[
                raw("A", Some(-1), "EUR", &opts),
                raw("a", None, "USD", &opts),
                raw("B", Some(i64::MAX), "XYZ", &opts),
                raw("bad sku", Some(1), "EUR", &opts),
            ],
        );
        let p = errs.finish().unwrap_err();
        let fields: Vec<(&str, &str)> = p
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert!(fields.contains(&("variants[0].price_minor", "invalid_price")));
        assert!(fields.contains(&("variants[1].sku", "duplicate_sku")));
        assert!(fields.contains(&("variants[1].currency", "mixed_currencies")));
        assert!(fields.contains(&("variants[1].price_minor", "required")));
        assert!(fields.contains(&("variants[2].currency", "invalid_currency")));
        assert!(fields.contains(&("variants[3].sku", "invalid_sku")));

        let mut errs = FieldErrors::new();
        parse_variants(&mut errs, &[]);
        assert_eq!(errs.finish().unwrap_err().errors[0].code, "required");
    }

    #[test]
    fn attributes_and_tags() {
        let mut errs = FieldErrors::new();
        let raw: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"Color":"Red","size_cm":42,"organic":true}"#).unwrap();
        let a = parse_attributes(&mut errs, &raw);
        assert!(errs.is_empty());
        assert_eq!(a["color"], "Red");
        let bad: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"nested":{"x":1},"bad key":"x"}"#).unwrap();
        parse_attributes(&mut errs, &bad);
        assert_eq!(errs.finish().unwrap_err().errors.len(), 2);
        let mut errs = FieldErrors::new();
        assert_eq!(
            parse_tags(&mut errs, &["Gift".into(), "gift".into(), "eco".into()]),
            ["gift", "eco"]
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(parse_slug("Home-Garden").unwrap(), "home-garden");
        assert!(parse_slug("a").is_err());
        assert!(parse_slug("home & garden").is_err());
        assert!(parse_slug("-x-").is_err());
    }

    #[test]
    fn no_cycles() {
        let (a, b, c) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        // Tree a > b > c: a cannot go under c (its descendant) nor under itself.
        assert!(!can_move_under(a, &[a, b, c]));
        assert!(!can_move_under(b, &[a, b]));
        assert!(can_move_under(c, &[a]));
    }
}
