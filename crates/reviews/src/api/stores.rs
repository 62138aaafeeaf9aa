//! Stores' side: replies, their reviews to answer, their rating summary, and customers'
//! ratings of a store for each purchase.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use contracts::orders::SubOrderId;
use contracts::orders::dto::ReceivedQuery;
use contracts::reviews::ReviewId;
use contracts::reviews::dto::{
    RatingSummary, ReplyRequest, ReviewPage, ReviewView, StoreRatingRequest, StoreRatingView,
};
use contracts::reviews::events::StoreRatingChanged;
use kernel::auth::AuthUser;
use kernel::http::pagination::{Page, PageParams, time_key};
use kernel::http::{Json, Path, Problem, Query};
use kernel::ids::StoreId;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Result, State, TAG, conflict, forget, not_received, review, view};
use crate::store::{self, StoreRatingRow};
use crate::{Error, domain};

/// The store's public answer to a review (its members; admins), once per review.
#[utoipa::path(post, path = "/api/v1/reviews/reviews/{review}/reply", tag = TAG, security(("bearer" = [])),
    params(("review" = String, Path, pattern = "^rev_[0-9a-fA-F]{32}$", description = "Review id (`rev_…`)")),
    request_body = ReplyRequest,
    responses((status = 201, body = ReviewView), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "already_replied"), (status = 422, body = Problem)))]
pub(super) async fn reply(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Path(id): Path<ReviewId>,
    Json(req): Json<ReplyRequest>,
) -> Result<impl IntoResponse> {
    let body = domain::parse_reply(&req)?;
    let mut tx = reviews.pool.begin().await?;
    let row = review(&mut tx, id).await?;
    // Another store's review is as good as absent.
    if !claims.manages_store(row.store_id) {
        return Err(Error::NotFound("review"));
    }
    if !store::reply(&mut tx, row.id, claims.sub, &body).await? {
        return Err(conflict(
            "already_replied",
            "This review already has the store's reply",
        ));
    }
    let row = review(&mut tx, id).await?;
    tx.commit().await?;
    forget(&reviews, row.product_id).await;
    Ok((StatusCode::CREATED, Json(view(row, true))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreReviewParams {
    /// Only the reviews the store has not answered yet.
    #[serde(default)]
    pub unanswered: bool,
}

/// The store's reviews, newest first, hidden ones included (its members; admins).
#[utoipa::path(get, path = "/api/v1/reviews/stores/{store}/reviews", tag = TAG, security(("bearer" = ["store_member"])),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)"), StoreReviewParams, PageParams),
    responses((status = 200, body = ReviewPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn store_reviews(
    axum::extract::State(reviews): State,
    Path(store_id): Path<StoreId>,
    Query(params): Query<StoreReviewParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<ReviewPage>> {
    let limit = page.limit()?;
    let after = page.after_time()?;
    let mut conn = reviews.pool.acquire().await?;
    let rows = store::store_page(&mut conn, store_id, params.unanswered, after, limit).await?;
    let page = Page::from_rows(rows, limit, |r| time_key(r.created_at, r.id.0));
    Ok(Json(ReviewPage {
        // A moderator's reason is for the author and admins, not the store.
        items: page.items.into_iter().map(|r| view(r, false)).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// How customers rate the store (anyone).
#[utoipa::path(get, path = "/api/v1/reviews/stores/{store}/summary", tag = TAG, security(()),
    params(("store" = String, Path, pattern = "^sto_[0-9a-fA-F]{32}$", description = "Store id (`sto_…`)")),
    responses((status = 200, body = RatingSummary)))]
pub(super) async fn store_summary(
    axum::extract::State(reviews): State,
    Path(store_id): Path<StoreId>,
) -> Result<Json<RatingSummary>> {
    let mut conn = reviews.pool.acquire().await?;
    let stars = store::store_stars(&mut conn, store_id).await?;
    Ok(Json(RatingSummary::from_histogram(stars)))
}

fn rating_view(row: StoreRatingRow) -> StoreRatingView {
    StoreRatingView {
        store_id: row.store_id,
        sub_order_id: row.sub_order_id,
        rating: row.rating,
        comment: row.comment,
        created_at: row.created_at,
    }
}

/// The caller's rating of the store for this purchase (signed in); 404 when none.
#[utoipa::path(get, path = "/api/v1/reviews/sub-orders/{sub_order}/store-rating", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path, pattern = "^sub_[0-9a-fA-F]{32}$", description = "Sub-order id (`sub_…`)")),
    responses((status = 200, body = StoreRatingView), (status = 404, body = Problem)))]
pub(super) async fn my_store_rating(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Path(sub_order): Path<SubOrderId>,
) -> Result<Json<StoreRatingView>> {
    let mut conn = reviews.pool.acquire().await?;
    let row = store::store_rating(&mut conn, claims.sub, sub_order)
        .await?
        .ok_or(Error::NotFound("store rating"))?;
    Ok(Json(rating_view(row)))
}

/// Rates the store for a purchase the caller received, or changes that rating (signed
/// in): 403 `not_received` unless the sub-order is theirs and delivered.
#[utoipa::path(put, path = "/api/v1/reviews/sub-orders/{sub_order}/store-rating", tag = TAG, security(("bearer" = [])),
    params(("sub_order" = String, Path, pattern = "^sub_[0-9a-fA-F]{32}$", description = "Sub-order id (`sub_…`)")),
    request_body = StoreRatingRequest,
    responses((status = 200, body = StoreRatingView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn rate_store(
    axum::extract::State(reviews): State,
    AuthUser(claims): AuthUser,
    Path(sub_order): Path<SubOrderId>,
    Json(req): Json<StoreRatingRequest>,
) -> Result<Json<StoreRatingView>> {
    let (rating, comment) = domain::parse_store_rating(&req)?;
    let received = reviews
        .orders
        .received(&ReceivedQuery {
            customer: claims.sub,
            product: None,
            sub_order: Some(sub_order),
        })
        .await?;
    let Some(line) = received.items.first() else {
        return Err(not_received(
            "Only the customer who received this order can rate its store",
        ));
    };
    let mut tx = reviews.pool.begin().await?;
    let (row, version, histogram) = store::rate_store(
        &mut tx,
        claims.sub,
        sub_order,
        line.store_id,
        rating,
        &comment,
    )
    .await?;
    kernel::events::outbox::record(
        &mut tx,
        &StoreRatingChanged {
            store_id: line.store_id,
            version,
            histogram,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(rating_view(row)))
}
