//! Creating and editing a product: the form pages, images and status changes.

use super::*;
use contracts::vendors::StoreId;

pub struct ImageLine {
    pub url: String,
    pub alt: String,
}

#[derive(Template)]
#[template(path = "vendor_product_form.html")]
pub(super) struct ProductFormPage {
    ctx: PageContext,
    title: String,
    store_id: StoreId,
    action: String,
    product: Option<ProductView>,
    form: ProductForm,
    errors: FormErrors,
    categories: Vec<(String, String)>,
    currencies: Vec<&'static str>,
    images: Vec<ImageLine>,
}

pub(super) const CURRENCIES: &[&str] = &[
    "EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "JPY",
];

pub(super) async fn categories(state: &WebState) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(tree) = state.catalog.categories().await {
        category_choices(&tree.items, 0, &mut out);
    }
    out
}

pub async fn new_form(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store_id): PagePath<StoreId>,
) -> Response {
    let here = format!("/vendor/stores/{store_id}/products/new");
    if let Err(r) = require_user(&ctx, &here) {
        return r;
    }
    page(&ProductFormPage {
        title: "New product".into(),
        action: format!("/vendor/stores/{store_id}/products"),
        store_id,
        product: None,
        form: ProductForm {
            currency: "EUR".into(),
            ..ProductForm::default()
        }
        .with_spare_rows(),
        errors: FormErrors::default(),
        categories: categories(&state).await,
        currencies: CURRENCIES.to_vec(),
        images: Vec::new(),
        ctx,
    })
}

pub(super) fn refused(errors: Vec<FieldError>) -> ClientError {
    ClientError::Problem(Problem::validation(errors))
}

pub async fn create(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(store_id): PagePath<StoreId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/stores/{store_id}/products/new")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = ProductForm::from_pairs(&pairs);
    let result = match form.to_request(Vec::new()) {
        Ok(req) => {
            state
                .catalog
                .create_product(&user.access_token, &store_id, &req)
                .await
        }
        Err(errors) => Err(refused(errors)),
    };
    match result {
        Ok(p) => redirect_with_flash(
            &format!("/vendor/products/{}", p.id),
            "Product created as a draft. Add pictures, then publish it.",
            state.secure_cookies,
        ),
        Err(e) => {
            let categories = categories(&state).await;
            rerender(&ctx, e, |errors| ProductFormPage {
                ctx: ctx.clone(),
                title: "New product".into(),
                action: format!("/vendor/stores/{store_id}/products"),
                store_id,
                product: None,
                form: form.clone().with_spare_rows(),
                errors,
                categories,
                currencies: CURRENCIES.to_vec(),
                images: Vec::new(),
            })
        }
    }
}

/// The signed-in user, and the product as they may see it.
pub(super) async fn product_for(
    state: &WebState,
    ctx: &PageContext,
    id: ProductId,
) -> Result<(CurrentUser, ProductId, ProductView), Response> {
    let user = require_user(ctx, &format!("/vendor/products/{id}"))?;
    let product = state
        .catalog
        .product(id, Some(&user.access_token))
        .await
        .map_err(|e| failed(ctx, &e))?;
    Ok((user, id, product))
}

pub(super) fn images_of(p: &ProductView) -> Vec<ImageLine> {
    p.images
        .iter()
        .map(|i| ImageLine {
            url: i.thumbnail_url.clone(),
            alt: i.alt.clone(),
        })
        .collect()
}

pub(super) fn image_requests(p: &ProductView) -> Vec<ImageRequest> {
    p.images
        .iter()
        .map(|i| ImageRequest {
            key: i.key.clone(),
            alt: i.alt.clone(),
            variant_sku: i.variant_sku.clone(),
        })
        .collect()
}

pub(super) fn edit_page(
    ctx: &PageContext,
    product: ProductView,
    form: ProductForm,
    errors: FormErrors,
    categories: Vec<(String, String)>,
) -> ProductFormPage {
    ProductFormPage {
        ctx: ctx.clone(),
        title: format!("Edit {}", product.title),
        store_id: product.store.id,
        action: format!("/vendor/products/{}", product.id),
        images: images_of(&product),
        product: Some(product),
        form: form.with_spare_rows(),
        errors,
        categories,
        currencies: CURRENCIES.to_vec(),
    }
}

