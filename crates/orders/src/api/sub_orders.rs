//! A store's part of an order: its queue, and moving it along (accept, ship, deliver, cancel, refund).

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubOrderFilter {
    /// Only sub-orders in this status.
    #[param(
        pattern = "^(placed|paid|processing|shipped|delivered|cancelled|partially_refunded|refunded)?$"
    )]
    pub status: Option<String>,
}

/// A store's sub-orders, newest first, optionally in one status (its members; admins).
#[utoipa::path(get, path = "/api/v1/orders/stores/{store}/sub-orders", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path), SubOrderFilter),
    responses((status = 200, body = SubOrderList), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn store_sub_orders(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Query(filter): Query<SubOrderFilter>,
) -> Result<Json<SubOrderList>> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(SubOrderStatus::parse(s).ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "status",
                "invalid",
                "not a sub-order status",
            )])
        })?),
        None => None,
    };
    let mut conn = saga.pool.acquire().await?;
    let subs = store::store_sub_orders(
        &mut conn,
        store_id,
        status.map(SubOrderStatus::as_str),
        LIST_LIMIT,
    )
    .await?;
    let order_ids: Vec<OrderId> = subs.iter().map(|s| s.order_id).collect();
    let currencies = store::currencies(&mut conn, &order_ids).await?;
    let items = sub_order_views(&mut conn, subs, &currencies, true).await?;
    Ok(Json(SubOrderList { items }))
}

/// Who may see or act on a sub-order.
pub(super) enum Role {
    Customer,
    /// A member of the sub-order's store: sees that store's part only.
    Store(StoreId),
    Admin,
}

/// Whether the caller may see what `customer` owns: the customer, and admins.
pub(super) fn sees(claims: &Claims, customer: UserId) -> bool {
    claims.is_admin() || claims.sub == customer
}

pub(super) fn role_of(claims: &Claims, order: &OrderRow, sub: &SubOrderRow) -> Option<Role> {
    if claims.is_admin() {
        Some(Role::Admin)
    } else if claims.manages_store(sub.store_id) {
        Some(Role::Store(sub.store_id))
    } else if sees(claims, order.customer) {
        Some(Role::Customer)
    } else {
        None
    }
}

pub(super) async fn load(
    conn: &mut PgConnection,
    id: SubOrderId,
) -> Result<(OrderRow, SubOrderRow)> {
    let sub = store::sub_order(conn, id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    let order = store::order(conn, sub.order_id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    Ok((order, sub))
}

pub(super) async fn detail(
    conn: &mut PgConnection,
    order: OrderRow,
    sub_id: SubOrderId,
    role: &Role,
) -> Result<SubOrderDetail> {
    let only_store = match role {
        Role::Store(store) => Some(*store),
        Role::Customer | Role::Admin => None,
    };
    let order = order_view(conn, order, only_store).await?;
    let sub_order = order
        .sub_orders
        .iter()
        .find(|s| s.id == sub_id)
        .cloned()
        .ok_or(Error::not_found("sub-order"))?;
    Ok(SubOrderDetail { order, sub_order })
}

/// One sub-order with its order (its store's members, the order's customer, admins);
/// anyone else gets a 404.
#[utoipa::path(get, path = "/api/v1/orders/sub-orders/{sub_order}", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path)),
    responses((status = 200, body = SubOrderDetail), (status = 404, body = Problem)))]
pub(super) async fn get_sub_order(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path(key): Path<SubOrderId>,
) -> Result<Json<SubOrderDetail>> {
    let mut conn = saga.pool.acquire().await?;
    let (order, sub) = load(&mut conn, key).await?;
    let role = role_of(&claims, &order, &sub).ok_or(Error::not_found("sub-order"))?;
    Ok(Json(detail(&mut conn, order, sub.id, &role).await?))
}

/// What one move of a sub-order records.
pub(super) struct Move<'a> {
    next: SubOrderStatus,
    tracking: Option<&'a str>,
    /// Why (cancellations, refunds), for the timeline and the customer.
    note: Option<&'a str>,
    /// What the move refunded.
    refunded: i64,
    actor: UserId,
}

