//! Service-to-service endpoints under `/internal/catalog`, never exposed by a gateway.

use kernel::http::{FieldError, Json, Problem, Query};
use kernel::ids::StoreId;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Result, State};
use crate::domain::{CategoryId, ProductId, VariantId};
use crate::store;
use contracts::catalog::events::ProductPublished;
use contracts::catalog::internal::{
    SaleVariant, SaleVariantList, SearchDocumentPage, VariantOwner,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// The last product id of the previous page.
    pub after: Option<ProductId>,
    /// Documents per page, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
    /// Documents to skip first (without `after`): where a sitemap file starts.
    pub offset: Option<u64>,
}

/// Every product customers may see, as the documents search indexes: what a full
/// reindex reads.
#[utoipa::path(get, path = "/internal/catalog/search-documents", security(("service" = [])), tag = "internal",
    params(ExportParams), responses((status = 200, body = SearchDocumentPage), (status = 422, body = Problem)))]
pub async fn search_documents(
    axum::extract::State(pool): State,
    Query(params): Query<ExportParams>,
) -> Result<Json<SearchDocumentPage>> {
    let limit = kernel::http::pagination::export_limit(params.limit)?;
    let mut conn = pool.acquire().await?;
    let offset = i64::try_from(params.offset.unwrap_or(0)).map_err(|_| {
        Problem::validation(vec![FieldError::new(
            "offset",
            "out_of_range",
            "is too large",
        )])
    })?;
    Ok(Json(
        search_document_page(&mut conn, params.after, offset, limit).await?,
    ))
}

/// One page of the export, with the total on the first page.
pub async fn search_document_page(
    conn: &mut sqlx::PgConnection,
    after: Option<ProductId>,
    offset: i64,
    limit: u32,
) -> std::result::Result<SearchDocumentPage, sqlx::Error> {
    let rows = store::search_documents(conn, after, offset, i64::from(limit)).await?;
    let next_after = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.product_id))
        .flatten();
    let total = match after {
        None => Some(store::count_published_products(conn).await?),
        Some(_) => None,
    };
    Ok(SearchDocumentPage {
        items: rows.into_iter().map(ProductPublished::from).collect(),
        next_after,
        total,
    })
}

#[utoipa::path(get, path = "/internal/catalog/variants/{variant}", security(("service" = [])), tag = "internal",
    params(("variant" = String, Path, description = "Variant id (`var_…`)")),
    responses((status = 200, body = VariantOwner), (status = 404, body = Problem)))]
pub async fn variant_owner(
    axum::extract::State(pool): State,
    kernel::http::Path(key): kernel::http::Path<String>,
) -> Result<Json<VariantOwner>> {
    let id: VariantId = key
        .parse()
        .map_err(|_| crate::Error::not_found("variant"))?;
    let mut conn = pool.acquire().await?;
    let (product_id, store, sku) = store::variant_owner(&mut conn, id)
        .await?
        .ok_or(crate::Error::not_found("variant"))?;
    Ok(Json(VariantOwner {
        variant_id: id,
        product_id,
        store_id: StoreId(store),
        sku,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariantsParams {
    /// Comma-separated variant ids (`var_…`), at most 100.
    pub ids: String,
}

/// Variants by id with their current prices (unknown ids are left out).
#[utoipa::path(get, path = "/internal/catalog/variants", security(("service" = [])), tag = "internal", params(VariantsParams),
    responses((status = 200, body = SaleVariantList), (status = 422, body = Problem)))]
pub async fn sale_variants(
    axum::extract::State(pool): State,
    Query(params): Query<VariantsParams>,
) -> Result<Json<SaleVariantList>> {
    let ids = params
        .ids
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<VariantId>().map(|id| id.0))
        .collect::<std::result::Result<Vec<_>, _>>()
        .ok()
        .filter(|ids| !ids.is_empty() && ids.len() <= 100)
        .ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "ids",
                "invalid",
                "must be 1 to 100 comma-separated variant ids (var_…)",
            )])
        })?;
    let mut conn = pool.acquire().await?;
    let rows = store::sale_variants(&mut conn, &ids).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let currency =
            kernel::money::Currency::parse(&r.currency).map_err(|e| Problem::internal(&e))?;
        items.push(SaleVariant {
            variant_id: r.variant_id,
            product_id: r.product_id,
            store_id: r.store_id,
            store_slug: r.store_slug,
            store_name: r.store_name,
            product_slug: r.product_slug,
            title: r.title,
            sku: r.sku,
            options: r.options,
            price: kernel::money::Money {
                amount_minor: r.price_minor,
                currency,
            },
            weight_grams: r.weight_grams,
            image: r.image,
            for_sale: r.for_sale,
            category_path: r
                .category_path
                .unwrap_or_default()
                .into_iter()
                .map(CategoryId)
                .collect(),
        });
    }
    Ok(Json(SaleVariantList { items }))
}
