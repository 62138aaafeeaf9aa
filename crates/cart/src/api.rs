//! Cart's HTTP API under `/api/v1/cart`. A customer's cart follows their token; a
//! guest's follows the `Cart-Token` header (a random token from
//! `POST /api/v1/cart/guest-token`; only its digest is stored).

use kernel::ids::StoreId;
use std::collections::{BTreeMap, HashMap};

use axum::Extension;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use contracts::catalog::CatalogClient;
use contracts::catalog::VariantId;
use contracts::catalog::internal::SaleVariant;
use contracts::inventory::InventoryClient;
use kernel::auth::MaybeUser;
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem};
use kernel::money::Money;
use sqlx::{PgConnection, PgPool};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use contracts::cart::dto::*;

use crate::Error;
use crate::domain::{self, Fit};
use crate::store::{self, Holder};

const TAG: &str = "cart";
use contracts::cart::CART_TOKEN_HEADER;

type State = axum::extract::State<PgPool>;
type Result<T> = std::result::Result<T, Error>;

/// The services a cart reads prices and stock from.
#[derive(Clone)]
pub struct Upstream {
    pub catalog: CatalogClient,
    pub inventory: InventoryClient,
}

pub fn router(pool: PgPool, upstream: Upstream) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(guest_token))
        .routes(routes!(view_cart))
        .routes(routes!(set_line, remove_line))
        .routes(routes!(merge))
        .routes(routes!(record_purchase))
        .layer(Extension(upstream))
        .with_state(pool)
}

/// The guest token of the request, if it sent one.
pub struct GuestToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for GuestToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get(CART_TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .filter(|t| {
                    (20..=100).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic())
                }),
        ))
    }
}

fn holder(user: Option<&kernel::auth::Claims>, guest: &GuestToken) -> Result<Holder> {
    if let Some(claims) = user {
        return Ok(Holder::Customer(claims.sub));
    }
    guest
        .0
        .as_deref()
        .map(|t| Holder::Guest(kernel::secret::digest(t)))
        .ok_or(Error::NoCart)
}

/// A token for a guest cart.
#[utoipa::path(post, path = "/api/v1/cart/guest-token", security(()), tag = TAG,
    responses((status = 201, body = GuestTokenView)))]
async fn guest_token() -> impl IntoResponse {
    (
        StatusCode::CREATED,
        // A secret: never kept by a cache, nor by the idempotency layer for a replay.
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(GuestTokenView {
            cart_token: kernel::secret::random_token(),
        }),
    )
}

/// Prices and stock as catalog and inventory have them now; untracked stock is `None`.
type Fresh = (
    HashMap<VariantId, SaleVariant>,
    HashMap<VariantId, Option<i64>>,
);

/// Fresh prices and stock for `variants`.
async fn read_fresh(upstream: &Upstream, variants: &[VariantId]) -> Result<Fresh> {
    if variants.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let (sale, stock) = tokio::join!(
        upstream.catalog.sale_variants(variants),
        upstream.inventory.availability(variants)
    );
    // Either one down is a 503 the caller may retry, not a fault of ours.
    let sale = sale.map_err(Problem::from)?;
    let stock = stock.map_err(Problem::from)?;
    Ok((
        sale.items.into_iter().map(|v| (v.variant_id, v)).collect(),
        stock
            .items
            .into_iter()
            .map(|a| (a.variant_id, a.tracked.then_some(a.available)))
            .collect(),
    ))
}

/// Prices the cart afresh, tells what changed, and remembers what was shown.
async fn priced(conn: &mut PgConnection, upstream: &Upstream, cart: Uuid) -> Result<CartView> {
    let rows = store::lines(conn, cart).await?;
    let ids: Vec<VariantId> = rows.iter().map(|r| r.variant_id).collect();
    let fresh = read_fresh(upstream, &ids).await?;
    priced_with(conn, cart, rows, &fresh).await
}

