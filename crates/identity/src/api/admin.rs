//! Admins find users, suspend and reinstate them, and grant or revoke admin rights.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Email or name prefix.
    #[param(schema_with = kernel::http::schema::optional_text::<254>)]
    pub q: Option<String>,
}

/// Users, newest first, searchable by email or name prefix.
#[utoipa::path(get, path = "/api/v1/identity/admin/users", tag = TAG, security(("bearer" = ["admin"])),
    params(UserSearch, PageParams),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
pub(super) async fn admin_list_users(
    axum::extract::State(s): AppState,
    _admin: AdminUser,
    Query(search): Query<UserSearch>,
    Query(page): Query<PageParams>,
) -> Result<Json<UserPage>> {
    let limit = page.limit()?;
    let after = page.after_time()?;
    let q = search.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q
        && (q.chars().count() > 254 || q.chars().any(char::is_control))
    {
        return Err(Problem::validation(vec![kernel::http::FieldError::new(
            "q",
            "invalid",
            "must be at most 254 characters, without control characters",
        )])
        .into());
    }
    let rows = store::search_users(&s.pool, q, after, limit).await?;
    let page = Page::from_rows(rows, limit, |u| time_key(u.created_at, u.id.0));
    Ok(Json(UserPage {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// What an admin does to another user's account.
#[derive(Clone, Copy)]
pub(super) enum Moderation {
    Status(UserStatus),
    Admin(bool),
}

pub(super) async fn moderate(
    s: &State,
    admin: &Claims,
    id: UserId,
    change: Moderation,
) -> Result<Json<UserView>> {
    if admin.sub == id {
        return Err(Error::SelfModeration);
    }
    let mut tx = s.pool.begin().await?;
    store::user_for_update(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    match change {
        Moderation::Status(status) => {
            if store::set_status(&mut tx, id, status).await? {
                if status == UserStatus::Suspended {
                    store::revoke_all_sessions(&mut tx, id, None).await?;
                }
                let event = UserStatusChanged {
                    user_id: id,
                    status: status.as_str().into(),
                };
                kernel::events::outbox::record(&mut tx, &event).await?;
            }
        }
        Moderation::Admin(is_admin) => {
            if store::set_admin(&mut tx, id, is_admin).await? {
                kernel::events::outbox::record(
                    &mut tx,
                    &UserRolesChanged {
                        user_id: id,
                        is_admin,
                    },
                )
                .await?;
            }
        }
    }
    let user = store::user_by_id(&mut tx, id)
        .await?
        .ok_or(Error::not_found("user"))?;
    tx.commit().await?;
    Ok(Json(view(&user)))
}

/// Suspend a user: they can no longer sign in or refresh, and their sessions end.
#[utoipa::path(post, path = "/api/v1/identity/admin/users/{id}/suspend", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn admin_suspend(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Status(UserStatus::Suspended)).await
}

/// Reactivate a suspended user.
#[utoipa::path(post, path = "/api/v1/identity/admin/users/{id}/reactivate", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn admin_reactivate(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Status(UserStatus::Active)).await
}

/// Grant the admin role.
#[utoipa::path(put, path = "/api/v1/identity/admin/users/{id}/admin", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn admin_grant_admin(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Admin(true)).await
}

/// Revoke the admin role.
#[utoipa::path(delete, path = "/api/v1/identity/admin/users/{id}/admin", tag = TAG, security(("bearer" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn admin_revoke_admin(
    axum::extract::State(s): AppState,
    AdminUser(admin): AdminUser,
    Path(id): Path<UserId>,
) -> Result<Json<UserView>> {
    moderate(&s, &admin, id, Moderation::Admin(false)).await
}
