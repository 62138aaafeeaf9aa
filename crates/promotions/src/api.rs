//! Promotions' HTTP API under `/api/v1/promotions`: codes by admins (platform-funded)
//! and by vendors (their store's products, vendor-funded); evaluation and redemption
//! for checkouts.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::auth::{AdminUser, AuthUser, ServiceCaller};
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem};
use kernel::money::{Currency, Money};
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use contracts::promotions::dto::*;

use crate::Error;
use crate::domain::{self, Benefit, PromotionId};
use crate::store::{self, PromotionRow, RedemptionRow};
use kernel::ids::{StoreId, UserId};

const TAG: &str = "promotions";
const MAX_LINES: usize = 200;

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(create_platform, list_platform))
        .routes(routes!(create_store, list_store))
        .routes(routes!(evaluate))
        .routes(routes!(service_redeem))
        .routes(routes!(service_release))
        .with_state(pool)
}

fn view(r: PromotionRow) -> PromotionView {
    PromotionView {
        id: r.id,
        code: r.code,
        store_id: r.store_id,
        kind: r.kind,
        uses: r.uses,
        usage_limit: r.usage_limit,
    }
}

fn row_of(
    req: &PromotionRequest,
    store: Option<StoreId>,
) -> std::result::Result<PromotionRow, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, message: &str| errors.push(FieldError::new(field, "invalid", message));
    let code = req.code.trim().to_ascii_uppercase();
    if !(3..=32).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bad("code", "3 to 32 letters, digits, '-' or '_'");
    }
    // Percent and amount are checked whenever they are given, then which kind needs
    // which; only the kind's own is kept.
    let percent_bps = req.percent.as_deref().map(|p| {
        kernel::money::parse_fixed_point(p, 2)
            .ok()
            .filter(|bps| (1..=10_000).contains(bps))
            .and_then(|bps| i32::try_from(bps).ok())
    });
    if percent_bps == Some(None) {
        bad("percent", "must be a percent between 0.01 and 100");
    }
    let amount = req.amount.map(|m| {
        Some(m).filter(|m| (1..=kernel::money::MAX_PRICE_MINOR).contains(&m.amount_minor))
    });
    if amount == Some(None) {
        bad("amount", "must be a positive amount");
    }
    let (percent_bps, amount) = match req.kind.as_str() {
        "percentage" => {
            if percent_bps.is_none() {
                bad(
                    "percent",
                    "a percentage code needs a percent between 0.01 and 100",
                );
            }
            (percent_bps.flatten(), None)
        }
        "fixed" => {
            if amount.is_none() {
                bad("amount", "a fixed code needs a positive amount");
            }
            (None, amount.flatten())
        }
        "free_shipping" => (None, None),
        _ => {
            bad("kind", "must be percentage, fixed or free_shipping");
            (None, None)
        }
    };
    if !(0..=kernel::money::MAX_PRICE_MINOR).contains(&req.min_subtotal_minor) {
        bad("min_subtotal_minor", "must be a price in minor units");
    }
    if let (Some(s), Some(e)) = (req.starts_at, req.ends_at)
        && e <= s
    {
        bad("ends_at", "must be after starts_at");
    }
    if req.usage_limit.is_some_and(|l| l < 1) {
        bad("usage_limit", "must be at least 1");
    }
    if req.per_customer_limit.is_some_and(|l| l < 1) {
        bad("per_customer_limit", "must be at least 1");
    }
    if req.categories.len() > 100 || req.products.len() > 1000 {
        bad("products", "too many categories or products");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(PromotionRow {
        id: PromotionId::new(),
        code,
        store_id: store,
        kind: req.kind.clone(),
        percent_bps,
        amount_minor: amount.map(|m| m.amount_minor),
        currency: amount.map(|m| m.currency.code().to_owned()),
        min_subtotal_minor: req.min_subtotal_minor,
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        category_ids: req.categories.clone(),
        product_ids: req.products.clone(),
        usage_limit: req.usage_limit,
        per_customer_limit: req.per_customer_limit,
        first_order_only: req.first_order_only,
        uses: 0,
    })
}

async fn create(pool: &PgPool, req: &PromotionRequest, store: Option<StoreId>) -> Result<Response> {
    let row = row_of(req, store).map_err(Problem::validation)?;
    let saved = store::insert(&mut *pool.acquire().await?, &row)
        .await
        .map_err(|e| {
            if kernel::db::is_unique_violation(&e, "promotions_code_key") {
                Problem::taken("code", "code_taken", "this code exists already").into()
            } else {
                Error::from(e)
            }
        })?;
    Ok((StatusCode::CREATED, Json(view(saved))).into_response())
}

