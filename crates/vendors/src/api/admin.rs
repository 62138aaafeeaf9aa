//! Admins review applications, suspend and reinstate stores, and set commission.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    /// `pending` (default), `approved`, `rejected` or `suspended`.
    #[param(pattern = "^(pending|approved|rejected|suspended)$")]
    pub status: Option<String>,
}

/// Stores by status: the application queue is `status=pending`.
#[utoipa::path(get, path = "/api/v1/vendors/admin/stores", tag = TAG, security(("bearer" = ["admin"])),
    params(StatusFilter, PageParams),
    responses((status = 200, body = StorePage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn admin_list_stores(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Query(filter): Query<StatusFilter>,
    Query(page): Query<PageParams>,
) -> Result<Json<StorePage>> {
    let status = match filter.status.as_deref() {
        None => StoreStatus::Pending,
        Some(s) => StoreStatus::parse(s).ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "status",
                "invalid",
                "must be pending, approved, rejected or suspended",
            )])
        })?,
    };
    Ok(Json(store_page(&pool, status, &page, Access::Admin).await?))
}

pub(super) fn action_name(action: StoreAction) -> &'static str {
    match action {
        StoreAction::Approve => "approved",
        StoreAction::Reject => "rejected",
        StoreAction::Suspend => "suspended",
        StoreAction::Reinstate => "reinstated",
    }
}

/// Moves a store through its status machine and records what happened.
pub(super) async fn transition(
    pool: &PgPool,
    id: StoreId,
    action: StoreAction,
    reason: Option<String>,
) -> Result<Json<StoreView>> {
    let reason = match reason {
        Some(r) => Some(
            bounded_text(&r, 3, 1000)
                .map_err(|m| Problem::validation(vec![FieldError::new("reason", "invalid", m)]))?,
        ),
        None => None,
    };
    let mut tx = pool.begin().await?;
    let row = store::store_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let next = row.status.apply(action).ok_or(Error::IllegalTransition {
        from: row.status.as_str(),
        action: action_name(action),
    })?;
    store::set_status(&mut tx, id, next, reason.as_deref()).await?;
    let version = store::bump_version(&mut tx, id).await?;
    match action {
        StoreAction::Approve => {
            store::insert_member(
                &mut tx,
                id,
                row.applicant_user_id,
                &row.applicant_email,
                StoreRole::Owner,
            )
            .await?;
            kernel::events::outbox::record(
                &mut tx,
                &MemberAdded {
                    store_id: id,
                    version,
                    user_id: row.applicant_user_id,
                    role: StoreRole::Owner,
                },
            )
            .await?;
            kernel::events::outbox::record(
                &mut tx,
                &StoreApproved {
                    store_id: id,
                    version,
                    name: row.name.clone(),
                    slug: row.slug.clone(),
                    owner_user_id: row.applicant_user_id,
                    owner_email: row.applicant_email.clone(),
                },
            )
            .await?;
        }
        StoreAction::Reject => {
            kernel::events::outbox::record(
                &mut tx,
                &StoreRejected {
                    store_id: id,
                    name: row.name.clone(),
                    applicant_email: row.applicant_email.clone(),
                    reason: reason.clone().unwrap_or_default(),
                },
            )
            .await?;
        }
        StoreAction::Suspend => {
            kernel::events::outbox::record(
                &mut tx,
                &StoreSuspended {
                    store_id: id,
                    version,
                    reason: reason.clone().unwrap_or_default(),
                },
            )
            .await?;
        }
        StoreAction::Reinstate => {
            kernel::events::outbox::record(
                &mut tx,
                &StoreReinstated {
                    store_id: id,
                    version,
                },
            )
            .await?;
        }
    }
    let updated = store::store_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let v = view(&mut tx, updated, Access::Admin).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// Approve an application: the applicant becomes the store's owner.
#[utoipa::path(post, path = "/api/v1/vendors/admin/stores/{store}/approve", tag = TAG, security(("bearer" = ["admin"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")),
    responses((status = 200, body = StoreView), (status = 404, body = Problem), (status = 409, body = Problem, description = "illegal_transition")))]
pub(super) async fn admin_approve(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<StoreId>,
) -> Result<Json<StoreView>> {
    transition(&pool, id, StoreAction::Approve, None).await
}

/// Reject an application with a reason, which is emailed to the applicant.
#[utoipa::path(post, path = "/api/v1/vendors/admin/stores/{store}/reject", tag = TAG, security(("bearer" = ["admin"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), request_body = ReasonRequest,
    responses((status = 200, body = StoreView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn admin_reject(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<StoreId>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<StoreView>> {
    transition(&pool, id, StoreAction::Reject, Some(req.reason)).await
}

/// Suspend an approved store: its products leave the storefront at once.
#[utoipa::path(post, path = "/api/v1/vendors/admin/stores/{store}/suspend", tag = TAG, security(("bearer" = ["admin"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), request_body = ReasonRequest,
    responses((status = 200, body = StoreView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn admin_suspend(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<StoreId>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<StoreView>> {
    transition(&pool, id, StoreAction::Suspend, Some(req.reason)).await
}

/// Reinstate a suspended store.
#[utoipa::path(post, path = "/api/v1/vendors/admin/stores/{store}/reinstate", tag = TAG, security(("bearer" = ["admin"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")),
    responses((status = 200, body = StoreView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(super) async fn admin_reinstate(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<StoreId>,
) -> Result<Json<StoreView>> {
    transition(&pool, id, StoreAction::Reinstate, None).await
}

/// Set a store's commission, or return it to the platform default with `null`.
#[utoipa::path(put, path = "/api/v1/vendors/admin/stores/{store}/commission", tag = TAG, security(("bearer" = ["admin"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), request_body = CommissionRequest,
    responses((status = 200, body = StoreView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn admin_set_commission(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<StoreId>,
    Json(req): Json<CommissionRequest>,
) -> Result<Json<StoreView>> {
    let bps = req
        .commission_bps
        .map(domain::parse_commission_bps)
        .transpose()
        .map_err(|m| {
            Problem::validation(vec![FieldError::new("commission_bps", "out_of_range", m)])
        })?;
    let mut tx = pool.begin().await?;
    store::store_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    store::set_commission(&mut tx, id, bps).await?;
    let row = store::store_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let v = view(&mut tx, row, Access::Admin).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// The platform's default commission.
#[utoipa::path(get, path = "/api/v1/vendors/admin/settings/commission", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 200, body = DefaultCommission), (status = 403, body = Problem)))]
pub(super) async fn admin_default_commission(
    axum::extract::State(pool): State,
    _admin: AdminUser,
) -> Result<Json<DefaultCommission>> {
    let bps = store::default_commission(&mut *pool.acquire().await?).await?;
    Ok(Json(DefaultCommission {
        default_commission_bps: i64::from(bps),
    }))
}

/// Change the platform's default commission (stores without their own rate follow it).
#[utoipa::path(put, path = "/api/v1/vendors/admin/settings/commission", tag = TAG, security(("bearer" = ["admin"])),
    request_body = DefaultCommission,
    responses((status = 200, body = DefaultCommission), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn admin_set_default_commission(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Json(req): Json<DefaultCommission>,
) -> Result<Json<DefaultCommission>> {
    let bps = domain::parse_commission_bps(req.default_commission_bps).map_err(|m| {
        Problem::validation(vec![FieldError::new(
            "default_commission_bps",
            "out_of_range",
            m,
        )])
    })?;
    store::set_default_commission(&mut *pool.acquire().await?, bps).await?;
    Ok(Json(DefaultCommission {
        default_commission_bps: i64::from(bps),
    }))
}
