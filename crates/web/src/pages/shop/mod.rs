//! The storefront: home, search and category pages with facets, store and product
//! pages, suggestions as you type, `sitemap.xml` and `robots.txt`.

mod facets;
mod product;
pub mod reviews;
mod sitemap;

use facets::facet_groups;
pub use product::{option_label, product_page};
pub use sitemap::{robots, sitemap_index, sitemap_pages, sitemap_products};

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use contracts::catalog::dto::{CategoryNode, CategoryRef, ProductView};
use contracts::search::dto::{ProductCard, SearchResults};
use kernel::http::client::ClientError;
use kernel::money::{Currency, Money};

use super::{error_page, page};
use crate::WebState;
use crate::session::PageContext;

/// Filters the storefront's URLs carry, passed on to search as they are.
const FILTER_KEYS: &[&str] = &[
    "q",
    "store",
    "brand",
    "min_price",
    "max_price",
    "in_stock",
    "min_rating",
    "sort",
    "page",
];

pub fn money(amount_minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        |_| format!("{amount_minor} {currency}"),
        |c| {
            Money {
                amount_minor,
                currency: c,
            }
            .display()
        },
    )
}

fn image_url(key: &str, width: u32) -> String {
    format!(
        "/media/{}",
        contracts::catalog::media::rendition_name(key, width)
    )
}

/// A product in a grid.
pub struct Tile {
    pub href: String,
    pub title: String,
    pub store_name: String,
    pub brand: Option<String>,
    pub price: String,
    pub image: Option<String>,
    pub in_stock: bool,
    /// Stars (as text), the average and how many rated it, once someone has.
    pub rating: Option<(String, String, u64)>,
}

impl From<ProductCard> for Tile {
    fn from(c: ProductCard) -> Self {
        let price = if c.max_price_minor > c.min_price_minor {
            format!("from {}", money(c.min_price_minor, &c.currency))
        } else {
            money(c.min_price_minor, &c.currency)
        };
        Self {
            href: format!("/p/{}/{}", c.store_slug, c.slug),
            title: c.title,
            store_name: c.store_name,
            brand: c.brand,
            price,
            image: c.image.as_deref().map(|k| image_url(k, 480)),
            in_stock: c.in_stock,
            rating: c.rating.map(|r| {
                (
                    reviews::stars_for(r.average),
                    format!("{:.1}", r.average),
                    r.count,
                )
            }),
        }
    }
}

pub struct FacetLink {
    pub label: String,
    pub count: u64,
    pub href: String,
    pub selected: bool,
}

pub struct FacetGroup {
    pub title: String,
    pub links: Vec<FacetLink>,
}

/// The query pairs of the current page, to build links that change one filter.
#[derive(Clone)]
struct Filters {
    base: String,
    pairs: Vec<(String, String)>,
}

impl Filters {
    fn new(base: &str, pairs: &[(String, String)]) -> Self {
        let pairs = pairs
            .iter()
            .filter(|(k, v)| {
                !v.is_empty() && (FILTER_KEYS.contains(&k.as_str()) || k.starts_with("attr."))
            })
            .cloned()
            .collect();
        Self {
            base: base.to_owned(),
            pairs,
        }
    }

    fn values(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_owned))
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string(&self.pairs).unwrap_or_default()
    }

    fn href(&self) -> String {
        let qs = self.query_string();
        if qs.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{qs}", self.base)
        }
    }

    /// This page with `value` of `key` added to or removed from the selection (back
    /// to the first page).
    fn toggled(&self, key: &str, value: &str) -> String {
        let mut values = self.values(key);
        match values.iter().position(|v| v == value) {
            Some(i) => {
                values.remove(i);
            }
            None => values.push(value.to_owned()),
        }
        let mut next = self.without(&[key, "page"]);
        if !values.is_empty() {
            next.pairs.push((key.to_owned(), values.join(",")));
        }
        next.href()
    }

    fn without(&self, keys: &[&str]) -> Self {
        Self {
            base: self.base.clone(),
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    fn with(&self, key: &str, value: &str) -> Self {
        let mut next = self.without(&[key]);
        next.pairs.push((key.to_owned(), value.to_owned()));
        next
    }

    fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            pairs: self.pairs.clone(),
        }
    }
}

fn flatten(nodes: &[CategoryNode], out: &mut HashMap<String, (String, String)>) {
    for n in nodes {
        out.insert(n.id.to_string(), (n.name.clone(), n.slug.clone()));
        flatten(&n.children, out);
    }
}

