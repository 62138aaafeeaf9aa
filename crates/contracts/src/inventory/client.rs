//! The typed client other services and the web front end use to call inventory.

use crate::catalog::VariantId;
use kernel::http::client::{ClientError, ServiceClient};
use kernel::ids::StoreId;

use kernel::http::client::path_segment;

use super::ReservationId;
use super::dto::{
    AdjustmentRequest, AvailabilityList, AvailabilityPage, LocationList, LocationRequest,
    LocationView, ReservationView, ServiceReserveRequest, StockView,
};

#[derive(Clone)]
pub struct InventoryClient {
    http: ServiceClient,
}

impl InventoryClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// Units of each variant that may be bought now.
    pub async fn availability(
        &self,
        variants: &[VariantId],
    ) -> Result<AvailabilityList, ClientError> {
        let ids: Vec<String> = variants.iter().map(ToString::to_string).collect();
        self.http
            .get(&format!(
                "/api/v1/inventory/availability?variants={}",
                ids.join(",")
            ))
            .send()
            .await
    }

    pub async fn locations(
        &self,
        token: &str,
        store_id: &StoreId,
    ) -> Result<LocationList, ClientError> {
        self.http
            .get(&format!("/api/v1/inventory/stores/{}/locations", store_id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn create_location(
        &self,
        token: &str,
        store_id: &StoreId,
        name: &str,
    ) -> Result<LocationView, ClientError> {
        self.http
            .post(&format!("/api/v1/inventory/stores/{}/locations", store_id))
            .bearer(token)
            .json(&LocationRequest {
                name: name.to_owned(),
            })
            .send()
            .await
    }

    /// A variant's stock per location (its store's members).
    pub async fn stock(&self, token: &str, variant: VariantId) -> Result<StockView, ClientError> {
        self.http
            .get(&format!("/api/v1/inventory/variants/{variant}"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn adjust(
        &self,
        token: &str,
        variant: VariantId,
        req: &AdjustmentRequest,
    ) -> Result<StockView, ClientError> {
        self.http
            .post(&format!("/api/v1/inventory/variants/{variant}/adjustments"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// Holds stock for a customer's checkout (services only; idempotent by reference).
    pub async fn reserve(
        &self,
        req: &ServiceReserveRequest,
    ) -> Result<ReservationView, ClientError> {
        self.http
            .post("/internal/inventory/reservations")
            .json(req)
            .send()
            .await
    }

    /// `commit`, `release` or `return` a reservation (services only).
    pub async fn reservation_action(
        &self,
        id: ReservationId,
        action: &str,
    ) -> Result<ReservationView, ClientError> {
        self.http
            .post(&format!(
                "/internal/inventory/reservations/{id}/{}",
                path_segment(action)
            ))
            .send()
            .await
    }

    /// Every tracked variant's availability as of its version, a page at a time
    /// (services only).
    pub async fn availability_export(
        &self,
        after: Option<VariantId>,
        limit: u32,
    ) -> Result<AvailabilityPage, ClientError> {
        let mut path = format!("/internal/inventory/availability-export?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        self.http.get(&path).send().await
    }

    /// The reservation made under `reference`, if any (services only).
    pub async fn reservation_by_reference(
        &self,
        reference: &str,
    ) -> Result<ReservationView, ClientError> {
        self.http
            .get(&format!(
                "/internal/inventory/reservations/by-reference/{}",
                path_segment(reference)
            ))
            .send()
            .await
    }
}
