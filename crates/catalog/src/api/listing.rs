//! The public product listing: filters, sort and cursor pages, cached whole.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::response::Response;
use contracts::catalog::dto::*;
use kernel::cache::Cache;
use kernel::http::pagination::{Page, PageParams};
use kernel::http::{FieldError, Problem, Query};
use kernel::money::Currency;
use sqlx::PgConnection;

use super::products::{card, json_bytes, micros};
use super::{Result, State, TAG};
use crate::Error;
use crate::domain::CategoryId;
use crate::store::{self, Listing, Sort};

fn bad(field: &str, message: &str) -> Error {
    Problem::validation(vec![FieldError::new(field, "invalid", message)]).into()
}

/// Parses the listing's query string: known filters, plus `attr.<name>=<value>`.
async fn listing(conn: &mut PgConnection, q: &HashMap<String, String>) -> Result<Listing> {
    let page = PageParams {
        limit: q
            .get("limit")
            .map(|l| {
                l.parse::<u32>()
                    .map_err(|_| bad("limit", "must be a whole number"))
            })
            .transpose()?,
        cursor: q.get("cursor").cloned(),
    };
    let mut l = Listing {
        limit: page.limit()?,
        after: page.after()?,
        ..Listing::default()
    };
    if let Some(c) = q.get("category").filter(|c| !c.is_empty()) {
        let row = match c.parse::<CategoryId>() {
            Ok(id) => store::category(conn, id).await?,
            Err(_) => store::category_by_slug(conn, &c.to_ascii_lowercase()).await?,
        };
        // An unknown category is a filter nothing matches, not an error: a category
        // can be deleted while a link to it lives on.
        l.category = Some(row.map_or_else(CategoryId::new, |c| c.id));
    }
    if let Some(s) = q.get("store").filter(|s| !s.is_empty()) {
        l.store = Some(
            s.parse()
                .map_err(|_| bad("store", "must be a store id (sto_…)"))?,
        );
    }
    let price = |name: &str| -> Result<Option<i64>> {
        q.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|p| (0..=kernel::money::MAX_PRICE_MINOR).contains(p))
                    .ok_or_else(|| bad(name, "must be a price in minor units"))
            })
            .transpose()
    };
    l.min_price = price("min_price")?;
    l.max_price = price("max_price")?;
    if let Some(c) = q.get("currency").filter(|c| !c.is_empty()) {
        l.currency = Some(
            Currency::parse(c)
                .map_err(|m| bad("currency", m))?
                .code()
                .to_owned(),
        );
    }
    l.in_stock = match q.get("in_stock").map(String::as_str) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(bad("in_stock", "must be true or false")),
    };
    l.sort = match q.get("sort").map(String::as_str) {
        None | Some("" | "newest") => Sort::Newest,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some(_) => return Err(bad("sort", "must be newest, price_asc or price_desc")),
    };
    for (k, v) in q {
        if let Some(name) = k.strip_prefix("attr.") {
            if name.is_empty() || name.len() > 30 || v.len() > 60 {
                return Err(bad(k, "attribute filters are attr.<name>=<value>"));
            }
            // Attribute values are stored typed; a filter matches their text form.
            let value = match v.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                s => s.parse::<i64>().map_or_else(
                    |_| serde_json::Value::String(s.to_owned()),
                    serde_json::Value::from,
                ),
            };
            l.attributes.insert(name.to_ascii_lowercase(), value);
        }
    }
    Ok(l)
}

/// The listing's filters, as `listing` reads them (documentation only: the handler
/// reads the query string itself, `attr.<name>` filters included).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListingParams {
    /// Category id (`cat_…`) or slug; includes its subtree (an unknown one matches
    /// nothing).
    category: Option<String>,
    /// Store id (`sto_…`).
    #[param(pattern = "^(sto_[0-9a-fA-F]{32})?$")]
    store: Option<String>,
    /// Minor units, 0 to 1 000 000 000 000; empty for none.
    #[param(schema_with = contracts::catalog::schema::price_filter)]
    min_price: Option<String>,
    /// Minor units, 0 to 1 000 000 000 000; empty for none.
    #[param(schema_with = contracts::catalog::schema::price_filter)]
    max_price: Option<String>,
    /// A supported ISO 4217 code (any letter case); empty for none.
    #[param(schema_with = contracts::catalog::schema::currency_filter)]
    currency: Option<String>,
    /// `true` (or `1`): leave out sold-out products.
    #[param(pattern = "^(true|false|1|0)?$")]
    in_stock: Option<String>,
    /// `newest` (default), `price_asc` or `price_desc`.
    #[param(pattern = "^(newest|price_asc|price_desc)?$")]
    sort: Option<String>,
}

/// Published products of open stores: filter by category (and its subcategories),
/// store, price range, currency and attributes (`attr.color=red`); sort by `newest`,
/// `price_asc` or `price_desc`; cursor pagination.
#[utoipa::path(get, path = "/api/v1/catalog/products", security(()), tag = TAG,
    params(
        ListingParams,
        PageParams
    ),
    responses((status = 200, body = ProductPage), (status = 422, body = Problem)))]
pub async fn list_products(
    axum::extract::State(pool): State,
    Extension(cache): Extension<Arc<dyn Cache>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    // Pages are public and the same for everyone: cached whole, under the listing
    // generation read before the database (see `Cache::generation`).
    let generation = cache
        .generation(crate::events::LISTING_GENERATION_KEY)
        .await;
    let mut normalised: Vec<(&String, &String)> = q.iter().collect();
    normalised.sort();
    let query = serde_urlencoded::to_string(&normalised).map_err(|e| Problem::internal(&e))?;
    let cache_key = crate::events::listing_cache_key(&query, generation);
    let cached = cache.get(&cache_key).await;
    kernel::cache::record_lookup("listing", cached.is_some());
    if let Some(bytes) = cached {
        return Ok(json_bytes(bytes.to_vec(), "hit"));
    }
    let mut conn = pool.acquire().await?;
    let l = listing(&mut conn, &q).await?;
    let rows = store::list_products(&mut conn, &l).await?;
    let sort = l.sort;
    let page = Page::from_rows(rows, l.limit, |p| {
        let key = match sort {
            Sort::Newest => p.published_at.map_or(0, micros),
            Sort::PriceAsc | Sort::PriceDesc => p.min_price_minor,
        };
        (key, p.id.0)
    });
    let page = ProductPage {
        items: page.items.into_iter().map(card).collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    };
    let bytes = serde_json::to_vec(&page).map_err(|e| Problem::internal(&e))?;
    cache.put(&cache_key, Arc::from(bytes.as_slice())).await;
    Ok(json_bytes(bytes, "miss"))
}
