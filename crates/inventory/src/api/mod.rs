//! Inventory's HTTP API under `/api/v1/inventory`: locations and stock for a store's
//! people, availability for everyone, reservations for checkouts.

use std::collections::HashMap;

mod export;

use axum::Extension;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use contracts::catalog::CatalogClient;
use contracts::catalog::VariantId;
use kernel::auth::{AuthUser, Claims, ServiceCaller};
use kernel::http::Path;
use kernel::http::client::ClientError;
use kernel::http::pagination::{Page, PageParams};
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::validation::FieldErrors;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use contracts::inventory::dto::*;

use crate::domain::{self, LocationId, ReservationAction, ReservationId};
use crate::store::{self, VariantRow};
use kernel::ids::{StoreId, UserId};

const TAG: &str = "inventory";

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool, catalog: CatalogClient) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(create_location, list_locations))
        .routes(routes!(variant_stock))
        .routes(routes!(adjust_stock))
        .routes(routes!(set_threshold))
        .routes(routes!(movements))
        .routes(routes!(availability))
        .routes(routes!(service_reserve))
        .routes(routes!(service_reservation_action))
        .routes(routes!(export::availability_export))
        .routes(routes!(export::reservation_by_reference))
        .layer(Extension(catalog))
        .with_state(pool)
}

/// Add a stock location to a store (its members; admins).
#[utoipa::path(post, path = "/api/v1/inventory/stores/{store}/locations", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)")), request_body = LocationRequest,
    responses((status = 409, body = Problem, description = "`location_taken`: the store has a location with this name"), (status = 201, body = LocationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_location(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Json(req): Json<LocationRequest>,
) -> Result<impl IntoResponse> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    let name = kernel::validation::bounded_text(&req.name, 2, 80)
        .map_err(|m| Problem::validation(vec![FieldError::new("name", "invalid", m)]))?;
    let mut conn = pool.acquire().await?;
    let row = store::create_location(&mut conn, LocationId::new(), store_id, &name)
        .await
        .map_err(|e| {
            if kernel::db::is_unique_violation(&e, "locations_store_name_key") {
                Error::LocationTaken
            } else {
                e.into()
            }
        })?;
    Ok((
        StatusCode::CREATED,
        Json(LocationView {
            id: row.id,
            name: row.name,
        }),
    ))
}

/// A store's stock locations (its members; admins).
#[utoipa::path(get, path = "/api/v1/inventory/stores/{store}/locations", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)")),
    responses((status = 200, body = LocationList), (status = 403, body = Problem)))]
async fn list_locations(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
) -> Result<Json<LocationList>> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    let rows = store::locations(&mut *pool.acquire().await?, store_id).await?;
    Ok(Json(LocationList {
        items: rows
            .into_iter()
            .map(|r| LocationView {
                id: r.id,
                name: r.name,
            })
            .collect(),
    }))
}

/// The variant as inventory knows it, learning its product and store from catalog the
/// first time; then checks `claims` may manage it.
async fn managed_variant(
    conn: &mut PgConnection,
    catalog: &CatalogClient,
    claims: &Claims,
    key: &str,
) -> Result<VariantRow> {
    let id: VariantId = key.parse().map_err(|_| Error::not_found("variant"))?;
    let row = match store::variant(conn, id).await? {
        Some(row) => row,
        None => {
            let owner = match catalog.variant_owner(id).await {
                Ok(o) => o,
                Err(ClientError::Problem(p)) if p.status == 404 => {
                    return Err(Error::not_found("variant"));
                }
                Err(e) => return Err(Problem::from(e).into()),
            };
            store::remember_variant(conn, id, owner.product_id, owner.store_id).await?;
            store::variant(conn, id)
                .await?
                .ok_or(Error::not_found("variant"))?
        }
    };
    if claims.manages_store(row.store_id) {
        Ok(row)
    } else {
        // Another store's variant is none of this caller's business, not even its
        // existence.
        Err(Error::not_found("variant"))
    }
}

