//! Applying for a store, browsing stores, and a store's own profile.

use super::*;

/// Apply to open a store (signed in, with a verified email). An admin reviews it.
#[utoipa::path(post, path = "/api/v1/vendors/stores", tag = TAG, security(("bearer" = [])),
    request_body = ApplyRequest,
    responses((status = 201, body = StoreView), (status = 403, body = Problem, description = "email_not_verified"),
              (status = 409, body = Problem, description = "application_pending"),
              (status = 422, body = Problem, description = "validation_failed / slug_taken")))]
pub(super) async fn apply(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Json(req): Json<ApplyRequest>,
) -> Result<impl IntoResponse> {
    if !claims.email_verified {
        return Err(Error::EmailNotVerified);
    }
    let applicant = claims.sub;
    let mut errs = FieldErrors::new();
    let slug = errs.check("slug", "invalid_slug", domain::parse_slug(&req.slug));
    let name = errs.check("name", "invalid", bounded_text(&req.name, 2, 80));
    let description = errs.check(
        "description",
        "invalid",
        bounded_prose(&req.description, 2000),
    );
    let logo = errs.check(
        "logo_url",
        "invalid",
        parse_logo_url(req.logo_url.as_deref().unwrap_or("")),
    );
    let email = errs.check(
        "support_email",
        "invalid_email",
        EmailAddress::parse(&req.support_email),
    );
    let country = errs.check("country", "invalid", parse_country(&req.country));
    let payout = parse_payout(&mut errs, &req.payout);
    let (slug, name, description, logo, email, country, payout) =
        errs.finish_with((slug, name, description, logo, email, country, payout))?;
    let id = StoreId::new();
    let mut tx = pool.begin().await?;
    let inserted = store::insert_store(
        &mut tx,
        &store::NewStore {
            id,
            slug: &slug,
            name: &name,
            description: &description,
            logo_url: logo.as_deref(),
            support_email: email.as_str(),
            country: &country,
            payout_holder: &payout.holder,
            payout_iban: &payout.iban,
            applicant_user_id: applicant,
            applicant_email: &claims.email,
        },
    )
    .await;
    if let Err(e) = inserted {
        return Err(if kernel::db::is_unique_violation(&e, "stores_slug_key") {
            Error::SlugTaken
        } else if kernel::db::is_unique_violation(&e, "stores_one_pending_per_applicant") {
            Error::ApplicationPending
        } else {
            e.into()
        });
    }
    kernel::events::outbox::record(
        &mut tx,
        &StoreApplied {
            store_id: id,
            name: name.clone(),
            slug: slug.clone(),
            applicant_user_id: claims.sub,
            applicant_email: claims.email.clone(),
        },
    )
    .await?;
    let row = store::store_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    // The applicant sees their application as its future owner would.
    let v = view(&mut tx, row, Access::Owner).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(StoreView { my_role: None, ..v })))
}

/// Approved stores, newest first.
#[utoipa::path(get, path = "/api/v1/vendors/stores", security(()), tag = TAG, params(PageParams),
    responses((status = 200, body = StorePage), (status = 422, body = Problem)))]
pub(super) async fn list_stores(
    axum::extract::State(pool): State,
    Query(page): Query<PageParams>,
) -> Result<Json<StorePage>> {
    Ok(Json(
        store_page(&pool, StoreStatus::Approved, &page, Access::Public).await?,
    ))
}

/// A store by id or slug. Members and admins also see its status, commission and payout.
#[utoipa::path(get, path = "/api/v1/vendors/stores/{store}", security((), ("bearer" = [])), tag = TAG,
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug")),
    responses((status = 200, body = StoreView), (status = 404, body = Problem)))]
pub(super) async fn get_store(
    axum::extract::State(pool): State,
    MaybeUser(claims): MaybeUser,
    Path(key): Path<String>,
) -> Result<Json<StoreView>> {
    let mut conn = pool.acquire().await?;
    let (row, access) = find_store(&mut conn, &key, claims.as_ref()).await?;
    Ok(Json(view(&mut conn, row, access).await?))
}

