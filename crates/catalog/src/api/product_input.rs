//! What a vendor sends for a product (fields, variants, images), checked at once and
//! written in one transaction: shared by the API, the CSV import and the pages.

use kernel::http::{FieldError, Problem};
use kernel::ids::StoreId;
use kernel::media::MediaStore;
use kernel::validation::{FieldErrors, bounded_prose, bounded_text};
use sqlx::PgConnection;

use super::Result;
use crate::domain::{self, CategoryId, ProductId, RawVariant};
use crate::store;
use contracts::catalog::dto::*;

pub(super) struct Validated {
    pub(super) slug: String,
    title: String,
    description_md: String,
    description_html: String,
    brand: Option<String>,
    category_id: Option<CategoryId>,
    attributes: serde_json::Value,
    tags: Vec<String>,
    seo_title: Option<String>,
    seo_description: Option<String>,
    variants: Vec<domain::VariantInput>,
    images: Vec<store::ImageRow>,
}

fn optional(errs: &mut FieldErrors, field: &str, v: Option<&str>, max: usize) -> Option<String> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    errs.check(field, "invalid", bounded_text(v, 1, max))
}

const MAX_IMAGES: usize = 20;

/// Images must be uploads that exist, described, and tied only to this product's SKUs.
async fn validate_images(
    errs: &mut FieldErrors,
    media: &dyn MediaStore,
    req: &ProductRequest,
) -> Result<Vec<store::ImageRow>> {
    if req.images.len() > MAX_IMAGES {
        errs.add("images", "too_many", format!("at most {MAX_IMAGES} images"));
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, image) in req.images.iter().enumerate() {
        let field = |f: &str| format!("images[{i}].{f}");
        let key_ok = image.key.len() == 32
            && image
                .key
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let exists = key_ok
            && media
                .exists(&crate::media::rendition_name(&image.key, 160))
                .await
                .map_err(|e| Problem::internal(&e))?;
        if !exists {
            errs.add(
                &field("key"),
                "unknown_media",
                "upload the image first and use the key it answers",
            );
        }
        let alt = errs.check(&field("alt"), "invalid", bounded_prose(&image.alt, 200));
        if let Some(sku) = &image.variant_sku
            && !req.variants.iter().any(|v| v.sku.trim() == sku.trim())
        {
            errs.add(
                &field("variant_sku"),
                "unknown_variant",
                "is not one of this product's SKUs",
            );
        }
        if let (true, Some(alt)) = (exists, alt) {
            out.push(store::ImageRow {
                media_key: image.key.clone(),
                alt,
                variant_sku: image.variant_sku.as_ref().map(|s| s.trim().to_owned()),
            });
        }
    }
    Ok(out)
}

pub(super) async fn validate(
    conn: &mut PgConnection,
    media: &dyn MediaStore,
    req: &ProductRequest,
) -> Result<Validated> {
    let mut errs = FieldErrors::new();
    let slug = errs.check("slug", "invalid_slug", domain::parse_slug(&req.slug));
    let title = errs.check("title", "invalid", bounded_text(&req.title, 2, 200));
    errs.check(
        "description",
        "invalid",
        bounded_prose(&req.description, 20_000),
    );
    let brand = optional(&mut errs, "brand", req.brand.as_deref(), 80);
    let seo_title = optional(&mut errs, "seo_title", req.seo_title.as_deref(), 70);
    let seo_description = optional(
        &mut errs,
        "seo_description",
        req.seo_description.as_deref(),
        160,
    );
    let attributes = domain::parse_attributes(&mut errs, &req.attributes);
    let tags = domain::parse_tags(&mut errs, &req.tags);
    let raw: Vec<RawVariant<'_>> = req
        .variants
        .iter()
        .map(|v| RawVariant {
            sku: &v.sku,
            options: &v.options,
            price_minor: v.price_minor,
            currency: &v.currency,
            compare_at_minor: v.compare_at_minor,
            weight_grams: v.weight_grams,
            barcode: v.barcode.as_deref(),
        })
        .collect();
    let variants = domain::parse_variants(&mut errs, &raw);
    let images = validate_images(&mut errs, media, req).await?;
    if let Some(category) = req.category_id
        && store::category(conn, category).await?.is_none()
    {
        errs.add("category_id", "unknown_category", "no such category");
    }
    let (slug, title) = errs.finish_with((slug, title))?;
    Ok(Validated {
        slug,
        title,
        description_html: crate::markdown::render(&req.description),
        description_md: req.description.clone(),
        brand,
        category_id: req.category_id,
        attributes: serde_json::Value::Object(attributes),
        tags,
        seo_title,
        seo_description,
        variants,
        images,
    })
}

/// Writes the product's fields and variants; maps unique violations to field errors.
pub(super) async fn write(
    conn: &mut PgConnection,
    id: ProductId,
    store: StoreId,
    v: &Validated,
) -> Result<()> {
    let min_price = v
        .variants
        .iter()
        .map(|x| x.price.amount_minor)
        .min()
        .unwrap_or(0);
    let currency = v
        .variants
        .first()
        .map_or("EUR", |x| x.price.currency.code());
    let fields = store::ProductFields {
        slug: &v.slug,
        title: &v.title,
        description_md: &v.description_md,
        description_html: &v.description_html,
        brand: v.brand.as_deref(),
        category_id: v.category_id,
        attributes: &v.attributes,
        tags: &v.tags,
        seo_title: v.seo_title.as_deref(),
        seo_description: v.seo_description.as_deref(),
        currency,
        min_price_minor: min_price,
    };
    let written = store::save_product(conn, id, store, &fields).await;
    if let Err(e) = written {
        return Err(
            if kernel::db::is_unique_violation(&e, "products_store_slug_key") {
                Problem::taken(
                    "slug",
                    "slug_taken",
                    "this store already has a product with this slug",
                )
                .into()
            } else {
                e.into()
            },
        );
    }
    store::replace_images(conn, id, &v.images).await?;
    if let Some(sku) = store::replace_variants(conn, id, store, &v.variants).await? {
        let index = v.variants.iter().position(|x| x.sku == sku).unwrap_or(0);
        return Err(Problem::validation(vec![FieldError::new(
            format!("variants[{index}].sku"),
            "duplicate_sku",
            format!("SKU {sku} is used by another product of this store"),
        )])
        .into());
    }
    Ok(())
}
