//! A full rebuild of the index from the catalog, the source of truth: what
//! `emporium search reindex` runs, and what a replica does at start when its index is
//! empty.

use std::sync::Arc;

use contracts::catalog::CatalogClient;
use contracts::catalog::ProductId;
use contracts::catalog::events::ProductPublished;
use contracts::catalog::internal::SearchDocumentPage;
use kernel::progress::Progress;
use sqlx::PgPool;

use crate::index::{DocumentSource, ProductIndex};
use crate::store;

const PAGE: u32 = 1000;

/// Where the catalog's export is read: its API (a running service, in this process or
/// another), or its database directly (the command line, with the server stopped: the
/// composition implements it over catalog's pool).
#[async_trait::async_trait]
pub trait CatalogExport: Send {
    async fn page(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> anyhow::Result<SearchDocumentPage>;
}

#[async_trait::async_trait]
impl CatalogExport for CatalogClient {
    async fn page(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> anyhow::Result<SearchDocumentPage> {
        Ok(self.search_documents(after, limit).await?)
    }
}

/// Reads the export page by page, and records each document's version so no older
/// event can overwrite what the rebuild indexed.
struct Pages<E> {
    export: E,
    pool: PgPool,
    after: Option<ProductId>,
    done: bool,
    progress: Option<Progress>,
    show_progress: bool,
}

#[async_trait::async_trait]
impl<E: CatalogExport> DocumentSource for Pages<E> {
    async fn next_page(&mut self) -> anyhow::Result<Option<Vec<ProductPublished>>> {
        if self.done {
            return Ok(None);
        }
        let page = self.export.page(self.after, PAGE).await?;
        if let (Some(total), true) = (page.total, self.show_progress) {
            self.progress = Some(Progress::new("indexed", total));
        }
        self.after = page.next_after;
        self.done = page.next_after.is_none();
        let ids: Vec<_> = page.items.iter().map(|d| d.product_id.0).collect();
        let versions: Vec<_> = page.items.iter().map(|d| d.version).collect();
        let mut conn = self.pool.acquire().await?;
        store::raise_product_versions(&mut conn, &ids, &versions).await?;
        if let Some(p) = &mut self.progress {
            p.inc(page.items.len() as u64);
        }
        Ok(Some(page.items))
    }
}

/// Rebuilds the whole index; returns how many products it holds. With `show_progress`,
/// a bar (or periodic lines) and a summary go to stderr.
pub async fn reindex(
    index: &Arc<ProductIndex>,
    pool: &PgPool,
    export: impl CatalogExport,
    show_progress: bool,
) -> anyhow::Result<u64> {
    let mut conn = pool.acquire().await?;
    index.set_suspended_stores(store::suspended_stores(&mut conn).await?);
    drop(conn);
    let mut source = Pages {
        export,
        pool: pool.clone(),
        after: None,
        done: false,
        progress: None,
        show_progress,
    };
    let count = index.rebuild(&mut source).await?;
    if let Some(p) = source.progress.take() {
        p.finish();
    }
    Ok(count)
}
