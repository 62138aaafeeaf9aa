//! Reviews' HTTP API under `/api/v1/reviews`: a product's reviews and summary for
//! everyone, the customer's own review and store ratings, votes and reports for anyone
//! signed in, replies and lists for stores, and the moderation queue for admins.

mod internal;
mod moderation;
mod products;
mod stores;

use axum::http::StatusCode;
use contracts::catalog::ProductId;
use contracts::reviews::dto::{RatingSummary, ReplyView, ReviewView};
use contracts::reviews::events::ProductRatingChanged;
use kernel::http::Problem;
use sqlx::PgConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::{self, ReviewRow};
use crate::{Error, Reviews};

const TAG: &str = "reviews";

type State = axum::extract::State<Reviews>;
type Result<T> = std::result::Result<T, Error>;

pub(crate) fn router(reviews: Reviews) -> OpenApiRouter {
    OpenApiRouter::<Reviews>::new()
        .routes(routes!(products::product_reviews))
        .routes(routes!(products::summaries))
        .routes(routes!(products::my_review, products::write_review))
        .routes(routes!(products::vote))
        .routes(routes!(products::report))
        .routes(routes!(stores::reply))
        .routes(routes!(stores::store_reviews))
        .routes(routes!(stores::store_summary))
        .routes(routes!(stores::my_store_rating, stores::rate_store))
        .routes(routes!(moderation::queue))
        .routes(routes!(moderation::hide))
        .routes(routes!(moderation::restore))
        .routes(routes!(internal::product_ratings))
        .with_state(reviews)
}

/// A review as the API shows it; `hidden_reason` only to those allowed to see it.
fn view(row: ReviewRow, show_reason: bool) -> ReviewView {
    ReviewView {
        id: row.id,
        product_id: row.product_id,
        store_id: row.store_id,
        author: row.author_name,
        rating: row.rating,
        title: row.title,
        body: row.body,
        photos: row.photos,
        verified_purchase: true,
        helpful_count: row.helpful_count,
        status: row.status,
        hidden_reason: row.hidden_reason.filter(|_| show_reason),
        reply: row
            .reply_body
            .zip(row.reply_at)
            .map(|(body, created_at)| ReplyView { body, created_at }),
        created_at: row.created_at,
        edited_at: row.edited_at,
    }
}

/// The generation of a product's cached first page: bumped by every change that could
/// alter it, so a page cached before the change is never served after it.
fn generation_key(product: ProductId) -> String {
    format!("reviews:generation:{product}")
}

/// Drops the product's cached first page. Call after the change committed.
async fn forget(reviews: &Reviews, product: ProductId) {
    reviews.cache.bump(&generation_key(product)).await;
}

/// The review the path names, or 404.
async fn review(conn: &mut PgConnection, id: contracts::reviews::ReviewId) -> Result<ReviewRow> {
    store::get(conn, id).await?.ok_or(Error::NotFound("review"))
}

/// Recounts the product's visible ratings and records the event that publishes them.
/// Call inside the transaction that changed a review, after `lock_product_rating`.
async fn publish_rating(
    conn: &mut PgConnection,
    product: ProductId,
    store_id: kernel::ids::StoreId,
    version: i64,
) -> Result<RatingSummary> {
    let histogram = store::recount_product(conn, product).await?;
    kernel::events::outbox::record(
        conn,
        &ProductRatingChanged {
            product_id: product,
            store_id,
            version,
            histogram,
        },
    )
    .await?;
    Ok(RatingSummary::from_histogram(histogram))
}

/// 403 `not_received`: the caller has no delivered order of what they would rate.
fn not_received(title: &str) -> Error {
    Problem::new(StatusCode::FORBIDDEN, "not_received", title).into()
}

fn conflict(code: &str, title: &str) -> Error {
    Problem::new(StatusCode::CONFLICT, code, title).into()
}
