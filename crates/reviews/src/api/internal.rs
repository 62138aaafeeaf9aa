//! Service-to-service endpoints under `/internal/reviews`, never exposed by a gateway.

use contracts::catalog::ProductId;
use contracts::reviews::dto::{ProductRatingState, RatingExportPage};
use kernel::http::{Json, Problem, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Result, State};
use crate::store;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// The last product id of the previous page.
    pub after: Option<ProductId>,
    /// Products per page, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
}

/// Every product's ratings with their versions, in product id order: what a search
/// replica that missed events reads to catch up.
#[utoipa::path(get, path = "/internal/reviews/product-ratings", security(("service" = [])), tag = "internal",
    params(ExportParams), responses((status = 200, body = RatingExportPage), (status = 422, body = Problem)))]
pub(super) async fn product_ratings(
    axum::extract::State(reviews): State,
    Query(params): Query<ExportParams>,
) -> Result<Json<RatingExportPage>> {
    let limit = kernel::http::pagination::export_limit(params.limit)?;
    let mut conn = reviews.pool.acquire().await?;
    let rows = store::rating_export(&mut conn, params.after, limit).await?;
    let (rows, next_after) = kernel::http::pagination::keyset_page(rows, limit, |r| r.0);
    Ok(Json(RatingExportPage {
        items: rows
            .into_iter()
            .map(|(product_id, version, histogram)| ProductRatingState {
                product_id,
                version,
                histogram,
            })
            .collect(),
        next_after,
    }))
}
