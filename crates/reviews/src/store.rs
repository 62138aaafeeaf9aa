//! Reviews' SQL: reviews with their replies, votes and reports, and the per-star counts
//! of products and stores, recounted in the transaction that changes them.

use contracts::catalog::ProductId;
use contracts::orders::SubOrderId;
use contracts::reviews::{ReportReason, ReviewId, ReviewOrder, ReviewStatus};
use kernel::ids::{StoreId, UserId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::Draft;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub customer: UserId,
    pub author_name: String,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub photos: Vec<String>,
    pub status: ReviewStatus,
    pub hidden_reason: Option<String>,
    pub helpful_count: i32,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub reply_body: Option<String>,
    pub reply_at: Option<OffsetDateTime>,
}

macro_rules! select_review {
    () => {
        "SELECT r.id, r.product_id, r.store_id, r.customer, r.author_name, r.rating, \
         r.title, r.body, r.photos, r.status, r.hidden_reason, r.helpful_count, r.created_at, r.edited_at, \
         p.body AS reply_body, p.created_at AS reply_at"
    };
}
macro_rules! review_from {
    () => {
        "FROM reviews r LEFT JOIN review_replies p ON p.review_id = r.id"
    };
}
const REVIEW_FROM: &str = review_from!();
const SELECT_REVIEW: &str = concat!(select_review!(), " ", review_from!());

pub async fn get(conn: &mut PgConnection, id: ReviewId) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_REVIEW} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn by_author(
    conn: &mut PgConnection,
    customer: UserId,
    product: ProductId,
) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_REVIEW} WHERE r.customer = $1 AND r.product_id = $2"
    ))
    .bind(customer)
    .bind(product)
    .fetch_optional(conn)
    .await
}

/// What a new review records besides its text.
pub struct NewReview<'a> {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub customer: UserId,
    pub sub_order_id: SubOrderId,
    pub author_name: &'a str,
    pub draft: &'a Draft,
}