/// [`priced`] with prices and stock already read (they must cover every line).
async fn priced_with(
    conn: &mut PgConnection,
    cart: Uuid,
    rows: Vec<store::LineRow>,
    (sale, stock): &Fresh,
) -> Result<CartView> {
    let mut view = CartView::default();
    let mut by_store: BTreeMap<(String, String, StoreId), i64> = BTreeMap::new();
    let mut total: Option<Money> = None;
    for row in rows {
        let Some(v) = sale.get(&row.variant_id) else {
            // The variant is gone from the catalog: nothing left to show.
            store::remove_line(conn, cart, row.variant_id).await?;
            continue;
        };
        let mut notices = Vec::new();
        let mut quantity = row.quantity;
        let fit = domain::fit(
            quantity,
            stock.get(&row.variant_id).copied().flatten(),
            v.for_sale,
        );
        match fit {
            Fit::Whole => {}
            Fit::Lowered(n) => {
                notices.push(format!(
                    "Only {n} left: the quantity went down from {quantity} to {n}."
                ));
                quantity = n;
            }
            Fit::Unavailable => notices.push("No longer available.".to_owned()),
        }
        if row.price_seen_minor != v.price.amount_minor {
            let was = Money {
                amount_minor: row.price_seen_minor,
                currency: v.price.currency,
            };
            notices.push(format!(
                "The price changed from {} to {}.",
                was.display(),
                v.price.display()
            ));
        }
        if quantity != row.quantity || row.price_seen_minor != v.price.amount_minor {
            store::saw(conn, cart, row.variant_id, quantity, v.price.amount_minor).await?;
        }
        let line_total = Money {
            amount_minor: v.price.amount_minor.saturating_mul(i64::from(quantity)),
            currency: v.price.currency,
        };
        let available = fit != Fit::Unavailable;
        if available {
            *by_store
                .entry((v.store_slug.clone(), v.store_name.clone(), v.store_id))
                .or_default() += line_total.amount_minor;
            total = Some(Money {
                amount_minor: total.map_or(0, |t| t.amount_minor) + line_total.amount_minor,
                currency: v.price.currency,
            });
            view.item_count += i64::from(quantity);
        }
        view.lines.push(CartLineView {
            variant_id: v.variant_id,
            product_slug: v.product_slug.clone(),
            store_slug: v.store_slug.clone(),
            store_name: v.store_name.clone(),
            title: v.title.clone(),
            sku: v.sku.clone(),
            options: v.options.clone(),
            image: v.image.clone(),
            quantity,
            unit_price: v.price,
            line_total,
            available,
            notices,
        });
    }
    if let Some(t) = total {
        view.stores = by_store
            .into_iter()
            .map(
                |((store_slug, store_name, store_id), amount)| StoreSubtotal {
                    store_id,
                    store_slug,
                    store_name,
                    subtotal: Money {
                        amount_minor: amount,
                        currency: t.currency,
                    },
                },
            )
            .collect();
    }
    view.subtotal = total;
    Ok(view)
}

/// The cart, priced now: each line at today's price, with notices for prices that
/// changed and items that sold out or left the shop since the customer last looked.
#[utoipa::path(get, path = "/api/v1/cart", security((), ("bearer" = [])), tag = TAG,
    params(("Cart-Token" = Option<String>, Header, description = "A guest's cart token")),
    responses((status = 200, body = CartView), (status = 401, body = Problem)))]
async fn view_cart(
    axum::extract::State(pool): State,
    Extension(upstream): Extension<Upstream>,
    MaybeUser(user): MaybeUser,
    guest: GuestToken,
) -> Result<Json<CartView>> {
    let holder = holder(user.as_ref(), &guest)?;
    let mut tx = pool.begin().await?;
    let view = match store::find(&mut tx, &holder).await? {
        Some(cart) => priced(&mut tx, &upstream, cart).await?,
        None => CartView::default(),
    };
    tx.commit().await?;
    Ok(Json(view))
}

