//! Vendors' HTTP API under `/api/v1/vendors`. Who may do what to a store is decided
//! from vendors' own membership table, never from possibly stale token claims.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use kernel::auth::{AdminUser, AuthUser, Claims, MaybeUser, StoreRole};
use kernel::http::Path;
use kernel::http::pagination::{Page, PageParams, time_key};
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::ids::UserId;
use kernel::validation::{FieldErrors, bounded_prose, bounded_text};
use kernel::values::{EmailAddress, parse_country};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::domain::{self, InvitationId, StoreAction, StoreId, StoreStatus};
use crate::store::{self, StoreRow};
use contracts::vendors::dto::*;
use contracts::vendors::events::{
    MemberAdded, MemberRemoved, StaffInvited, StoreApplied, StoreApproved, StoreReinstated,
    StoreRejected, StoreSuspended, StoreUpdated,
};

const TAG: &str = "vendors";

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(apply, list_stores))
        .routes(routes!(get_store, update_store))
        .routes(routes!(my_stores))
        .routes(routes!(list_members))
        .routes(routes!(remove_member))
        .routes(routes!(invite))
        .routes(routes!(accept_invitation))
        .routes(routes!(admin_list_stores))
        .routes(routes!(admin_approve))
        .routes(routes!(admin_reject))
        .routes(routes!(admin_suspend))
        .routes(routes!(admin_reinstate))
        .routes(routes!(admin_set_commission))
        .routes(routes!(
            admin_default_commission,
            admin_set_default_commission
        ))
        .routes(routes!(service_commission))
        .with_state(pool)
}

/// A store's effective commission, for orders to record at checkout (services only).
#[utoipa::path(get, path = "/internal/vendors/stores/{store}/commission", security(("service" = [])), tag = "internal",
    params(("store" = String, Path)),
    responses((status = 200, body = CommissionView), (status = 404, body = Problem)))]
async fn service_commission(
    axum::extract::State(pool): State,
    _caller: kernel::auth::ServiceCaller,
    Path(id): Path<StoreId>,
) -> Result<Json<CommissionView>> {
    let mut conn = pool.acquire().await?;
    let s = store::store_by_id(&mut conn, id)
        .await?
        .ok_or(Error::not_found("store"))?;
    let commission_bps = match s.commission_bps {
        Some(bps) => bps,
        None => store::default_commission(&mut conn).await?,
    };
    Ok(Json(CommissionView { commission_bps }))
}

// --- helpers ---

/// What the caller is to a store: decides what they see and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Staff,
    Owner,
    Admin,
}

impl Access {
    fn is_member_or_admin(self) -> bool {
        self != Self::Public
    }