fn children_of<'a>(nodes: &'a [CategoryNode], id: &str) -> Option<&'a [CategoryNode]> {
    for n in nodes {
        if n.id.to_string() == id {
            return Some(&n.children);
        }
        if let Some(found) = children_of(&n.children, id) {
            return Some(found);
        }
    }
    None
}

/// Everything a results page shows besides the grid.
pub struct Listing {
    pub heading: String,
    pub total: u64,
    pub tiles: Vec<Tile>,
    pub facets: Vec<FacetGroup>,
    pub sorts: Vec<FacetLink>,
    pub query: String,
    pub form_action: String,
    pub hidden: Vec<(String, String)>,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub clear: Option<String>,
}

fn listing(
    heading: String,
    results: SearchResults,
    filters: &Filters,
    tree: &[CategoryNode],
    current_category: Option<&str>,
) -> Listing {
    let facets = facet_groups(&results, filters, tree, current_category);
    let current_sort = filters.get("sort").unwrap_or("relevance");
    let sorts = [
        ("relevance", "Best match"),
        ("newest", "Newest"),
        ("price_asc", "Price: low to high"),
        ("price_desc", "Price: high to low"),
        ("rating", "Top rated"),
    ]
    .into_iter()
    .map(|(key, label)| FacetLink {
        label: label.into(),
        count: 0,
        href: filters.without(&["page"]).with("sort", key).href(),
        selected: current_sort == key,
    })
    .collect();
    let page = results.page;
    let pages = results.total.div_ceil(results.per_page as u64) as usize;
    let at = |p: usize| filters.with("page", &p.to_string()).href();
    let chosen = filters.without(&["q", "sort", "page"]);
    Listing {
        heading,
        total: results.total,
        tiles: results.items.into_iter().map(Tile::from).collect(),
        facets,
        sorts,
        query: filters.get("q").unwrap_or_default().to_owned(),
        form_action: filters.base.clone(),
        hidden: filters.without(&["q", "page"]).pairs.into_iter().collect(),
        previous: (page > 1).then(|| at(page - 1)),
        next: (page < pages.min(contracts::search::MAX_RESULT_WINDOW / results.per_page.max(1)))
            .then(|| at(page + 1)),
        clear: (!chosen.pairs.is_empty()).then(|| {
            filters
                .without(&["page"])
                .without(
                    &chosen
                        .pairs
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>(),
                )
                .href()
        }),
    }
}

#[derive(Template)]
#[template(path = "shop_listing.html")]
struct ListingPage {
    ctx: PageContext,
    title: String,
    canonical: String,
    description: String,
    breadcrumb: Vec<CategoryRef>,
    listing: Listing,
    store: Option<contracts::vendors::dto::StoreView>,
    /// How customers rate the store (its page only, once rated).
    store_rating: Option<reviews::SummaryView>,
}

#[derive(Template)]
#[template(path = "shop_results.html")]
struct ResultsPartial {
    listing: Listing,
}

/// htmx asks for the results alone, except when restoring history (then the whole
/// page, as a browser without htmx would get).
fn wants_partial(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request")
}

fn listing_response(headers: &HeaderMap, full: ListingPage) -> Response {
    let mut response = if wants_partial(headers) {
        page(&ResultsPartial {
            listing: full.listing,
        })
    } else {
        page(&full)
    };
    // The same URL answers with a fragment or a page, so caches must tell them apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("HX-Request"));
    response
}

fn unavailable(ctx: &PageContext, e: &ClientError) -> Response {
    match e {
        ClientError::Problem(p) if p.status == 422 => error_page(
            ctx,
            400,
            "Those search filters do not make sense. Try clearing them.",
        ),
        ClientError::Problem(p) if p.status == 404 => error_page(
            ctx,
            404,
            "We could not find that page. It may have moved, or the link may be wrong.",
        ),
        other => {
            tracing::error!(error = %other, "storefront call failed");
            error_page(
                ctx,
                503,
                "The shop cannot be shown right now. Please try again.",
            )
        }
    }
}

/// Searches, and fetches the category tree the facets are named from, together.
async fn search_with_tree(
    state: &WebState,
    ctx: &PageContext,
    query: &str,
) -> Result<(SearchResults, Vec<CategoryNode>), Response> {
    let (results, tree) = tokio::join!(state.search.search(query), state.catalog.categories());
    let results = results.map_err(|e| unavailable(ctx, &e))?;
    Ok((results, tree.map(|t| t.items).unwrap_or_default()))
}