/// Edit a store's profile (owner or staff); payout details need the owner or an admin.
#[utoipa::path(patch, path = "/api/v1/vendors/stores/{store}", tag = TAG, security(("bearer" = [])),
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug")), request_body = UpdateStoreRequest,
    responses((status = 200, body = StoreView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update_store(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
    Json(req): Json<UpdateStoreRequest>,
) -> Result<Json<StoreView>> {
    let mut tx = pool.begin().await?;
    let (found, access) = find_store(&mut tx, &key, Some(&claims)).await?;
    if !access.is_member_or_admin() {
        return Err(Error::not_found("store"));
    }
    // Locked before reading what to merge, so concurrent edits cannot undo each other.
    let row = store::store_for_update(&mut tx, found.id)
        .await?
        .ok_or(Error::not_found("store"))?;
    if req.payout.is_some() && !access.is_owner_or_admin() {
        return Err(Error::forbidden());
    }
    let mut errs = FieldErrors::new();
    let name = match &req.name {
        Some(n) => errs.check("name", "invalid", bounded_text(n, 2, 80)),
        None => Some(row.name.clone()),
    };
    let description = match &req.description {
        Some(d) => errs.check("description", "invalid", bounded_prose(d, 2000)),
        None => Some(row.description.clone()),
    };
    let logo = match &req.logo_url {
        Some(l) => errs.check("logo_url", "invalid", parse_logo_url(l)),
        None => Some(row.logo_url.clone()),
    };
    let email = match &req.support_email {
        Some(e) => errs
            .check("support_email", "invalid_email", EmailAddress::parse(e))
            .map(|e| e.as_str().to_owned()),
        None => Some(row.support_email.clone()),
    };
    let country = match &req.country {
        Some(c) => errs.check("country", "invalid", parse_country(c)),
        None => Some(row.country.clone()),
    };
    let payout = req.payout.as_ref().map(|p| parse_payout(&mut errs, p));
    let (name, description, logo, email, country) =
        errs.finish_with((name, description, logo, email, country))?;
    let profile = store::Profile {
        name: &name,
        description: &description,
        logo_url: logo.as_deref(),
        support_email: &email,
        country: &country,
    };
    store::update_profile(&mut tx, row.id, &profile).await?;
    if let Some(Some(p)) = payout {
        store::update_payout(&mut tx, row.id, &p.holder, &p.iban).await?;
    }
    let version = store::bump_version(&mut tx, row.id).await?;
    kernel::events::outbox::record(
        &mut tx,
        &StoreUpdated {
            store_id: row.id,
            version,
            name: name.clone(),
            slug: row.slug.clone(),
        },
    )
    .await?;
    let updated = store::store_by_id(&mut tx, row.id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let v = view(&mut tx, updated, access).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// Stores the caller owns or staffs, whatever their status, and their applications
/// under review or rejected.
#[utoipa::path(get, path = "/api/v1/vendors/me/stores", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = MyStores), (status = 401, body = Problem)))]
pub(super) async fn my_stores(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
) -> Result<Json<MyStores>> {
    let user = claims.sub;
    let default_bps = store::default_commission(&mut *pool.acquire().await?).await?;
    // Their applications first: the applicant sees status and reason, not yet a role.
    let applications = store::open_applications(&pool, user)
        .await?
        .into_iter()
        .map(|row| StoreView {
            my_role: None,
            ..view_with(row, Access::Owner, default_bps)
        });
    let memberships = store::memberships(&pool, user).await?.into_iter().map(|m| {
        let access = match m.role {
            StoreRole::Owner => Access::Owner,
            StoreRole::Staff => Access::Staff,
        };
        view_with(m.store, access, default_bps)
    });
    let items = applications.chain(memberships).collect();
    Ok(Json(MyStores { items }))
}
