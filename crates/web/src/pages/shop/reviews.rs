//! Reviews on a product's page: the summary, the most helpful reviews with the store's
//! replies, and the signed-in customer's own review form; votes and reports.

use axum::extract::State;
use axum::response::Response;
use contracts::catalog::ProductId;
use contracts::catalog::dto::ProductView;
use contracts::reviews::dto::{
    RatingSummary, ReportRequest, ReviewRequest, ReviewView, StoreRatingRequest,
};
use contracts::reviews::{ReportReason, ReviewId, ReviewOrder};
use kernel::http::client::ClientError;

use super::image_url;
use crate::WebState;
use crate::pages::{PagePath, redirect_with_flash, refusal, require_user, safe_next};
use crate::session::{CsrfForm, CsrfUpload, CurrentUser, PageContext};

/// "★★★★☆" for 4 stars (the number is also given in words for screen readers).
pub fn stars(rating: i32) -> String {
    let full = usize::try_from(rating.clamp(0, 5)).unwrap_or(0);
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

/// The stars an average rounds to.
pub fn stars_for(average: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    stars(average.round() as i32)
}

/// The summary as the page shows it: the average, and a bar per star.
pub struct SummaryView {
    pub count: i64,
    pub average: String,
    pub stars: String,
    /// (stars, how many, percent of all), 5 stars first.
    pub bars: Vec<(i32, i64, i64)>,
}

impl SummaryView {
    pub fn of(s: &RatingSummary) -> Self {
        let bars = (1..=5)
            .rev()
            .map(|star: i32| {
                let n = s.histogram[usize::try_from(star - 1).unwrap_or(0)];
                let percent = if s.count == 0 { 0 } else { n * 100 / s.count };
                (star, n, percent)
            })
            .collect();
        Self {
            count: s.count,
            average: format!("{:.1}", s.average),
            stars: stars_for(s.average),
            bars,
        }
    }
}

pub struct ReviewCard {
    pub id: String,
    pub rating: i32,
    pub stars: String,
    pub title: String,
    pub author: String,
    pub date: String,
    pub body: String,
    /// (thumbnail, large) addresses.
    pub photos: Vec<(String, String)>,
    pub helpful: i32,
    pub reply: Option<(String, String)>,
    pub edited: bool,
}

impl ReviewCard {
    pub fn of(r: &ReviewView) -> Self {
        Self {
            id: r.id.to_string(),
            rating: r.rating,
            stars: stars(r.rating),
            title: r.title.clone(),
            author: r.author.clone(),
            date: r.created_at.date().to_string(),
            body: r.body.clone(),
            photos: r
                .photos
                .iter()
                .map(|k| (image_url(k, 160), image_url(k, 1200)))
                .collect(),
            helpful: r.helpful_count,
            reply: r
                .reply
                .as_ref()
                .map(|p| (p.body.clone(), p.created_at.date().to_string())),
            edited: r.edited_at.is_some(),
        }
    }
}

/// The signed-in customer's review form: empty, or their review to change.
pub struct ReviewForm {
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub photos: Vec<String>,
    pub editing: bool,
    pub hidden_reason: Option<String>,
}

pub struct ReviewsBlock {
    /// None when reviews could not be read (the page still shows the product).
    pub summary: Option<SummaryView>,
    pub items: Vec<ReviewCard>,
    pub product_id: String,
    /// Where forms come back to.
    pub back: String,
    pub form: Option<ReviewForm>,
    pub signed_in: bool,
}

/// Everything the product page shows of its reviews, read from the reviews service.
pub async fn block(
    state: &WebState,
    product: &ProductView,
    user: Option<&CurrentUser>,
) -> ReviewsBlock {
    let back = format!("/p/{}/{}", product.store.slug, product.slug);
    let (listed, mine) = tokio::join!(
        state
            .reviews
            .product(product.id, ReviewOrder::Helpful, None, None),
        async {
            match user {
                Some(u) => state.reviews.mine(&u.access_token, product.id).await.ok(),
                None => None,
            }
        }
    );
    let (summary, items) = match listed {
        Ok(l) => (
            Some(SummaryView::of(&l.summary)),
            l.items.iter().map(ReviewCard::of).collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "reviews unavailable for a product page");
            (None, Vec::new())
        }
    };
    let form = mine.filter(|m| m.eligible).map(|m| match m.review {
        Some(r) => ReviewForm {
            rating: r.rating,
            title: r.title,
            body: r.body,
            photos: r.photos,
            editing: true,
            hidden_reason: r.hidden_reason,
        },
        None => ReviewForm {
            rating: 5,
            title: String::new(),
            body: String::new(),
            photos: Vec::new(),
            editing: false,
            hidden_reason: None,
        },
    });
    ReviewsBlock {
        summary,
        items,
        product_id: product.id.to_string(),
        back,
        form,
        signed_in: user.is_some(),
    }
}