/// Create a platform code, funded by the platform, valid in every store (admins).
#[utoipa::path(post, path = "/api/v1/promotions", tag = TAG, security(("bearer" = ["admin"])),
    request_body = PromotionRequest,
    responses((status = 409, body = Problem, description = "`code_taken`"), (status = 201, body = PromotionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_platform(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Json(req): Json<PromotionRequest>,
) -> Result<Response> {
    create(&pool, &req, None).await
}

/// The platform's codes (admins).
#[utoipa::path(get, path = "/api/v1/promotions", tag = TAG, security(("bearer" = ["admin"])),
    responses((status = 200, body = PromotionList), (status = 403, body = Problem)))]
async fn list_platform(
    axum::extract::State(pool): State,
    _admin: AdminUser,
) -> Result<Json<PromotionList>> {
    let rows = store::list(&mut *pool.acquire().await?, None).await?;
    Ok(Json(PromotionList {
        items: rows.into_iter().map(view).collect(),
    }))
}

/// A store's codes (its members; admins).
#[utoipa::path(get, path = "/api/v1/promotions/stores/{store}", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), responses((status = 200, body = PromotionList), (status = 403, body = Problem)))]
async fn list_store(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
) -> Result<Json<PromotionList>> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    let rows = store::list(&mut *pool.acquire().await?, Some(store_id)).await?;
    Ok(Json(PromotionList {
        items: rows.into_iter().map(view).collect(),
    }))
}