/// Records a sub-order's move with its timeline entry and event, and the order's
/// status that follows from all its sub-orders.
pub(super) async fn record_move(
    conn: &mut PgConnection,
    order: &OrderRow,
    sub: &SubOrderRow,
    m: &Move<'_>,
) -> Result<()> {
    let Move {
        next,
        tracking,
        note,
        refunded,
        actor,
    } = *m;
    store::update_sub_order(
        conn,
        sub.id,
        next.as_str(),
        tracking,
        note.filter(|_| next == SubOrderStatus::Cancelled),
        refunded,
    )
    .await?;
    store::record_event(
        conn,
        sub.order_id,
        Some(sub.id),
        next.as_str(),
        note,
        Some(actor),
    )
    .await?;
    let statuses: Vec<SubOrderStatus> = store::sub_orders_of(conn, sub.order_id)
        .await?
        .iter()
        .map(|s| s.status)
        .collect();
    store::set_order_status(conn, sub.order_id, domain::order_status(&statuses)).await?;
    kernel::events::outbox::record(
        conn,
        &SubOrderChanged {
            sub_order_id: sub.id,
            order_id: sub.order_id,
            number: sub.number.clone(),
            store_id: sub.store_id,
            status: next.as_str().to_owned(),
            tracking_number: tracking.map(str::to_owned),
            email: order.email.clone(),
            reason: note.map(str::to_owned),
        },
    )
    .await?;
    Ok(())
}

