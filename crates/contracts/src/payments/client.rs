//! The typed client orders and the web front end use to call payments.

use kernel::http::client::{ClientError, ServiceClient, path_segment};
use kernel::ids::StoreId;

use super::PaymentId;
use super::dto::{
    AuthorizeRequest, BalanceView, CaptureRequest, LedgerView, PaymentView, PayoutList,
    PayoutRunView, RefundRequest, RefundView,
};

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct PaymentsClient {
    http: ServiceClient,
}

impl PaymentsClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn authorize(&self, req: &AuthorizeRequest) -> Result<PaymentView> {
        self.http
            .post("/internal/payments/authorizations")
            .json(req)
            .send()
            .await
    }

    /// A checkout's payment; `refresh` asks the provider about one awaiting confirmation.
    pub async fn by_reference(&self, reference: &str, refresh: bool) -> Result<PaymentView> {
        self.http
            .get(&format!(
                "/internal/payments/by-reference/{}?refresh={refresh}",
                path_segment(reference)
            ))
            .send()
            .await
    }

    pub async fn capture(&self, id: PaymentId, req: &CaptureRequest) -> Result<PaymentView> {
        self.http
            .post(&format!("/internal/payments/{id}/capture"))
            .json(req)
            .send()
            .await
    }

    pub async fn void(&self, id: PaymentId) -> Result<PaymentView> {
        self.http
            .post(&format!("/internal/payments/{id}/void"))
            .send()
            .await
    }

    pub async fn refund(&self, id: PaymentId, req: &RefundRequest) -> Result<RefundView> {
        self.http
            .post(&format!("/internal/payments/{id}/refunds"))
            .json(req)
            .send()
            .await
    }

    pub async fn store_balance(&self, token: &str, store: &StoreId) -> Result<BalanceView> {
        self.http
            .get(&format!("/api/v1/payments/stores/{}/balance", store))
            .bearer(token)
            .send()
            .await
    }

    pub async fn payout_run(&self, token: &str) -> Result<PayoutRunView> {
        self.http
            .post("/api/v1/payments/payout-runs")
            .bearer(token)
            .send()
            .await
    }

    pub async fn payouts(&self, token: &str) -> Result<PayoutList> {
        self.http
            .get("/api/v1/payments/payout-runs")
            .bearer(token)
            .send()
            .await
    }

    pub async fn ledger(&self, token: &str) -> Result<LedgerView> {
        self.http
            .get("/api/v1/payments/ledger")
            .bearer(token)
            .send()
            .await
    }
}
