//! Facet counts: which aggregations a search asks for, and reading them back.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FacetKind {
    Category,
    Brand,
    Store,
    Price,
    Attribute(String),
    /// Only ever left out of the filters, to count sold-out matches.
    Availability,
    /// Only ever left out of the filters, to count matches per "N stars & up".
    Rating,
}

impl FacetKind {
    pub(super) fn all() -> Vec<FacetKind> {
        vec![
            Self::Category,
            Self::Brand,
            Self::Store,
            Self::Price,
            Self::Attribute(String::new()),
        ]
    }

    /// Facets the request filters on.
    pub(super) fn filtered(req: &SearchRequest) -> Vec<FacetKind> {
        let mut out = Vec::new();
        if req.category.is_some() {
            out.push(Self::Category);
        }
        if !req.brands.is_empty() {
            out.push(Self::Brand);
        }
        if !req.stores.is_empty() {
            out.push(Self::Store);
        }
        if req.min_price.is_some() || req.max_price.is_some() {
            out.push(Self::Price);
        }
        out.extend(req.attributes.keys().cloned().map(Self::Attribute));
        out
    }
}

pub(super) fn facet_aggregations(kinds: &[FacetKind]) -> Aggregations {
    let mut req = serde_json::Map::new();
    for kind in kinds {
        let (name, agg) = match kind {
            FacetKind::Availability | FacetKind::Rating => continue,
            FacetKind::Category => (
                "category",
                serde_json::json!({"terms": {"field": "category", "size": 500}}),
            ),
            FacetKind::Brand => (
                "brand",
                serde_json::json!({"terms": {"field": "brand", "size": 30}}),
            ),
            FacetKind::Store => (
                "store",
                serde_json::json!({"terms": {"field": "store", "size": 30}}),
            ),
            FacetKind::Attribute(_) => (
                "attr",
                serde_json::json!({"terms": {"field": "attr", "size": 300}}),
            ),
            FacetKind::Price => {
                let ranges: Vec<serde_json::Value> = domain::price_bucket_bounds()
                    .into_iter()
                    .map(|(from, to)| {
                        let mut r = serde_json::Map::new();
                        if let Some(from) = from {
                            r.insert("from".into(), serde_json::json!(from as f64));
                        }
                        if let Some(to) = to {
                            r.insert("to".into(), serde_json::json!(to as f64));
                        }
                        serde_json::Value::Object(r)
                    })
                    .collect();
                (
                    "price",
                    serde_json::json!({"range": {"field": "price", "ranges": ranges}}),
                )
            }
        };
        req.insert(name.to_owned(), agg);
    }
    // The requests above are fixed and valid; an empty set of aggregations is the
    // harmless fallback should tantivy ever reject one.
    serde_json::from_value(serde_json::Value::Object(req)).unwrap_or_default()
}

pub(super) fn buckets<'a>(
    aggs: &'a serde_json::Value,
    name: &str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    aggs.get(name)
        .and_then(|a| a.get("buckets"))
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
}

/// A terms aggregation's values, most first and equal counts by value: the same order
/// on every replica, whatever order the aggregation met the terms in.
pub(super) fn terms(aggs: &serde_json::Value, name: &str) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = buckets(aggs, name)
        .filter_map(|b| {
            Some(FacetValue {
                value: b.get("key")?.as_str()?.to_owned(),
                count: b.get("doc_count")?.as_u64()?,
            })
        })
        .filter(|v| v.count > 0)
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values
}

/// Fills `facets` from an aggregation result; with `only`, just that facet (and for an
/// attribute, just that attribute's values).
pub(super) fn read_facets(aggs: &serde_json::Value, facets: &mut Facets, only: Option<&FacetKind>) {
    let wants =
        |k: &FacetKind| only.is_none_or(|o| std::mem::discriminant(o) == std::mem::discriminant(k));
    if wants(&FacetKind::Category) {
        facets.categories = terms(aggs, "category");
    }
    if wants(&FacetKind::Brand) {
        facets.brands = terms(aggs, "brand");
    }
    if wants(&FacetKind::Store) {
        facets.stores = terms(aggs, "store");
    }
    if wants(&FacetKind::Price) {
        facets.prices = buckets(aggs, "price")
            .filter_map(|b| {
                Some(PriceBucket {
                    min: b.get("from").and_then(|v| v.as_f64()).map(|v| v as i64),
                    max: b.get("to").and_then(|v| v.as_f64()).map(|v| v as i64),
                    count: b.get("doc_count")?.as_u64()?,
                })
            })
            .collect();
    }
    let attribute = match only {
        None => None,
        Some(FacetKind::Attribute(name)) => Some(name.as_str()),
        Some(_) => return,
    };
    let mut grouped: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
    for v in terms(aggs, "attr") {
        if let Some((name, value)) = v.value.split_once('=')
            && attribute.is_none_or(|a| a == name)
        {
            grouped
                .entry(name.to_owned())
                .or_default()
                .push(FacetValue {
                    value: value.to_owned(),
                    count: v.count,
                });
        }
    }
    match attribute {
        None => facets.attributes = grouped,
        Some(name) => {
            facets
                .attributes
                .insert(name.to_owned(), grouped.remove(name).unwrap_or_default());
        }
    }
}
