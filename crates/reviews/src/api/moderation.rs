//! Admins' moderation queue: reported reviews to decide, hidden ones to restore.

use contracts::reviews::dto::{HideRequest, ModerationItem, ModerationQueue, ReviewView};
use contracts::reviews::{ReportReason, ReviewId};
use kernel::auth::AdminUser;
use kernel::http::pagination::{Page, PageParams};
use kernel::http::{FieldError, Json, Path, Problem, Query};
use kernel::validation::bounded_text;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Result, State, TAG, forget, publish_rating, review, view};
use crate::domain::Decision;
use crate::store;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// `reported` (default): reviews with open reports; `hidden`: those taken down.
    pub state: Option<QueueState>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    #[default]
    Reported,
    Hidden,
}

/// Reviews waiting for a decision, most recently reported first (admins).
#[utoipa::path(get, path = "/api/v1/reviews/admin/queue", tag = TAG, security(("bearer" = ["admin"])),
    params(QueueParams, PageParams),
    responses((status = 200, body = ModerationQueue), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn queue(
    axum::extract::State(reviews): State,
    _admin: AdminUser,
    Query(params): Query<QueueParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<ModerationQueue>> {
    let limit = page.limit()?;
    let after = page.after_time()?;
    let hidden = params.state.unwrap_or_default() == QueueState::Hidden;
    let mut conn = reviews.pool.acquire().await?;
    let rows = store::queue(&mut conn, hidden, after, limit).await?;
    let page = Page::from_rows(rows, limit, |r| {
        kernel::http::pagination::time_key(r.latest_at, r.review.id.0)
    });
    Ok(Json(ModerationQueue {
        items: page
            .items
            .into_iter()
            .map(|r| ModerationItem {
                reports: r.reports,
                reasons: most_given_first(
                    r.reasons
                        .iter()
                        .filter_map(|r| ReportReason::parse(r))
                        .collect(),
                ),
                latest_note: r.latest_note,
                review: view(r.review, true),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Each reason once, the most given first.
fn most_given_first<T: Copy + PartialEq>(reasons: Vec<T>) -> Vec<T> {
    let mut counted: Vec<(T, usize)> = Vec::new();
    for reason in reasons {
        match counted.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => counted.push((reason, 1)),
        }
    }
    // Stable: among equals, the most recently given (as read) stays first.
    counted.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    counted.into_iter().map(|(r, _)| r).collect()
}

/// Takes a review down with a reason its author sees, closing its reports (admins).
#[utoipa::path(post, path = "/api/v1/reviews/admin/reviews/{review}/hide", tag = TAG, security(("bearer" = ["admin"])),
    params(("review" = String, Path, pattern = "^rev_[0-9a-fA-F]{32}$", description = "Review id (`rev_…`)")),
    request_body = HideRequest,
    responses((status = 200, body = ReviewView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn hide(
    state: State,
    _admin: AdminUser,
    Path(id): Path<ReviewId>,
    Json(req): Json<HideRequest>,
) -> Result<Json<ReviewView>> {
    let reason = bounded_text(&req.reason, 2, 500)
        .map_err(|m| Problem::validation(vec![FieldError::new("reason", "invalid", m)]))?;
    decide(state, id, Decision::Hide { reason }).await
}

/// Keeps a reported review, or puts a hidden one back; its reports are closed (admins).
#[utoipa::path(post, path = "/api/v1/reviews/admin/reviews/{review}/restore", tag = TAG, security(("bearer" = ["admin"])),
    params(("review" = String, Path, pattern = "^rev_[0-9a-fA-F]{32}$", description = "Review id (`rev_…`)")),
    responses((status = 200, body = ReviewView), (status = 404, body = Problem)))]
pub(super) async fn restore(
    state: State,
    _admin: AdminUser,
    Path(id): Path<ReviewId>,
) -> Result<Json<ReviewView>> {
    decide(state, id, Decision::Restore).await
}

async fn decide(
    axum::extract::State(reviews): State,
    id: ReviewId,
    decision: Decision,
) -> Result<Json<ReviewView>> {
    let mut tx = reviews.pool.begin().await?;
    let before = review(&mut tx, id).await?;
    let version = store::lock_product_rating(&mut tx, before.product_id, before.store_id).await?;
    let (status, reason) = decision.outcome();
    store::decide(&mut tx, id, status, reason).await?;
    // Recounted whatever the review was before: `before` was read ahead of the lock, so
    // another admin's decision may have changed it since.
    publish_rating(&mut tx, before.product_id, before.store_id, version).await?;
    let row = review(&mut tx, id).await?;
    tx.commit().await?;
    forget(&reviews, row.product_id).await;
    Ok(Json(view(row, true)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reasons_are_listed_once_most_given_first() {
        let listed = super::most_given_first(vec!["spam", "fake", "fake", "spam", "fake", "other"]);
        assert_eq!(listed, ["fake", "spam", "other"]);
    }
}
