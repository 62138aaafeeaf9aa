//! Request and answer bodies of reviews' API, public and internal.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{ReportReason, ReviewId, ReviewStatus};
use crate::catalog::ProductId;
use crate::orders::SubOrderId;
use crate::vendors::StoreId;

/// Most photos on one review.
pub const MAX_PHOTOS: usize = 5;

/// A review of a product the customer received, new or edited.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub product_id: ProductId,
    /// 1 to 5 stars.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    #[schema(schema_with = kernel::http::schema::text::<2, 120>)]
    pub title: String,
    /// Plain text (rendered escaped), at most 5 000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub body: String,
    /// Images uploaded through `POST /api/v1/catalog/media` (their `key`), at most 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub photos: Vec<String>,
}

/// A store's public answer to a review (one per review).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    #[schema(min_length = 2, max_length = 2000)]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub reason: ReportReason,
    /// What is wrong, at most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

/// An admin taking a review down.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideRequest {
    /// Shown to the author, at most 500 characters.
    #[schema(schema_with = kernel::http::schema::text::<2, 500>)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplyView {
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub store_id: StoreId,
    /// How the author appears: first name and initial ("Jane D.").
    pub author: String,
    pub rating: i32,
    pub title: String,
    pub body: String,
    /// Image keys: renditions are served at `/media/{key}-{width}.webp` (160, 480, 1200).
    pub photos: Vec<String>,
    /// Always true: only customers who received the product review it.
    pub verified_purchase: bool,
    pub helpful_count: i32,
    pub status: ReviewStatus,
    /// Why it was hidden (to its author and admins).
    pub hidden_reason: Option<String>,
    pub reply: Option<ReplyView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the author last changed it, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
}

/// Ratings of a product or a store: how many, their average, and how many of each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingSummary {
    pub count: i64,
    /// The mean rating to one decimal (0 when there is none).
    pub average: f64,
    /// How many gave 1, 2, 3, 4 and 5 stars.
    pub histogram: [i64; 5],
}

impl RatingSummary {
    /// From each star's count (1 to 5).
    pub fn from_histogram(histogram: [i64; 5]) -> Self {
        let (count, tenths) = average_tenths(&histogram);
        #[allow(clippy::cast_precision_loss)]
        let average = tenths as f64 / 10.0;
        Self {
            count,
            average,
            histogram,
        }
    }
}

/// How many rated, and their average in tenths of a star rounded half up — the one
/// rounding every summary, card and search filter uses, in integers so no two of them
/// can disagree at a boundary.
pub fn average_tenths(histogram: &[i64; 5]) -> (i64, i64) {
    let count: i64 = histogram.iter().map(|n| (*n).max(0)).sum();
    let sum: i64 = histogram
        .iter()
        .zip(1..)
        .map(|(n, stars)| (*n).max(0) * stars)
        .sum();
    // sum / count in tenths, rounded half up: (20 sum + count) / (2 count).
    let tenths = if count == 0 {
        0
    } else {
        (20 * sum + count) / (2 * count)
    };
    (count, tenths)
}

/// A product's rating summary and one page of its visible reviews.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductReviews {
    pub summary: RatingSummary,
    pub items: Vec<ReviewView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The rating summaries of several products at once (cards on a listing).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SummaryList {
    pub items: Vec<ProductSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub product_id: ProductId,
    pub summary: RatingSummary,
}

/// A customer's rating of a store for one purchase (a delivered sub-order).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRatingRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    /// At most 1 000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreRatingView {
    pub store_id: StoreId,
    pub sub_order_id: SubOrderId,
    pub rating: i32,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A review waiting for an admin: reported, or hidden and open to restoring.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModerationItem {
    pub review: ReviewView,
    pub reports: i64,
    /// The reasons given, most given first.
    pub reasons: Vec<ReportReason>,
    /// The latest report's note, if any.
    pub latest_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModerationQueue {
    pub items: Vec<ModerationItem>,
    pub next_cursor: Option<String>,
}

/// The caller's vote on a review: helpful, or (`false`) their vote withdrawn.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    pub helpful: bool,
}

/// How many found a review helpful, after the caller's vote.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Helpful {
    pub helpful_count: i32,
}

/// A page of reviews (a store's, a customer's own).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<ReviewView>,
    pub next_cursor: Option<String>,
}

/// A product's ratings as they now are, for a search replica catching up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductRatingState {
    pub product_id: ProductId,
    pub version: i64,
    pub histogram: [i64; 5],
}

/// One page of every product's ratings, in product id order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingExportPage {
    pub items: Vec<ProductRatingState>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<ProductId>,
}

/// The caller's own review of a product, and whether they may write one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyReview {
    /// True when the caller received the product (a delivered sub-order line).
    pub eligible: bool,
    pub review: Option<ReviewView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_average_to_one_decimal() {
        let s = RatingSummary::from_histogram([0, 0, 1, 1, 1]);
        assert_eq!((s.count, s.average), (3, 4.0));
        let s = RatingSummary::from_histogram([1, 0, 0, 0, 2]);
        assert!((s.average - 3.7).abs() < 1e-9);
        assert_eq!(RatingSummary::from_histogram([0; 5]).average, 0.0);
    }
}
