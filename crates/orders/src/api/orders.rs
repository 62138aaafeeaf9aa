//! Orders as their customers and admins see them.

use super::*;

/// Sub-orders as views, their lines read in one query; `currencies` maps each order to
/// its currency.
pub(super) async fn sub_order_views(
    conn: &mut PgConnection,
    subs: Vec<SubOrderRow>,
    currencies: &HashMap<OrderId, String>,
    with_commission: bool,
) -> Result<Vec<SubOrderView>> {
    let ids: Vec<SubOrderId> = subs.iter().map(|s| s.id).collect();
    let mut lines: HashMap<SubOrderId, Vec<store::LineRow>> = HashMap::new();
    for l in store::lines_of(conn, &ids).await? {
        lines.entry(l.sub_order_id).or_default().push(l);
    }
    let mut views = Vec::with_capacity(subs.len());
    for s in subs {
        let currency = currencies
            .get(&s.order_id)
            .ok_or(Error::not_found("order"))?;
        let money = money_in(currency)?;
        views.push(SubOrderView {
            id: s.id,
            order_id: s.order_id,
            number: s.number,
            store_id: s.store_id,
            store_name: s.store_name,
            status: s.status.to_string(),
            subtotal: money(s.subtotal_minor),
            discount: money(s.discount_minor),
            shipping: money(s.shipping_minor),
            tax: money(s.tax_minor),
            total: money(s.total_minor),
            refunded: money(s.refunded_minor),
            commission: with_commission.then(|| money(s.commission_minor)),
            shipping_method: s.shipping_method,
            tracking_number: s.tracking_number,
            cancel_reason: s.cancel_reason,
            lines: lines
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|l| LineView {
                    variant_id: l.variant_id,
                    product_id: l.product_id,
                    title: l.title,
                    sku: l.sku,
                    options: l.options,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price_minor),
                    discount: money(l.discount_minor),
                    tax: money(l.tax_minor),
                    total: money(l.total_minor),
                })
                .collect(),
        });
    }
    Ok(views)
}

/// An order as its customer (all sub-orders) or a store (`only_store`: its own
/// sub-order alone, with that part's figures as the order's) sees it.
pub(super) async fn order_view(
    conn: &mut PgConnection,
    o: OrderRow,
    only_store: Option<StoreId>,
) -> Result<OrderView> {
    order_views(conn, vec![o], only_store)
        .await?
        .pop()
        .ok_or(Error::not_found("order"))
}

/// Orders as views in four queries however many there are (sub-orders, their lines and
/// the timelines read for all of them at once).
pub(super) async fn order_views(
    conn: &mut PgConnection,
    orders: Vec<OrderRow>,
    only_store: Option<StoreId>,
) -> Result<Vec<OrderView>> {
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let currencies: HashMap<OrderId, String> =
        orders.iter().map(|o| (o.id, o.currency.clone())).collect();
    let subs: Vec<SubOrderRow> = store::sub_orders_in(conn, &ids)
        .await?
        .into_iter()
        .filter(|s| only_store.is_none_or(|st| s.store_id == st))
        .collect();
    let numbers: HashMap<SubOrderId, String> =
        subs.iter().map(|s| (s.id, s.number.clone())).collect();
    let mut timelines: HashMap<OrderId, Vec<TimelineEntry>> = HashMap::new();
    for e in store::events_of(conn, &ids).await? {
        if only_store.is_some() && e.sub_order_id.is_some_and(|s| !numbers.contains_key(&s)) {
            continue;
        }
        timelines
            .entry(e.order_id)
            .or_default()
            .push(TimelineEntry {
                at: e.at,
                status: e.status,
                sub_order: e.sub_order_id.and_then(|s| numbers.get(&s).cloned()),
                note: e.note,
            });
    }
    let mut sub_views: HashMap<OrderId, Vec<SubOrderView>> = HashMap::new();
    for v in sub_order_views(conn, subs, &currencies, only_store.is_some()).await? {
        sub_views.entry(v.order_id).or_default().push(v);
    }
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        let money = money_in(&o.currency)?;
        let sub_orders = sub_views.remove(&o.id).unwrap_or_default();
        let mut view = OrderView {
            id: o.id,
            number: o.number,
            status: o.status,
            email: o.email,
            subtotal: money(o.subtotal_minor),
            discount: money(o.discount_minor),
            shipping: money(o.shipping_minor),
            tax: money(o.tax_minor),
            total: money(o.total_minor),
            promotion_code: o.promotion_code,
            address: serde_json::to_value(&o.address.0).unwrap_or_default(),
            created_at: o.created_at,
            sub_orders,
            timeline: timelines.remove(&o.id).unwrap_or_default(),
        };
        if only_store.is_some() {
            as_store_part(&mut view, &money);
        }
        views.push(view);
    }
    Ok(views)
}

/// A store sees only its part of an order: the order's figures become those of the
/// store's own sub-order, its status the one that part alone gives, and the promotion
/// code shows only when it discounted that part — nothing of the other stores' parts.
pub(super) fn as_store_part(view: &mut OrderView, money: &impl Fn(i64) -> Money) {
    let sum = |part: fn(&SubOrderView) -> &Money| {
        view.sub_orders
            .iter()
            .map(|s| part(s).amount_minor)
            .sum::<i64>()
    };
    let subtotal = sum(|s| &s.subtotal);
    let discount = sum(|s| &s.discount);
    let shipping = sum(|s| &s.shipping);
    let tax = sum(|s| &s.tax);
    let total = sum(|s| &s.total);
    let statuses: Vec<SubOrderStatus> = view
        .sub_orders
        .iter()
        .filter_map(|s| SubOrderStatus::parse(&s.status))
        .collect();
    view.subtotal = money(subtotal);
    view.discount = money(discount);
    view.shipping = money(shipping);
    view.tax = money(tax);
    view.total = money(total);
    view.status = domain::order_status(&statuses).as_str().to_owned();
    if discount == 0 {
        view.promotion_code = None;
    }
}

/// The signed-in customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = OrderList)))]
pub(super) async fn my_orders(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
) -> Result<Json<OrderList>> {
    let customer = claims.sub;
    let mut conn = saga.pool.acquire().await?;
    let orders = store::customer_orders(&mut conn, customer, LIST_LIMIT).await?;
    let items = order_views(&mut conn, orders, None).await?;
    Ok(Json(OrderList { items }))
}

/// One order with its sub-orders and timeline (its customer; admins). Another
/// customer's order is a 404.
#[utoipa::path(get, path = "/api/v1/orders/{order}", tag = TAG, security(("bearer" = [])),
    params(("order" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
pub(super) async fn get_order(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<OrderId>,
) -> Result<Json<OrderView>> {
    let mut conn = saga.pool.acquire().await?;
    let o = store::order(&mut conn, id)
        .await?
        .filter(|o| sees(&claims, o.customer))
        .ok_or(Error::not_found("order"))?;
    Ok(Json(order_view(&mut conn, o, None).await?))
}
