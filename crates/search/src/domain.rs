//! What a search asks for, validated, and the rules of typo tolerance and price buckets;
//! free of I/O.

use std::collections::BTreeMap;

use contracts::catalog::CategoryId;
use kernel::http::FieldError;

/// Longest query accepted, in characters: a real query is a few words.
pub const MAX_QUERY_CHARS: usize = 200;
/// Words of a query that count; the rest are ignored rather than refused.
pub const MAX_QUERY_TERMS: usize = 10;
pub const DEFAULT_PER_PAGE: usize = 24;
pub const MAX_PER_PAGE: usize = 60;
/// Deep pages cost more than they are worth; past this, refine the query.
pub use contracts::search::MAX_RESULT_WINDOW;
/// The deepest page: every page size keeps it inside the window, so the bound is one
/// number a client (and the API document) can know.
pub const MAX_PAGE: usize = MAX_RESULT_WINDOW / MAX_PER_PAGE;
const MAX_FILTER_VALUES: usize = 20;

/// Upper bounds (exclusive, minor units) of the price facet's buckets; the last bucket
/// is open-ended.
pub const PRICE_BUCKETS: &[i64] = &[1_000, 2_500, 5_000, 10_000, 25_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Best match first; newest first when there is no text.
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    /// Best rated first (more ratings first among equal averages); unrated last.
    Rating,
}

/// A product's visible reviews as search keeps them: the average rounded to a tenth
/// (as shoppers see it) and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub tenths: u16,
    pub count: u32,
}

impl Rating {
    /// From how many gave 1 to 5 stars.
    pub fn from_histogram(histogram: &[i64; 5]) -> Self {
        let (count, tenths) = contracts::reviews::dto::average_tenths(histogram);
        Self {
            tenths: u16::try_from(tenths).unwrap_or(50),
            count: u32::try_from(count).unwrap_or(u32::MAX),
        }
    }

    pub fn card(self) -> contracts::search::dto::CardRating {
        contracts::search::dto::CardRating {
            average: f64::from(self.tenths) / 10.0,
            count: u64::from(self.count),
        }
    }
}

impl Sort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "relevance" => Self::Relevance,
            "price_asc" => Self::PriceAsc,
            "price_desc" => Self::PriceDesc,
            "newest" => Self::Newest,
            "rating" => Self::Rating,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Newest => "newest",
            Self::Rating => "rating",
        }
    }
}

/// A validated search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchRequest {
    pub text: String,
    pub category: Option<CategoryId>,
    /// Store slugs; any of them.
    pub stores: Vec<String>,
    /// Brands; any of them.
    pub brands: Vec<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Attribute name to accepted values (any of them); all names must match.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Only products that can be bought now.
    pub in_stock_only: bool,
    /// Only products customers rated this many stars or more on average (1 to 5).
    pub min_rating: Option<u8>,
    pub sort: Sort,
    pub page: usize,
    pub per_page: usize,
}

impl SearchRequest {
    pub fn offset(&self) -> usize {
        (self.page - 1) * self.per_page
    }
}