    fn is_owner_or_admin(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    fn role(self) -> Option<StoreRole> {
        match self {
            Self::Staff => Some(StoreRole::Staff),
            Self::Owner => Some(StoreRole::Owner),
            _ => None,
        }
    }
}

async fn access(
    conn: &mut PgConnection,
    store: &StoreRow,
    claims: Option<&Claims>,
) -> Result<Access> {
    let Some(claims) = claims else {
        return Ok(Access::Public);
    };
    let role = store::member_role(conn, store.id, claims.sub.0).await?;
    Ok(match (role, claims.is_admin()) {
        (_, true) => Access::Admin,
        (Some(StoreRole::Owner), _) => Access::Owner,
        (Some(StoreRole::Staff), _) => Access::Staff,
        (None, false) => Access::Public,
    })
}

/// A store as `access` may see it. `default_bps` is the platform commission, which only
/// members and admins see (for stores without their own rate).
fn view_with(s: StoreRow, access: Access, default_bps: i32) -> StoreView {
    let private = access.is_member_or_admin();
    let commission = private.then(|| s.commission_bps.unwrap_or(default_bps));
    let payout = private.then(|| PayoutView {
        holder_name: s.payout_holder.clone(),
        iban: if access.is_owner_or_admin() {
            s.payout_iban.clone()
        } else {
            domain::mask_iban(&s.payout_iban)
        },
    });
    StoreView {
        id: s.id,
        slug: s.slug,
        name: s.name,
        description: s.description,
        logo_url: s.logo_url,
        support_email: s.support_email,
        country: s.country,
        created_at: s.created_at,
        status: private.then(|| s.status.to_string()),
        status_reason: if private { s.status_reason } else { None },
        commission_bps: commission,
        payout,
        my_role: access.role(),
    }
}

async fn view(conn: &mut PgConnection, s: StoreRow, access: Access) -> Result<StoreView> {
    let default_bps = if access.is_member_or_admin() && s.commission_bps.is_none() {
        store::default_commission(conn).await?
    } else {
        0
    };
    Ok(view_with(s, access, default_bps))
}

/// One page of stores as `access` sees them; the platform default is read once.
async fn store_page(
    pool: &PgPool,
    status: StoreStatus,
    page: &PageParams,
    access: Access,
) -> Result<StorePage> {
    let limit = page.limit()?;
    let rows = store::stores_by_status(pool, status, page.after_time()?, limit).await?;
    let page = Page::from_rows(rows, limit, |s| time_key(s.created_at, s.id.0));
    let default_bps = if access.is_member_or_admin() {
        store::default_commission(&mut *pool.acquire().await?).await?
    } else {
        0
    };
    Ok(StorePage {
        items: page
            .items
            .into_iter()
            .map(|row| view_with(row, access, default_bps))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// A store by id (`sto_…`) or slug. Stores that are not public are found only by their
/// members and admins; to everyone else they do not exist.
async fn find_store(
    conn: &mut PgConnection,
    key: &str,
    claims: Option<&Claims>,
) -> Result<(StoreRow, Access)> {
    let row = match key.parse::<StoreId>() {
        Ok(id) => store::store_by_id(conn, id).await?,
        Err(_) => store::store_by_slug(conn, &key.to_ascii_lowercase()).await?,
    };
    let row = row.ok_or(Error::not_found("store"))?;
    let access = access(conn, &row, claims).await?;
    if !row.status.is_public() && !access.is_member_or_admin() {
        return Err(Error::not_found("store"));
    }
    Ok((row, access))
}

fn parse_logo_url(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let ok = (v.starts_with("https://") || v.starts_with("http://") || v.starts_with("/media/"))
        && v.chars().count() <= 500
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
    if ok {
        Ok(Some(v.to_owned()))
    } else {
        Err("must be an http(s) URL or a /media/ path of at most 500 characters")
    }
}

struct ValidPayout {
    holder: String,
    iban: String,
}

fn parse_payout(errs: &mut FieldErrors, p: &PayoutRequest) -> Option<ValidPayout> {
    let holder = errs.check(
        "payout.holder_name",
        "invalid",
        bounded_text(&p.holder_name, 1, 100),
    );
    let iban = errs.check("payout.iban", "invalid_iban", domain::parse_iban(&p.iban));
    Some(ValidPayout {
        holder: holder?,
        iban: iban?,
    })
}

// --- applying and browsing ---

/// Apply to open a store (signed in, with a verified email). An admin reviews it.
#[utoipa::path(post, path = "/api/v1/vendors/stores", tag = TAG, security(("bearer" = [])),
    request_body = ApplyRequest,
    responses((status = 201, body = StoreView), (status = 403, body = Problem, description = "email_not_verified"),
              (status = 409, body = Problem, description = "application_pending"),
              (status = 422, body = Problem, description = "validation_failed / slug_taken")))]
async fn apply(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Json(req): Json<ApplyRequest>,
) -> Result<impl IntoResponse> {
    if !claims.email_verified {
        return Err(Error::EmailNotVerified);
    }
    let applicant = claims.sub.0;
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
async fn list_stores(
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
async fn get_store(
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
async fn update_store(
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
async fn my_stores(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
) -> Result<Json<MyStores>> {
    let user = claims.sub.0;
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

// --- staff ---

/// The store's owners and staff (members and admins).
#[utoipa::path(get, path = "/api/v1/vendors/stores/{store}/members", tag = TAG, security(("bearer" = [])),
    params(("store" = String, Path, description = "Store id (`sto_…`) or slug")), responses((status = 200, body = MemberList), (status = 404, body = Problem)))]
async fn list_members(
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
            user_id: UserId(m.user_id),
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
async fn remove_member(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path((key, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    let target =
        kernel::ids::parse_prefixed(&user, "usr").map_err(|_| Error::not_found("member"))?;
    let mut tx = pool.begin().await?;
    let (found, _) = find_store(&mut tx, &key, Some(&claims)).await?;
    let row = store::store_for_update(&mut tx, found.id)
        .await?
        .ok_or(Error::not_found("store"))?;
    // Rights are read under the lock: an owner removed a moment ago has none left.
    let access = access(&mut tx, &row, Some(&claims)).await?;
    let is_self = claims.sub.0 == target;
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
            user_id: UserId(target),
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
async fn invite(
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
async fn accept_invitation(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Json(req): Json<AcceptInvitationRequest>,
) -> Result<Json<StoreView>> {
    let user = claims.sub.0;
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

// --- admin ---

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
async fn admin_list_stores(
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

fn action_name(action: StoreAction) -> &'static str {
    match action {
        StoreAction::Approve => "approved",
        StoreAction::Reject => "rejected",
        StoreAction::Suspend => "suspended",
        StoreAction::Reinstate => "reinstated",
    }
}

/// Moves a store through its status machine and records what happened.
async fn transition(
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
                    user_id: UserId(row.applicant_user_id),
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
                    owner_user_id: UserId(row.applicant_user_id),
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
async fn admin_approve(
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
async fn admin_reject(
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
async fn admin_suspend(
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
async fn admin_reinstate(
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
async fn admin_set_commission(
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
async fn admin_default_commission(
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
async fn admin_set_default_commission(
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
