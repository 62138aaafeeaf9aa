//! Reviews seen from behind the counter: a store's reviews with a reply form under each
//! unanswered one, and the admins' moderation queue (reported and hidden reviews).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use contracts::reviews::ReviewId;
use contracts::reviews::dto::ModerationItem;
use contracts::vendors::StoreId;
use serde::Deserialize;

use super::shop::reviews::ReviewCard;
use super::{
    PagePath, error_page, page, redirect_with_flash, refusal, require_admin, require_user,
};
use crate::WebState;
use crate::session::{CsrfForm, PageContext};

#[derive(Template)]
#[template(path = "vendor_reviews.html")]
struct StoreReviewsPage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    unanswered: bool,
    /// Each review with whether it is hidden by a moderator.
    items: Vec<(ReviewCard, bool)>,
}

#[derive(Deserialize)]
pub struct Unanswered {
    #[serde(default)]
    unanswered: bool,
}

/// `GET /vendor/stores/{store}/reviews`: the store's reviews, newest first.
pub async fn store_reviews(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store): PagePath<StoreId>,
    Query(filter): Query<Unanswered>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store}/reviews")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .reviews
        .store_reviews(&user.access_token, store, filter.unanswered, None)
        .await
    {
        Ok(list) => page(&StoreReviewsPage {
            ctx,
            title: "Reviews".into(),
            store_id: store,
            unanswered: filter.unanswered,
            items: list
                .items
                .iter()
                .map(|r| {
                    let hidden = r.status == contracts::reviews::ReviewStatus::Hidden;
                    (ReviewCard::of(r), hidden)
                })
                .collect(),
        }),
        Err(e) => error_page(&ctx, 403, &refusal(&e)),
    }
}

#[derive(Deserialize)]
pub struct ReplyForm {
    body: Option<String>,
}

/// `POST /vendor/stores/{store}/reviews/{review}/reply`.
pub async fn reply(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((store, review)): PagePath<(StoreId, ReviewId)>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Response {
    let here = format!("/vendor/stores/{store}/reviews");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let body = form.body.unwrap_or_default();
    let message = match state.reviews.reply(&user.access_token, review, &body).await {
        Ok(_) => "Your reply is published under the review.".to_owned(),
        Err(e) => refusal(&e),
    };
    redirect_with_flash(
        &format!("{here}#review-{review}"),
        &message,
        state.secure_cookies,
    )
}

#[derive(Template)]
#[template(path = "admin_reviews.html")]
struct QueuePage {
    ctx: PageContext,
    title: String,
    hidden: bool,
    items: Vec<(ReviewCard, ModerationItem)>,
}

#[derive(Deserialize)]
pub struct QueueFilter {
    #[serde(default)]
    state: String,
}

/// `GET /admin/reviews`: reported reviews to decide (or, `?state=hidden`, hidden ones).
pub async fn queue(
    State(state): State<WebState>,
    ctx: PageContext,
    Query(filter): Query<QueueFilter>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/reviews") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let hidden = filter.state == "hidden";
    match state.reviews.queue(&user.access_token, hidden).await {
        Ok(q) => page(&QueuePage {
            ctx,
            title: "Review moderation".into(),
            hidden,
            items: q
                .items
                .into_iter()
                .map(|i| (ReviewCard::of(&i.review), i))
                .collect(),
        }),
        Err(e) => error_page(&ctx, 503, &refusal(&e)),
    }
}

#[derive(Deserialize)]
pub struct Decision {
    reason: Option<String>,
}

/// `POST /admin/reviews/{review}/{hide|restore}`.
pub async fn decide(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((review, action)): PagePath<(ReviewId, String)>,
    CsrfForm(form): CsrfForm<Decision>,
) -> Response {
    let user = match require_admin(&ctx, "/admin/reviews") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = &user.access_token;
    let outcome = match action.as_str() {
        "hide" => {
            let reason = form.reason.unwrap_or_default();
            state.reviews.hide(token, review, &reason).await
        }
        "restore" => state.reviews.restore(token, review).await,
        _ => return error_page(&ctx, 404, "There is no such decision."),
    };
    let message = match outcome {
        Ok(r) if action == "hide" => format!("“{}” is hidden; its author sees why.", r.title),
        Ok(r) => format!("“{}” stays up; its reports are closed.", r.title),
        Err(e) => refusal(&e),
    };
    redirect_with_flash("/admin/reviews", &message, state.secure_cookies)
}