/// Parses a query string given as pairs; repeated keys and comma-separated values both
/// select several values of one filter.
pub fn parse_search(pairs: &[(String, String)]) -> Result<SearchRequest, Vec<FieldError>> {
    let mut req = SearchRequest {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        ..SearchRequest::default()
    };
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError::new(field, "invalid", message));
    };
    for (key, value) in pairs {
        let value = value.trim();
        match key.as_str() {
            "q" => {
                if value.chars().count() > MAX_QUERY_CHARS {
                    bad("q", format!("at most {MAX_QUERY_CHARS} characters"));
                } else {
                    req.text = value.to_owned();
                }
            }
            "category" if !value.is_empty() => match value.parse() {
                Ok(id) => req.category = Some(id),
                Err(_) => bad("category", "must be a category id (cat_…)".into()),
            },
            "store" => req.stores.extend(split_values(value)),
            "brand" => req.brands.extend(split_values(value)),
            "min_price" | "max_price" if !value.is_empty() => {
                match value
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (0..=kernel::money::MAX_PRICE_MINOR).contains(p))
                {
                    Some(p) if key == "min_price" => req.min_price = Some(p),
                    Some(p) => req.max_price = Some(p),
                    None => bad(key, "must be a price in minor units".into()),
                }
            }
            "in_stock" => match value {
                "" | "false" | "0" => req.in_stock_only = false,
                "true" | "1" => req.in_stock_only = true,
                _ => bad("in_stock", "must be true or false".into()),
            },
            "sort" => match Sort::parse(value) {
                Some(s) => req.sort = s,
                None => bad(
                    "sort",
                    "must be relevance, price_asc, price_desc, newest or rating".into(),
                ),
            },
            "min_rating" if !value.is_empty() => match value.parse::<u8>() {
                Ok(n) if (1..=5).contains(&n) => req.min_rating = Some(n),
                _ => bad(
                    "min_rating",
                    "must be a whole number of stars from 1 to 5".into(),
                ),
            },
            "page" if !value.is_empty() => match value.parse::<usize>() {
                Ok(p) if (1..=MAX_PAGE).contains(&p) => req.page = p,
                _ => bad(
                    "page",
                    format!(
                        "must be between 1 and {MAX_PAGE}: results beyond the first {MAX_RESULT_WINDOW} are not served; refine the search"
                    ),
                ),
            },
            "per_page" if !value.is_empty() => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => req.per_page = n,
                _ => bad("per_page", format!("must be between 1 and {MAX_PER_PAGE}")),
            },
            k => {
                if let Some(name) = k.strip_prefix("attr.") {
                    let name = name.to_ascii_lowercase();
                    let valid = (1..=30).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if valid {
                        req.attributes
                            .entry(name)
                            .or_default()
                            .extend(split_values(value));
                    } else {
                        bad(k, "attribute filters are attr.<name>=<value>".into());
                    }
                }
            }
        }
    }
    let too_many = req.stores.len() > MAX_FILTER_VALUES
        || req.brands.len() > MAX_FILTER_VALUES
        || req.attributes.len() > MAX_FILTER_VALUES
        || req.attributes.values().any(|v| v.len() > MAX_FILTER_VALUES);
    if too_many {
        bad(
            "filters",
            format!("at most {MAX_FILTER_VALUES} values per filter"),
        );
    }
    if req.attributes.values().flatten().any(|v| v.len() > 60)
        || req.brands.iter().chain(&req.stores).any(|v| v.len() > 100)
    {
        bad("filters", "a filter value is too long".into());
    }
    if errors.is_empty() {
        Ok(req)
    } else {
        Err(errors)
    }
}

