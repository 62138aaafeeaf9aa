//! A vendor's products: the list, the create/edit form with variants, image upload,
//! and status changes (publish, unpublish, archive, restore).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use contracts::catalog::ProductId;
use contracts::catalog::dto::{
    CategoryNode, ImageRequest, ProductCard, ProductRequest, ProductView, VariantRequest,
};
use kernel::http::FieldError;
use kernel::http::Problem;
use kernel::http::client::ClientError;
use kernel::money::{Currency, Money};
use serde::Deserialize;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::{FormErrors, error_page, page, redirect_with_flash, render, require_user, rerender};
use crate::WebState;
use crate::session::{CsrfForm, CsrfUpload, CurrentUser, PageContext};

/// Empty variant rows the form offers beyond the product's own.
const SPARE_VARIANT_ROWS: usize = 2;

fn failed(ctx: &PageContext, e: &ClientError) -> Response {
    match e {
        ClientError::Problem(p) if p.status == 403 => {
            error_page(ctx, 403, "You do not manage this store.")
        }
        ClientError::Problem(p) if p.status == 404 => error_page(
            ctx,
            404,
            "We could not find that page. It may have moved, or the link may be wrong.",
        ),
        other => {
            tracing::error!(error = %other, "vendor page call failed");
            error_page(
                ctx,
                503,
                "That cannot be shown right now. Please try again.",
            )
        }
    }
}

pub struct ProductLine {
    pub id: String,
    pub title: String,
    pub status: String,
    pub price: String,
    pub image: Option<String>,
}

impl From<ProductCard> for ProductLine {
    fn from(p: ProductCard) -> Self {
        Self {
            id: p.id.to_string(),
            title: p.title,
            status: p.status,
            price: p.price_from.display(),
            image: p.image_url,
        }
    }
}

#[derive(Template)]
#[template(path = "vendor_products.html")]
struct ProductsPage {
    ctx: PageContext,
    title: String,
    store_id: String,
    store_name: String,
    store_slug: String,
    products: Vec<ProductLine>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    ctx: PageContext,
    Path(store_id): Path<String>,
    Query(q): Query<CursorQuery>,
) -> Response {
    let here = format!("/vendor/stores/{store_id}/products");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = user.access_token.as_str();
    let (store, products) = tokio::join!(
        state.vendors.store(&store_id, Some(token)),
        state
            .catalog
            .store_products(token, &store_id, q.cursor.as_deref())
    );
    let (store, products) = match (store, products) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(e), _) | (_, Err(e)) => return failed(&ctx, &e),
    };
    page(&ProductsPage {
        title: format!("{} · Products", store.name),
        store_id: store.id.to_string(),
        store_name: store.name,
        store_slug: store.slug,
        next: products.next_cursor.map(|c| {
            format!(
                "{here}?{}",
                serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()
            )
        }),
        products: products.items.into_iter().map(ProductLine::from).collect(),
        ctx,
    })
}

/// One row of the variants table as typed.
#[derive(Default, Clone)]
pub struct VariantRow {
    pub sku: String,
    pub options: String,
    pub price: String,
    pub compare_at: String,
    pub weight: String,
    pub barcode: String,
}

/// The product form's fields as typed, so a refused form comes back as it was.
#[derive(Default, Clone)]
pub struct ProductForm {
    pub title: String,
    pub slug: String,
    pub brand: String,
    pub category_id: String,
    pub description: String,
    pub attributes: String,
    pub tags: String,
    pub seo_title: String,
    pub seo_description: String,
    pub currency: String,
    pub variants: Vec<VariantRow>,
}

