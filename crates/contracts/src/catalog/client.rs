//! The typed client other services and the web front end use to call catalog.

use kernel::http::client::{ClientError, RequestBuilder, ServiceClient, path_segment};
use kernel::ids::StoreId;

use super::dto::*;
use super::import::ImportReport;
use super::internal::{SaleVariantList, SearchDocumentPage, VariantOwner};
use super::media::MediaView;
use super::{CategoryId, ProductId, VariantId};

type Result<T> = std::result::Result<T, ClientError>;

const BASE: &str = "/api/v1/catalog";

#[derive(Clone)]
pub struct CatalogClient {
    http: ServiceClient,
}

fn signed<'a>(req: RequestBuilder<'a>, token: Option<&str>) -> RequestBuilder<'a> {
    match token {
        Some(t) => req.bearer(t),
        None => req,
    }
}

impl CatalogClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn categories(&self) -> Result<CategoryTree> {
        self.http.get(&format!("{BASE}/categories")).send().await
    }

    /// A category by id or slug, with its breadcrumb and children.
    pub async fn category(&self, key: &str) -> Result<CategoryView> {
        self.http
            .get(&format!("{BASE}/categories/{}", path_segment(key)))
            .send()
            .await
    }

    pub async fn create_category(&self, token: &str, req: &CreateCategory) -> Result<CategoryView> {
        self.http
            .post(&format!("{BASE}/categories"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn delete_category(&self, token: &str, id: CategoryId) -> Result<()> {
        self.http
            .delete(&format!("{BASE}/categories/{id}"))
            .bearer(token)
            .send_empty()
            .await
    }

    /// A product by id, as `token`'s holder (or the public) may see it.
    pub async fn product(&self, id: ProductId, token: Option<&str>) -> Result<ProductView> {
        signed(self.http.get(&format!("{BASE}/products/{id}")), token)
            .send()
            .await
    }

    /// A product by its store's slug and its own.
    pub async fn product_by_slug(
        &self,
        store_slug: &str,
        slug: &str,
        token: Option<&str>,
    ) -> Result<ProductView> {
        let path = format!(
            "{BASE}/stores/{}/products/{}",
            path_segment(store_slug),
            path_segment(slug)
        );
        signed(self.http.get(&path), token).send().await
    }

    /// A store's products, drafts included (its members and admins).
    pub async fn store_products(
        &self,
        token: &str,
        store_id: &StoreId,
        cursor: Option<&str>,
    ) -> Result<ProductPage> {
        let mut path = format!("{BASE}/stores/{}/products?limit=50", store_id);
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={}", path_segment(c)));
        }
        self.http.get(&path).bearer(token).send().await
    }

    pub async fn create_product(
        &self,
        token: &str,
        store_id: &StoreId,
        req: &ProductRequest,
    ) -> Result<ProductView> {
        self.http
            .post(&format!("{BASE}/stores/{}/products", store_id))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn update_product(
        &self,
        token: &str,
        id: ProductId,
        req: &ProductRequest,
    ) -> Result<ProductView> {
        self.http
            .put(&format!("{BASE}/products/{id}"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// `publish`, `unpublish`, `archive` or `restore`.
    pub async fn change_status(
        &self,
        token: &str,
        id: ProductId,
        action: &str,
    ) -> Result<ProductView> {
        self.http
            .post(&format!("{BASE}/products/{id}/{}", path_segment(action)))
            .bearer(token)
            .send()
            .await
    }

    /// An admin takes a product off the storefront, with a reason its vendor sees.
    pub async fn moderate(&self, token: &str, id: ProductId, reason: &str) -> Result<ProductView> {
        self.http
            .post(&format!("{BASE}/admin/products/{id}/unpublish"))
            .bearer(token)
            .json(&ModerationRequest {
                reason: reason.to_owned(),
            })
            .send()
            .await
    }

    /// Lifts an admin's take-down so the vendor may publish again.
    pub async fn release(&self, token: &str, id: ProductId) -> Result<ProductView> {
        self.http
            .post(&format!("{BASE}/admin/products/{id}/release"))
            .bearer(token)
            .send()
            .await
    }

    /// Products admins took down, newest first.
    pub async fn moderated(&self, token: &str) -> Result<ProductPage> {
        self.http
            .get(&format!("{BASE}/admin/products/moderated?limit=100"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn update_category(
        &self,
        token: &str,
        id: CategoryId,
        req: &UpdateCategory,
    ) -> Result<CategoryView> {
        self.http
            .patch(&format!("{BASE}/categories/{id}"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn move_category(
        &self,
        token: &str,
        id: CategoryId,
        req: &MoveCategory,
    ) -> Result<CategoryView> {
        self.http
            .post(&format!("{BASE}/categories/{id}/move"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// Passes on a multipart upload (`file` part) as it came.
    pub async fn upload_media(
        &self,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<MediaView> {
        self.http
            .post(&format!("{BASE}/media"))
            .bearer(token)
            .body(content_type, body)
            .send()
            .await
    }

    /// Imports a CSV file of products into the store; the report lists refused rows.
    pub async fn import_csv(
        &self,
        token: &str,
        store_id: &StoreId,
        csv: Vec<u8>,
    ) -> Result<ImportReport> {
        self.http
            .post(&format!("{BASE}/stores/{}/products/import", store_id))
            .bearer(token)
            .body("text/csv", csv)
            .send()
            .await
    }

    /// The store's products as CSV.
    pub async fn export_csv(&self, token: &str, store_id: &StoreId) -> Result<bytes::Bytes> {
        self.http
            .get(&format!("{BASE}/stores/{}/products/export", store_id))
            .bearer(token)
            .send_bytes()
            .await
    }

    /// Variants with their current prices, as carts show them.
    pub async fn sale_variants(&self, ids: &[VariantId]) -> Result<SaleVariantList> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.http
            .get(&format!("/internal/catalog/variants?ids={}", ids.join(",")))
            .send()
            .await
    }

    /// A variant's product and store.
    pub async fn variant_owner(&self, id: VariantId) -> Result<VariantOwner> {
        self.http
            .get(&format!("/internal/catalog/variants/{id}"))
            .send()
            .await
    }

    /// One page of the documents a full search reindex reads.
    pub async fn search_documents(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<SearchDocumentPage> {
        self.export_page(after, None, limit).await
    }

    /// A page of the export starting after `after`, or `offset` documents in.
    pub async fn export_page(
        &self,
        after: Option<ProductId>,
        offset: Option<u64>,
        limit: u32,
    ) -> Result<SearchDocumentPage> {
        let mut path = format!("/internal/catalog/search-documents?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        if let Some(offset) = offset {
            path.push_str(&format!("&offset={offset}"));
        }
        self.http.get(&path).send().await
    }
}
