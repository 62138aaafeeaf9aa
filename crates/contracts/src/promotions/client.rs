//! The typed client the web front end uses to call promotions.

use kernel::http::client::{ClientError, ServiceClient, path_segment};
use kernel::ids::StoreId;

use super::dto::{
    DiscountView, EvaluateRequest, PromotionList, PromotionRequest, PromotionView,
    ServiceRedeemRequest,
};

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
    pub async fn list(&self, token: &str, store: Option<&StoreId>) -> Result<PromotionList> {
        let path = match store {
            Some(s) => format!("/api/v1/promotions/stores/{s}"),
            None => "/api/v1/promotions".to_owned(),
        };
        self.http.get(&path).bearer(token).send().await
    }

    pub async fn create(
        &self,
        token: &str,
        store: Option<&StoreId>,
        req: &PromotionRequest,
    ) -> Result<PromotionView> {
        let path = match store {
            Some(s) => format!("/api/v1/promotions/stores/{s}"),
            None => "/api/v1/promotions".to_owned(),
        };
        self.http.post(&path).bearer(token).json(req).send().await
    }

    /// What a code takes off a cart, without redeeming it.
    pub async fn evaluate(&self, req: &EvaluateRequest) -> Result<DiscountView> {
        self.http
            .post("/api/v1/promotions/evaluate")
            .json(req)
            .send()
            .await
    }

    /// Redeems a code for a customer's checkout (services only; idempotent by reference).
    pub async fn redeem(&self, req: &ServiceRedeemRequest) -> Result<DiscountView> {
        self.http
            .post("/internal/promotions/redeem")
            .json(req)
            .send()
            .await
    }

    /// Gives a checkout's redemption back (services only; twice changes nothing).
    pub async fn release(&self, reference: &str) -> Result<()> {
        self.http
            .post(&format!(
                "/internal/promotions/redemptions/{}/release",
                path_segment(reference)
            ))
            .send_empty()
            .await
    }
}
