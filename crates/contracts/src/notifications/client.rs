//! The typed client for notifications (the dev mailbox, for tools and tests).

use kernel::http::client::{ClientError, ServiceClient};

use super::dto::Mailbox;

#[derive(Clone)]
pub struct NotificationsClient {
    http: ServiceClient,
}

impl NotificationsClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// Recent emails to `to` (dev mode only; a 404 otherwise).
    pub async fn dev_mailbox(&self, to: &str) -> Result<Mailbox, ClientError> {
        let qs = serde_urlencoded::to_string([("to", to)]).unwrap_or_default();
        self.http
            .get(&format!("/api/v1/notifications/dev/mailbox?{qs}"))
            .send()
            .await
    }
}