async fn stock_view(conn: &mut PgConnection, v: &VariantRow) -> Result<StockView> {
    let levels = store::levels(conn, v.variant_id).await?;
    let locations: Vec<LevelView> = levels
        .into_iter()
        .map(|l| LevelView {
            location_id: l.location_id,
            location_name: l.location_name,
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.on_hand - l.reserved,
        })
        .collect();
    Ok(StockView {
        variant_id: v.variant_id,
        available: locations.iter().map(|l| i64::from(l.available)).sum(),
        locations,
        low_stock_threshold: v.low_stock_threshold,
    })
}

/// A variant's stock at each location (its store's members; admins).
#[utoipa::path(get, path = "/api/v1/inventory/variants/{variant}", tag = TAG, security(("bearer" = [])),
    params(("variant" = String, Path, description = "Variant id (`var_…`)")),
    responses((status = 200, body = StockView), (status = 404, body = Problem)))]
async fn variant_stock(
    axum::extract::State(pool): State,
    Extension(catalog): Extension<CatalogClient>,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
) -> Result<Json<StockView>> {
    let mut conn = pool.acquire().await?;
    let v = managed_variant(&mut conn, &catalog, &claims, &key).await?;
    Ok(Json(stock_view(&mut conn, &v).await?))
}

/// Adjust a variant's stock at one location, with a reason kept in the movement log.
/// Stock may not drop below what checkouts have reserved (409 `below_reserved`).
#[utoipa::path(post, path = "/api/v1/inventory/variants/{variant}/adjustments", tag = TAG, security(("bearer" = [])),
    params(("variant" = String, Path, description = "Variant id (`var_…`)")), request_body = AdjustmentRequest,
    responses((status = 200, body = StockView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn adjust_stock(
    axum::extract::State(pool): State,
    Extension(catalog): Extension<CatalogClient>,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
    Json(req): Json<AdjustmentRequest>,
) -> Result<Json<StockView>> {
    let mut errs = FieldErrors::new();
    let delta = errs.check("delta", "invalid", domain::parse_delta(req.delta));
    let reason = errs.check("reason", "invalid", domain::parse_reason(&req.reason));
    let (delta, reason) = errs.finish_with((delta, reason))?;
    let mut tx = pool.begin().await?;
    let v = managed_variant(&mut tx, &catalog, &claims, &key).await?;
    let location = store::location(&mut tx, req.location_id)
        .await?
        .filter(|l| l.store_id == v.store_id)
        .ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "location_id",
                "unknown_location",
                "is not one of this store's locations",
            )])
        })?;
    let before = store::available(&mut tx, &[v.variant_id]).await?;
    let before = HashMap::from([(
        v.variant_id,
        before.get(&v.variant_id).copied().unwrap_or(0),
    )]);
    store::adjust(&mut tx, &v, location.id, delta)
        .await?
        .ok_or(Error::BelowReserved)?;
    store::record_movement(
        &mut tx,
        &store::Movement {
            variant: v.variant_id,
            location: location.id,
            delta,
            reason: &reason,
            reference: None,
            actor: Some(claims.sub),
        },
    )
    .await?;
    crate::events::record_changes(&mut tx, &before).await?;
    let view = stock_view(&mut tx, &v).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Set the low-stock threshold of a variant (its store's members; admins).
#[utoipa::path(put, path = "/api/v1/inventory/variants/{variant}/threshold", tag = TAG, security(("bearer" = [])),
    params(("variant" = String, Path)), request_body = ThresholdRequest,
    responses((status = 200, body = StockView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_threshold(
    axum::extract::State(pool): State,
    Extension(catalog): Extension<CatalogClient>,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
    Json(req): Json<ThresholdRequest>,
) -> Result<Json<StockView>> {
    let threshold = req
        .low_stock_threshold
        .map(|t| {
            i32::try_from(t)
                .ok()
                .filter(|t| {
                    (0..=i32::try_from(domain::MAX_QUANTITY).unwrap_or(i32::MAX)).contains(t)
                })
                .ok_or_else(|| {
                    Problem::validation(vec![FieldError::new(
                        "low_stock_threshold",
                        "out_of_range",
                        "must be between 0 and 1000000",
                    )])
                })
        })
        .transpose()?;
    let mut conn = pool.acquire().await?;
    let v = managed_variant(&mut conn, &catalog, &claims, &key).await?;
    store::set_threshold(&mut conn, v.variant_id, threshold).await?;
    let v = store::variant(&mut conn, v.variant_id)
        .await?
        .ok_or(Error::not_found("variant"))?;
    Ok(Json(stock_view(&mut conn, &v).await?))
}

/// A variant's movement log, newest first (its store's members; admins).
#[utoipa::path(get, path = "/api/v1/inventory/variants/{variant}/movements", tag = TAG, security(("bearer" = [])),
    params(("variant" = String, Path), PageParams),
    responses((status = 200, body = MovementPage), (status = 404, body = Problem)))]
async fn movements(
    axum::extract::State(pool): State,
    Extension(catalog): Extension<CatalogClient>,
    AuthUser(claims): AuthUser,
    Path(key): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<MovementPage>> {
    let limit = page.limit()?;
    let before: Option<i64> = page.after()?;
    let mut conn = pool.acquire().await?;
    let v = managed_variant(&mut conn, &catalog, &claims, &key).await?;
    let rows = store::movements(&mut conn, v.variant_id, before, limit).await?;
    let page = Page::from_rows(rows, limit, |m| m.id);
    Ok(Json(MovementPage {
        items: page
            .items
            .into_iter()
            .map(|m| MovementView {
                location_id: m.location_id,
                delta: m.delta,
                reason: m.reason,
                reference: m.reference,
                at: m.created_at,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// Comma-separated variant ids (`var_…`), at most 100.
    #[param(pattern = "^var_[0-9a-fA-F]{32}(,var_[0-9a-fA-F]{32}){0,99}$")]
    pub variants: String,
}

/// How many units of each variant may be bought now (public: carts cap quantities).
#[utoipa::path(get, path = "/api/v1/inventory/availability", security(()), tag = TAG, params(AvailabilityParams),
    responses((status = 200, body = AvailabilityList), (status = 422, body = Problem)))]
async fn availability(
    axum::extract::State(pool): State,
    Query(params): Query<AvailabilityParams>,
) -> Result<Json<AvailabilityList>> {
    let ids = params
        .variants
        .split(',')
        .map(str::parse::<VariantId>)
        .collect::<std::result::Result<Vec<_>, _>>()
        .ok()
        .filter(|ids| !ids.is_empty() && ids.len() <= domain::MAX_LINES)
        .ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "variants",
                "invalid",
                "must be 1 to 100 comma-separated variant ids (var_…)",
            )])
        })?;
    let found = store::available(&mut *pool.acquire().await?, &ids).await?;
    Ok(Json(AvailabilityList {
        items: ids
            .into_iter()
            .map(|id| Availability {
                tracked: found.contains_key(&id),
                available: found.get(&id).copied().unwrap_or(0).max(0),
                variant_id: id,
            })
            .collect(),
    }))
}

