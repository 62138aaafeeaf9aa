//! Shipping rules, free of I/O: what a method costs for a parcel to a country.

pub use contracts::shipping::{Band, MethodId};
use kernel::http::FieldError;
use kernel::money::{Currency, MAX_PRICE_MINOR};

const MAX_BANDS: usize = 20;
const MAX_COUNTRIES: usize = 250;

/// How a method prices a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rate {
    Flat {
        price: i64,
    },
    /// `price`, waived when the store's subtotal reaches `threshold`.
    FreeOver {
        price: i64,
        threshold: i64,
    },
    /// The first band the parcel's weight fits; heavier parcels are not served.
    WeightBands(Vec<Band>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub rate: Rate,
    pub currency: Currency,
    /// ISO 3166 alpha-2 codes; empty serves every country.
    pub countries: Vec<String>,
}

impl Method {
    /// The price for a parcel of `weight_grams` worth `subtotal` (same currency) to
    /// `country`; `None` when this method does not serve it.
    pub fn quote(&self, country: &str, subtotal: i64, weight_grams: i64) -> Option<i64> {
        if !self.countries.is_empty() && !self.countries.iter().any(|c| c == country) {
            return None;
        }
        match &self.rate {
            Rate::Flat { price } => Some(*price),
            Rate::FreeOver { price, threshold } => {
                Some(if subtotal >= *threshold { 0 } else { *price })
            }
            Rate::WeightBands(bands) => bands
                .iter()
                .find(|b| weight_grams <= b.up_to_grams)
                .map(|b| b.price_minor),
        }
    }
}

/// A method as submitted.
pub struct RawMethod<'a> {
    pub kind: &'a str,
    pub currency: &'a str,
    pub price_minor: Option<i64>,
    pub free_over_minor: Option<i64>,
    pub bands: &'a [Band],
    pub countries: &'a [String],
}

fn price_ok(p: i64) -> bool {
    (0..=MAX_PRICE_MINOR).contains(&p)
}

/// Validates a method, every problem at once. Each field is checked whenever it is
/// given; then the kind's own fields must be there.
pub fn parse_method(raw: &RawMethod<'_>) -> Result<Method, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, message: &str| errors.push(FieldError::new(field, "invalid", message));
    let currency = Currency::parse(raw.currency);
    if currency.is_err() {
        bad("currency", "is not a supported ISO 4217 currency code");
    }
    let price = raw.price_minor.unwrap_or(0);
    if !price_ok(price) {
        bad("price_minor", "must be a price in minor units");
    }
    let threshold_ok = raw.free_over_minor.is_none_or(price_ok);
    if !threshold_ok {
        bad("free_over_minor", "must be a price in minor units");
    }
    let bands_ok = raw.bands.len() <= MAX_BANDS
        && raw
            .bands
            .windows(2)
            .all(|w| w[0].up_to_grams < w[1].up_to_grams)
        && raw
            .bands
            .iter()
            .all(|b| b.up_to_grams > 0 && price_ok(b.price_minor));
    if !bands_ok {
        bad(
            "bands",
            "at most 20 bands, lightest first, each with a weight above 0 g and a price",
        );
    }
    let rate = match raw.kind {
        "flat" => Some(Rate::Flat { price }),
        "free_over" => match raw.free_over_minor {
            Some(threshold) if threshold_ok => Some(Rate::FreeOver { price, threshold }),
            Some(_) => None,
            None => {
                bad(
                    "free_over_minor",
                    "a free-over method needs the subtotal (minor units) it is free from",
                );
                None
            }
        },
        "weight_bands" if raw.bands.is_empty() => {
            bad("bands", "a weight-band method needs 1 to 20 bands");
            None
        }
        "weight_bands" => bands_ok.then(|| Rate::WeightBands(raw.bands.to_vec())),
        _ => {
            bad("kind", "must be flat, free_over or weight_bands");
            None
        }
    };
    let mut countries = Vec::new();
    if raw.countries.len() > MAX_COUNTRIES {
        bad("countries", "too many countries");
    }
    for (i, c) in raw.countries.iter().enumerate() {
        match kernel::values::parse_country(c) {
            Ok(code) => countries.push(code),
            Err(_) => errors.push(FieldError::new(
                format!("countries[{i}]"),
                "invalid",
                "is not an ISO 3166 country code",
            )),
        }
    }
    match (rate, currency) {
        (Some(rate), Ok(currency)) if errors.is_empty() => Ok(Method {
            rate,
            currency,
            countries,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(
        kind: &str,
        price: Option<i64>,
        free_over: Option<i64>,
        bands: &[Band],
        countries: &[&str],
    ) -> Result<Method, Vec<FieldError>> {
        let countries: Vec<String> = countries.iter().map(|c| (*c).to_owned()).collect();
        parse_method(&RawMethod {
            kind,
            currency: "EUR",
            price_minor: price,
            free_over_minor: free_over,
            bands,
            countries: &countries,
        })
    }

    #[test]
    fn each_kind_prices_a_parcel() {
        let flat = method("flat", Some(490), None, &[], &[]).unwrap();
        assert_eq!(flat.quote("FR", 100, 5000), Some(490));
        let free = method("free_over", Some(590), Some(5000), &[], &["FR", "be"]).unwrap();
        assert_eq!(free.quote("FR", 4999, 0), Some(590));
        assert_eq!(free.quote("BE", 5000, 0), Some(0));
        assert_eq!(free.quote("DE", 9000, 0), None, "not served");
        let bands = [
            Band {
                up_to_grams: 500,
                price_minor: 300,
            },
            Band {
                up_to_grams: 2000,
                price_minor: 700,
            },
        ];
        let by_weight = method("weight_bands", None, None, &bands, &[]).unwrap();
        assert_eq!(by_weight.quote("FR", 0, 500), Some(300));
        assert_eq!(by_weight.quote("FR", 0, 501), Some(700));
        assert_eq!(by_weight.quote("FR", 0, 2001), None, "too heavy");
    }

    #[test]
    fn bad_methods_are_refused_field_by_field() {
        let fields = |r: Result<Method, Vec<FieldError>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert_eq!(
            fields(method("teleport", Some(1), None, &[], &[])),
            ["kind"]
        );
        assert_eq!(
            fields(method("flat", Some(-1), None, &[], &[])),
            ["price_minor"]
        );
        assert_eq!(
            fields(method("free_over", Some(1), None, &[], &[])),
            ["free_over_minor"]
        );
        let unordered = [
            Band {
                up_to_grams: 900,
                price_minor: 1,
            },
            Band {
                up_to_grams: 100,
                price_minor: 1,
            },
        ];
        assert_eq!(
            fields(method("weight_bands", None, None, &unordered, &[])),
            ["bands"]
        );
        assert_eq!(
            fields(method("weight_bands", None, None, &[], &[])),
            ["bands"]
        );
        assert_eq!(
            fields(method("flat", Some(1), None, &[], &["XX"])),
            ["countries[0]"]
        );
        // What another kind does not use is still checked when given.
        assert_eq!(
            fields(method("flat", Some(1), None, &unordered, &[])),
            ["bands"]
        );
        assert_eq!(
            fields(method("flat", Some(1), Some(-1), &[], &[])),
            ["free_over_minor"]
        );
        assert_eq!(
            fields(method("free_over", Some(1), Some(-1), &[], &[])),
            ["free_over_minor"]
        );
        assert!(method("flat", Some(1), Some(5000), &unordered[..1], &[]).is_ok());
    }
}
