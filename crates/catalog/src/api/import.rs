//! CSV import and export of a store's products.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::auth::AuthUser;
use kernel::http::Path;
use kernel::http::{Failure, FieldError, Json, Problem};
use kernel::media::MediaStore;
use kernel::money::{Currency, Money};
use sqlx::PgPool;

use super::product_input::{validate, write};
use super::products::manages;
use super::{Result, State, TAG};
use crate::Error;
use contracts::catalog::import::ImportReport;

use crate::csv_io::{self, CsvProduct, Parsed};
use crate::domain::{CategoryId, ProductAction, ProductId, ProductStatus};
use crate::store;
use kernel::ids::StoreId;

/// Products written per transaction: a failure loses at most one batch's work, and
/// locks are held briefly.
const BATCH: usize = 200;
/// Largest CSV file the import route reads (every other catalog route: 1 MiB).
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;

fn category_index(rows: Vec<store::CategoryRow>) -> HashMap<String, CategoryId> {
    let mut out = HashMap::new();
    for r in rows {
        out.insert(r.id.to_string(), r.id);
        out.insert(r.slug, r.id);
    }
    out
}

/// Writes one product in its own savepoint; a refusal becomes report rows and leaves
/// nothing behind.
async fn import_one(
    tx: &mut sqlx::PgConnection,
    media: &dyn MediaStore,
    store_id: StoreId,
    store_open: bool,
    product: &CsvProduct,
    report: &mut ImportReport,
) -> Result<()> {
    use sqlx::Acquire;
    let mut sp = tx.begin().await?;
    let refused = |problem: Problem, report: &mut ImportReport| {
        let errors = if problem.errors.is_empty() {
            vec![FieldError::new("row", &problem.code, problem.title.clone())]
        } else {
            problem.errors
        };
        report.rejected.extend(product.reject(&errors));
    };
    let valid = match validate(&mut sp, media, &product.request).await {
        Ok(v) => v,
        Err(Error::Failure(Failure::Problem(p))) => {
            refused(p, report);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let existing = store::lock_product_by_slug(&mut sp, store_id, &valid.slug).await?;
    let id = existing
        .as_ref()
        .map_or_else(ProductId::new, |(id, ..)| *id);
    match write(&mut sp, id, store_id, &valid).await {
        Ok(()) => {}
        Err(Error::Failure(Failure::Problem(p))) => {
            refused(p, report);
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    let (status, moderated) = match &existing {
        Some((_, status, reason)) => (
            ProductStatus::parse(status).unwrap_or(ProductStatus::Draft),
            reason.is_some(),
        ),
        None => (ProductStatus::Draft, false),
    };
    let mut now = status;
    if product.publish
        && store_open
        && !moderated
        && let Some(next) = status.apply(ProductAction::Publish)
    {
        store::set_product_status(&mut sp, id, next.as_str(), None).await?;
        now = next;
    }
    if now == ProductStatus::Published || status == ProductStatus::Published {
        crate::events::record_product_state(&mut sp, id).await?;
    }
    sp.commit().await?;
    if existing.is_some() {
        report.updated += 1;
    } else {
        report.created += 1;
    }
    if now == ProductStatus::Published {
        report.published += 1;
    }
    Ok(())
}

/// Imports parsed products into `store_id` in batches; `progress` hears how many
/// products each batch handled. What the API and `emporium catalog import` run.
pub async fn import_products(
    pool: &PgPool,
    media: &dyn MediaStore,
    store_id: StoreId,
    parsed: Parsed,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport> {
    let mut conn = pool.acquire().await?;
    let status = store::store_status(&mut conn, store_id)
        .await?
        .ok_or(Error::StoreNotOpen)?;
    let categories = category_index(store::all_categories(&mut conn).await?);
    drop(conn);
    let mut report = ImportReport {
        rows: parsed.rows as u64,
        rejected: parsed.rejected,
        ..ImportReport::default()
    };
    let mut products = parsed.products;
    for p in &mut products {
        if let Some(key) = &p.category {
            match categories.get(&key.to_ascii_lowercase()) {
                Some(id) => p.request.category_id = Some(*id),
                None => report.rejected.extend(p.reject(&[FieldError::new(
                    "category",
                    "unknown_category",
                    format!("no category with the slug or id {key:?}"),
                )])),
            }
        }
    }
    products.retain(|p| p.category.is_none() || p.request.category_id.is_some());
    for batch in products.chunks(BATCH) {
        let mut tx = pool.begin().await?;
        for product in batch {
            import_one(
                &mut tx,
                media,
                store_id,
                status == "approved",
                product,
                &mut report,
            )
            .await?;
        }
        tx.commit().await?;
        progress(batch.len() as u64);
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

/// Import products from CSV (one row per variant; the body is the file, UTF-8, at
/// most 10 MiB and 50 000 rows, headed by a row naming its columns: `product_slug`,
/// `sku`, `price` and `currency` at least). Products are matched by slug: new ones are created,
/// existing ones replaced. Rows are validated one by one; the report lists every
/// refused row with its line and reason, and a product with a refused row is not
/// written at all. Valid products are written in transactions of 200.
#[utoipa::path(post, path = "/api/v1/catalog/stores/{store}/products/import", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)")),
    request_body(content = contracts::catalog::schema::ProductCsv, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 409, body = Problem, description = "store_not_open"), (status = 413, body = Problem),
              (status = 422, body = Problem, description = "not_utf8, missing_column, unknown_column, too_many_rows")))]
pub async fn import(
    axum::extract::State(pool): State,
    Extension(media): Extension<Arc<dyn MediaStore>>,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReport>> {
    if !manages(Some(&claims), store_id) {
        return Err(Error::forbidden());
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "CSV files are limited to {} MiB",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
            )
        } else {
            Problem::new(r.status(), "bad_request", "The body could not be read")
        }
    })?;
    let parsed = csv_io::parse(&body)?;
    Ok(Json(
        import_products(&pool, media.as_ref(), store_id, parsed, |_| {}).await?,
    ))
}

/// Every product of the store as CSV, in the shape import reads.
#[utoipa::path(get, path = "/api/v1/catalog/stores/{store}/products/export", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, description = "Store id (`sto_…`)")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem)))]
pub async fn export(
    axum::extract::State(pool): State,
    AuthUser(claims): AuthUser,
    Path(store_id): Path<StoreId>,
) -> Result<Response> {
    if !manages(Some(&claims), store_id) {
        return Err(Error::forbidden());
    }
    let mut conn = pool.acquire().await?;
    let rows = store::export_rows(&mut conn, store_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let currency = Currency::parse(&r.currency).map_err(|e| Problem::internal(&e))?;
        out.push(csv_io::ExportRow {
            product_slug: &r.slug,
            title: &r.title,
            description: &r.description_md,
            brand: r.brand.as_deref(),
            category: r.category_slug.as_deref(),
            attributes: &r.attributes,
            tags: &r.tags,
            status: &r.status,
            sku: &r.sku,
            options: &r.options,
            price: Money {
                amount_minor: r.price_minor,
                currency,
            },
            compare_at_minor: r.compare_at_minor,
            weight_grams: r.weight_grams,
            barcode: r.barcode.as_deref(),
            images: &r.images,
        });
    }
    let bytes = csv_io::write(&out).map_err(|e| Problem::internal(&e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"products.csv\"",
            ),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}
