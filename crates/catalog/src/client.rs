//! The typed client other services and the web front end use to call catalog.

use kernel::http::client::{ClientError, ServiceClient};

use crate::api::dto::CategoryTree;
use crate::api::internal::SearchDocumentPage;
use crate::domain::ProductId;

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

    /// One page of the documents a full search reindex reads.
    pub async fn search_documents(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<SearchDocumentPage, ClientError> {
        let mut path = format!("/internal/catalog/search-documents?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        self.http.get(&path).send().await
    }
}
