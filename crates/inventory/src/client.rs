//! The typed client other services and the web front end use to call inventory.

use catalog::domain::VariantId;
use kernel::http::client::{ClientError, ServiceClient};

use crate::api::AvailabilityList;

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
}
