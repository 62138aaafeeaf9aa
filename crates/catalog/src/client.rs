//! The typed client other services and the web front end use to call catalog.

use kernel::http::client::{ClientError, ServiceClient};

use crate::api::dto::CategoryTree;

#[derive(Clone)]
pub struct CatalogClient {
    http: ServiceClient,
}

impl CatalogClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn categories(&self) -> Result<CategoryTree, ClientError> {
        self.http.get("/api/v1/catalog/categories").send().await
    }
}
