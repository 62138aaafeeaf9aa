//! The filters beside a listing: each facet's values as links that add or remove it.

use super::*;

pub(super) fn facet_groups(
    results: &SearchResults,
    filters: &Filters,
    tree: &[CategoryNode],
    current_category: Option<&str>,
) -> Vec<FacetGroup> {
    let mut groups = Vec::new();
    let mut names = HashMap::new();
    flatten(tree, &mut names);
    let children: Vec<&CategoryNode> = match current_category {
        Some(id) => children_of(tree, id).unwrap_or_default().iter().collect(),
        None => tree.iter().collect(),
    };
    let counts: HashMap<&str, u64> = results
        .facets
        .categories
        .iter()
        .map(|v| (v.value.as_str(), v.count))
        .collect();
    let links: Vec<FacetLink> = children
        .iter()
        .filter_map(|c| {
            let count = *counts.get(c.id.to_string().as_str())?;
            Some(FacetLink {
                label: c.name.clone(),
                count,
                href: filters
                    .without(&["page"])
                    .on(&format!("/c/{}", c.slug))
                    .href(),
                selected: false,
            })
        })
        .collect();
    if !links.is_empty() {
        groups.push(FacetGroup {
            title: "Category".into(),
            links,
        });
    }
    let simple = |title: &str, key: &str, values: &[contracts::search::dto::FacetValue]| {
        let chosen = filters.values(key);
        FacetGroup {
            title: title.to_owned(),
            links: values
                .iter()
                .map(|v| FacetLink {
                    label: v.value.clone(),
                    count: v.count,
                    href: filters.toggled(key, &v.value),
                    selected: chosen.contains(&v.value),
                })
                .collect(),
        }
    };
    let availability = results.facets.availability;
    if availability.out_of_stock > 0 {
        let chosen = filters.get("in_stock") == Some("true");
        let next = filters.without(&["in_stock", "page"]);
        groups.push(FacetGroup {
            title: "Availability".into(),
            links: vec![FacetLink {
                label: "In stock".into(),
                count: availability.in_stock,
                href: if chosen {
                    next.href()
                } else {
                    next.with("in_stock", "true").href()
                },
                selected: chosen,
            }],
        });
    }
    let chosen_rating = filters.get("min_rating");
    let next = filters.without(&["min_rating", "page"]);
    groups.push(FacetGroup {
        title: "Customer rating".into(),
        links: results
            .facets
            .ratings
            .iter()
            .filter(|r| r.count > 0)
            .map(|r| {
                let stars = r.min_stars.to_string();
                let selected = chosen_rating == Some(stars.as_str());
                FacetLink {
                    label: format!(
                        "{} {} & up",
                        reviews::stars(i32::from(r.min_stars)),
                        r.min_stars
                    ),
                    count: r.count,
                    href: if selected {
                        next.href()
                    } else {
                        next.with("min_rating", &stars).href()
                    },
                    selected,
                }
            })
            .collect(),
    });
    groups.push(simple("Brand", "brand", &results.facets.brands));
    groups.push(simple("Store", "store", &results.facets.stores));
    for (name, values) in &results.facets.attributes {
        let mut title = name.replace('_', " ");
        if let Some(first) = title.get(..1) {
            title = first.to_uppercase() + title.get(1..).unwrap_or_default();
        }
        groups.push(simple(&title, &format!("attr.{name}"), values));
    }
    let (lo, hi) = (filters.get("min_price"), filters.get("max_price"));
    let currency = results
        .items
        .first()
        .map_or("EUR", |c| c.currency.as_str())
        .to_owned();
    groups.push(FacetGroup {
        title: "Price".into(),
        links: results
            .facets
            .prices
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| {
                let min = b.min.map(|v| v.to_string());
                // The API's bounds are inclusive; a bucket's upper bound is not.
                let max = b.max.map(|v| (v - 1).to_string());
                let selected = lo == min.as_deref() && hi == max.as_deref();
                let label = match (b.min, b.max) {
                    (None, Some(to)) => format!("Under {}", money(to, &currency)),
                    (Some(from), Some(to)) => {
                        format!("{} – {}", money(from, &currency), money(to, &currency))
                    }
                    (Some(from), None) => format!("{} and more", money(from, &currency)),
                    (None, None) => "Any".to_owned(),
                };
                let mut next = filters.without(&["min_price", "max_price", "page"]);
                if !selected {
                    if let Some(m) = &min {
                        next = next.with("min_price", m);
                    }
                    if let Some(m) = &max {
                        next = next.with("max_price", m);
                    }
                }
                FacetLink {
                    label,
                    count: b.count,
                    href: next.href(),
                    selected,
                }
            })
            .collect(),
    });
    groups.retain(|g| !g.links.is_empty());
    groups
}
