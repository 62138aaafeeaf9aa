//! A store's staff: members, invitations, and leaving.

use super::*;

/// The store's owners and staff (members and admins).
#[utoipa::path(get, path = "/api/v1/vendors/stores/{store}/members", tag = TAG, security(("bearer" = [])),
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug")), responses((status = 200, body = MemberList), (status = 404, body = Problem)))]
pub(super) async fn list_members(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
) -> Result<Json<MemberList>> {
    let mut conn = pool.acquire().await?;
    let (row, access) = find_store(&mut conn, &key, Some(&claims)).await?;
    if !access.is_member_or_admin() {
        return Err(Error::not_found("store"));
    }
    let items = store::members(&mut conn, row.id)
        .await?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            since: m.created_at,
        })
        .collect();
    Ok(Json(MemberList { items }))
}

/// Remove a member (owner or admin; anyone may remove themselves). A store keeps at
/// least one owner.
#[utoipa::path(delete, path = "/api/v1/vendors/stores/{store}/members/{user}", tag = TAG, security(("bearer" = [])),
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug"), ("user" = String, Path, pattern = "^usr_[0-9a-fA-F]{32}$", description = "User id (`usr_…`)")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "last_owner")))]
pub(super) async fn remove_member(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path((key, target)): Path<(String, UserId)>,
) -> Result<StatusCode> {
    let mut tx = pool.begin().await?;
    let (found, _) = find_store(&mut tx, &key, Some(&claims)).await?;
    let row = store::store_for_update(&mut tx, found.id)
        .await?
        .ok_or(Error::not_found("store"))?;
    // Rights are read under the lock: an owner removed a moment ago has none left.
    let access = access(&mut tx, &row, Some(&claims)).await?;
    let is_self = claims.sub == target;
    let may_remove = access.is_owner_or_admin() || (is_self && access.is_member_or_admin());
    if !may_remove {
        return Err(if access.is_member_or_admin() {
            Error::forbidden()
        } else {
            Error::not_found("store")
        });
    }
    let members = store::members(&mut tx, row.id).await?;
    let target_role = members
        .iter()
        .find(|m| m.user_id == target)
        .map(|m| m.role)
        .ok_or(Error::not_found("member"))?;
    let owners = members
        .iter()
        .filter(|m| m.role == StoreRole::Owner)
        .count();
    if target_role == StoreRole::Owner && owners <= 1 {
        return Err(Error::LastOwner);
    }
    store::delete_member(&mut tx, row.id, target).await?;
    let version = store::bump_version(&mut tx, row.id).await?;
    kernel::events::outbox::record(
        &mut tx,
        &MemberRemoved {
            store_id: row.id,
            version,
            user_id: target,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invite someone by email to join the store (owner or admin). The link is emailed.
#[utoipa::path(post, path = "/api/v1/vendors/stores/{store}/invitations", tag = TAG, security(("bearer" = ["store_owner"])),
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug")), request_body = InviteRequest,
    responses((status = 409, body = Problem, description = "`illegal_transition`: the store is not open to new staff"), (status = 201, body = InvitationView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn invite(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
    Json(req): Json<InviteRequest>,
) -> Result<impl IntoResponse> {
    let mut tx = pool.begin().await?;
    let (row, access) = find_store(&mut tx, &key, Some(&claims)).await?;
    if !access.is_owner_or_admin() {
        return Err(if access.is_member_or_admin() {
            Error::forbidden()
        } else {
            Error::not_found("store")
        });
    }
    if row.status != StoreStatus::Approved {
        return Err(Error::IllegalTransition {
            from: row.status.as_str(),
            action: "staffed",
        });
    }
    let mut errs = FieldErrors::new();
    let email = errs.check("email", "invalid_email", EmailAddress::parse(&req.email));
    let (email,) = errs.finish_with((email,))?;
    let role = req.role.unwrap_or(StoreRole::Staff);
    let token = kernel::secret::random_token();
    let expires_at = OffsetDateTime::now_utc() + time::Duration::days(domain::INVITATION_TTL_DAYS);
    store::insert_invitation(
        &mut tx,
        InvitationId::new(),
        row.id,
        email.as_str(),
        role.as_str(),
        &kernel::secret::digest(&token),
        expires_at,
    )
    .await?;
    kernel::events::outbox::record(
        &mut tx,
        &StaffInvited {
            store_id: row.id,
            store_name: row.name.clone(),
            email: email.as_str().to_owned(),
            role,
            token,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationView {
            email: email.as_str().to_owned(),
            role,
            expires_at,
        }),
    ))
}

/// Accept an invitation: the signed-in user, whose verified email it was sent to, joins.
#[utoipa::path(post, path = "/api/v1/vendors/invitations/accept", tag = TAG, security(("bearer" = [])),
    request_body = AcceptInvitationRequest,
    responses((status = 200, body = StoreView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
pub(super) async fn accept_invitation(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Json(req): Json<AcceptInvitationRequest>,
) -> Result<Json<StoreView>> {
    let user = claims.sub;
    let mut tx = pool.begin().await?;
    let (store_id, email, role) =
        store::consume_invitation(&mut tx, &kernel::secret::digest(&req.token))
            .await?
            .ok_or(Error::InvalidInvitation)?;
    if !claims.email_verified || !claims.email.eq_ignore_ascii_case(&email) {
        return Err(Error::InvitationForSomeoneElse);
    }
    let role = StoreRole::parse(&role).ok_or(Error::InvalidInvitation)?;
    if !store::insert_member(&mut tx, store_id, user, &claims.email, role).await? {
        return Err(Error::AlreadyMember);
    }
    let version = store::bump_version(&mut tx, store_id).await?;
    kernel::events::outbox::record(
        &mut tx,
        &MemberAdded {
            store_id,
            version,
            user_id: claims.sub,
            role,
        },
    )
    .await?;
    let row = store::store_by_id(&mut tx, store_id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let access = if role == StoreRole::Owner {
        Access::Owner
    } else {
        Access::Staff
    };
    let v = view(&mut tx, row, access).await?;
    tx.commit().await?;
    Ok(Json(v))
}