/// Set how many of a variant the cart holds (0 removes it). More than may be bought is
/// refused with how many may (409 `insufficient_stock`); a variant in another currency
/// than the cart's is 422 `currency_mismatch`.
#[utoipa::path(put, path = "/api/v1/cart/lines/{variant}", security((), ("bearer" = [])), tag = TAG,
    params(("variant" = String, Path, description = "Variant id (`var_…`)"),
           ("Cart-Token" = Option<String>, Header, description = "A guest's cart token")),
    request_body = LineRequest,
    responses((status = 200, body = CartView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_line(
    axum::extract::State(pool): State,
    Extension(upstream): Extension<Upstream>,
    MaybeUser(user): MaybeUser,
    guest: GuestToken,
    Path(variant): Path<VariantId>,
    Json(req): Json<LineRequest>,
) -> Result<Json<CartView>> {
    let holder = holder(user.as_ref(), &guest)?;
    let quantity = domain::parse_quantity(req.quantity)
        .map_err(|m| Problem::validation(vec![FieldError::new("quantity", "invalid", m)]))?;
    let mut tx = pool.begin().await?;
    let cart = store::find_or_create(&mut tx, &holder).await?;
    if quantity == 0 {
        store::remove_line(&mut tx, cart, variant).await?;
    } else {
        // One read of prices and stock serves the check and the view that follows.
        let lines = store::lines(&mut tx, cart).await?;
        let mut ids: Vec<VariantId> = lines.iter().map(|l| l.variant_id).collect();
        if !ids.contains(&variant) {
            ids.push(variant);
        }
        let fresh = read_fresh(&upstream, &ids).await?;
        let (sale, stock) = &fresh;
        let v = sale
            .get(&variant)
            .filter(|v| v.for_sale)
            .ok_or(Error::not_found("variant"))?;
        match domain::fit(quantity, stock.get(&variant).copied().flatten(), true) {
            Fit::Whole => {}
            Fit::Lowered(n) => {
                return Err(Error::InsufficientStock {
                    available: i64::from(n),
                });
            }
            Fit::Unavailable => return Err(Error::InsufficientStock { available: 0 }),
        }
        if lines
            .iter()
            .any(|l| l.variant_id != variant && l.currency != v.price.currency.code())
        {
            return Err(Error::CurrencyMismatch);
        }
        if lines.len() >= domain::MAX_LINES && !lines.iter().any(|l| l.variant_id == variant) {
            return Err(Problem::validation(vec![FieldError::new(
                "variant",
                "cart_full",
                format!("a cart holds at most {} different items", domain::MAX_LINES),
            )])
            .into());
        }
        store::set_line(
            &mut tx,
            cart,
            variant,
            quantity,
            v.price.amount_minor,
            v.price.currency.code(),
        )
        .await?;
        let rows = store::lines(&mut tx, cart).await?;
        let view = priced_with(&mut tx, cart, rows, &fresh).await?;
        tx.commit().await?;
        return Ok(Json(view));
    }
    let view = priced(&mut tx, &upstream, cart).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Remove a variant from the cart.
#[utoipa::path(delete, path = "/api/v1/cart/lines/{variant}", security((), ("bearer" = [])), tag = TAG,
    params(("variant" = String, Path), ("Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView), (status = 401, body = Problem)))]
async fn remove_line(
    axum::extract::State(pool): State,
    Extension(upstream): Extension<Upstream>,
    MaybeUser(user): MaybeUser,
    guest: GuestToken,
    Path(variant): Path<VariantId>,
) -> Result<Json<CartView>> {
    let holder = holder(user.as_ref(), &guest)?;
    let mut tx = pool.begin().await?;
    let view = match store::find(&mut tx, &holder).await? {
        Some(cart) => {
            store::remove_line(&mut tx, cart, variant).await?;
            priced(&mut tx, &upstream, cart).await?
        }
        None => CartView::default(),
    };
    tx.commit().await?;
    Ok(Json(view))
}

/// Move a guest cart (its `Cart-Token`) into the signed-in customer's cart: what a
/// login does. Quantities of the same variant add up. Without a (well-formed)
/// `Cart-Token` it is a 422 naming the header.
#[utoipa::path(post, path = "/api/v1/cart/merge", tag = TAG, security(("bearer" = [])),
    params(("Cart-Token" = String, Header, pattern = "^[\\x21-\\x7e]{20,100}$", description = "The guest cart's token (required)")),
    responses((status = 200, body = CartView), (status = 401, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: `Cart-Token` missing or malformed")))]
async fn merge(
    axum::extract::State(pool): State,
    Extension(upstream): Extension<Upstream>,
    kernel::auth::AuthUser(claims): kernel::auth::AuthUser,
    guest: GuestToken,
) -> Result<Json<CartView>> {
    let Some(token) = guest.0.as_deref() else {
        return Err(Error::problem(Problem::validation(vec![FieldError::new(
            "Cart-Token",
            "required",
            "send the guest cart's Cart-Token header (from POST /api/v1/cart/guest-token)",
        )])));
    };
    let customer = holder(Some(&claims), &GuestToken(None))?;
    let mut tx = pool.begin().await?;
    let into = store::find_or_create(&mut tx, &customer).await?;
    if let Some(from) = store::find(&mut tx, &Holder::Guest(kernel::secret::digest(token))).await?
        && from != into
    {
        store::merge(&mut tx, from, into).await?;
    }
    let view = priced(&mut tx, &upstream, into).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Takes what a completed checkout bought out of the customer's cart, leaving anything
/// added meanwhile (services only).
#[utoipa::path(post, path = "/internal/cart/purchases", security(("service" = [])), tag = "internal", request_body = PurchaseRequest,
    responses((status = 204), (status = 422, body = Problem)))]
async fn record_purchase(
    axum::extract::State(pool): State,
    _caller: kernel::auth::ServiceCaller,
    Json(req): Json<PurchaseRequest>,
) -> Result<StatusCode> {
    let mut tx = pool.begin().await?;
    if store::first_purchase(&mut tx, &req.reference).await? {
        for line in &req.lines {
            store::take_out(&mut tx, req.customer, line.variant_id, line.quantity).await?;
        }
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
