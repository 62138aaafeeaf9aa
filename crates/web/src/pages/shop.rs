//! The storefront: home, search and category pages with facets, store and product
//! pages, suggestions as you type, `sitemap.xml` and `robots.txt`.

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

fn facet_groups(
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
    let (results, tree) = match search_with_tree(&state, &ctx, &query).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    listing_response(
        &headers,
        ListingPage {
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

pub struct VariantChoice {
    pub variant_id: String,
    pub sku: String,
    /// "In stock", "Only 3 left" or "Sold out"; nothing when stock is not tracked.
    pub stock: Option<String>,
    pub label: String,
    pub price: String,
    pub compare_at: Option<String>,
    pub selected: bool,
    pub image: Option<String>,
}

#[derive(Template)]
#[template(path = "shop_product.html")]
struct ProductPage {
    ctx: PageContext,
    csrf: String,
    title: String,
    canonical: String,
    description: String,
    breadcrumb: Vec<CategoryRef>,
    product: ProductView,
    variants: Vec<VariantChoice>,
    chosen: VariantChoice,
    gallery: Vec<(String, String, String)>,
    main_image: Option<(String, String)>,
    json_ld: String,
}

#[derive(Template)]
#[template(path = "shop_buybox.html")]
struct BuyBox {
    csrf: String,
    product: ProductView,
    variants: Vec<VariantChoice>,
    chosen: VariantChoice,
    main_image: Option<(String, String)>,
}

#[derive(serde::Deserialize)]
pub struct VariantQuery {
    variant: Option<String>,
}

pub fn option_label(options: &serde_json::Value) -> String {
    options
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// JSON-LD `Product` with an `Offer` per variant, escaped so it cannot end its
/// `<script>` element early.
fn json_ld(p: &ProductView, url: &str) -> String {
    let offers: Vec<serde_json::Value> = p
        .variants
        .iter()
        .map(|v| {
            let exp = i32::from(v.price.currency.exponent());
            let price = v.price.amount_minor as f64 / 10f64.powi(exp);
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "price": format!("{price:.prec$}", prec = exp as usize),
                "priceCurrency": v.price.currency.code(),
                "availability": "https://schema.org/InStock",
                "url": format!("{url}?variant={}", v.sku),
            })
        })
        .collect();
    let mut doc = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.title,
        "description": p.seo_description.clone().unwrap_or_else(|| p.description.chars().take(300).collect()),
        "url": url,
        "image": p.images.iter().map(|i| i.large_url.clone()).collect::<Vec<_>>(),
        "offers": offers,
    });
    if let Some(brand) = &p.brand {
        doc["brand"] = serde_json::json!({"@type": "Brand", "name": brand});
    }
    doc.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub async fn product_page(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    Path((store_slug, slug)): Path<(String, String)>,
    Query(query): Query<VariantQuery>,
) -> Response {
    let token = ctx.user.as_ref().map(|u| u.access_token.clone());
    let product = match state
        .catalog
        .product_by_slug(&store_slug, &slug, token.as_deref())
        .await
    {
        Ok(p) => p,
        Err(e) => return unavailable(&ctx, &e),
    };
    let chosen_sku = query
        .variant
        .filter(|s| product.variants.iter().any(|v| &v.sku == s))
        .or_else(|| product.variants.first().map(|v| v.sku.clone()))
        .unwrap_or_default();
    let variant_image = |sku: &str| {
        product
            .images
            .iter()
            .find(|i| i.variant_sku.as_deref() == Some(sku))
            .or_else(|| product.images.first())
            .map(|i| (i.large_url.clone(), i.alt.clone()))
    };
    let variants: Vec<VariantChoice> = product
        .variants
        .iter()
        .map(|v| VariantChoice {
            variant_id: v.id.to_string(),
            stock: v.available.map(|a| match a {
                ..=0 => "Sold out".to_owned(),
                1..=5 => format!("Only {a} left"),
                _ => "In stock".to_owned(),
            }),
            sku: v.sku.clone(),
            label: option_label(&v.options),
            price: v.price.display(),
            compare_at: v
                .compare_at_minor
                .filter(|c| *c > v.price.amount_minor)
                .map(|c| money(c, v.price.currency.code())),
            selected: v.sku == chosen_sku,
            image: variant_image(&v.sku).map(|(u, _)| u),
        })
        .collect();
    let Some(chosen) = variants.iter().find(|v| v.selected).map(|v| VariantChoice {
        stock: v.stock.clone(),
        variant_id: v.variant_id.clone(),
        sku: v.sku.clone(),
        label: v.label.clone(),
        price: v.price.clone(),
        compare_at: v.compare_at.clone(),
        selected: true,
        image: v.image.clone(),
    }) else {
        return error_page(&ctx, 404, "This product has nothing for sale.");
    };
    let main_image = variant_image(&chosen.sku);
    if wants_partial(&headers) {
        return page(&BuyBox {
            csrf: ctx.csrf.clone(),
            product,
            variants,
            chosen,
            main_image,
        });
    }
    let breadcrumb = match product.category_id {
        Some(id) => match state.catalog.category(&id.to_string()).await {
            Ok(c) => {
                let mut crumbs = c.breadcrumb;
                crumbs.push(CategoryRef {
                    id: c.id,
                    name: c.name,
                    slug: c.slug,
                });
                crumbs
            }
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    let canonical = format!(
        "{}/p/{}/{}",
        state.public_url, product.store.slug, product.slug
    );
    page(&ProductPage {
        csrf: ctx.csrf.clone(),
        title: product
            .seo_title
            .clone()
            .unwrap_or_else(|| product.title.clone()),
        description: product
            .seo_description
            .clone()
            .unwrap_or_else(|| product.description.chars().take(160).collect()),
        json_ld: json_ld(&product, &canonical),
        canonical,
        breadcrumb,
        gallery: product
            .images
            .iter()
            .map(|i| (i.thumbnail_url.clone(), i.large_url.clone(), i.alt.clone()))
            .collect(),
        main_image,
        variants,
        chosen,
        product,
        ctx,
    })
}

pub async fn robots(State(state): State<WebState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /account\nDisallow: /vendor\nDisallow: /admin\nDisallow: /api/\nDisallow: /internal/\nDisallow: /search\nSitemap: {}/sitemap.xml\n",
            state.public_url
        ),
    )
        .into_response()
}

/// Products per sitemap file (the protocol allows 50 000).
const SITEMAP_PAGE: u64 = 40_000;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A sitemap index: the site's pages and categories, then the products in files of
/// 40 000.
pub async fn sitemap_index(State(state): State<WebState>) -> Response {
    let total = match state.catalog.search_documents(None, 1).await {
        Ok(p) => p.total.unwrap_or(0),
        Err(e) => {
            tracing::error!(error = %e, "sitemap: catalog unavailable");
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "try again later",
            )
                .into_response();
        }
    };
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    out.push_str(&format!(
        "<sitemap><loc>{base}/sitemaps/pages.xml</loc></sitemap>\n"
    ));
    for n in 0..total.div_ceil(SITEMAP_PAGE) {
        out.push_str(&format!(
            "<sitemap><loc>{base}/sitemaps/products-{}.xml</loc></sitemap>\n",
            n + 1
        ));
    }
    out.push_str("</sitemapindex>\n");
    xml(out)
}

