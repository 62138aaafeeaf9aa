//! Products and their variants. Vendor rights come from the access token's store
//! memberships (issued by identity from vendors' events); whether a store may sell
//! comes from catalog's own projection of vendors' store events.

use std::sync::Arc;

use axum::Extension;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::auth::{AdminUser, AuthUser, Claims, MaybeUser};
use kernel::cache::Cache;
use kernel::http::Path;
use kernel::http::pagination::{Page, PageParams};
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::media::MediaStore;
use kernel::money::{Currency, Money};
use kernel::validation::bounded_text;
use sqlx::PgConnection;
use uuid::Uuid;

use super::product_input::{validate, write};
use super::{Result, State, TAG};
use crate::Error;
use crate::domain::{ProductAction, ProductId, ProductStatus};
use crate::store::{self, ProductRow};
use contracts::catalog::dto::*;
use kernel::ids::StoreId;

/// Whether the caller may manage `store`'s products: its members, and admins.
pub(super) fn manages(claims: Option<&Claims>, store: StoreId) -> bool {
    claims.is_some_and(|c| c.manages_store(store))
}

fn is_public(p: &ProductRow) -> bool {
    p.status == ProductStatus::Published && p.store_status == "approved"
}

fn money(amount: i64, currency: &str) -> Result<Money> {
    let c = Currency::parse(currency).map_err(|e| Problem::internal(&e))?;
    Ok(Money {
        amount_minor: amount,
        currency: c,
    })
}

fn store_of(p: &ProductRow) -> StoreRef {
    StoreRef {
        id: p.store_id,
        slug: p.store_slug.clone(),
        name: p.store_name.clone(),
    }
}

pub(super) fn card(p: ProductRow) -> Result<ProductCard> {
    Ok(ProductCard {
        store: store_of(&p),
        price_from: money(p.min_price_minor, &p.currency)?,
        id: p.id,
        slug: p.slug,
        title: p.title,
        brand: p.brand,
        category_id: p.category_id,
        status: p.status.to_string(),
        image_url: p.main_image.map(|k| media_url(&k, 480)),
    })
}

fn media_url(key: &str, width: u32) -> String {
    format!("/media/{}", crate::media::rendition_name(key, width))
}