impl ProductForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let map: HashMap<&str, &str> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let get = |k: &str| map.get(k).copied().unwrap_or_default().to_owned();
        let mut variants = Vec::new();
        for i in 0..contracts::catalog::MAX_VARIANTS {
            let field = |name: &str| map.get(format!("variants[{i}].{name}").as_str()).copied();
            let Some(sku) = field("sku") else { break };
            variants.push(VariantRow {
                sku: sku.to_owned(),
                options: field("options").unwrap_or_default().to_owned(),
                price: field("price_minor").unwrap_or_default().to_owned(),
                compare_at: field("compare_at_minor").unwrap_or_default().to_owned(),
                weight: field("weight_grams").unwrap_or_default().to_owned(),
                barcode: field("barcode").unwrap_or_default().to_owned(),
            });
        }
        Self {
            title: get("title"),
            slug: get("slug"),
            brand: get("brand"),
            category_id: get("category_id"),
            description: get("description"),
            attributes: get("attributes"),
            tags: get("tags"),
            seo_title: get("seo_title"),
            seo_description: get("seo_description"),
            currency: get("currency"),
            variants,
        }
    }

    fn from_product(p: &ProductView) -> Self {
        let attributes = p
            .attributes
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}: {}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        Self {
            title: p.title.clone(),
            slug: p.slug.clone(),
            brand: p.brand.clone().unwrap_or_default(),
            category_id: p.category_id.map(|c| c.to_string()).unwrap_or_default(),
            description: p.description.clone(),
            attributes,
            tags: p.tags.join(", "),
            seo_title: p.seo_title.clone().unwrap_or_default(),
            seo_description: p.seo_description.clone().unwrap_or_default(),
            currency: p.price_from.currency.code().to_owned(),
            variants: p
                .variants
                .iter()
                .map(|v| VariantRow {
                    sku: v.sku.clone(),
                    options: options_text(&v.options),
                    price: v.price.decimal(),
                    compare_at: v
                        .compare_at_minor
                        .and_then(|c| Money::price(c, v.price.currency).ok())
                        .map(|m| m.decimal())
                        .unwrap_or_default(),
                    weight: v.weight_grams.map(|w| w.to_string()).unwrap_or_default(),
                    barcode: v.barcode.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Blank rows to fill in, after the ones in use.
    fn with_spare_rows(mut self) -> Self {
        self.variants.retain(|v| !v.is_blank());
        for _ in 0..SPARE_VARIANT_ROWS {
            self.variants.push(VariantRow::default());
        }
        self
    }

    /// The API request, or the fields the web layer itself must refuse (prices as
    /// typed, option and attribute syntax) with the API's field names.
    fn to_request(&self, images: Vec<ImageRequest>) -> Result<ProductRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&self.currency);
        if currency.is_err() {
            errors.push(FieldError::new(
                "currency",
                "invalid_currency",
                "choose a currency",
            ));
        }
        let mut variants = Vec::new();
        for (i, row) in self
            .variants
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_blank())
        {
            let price = |text: &str, field: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
                let c = currency.ok()?;
                match Money::parse_decimal(text, c) {
                    Ok(m) => Some(m.amount_minor),
                    Err(message) => {
                        errors.push(FieldError::new(
                            format!("variants[{i}].{field}"),
                            "invalid_price",
                            message,
                        ));
                        None
                    }
                }
            };
            let price_minor = if row.price.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("variants[{i}].price_minor"),
                    "required",
                    "every variant needs a price",
                ));
                None
            } else {
                price(&row.price, "price_minor", &mut errors)
            };
            let compare_at_minor = if row.compare_at.trim().is_empty() {
                None
            } else {
                price(&row.compare_at, "compare_at_minor", &mut errors)
            };
            let options = match parse_pairs(&row.options, ',', '=') {
                Ok(o) => o,
                Err(message) => {
                    errors.push(FieldError::new(
                        format!("variants[{i}].options"),
                        "invalid",
                        message,
                    ));
                    BTreeMap::new()
                }
            };
            let weight_grams = match row.weight.trim() {
                "" => None,
                w => match w.parse::<i64>() {
                    Ok(g) => Some(g),
                    Err(_) => {
                        errors.push(FieldError::new(
                            format!("variants[{i}].weight_grams"),
                            "invalid",
                            "must be a whole number of grams",
                        ));
                        None
                    }
                },
            };
            let barcode = Some(row.barcode.trim().to_owned()).filter(|b| !b.is_empty());
            variants.push(VariantRequest {
                sku: row.sku.trim().to_owned(),
                options,
                price_minor,
                currency: self.currency.clone(),
                compare_at_minor,
                weight_grams,
                barcode,
            });
        }
        let attributes = match parse_pairs(&self.attributes, '\n', ':') {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (k, typed_value(&v)))
                .collect(),
            Err(message) => {
                errors.push(FieldError::new("attributes", "invalid", message));
                serde_json::Map::new()
            }
        };
        let category_id = if self.category_id.is_empty() {
            None
        } else {
            match self.category_id.parse() {
                Ok(c) => Some(c),
                Err(_) => {
                    errors.push(FieldError::new(
                        "category_id",
                        "invalid",
                        "choose a category",
                    ));
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(ProductRequest {
            slug: self.slug.trim().to_owned(),
            title: self.title.clone(),
            description: self.description.clone(),
            brand: optional(&self.brand),
            category_id,
            attributes,
            tags: self
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            seo_title: optional(&self.seo_title),
            seo_description: optional(&self.seo_description),
            variants,
            images,
        })
    }
}

impl VariantRow {
    fn is_blank(&self) -> bool {
        [
            &self.sku,
            &self.options,
            &self.price,
            &self.compare_at,
            &self.weight,
            &self.barcode,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }
}

fn options_text(options: &serde_json::Value) -> String {
    options
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `Size=M, Color=Red` (or `color: red` lines): names and values, trimmed.
fn parse_pairs(
    text: &str,
    separator: char,
    assign: char,
) -> Result<BTreeMap<String, String>, &'static str> {
    let mut out = BTreeMap::new();
    for part in text
        .split(separator)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part.split_once(assign).ok_or(if assign == '=' {
            "write options as Name=Value, separated by commas"
        } else {
            "write one attribute per line as name: value"
        })?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

/// Attribute values keep their type: numbers and booleans filter as such.
fn typed_value(text: &str) -> serde_json::Value {
    match text {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        t => t.parse::<i64>().map_or_else(
            |_| serde_json::Value::String(t.to_owned()),
            serde_json::Value::from,
        ),
    }
}

/// Categories as indented choices for a `<select>`.
fn category_choices(nodes: &[CategoryNode], depth: usize, out: &mut Vec<(String, String)>) {
    for n in nodes {
        out.push((
            n.id.to_string(),
            format!("{}{}", "— ".repeat(depth), n.name),
        ));
        category_choices(&n.children, depth + 1, out);
    }
}

pub struct ImageLine {
    pub url: String,
    pub alt: String,
}

#[derive(Template)]
#[template(path = "vendor_product_form.html")]
struct ProductFormPage {
    ctx: PageContext,
    title: String,
    store_id: String,
    action: String,
    product: Option<ProductView>,
    form: ProductForm,
    errors: FormErrors,
    categories: Vec<(String, String)>,
    currencies: Vec<&'static str>,
    images: Vec<ImageLine>,
}

const CURRENCIES: &[&str] = &[
    "EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "JPY",
];

async fn categories(state: &WebState) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(tree) = state.catalog.categories().await {
        category_choices(&tree.items, 0, &mut out);
    }
    out
}

pub async fn new_form(
    State(state): State<WebState>,
    ctx: PageContext,
    Path(store_id): Path<String>,
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

fn refused(errors: Vec<FieldError>) -> ClientError {
    ClientError::Problem(Problem::validation(errors))
}

pub async fn create(
    State(state): State<WebState>,
    ctx: PageContext,
    Path(store_id): Path<String>,
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
                store_id: store_id.clone(),
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

fn parse_id(ctx: &PageContext, key: &str) -> Result<ProductId, Response> {
    key.parse()
        .map_err(|_| error_page(ctx, 404, "We could not find that product."))
}

/// The signed-in user, and the product `key` names as they may see it.
async fn product_for(
    state: &WebState,
    ctx: &PageContext,
    key: &str,
) -> Result<(CurrentUser, ProductId, ProductView), Response> {
    let user = require_user(ctx, &format!("/vendor/products/{key}"))?;
    let id = parse_id(ctx, key)?;
    let product = state
        .catalog
        .product(id, Some(&user.access_token))
        .await
        .map_err(|e| failed(ctx, &e))?;
    Ok((user, id, product))
}

fn images_of(p: &ProductView) -> Vec<ImageLine> {
    p.images
        .iter()
        .map(|i| ImageLine {
            url: i.thumbnail_url.clone(),
            alt: i.alt.clone(),
        })
        .collect()
}

fn image_requests(p: &ProductView) -> Vec<ImageRequest> {
    p.images
        .iter()
        .map(|i| ImageRequest {
            key: i.key.clone(),
            alt: i.alt.clone(),
            variant_sku: i.variant_sku.clone(),
        })
        .collect()
}

fn edit_page(
    ctx: &PageContext,
    product: ProductView,
    form: ProductForm,
    errors: FormErrors,
    categories: Vec<(String, String)>,
) -> ProductFormPage {
    ProductFormPage {
        ctx: ctx.clone(),
        title: format!("Edit {}", product.title),
        store_id: product.store.id.to_string(),
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
    Path(key): Path<String>,
) -> Response {
    let user = match require_user(&ctx, &format!("/vendor/products/{key}")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = match parse_id(&ctx, &key) {
        Ok(id) => id,
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
    Path(key): Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let (user, id, current) = match product_for(&state, &ctx, &key).await {
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
pub(super) fn multipart_file(
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
    Path(key): Path<String>,
    upload: CsrfUpload,
) -> Response {
    let here = format!("/vendor/products/{key}");
    let (user, id, current) = match product_for(&state, &ctx, &key).await {
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
    Path((key, action)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    let here = format!("/vendor/products/{key}");
    let user = match require_user(&ctx, &here) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = match parse_id(&ctx, &key) {
        Ok(id) => id,
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

#[derive(Template)]
#[template(path = "vendor_import.html")]
struct ImportPage {
    ctx: PageContext,
    title: String,
    store_id: String,
    report: Option<contracts::catalog::import::ImportReport>,
    error: Option<String>,
    columns: String,
}

fn import_page(ctx: &PageContext, store_id: &str) -> ImportPage {
    ImportPage {
        ctx: ctx.clone(),
        title: "Import products".into(),
        store_id: store_id.to_owned(),
        report: None,
        error: None,
        columns: contracts::catalog::import::COLUMNS.join(","),
    }
}

pub async fn import_form(ctx: PageContext, Path(store_id): Path<String>) -> Response {
    if let Err(r) = require_user(&ctx, &format!("/vendor/stores/{store_id}/products/import")) {
        return r;
    }
    page(&import_page(&ctx, &store_id))
}

/// Passes the file to catalog and shows its report: counts, and every refused row.
pub async fn import(
    State(state): State<WebState>,
    ctx: PageContext,
    Path(store_id): Path<String>,
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
    Path(store_id): Path<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ProductForm {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProductForm::from_pairs(&owned)
    }

    #[test]
    fn a_filled_form_becomes_a_product_request() {
        let f = form(&[
            ("title", "Linen Shirt"),
            ("slug", "linen-shirt"),
            ("currency", "EUR"),
            ("attributes", "color: blue\norganic: true\nthreads: 120"),
            ("tags", "summer, linen"),
            ("variants[0].sku", "LS-M"),
            ("variants[0].options", "Size=M, Color=Blue"),
            ("variants[0].price_minor", "29.99"),
            ("variants[0].compare_at_minor", ""),
            ("variants[1].sku", ""),
            ("variants[1].options", ""),
            ("variants[1].price_minor", ""),
            ("variants[1].compare_at_minor", ""),
        ]);
        let req = f.to_request(Vec::new()).unwrap();
        assert_eq!(req.variants.len(), 1, "blank rows are skipped");
        assert_eq!(req.variants[0].price_minor, Some(2999));
        assert_eq!(req.variants[0].options["Color"], "Blue");
        assert_eq!(req.attributes["organic"], serde_json::json!(true));
        assert_eq!(req.attributes["threads"], serde_json::json!(120));
        assert_eq!(req.tags, ["summer", "linen"]);
    }

    #[test]
    fn bad_rows_are_refused_by_field() {
        let f = form(&[
            ("currency", "EUR"),
            ("attributes", "no colon here"),
            ("variants[0].sku", "A"),
            ("variants[0].price_minor", "12.345"),
            ("variants[1].sku", "B"),
            ("variants[1].price_minor", ""),
            ("variants[1].options", "Size"),
        ]);
        let errors = f.to_request(Vec::new()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "variants[0].price_minor",
                "variants[1].price_minor",
                "variants[1].options",
                "attributes"
            ]
        );
    }
}
