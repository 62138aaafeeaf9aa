//! The typed client the web front end uses to call reviews.

use kernel::http::client::{ClientError, ServiceClient};
use kernel::ids::StoreId;

use super::dto::{
    Helpful, HideRequest, ModerationQueue, MyReview, ProductReviews, RatingExportPage,
    RatingSummary, ReplyRequest, ReportRequest, ReviewPage, ReviewRequest, ReviewView,
    StoreRatingRequest, StoreRatingView, SummaryList, VoteRequest,
};
use super::{ReviewId, ReviewOrder};
use crate::catalog::ProductId;
use crate::orders::SubOrderId;

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct ReviewsClient {
    http: ServiceClient,
}

/// `?order=…&stars=…&cursor=…` as the API spells them.
#[derive(serde::Serialize)]
struct ListQuery<'a> {
    order: ReviewOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    stars: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
}

impl ReviewsClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn product(
        &self,
        product: ProductId,
        order: ReviewOrder,
        stars: Option<i32>,
        cursor: Option<&str>,
    ) -> Result<ProductReviews> {
        let query = serde_urlencoded::to_string(ListQuery {
            order,
            stars,
            cursor,
        })
        .unwrap_or_default();
        self.http
            .get(&format!("/api/v1/reviews/products/{product}?{query}"))
            .send()
            .await
    }

    /// Summaries of up to 100 products (those without ratings are left out).
    pub async fn summaries(&self, products: &[ProductId]) -> Result<SummaryList> {
        let ids: Vec<String> = products.iter().map(ToString::to_string).collect();
        self.http
            .get(&format!(
                "/api/v1/reviews/summaries?products={}",
                ids.join(",")
            ))
            .send()
            .await
    }

    pub async fn mine(&self, token: &str, product: ProductId) -> Result<MyReview> {
        self.http
            .get(&format!("/api/v1/reviews/mine?product={product}"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn write(&self, token: &str, req: &ReviewRequest) -> Result<ReviewView> {
        self.http
            .put("/api/v1/reviews/mine")
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn vote(&self, token: &str, review: ReviewId, helpful: bool) -> Result<Helpful> {
        self.http
            .put(&format!("/api/v1/reviews/reviews/{review}/vote"))
            .bearer(token)
            .json(&VoteRequest { helpful })
            .send()
            .await
    }

    pub async fn report(&self, token: &str, review: ReviewId, req: &ReportRequest) -> Result<()> {
        self.http
            .post(&format!("/api/v1/reviews/reviews/{review}/reports"))
            .bearer(token)
            .json(req)
            .send_empty()
            .await
    }

    pub async fn reply(&self, token: &str, review: ReviewId, body: &str) -> Result<ReviewView> {
        self.http
            .post(&format!("/api/v1/reviews/reviews/{review}/reply"))
            .bearer(token)
            .json(&ReplyRequest { body: body.into() })
            .send()
            .await
    }

    pub async fn store_reviews(
        &self,
        token: &str,
        store: StoreId,
        unanswered: bool,
        cursor: Option<&str>,
    ) -> Result<ReviewPage> {
        let mut path = format!("/api/v1/reviews/stores/{store}/reviews?unanswered={unanswered}");
        if let Some(cursor) = cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        self.http.get(&path).bearer(token).send().await
    }

    pub async fn store_summary(&self, store: StoreId) -> Result<RatingSummary> {
        self.http
            .get(&format!("/api/v1/reviews/stores/{store}/summary"))
            .send()
            .await
    }

    pub async fn rate_store(
        &self,
        token: &str,
        sub_order: SubOrderId,
        req: &StoreRatingRequest,
    ) -> Result<StoreRatingView> {
        self.http
            .put(&format!(
                "/api/v1/reviews/sub-orders/{sub_order}/store-rating"
            ))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// Every product's ratings, a page at a time (internal: search catching up).
    pub async fn rating_export(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<RatingExportPage> {
        let mut path = format!("/internal/reviews/product-ratings?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        self.http.get(&path).send().await
    }

    /// The moderation queue: reported reviews, or (`hidden`) those taken down.
    pub async fn queue(&self, token: &str, hidden: bool) -> Result<ModerationQueue> {
        let state = if hidden { "hidden" } else { "reported" };
        self.http
            .get(&format!("/api/v1/reviews/admin/queue?state={state}"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn hide(&self, token: &str, review: ReviewId, reason: &str) -> Result<ReviewView> {
        self.http
            .post(&format!("/api/v1/reviews/admin/reviews/{review}/hide"))
            .bearer(token)
            .json(&HideRequest {
                reason: reason.into(),
            })
            .send()
            .await
    }

    pub async fn restore(&self, token: &str, review: ReviewId) -> Result<ReviewView> {
        self.http
            .post(&format!("/api/v1/reviews/admin/reviews/{review}/restore"))
            .bearer(token)
            .json(&serde_json::json!({}))
            .send()
            .await
    }
}
