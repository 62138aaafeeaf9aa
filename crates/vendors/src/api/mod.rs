//! Vendors' HTTP API under `/api/v1/vendors`. Who may do what to a store is decided
//! from vendors' own membership table, never from possibly stale token claims.

mod admin;
mod staff;
mod stores;

pub use admin::*;
pub use staff::*;
pub use stores::*;

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
        .routes(routes!(service_store_states))
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreStateParams {
    /// The last store id of the previous page.
    pub after: Option<StoreId>,
    /// Stores per page, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
}

/// Every store's suspension as of its version, by id: what a new search replica starts
/// from (services only).
#[utoipa::path(get, path = "/internal/vendors/store-states", security(("service" = [])), tag = "internal",
    params(StoreStateParams),
    responses((status = 200, body = StoreStatePage), (status = 422, body = Problem)))]
async fn service_store_states(
    axum::extract::State(pool): State,
    Query(params): Query<StoreStateParams>,
) -> Result<Json<StoreStatePage>> {
    let limit = kernel::http::pagination::export_limit(params.limit)?;
    let mut conn = pool.acquire().await?;
    let rows = store::store_states(&mut conn, params.after, i64::from(limit) + 1).await?;
    let (rows, next_after) = kernel::http::pagination::keyset_page(rows, limit, |r| r.0);
    Ok(Json(StoreStatePage {
        items: rows
            .into_iter()
            .map(|(store_id, suspended, version)| StoreState {
                store_id,
                suspended,
                version,
            })
            .collect(),
        next_after,
    }))
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
    let role = store::member_role(conn, store.id, claims.sub).await?;
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
