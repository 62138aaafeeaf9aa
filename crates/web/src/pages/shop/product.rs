//! A product's page: its variants, the buy box, and structured data for search engines.

use super::*;

pub struct VariantChoice {
    pub variant_id: String,
    pub sku: String,
    /// "In stock", "Only 3 left" or "Sold out"; nothing when stock is not tracked.
    pub stock: Option<String>,
    pub label: String,
    pub price: String,
    pub compare_at: Option<String>,
    pub selected: bool,
    pub image: Option<String>,
}

#[derive(Template)]
#[template(path = "shop_product.html")]
struct ProductPage {
    ctx: PageContext,
    csrf: String,
    title: String,
    canonical: String,
    description: String,
    breadcrumb: Vec<CategoryRef>,
    product: ProductView,
    variants: Vec<VariantChoice>,
    chosen: VariantChoice,
    gallery: Vec<(String, String, String)>,
    main_image: Option<(String, String)>,
    json_ld: String,
    reviews: super::reviews::ReviewsBlock,
}

#[derive(Template)]
#[template(path = "shop_buybox.html")]
struct BuyBox {
    csrf: String,
    product: ProductView,
    variants: Vec<VariantChoice>,
    chosen: VariantChoice,
    main_image: Option<(String, String)>,
}

#[derive(serde::Deserialize)]
pub struct VariantQuery {
    variant: Option<String>,
}

pub fn option_label(options: &serde_json::Value) -> String {
    options
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// JSON-LD `Product` with an `Offer` per variant, escaped so it cannot end its
/// `<script>` element early.
fn json_ld(p: &ProductView, url: &str, rating: Option<&super::reviews::SummaryView>) -> String {
    let offers: Vec<serde_json::Value> = p
        .variants
        .iter()
        .map(|v| {
            let exp = i32::from(v.price.currency.exponent());
            let price = v.price.amount_minor as f64 / 10f64.powi(exp);
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "price": format!("{price:.prec$}", prec = exp as usize),
                "priceCurrency": v.price.currency.code(),
                "availability": "https://schema.org/InStock",
                "url": format!("{url}?variant={}", v.sku),
            })
        })
        .collect();
    let mut doc = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.title,
        "description": p.seo_description.clone().unwrap_or_else(|| p.description.chars().take(300).collect()),
        "url": url,
        "image": p.images.iter().map(|i| i.large_url.clone()).collect::<Vec<_>>(),
        "offers": offers,
    });
    if let Some(brand) = &p.brand {
        doc["brand"] = serde_json::json!({"@type": "Brand", "name": brand});
    }
    if let Some(rating) = rating.filter(|r| r.count > 0) {
        doc["aggregateRating"] = serde_json::json!({
            "@type": "AggregateRating",
            "ratingValue": rating.average,
            "reviewCount": rating.count,
            "bestRating": 5,
            "worstRating": 1,
        });
    }
    doc.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub async fn product_page(
    State(state): State<WebState>,
    ctx: PageContext,
    headers: HeaderMap,
    Path((store_slug, slug)): Path<(String, String)>,
    Query(query): Query<VariantQuery>,
) -> Response {
    let token = ctx.user.as_ref().map(|u| u.access_token.clone());
    let product = match state
        .catalog
        .product_by_slug(&store_slug, &slug, token.as_deref())
        .await
    {
        Ok(p) => p,
        Err(e) => return unavailable(&ctx, &e),
    };
    let chosen_sku = query
        .variant
        .filter(|s| product.variants.iter().any(|v| &v.sku == s))
        .or_else(|| product.variants.first().map(|v| v.sku.clone()))
        .unwrap_or_default();
    let variant_image = |sku: &str| {
        product
            .images
            .iter()
            .find(|i| i.variant_sku.as_deref() == Some(sku))
            .or_else(|| product.images.first())
            .map(|i| (i.large_url.clone(), i.alt.clone()))
    };
    let variants: Vec<VariantChoice> = product
        .variants
        .iter()
        .map(|v| VariantChoice {
            variant_id: v.id.to_string(),
            stock: v.available.map(|a| match a {
                ..=0 => "Sold out".to_owned(),
                1..=5 => format!("Only {a} left"),
                _ => "In stock".to_owned(),
            }),
            sku: v.sku.clone(),
            label: option_label(&v.options),
            price: v.price.display(),
            compare_at: v
                .compare_at_minor
                .filter(|c| *c > v.price.amount_minor)
                .map(|c| money(c, v.price.currency.code())),
            selected: v.sku == chosen_sku,
            image: variant_image(&v.sku).map(|(u, _)| u),
        })
        .collect();
    let Some(chosen) = variants.iter().find(|v| v.selected).map(|v| VariantChoice {
        stock: v.stock.clone(),
        variant_id: v.variant_id.clone(),
        sku: v.sku.clone(),
        label: v.label.clone(),
        price: v.price.clone(),
        compare_at: v.compare_at.clone(),
        selected: true,
        image: v.image.clone(),
    }) else {
        return error_page(&ctx, 404, "This product has nothing for sale.");
    };
    let main_image = variant_image(&chosen.sku);
    if wants_partial(&headers) {
        return page(&BuyBox {
            csrf: ctx.csrf.clone(),
            product,
            variants,
            chosen,
            main_image,
        });
    }
    let reviews = super::reviews::block(&state, &product, ctx.user.as_ref()).await;
    let breadcrumb = match product.category_id {
        Some(id) => match state.catalog.category(&id.to_string()).await {
            Ok(c) => {
                let mut crumbs = c.breadcrumb;
                crumbs.push(CategoryRef {
                    id: c.id,
                    name: c.name,
                    slug: c.slug,
                });
                crumbs
            }
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    let canonical = format!(
        "{}/p/{}/{}",
        state.public_url, product.store.slug, product.slug
    );
    page(&ProductPage {
        csrf: ctx.csrf.clone(),
        title: product
            .seo_title
            .clone()
            .unwrap_or_else(|| product.title.clone()),
        description: product
            .seo_description
            .clone()
            .unwrap_or_else(|| product.description.chars().take(160).collect()),
        json_ld: json_ld(&product, &canonical, reviews.summary.as_ref()),
        canonical,
        breadcrumb,
        gallery: product
            .images
            .iter()
            .map(|i| (i.thumbnail_url.clone(), i.large_url.clone(), i.alt.clone()))
            .collect(),
        main_image,
        variants,
        chosen,
        product,
        ctx,
        reviews,
    })
}