/// Where a review form came from: the product page, only ever a local path.
fn back_to(fields: Option<&String>) -> String {
    safe_next(fields.map(String::as_str))
}

/// `POST /reviews`: writes or changes the customer's review, with one more photo when a
/// file comes with it (uploaded through catalog's media pipeline first).
pub async fn write(
    State(state): State<WebState>,
    ctx: PageContext,
    upload: CsrfUpload,
) -> Response {
    let back = back_to(upload.fields.get("back"));
    let user = match require_user(&ctx, &back) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let field = |name: &str| upload.fields.get(name).cloned().unwrap_or_default();
    let done = |message: &str, anchor: &str| {
        redirect_with_flash(&format!("{back}#{anchor}"), message, state.secure_cookies)
    };
    let Ok(product_id) = field("product_id").parse::<ProductId>() else {
        return done("That review was for a product we do not know.", "reviews");
    };
    let mut photos: Vec<String> = field("photos")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(file) = &upload.file {
        let (content_type, body) = crate::pages::vendor_products::multipart_file(
            &file.file_name,
            &file.content_type,
            &file.bytes,
        );
        match state
            .catalog
            .upload_media(&user.access_token, &content_type, body)
            .await
        {
            Ok(media) => photos.push(media.key),
            Err(e) => {
                return done(
                    &format!("That photo was refused: {}", refusal(&e)),
                    "write-review",
                );
            }
        }
    }
    let req = ReviewRequest {
        product_id,
        rating: field("rating").parse().unwrap_or(0),
        title: field("title"),
        body: field("body"),
        photos,
    };
    match state.reviews.write(&user.access_token, &req).await {
        Ok(_) => done("Thank you: your review is published.", "reviews"),
        Err(e) => done(&review_refusal(&e), "write-review"),
    }
}

fn review_refusal(e: &ClientError) -> String {
    match e {
        ClientError::Problem(p) if p.code == "not_received" => {
            "You can review this product once your order of it has been delivered.".into()
        }
        other => format!("Your review was not saved. {}", refusal(other)),
    }
}

#[derive(serde::Deserialize)]
pub struct BackForm {
    back: Option<String>,
    reason: Option<String>,
}

/// `POST /reviews/{review}/helpful` and `…/report` (with a `reason`).
pub async fn act(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((review, action)): PagePath<(ReviewId, String)>,
    CsrfForm(form): CsrfForm<BackForm>,
) -> Response {
    let back = safe_next(form.back.as_deref());
    let user = match require_user(&ctx, &back) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let message = match action.as_str() {
        "helpful" => match state.reviews.vote(token, review, true).await {
            Ok(_) => "Thanks: your vote is counted.".to_owned(),
            Err(ClientError::Problem(p)) if p.code == "own_review" => {
                "That is your own review.".to_owned()
            }
            Err(e) => refusal(&e),
        },
        "report" => {
            let reason = form
                .reason
                .as_deref()
                .and_then(ReportReason::parse)
                .unwrap_or(ReportReason::Other);
            let req = ReportRequest {
                reason,
                note: String::new(),
            };
            match state.reviews.report(token, review, &req).await {
                Ok(()) => "Thanks: a moderator will look at that review.".to_owned(),
                Err(e) => refusal(&e),
            }
        }
        _ => return crate::pages::error_page(&ctx, 404, "There is no such page."),
    };
    redirect_with_flash(&format!("{back}#reviews"), &message, state.secure_cookies)
}

#[derive(serde::Deserialize)]
pub struct StoreRatingForm {
    rating: Option<i32>,
    comment: Option<String>,
}

/// `POST /orders/sub-orders/{id}/rating`: the customer rates the store of a delivered
/// part of their order.
pub async fn rate_store(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(sub_order): PagePath<contracts::orders::SubOrderId>,
    CsrfForm(form): CsrfForm<StoreRatingForm>,
) -> Response {
    let user = match require_user(&ctx, "/orders") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req = StoreRatingRequest {
        rating: form.rating.unwrap_or(0),
        comment: form.comment.unwrap_or_default(),
    };
    let message = match state
        .reviews
        .rate_store(&user.access_token, sub_order, &req)
        .await
    {
        Ok(_) => "Thanks for rating the store.".to_owned(),
        Err(e) => refusal(&e),
    };
    redirect_with_flash("/orders", &message, state.secure_cookies)
}
