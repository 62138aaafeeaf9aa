//! Request and answer bodies of tax's API, public and internal.

use kernel::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RateView {
    pub country: String,
    /// Empty: the whole country.
    pub region: String,
    /// Percent, e.g. "20" or "5.5".
    pub rate: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RateList {
    pub items: Vec<RateView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    /// Percent, 0 to 100 with up to 4 decimals: "20", "5.5".
    #[schema(schema_with = super::schema::rate)]
    pub rate: String,
    /// A region within the country (its rate wins there), at most 10 letters, digits or
    /// `-`; absent: the whole country.
    #[schema(schema_with = super::schema::region)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxSettings {
    /// Whether listed prices already include tax (default false: tax is added).
    pub prices_include_tax: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TaxQuoteRequest)]
pub struct QuoteRequest {
    /// ISO 3166-1 alpha-2.
    #[schema(schema_with = kernel::http::schema::country)]
    pub country: String,
    #[schema(schema_with = super::schema::region)]
    pub region: Option<String>,
    /// Each line's price (unit price × quantity), 1 to 500, all in one currency.
    #[schema(schema_with = super::schema::lines)]
    pub lines: Vec<Money>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxedLine {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = TaxQuoteView)]
pub struct QuoteView {
    /// The percentage applied ("0" where no rate is set).
    pub rate: String,
    pub prices_include_tax: bool,
    pub lines: Vec<TaxedLine>,
    /// The sum of the lines' rounded taxes.
    pub total_tax: Option<Money>,
}
