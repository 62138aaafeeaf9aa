//! The typed client the web front end uses to call search.

use kernel::http::client::{ClientError, ServiceClient};

use super::dto::{SearchResults, Suggestions};

#[derive(Clone)]
pub struct SearchClient {
    http: ServiceClient,
}

impl SearchClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// Searches with a query string as the storefront's own URL carries it.
    pub async fn search(&self, query_string: &str) -> Result<SearchResults, ClientError> {
        self.http
            .get(&format!("/api/v1/search/products?{query_string}"))
            .send()
            .await
    }

    pub async fn suggest(&self, typed: &str) -> Result<Suggestions, ClientError> {
        let q = serde_urlencoded::to_string([("q", typed)]).unwrap_or_default();
        self.http
            .get(&format!("/api/v1/search/suggest?{q}"))
            .send()
            .await
    }
}
