//! The typed client the web front end uses to call tax.

use kernel::http::client::{ClientError, ServiceClient, path_segment};

use super::dto::{QuoteRequest, QuoteView, RateList, RateRequest, RateView, TaxSettings};

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct TaxClient {
    http: ServiceClient,
}

impl TaxClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn rates(&self) -> Result<RateList> {
        self.http.get("/api/v1/tax/rates").send().await
    }

    pub async fn set_rate(
        &self,
        token: &str,
        country: &str,
        req: &RateRequest,
    ) -> Result<RateView> {
        self.http
            .put(&format!("/api/v1/tax/rates/{}", path_segment(country)))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn settings(&self) -> Result<TaxSettings> {
        self.http.get("/api/v1/tax/settings").send().await
    }

    pub async fn set_settings(&self, token: &str, settings: &TaxSettings) -> Result<TaxSettings> {
        self.http
            .put("/api/v1/tax/settings")
            .bearer(token)
            .json(settings)
            .send()
            .await
    }

    /// What a checkout's parcels or lines cost in tax.
    pub async fn quote(&self, req: &QuoteRequest) -> Result<QuoteView> {
        self.http.post("/api/v1/tax/quote").json(req).send().await
    }
}
