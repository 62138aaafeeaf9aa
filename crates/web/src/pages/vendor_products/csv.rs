//! The CSV import page and the export download.

use super::*;
use crate::pages::PagePath;
use contracts::vendors::StoreId;

#[derive(Template)]
#[template(path = "vendor_import.html")]
pub(super) struct ImportPage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    report: Option<contracts::catalog::import::ImportReport>,
    error: Option<String>,
    columns: String,
}

pub(super) fn import_page(ctx: &PageContext, store_id: &StoreId) -> ImportPage {
    ImportPage {
        ctx: ctx.clone(),
        title: "Import products".into(),
        store_id: store_id.to_owned(),
        report: None,
        error: None,
        columns: contracts::catalog::import::COLUMNS.join(","),
    }
}

pub async fn import_form(ctx: PageContext, PagePath(store_id): PagePath<StoreId>) -> Response {
    if let Err(r) = require_user(&ctx, &format!("/vendor/stores/{store_id}/products/import")) {
        return r;
    }
    page(&import_page(&ctx, &store_id))
}

/// Passes the file to catalog and shows its report: counts, and every refused row.
pub async fn import(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store_id): PagePath<StoreId>,
    upload: CsrfUpload,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store_id}/products/import")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut view = import_page(&ctx, &store_id);
    let Some(file) = upload.file else {
        view.error = Some("Choose a CSV file first.".into());
        return render(StatusCode::UNPROCESSABLE_ENTITY, &view);
    };
    match state
        .catalog
        .import_csv(&user.access_token, &store_id, file.bytes)
        .await
    {
        Ok(report) => {
            view.report = Some(report);
            page(&view)
        }
        Err(ClientError::Problem(p)) if p.status == 422 || p.status == 409 => {
            view.error = Some(match p.errors.first() {
                Some(e) => format!("The file {}.", e.message),
                None => format!("{}.", p.title),
            });
            render(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
        Err(e) => failed(&ctx, &e),
    }
}

/// The store's products as a CSV download: catalog's export passed on byte for byte, so
/// its cells are already neutralised against spreadsheet formulas
/// (`kernel::csv_cell`); never rewrite it here without that.
pub async fn export(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store_id): PagePath<StoreId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store_id}/products")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state
        .catalog
        .export_csv(&user.access_token, &store_id)
        .await
    {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"products.csv\"",
                ),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failed(&ctx, &e),
    }
}
