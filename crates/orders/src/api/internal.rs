//! Service-to-service endpoints under `/internal/orders`, never exposed by a gateway.

use contracts::orders::dto::{ReceivedLine, ReceivedList, ReceivedQuery};

use super::*;

/// What a customer received (lines of delivered sub-orders) of a product or in one
/// sub-order: reviews and returns check it before accepting one.
#[utoipa::path(get, path = "/internal/orders/received", security(("service" = [])), tag = "internal",
    params(ReceivedQuery), responses((status = 200, body = ReceivedList), (status = 422, body = Problem)))]
pub(super) async fn received(
    axum::extract::State(saga): State,
    Query(query): Query<ReceivedQuery>,
) -> Result<Json<ReceivedList>> {
    if query.product.is_none() && query.sub_order.is_none() {
        return Err(Problem::validation(vec![FieldError::new(
            "product",
            "required",
            "name a product or a sub_order",
        )])
        .into());
    }
    let mut conn = saga.pool.acquire().await?;
    let rows = store::received(&mut conn, query.customer, query.product, query.sub_order).await?;
    Ok(Json(ReceivedList {
        items: rows
            .into_iter()
            .map(|r| ReceivedLine {
                sub_order_id: r.sub_order_id,
                store_id: r.store_id,
                product_id: r.product_id,
                variant_id: r.variant_id,
                quantity: r.quantity,
                delivered_at: r.delivered_at,
            })
            .collect(),
    }))
}
