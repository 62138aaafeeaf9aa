//! Search's HTTP API under `/api/v1/search`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::RawQuery;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kernel::http::{FieldError, Json, Problem, Query};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::domain;
use contracts::search::dto::{SearchResults, Suggestions};

use crate::index::ProductIndex;
use contracts::catalog::CatalogClient;
use kernel::auth::AdminUser;
use sqlx::PgPool;

const TAG: &str = "search";
const MAX_SUGGESTIONS: usize = 8;

/// What the reindex endpoint needs besides the index.
#[derive(Clone)]
pub struct Rebuilder {
    pub pool: PgPool,
    pub catalog: CatalogClient,
}

pub fn router(index: Arc<ProductIndex>, rebuilder: Rebuilder) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(search_products))
        .routes(routes!(suggest))
        .routes(routes!(reindex))
        .layer(Extension(index))
        .layer(Extension(rebuilder))
}

/// Results change with every published product; a short shared cache absorbs bursts of
/// identical queries without hiding a change for long.
fn cacheable(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    response
}

/// Runs blocking index work off the async threads.
async fn on_index<T: Send + 'static>(
    index: Arc<ProductIndex>,
    work: impl FnOnce(&ProductIndex) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || work(&index))
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(Error::Internal)
}

/// Full-text product search with typo tolerance, filters, facet counts, sorting and
/// pages. Filters take several values as repeats or comma-separated
/// (`brand=Acme,Globex`); attributes as `attr.<name>=<value>`.
#[utoipa::path(get, path = "/api/v1/search/products", security(()), tag = TAG,
    params(
        ("q" = Option<String>, Query, max_length = 200, description = "Words to find (at most 200 characters, UTF-8: other bytes are a 422 `not_utf8`); a typo per word is forgiven"),
        ("category" = Option<String>, Query, pattern = "^(cat_[0-9a-fA-F]{32})?$", description = "Category id (`cat_…`); includes its subtree"),
        ("store" = Option<String>, Query, pattern = "^[^,]{0,100}(,[^,]{0,100}){0,19}$", description = "Store slugs, at most 20 (of 100 characters at most)"),
        ("brand" = Option<String>, Query, pattern = "^[^,]{0,100}(,[^,]{0,100}){0,19}$", description = "Brands, at most 20 (of 100 characters at most)"),
        ("min_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000000.0, description = "Minor units, inclusive"),
        ("max_price" = Option<i64>, Query, minimum = 0, maximum = 1000000000000.0, description = "Minor units, inclusive"),
        ("in_stock" = Option<String>, Query, pattern = "^(true|false|1|0)?$", description = "true: only products that can be bought now"),
        ("sort" = Option<String>, Query, pattern = "^(relevance|price_asc|price_desc|newest|rating)?$", description = "relevance (default), price_asc, price_desc, newest, rating (best rated first)"),
        ("min_rating" = Option<u8>, Query, minimum = 1, maximum = 5, description = "Only products customers rated this many stars or more on average"),
        ("page" = Option<usize>, Query, minimum = 1, maximum = 166, description = "From 1 to 166 (the first 10 000 results)"),
        ("per_page" = Option<usize>, Query, minimum = 1, maximum = 60, description = "1 to 60 (default 24)"),
    ),
    responses((status = 200, body = SearchResults), (status = 422, body = Problem)))]
pub async fn search_products(
    Extension(index): Extension<Arc<ProductIndex>>,
    RawQuery(raw): RawQuery,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Error> {
    domain::check_utf8_query(raw.as_deref().unwrap_or_default()).map_err(Problem::validation)?;
    let req = domain::parse_search(&pairs).map_err(Problem::validation)?;
    let mut canonical = pairs;
    canonical.sort();
    let key = serde_urlencoded::to_string(&canonical).map_err(|e| Problem::internal(&e))?;
    let results = on_index(index, move |i| i.search_cached(&req, key)).await?;
    Ok(cacheable(Json(results.as_ref())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the customer typed so far.
    #[param(max_length = 100)]
    pub q: String,
    /// Products to suggest, 1 to 8 (default 5).
    #[param(minimum = 1, maximum = 8)]
    pub limit: Option<usize>,
}

/// Search-as-you-type: products, brands and categories matching the words typed so
/// far (the last one may be unfinished).
#[utoipa::path(get, path = "/api/v1/search/suggest", security(()), tag = TAG, params(SuggestParams),
    responses((status = 200, body = Suggestions), (status = 422, body = Problem)))]
pub async fn suggest(
    Extension(index): Extension<Arc<ProductIndex>>,
    RawQuery(raw): RawQuery,
    Query(params): Query<SuggestParams>,
) -> Result<Response, Error> {
    domain::check_utf8_query(raw.as_deref().unwrap_or_default()).map_err(Problem::validation)?;
    let mut errors = Vec::new();
    if params.q.chars().count() > 100 {
        errors.push(FieldError::new("q", "invalid", "at most 100 characters"));
    }
    let limit = params.limit.unwrap_or(5);
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "out_of_range",
            format!("must be between 1 and {MAX_SUGGESTIONS}"),
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors).into());
    }
    let suggestions = on_index(index, move |i| i.suggest(&params.q, limit)).await?;
    Ok(cacheable(Json(suggestions)))
}

/// Rebuilds the whole index from the catalog in the background (admins only); searches
/// keep answering from the current index until the new one is committed.
#[utoipa::path(post, path = "/api/v1/search/reindex", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 202, description = "The rebuild started"), (status = 403, body = Problem)))]
pub async fn reindex(
    _admin: AdminUser,
    Extension(index): Extension<Arc<ProductIndex>>,
    Extension(rebuilder): Extension<Rebuilder>,
) -> Response {
    tokio::spawn(async move {
        match crate::reindex::reindex(&index, &rebuilder.pool, rebuilder.catalog, false).await {
            Ok(count) => {
                tracing::info!(count, "search index rebuilt on request");
                metrics::counter!("search_reindexes_total").increment(1);
            }
            Err(e) => tracing::error!(error = %format!("{e:#}"), "search reindex failed"),
        }
    });
    (
        axum::http::StatusCode::ACCEPTED,
        Json(serde_json::json!({"status": "started"})),
    )
        .into_response()
}
