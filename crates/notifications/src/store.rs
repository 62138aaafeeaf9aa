use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::OutgoingEmail;

pub async fn insert_email(
    conn: &mut PgConnection,
    event_id: Uuid,
    email: &OutgoingEmail,
    transport: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO emails (id, event_id, kind, to_address, subject, body_text, body_html, transport)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id, kind) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(event_id)
    .bind(email.kind)
    .bind(&email.to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(transport)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailRow {
    pub id: Uuid,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: OffsetDateTime,
}

pub async fn recent_emails(
    pool: &PgPool,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<EmailRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, to_address, subject, body_text, body_html, created_at FROM emails
         WHERE ($1::text IS NULL OR to_address = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
}
