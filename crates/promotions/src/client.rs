//! The typed client the web front end uses to call promotions.

use kernel::http::client::{ClientError, ServiceClient, path_segment};

use crate::api::{PromotionList, PromotionRequest, PromotionView};

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct PromotionsClient {
    http: ServiceClient,
}

impl PromotionsClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// A store's codes, or the platform's when `store` is `None`.
    pub async fn list(&self, token: &str, store: Option<&str>) -> Result<PromotionList> {
        let path = match store {
            Some(s) => format!("/api/v1/promotions/stores/{}", path_segment(s)),
            None => "/api/v1/promotions".to_owned(),
        };
        self.http.get(&path).bearer(token).send().await
    }

    pub async fn create(
        &self,
        token: &str,
        store: Option<&str>,
        req: &PromotionRequest,
    ) -> Result<PromotionView> {
        let path = match store {
            Some(s) => format!("/api/v1/promotions/stores/{}", path_segment(s)),
            None => "/api/v1/promotions".to_owned(),
        };
        self.http.post(&path).bearer(token).json(req).send().await
    }
}
