//! A product's reviews and summary, the customer's own review, votes and reports.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::catalog::ProductId;
use contracts::catalog::media::rendition_name;
use contracts::orders::dto::ReceivedQuery;
use contracts::reviews::dto::{
    Helpful, MyReview, ProductReviews, ProductSummary, RatingSummary, ReportRequest, ReviewRequest,
    ReviewView, SummaryList, VoteRequest,
};
use contracts::reviews::events::ReviewPosted;
use contracts::reviews::{ReviewId, ReviewOrder, ReviewStatus};
use kernel::auth::{AuthUser, Claims, bearer_token};
use kernel::http::pagination::{MAX_LIMIT, PageParams};
use kernel::http::{FieldError, Json, Path, Problem, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    Result, State, TAG, conflict, forget, generation_key, not_received, publish_rating, review,
    view,
};
use crate::domain::{self, Draft};
use crate::store::{self, NewReview};
use crate::{Error, Reviews};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewListParams {
    /// `helpful` (default), `newest`, `highest` or `lowest`.
    pub order: Option<ReviewOrder>,
    /// Only reviews with this many stars, 1 to 5.
    #[param(minimum = 1, maximum = 5)]
    pub stars: Option<i32>,
}

/// A product's rating summary and its visible reviews (anyone).
#[utoipa::path(get, path = "/api/v1/reviews/products/{product}", tag = TAG, security(()),
    params(("product" = String, Path, pattern = "^prd_[0-9a-fA-F]{32}$", description = "Product id (`prd_…`)"), ReviewListParams, PageParams),
    responses((status = 200, body = ProductReviews), (status = 422, body = Problem)))]
pub(super) async fn product_reviews(
    axum::extract::State(reviews): State,
    Path(product): Path<ProductId>,
    Query(params): Query<ReviewListParams>,
    Query(page): Query<PageParams>,
) -> Result<Response> {
    let limit = page.limit()?;
    let after = page.after::<store::ReviewKey>()?;
    // What every product page asks for, cached: the first page, most helpful first.
    let first_page = after.is_none()
        && params.stars.is_none()
        && params.order.unwrap_or_default() == ReviewOrder::Helpful
        && page.limit.is_none();
    let cache_key = if first_page {
        // The generation is read before the database: a change committed meanwhile
        // bumps it, so what is read now is filed under a generation nobody asks for.
        let generation = reviews.cache.generation(&generation_key(product)).await;
        let key = format!("reviews:first-page:{product}:{generation}");
        let cached = reviews.cache.get(&key).await;
        kernel::cache::record_lookup("product_reviews", cached.is_some());
        if let Some(bytes) = cached {
            return Ok(json_bytes(bytes.to_vec()));
        }
        Some(key)
    } else {
        None
    };
    if params.stars.is_some_and(|s| !(1..=5).contains(&s)) {
        return Err(Problem::validation(vec![FieldError::new(
            "stars",
            "out_of_range",
            "must be from 1 to 5",
        )])
        .into());
    }
    let mut conn = reviews.pool.acquire().await?;
    let order = params.order.unwrap_or_default();
    let rows = store::product_page(&mut conn, product, order, params.stars, after, limit).await?;
    let page = kernel::http::pagination::Page::from_rows(rows, limit, |(_, key)| *key);
    let stars = store::product_stars(&mut conn, &[product]).await?;
    let summary = stars
        .first()
        .map(|(_, h)| RatingSummary::from_histogram(*h))
        .unwrap_or_default();
    let answer = ProductReviews {
        summary,
        items: page
            .items
            .into_iter()
            .map(|(r, _)| view(r, false))
            .collect(),
        next_cursor: page.next_cursor,
    };
    let bytes = serde_json::to_vec(&answer).map_err(|e| Error::Internal(e.into()))?;
    if let Some(key) = cache_key {
        reviews.cache.put(&key, Arc::from(bytes.as_slice())).await;
    }
    Ok(json_bytes(bytes))
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Comma-separated product ids (`prd_…`), at most 100.
    #[param(pattern = "^prd_[0-9a-fA-F]{32}(,prd_[0-9a-fA-F]{32}){0,99}$")]
    pub products: String,
}