pub async fn search_page(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let filters = Filters::new("/search", &pairs);
    let query = filters.query_string();
    let (results, tree) = match search_with_tree(&state, &ctx, &query).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let q = filters.get("q").unwrap_or_default().to_owned();
    let heading = if q.is_empty() {
        "All products".to_owned()
    } else {
        format!("Results for “{q}”")
    };
    listing_response(
        &headers,
        ListingPage {
            title: heading.clone(),
            canonical: format!("{}/search", state.public_url),
            description: "Search every independent shop on Emporium.".into(),
            breadcrumb: Vec::new(),
            listing: listing(heading, results, &filters, &tree, None),
            store: None,
            store_rating: None,
            ctx,
        },
    )
}

pub async fn category_page(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let category = match state.catalog.category(&slug).await {
        Ok(c) => c,
        Err(e) => return unavailable(&ctx, &e),
    };
    let filters = Filters::new(&format!("/c/{}", category.slug), &pairs);
    let query = format!("category={}&{}", category.id, filters.query_string());
    let (results, tree) = match search_with_tree(&state, &ctx, &query).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let id = category.id.to_string();
    listing_response(
        &headers,
        ListingPage {
            title: category.name.clone(),
            canonical: format!("{}/c/{}", state.public_url, category.slug),
            description: format!("{} from independent shops on Emporium.", category.name),
            breadcrumb: category.breadcrumb.clone(),
            listing: listing(category.name, results, &filters, &tree, Some(&id)),
            store: None,
            store_rating: None,
            ctx,
        },
    )
}

pub async fn store_page(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let store = match state.vendors.store(&slug, None).await {
        Ok(s) => s,
        Err(e) => return unavailable(&ctx, &e),
    };
    let filters = Filters::new(&format!("/s/{}", store.slug), &pairs).without(&["store"]);
    let query = serde_urlencoded::to_string([("store", store.slug.as_str())]).unwrap_or_default();
    let query = format!("{query}&{}", filters.query_string());
    let (found, rating) = tokio::join!(
        search_with_tree(&state, &ctx, &query),
        state.reviews.store_summary(store.id)
    );
    let (results, tree) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let store_rating = rating
        .ok()
        .filter(|r| r.count > 0)
        .map(|r| reviews::SummaryView::of(&r));
    listing_response(
        &headers,
        ListingPage {
            store_rating,
            title: store.name.clone(),
            canonical: format!("{}/s/{}", state.public_url, store.slug),
            description: store.description.chars().take(160).collect(),
            breadcrumb: Vec::new(),
            listing: listing(
                format!("Products from {}", store.name),
                results,
                &filters,
                &tree,
                None,
            ),
            store: Some(store),
            ctx,
        },
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
    title: String,
    canonical: String,
    categories: Vec<CategoryNode>,
    tiles: Vec<Tile>,
}

pub async fn home(State(state): State<WebState>, ctx: PageContext) -> Response {
    let (results, tree) = tokio::join!(
        state.search.search("sort=newest&per_page=12"),
        state.catalog.categories()
    );
    page(&HomePage {
        title: "Independent shops, one marketplace".into(),
        canonical: format!("{}/", state.public_url),
        categories: tree.map(|t| t.items).unwrap_or_default(),
        tiles: results
            .map(|r| r.items.into_iter().map(Tile::from).collect())
            .unwrap_or_default(),
        ctx,
    })
}

#[derive(Template)]
#[template(path = "shop_suggest.html")]
struct SuggestPartial {
    products: Vec<Tile>,
    brands: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    q: String,
}

pub async fn suggest(State(state): State<WebState>, Query(query): Query<SuggestQuery>) -> Response {
    let q: String = query.q.chars().take(100).collect();
    let s = if q.trim().is_empty() {
        contracts::search::dto::Suggestions::default()
    } else {
        state.search.suggest(&q).await.unwrap_or_default()
    };
    let brand_href = |b: &str| {
        format!(
            "/search?{}",
            serde_urlencoded::to_string([("brand", b)]).unwrap_or_default()
        )
    };
    let mut categories = Vec::new();
    for c in s.categories {
        categories.push((c.name, format!("/search?category={}", c.id)));
    }
    page(&SuggestPartial {
        products: s.products.into_iter().map(Tile::from).collect(),
        brands: s
            .brands
            .into_iter()
            .map(|b| {
                let href = brand_href(&b);
                (b, href)
            })
            .collect(),
        categories,
    })
}