/// Create a store code, funded by the store, valid on its products only (its members).
#[utoipa::path(post, path = "/api/v1/promotions/stores/{store}", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")), request_body = PromotionRequest,
    responses((status = 409, body = Problem, description = "`code_taken`"), (status = 201, body = PromotionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_store(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Json(req): Json<PromotionRequest>,
) -> Result<Response> {
    if !claims.manages_store(store_id) {
        return Err(Error::forbidden());
    }
    create(&pool, &req, Some(store_id)).await
}

/// Parses the lines and applies the promotion; refusals are problems with the
/// refusal's code.
fn apply(p: &PromotionRow, req: &EvaluateRequest) -> Result<DiscountView> {
    if req.lines.is_empty() || req.lines.len() > MAX_LINES {
        return Err(Problem::validation(vec![FieldError::new(
            "lines",
            "invalid",
            "1 to 200 lines",
        )])
        .into());
    }
    let currency = req.lines[0].amount.currency;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        if l.amount.currency != currency
            || !(0..=kernel::money::MAX_PRICE_MINOR).contains(&l.amount.amount_minor)
        {
            return Err(Problem::validation(vec![FieldError::new(
                format!("lines[{i}].amount"),
                "invalid",
                "amounts are not negative and share one currency",
            )])
            .into());
        }
        lines.push(domain::Line {
            store: l.store_id,
            product: l.product_id,
            category_path: l.category_path.clone(),
            amount: l.amount.amount_minor,
        });
    }
    let benefit = match (
        p.kind.as_str(),
        p.percent_bps,
        p.amount_minor,
        p.currency.as_deref(),
    ) {
        ("percentage", Some(bps), _, _) => Benefit::Percentage(i64::from(bps)),
        ("fixed", _, Some(amount), Some(c)) if Currency::parse(c).ok() == Some(currency) => {
            Benefit::Fixed(amount)
        }
        ("fixed", ..) => return Err(Error::Refused(domain::Refusal::NoEligibleItems)),
        _ => Benefit::FreeShipping,
    };
    let promotion = domain::Promotion {
        benefit,
        store: p.store_id,
        min_subtotal: p.min_subtotal_minor,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
        categories: p.category_ids.clone(),
        products: p.product_ids.clone(),
        first_order_only: p.first_order_only,
    };
    let d = domain::apply(
        &promotion,
        &lines,
        OffsetDateTime::now_utc(),
        req.first_order,
    )
    .map_err(Error::Refused)?;
    let money = |amount_minor| Money {
        amount_minor,
        currency,
    };
    Ok(DiscountView {
        code: p.code.clone(),
        total: money(d.total()),
        per_line: d.per_line.iter().map(|a| money(*a)).collect(),
        free_shipping: d.free_shipping.clone(),
        funded_by: if p.store_id.is_some() {
            "store"
        } else {
            "platform"
        }
        .to_owned(),
    })
}

/// What a code would take off a cart, without redeeming it.
#[utoipa::path(post, path = "/api/v1/promotions/evaluate", security(()), tag = TAG, request_body = EvaluateRequest,
    responses((status = 200, body = DiscountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn evaluate(
    axum::extract::State(pool): State,
    Json(req): Json<EvaluateRequest>,
) -> Result<Json<DiscountView>> {
    let code = req.code.trim().to_ascii_uppercase();
    let p = store::by_code(&mut *pool.acquire().await?, &code)
        .await?
        .ok_or(Error::not_found("promotion"))?;
    Ok(Json(apply(&p, &req)?))
}

/// Redeem a code on a customer's behalf for a checkout (the checkout saga; services
/// only): applies it, takes one use (409 `promotion_exhausted` when none is left,
/// `promotion_customer_limit` past the customer's limit). Limits hold under any
/// concurrency; the same reference redeems once.
#[utoipa::path(post, path = "/internal/promotions/redeem", security(("service" = [])), tag = "internal",
    request_body = ServiceRedeemRequest,
    responses((status = 200, body = DiscountView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn service_redeem(
    axum::extract::State(pool): State,
    _caller: ServiceCaller,
    Json(req): Json<ServiceRedeemRequest>,
) -> Result<Json<DiscountView>> {
    redeem_for(&pool, req.customer, &req.redemption)
        .await
        .map(Json)
}

async fn redeem_for(pool: &PgPool, customer: UserId, req: &RedeemRequest) -> Result<DiscountView> {
    let reference = kernel::validation::bounded_text(&req.reference, 1, 200)
        .map_err(|m| Problem::validation(vec![FieldError::new("reference", "invalid", m)]))?;
    let code = req.cart.code.trim().to_ascii_uppercase();
    let mut tx = pool.begin().await?;
    let p = store::by_code(&mut tx, &code)
        .await?
        .ok_or(Error::not_found("promotion"))?;
    let discount = apply(&p, &req.cart)?;
    if let Some(existing) = store::lock_redemption(&mut tx, &reference).await? {
        // A retried checkout: the first redemption stands, for its customer only.
        if existing.customer != customer || existing.promotion_id != p.id {
            return Err(Error::not_found("redemption"));
        }
        return Ok(discount);
    }
    if !store::take_use(&mut tx, p.id).await? {
        return Err(Error::Exhausted);
    }
    // The use just taken locks the promotion's row: concurrent redemptions of this code
    // wait here, so counting the customer's uses cannot race.
    if let Some(limit) = p.per_customer_limit
        && store::customer_uses(&mut tx, p.id, customer).await? >= i64::from(limit)
    {
        return Err(Error::CustomerLimit);
    }
    let inserted = store::insert_redemption(
        &mut tx,
        &RedemptionRow {
            id: Uuid::now_v7(),
            promotion_id: p.id,
            customer,
            reference,
            discount_minor: discount.total.amount_minor,
            status: "redeemed".into(),
        },
    )
    .await?;
    if !inserted {
        return Err(Error::not_found("redemption"));
    }
    tx.commit().await?;
    Ok(discount)
}

/// Give a redemption's use back (the checkout failed before payment or the order was
/// cancelled; services only); releasing twice changes nothing.
#[utoipa::path(post, path = "/internal/promotions/redemptions/{reference}/release", security(("service" = [])), tag = "internal",
    params(("reference" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn service_release(
    axum::extract::State(pool): State,
    _caller: ServiceCaller,
    Path(reference): Path<String>,
) -> Result<StatusCode> {
    let mut tx = pool.begin().await?;
    let r = store::lock_redemption(&mut tx, &reference)
        .await?
        .ok_or(Error::not_found("redemption"))?;
    if r.status == "redeemed" {
        store::release(&mut tx, r.id).await?;
        store::give_back_use(&mut tx, r.promotion_id).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: serde_json::Value) -> Vec<String> {
        let req: PromotionRequest = serde_json::from_value(body).unwrap();
        row_of(&req, None)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn each_field_is_checked_whenever_given() {
        let eur = serde_json::json!({ "amount_minor": 500, "currency": "EUR" });
        let zero = serde_json::json!({ "amount_minor": 0, "currency": "EUR" });
        let code = |kind: &str| serde_json::json!({ "code": "SAVE", "kind": kind });
        let with = |kind: &str, key: &str, value: serde_json::Value| {
            let mut body = code(kind);
            body[key] = value;
            body
        };
        assert!(fields(with("fixed", "amount", eur.clone())).is_empty());
        assert!(fields(with("percentage", "percent", "12,5".into())).is_empty());
        // What the kind does not use is still checked, once.
        assert_eq!(
            fields(with("fixed", "percent", "lots".into())),
            ["percent", "amount"]
        );
        assert_eq!(
            fields(with("percentage", "amount", zero.clone())),
            ["amount", "percent"]
        );
        assert_eq!(fields(with("fixed", "amount", zero)), ["amount"]);
        assert_eq!(
            fields(with("percentage", "percent", "0".into())),
            ["percent"]
        );
        // Only the kind's own is kept.
        let mut both = with("fixed", "amount", eur);
        both["percent"] = "10".into();
        let row = row_of(&serde_json::from_value(both).unwrap(), None).unwrap();
        assert_eq!((row.percent_bps, row.amount_minor), (None, Some(500)));
    }
}
