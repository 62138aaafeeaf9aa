//! What other services look up: every tracked variant's availability, for a new
//! search replica to start from; a reservation by the reference its maker chose, for
//! a checkout that never heard back from its reserve call.

use contracts::catalog::VariantId;
use contracts::inventory::dto::{AvailabilityPage, ReservationView, VariantAvailability};
use kernel::http::pagination::{export_limit, keyset_page};
use kernel::http::{Json, Path, Problem, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Result, State, reservation_view};
use crate::{Error, store};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// The last variant id of the previous page.
    pub after: Option<VariantId>,
    /// Variants per page, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
}

/// Every variant whose stock has moved, with its availability as of its latest
/// `inventory.stock.changed` version, by id (services only).
#[utoipa::path(get, path = "/internal/inventory/availability-export", security(("service" = [])), tag = "internal",
    params(ExportParams),
    responses((status = 200, body = AvailabilityPage), (status = 422, body = Problem)))]
pub async fn availability_export(
    axum::extract::State(pool): State,
    Query(params): Query<ExportParams>,
) -> Result<Json<AvailabilityPage>> {
    let limit = export_limit(params.limit)?;
    let mut conn = pool.acquire().await?;
    let rows = store::availability_export(&mut conn, params.after, i64::from(limit) + 1).await?;
    let (rows, next_after) = keyset_page(rows, limit, |r| r.0);
    Ok(Json(AvailabilityPage {
        items: rows
            .into_iter()
            .map(
                |(variant_id, product_id, available, version)| VariantAvailability {
                    variant_id,
                    product_id,
                    available,
                    version,
                },
            )
            .collect(),
        next_after,
    }))
}

/// The reservation made under `reference` (services only): a checkout whose reserve
/// call went unanswered finds out whether it holds stock, and releases it.
#[utoipa::path(get, path = "/internal/inventory/reservations/by-reference/{reference}", security(("service" = [])), tag = "internal",
    params(("reference" = String, Path, description = "The reference the reservation was made with")),
    responses((status = 200, body = ReservationView), (status = 404, body = Problem)))]
pub async fn reservation_by_reference(
    axum::extract::State(pool): State,
    Path(reference): Path<String>,
) -> Result<Json<ReservationView>> {
    let mut conn = pool.acquire().await?;
    let row = store::reservation_by_reference(&mut conn, &reference)
        .await?
        .ok_or(Error::not_found("reservation"))?;
    Ok(Json(reservation_view(&mut conn, row).await?))
}