/// Move a sub-order: `accept` (→ processing), `ship` with a tracking number, `deliver`
/// (its store; admins); `cancel` before it ships — by its customer, or by its store or
/// an admin with a reason — refunds what was paid for it and puts the stock back.
/// An illegal move is a 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/orders/sub-orders/{sub_order}/{action}", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path), ("action" = String, Path, pattern = "^(accept|ship|deliver|cancel)$", description = "accept, ship, deliver or cancel")),
    request_body = ActionRequest,
    responses((status = 200, body = SubOrderDetail), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn sub_order_action(
    axum::extract::State(saga): State,
    AuthUser(claims): AuthUser,
    Path((key, action_name)): Path<(SubOrderId, String)>,
    Json(req): Json<ActionRequest>,
) -> Result<Json<SubOrderDetail>> {
    let action = match action_name.as_str() {
        "accept" => SubOrderAction::Accept,
        "ship" => SubOrderAction::Ship,
        "deliver" => SubOrderAction::Deliver,
        "cancel" => SubOrderAction::Cancel,
        _ => return Err(Error::not_found("action")),
    };
    let actor = claims.sub;
    let mut tx = saga.pool.begin().await?;
    let (order, sub) = lock_for_change(&mut tx, key).await?;
    let role = role_of(&claims, &order, &sub).ok_or(Error::not_found("sub-order"))?;
    if matches!(role, Role::Customer) && action != SubOrderAction::Cancel {
        return Err(Error::forbidden());
    }
    let tracking = match action {
        SubOrderAction::Ship => Some(
            kernel::validation::bounded_text(
                req.tracking_number.as_deref().unwrap_or_default(),
                3,
                64,
            )
            .map_err(|m| {
                Problem::validation(vec![FieldError::new("tracking_number", "invalid", m)])
            })?,
        ),
        _ => None,
    };
    let reason = match (action, &role) {
        (SubOrderAction::Cancel, Role::Customer) => Some(
            req.reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("Cancelled by the customer")
                .to_owned(),
        ),
        (SubOrderAction::Cancel, _) => Some(
            kernel::validation::bounded_text(req.reason.as_deref().unwrap_or_default(), 3, 500)
                .map_err(|m| Problem::validation(vec![FieldError::new("reason", "required", m)]))?,
        ),
        _ => None,
    };
    let from = sub.status;
    let next = from.apply(action).ok_or(Error::IllegalTransition {
        from: from.as_str(),
        action: action_verb(action),
    })?;
    let mut refunded = 0;
    if action == SubOrderAction::Cancel {
        refunded = sub.total_minor - sub.refunded_minor;
        refund(&saga, &order, &sub, &format!("cancel:{}", sub.id), refunded).await?;
        if let Some(reservation) = sub.reservation_id.as_deref().and_then(|r| r.parse().ok()) {
            saga.up
                .inventory
                .reservation_action(reservation, "return")
                .await
                .map_err(|e| Error::Upstream(e.into()))?;
        }
    }
    record_move(
        &mut tx,
        &order,
        &sub,
        &Move {
            next,
            tracking: tracking.as_deref(),
            note: reason.as_deref(),
            refunded,
            actor,
        },
    )
    .await?;
    tx.commit().await?;
    fresh_detail(&saga, order.id, sub.id, &role).await
}

/// The sub-order a change is about, locked for it, with its order. The lock is held
/// across the refund and restock calls on purpose: two changes of one sub-order (a
/// cancel racing a refund) must not both pay out.
pub(super) async fn lock_for_change(
    tx: &mut PgConnection,
    id: SubOrderId,
) -> Result<(OrderRow, SubOrderRow)> {
    let sub = store::lock_sub_order(tx, id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    let order = store::order(tx, sub.order_id)
        .await?
        .ok_or(Error::not_found("sub-order"))?;
    Ok((order, sub))
}

/// The sub-order as it is after a committed change.
pub(super) async fn fresh_detail(
    saga: &Saga,
    order: OrderId,
    sub: SubOrderId,
    role: &Role,
) -> Result<Json<SubOrderDetail>> {
    let mut conn = saga.pool.acquire().await?;
    let order = store::order(&mut conn, order)
        .await?
        .ok_or(Error::not_found("order"))?;
    Ok(Json(detail(&mut conn, order, sub, role).await?))
}

pub(super) fn action_verb(action: SubOrderAction) -> &'static str {
    match action {
        SubOrderAction::Pay => "paid",
        SubOrderAction::Accept => "accepted",
        SubOrderAction::Ship => "shipped",
        SubOrderAction::Deliver => "delivered",
        SubOrderAction::Cancel => "cancelled",
        SubOrderAction::RefundPart | SubOrderAction::RefundRest => "refunded",
    }
}

pub(super) async fn refund(
    saga: &Saga,
    order: &OrderRow,
    sub: &SubOrderRow,
    reference: &str,
    amount: i64,
) -> Result<()> {
    if amount <= 0 {
        return Ok(());
    }
    let payment: contracts::payments::PaymentId = order
        .payment_id
        .parse()
        .map_err(|_| Error::internal(anyhow::anyhow!("order without a payment")))?;
    saga.up
        .payments
        .refund(
            payment,
            &contracts::payments::dto::RefundRequest {
                reference: reference.to_owned(),
                store_id: sub.store_id,
                amount_minor: amount,
            },
        )
        .await
        .map_err(|e| Error::Upstream(e.into()))?;
    crate::telemetry::refunded(&order.currency, amount);
    Ok(())
}

/// Refund part or all of what is left of a shipped or delivered sub-order (admins;
/// cancelling refunds one that has not shipped). The ledger reverses the capture in
/// proportion.
#[utoipa::path(post, path = "/api/v1/orders/sub-orders/{sub_order}/refunds", tag = TAG, security(("bearer" = ["admin"])),
    params(("sub_order" = String, Path)), request_body = RefundRequest,
    responses((status = 200, body = SubOrderDetail), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn refund_sub_order(
    axum::extract::State(saga): State,
    AdminUser(claims): AdminUser,
    Path(key): Path<SubOrderId>,
    Json(req): Json<RefundRequest>,
) -> Result<Json<SubOrderDetail>> {
    let actor = claims.sub;
    let reason = kernel::validation::bounded_text(&req.reason, 3, 500)
        .map_err(|m| Problem::validation(vec![FieldError::new("reason", "required", m)]))?;
    let mut tx = saga.pool.begin().await?;
    let (order, sub) = lock_for_change(&mut tx, key).await?;
    if !(1..=kernel::money::MAX_PRICE_MINOR).contains(&req.amount_minor) {
        return Err(Problem::validation(vec![FieldError::new(
            "amount_minor",
            "out_of_range",
            "must be a positive amount in minor units",
        )])
        .into());
    }
    // More than is left depends on the sub-order's state, not on the request: a 409.
    let left = sub.total_minor - sub.refunded_minor;
    if req.amount_minor > left {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "refund_too_large",
            format!("At most what is left to refund: {left} minor units"),
        )
        .into());
    }
    let action = if req.amount_minor == left {
        SubOrderAction::RefundRest
    } else {
        SubOrderAction::RefundPart
    };
    let from = sub.status;
    let next = from.apply(action).ok_or(Error::IllegalTransition {
        from: from.as_str(),
        action: "refunded",
    })?;
    // Keyed by what was refunded before: a retry of this refund refunds once.
    let reference = format!("refund:{}:{}", sub.id, sub.refunded_minor);
    refund(&saga, &order, &sub, &reference, req.amount_minor).await?;
    record_move(
        &mut tx,
        &order,
        &sub,
        &Move {
            next,
            tracking: None,
            note: Some(&reason),
            refunded: req.amount_minor,
            actor,
        },
    )
    .await?;
    tx.commit().await?;
    fresh_detail(&saga, order.id, sub.id, &Role::Admin).await
}