async fn view(conn: &mut PgConnection, p: ProductRow, private: bool) -> Result<ProductView> {
    let variants = store::variants(conn, p.id)
        .await?
        .into_iter()
        .map(|v| {
            Ok(VariantView {
                price: money(v.price_minor, &v.currency)?,
                id: v.id,
                sku: v.sku,
                options: v.options,
                compare_at_minor: v.compare_at_minor,
                weight_grams: v.weight_grams,
                barcode: v.barcode,
                available: v.available,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let tracked: Vec<i64> = variants.iter().filter_map(|v| v.available).collect();
    let in_stock = tracked.is_empty() || tracked.iter().any(|a| *a > 0);
    let images = store::images(conn, p.id)
        .await?
        .into_iter()
        .map(|i| ImageView {
            thumbnail_url: media_url(&i.media_key, 160),
            url: media_url(&i.media_key, 480),
            large_url: media_url(&i.media_key, 1200),
            key: i.media_key,
            alt: i.alt,
            variant_sku: i.variant_sku,
        })
        .collect();
    Ok(ProductView {
        images,
        store: store_of(&p),
        price_from: money(p.min_price_minor, &p.currency)?,
        id: p.id,
        slug: p.slug,
        title: p.title,
        description: p.description_md,
        description_html: p.description_html,
        brand: p.brand,
        category_id: p.category_id,
        attributes: p.attributes,
        tags: p.tags,
        status: p.status.to_string(),
        moderation_reason: if private { p.moderation_reason } else { None },
        seo_title: p.seo_title,
        seo_description: p.seo_description,
        variants,
        in_stock,
        published_at: p.published_at,
    })
}

/// A product the caller may see: published in an approved store, or the caller's own.
/// Anything else does not exist for them.
fn visible(row: Option<ProductRow>, claims: Option<&Claims>) -> Result<(ProductRow, bool)> {
    let row = row.ok_or(Error::not_found("product"))?;
    let private = manages(claims, row.store_id);
    if !private && !is_public(&row) {
        return Err(Error::not_found("product"));
    }
    Ok((row, private))
}

/// Create a draft product in a store (its members; admins).
#[utoipa::path(post, path = "/api/v1/catalog/stores/{store}/products", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)")), request_body = ProductRequest,
    responses((status = 201, body = ProductView), (status = 403, body = Problem), (status = 409, body = Problem, description = "store_not_open"),
              (status = 422, body = Problem)))]
pub async fn create_product(
    axum::extract::State(pool): State,
    Extension(media): Extension<Arc<dyn MediaStore>>,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Json(req): Json<ProductRequest>,
) -> Result<impl IntoResponse> {
    if !manages(Some(&claims), store_id) {
        return Err(Error::forbidden());
    }
    let mut tx = pool.begin().await?;
    if store::store_status(&mut tx, store_id).await?.is_none() {
        return Err(Error::StoreNotOpen);
    }
    let valid = validate(&mut tx, media.as_ref(), &req).await?;
    let id = ProductId::new();
    write(&mut tx, id, store_id, &valid).await?;
    let row = store::product(&mut tx, id)
        .await?
        .ok_or(Error::not_found("product"))?;
    let v = view(&mut tx, row, true).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Replace a product, variants included (its store's members; admins).
#[utoipa::path(put, path = "/api/v1/catalog/products/{product}", tag = TAG, security(("bearer" = [])),
    params(("product" = String, Path, description = "Product id (`prd_…`)")), request_body = ProductRequest,
    responses((status = 409, body = Problem, description = "`slug_taken`: the store has a product with this slug"), (status = 200, body = ProductView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product(
    axum::extract::State(pool): State,
    Extension(media): Extension<Arc<dyn MediaStore>>,
    Extension(cache): Extension<Arc<dyn Cache>>,
    AuthUser(claims): AuthUser,
    Path(id): Path<ProductId>,
    Json(req): Json<ProductRequest>,
) -> Result<Json<ProductView>> {
    let mut tx = pool.begin().await?;
    // Locked first, so the status that decides which event to send cannot change under us.
    store::lock_product(&mut tx, id).await?;
    let row = store::product(&mut tx, id).await?;
    let (row, private) = visible(row, Some(&claims))?;
    if !private {
        return Err(Error::forbidden());
    }
    let valid = validate(&mut tx, media.as_ref(), &req).await?;
    write(&mut tx, id, row.store_id, &valid).await?;
    if row.status == ProductStatus::Published {
        crate::events::record_product_state(&mut tx, id).await?;
    }
    let row = store::product(&mut tx, id)
        .await?
        .ok_or(Error::not_found("product"))?;
    let v = view(&mut tx, row, true).await?;
    tx.commit().await?;
    crate::events::forget_product(cache.as_ref(), id).await;
    Ok(Json(v))
}

/// A product by id: public once published in an open store; its store's members and
/// admins see it in any state.
#[utoipa::path(get, path = "/api/v1/catalog/products/{product}", security((), ("bearer" = [])), tag = TAG,
    params(("product" = String, Path, description = "Product id (`prd_…`)")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
pub async fn get_product(
    axum::extract::State(pool): State,
    Extension(cache): Extension<Arc<dyn Cache>>,
    MaybeUser(claims): MaybeUser,
    Path(id): Path<ProductId>,
) -> Result<Response> {
    // The generation is read before the database: see `Cache::generation`.
    let generation = cache
        .generation(&crate::events::product_generation_key(id))
        .await;
    let cache_key = crate::events::product_cache_key(id, generation);
    // Only the anonymous, public view is shared; members see drafts and private fields.
    if claims.is_none() {
        let cached = cache.get(&cache_key).await;
        kernel::cache::record_lookup("product_detail", cached.is_some());
        if let Some(bytes) = cached {
            return Ok(json_bytes(bytes.to_vec(), "hit"));
        }
    }
    let mut conn = pool.acquire().await?;
    let row = store::product(&mut conn, id).await?;
    let (row, private) = visible(row, claims.as_ref())?;
    let v = view(&mut conn, row, private).await?;
    let bytes = serde_json::to_vec(&v).map_err(|e| Problem::internal(&e))?;
    if claims.is_none() {
        cache.put(&cache_key, Arc::from(bytes.as_slice())).await;
    }
    Ok(json_bytes(bytes, "miss"))
}

/// A JSON answer from serialised bytes, saying whether the cache had it.
pub(super) fn json_bytes(bytes: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                HeaderName::from_static("x-cache"),
                HeaderValue::from_static(cache),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A product by its store's slug and its own.
#[utoipa::path(get, path = "/api/v1/catalog/stores/{store}/products/{product}", security((), ("bearer" = [])), tag = TAG,
    params(("store" = String, Path, description = "Store slug"), ("product" = String, Path, description = "Product slug")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
pub async fn get_product_by_slug(
    axum::extract::State(pool): State,
    MaybeUser(claims): MaybeUser,
    Path((store_slug, slug)): Path<(String, String)>,
) -> Result<Json<ProductView>> {
    let mut conn = pool.acquire().await?;
    let row = store::product_by_slug(
        &mut conn,
        &store_slug.to_ascii_lowercase(),
        &slug.to_ascii_lowercase(),
    )
    .await?;
    let (row, private) = visible(row, claims.as_ref())?;
    Ok(Json(view(&mut conn, row, private).await?))
}

/// All of a store's products, drafts included (its members; admins).
#[utoipa::path(get, path = "/api/v1/catalog/stores/{store}/products", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)"), PageParams),
    responses((status = 200, body = ProductPage), (status = 403, body = Problem)))]
pub async fn store_products(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    Query(page): Query<PageParams>,
) -> Result<Json<ProductPage>> {
    if !manages(Some(&claims), store_id) {
        return Err(Error::forbidden());
    }
    scoped_page(&pool, store::ProductScope::Store(store_id), &page).await
}

async fn scoped_page(
    pool: &sqlx::PgPool,
    scope: store::ProductScope,
    page: &PageParams,
) -> Result<Json<ProductPage>> {
    let limit = page.limit()?;
    let after: Option<(i64, Uuid)> = page.after()?;
    let rows = store::scoped_products(&mut *pool.acquire().await?, scope, after, limit).await?;
    let page = Page::from_rows(rows, limit, |p| (micros(p.created_at), p.id.0));
    Ok(Json(ProductPage {
        items: page.items.into_iter().map(card).collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// Products an admin took down, across stores, newest first (admins).
#[utoipa::path(get, path = "/api/v1/catalog/admin/products/moderated", tag = TAG, security(("bearer" = ["admin"])),
    params(PageParams), responses((status = 200, body = ProductPage), (status = 403, body = Problem)))]
pub async fn moderated_products(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Query(page): Query<PageParams>,
) -> Result<Json<ProductPage>> {
    scoped_page(&pool, store::ProductScope::Moderated, &page).await
}

pub(super) fn micros(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

async fn change_status(
    pool: &sqlx::PgPool,
    cache: &dyn Cache,
    claims: &Claims,
    key: &str,
    action: ProductAction,
    reason: Option<&str>,
) -> Result<Json<ProductView>> {
    let id: ProductId = key.parse().map_err(|_| Error::not_found("product"))?;
    let mut tx = pool.begin().await?;
    store::lock_product(&mut tx, id).await?;
    let row = store::product(&mut tx, id).await?;
    let (row, private) = visible(row, Some(claims))?;
    if !private {
        return Err(Error::forbidden());
    }
    let current = row.status;
    let next = current.apply(action).ok_or(Error::IllegalTransition {
        from: current.as_str(),
    })?;
    if next == ProductStatus::Published && row.store_status != "approved" {
        return Err(Error::StoreSuspended);
    }
    // An admin's moderation stands until an admin lifts it.
    if next == ProductStatus::Published && row.moderation_reason.is_some() {
        return Err(Error::Moderated);
    }
    store::set_product_status(&mut tx, id, next.as_str(), reason).await?;
    crate::events::record_product_state(&mut tx, id).await?;
    let row = store::product(&mut tx, id)
        .await?
        .ok_or(Error::not_found("product"))?;
    let v = view(&mut tx, row, true).await?;
    tx.commit().await?;
    // This replica reads its own write at once; others follow the product event.
    crate::events::forget_product(cache, id).await;
    Ok(Json(v))
}

macro_rules! status_endpoint {
    ($name:ident, $action:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = TAG, security(("bearer" = [])),
            params(("product" = String, Path, description = "Product id (`prd_…`)")),
            responses((status = 200, body = ProductView), (status = 404, body = Problem),
                      (status = 409, body = Problem, description = "illegal_transition / store_suspended")))]
        pub async fn $name(
            axum::extract::State(pool): State,
            Extension(cache): Extension<Arc<dyn Cache>>,
            AuthUser(claims): AuthUser,
            Path(key): Path<String>,
        ) -> Result<Json<ProductView>> {
            change_status(&pool, cache.as_ref(), &claims, &key, $action, None).await
        }
    };
}

status_endpoint!(
    publish,
    ProductAction::Publish,
    "/api/v1/catalog/products/{product}/publish",
    "Publish a draft (its store must be open)."
);
status_endpoint!(
    unpublish,
    ProductAction::Unpublish,
    "/api/v1/catalog/products/{product}/unpublish",
    "Take a published product back to draft."
);
status_endpoint!(
    archive,
    ProductAction::Archive,
    "/api/v1/catalog/products/{product}/archive",
    "Archive a product."
);
status_endpoint!(
    restore,
    ProductAction::Restore,
    "/api/v1/catalog/products/{product}/restore",
    "Bring an archived product back as a draft."
);

/// Unpublish any product with a reason its vendor will see (admin moderation).
#[utoipa::path(post, path = "/api/v1/catalog/admin/products/{product}/unpublish", tag = TAG, security(("bearer" = ["admin"])),
    params(("product" = String, Path)), request_body = ModerationRequest,
    responses((status = 200, body = ProductView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn admin_unpublish(
    axum::extract::State(pool): State,
    Extension(cache): Extension<Arc<dyn Cache>>,
    AdminUser(claims): AdminUser,
    Path(key): Path<String>,
    Json(req): Json<ModerationRequest>,
) -> Result<Json<ProductView>> {
    let reason = bounded_text(&req.reason, 3, 1000)
        .map_err(|m| Problem::validation(vec![FieldError::new("reason", "invalid", m)]))?;
    change_status(
        &pool,
        cache.as_ref(),
        &claims,
        &key,
        ProductAction::Unpublish,
        Some(&reason),
    )
    .await
}

/// Lift an admin's moderation so the vendor may publish the product again (admin).
#[utoipa::path(post, path = "/api/v1/catalog/admin/products/{product}/release", tag = TAG, security(("bearer" = ["admin"])),
    params(("product" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
pub async fn admin_release(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(id): Path<ProductId>,
) -> Result<Json<ProductView>> {
    let mut tx = pool.begin().await?;
    store::lock_product(&mut tx, id).await?;
    store::clear_moderation(&mut tx, id).await?;
    let row = store::product(&mut tx, id)
        .await?
        .ok_or(Error::not_found("product"))?;
    let v = view(&mut tx, row, true).await?;
    tx.commit().await?;
    Ok(Json(v))
}
