//! The typed client the web front end uses to call shipping.

use kernel::http::client::{ClientError, ServiceClient};
use kernel::ids::StoreId;

use super::MethodId;
use super::dto::{MethodList, MethodRequest, MethodView, QuoteRequest, QuoteView};

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct ShippingClient {
    http: ServiceClient,
}

impl ShippingClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn methods(&self, store: &StoreId) -> Result<MethodList> {
        self.http
            .get(&format!("/api/v1/shipping/stores/{}/methods", store))
            .send()
            .await
    }

    pub async fn create(
        &self,
        token: &str,
        store: &StoreId,
        req: &MethodRequest,
    ) -> Result<MethodView> {
        self.http
            .post(&format!("/api/v1/shipping/stores/{}/methods", store))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn delete(&self, token: &str, id: MethodId) -> Result<()> {
        self.http
            .delete(&format!("/api/v1/shipping/methods/{id}"))
            .bearer(token)
            .send_empty()
            .await
    }

    /// What a checkout's parcels or lines cost in shipping.
    pub async fn quote(&self, req: &QuoteRequest) -> Result<QuoteView> {
        self.http
            .post("/api/v1/shipping/quote")
            .json(req)
            .send()
            .await
    }
}