/// The rating summaries of several products at once, for cards on a listing (anyone);
/// a product without ratings is left out.
#[utoipa::path(get, path = "/api/v1/reviews/summaries", tag = TAG, security(()), params(SummaryParams),
    responses((status = 200, body = SummaryList), (status = 422, body = Problem)))]
pub(super) async fn summaries(
    axum::extract::State(reviews): State,
    Query(params): Query<SummaryParams>,
) -> Result<Json<SummaryList>> {
    let ids: Vec<ProductId> = params
        .products
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| invalid_products("must be product ids (prd_…) separated by commas"))?;
    if ids.is_empty() || ids.len() > MAX_LIMIT as usize {
        return Err(invalid_products("must name 1 to 100 products").into());
    }
    let mut conn = reviews.pool.acquire().await?;
    let items = store::product_stars(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|(product_id, h)| ProductSummary {
            product_id,
            summary: RatingSummary::from_histogram(h),
        })
        .collect();
    Ok(Json(SummaryList { items }))
}

fn invalid_products(message: &str) -> Problem {
    Problem::validation(vec![FieldError::new("products", "invalid", message)])
}

/// The delivered sub-order through which the customer received the product (the most
/// recent), if any.
async fn received(
    reviews: &Reviews,
    claims: &Claims,
    product: ProductId,
) -> Result<Option<contracts::orders::dto::ReceivedLine>> {
    let list = reviews
        .orders
        .received(&ReceivedQuery {
            customer: claims.sub,
            product: Some(product),
            sub_order: None,
        })
        .await?;
    Ok(list.items.into_iter().max_by_key(|l| l.delivered_at))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MineParams {
    /// The product (`prd_…`).
    pub product: ProductId,
}

/// The caller's review of a product, and whether they may write one (signed in).
#[utoipa::path(get, path = "/api/v1/reviews/mine", tag = TAG, security(("bearer" = [])), params(MineParams),
    responses((status = 200, body = MyReview), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn my_review(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Query(params): Query<MineParams>,
) -> Result<Json<MyReview>> {
    let mut conn = reviews.pool.acquire().await?;
    let own = store::by_author(&mut conn, claims.sub, params.product).await?;
    drop(conn);
    let eligible = own.is_some() || received(&reviews, &claims, params.product).await?.is_some();
    Ok(Json(MyReview {
        eligible,
        review: own.map(|r| view(r, true)),
    }))
}

/// Writes the caller's review of a product they received, or changes it: one review
/// per customer and product (signed in). 201 when new, 200 when changed; 403
/// `not_received` when no delivered order of theirs holds the product.
#[utoipa::path(put, path = "/api/v1/reviews/mine", tag = TAG, security(("bearer" = [])),
    request_body = ReviewRequest,
    responses((status = 200, body = ReviewView), (status = 201, body = ReviewView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "validation_failed, unknown_photo")))]
pub(super) async fn write_review(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    Json(req): Json<ReviewRequest>,
) -> Result<impl IntoResponse> {
    let product = req.product_id;
    let draft = domain::parse_review(&req)?;
    check_photos(&reviews, &draft).await?;
    let Some(line) = received(&reviews, &claims, product).await? else {
        return Err(not_received(
            "Only customers who received this product can review it",
        ));
    };
    let author = author_name(&reviews, &headers).await?;
    let mut tx = reviews.pool.begin().await?;
    let version = store::lock_product_rating(&mut tx, product, line.store_id).await?;
    let existing = store::by_author(&mut tx, claims.sub, product).await?;
    let (id, created) = match existing {
        Some(row) => {
            store::edit(&mut tx, row.id, &author, &draft).await?;
            (row.id, false)
        }
        None => {
            let id = ReviewId::new();
            let new = NewReview {
                id,
                product_id: product,
                store_id: line.store_id,
                customer: claims.sub,
                sub_order_id: line.sub_order_id,
                author_name: &author,
                draft: &draft,
            };
            if !store::insert(&mut tx, &new).await? {
                // The product's row lock orders reviews of one product; only a bug
                // could get here.
                return Err(conflict(
                    "already_reviewed",
                    "You already reviewed this product",
                ));
            }
            kernel::events::outbox::record(
                &mut tx,
                &ReviewPosted {
                    review_id: id,
                    product_id: product,
                    store_id: line.store_id,
                    rating: draft.rating,
                    title: draft.title.clone(),
                },
            )
            .await?;
            (id, true)
        }
    };
    let row = review(&mut tx, id).await?;
    if row.status == ReviewStatus::Visible {
        publish_rating(&mut tx, product, row.store_id, version).await?;
    }
    tx.commit().await?;
    forget(&reviews, product).await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(row, true))))
}