/// Inserts the review; false when the customer already reviewed the product (a
/// concurrent first review won).
pub async fn insert(conn: &mut PgConnection, r: &NewReview<'_>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO reviews (id, product_id, store_id, customer, sub_order_id, author_name, rating, title, body, photos) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (customer, product_id) DO NOTHING",
    )
    .bind(r.id)
    .bind(r.product_id)
    .bind(r.store_id)
    .bind(r.customer)
    .bind(r.sub_order_id)
    .bind(r.author_name)
    .bind(r.draft.rating)
    .bind(&r.draft.title)
    .bind(&r.draft.body)
    .bind(&r.draft.photos)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn edit(
    conn: &mut PgConnection,
    id: ReviewId,
    author_name: &str,
    draft: &Draft,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE reviews SET author_name = $2, rating = $3, title = $4, body = $5, photos = $6, edited_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .bind(author_name)
    .bind(draft.rating)
    .bind(&draft.title)
    .bind(&draft.body)
    .bind(&draft.photos)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a page of a product's reviews starts: after this sort key, time and id.
pub type ReviewKey = (i64, i64, Uuid);

/// One page (`limit + 1` rows) of a product's visible reviews in `order`, optionally
/// only those with `stars`.
pub async fn product_page(
    conn: &mut PgConnection,
    product: ProductId,
    order: ReviewOrder,
    stars: Option<i32>,
    after: Option<ReviewKey>,
    limit: u32,
) -> Result<Vec<(ReviewRow, ReviewKey)>, sqlx::Error> {
    // One descending key for every order, so one keyset comparison pages them all.
    let sort = match order {
        ReviewOrder::Helpful => "r.helpful_count::bigint",
        ReviewOrder::Newest => "0::bigint",
        ReviewOrder::Highest => "r.rating::bigint",
        ReviewOrder::Lowest => "-r.rating::bigint",
    };
    let (key, at, id) = after.unwrap_or((i64::MAX, i64::MAX, Uuid::max()));
    let rows: Vec<ReviewRowWithKey> = sqlx::query_as(&format!(
        "SELECT * FROM ({columns}, {sort} AS sort_key, \
                (extract(epoch FROM r.created_at) * 1000000)::bigint AS at_micros {REVIEW_FROM} \
                WHERE r.product_id = $1 AND r.status = 'visible' \
                  AND ($2::integer IS NULL OR r.rating = $2)) k \
         WHERE (sort_key, at_micros, id) < ($3, $4, $5) \
         ORDER BY sort_key DESC, at_micros DESC, id DESC LIMIT $6",
        columns = select_review!()
    ))
    .bind(product)
    .bind(stars)
    .bind(key)
    .bind(at)
    .bind(id)
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.review.id.0;
            (r.review, (r.sort_key, r.at_micros, id))
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ReviewRowWithKey {
    #[sqlx(flatten)]
    review: ReviewRow,
    sort_key: i64,
    at_micros: i64,
}

/// A store's reviews, newest first; only those it has not answered when `unanswered`.
pub async fn store_page(
    conn: &mut PgConnection,
    store: StoreId,
    unanswered: bool,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: u32,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let (at, id) = after.unwrap_or((
        OffsetDateTime::now_utc() + time::Duration::days(1),
        Uuid::max(),
    ));
    sqlx::query_as(&format!(
        "{SELECT_REVIEW} WHERE r.store_id = $1 AND (NOT $2 OR p.review_id IS NULL) \
         AND (r.created_at, r.id) < ($3, $4) ORDER BY r.created_at DESC, r.id DESC LIMIT $5"
    ))
    .bind(store)
    .bind(unanswered)
    .bind(at)
    .bind(id)
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await
}

/// Records the store's answer; false when the review already has one.
pub async fn reply(
    conn: &mut PgConnection,
    review: ReviewId,
    author: UserId,
    body: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO review_replies (review_id, author, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(review)
    .bind(author)
    .bind(body)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Adds (`helpful`) or withdraws the voter's vote; the review's count follows in the
/// same transaction. Answers the count.
pub async fn vote(
    conn: &mut PgConnection,
    review: ReviewId,
    voter: UserId,
    helpful: bool,
) -> Result<i32, sqlx::Error> {
    let changed = if helpful {
        sqlx::query(
            "INSERT INTO review_votes (review_id, voter) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
    } else {
        sqlx::query("DELETE FROM review_votes WHERE review_id = $1 AND voter = $2")
    }
    .bind(review)
    .bind(voter)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let delta: i32 = match (changed, helpful) {
        (0, _) => 0,
        (_, true) => 1,
        (_, false) => -1,
    };
    sqlx::query_scalar(
        "UPDATE reviews SET helpful_count = helpful_count + $2 WHERE id = $1 RETURNING helpful_count",
    )
    .bind(review)
    .bind(delta)
    .fetch_one(conn)
    .await
}

/// Records the reporter's report, or replaces their open one; once an admin decided
/// the review, the same person reporting again changes nothing (no reopening a
/// decision by insisting).
pub async fn report(
    conn: &mut PgConnection,
    review: ReviewId,
    reporter: UserId,
    reason: ReportReason,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO review_reports (review_id, reporter, reason, note) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (review_id, reporter) DO UPDATE \
         SET reason = EXCLUDED.reason, note = EXCLUDED.note, created_at = now() \
         WHERE review_reports.resolved_at IS NULL",
    )
    .bind(review)
    .bind(reporter)
    .bind(reason)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets what an admin decided and closes the review's open reports.
pub async fn decide(
    conn: &mut PgConnection,
    review: ReviewId,
    status: ReviewStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE reviews SET status = $2, hidden_reason = $3 WHERE id = $1")
        .bind(review)
        .bind(status)
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE review_reports SET resolved_at = now() WHERE review_id = $1 AND resolved_at IS NULL")
        .bind(review)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct QueueRow {
    #[sqlx(flatten)]
    pub review: ReviewRow,
    pub reports: i64,
    /// Open reports' reasons, newest first (`ReportReason` spellings).
    pub reasons: Vec<String>,
    pub latest_note: Option<String>,
    pub latest_at: OffsetDateTime,
}

/// Reviews with open reports (most reported, then most recently reported, first), or
/// the hidden ones (most recent first).
pub async fn queue(
    conn: &mut PgConnection,
    hidden: bool,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: u32,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    let (at, id) = after.unwrap_or((
        OffsetDateTime::now_utc() + time::Duration::days(1),
        Uuid::max(),
    ));
    sqlx::query_as(&format!(
        "SELECT q.*, coalesce(o.reports, 0) AS reports, coalesce(o.reasons, '{{}}') AS reasons, \
                o.latest_note, coalesce(o.latest_at, q.created_at) AS latest_at \
         FROM ({SELECT_REVIEW}) q \
         LEFT JOIN LATERAL ( \
             SELECT count(*) AS reports, \
                    array_agg(reason ORDER BY created_at DESC) AS reasons, \
                    (array_agg(nullif(note, '') ORDER BY created_at DESC))[1] AS latest_note, \
                    max(created_at) AS latest_at \
             FROM review_reports WHERE review_id = q.id AND resolved_at IS NULL) o ON true \
         WHERE CASE WHEN $1 THEN q.status = 'hidden' ELSE coalesce(o.reports, 0) > 0 END \
           AND (coalesce(o.latest_at, q.created_at), q.id) < ($2, $3) \
         ORDER BY coalesce(o.latest_at, q.created_at) DESC, q.id DESC LIMIT $4"
    ))
    .bind(hidden)
    .bind(at)
    .bind(id)
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await
}

/// How many rows of `rating` 1 to 5 there are, as a `bigint[5]`.
const STARS: &str = "ARRAY[count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2), \
     count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4), \
     count(*) FILTER (WHERE rating = 5)]";

/// Takes the product's summary row (made on its first review) for this transaction,
/// so concurrent changes recount one after another; answers its next version.
pub async fn lock_product_rating(
    conn: &mut PgConnection,
    product: ProductId,
    store: StoreId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO product_ratings (product_id, store_id, version) VALUES ($1, $2, 1) \
         ON CONFLICT (product_id) DO UPDATE SET version = product_ratings.version + 1 RETURNING version",
    )
    .bind(product)
    .bind(store)
    .fetch_one(conn)
    .await
}

/// Recounts the product's visible ratings (after `lock_product_rating`).
pub async fn recount_product(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<[i64; 5], sqlx::Error> {
    let stars: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE product_ratings SET stars = (SELECT {STARS} \
               FROM reviews WHERE product_id = $1 AND status = 'visible') \
             WHERE product_id = $1 RETURNING stars"
    ))
    .bind(product)
    .fetch_one(conn)
    .await?;
    Ok(five(&stars))
}

fn five(stars: &[i64]) -> [i64; 5] {
    let mut out = [0; 5];
    for (slot, n) in out.iter_mut().zip(stars) {
        *slot = *n;
    }
    out
}

/// One page (`limit + 1` rows) of every product's summary with its version, after
/// `after`, by product id.
pub async fn rating_export(
    conn: &mut PgConnection,
    after: Option<ProductId>,
    limit: u32,
) -> Result<Vec<(ProductId, i64, [i64; 5])>, sqlx::Error> {
    let rows: Vec<(ProductId, i64, Vec<i64>)> = sqlx::query_as(
        "SELECT product_id, version, stars FROM product_ratings \
         WHERE $1::uuid IS NULL OR product_id > $1 ORDER BY product_id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(p, v, s)| (p, v, five(&s))).collect())
}

pub async fn product_stars(
    conn: &mut PgConnection,
    products: &[ProductId],
) -> Result<Vec<(ProductId, [i64; 5])>, sqlx::Error> {
    let rows: Vec<(ProductId, Vec<i64>)> =
        sqlx::query_as("SELECT product_id, stars FROM product_ratings WHERE product_id = ANY($1)")
            .bind(products.iter().map(|p| p.0).collect::<Vec<_>>())
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(p, s)| (p, five(&s))).collect())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreRatingRow {
    pub sub_order_id: SubOrderId,
    pub store_id: StoreId,
    pub rating: i32,
    pub comment: String,
    pub created_at: OffsetDateTime,
}

pub async fn store_rating(
    conn: &mut PgConnection,
    customer: UserId,
    sub_order: SubOrderId,
) -> Result<Option<StoreRatingRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT sub_order_id, store_id, rating, comment, created_at FROM store_ratings \
         WHERE sub_order_id = $1 AND customer = $2",
    )
    .bind(sub_order)
    .bind(customer)
    .fetch_optional(conn)
    .await
}

/// Rates the store for the purchase, or changes the rating; recounts the store's
/// totals in the same transaction and answers them with their version.
pub async fn rate_store(
    conn: &mut PgConnection,
    customer: UserId,
    sub_order: SubOrderId,
    store: StoreId,
    rating: i32,
    comment: &str,
) -> Result<(StoreRatingRow, i64, [i64; 5]), sqlx::Error> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO store_rating_totals (store_id, version) VALUES ($1, 1) \
         ON CONFLICT (store_id) DO UPDATE SET version = store_rating_totals.version + 1 RETURNING version",
    )
    .bind(store)
    .fetch_one(&mut *conn)
    .await?;
    let row: StoreRatingRow = sqlx::query_as(
        "INSERT INTO store_ratings (sub_order_id, store_id, customer, rating, comment) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sub_order_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, edited_at = now() \
         RETURNING sub_order_id, store_id, rating, comment, created_at",
    )
    .bind(sub_order)
    .bind(store)
    .bind(customer)
    .bind(rating)
    .bind(comment)
    .fetch_one(&mut *conn)
    .await?;
    let stars: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE store_rating_totals SET stars = (SELECT {STARS} \
               FROM store_ratings WHERE store_id = $1) \
             WHERE store_id = $1 RETURNING stars"
    ))
    .bind(store)
    .fetch_one(conn)
    .await?;
    Ok((row, version, five(&stars)))
}

pub async fn store_stars(conn: &mut PgConnection, store: StoreId) -> Result<[i64; 5], sqlx::Error> {
    let stars: Option<Vec<i64>> =
        sqlx::query_scalar("SELECT stars FROM store_rating_totals WHERE store_id = $1")
            .bind(store)
            .fetch_optional(conn)
            .await?;
    Ok(stars.map_or([0; 5], |s| five(&s)))
}