pub async fn edit_form(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<ProductId>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/products/{id}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.catalog.product(id, Some(&user.access_token)).await {
        // The public sees published products too; only their store may edit.
        Ok(p) if p.status != "published" || user.manages(p.store.id) => {
            let form = ProductForm::from_product(&p);
            let categories = categories(&state).await;
            page(&edit_page(&ctx, p, form, FormErrors::default(), categories))
        }
        Ok(_) => error_page(&ctx, 403, "You do not manage this store."),
        Err(e) => failed(&ctx, &e),
    }
}

pub async fn update(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<ProductId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let (user, id, current) = match product_for(&state, &ctx, id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let form = ProductForm::from_pairs(&pairs);
    let result = match form.to_request(image_requests(&current)) {
        Ok(req) => {
            state
                .catalog
                .update_product(&user.access_token, id, &req)
                .await
        }
        Err(errors) => Err(refused(errors)),
    };
    match result {
        Ok(_) => redirect_with_flash(
            &format!("/vendor/products/{id}"),
            "Saved.",
            state.secure_cookies,
        ),
        Err(e) => {
            let categories = categories(&state).await;
            rerender(&ctx, e, |errors| {
                edit_page(&ctx, current, form, errors, categories)
            })
        }
    }
}

/// Builds a `multipart/form-data` body with one `file` part, as catalog's upload
/// endpoint takes it.
pub(in crate::pages) fn multipart_file(
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let boundary = format!("emporium-{}", kernel::secret::random_token());
    let safe_name: String = file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(100)
        .collect();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {}\r\n\r\n",
        if content_type.is_empty() { "application/octet-stream" } else { content_type }
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads a picture and adds it to the product's images.
pub async fn add_image(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath(id): PagePath<ProductId>,
    upload: CsrfUpload,
) -> Response {
    let here = format!("/vendor/products/{id}");
    let (user, id, current) = match product_for(&state, &ctx, id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(file) = upload.file else {
        return redirect_with_flash(
            &here,
            "Choose a picture to upload first.",
            state.secure_cookies,
        );
    };
    let (content_type, body) = multipart_file(&file.file_name, &file.content_type, &file.bytes);
    let token = user.access_token.as_str();
    let result = match state.catalog.upload_media(token, &content_type, body).await {
        Ok(media) => {
            let mut req =
                match ProductForm::from_product(&current).to_request(image_requests(&current)) {
                    Ok(r) => r,
                    Err(_) => {
                        return error_page(
                            &ctx,
                            409,
                            "Fix the product's details before adding pictures.",
                        );
                    }
                };
            req.images.push(ImageRequest {
                key: media.key,
                alt: upload
                    .fields
                    .get("alt")
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| current.title.clone()),
                variant_sku: upload
                    .fields
                    .get("variant_sku")
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty()),
            });
            state.catalog.update_product(token, id, &req).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => redirect_with_flash(&here, "Picture added.", state.secure_cookies),
        Err(e) => {
            let categories = categories(&state).await;
            let form = ProductForm::from_product(&current);
            rerender(&ctx, e, |mut errors| {
                if errors.general.is_none() {
                    errors.general = Some("That picture was refused: use a JPEG, PNG or WebP image of at most 10 MiB.".into());
                }
                edit_page(&ctx, current, form, errors, categories)
            })
        }
    }
}

/// Publish, unpublish, archive or restore.
pub async fn change_status(
    State(state): State<WebState>,
    ctx: PageContext,
    PagePath((id, action)): PagePath<(ProductId, String)>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    let here = format!("/vendor/products/{id}");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let done = match action.as_str() {
        "publish" => "Published: customers can find it now.",
        "unpublish" => "Unpublished: it is a draft again.",
        "archive" => "Archived.",
        "restore" => "Restored as a draft.",
        _ => return error_page(&ctx, 404, "No such action."),
    };
    match state
        .catalog
        .change_status(&user.access_token, id, &action)
        .await
    {
        Ok(_) => redirect_with_flash(&here, done, state.secure_cookies),
        Err(ClientError::Problem(p)) if p.status < 500 && p.status != 404 && p.status != 403 => {
            redirect_with_flash(&here, &format!("{}.", p.title), state.secure_cookies)
        }
        Err(e) => failed(&ctx, &e),
    }
}
