//! The typed client the web front end uses to call orders.

use kernel::http::client::{ClientError, ServiceClient, path_segment};
use kernel::http::idempotency::IDEMPOTENCY_KEY;
use kernel::ids::StoreId;

use super::dto::{
    ActionRequest, CheckoutRequest, CheckoutView, OrderList, OrderView, PreviewView, ReceivedList,
    ReceivedQuery, RefundRequest, SubOrderDetail, SubOrderList,
};
use super::{CheckoutId, OrderId, SubOrderId};

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct OrdersClient {
    http: ServiceClient,
}

impl OrdersClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// Checks out the customer's cart; `key` makes a repeated submission one checkout.
    pub async fn checkout(
        &self,
        token: &str,
        key: &str,
        req: &CheckoutRequest,
    ) -> Result<CheckoutView> {
        self.http
            .post("/api/v1/orders/checkout")
            .bearer(token)
            .header(IDEMPOTENCY_KEY.clone(), key)
            .json(req)
            .send()
            .await
    }

    /// What checking out this way would cost, without holding anything.
    pub async fn preview(&self, token: &str, req: &CheckoutRequest) -> Result<PreviewView> {
        self.http
            .post("/api/v1/orders/checkout/preview")
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn checkout_status(&self, token: &str, id: &CheckoutId) -> Result<CheckoutView> {
        self.http
            .get(&format!("/api/v1/orders/checkouts/{}", id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn my_orders(&self, token: &str) -> Result<OrderList> {
        self.http.get("/api/v1/orders").bearer(token).send().await
    }

    pub async fn order(&self, token: &str, id: &OrderId) -> Result<OrderView> {
        self.http
            .get(&format!("/api/v1/orders/{}", id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn store_sub_orders(
        &self,
        token: &str,
        store: &StoreId,
        status: Option<&str>,
    ) -> Result<SubOrderList> {
        let mut path = format!("/api/v1/orders/stores/{}/sub-orders", store);
        if let Some(s) = status {
            path.push_str(&format!("?status={}", path_segment(s)));
        }
        self.http.get(&path).bearer(token).send().await
    }

    pub async fn sub_order(&self, token: &str, id: &SubOrderId) -> Result<SubOrderDetail> {
        self.http
            .get(&format!("/api/v1/orders/sub-orders/{}", id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn act(
        &self,
        token: &str,
        id: &SubOrderId,
        action: &str,
        req: &ActionRequest,
    ) -> Result<SubOrderDetail> {
        self.http
            .post(&format!(
                "/api/v1/orders/sub-orders/{}/{}",
                id,
                path_segment(action)
            ))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// Refunds part of a shipped or delivered sub-order (admins).
    pub async fn refund(
        &self,
        token: &str,
        id: &SubOrderId,
        req: &RefundRequest,
    ) -> Result<SubOrderDetail> {
        self.http
            .post(&format!("/api/v1/orders/sub-orders/{}/refunds", id))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn admin_orders(&self, token: &str, q: Option<&str>) -> Result<OrderList> {
        let path = match q {
            Some(q) => format!("/api/v1/orders/admin/orders?q={}", path_segment(q)),
            None => "/api/v1/orders/admin/orders".to_owned(),
        };
        self.http.get(&path).bearer(token).send().await
    }

    /// What the customer received (lines of delivered sub-orders) of a product or in a
    /// sub-order: what reviews and returns check before accepting one.
    pub async fn received(&self, query: &ReceivedQuery) -> Result<ReceivedList> {
        let query = serde_urlencoded::to_string(query).map_err(|e| ClientError::Decode {
            service: super::SERVICE,
            reason: e.to_string(),
        })?;
        self.http
            .get(&format!("/internal/orders/received?{query}"))
            .send()
            .await
    }
}