pub(super) async fn reservation_view(
    conn: &mut PgConnection,
    r: store::ReservationRow,
) -> Result<ReservationView> {
    let lines = store::lines(conn, r.id).await?;
    Ok(ReservationView {
        id: r.id,
        reference: r.reference,
        status: r.status.to_string(),
        expires_at: r.expires_at,
        lines: lines
            .into_iter()
            .map(|(v, l, q)| ReservedLine {
                variant_id: v,
                location_id: l,
                quantity: q,
            })
            .collect(),
    })
}

/// Hold stock on a customer's behalf for a checkout (the checkout saga; services only):
/// all lines or none (409 `out_of_stock` names each short line). Held stock is released
/// automatically when the reservation expires.
#[utoipa::path(post, path = "/internal/inventory/reservations", security(("service" = [])), tag = "internal",
    request_body = ServiceReserveRequest,
    responses((status = 201, body = ReservationView), (status = 200, body = ReservationView),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn service_reserve(
    axum::extract::State(pool): State,
    _caller: ServiceCaller,
    Json(req): Json<ServiceReserveRequest>,
) -> Result<axum::response::Response> {
    reserve_for(&pool, req.owner, &req.reservation).await
}

async fn reserve_for(
    pool: &PgPool,
    owner: UserId,
    req: &ReserveRequest,
) -> Result<axum::response::Response> {
    let mut errs = FieldErrors::new();
    let reference = errs.check(
        "reference",
        "invalid",
        kernel::validation::bounded_text(&req.reference, 1, 200),
    );
    if req.lines.is_empty() || req.lines.len() > domain::MAX_LINES {
        errs.add(
            "lines",
            "invalid",
            format!("1 to {} lines", domain::MAX_LINES),
        );
    }
    // One entry per variant, quantities added up, in a fixed order so concurrent
    // reservations lock rows in the same order and never deadlock.
    // Each variant remembers its first line, so a shortage is reported where it was asked.
    let mut wanted: std::collections::BTreeMap<VariantId, (i64, usize)> =
        std::collections::BTreeMap::new();
    for (i, line) in req.lines.iter().enumerate() {
        if let Some(q) = errs.check(
            &format!("lines[{i}].quantity"),
            "invalid",
            domain::parse_quantity(line.quantity),
        ) {
            wanted.entry(line.variant_id).or_insert((0, i)).0 += i64::from(q);
        }
    }
    let ttl = std::time::Duration::from_secs(req.ttl_secs.unwrap_or(domain::DEFAULT_TTL.as_secs()));
    if ttl.is_zero() || ttl > domain::MAX_TTL {
        errs.add("ttl_secs", "out_of_range", "must be 1 to 7200 seconds");
    }
    let (reference,) = errs.finish_with((reference,))?;
    let mut tx = pool.begin().await?;
    let id = ReservationId::new();
    let expires_at = OffsetDateTime::now_utc() + ttl;
    if !store::insert_reservation(&mut tx, id, &reference, owner, expires_at).await? {
        // A retry: the first answer, for its owner only.
        let existing = store::reservation_by_reference(&mut tx, &reference)
            .await?
            .filter(|r| r.owner == owner)
            .ok_or(Error::not_found("reservation"))?;
        let view = reservation_view(&mut tx, existing).await?;
        return Ok((StatusCode::OK, Json(view)).into_response());
    }
    let variants: Vec<VariantId> = wanted.keys().copied().collect();
    let before = store::available(&mut tx, &variants).await?;
    let mut short = Vec::new();
    for (variant, (quantity, index)) in &wanted {
        let offers = store::lock_offers(&mut tx, *variant).await?;
        match domain::allocate(offers, *quantity) {
            Some(plan) => {
                for (location, take) in plan {
                    store::shift(&mut tx, *variant, location, 0, take).await?;
                    store::insert_line(&mut tx, id, *variant, location, take).await?;
                }
            }
            None => short.push(FieldError::new(
                format!("lines[{index}]"),
                "out_of_stock",
                format!(
                    "{} has {} available, {quantity} wanted",
                    *variant,
                    before.get(variant).copied().unwrap_or(0).max(0)
                ),
            )),
        }
    }
    if !short.is_empty() {
        // Nothing was held: the transaction rolls back every line.
        return Err(Error::OutOfStock(short));
    }
    let before: HashMap<VariantId, i64> = variants
        .iter()
        .map(|v| (*v, before.get(v).copied().unwrap_or(0)))
        .collect();
    crate::events::record_changes(&mut tx, &before).await?;
    let row = store::lock_reservation(&mut tx, id)
        .await?
        .ok_or(Error::not_found("reservation"))?;
    let view = reservation_view(&mut tx, row).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Moves a reservation through its state machine and its stock with it: commit takes
/// the units off the shelf (a `sale` movement), release and expiry give them back to
/// sale, return puts committed units back on the shelf (a `return` movement).
pub async fn apply(
    conn: &mut PgConnection,
    id: ReservationId,
    action: ReservationAction,
    actor: Option<UserId>,
) -> Result<store::ReservationRow> {
    let row = store::lock_reservation(conn, id)
        .await?
        .ok_or(Error::not_found("reservation"))?;
    let from = row.status;
    let next = from.apply(action).ok_or(Error::IllegalTransition {
        from: from.as_str(),
    })?;
    let lines = store::lines(conn, id).await?;
    let variants: Vec<VariantId> = lines.iter().map(|(v, ..)| *v).collect();
    let before = store::available(conn, &variants).await?;
    for (variant, location, quantity) in &lines {
        let q = *quantity;
        let (on_hand, reserved, movement) = match action {
            ReservationAction::Commit => (-q, -q, Some(("sale", -q))),
            ReservationAction::Release | ReservationAction::Expire => (0, -q, None),
            ReservationAction::Return => (q, 0, Some(("return", q))),
        };
        store::shift(conn, *variant, *location, on_hand, reserved).await?;
        if let Some((reason, delta)) = movement {
            store::record_movement(
                conn,
                &store::Movement {
                    variant: *variant,
                    location: *location,
                    delta,
                    reason,
                    reference: Some(&row.reference),
                    actor,
                },
            )
            .await?;
        }
    }
    store::set_reservation_status(conn, id, next.as_str()).await?;
    let before: HashMap<VariantId, i64> = variants
        .iter()
        .map(|v| (*v, before.get(v).copied().unwrap_or(0)))
        .collect();
    crate::events::record_changes(conn, &before).await?;
    store::lock_reservation(conn, id)
        .await?
        .ok_or(Error::not_found("reservation"))
}

/// `commit` (paid), `release` (checkout failed or abandoned) or `return` (a paid order
/// cancelled), for the checkout saga and order changes (services only): the recovery
/// worker and vendors act on a customer's reservation without their token.
#[utoipa::path(post, path = "/internal/inventory/reservations/{reservation}/{action}", security(("service" = [])), tag = "internal",
    params(("reservation" = String, Path), ("action" = String, Path, description = "commit, release or return")),
    responses((status = 200, body = ReservationView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn service_reservation_action(
    axum::extract::State(pool): State,
    _caller: ServiceCaller,
    Path((key, action)): Path<(String, String)>,
) -> Result<Json<ReservationView>> {
    let id: ReservationId = key.parse().map_err(|_| Error::not_found("reservation"))?;
    let action = parse_action(&action)?;
    let mut tx = pool.begin().await?;
    let current = store::lock_reservation(&mut tx, id)
        .await?
        .ok_or(Error::not_found("reservation"))?;
    // Saga steps are retried: asking for where the reservation already is answers
    // with it instead of a conflict.
    let already = matches!(
        (action, current.status.as_str()),
        (ReservationAction::Commit, "committed")
            | (ReservationAction::Release, "released" | "expired")
            | (ReservationAction::Return, "returned")
    );
    if already {
        let view = reservation_view(&mut tx, current).await?;
        return Ok(Json(view));
    }
    let row = apply(&mut tx, id, action, None).await?;
    let view = reservation_view(&mut tx, row).await?;
    tx.commit().await?;
    Ok(Json(view))
}

fn parse_action(action: &str) -> Result<ReservationAction> {
    match action {
        "commit" => Ok(ReservationAction::Commit),
        "release" => Ok(ReservationAction::Release),
        "return" => Ok(ReservationAction::Return),
        _ => Err(Error::not_found("action")),
    }
}
