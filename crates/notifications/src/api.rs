//! The dev mailbox: JSON under `/api/v1/notifications/dev/mailbox` and a page at
//! `/dev/mailbox`. Neither route exists unless `EMPORIUM_DEV=1`.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use kernel::http::access::{Access, Pages};
use kernel::http::{Json, Problem, Query};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store;
use contracts::notifications::dto::{Mailbox, MailboxEmail};

const MAILBOX_LIMIT: i64 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailboxQuery {
    /// Only emails to this address.
    pub to: Option<String>,
}

pub fn router(pool: PgPool, dev_mode: bool) -> OpenApiRouter {
    if !dev_mode {
        return OpenApiRouter::new();
    }
    OpenApiRouter::<PgPool>::new()
        .routes(routes!(mailbox))
        .with_state(pool)
}

pub fn pages(pool: PgPool, dev_mode: bool) -> Pages {
    if !dev_mode {
        return Pages::default();
    }
    Pages::new(None)
        .get("/dev/mailbox", Access::Anyone, mailbox_page)
        .with_state(pool)
}

async fn load(pool: &PgPool, to: Option<&str>) -> Result<Vec<MailboxEmail>, Problem> {
    let to = to
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    Ok(store::recent_emails(pool, to.as_deref(), MAILBOX_LIMIT)
        .await?
        .into_iter()
        .map(|r| MailboxEmail {
            id: r.id,
            kind: r.kind,
            to: r.to_address,
            subject: r.subject,
            body_text: r.body_text,
            body_html: r.body_html,
            created_at: r.created_at,
        })
        .collect())
}

/// The 50 most recent emails (dev mode only).
#[utoipa::path(get, path = "/api/v1/notifications/dev/mailbox", security(()), tag = "notifications",
    params(MailboxQuery), responses((status = 200, body = Mailbox)))]
async fn mailbox(
    State(pool): State<PgPool>,
    Query(q): Query<MailboxQuery>,
) -> Result<Json<Mailbox>, Problem> {
    Ok(Json(Mailbox {
        items: load(&pool, q.to.as_deref()).await?,
    }))
}

struct PageEmail {
    to: String,
    kind: String,
    subject: String,
    body_text: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    to: String,
    messages: Vec<PageEmail>,
}

async fn mailbox_page(State(pool): State<PgPool>, Query(q): Query<MailboxQuery>) -> Response {
    let items = match load(&pool, q.to.as_deref()).await {
        Ok(items) => items,
        Err(p) => return p.into_response(),
    };
    let page = MailboxPage {
        to: q.to.unwrap_or_default(),
        messages: items
            .into_iter()
            .map(|m| PageEmail {
                to: m.to,
                kind: m.kind,
                subject: m.subject,
                body_text: m.body_text,
                created_at: m
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            })
            .collect(),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}
