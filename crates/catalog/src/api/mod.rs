//! Catalog's HTTP API under `/api/v1/catalog`.

pub mod import;
pub mod internal;
mod listing;
pub mod media;
mod product_input;
mod products;

use kernel::http::access::{Access, Pages};
use std::collections::HashMap;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kernel::auth::AdminUser;
use kernel::http::Path;
use kernel::http::{Json, Problem};
use kernel::validation::{FieldErrors, bounded_text};
use sqlx::{PgConnection, PgPool};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::Error;
use crate::domain::{self, CategoryId};
use crate::store::{self, CategoryRow};
use contracts::catalog::dto::*;

const TAG: &str = "catalog";

pub(crate) type State = axum::extract::State<PgPool>;
pub(crate) type Result<T> = std::result::Result<T, Error>;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(category_tree, create_category))
        .routes(routes!(get_category, update_category, delete_category))
        .routes(routes!(move_category))
        .routes(routes!(listing::list_products))
        .routes(routes!(products::get_product, products::update_product))
        .routes(routes!(products::create_product, products::store_products))
        .routes(routes!(products::get_product_by_slug))
        .routes(routes!(products::publish))
        .routes(routes!(products::unpublish))
        .routes(routes!(products::archive))
        .routes(routes!(products::restore))
        .routes(routes!(products::admin_unpublish))
        .routes(routes!(products::admin_release))
        .routes(routes!(products::moderated_products))
        // Uploads and CSV imports are the only bodies larger than the platform's 1 MiB;
        // every other route keeps that limit (413 `payload_too_large`).
        .routes(routes!(media::upload).layer(DefaultBodyLimit::max(
            crate::media::MAX_UPLOAD_BYTES + 64 * 1024,
        )))
        .routes(routes!(internal::search_documents))
        .routes(routes!(internal::variant_owner))
        .routes(routes!(internal::sale_variants))
        .routes(routes!(import::import).layer(DefaultBodyLimit::max(import::MAX_IMPORT_BYTES)))
        .routes(routes!(import::export))
        .with_state(pool)
}

/// Non-API routes: the media files themselves.
pub fn pages() -> Pages {
    Pages::default().get("/media/{name}", Access::Anyone, media::serve)
}

/// Builds the nested tree from rows ordered by depth.
fn tree(rows: Vec<CategoryRow>) -> Vec<CategoryNode> {
    let mut children: HashMap<Option<CategoryId>, Vec<CategoryRow>> = HashMap::new();
    for row in rows {
        children.entry(row.parent_id).or_default().push(row);
    }
    fn build(
        parent: Option<CategoryId>,
        children: &mut HashMap<Option<CategoryId>, Vec<CategoryRow>>,
    ) -> Vec<CategoryNode> {
        let mut rows = children.remove(&parent).unwrap_or_default();
        rows.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
        rows.into_iter()
            .map(|r| CategoryNode {
                children: build(Some(r.id), children),
                id: r.id,
                name: r.name,
                slug: r.slug,
                position: r.position,
            })
            .collect()
    }
    build(None, &mut children)
}

fn reference(r: &CategoryRow) -> CategoryRef {
    CategoryRef {
        id: r.id,
        name: r.name.clone(),
        slug: r.slug.clone(),
    }
}

async fn find(conn: &mut PgConnection, key: &str) -> Result<CategoryRow> {
    let row = match key.parse::<CategoryId>() {
        Ok(id) => store::category(conn, id).await?,
        Err(_) => store::category_by_slug(conn, &key.to_ascii_lowercase()).await?,
    };
    row.ok_or(Error::not_found("category"))
}

async fn view(conn: &mut PgConnection, row: CategoryRow) -> Result<CategoryView> {
    let ancestors: Vec<CategoryId> = row.path[..row.path.len().saturating_sub(1)].to_vec();
    let breadcrumb = store::categories_on_path(conn, &ancestors)
        .await?
        .iter()
        .map(reference)
        .collect();
    let children = store::children(conn, row.id)
        .await?
        .iter()
        .map(reference)
        .collect();
    Ok(CategoryView {
        id: row.id,
        name: row.name,
        slug: row.slug,
        position: row.position,
        parent_id: row.parent_id,
        breadcrumb,
        children,
    })
}

/// Reads the category back as it now stands, then commits.
async fn commit_view(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    id: CategoryId,
) -> Result<CategoryView> {
    let row = store::category(&mut tx, id)
        .await?
        .ok_or(Error::not_found("category"))?;
    let v = view(&mut tx, row).await?;
    tx.commit().await?;
    Ok(v)
}

fn slug_conflict(e: sqlx::Error) -> Error {
    if kernel::db::is_unique_violation(&e, "categories_slug_key") {
        Error::SlugTaken
    } else {
        e.into()
    }
}

/// The whole category tree, ordered by position then name.
#[utoipa::path(get, path = "/api/v1/catalog/categories", security(()), tag = TAG, responses((status = 200, body = CategoryTree)))]
async fn category_tree(axum::extract::State(pool): State) -> Result<Json<CategoryTree>> {
    let rows = store::all_categories(&mut *pool.acquire().await?).await?;
    Ok(Json(CategoryTree { items: tree(rows) }))
}

