//! Shipping's HTTP API under `/api/v1/shipping`: a store's methods for its people, and
//! quotes for anyone checking out.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use kernel::auth::AuthUser;
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem};
use kernel::money::Money;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contracts::shipping::dto::*;

use crate::Error;
use crate::domain::{self, Band, MethodId, Rate};
use crate::store::{self, MethodRow};
use kernel::ids::StoreId;

const TAG: &str = "shipping";
const MAX_QUOTE_STORES: usize = 50;

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(create_method, list_methods))
        .routes(routes!(delete_method))
        .routes(routes!(quote))
        .with_state(pool)
}

fn view(r: MethodRow) -> MethodView {
    MethodView {
        id: r.id,
        store_id: r.store_id,
        name: r.name,
        kind: r.kind,
        countries: r.countries,
        currency: r.currency,
        price_minor: r.price_minor,
        free_over_minor: r.free_over_minor,
        bands: serde_json::from_value(r.bands).unwrap_or_default(),
    }
}

/// The method a stored row describes.
fn method_of(r: &MethodRow) -> Option<domain::Method> {
    let bands: Vec<Band> = serde_json::from_value(r.bands.clone()).ok()?;
    domain::parse_method(&domain::RawMethod {
        kind: &r.kind,
        currency: &r.currency,
        price_minor: Some(r.price_minor),
        free_over_minor: r.free_over_minor,
        bands: &bands,
        countries: &r.countries,
    })
    .ok()
}

/// Add a shipping method to a store (its members; admins).
#[utoipa::path(post, path = "/api/v1/shipping/stores/{store}/methods", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), request_body = MethodRequest,
    responses((status = 201, body = MethodView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_method(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Json(req): Json<MethodRequest>,
) -> Result<impl IntoResponse> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    let mut errors = Vec::new();
    let name = kernel::validation::bounded_text(&req.name, 2, 80)
        .map_err(|m| errors.push(FieldError::new("name", "invalid", m)))
        .ok();
    let method = domain::parse_method(&domain::RawMethod {
        kind: &req.kind,
        currency: &req.currency,
        price_minor: req.price_minor,
        free_over_minor: req.free_over_minor,
        bands: &req.bands,
        countries: &req.countries,
    })
    .map_err(|e| errors.extend(e))
    .ok();
    let (Some(name), Some(method)) = (name, method) else {
        return Err(Problem::validation(errors).into());
    };
    let (price, free_over) = match &method.rate {
        Rate::Flat { price } => (*price, None),
        Rate::FreeOver { price, threshold } => (*price, Some(*threshold)),
        Rate::WeightBands(_) => (0, None),
    };
    let bands = match &method.rate {
        Rate::WeightBands(b) => serde_json::to_value(b).map_err(anyhow::Error::from)?,
        _ => serde_json::Value::Array(Vec::new()),
    };
    let row = store::insert(
        &mut *pool.acquire().await?,
        &store::NewMethod {
            id: MethodId::new(),
            store_id,
            name: &name,
            kind: &req.kind,
            countries: &method.countries,
            currency: method.currency.code(),
            price_minor: price,
            free_over_minor: free_over,
            bands,
            position: req.position,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(row))))
}

/// A store's shipping methods (public: customers see what a store offers).
#[utoipa::path(get, path = "/api/v1/shipping/stores/{store}/methods", security(()), tag = TAG,
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")),
    responses((status = 200, body = MethodList)))]
async fn list_methods(
    axum::extract::State(pool): State,
    Path(store_id): Path<StoreId>,
) -> Result<Json<MethodList>> {
    let rows = store::of_stores(&mut *pool.acquire().await?, &[store_id]).await?;
    Ok(Json(MethodList {
        items: rows.into_iter().map(view).collect(),
    }))
}

/// Remove a shipping method (its store's members; admins).
#[utoipa::path(delete, path = "/api/v1/shipping/methods/{method}", tag = TAG, security(("bearer" = [])),
    params(("method" = String, Path, pattern = "^shp_[0-9a-fA-F]{32}$", description = "Method id (`shp_…`)")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_method(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<MethodId>,
) -> Result<StatusCode> {
    let mut conn = pool.acquire().await?;
    let row = store::get(&mut conn, id)
        .await?
        .filter(|r| claims.manages_store(r.store_id))
        .ok_or(Error::not_found("method"))?;
    store::delete(&mut conn, row.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What each store's methods charge for its parcel to a country, cheapest first.
#[utoipa::path(post, path = "/api/v1/shipping/quote", security(()), tag = TAG, request_body = QuoteRequest,
    responses((status = 200, body = QuoteView), (status = 422, body = Problem)))]
async fn quote(
    axum::extract::State(pool): State,
    Json(req): Json<QuoteRequest>,
) -> Result<Json<QuoteView>> {
    let mut errors = Vec::new();
    let country = kernel::values::parse_country(&req.country)
        .map_err(|m| errors.push(FieldError::new("country", "invalid", m)))
        .ok();
    if req.parcels.is_empty() || req.parcels.len() > MAX_QUOTE_STORES {
        errors.push(FieldError::new("parcels", "invalid", "1 to 50 parcels"));
    }
    let mut stores = Vec::new();
    for (i, p) in req.parcels.iter().enumerate() {
        stores.push(p.store_id);
        if !(0..=1_000_000_000).contains(&p.weight_grams) {
            errors.push(FieldError::new(
                format!("parcels[{i}].weight_grams"),
                "invalid",
                "must be 0 or more grams",
            ));
        }
    }
    let Some(country) = country.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors).into());
    };
    let rows = store::of_stores(&mut *pool.acquire().await?, &stores).await?;
    let parcels = req
        .parcels
        .iter()
        .zip(&stores)
        .map(|(parcel, store_id)| {
            let mut options: Vec<ShippingOption> = rows
                .iter()
                .filter(|r| {
                    r.store_id == *store_id && r.currency == parcel.subtotal.currency.code()
                })
                .filter_map(|r| {
                    let m = method_of(r)?;
                    let price =
                        m.quote(&country, parcel.subtotal.amount_minor, parcel.weight_grams)?;
                    Some(ShippingOption {
                        method_id: r.id,
                        name: r.name.clone(),
                        price: Money {
                            amount_minor: price,
                            currency: m.currency,
                        },
                    })
                })
                .collect();
            options.sort_by_key(|o| o.price.amount_minor);
            ParcelQuote {
                store_id: parcel.store_id,
                options,
            }
        })
        .collect();
    Ok(Json(QuoteView { parcels }))
}
