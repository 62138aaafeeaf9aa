//! What the dev mailbox answers.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MailboxEmail {
    pub id: uuid::Uuid,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Mailbox {
    pub items: Vec<MailboxEmail>,
}
