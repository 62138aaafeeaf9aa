//! Tax's HTTP API under `/api/v1/tax`: rates and the inclusive-prices setting for
//! admins, and quotes for checkouts.

use axum::http::StatusCode;
use kernel::auth::AdminUser;
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::money::Money;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contracts::tax::dto::*;

use crate::domain;
use crate::{Error, store};
use contracts::tax::schema::CountryPath;

const TAG: &str = "tax";
const MAX_LINES: usize = 500;

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(list_rates))
        .routes(routes!(set_rate, delete_rate))
        .routes(routes!(settings, set_settings))
        .routes(routes!(quote))
        .with_state(pool)
}

fn country(raw: &str) -> Result<String> {
    kernel::values::parse_country(raw)
        .map_err(|m| Problem::validation(vec![FieldError::new("country", "invalid", m)]).into())
}

fn region(raw: Option<&str>) -> Result<String> {
    let r = raw.unwrap_or_default().trim().to_ascii_uppercase();
    let ok = r.len() <= 10 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(r)
    } else {
        Err(Problem::validation(vec![FieldError::new(
            "region",
            "invalid",
            "is a short region code such as CA or 75",
        )])
        .into())
    }
}

/// Every tax rate (public: prices are shown with or without it).
#[utoipa::path(get, path = "/api/v1/tax/rates", security(()), tag = TAG, responses((status = 200, body = RateList)))]
async fn list_rates(axum::extract::State(pool): State) -> Result<Json<RateList>> {
    let rows = store::rates(&mut *pool.acquire().await?).await?;
    Ok(Json(RateList {
        items: rows
            .into_iter()
            .map(|r| RateView {
                rate: domain::display_rate(r.rate_ppm),
                country: r.country,
                region: r.region,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionParams {
    /// At most 10 letters, digits or `-`; absent or blank: the whole country.
    #[param(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9-]{0,10}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub region: Option<String>,
}

/// Set a country's (or region's) tax rate (admins).
#[utoipa::path(put, path = "/api/v1/tax/rates/{country}", tag = TAG, security(("bearer" = ["admin"])),
    params(CountryPath), request_body = RateRequest,
    responses((status = 200, body = RateView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_rate(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(raw_country): Path<String>,
    Json(req): Json<RateRequest>,
) -> Result<Json<RateView>> {
    let country = country(&raw_country)?;
    let region = region(req.region.as_deref())?;
    let ppm = domain::parse_rate(&req.rate)
        .map_err(|m| Problem::validation(vec![FieldError::new("rate", "invalid", m)]))?;
    store::set_rate(&mut *pool.acquire().await?, &country, &region, ppm).await?;
    Ok(Json(RateView {
        country,
        region,
        rate: domain::display_rate(ppm),
    }))
}

/// Remove a country's (or region's) rate (admins).
#[utoipa::path(delete, path = "/api/v1/tax/rates/{country}", tag = TAG, security(("bearer" = ["admin"])),
    params(CountryPath, RegionParams),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_rate(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(raw_country): Path<String>,
    Query(params): Query<RegionParams>,
) -> Result<StatusCode> {
    let country = country(&raw_country)?;
    let region = region(params.region.as_deref())?;
    if store::delete_rate(&mut *pool.acquire().await?, &country, &region).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("rate"))
    }
}

/// The platform's tax settings (public).
#[utoipa::path(get, path = "/api/v1/tax/settings", security(()), tag = TAG, responses((status = 200, body = TaxSettings)))]
async fn settings(axum::extract::State(pool): State) -> Result<Json<TaxSettings>> {
    Ok(Json(TaxSettings {
        prices_include_tax: store::prices_include_tax(&mut *pool.acquire().await?).await?,
    }))
}

/// Change the platform's tax settings (admins).
#[utoipa::path(put, path = "/api/v1/tax/settings", tag = TAG, security(("bearer" = ["admin"])),
    request_body = TaxSettings, responses((status = 200, body = TaxSettings), (status = 403, body = Problem)))]
async fn set_settings(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Json(req): Json<TaxSettings>,
) -> Result<Json<TaxSettings>> {
    store::set_prices_include_tax(&mut *pool.acquire().await?, req.prices_include_tax).await?;
    Ok(Json(req))
}

/// Tax for a checkout's lines to a destination: per line, rounded half away from zero
/// to the minor unit, summed (docs/architecture.md explains why).
#[utoipa::path(post, path = "/api/v1/tax/quote", security(()), tag = TAG, request_body = QuoteRequest,
    responses((status = 200, body = QuoteView), (status = 422, body = Problem)))]
async fn quote(
    axum::extract::State(pool): State,
    Json(req): Json<QuoteRequest>,
) -> Result<Json<QuoteView>> {
    let country = country(&req.country)?;
    let region = region(req.region.as_deref())?;
    let currency = req.lines.first().map(|m| m.currency);
    let bad_lines = req.lines.is_empty()
        || req.lines.len() > MAX_LINES
        || req.lines.iter().any(|m| {
            Some(m.currency) != currency
                || !(0..=kernel::money::MAX_PRICE_MINOR).contains(&m.amount_minor)
        });
    if bad_lines {
        return Err(Problem::validation(vec![FieldError::new(
            "lines",
            "invalid",
            "1 to 500 prices, not negative, all in one currency",
        )])
        .into());
    }
    let mut conn = pool.acquire().await?;
    let ppm = store::rate_for(&mut conn, &country, &region)
        .await?
        .unwrap_or(0);
    let inclusive = store::prices_include_tax(&mut conn).await?;
    let lines: Vec<TaxedLine> = req
        .lines
        .iter()
        .map(|m| {
            let tax = domain::line_tax(m.amount_minor, ppm, inclusive);
            let (net, gross) = if inclusive {
                (m.amount_minor - tax, m.amount_minor)
            } else {
                (m.amount_minor, m.amount_minor + tax)
            };
            let money = |amount_minor| Money {
                amount_minor,
                currency: m.currency,
            };
            TaxedLine {
                net: money(net),
                tax: money(tax),
                gross: money(gross),
            }
        })
        .collect();
    let total_tax = currency.map(|currency| Money {
        amount_minor: lines.iter().map(|l| l.tax.amount_minor).sum(),
        currency,
    });
    Ok(Json(QuoteView {
        rate: domain::display_rate(ppm),
        prices_include_tax: inclusive,
        lines,
        total_tax,
    }))
}
