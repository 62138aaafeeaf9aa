//! The typed client the web front end uses to call cart.

use crate::catalog::VariantId;
use kernel::http::client::{ClientError, RequestBuilder, ServiceClient};

use super::CART_TOKEN_HEADER;
use super::dto::{CartView, GuestTokenView, LineRequest, PurchaseRequest};

type Result<T> = std::result::Result<T, ClientError>;

/// Whose cart a call is about.
#[derive(Debug, Clone, Copy)]
pub enum CartOf<'a> {
    /// A signed-in customer's access token.
    Customer(&'a str),
    /// A guest's cart token.
    Guest(&'a str),
}

#[derive(Clone)]
pub struct CartClient {
    http: ServiceClient,
}

fn as_holder<'a>(req: RequestBuilder<'a>, who: CartOf<'_>) -> RequestBuilder<'a> {
    match who {
        CartOf::Customer(token) => req.bearer(token),
        CartOf::Guest(token) => req.header(http::HeaderName::from_static(CART_TOKEN_HEADER), token),
    }
}

impl CartClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn guest_token(&self) -> Result<GuestTokenView> {
        self.http.post("/api/v1/cart/guest-token").send().await
    }

    pub async fn view(&self, who: CartOf<'_>) -> Result<CartView> {
        as_holder(self.http.get("/api/v1/cart"), who).send().await
    }

    /// Sets the quantity of a variant (0 removes it).
    pub async fn set(
        &self,
        who: CartOf<'_>,
        variant: VariantId,
        quantity: i64,
    ) -> Result<CartView> {
        as_holder(self.http.put(&format!("/api/v1/cart/lines/{variant}")), who)
            .json(&LineRequest { quantity })
            .send()
            .await
    }

    /// Moves the guest cart into the customer's.
    pub async fn merge(&self, access_token: &str, guest_token: &str) -> Result<CartView> {
        self.http
            .post("/api/v1/cart/merge")
            .bearer(access_token)
            .header(
                http::HeaderName::from_static(CART_TOKEN_HEADER),
                guest_token,
            )
            .send()
            .await
    }

    /// Takes a completed checkout's items out of the customer's cart (services only).
    pub async fn record_purchase(&self, req: &PurchaseRequest) -> Result<()> {
        self.http
            .post("/internal/cart/purchases")
            .json(req)
            .send_empty()
            .await
    }
}
