//! Admins search every order.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// An order or sub-order number, or a customer's email.
    pub q: Option<String>,
}

/// Every order, newest first, or those matching a number or email (admins).
#[utoipa::path(get, path = "/api/v1/orders/admin/orders", tag = TAG, security(("bearer" = ["admin"])),
    params(AdminOrderQuery),
    responses((status = 200, body = OrderList), (status = 403, body = Problem)))]
pub(super) async fn admin_orders(
    axum::extract::State(saga): State,
    _admin: AdminUser,
    Query(query): Query<AdminOrderQuery>,
) -> Result<Json<OrderList>> {
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty() && q.len() <= 320);
    let mut conn = saga.pool.acquire().await?;
    let orders = store::search_orders(&mut conn, q, LIST_LIMIT).await?;
    let items = order_views(&mut conn, orders, None).await?;
    Ok(Json(OrderList { items }))
}
