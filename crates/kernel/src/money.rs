//! Money as integer minor units with an ISO 4217 currency. Never floats: `1999 EUR` is
//! €19.99, `1999 JPY` is ¥1,999.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Currencies the marketplace accepts, with their minor-unit exponents (ISO 4217).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A supported ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(u8);

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A supported ISO 4217 currency code"))
            .enum_values(Some(CURRENCIES.iter().map(|(code, _)| *code)))
            .examples(["EUR"])
            .into()
    }
}

impl ToSchema for Currency {}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, &'static str> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .position(|(c, _)| *c == upper)
            .and_then(|i| u8::try_from(i).ok())
            .map(Self)
            .ok_or("is not a supported ISO 4217 currency code")
    }

    pub fn code(self) -> &'static str {
        CURRENCIES[usize::from(self.0)].0
    }

    /// Digits after the decimal point (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(self) -> u8 {
        CURRENCIES[usize::from(self.0)].1
    }
}

/// JSON carries the code exactly as documented (`EUR`); people's typing goes through
/// [`Currency::parse`].
impl TryFrom<String> for Currency {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.trim() != s || s.to_ascii_uppercase() != s {
            return Err("must be an upper-case ISO 4217 currency code such as EUR");
        }
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

/// A non-negative decimal as people type it ("19.99", "19,99", "20") as an integer
/// count of hundredths (or of 10^-`decimals`), exactly; more decimals is an error.
pub fn parse_fixed_point(text: &str, decimals: u8) -> Result<i64, &'static str> {
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let exp = usize::from(decimals);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || whole.len() > 13 {
        return Err("must be an amount like 19.99");
    }
    if fraction.len() > exp {
        return Err("has more decimals than the currency allows");
    }
    let units: i64 = whole.parse().map_err(|_| "is too large")?;
    let frac: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<exp$}")
            .parse()
            .map_err(|_| "is too large")?
    };
    units
        .checked_mul(10i64.pow(u32::from(decimals)))
        .and_then(|u| u.checked_add(frac))
        .ok_or("is too large")
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Minor units (cents for EUR): `1999` is 19.99.
    pub amount_minor: i64,
    pub currency: Currency,
}

/// Prices above this are refused as input: a trillion minor units leaves every sum of
/// quantities and lines far from `i64` overflow.
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

impl Money {
    /// A price as a seller may set it: not negative, not absurd.
    pub fn price(amount_minor: i64, currency: Currency) -> Result<Self, &'static str> {
        if amount_minor < 0 {
            Err("must not be negative")
        } else if amount_minor > MAX_PRICE_MINOR {
            Err("is too large")
        } else {
            Ok(Self {
                amount_minor,
                currency,
            })
        }
    }

    /// Reads a price as people type it ("19.99", "19,99", "20") in `currency`'s minor
    /// units, exactly (no floats): more decimals than the currency has is an error.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, &'static str> {
        Self::price(parse_fixed_point(text, currency.exponent())?, currency)
    }

    /// The amount without its currency, as a form field shows it ("19.99").
    pub fn decimal(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        if exp == 0 {
            return self.amount_minor.to_string();
        }
        let unit = 10u64.pow(exp);
        let abs = self.amount_minor.unsigned_abs();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = exp as usize
        )
    }

    /// `19.99 EUR`: the amount with its exponent, for people.
    pub fn display(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        if exp == 0 {
            return format!("{} {}", self.amount_minor, self.currency.code());
        }
        let unit = 10i64.pow(exp);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        let unit = unit.unsigned_abs();
        format!(
            "{sign}{}.{:0width$} {}",
            abs / unit,
            abs % unit,
            self.currency.code(),
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_codes_with_exponents() {
        assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("EURO").is_err());
        assert!(serde_json::from_str::<Currency>("\"ABC\"").is_err());
        assert_eq!(
            serde_json::to_string(&Currency::parse("usd").unwrap()).unwrap(),
            "\"USD\""
        );
    }

    #[test]
    fn typed_prices_become_exact_minor_units() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let amount = |t: &str, c| Money::parse_decimal(t, c).map(|m| m.amount_minor);
        assert_eq!(amount("19.99", eur), Ok(1999));
        assert_eq!(amount(" 19,9 ", eur), Ok(1990));
        assert_eq!(amount("20", eur), Ok(2000));
        assert_eq!(amount("0.07", eur), Ok(7));
        assert_eq!(amount("1999", jpy), Ok(1999));
        assert!(amount("19.999", eur).is_err());
        assert!(amount("1.5", jpy).is_err());
        assert!(amount("-1", eur).is_err());
        assert!(amount("1e3", eur).is_err());
        assert!(amount("", eur).is_err());
        assert!(amount(".5", eur).is_err());
        assert!(amount("99999999999999", eur).is_err());
        assert_eq!(
            Money::parse_decimal("19.9", eur).unwrap().decimal(),
            "19.90"
        );
        assert_eq!(Money::parse_decimal("7", jpy).unwrap().decimal(), "7");
    }

    #[test]
    fn prices_are_bounded_and_displayed_exactly() {
        let eur = Currency::parse("EUR").unwrap();
        assert!(Money::price(-1, eur).is_err());
        assert!(Money::price(MAX_PRICE_MINOR + 1, eur).is_err());
        assert_eq!(Money::price(1999, eur).unwrap().display(), "19.99 EUR");
        assert_eq!(Money::price(5, eur).unwrap().display(), "0.05 EUR");
        assert_eq!(
            Money::price(1999, Currency::parse("JPY").unwrap())
                .unwrap()
                .display(),
            "1999 JPY"
        );
        assert_eq!(
            Money::price(1500, Currency::parse("KWD").unwrap())
                .unwrap()
                .display(),
            "1.500 KWD"
        );
    }
}