/// One category by id (`cat_…`) or slug, with its breadcrumb and subcategories.
#[utoipa::path(get, path = "/api/v1/catalog/categories/{category}", security(()), tag = TAG,
    params(("category" = String, Path, description = "Category id (`cat_…`) or slug")),
    responses((status = 200, body = CategoryView), (status = 404, body = Problem)))]
async fn get_category(
    axum::extract::State(pool): State,
    Path(key): Path<String>,
) -> Result<Json<CategoryView>> {
    let mut conn = pool.acquire().await?;
    let row = find(&mut conn, &key).await?;
    Ok(Json(view(&mut conn, row).await?))
}

/// Create a category (admin), at the root or under a parent.
#[utoipa::path(post, path = "/api/v1/catalog/categories", tag = TAG, security(("bearer" = ["admin"])),
    request_body = CreateCategory,
    responses((status = 409, body = Problem, description = "`slug_taken`"), (status = 201, body = CategoryView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Json(req): Json<CreateCategory>,
) -> Result<impl IntoResponse> {
    let mut errs = FieldErrors::new();
    let name = errs.check("name", "invalid", bounded_text(&req.name, 1, 80));
    let slug = errs.check("slug", "invalid_slug", domain::parse_slug(&req.slug));
    let (name, slug) = errs.finish_with((name, slug))?;
    let id = CategoryId::new();
    let mut tx = pool.begin().await?;
    store::lock_tree(&mut tx).await?;
    let mut path = match req.parent_id {
        Some(parent) => {
            store::category(&mut tx, parent)
                .await?
                .ok_or(Error::not_found("parent category"))?
                .path
        }
        None => Vec::new(),
    };
    path.push(id);
    let new = store::NewCategory {
        id,
        parent_id: req.parent_id,
        name: &name,
        slug: &slug,
        position: req.position,
        path: &path,
    };
    store::insert_category(&mut tx, &new)
        .await
        .map_err(slug_conflict)?;
    let v = commit_view(tx, id).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Rename a category, change its slug or its position among its siblings (admin).
#[utoipa::path(patch, path = "/api/v1/catalog/categories/{category}", tag = TAG, security(("bearer" = ["admin"])),
    params(("category" = String, Path)), request_body = UpdateCategory,
    responses((status = 409, body = Problem, description = "`slug_taken`"), (status = 200, body = CategoryView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_category(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(key): Path<String>,
    Json(req): Json<UpdateCategory>,
) -> Result<Json<CategoryView>> {
    let mut tx = pool.begin().await?;
    store::lock_tree(&mut tx).await?;
    let row = find(&mut tx, &key).await?;
    let mut errs = FieldErrors::new();
    let name = match &req.name {
        Some(n) => errs.check("name", "invalid", bounded_text(n, 1, 80)),
        None => Some(row.name.clone()),
    };
    let slug = match &req.slug {
        Some(s) => errs.check("slug", "invalid_slug", domain::parse_slug(s)),
        None => Some(row.slug.clone()),
    };
    let (name, slug) = errs.finish_with((name, slug))?;
    store::update_category(
        &mut tx,
        row.id,
        &name,
        &slug,
        req.position.unwrap_or(row.position),
    )
    .await
    .map_err(slug_conflict)?;
    Ok(Json(commit_view(tx, row.id).await?))
}

/// Move a category (and its whole subtree) under another parent, or to the root (admin).
#[utoipa::path(post, path = "/api/v1/catalog/categories/{category}/move", tag = TAG, security(("bearer" = ["admin"])),
    params(("category" = String, Path)), request_body = MoveCategory,
    responses((status = 200, body = CategoryView), (status = 404, body = Problem), (status = 409, body = Problem, description = "category_cycle")))]
async fn move_category(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(key): Path<String>,
    Json(req): Json<MoveCategory>,
) -> Result<Json<CategoryView>> {
    let mut tx = pool.begin().await?;
    store::lock_tree(&mut tx).await?;
    let row = find(&mut tx, &key).await?;
    let mut new_path = match req.parent_id {
        Some(parent) => {
            store::category(&mut tx, parent)
                .await?
                .ok_or(Error::not_found("parent category"))?
                .path
        }
        None => Vec::new(),
    };
    if !domain::can_move_under(row.id, &new_path) {
        return Err(Error::CategoryCycle);
    }
    new_path.push(row.id);
    store::move_category(
        &mut tx,
        row.id,
        req.parent_id,
        req.position,
        &row.path,
        &new_path,
    )
    .await?;
    Ok(Json(commit_view(tx, row.id).await?))
}

/// Delete an empty category (admin). One with subcategories is a 409.
#[utoipa::path(delete, path = "/api/v1/catalog/categories/{category}", tag = TAG, security(("bearer" = ["admin"])),
    params(("category" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "category_not_empty")))]
async fn delete_category(
    axum::extract::State(pool): State,
    _admin: AdminUser,
    Path(key): Path<String>,
) -> Result<StatusCode> {
    let mut tx = pool.begin().await?;
    store::lock_tree(&mut tx).await?;
    let row = find(&mut tx, &key).await?;
    if !store::children(&mut tx, row.id).await?.is_empty()
        || store::products_in_category(&mut tx, row.id).await? > 0
    {
        return Err(Error::CategoryNotEmpty);
    }
    store::delete_category(&mut tx, row.id).await.map_err(|e| {
        // A product created in it at the same moment still holds it.
        if matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23503")) {
            Error::CategoryNotEmpty
        } else {
            e.into()
        }
    })?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
