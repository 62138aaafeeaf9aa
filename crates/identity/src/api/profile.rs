//! The signed-in user's own profile and address book.

use super::*;

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/v1/identity/me", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub(super) async fn me(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<Json<UserView>> {
    let id = claims.sub;
    let user = store::user_by_id(&mut *s.pool.acquire().await?, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    Ok(Json(view(&user)))
}

/// Update name and phone.
#[utoipa::path(patch, path = "/api/v1/identity/me", tag = TAG, security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = UserView), (status = 422, body = Problem)))]
pub(super) async fn update_me(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Json(req): Json<UpdateProfileRequest>,
) -> Result<Json<UserView>> {
    let id = claims.sub;
    let mut errs = FieldErrors::new();
    let name = req
        .name
        .as_deref()
        .map(|n| errs.check("name", "invalid", domain::parse_name(n)));
    let phone = req
        .phone
        .as_deref()
        .map(|p| errs.check("phone", "invalid", domain::parse_phone(p)));
    errs.finish()?;
    let mut tx = s.pool.begin().await?;
    let user = store::user_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    let name = name.flatten().unwrap_or(user.name);
    let phone = match phone {
        Some(p) => p.flatten(),
        None => user.phone,
    };
    store::update_profile(&mut tx, id, &name, phone.as_deref()).await?;
    let updated = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok(Json(view(&updated)))
}

// --- address book ---

pub(super) fn address_input(r: AddressRequest) -> AddressInput {
    AddressInput {
        label: r.label,
        full_name: r.full_name,
        line1: r.line1,
        line2: r.line2,
        city: r.city,
        region: r.region,
        postal_code: r.postal_code,
        country: r.country,
        phone: r.phone,
        is_default_shipping: r.is_default_shipping,
        is_default_billing: r.is_default_billing,
    }
}

/// The signed-in user's addresses.
#[utoipa::path(get, path = "/api/v1/identity/me/addresses", tag = TAG, security(("bearer" = [])),
    responses((status = 200, body = AddressList)))]
pub(super) async fn list_addresses(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
) -> Result<Json<AddressList>> {
    let id = claims.sub;
    let items = store::list_addresses(&s.pool, id).await?;
    Ok(Json(AddressList {
        items: items.into_iter().map(address_view).collect(),
    }))
}

/// Add an address (at most 20). Marking it default takes the flag from the previous default.
#[utoipa::path(post, path = "/api/v1/identity/me/addresses", tag = TAG, security(("bearer" = [])),
    request_body = AddressRequest,
    responses((status = 201, body = AddressView), (status = 409, body = Problem, description = "address_limit_reached"), (status = 422, body = Problem)))]
pub(super) async fn create_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Json(req): Json<AddressRequest>,
) -> Result<impl IntoResponse> {
    let user = claims.sub;
    let address = Address::parse(&address_input(req))?;
    let id = AddressId::new();
    let mut tx = s.pool.begin().await?;
    store::lock_user(&mut tx, user).await?;
    if store::count_addresses(&mut tx, user).await? >= domain::MAX_ADDRESSES {
        return Err(Error::TooManyAddresses);
    }
    store::insert_address(&mut tx, user, id, &address).await?;
    tx.commit().await?;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok((StatusCode::CREATED, Json(address_view(row))))
}

/// One of the signed-in user's addresses.
#[utoipa::path(get, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")),
    responses((status = 200, body = AddressView), (status = 404, body = Problem)))]
pub(super) async fn get_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
) -> Result<Json<AddressView>> {
    let user = claims.sub;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok(Json(address_view(row)))
}

/// Replace an address.
#[utoipa::path(put, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")), request_body = AddressRequest,
    responses((status = 200, body = AddressView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
    Json(req): Json<AddressRequest>,
) -> Result<Json<AddressView>> {
    let user = claims.sub;
    let address = Address::parse(&address_input(req))?;
    let mut tx = s.pool.begin().await?;
    store::lock_user(&mut tx, user).await?;
    if !store::update_address(&mut tx, user, id, &address).await? {
        return Err(Error::not_found("address"));
    }
    tx.commit().await?;
    let row = store::address(&s.pool, user, id)
        .await?
        .ok_or(Error::not_found("address"))?;
    Ok(Json(address_view(row)))
}

/// Delete an address.
#[utoipa::path(delete, path = "/api/v1/identity/me/addresses/{id}", tag = TAG, security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id (`adr_…`)")),
    responses((status = 204), (status = 404, body = Problem)))]
pub(super) async fn delete_address(
    axum::extract::State(s): AppState,
    AuthUser(claims): AuthUser,
    Path(id): Path<AddressId>,
) -> Result<StatusCode> {
    let user = claims.sub;
    if store::delete_address(&s.pool, user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found("address"))
    }
}

// --- admin ---