/// Checks that every key and value of a raw query string decodes to UTF-8. Decoding it
/// leniently would turn `q=%FF` into U+FFFD, which no word matches, so the search would
/// silently answer every product; instead the field is named and refused.
pub fn check_utf8_query(raw: &str) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let field = match std::str::from_utf8(&key) {
            Ok(_) if std::str::from_utf8(&percent_decode(value)).is_ok() => continue,
            Ok(k) => k.to_owned(),
            Err(_) => "query".to_owned(),
        };
        errors.push(FieldError::new(
            field,
            "not_utf8",
            "is not UTF-8 text once percent-decoded",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space, `%XX` a byte,
/// a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let hex = |i: usize| {
        bytes
            .get(i)
            .and_then(|&b| char::from(b).to_digit(16))
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                    out.push(hi << 4 | lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn split_values(raw: &str) -> impl Iterator<Item = String> + '_ {
    raw.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Edits a word of this length may be away from what it should match: none for short
/// words (too many false friends), one from four letters, two from eight.
pub fn typo_distance(term: &str) -> u8 {
    match term.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The index term of an attribute value: `name=value`, with the value as text and
/// lowercased so filters and facets agree however the vendor typed it.
pub fn attribute_term(name: &str, value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_lowercase(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then(|| format!("{}={text}", name.to_ascii_lowercase()))
}

/// The `[from, to)` bounds of each price bucket.
pub fn price_bucket_bounds() -> Vec<(Option<i64>, Option<i64>)> {
    let mut out = Vec::with_capacity(PRICE_BUCKETS.len() + 1);
    let mut from = None;
    for &to in PRICE_BUCKETS {
        out.push((from, Some(to)));
        from = Some(to);
    }
    out.push((from, None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(raw).unwrap()
    }

    #[test]
    fn parses_filters_with_repeats_and_commas() {
        let r = parse_search(&pairs(
            "q=red+shirt&brand=Acme,Globex&brand=Initech&attr.color=red&attr.Size=M,L&min_price=100&sort=price_asc&page=2&per_page=10",
        ))
        .unwrap();
        assert_eq!(r.text, "red shirt");
        assert_eq!(r.brands, ["Acme", "Globex", "Initech"]);
        assert_eq!(r.attributes["color"], ["red"]);
        assert_eq!(r.attributes["size"], ["M", "L"]);
        assert_eq!(r.min_price, Some(100));
        assert_eq!(r.sort, Sort::PriceAsc);
        assert_eq!(r.offset(), 10);
    }

    #[test]
    fn refuses_bad_input_field_by_field() {
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        let errs = parse_search(&[
            ("q".into(), long),
            ("sort".into(), "cheapest".into()),
            ("min_price".into(), "-1".into()),
            ("per_page".into(), "1000".into()),
            ("category".into(), "shoes".into()),
            ("attr.Bad-Name".into(), "x".into()),
        ])
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "q",
                "sort",
                "min_price",
                "per_page",
                "category",
                "attr.Bad-Name"
            ]
        );
        let deep = parse_search(&pairs("page=167&per_page=1")).unwrap_err();
        assert_eq!(deep[0].field, "page");
        // An inverted range is a filter nothing matches, not an error.
        assert!(parse_search(&pairs("min_price=500&max_price=100")).is_ok());
    }

    #[test]
    fn query_strings_must_decode_to_utf8() {
        assert!(check_utf8_query("q=linen+shirt&brand=Acme%2CGlobex").is_ok());
        assert!(check_utf8_query("q=caf%C3%A9&q=%EF%BF%BD&x=100%&y=%zz&&").is_ok());
        let errs = check_utf8_query("q=%FF&sort=price_asc&brand=ok%C3").unwrap_err();
        let fields: Vec<(&str, &str)> = errs
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(fields, [("q", "not_utf8"), ("brand", "not_utf8")]);
        let errs = check_utf8_query("%FE=x").unwrap_err();
        assert_eq!(errs[0].field, "query");
    }

    #[test]
    fn typo_distance_grows_with_length() {
        assert_eq!(typo_distance("tee"), 0);
        assert_eq!(typo_distance("shirt"), 1);
        assert_eq!(typo_distance("cardigans"), 2);
    }

    #[test]
    fn attribute_terms_are_normalised_text() {
        use serde_json::json;
        assert_eq!(
            attribute_term("Color", &json!(" Red ")).as_deref(),
            Some("color=red")
        );
        assert_eq!(
            attribute_term("organic", &json!(true)).as_deref(),
            Some("organic=true")
        );
        assert_eq!(attribute_term("x", &json!([1])), None);
        assert_eq!(attribute_term("x", &json!("")), None);
    }

    #[test]
    fn price_buckets_cover_everything() {
        let b = price_bucket_bounds();
        assert_eq!(b.first(), Some(&(None, Some(1_000))));
        assert_eq!(b.last(), Some(&(Some(25_000), None)));
        assert!(b.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn ratings_round_to_a_tenth_as_shoppers_see_them() {
        let r = Rating::from_histogram(&[1, 0, 0, 0, 2]);
        assert_eq!((r.tenths, r.count), (37, 3), "11 / 3 = 3.67");
        assert_eq!(Rating::from_histogram(&[0, 0, 0, 1, 1]).tenths, 45);
        assert_eq!(
            Rating::from_histogram(&[0; 5]),
            Rating {
                tenths: 0,
                count: 0
            }
        );
        assert!((Rating::from_histogram(&[0, 0, 0, 0, 4]).card().average - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_minimum_rating_is_a_whole_number_of_stars() {
        let ok = parse_search(&[
            ("min_rating".into(), "4".into()),
            ("sort".into(), "rating".into()),
        ])
        .unwrap();
        assert_eq!((ok.min_rating, ok.sort), (Some(4), Sort::Rating));
        for bad in ["0", "6", "4.5", "four"] {
            let errs = parse_search(&[("min_rating".into(), bad.into())]).unwrap_err();
            assert_eq!(errs[0].field, "min_rating", "{bad}");
        }
    }
}