pub async fn sitemap_pages(State(state): State<WebState>) -> Response {
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    out.push_str(&format!("<url><loc>{base}/</loc></url>\n"));
    let mut names = HashMap::new();
    if let Ok(tree) = state.catalog.categories().await {
        flatten(&tree.items, &mut names);
    }
    let mut slugs: Vec<_> = names.into_values().map(|(_, slug)| slug).collect();
    slugs.sort();
    for slug in slugs {
        out.push_str(&format!(
            "<url><loc>{base}/c/{}</loc></url>\n",
            xml_escape(&slug)
        ));
    }
    if let Ok(results) = state.search.search("per_page=1").await {
        for store in results.facets.stores {
            out.push_str(&format!(
                "<url><loc>{base}/s/{}</loc></url>\n",
                xml_escape(&store.value)
            ));
        }
    }
    out.push_str("</urlset>\n");
    xml(out)
}

pub async fn sitemap_products(State(state): State<WebState>, Path(file): Path<String>) -> Response {
    let Some(n) = file
        .strip_prefix("products-")
        .and_then(|f| f.strip_suffix(".xml"))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n >= 1)
    else {
        return (axum::http::StatusCode::NOT_FOUND, "no such sitemap").into_response();
    };
    let base = &state.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    // This file's share of the catalog's export, in id order.
    let mut offset = Some((n - 1) * SITEMAP_PAGE);
    let mut seen = 0u64;
    let mut after = None;
    loop {
        let page = match state.catalog.export_page(after, offset.take(), 1000).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "sitemap: catalog unavailable");
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "try again later",
                )
                    .into_response();
            }
        };
        for d in &page.items {
            if seen < SITEMAP_PAGE {
                let lastmod = d
                    .published_at
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .map(|t| format!("<lastmod>{t}</lastmod>"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<url><loc>{base}/p/{}/{}</loc>{lastmod}</url>\n",
                    xml_escape(&d.store_slug),
                    xml_escape(&d.slug)
                ));
            }
            seen += 1;
        }
        after = page.next_after;
        if after.is_none() || seen >= SITEMAP_PAGE {
            break;
        }
    }
    out.push_str("</urlset>\n");
    xml(out)
}