/// Every photo must be an image uploaded through catalog's media pipeline.
async fn check_photos(reviews: &Reviews, draft: &Draft) -> Result<()> {
    let mut errors = Vec::new();
    for (i, key) in draft.photos.iter().enumerate() {
        let exists = reviews
            .media
            .exists(&rendition_name(key, 480))
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        if !exists {
            errors.push(FieldError::new(
                format!("photos[{i}]"),
                "unknown_photo",
                "upload the image first (POST /api/v1/catalog/media)",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors).into())
    }
}

/// The name the author's reviews show, from their profile.
async fn author_name(reviews: &Reviews, headers: &HeaderMap) -> Result<String> {
    let token = bearer_token(headers).unwrap_or_default();
    let me = reviews.identity.me(token).await?;
    Ok(domain::public_name(&me.name))
}

/// Votes a review helpful, or withdraws the caller's vote (signed in; not its author).
/// Voting twice counts once.
#[utoipa::path(put, path = "/api/v1/reviews/reviews/{review}/vote", tag = TAG, security(("bearer" = [])),
    params(("review" = String, Path, pattern = "^rev_[0-9a-fA-F]{32}$", description = "Review id (`rev_…`)")),
    request_body = VoteRequest,
    responses((status = 200, body = Helpful), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn vote(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<ReviewId>,
    Json(req): Json<VoteRequest>,
) -> Result<Json<Helpful>> {
    let mut tx = reviews.pool.begin().await?;
    let row = review(&mut tx, id).await?;
    if row.status != ReviewStatus::Visible {
        return Err(Error::NotFound("review"));
    }
    if !domain::may_vote(row.customer.0, claims.sub.0) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "own_review",
            "You cannot vote for your own review",
        )
        .into());
    }
    // A store's people would push their best reviews up.
    if claims.manages_store(row.store_id) && !claims.is_admin() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "own_store",
            "You cannot vote for a review of your own store",
        )
        .into());
    }
    let helpful_count = store::vote(&mut tx, id, claims.sub, req.helpful).await?;
    tx.commit().await?;
    forget(&reviews, row.product_id).await;
    Ok(Json(Helpful { helpful_count }))
}

/// Reports a review to the moderators (signed in). Reporting again replaces the
/// caller's earlier report.
#[utoipa::path(post, path = "/api/v1/reviews/reviews/{review}/reports", tag = TAG, security(("bearer" = [])),
    params(("review" = String, Path, pattern = "^rev_[0-9a-fA-F]{32}$", description = "Review id (`rev_…`)")),
    request_body = ReportRequest,
    responses((status = 202), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn report(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<ReviewId>,
    Json(req): Json<ReportRequest>,
) -> Result<StatusCode> {
    let (reason, note) = domain::parse_report(&req)?;
    let mut conn = reviews.pool.acquire().await?;
    let row = review(&mut conn, id).await?;
    if row.status != ReviewStatus::Visible {
        return Err(Error::NotFound("review"));
    }
    store::report(&mut conn, id, claims.sub, reason, &note).await?;
    Ok(StatusCode::ACCEPTED)
}
