//! `emporium seed --demo`: a marketplace worth browsing, built through the same APIs
//! people use (in-process clients), so the demo obeys every rule the platform enforces.

use std::time::Duration;

use contracts::identity::dto::LoginRequest;
use contracts::vendors::StoreId;
use contracts::vendors::dto::{ApplyRequest, PayoutRequest};
use kernel::Platform;
use kernel::http::ClientIp;
use kernel::http::client::ClientError;
use kernel::progress::Progress;
use serde_json::{Value, json};

pub const DEMO_PASSWORD: &str = "emporium-demo-password";
/// Units of each demo variant on the shelf.
const DEMO_STOCK: i64 = 40;
const ADMIN_EMAIL: &str = "admin@demo.emporium.localhost";
const PRODUCTS_PER_STORE: usize = 30;

const STORES: [(&str, &str, &str); 10] = [
    ("Linen & Loom", "linen-loom", "Woven by hand, washed soft."),
    (
        "Copper Pot Kitchen",
        "copper-pot",
        "Cookware that lasts generations.",
    ),
    (
        "Paper Lantern",
        "paper-lantern",
        "Notebooks and pens for slow writing.",
    ),
    ("Wick & Wax", "wick-wax", "Candles poured in small batches."),
    (
        "Northern Blades",
        "northern-blades",
        "Forged kitchen knives.",
    ),
    ("Clay Studio", "clay-studio", "Stoneware vases and bowls."),
    (
        "Urban Satchel",
        "urban-satchel",
        "Leather bags for every day.",
    ),
    (
        "Silk Road Scarves",
        "silk-road",
        "Scarves in silk and wool.",
    ),
    (
        "Meadow Dresses",
        "meadow-dresses",
        "Light dresses for long summers.",
    ),
    ("Ink Well", "ink-well", "Fountain pens and inks."),
];

/// A category's name and slug.
type Named = (&'static str, &'static str);

/// Middle level → its leaves.
const CATEGORIES: [(&str, &str, &[Named]); 5] = [
    (
        "Kitchen",
        "kitchen",
        &[("Knives", "knives"), ("Cookware", "cookware")],
    ),
    (
        "Decor",
        "decor",
        &[("Candles", "candles"), ("Vases", "vases")],
    ),
    (
        "Clothing",
        "clothing",
        &[("Shirts", "shirts"), ("Dresses", "dresses")],
    ),
    (
        "Accessories",
        "accessories",
        &[("Bags", "bags"), ("Scarves", "scarves")],
    ),
    (
        "Stationery",
        "stationery",
        &[("Notebooks", "notebooks"), ("Pens", "pens")],
    ),
];
const ROOTS: [(&str, &str, [usize; 2]); 3] = [
    ("Home & Garden", "home-garden", [0, 1]),
    ("Fashion", "fashion", [2, 3]),
    ("Books & Stationery", "books-stationery", [4, 4]),
];

const COLORS: [(&str, [u8; 3]); 8] = [
    ("red", [196, 62, 58]),
    ("blue", [52, 98, 170]),
    ("green", [58, 140, 90]),
    ("ochre", [204, 150, 48]),
    ("black", [40, 40, 44]),
    ("white", [236, 234, 228]),
    ("plum", [120, 60, 110]),
    ("sand", [210, 190, 150]),
];
const MATERIALS: [&str; 5] = ["cotton", "linen", "steel", "ceramic", "leather"];
const ADJECTIVES: [&str; 10] = [
    "Classic", "Everyday", "Handmade", "Heritage", "Minimal", "Rustic", "Soft", "Sturdy", "Little",
    "Grand",
];

/// A simple two-tone picture with a diagonal band, as product photography stand-in.
fn demo_image(rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(600, 600, |x, y| {
        let band = (x + y) / 60 % 2 == 0;
        let shade = |c: u8| if band { c } else { c.saturating_add(25) };
        image::Rgb([shade(rgb[0]), shade(rgb[1]), shade(rgb[2])])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Writing a PNG to memory cannot fail.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

async fn login(
    platform: &Platform,
    email: &str,
) -> anyhow::Result<contracts::identity::dto::TokenResponse> {
    let client = contracts::identity::IdentityClient::new(platform.client(identity::SERVICE));
    let req = LoginRequest {
        email: email.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    Ok(client.login(&req, &ClientIp("127.0.0.1".into())).await?)
}

async fn user(platform: &Platform, email: &str, name: &str, admin: bool) -> anyhow::Result<String> {
    let pool = identity::connect(&platform.config).await?;
    match identity::create_user(&pool, &platform.config, email, name, DEMO_PASSWORD, admin).await {
        Ok(_) | Err(identity::Error::EmailTaken) => {}
        Err(e) => anyhow::bail!("creating {email}: {e}"),
    }
    Ok(login(platform, email).await?.access_token)
}

/// Refreshes a vendor's session until its token carries the store (memberships travel
/// by event).
async fn vendor_token(
    platform: &Platform,
    email: &str,
    store_id: StoreId,
) -> anyhow::Result<String> {
    let identity = contracts::identity::IdentityClient::new(platform.client(identity::SERVICE));
    let mut tokens = login(platform, email).await?;
    for _ in 0..200 {
        if platform
            .verifier
            .verify(&tokens.access_token)
            .await?
            .store_role(store_id)
            .is_some()
        {
            return Ok(tokens.access_token);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        tokens = identity.refresh(&tokens.refresh_token).await?;
    }
    anyhow::bail!("the membership of {email} never reached identity")
}

/// Creates a product, waiting for catalog to learn (by event) that the store is open.
async fn create_product(
    catalog: &kernel::http::client::ServiceClient,
    token: &str,
    store_id: StoreId,
    body: &Value,
) -> anyhow::Result<Value> {
    for _ in 0..200 {
        match catalog
            .post(&format!("/api/v1/catalog/stores/{store_id}/products"))
            .bearer(token)
            .json(body)
            .send()
            .await
        {
            Err(ClientError::Problem(p)) if p.code == "store_not_open" => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return Ok(other?),
        }
    }
    anyhow::bail!("store {store_id} never opened in catalog")
}

pub struct Summary {
    pub stores: usize,
    pub categories: usize,
    pub products: usize,
    pub customers: usize,
    pub reviews: usize,
}

pub async fn demo(platform: &Platform) -> anyhow::Result<Summary> {
    let catalog = platform.client(catalog::SERVICE);
    let vendors_client =
        contracts::vendors::VendorsClient::new(platform.client(contracts::vendors::SERVICE));
    let admin = user(platform, ADMIN_EMAIL, "Demo Admin", true).await?;

    eprintln!("categories");
    let mut leaves = Vec::new();
    let mut categories = 0;
    for (root_name, root_slug, children) in ROOTS {
        let root: Value = catalog
            .post("/api/v1/catalog/categories")
            .bearer(&admin)
            .json(&json!({ "name": root_name, "slug": root_slug }))
            .send()
            .await?;
        categories += 1;
        let mut seen = Vec::new();
        for i in children {
            if seen.contains(&i) {
                continue;
            }
            seen.push(i);
            let (name, slug, kids) = CATEGORIES[i];
            let mid: Value = catalog
                .post("/api/v1/catalog/categories")
                .bearer(&admin)
                .json(&json!({ "name": name, "slug": slug, "parent_id": root["id"] }))
                .send()
                .await?;
            categories += 1;
            for (leaf_name, leaf_slug) in kids {
                let leaf: Value = catalog
                    .post("/api/v1/catalog/categories")
                    .bearer(&admin)
                    .json(&json!({ "name": leaf_name, "slug": leaf_slug, "parent_id": mid["id"] }))
                    .send()
                    .await?;
                categories += 1;
                leaves.push((leaf["id"].clone(), (*leaf_name).to_owned()));
            }
        }
    }

    eprintln!("images");
    let media = kernel::media::from_config(&platform.config)?;
    let mut images = Vec::new();
    for (color, rgb) in COLORS {
        let png = demo_image(rgb);
        let processed =
            tokio::task::spawn_blocking(move || catalog::operations::process_image(&png)).await??;
        for (name, bytes) in processed.renditions {
            media.put(&name, bytes).await?;
        }
        images.push((color, processed.key));
    }

    // Tax where the demo stores are, so checkouts show it.
    let tax = contracts::tax::TaxClient::new(platform.client(tax::SERVICE));
    for (country, rate) in [
        ("FR", "20"),
        ("DE", "19"),
        ("IT", "22"),
        ("ES", "21"),
        ("NL", "21"),
    ] {
        tax.set_rate(
            &admin,
            country,
            &contracts::tax::dto::RateRequest {
                rate: rate.to_owned(),
                region: None,
            },
        )
        .await?;
    }
    let shipping = contracts::shipping::ShippingClient::new(platform.client(shipping::SERVICE));
    let inventory =
        contracts::inventory::InventoryClient::new(platform.client(contracts::inventory::SERVICE));

    let mut demo_stores = Vec::new();
    let total = STORES.len() * PRODUCTS_PER_STORE;
    let mut made = 0;
    let mut bar = Progress::new("products", u64::try_from(total).unwrap_or(u64::MAX));
    for (s, (name, slug, about)) in STORES.iter().enumerate() {
        let owner_email = format!("owner@{slug}.demo.emporium.localhost");
        let owner = user(platform, &owner_email, &format!("{name} owner"), false).await?;
        let applied = vendors_client
            .apply(
                &owner,
                &ApplyRequest {
                    slug: (*slug).to_owned(),
                    name: (*name).to_owned(),
                    description: (*about).to_owned(),
                    logo_url: None,
                    support_email: format!("help@{slug}.demo.emporium.localhost"),
                    country: ["FR", "DE", "IT", "ES", "NL"][s % 5].to_owned(),
                    payout: PayoutRequest {
                        holder_name: (*name).to_owned(),
                        iban: "DE89370400440532013000".to_owned(),
                    },
                },
            )
            .await?;
        let store_id = applied.id;
        vendors_client
            .admin_transition(&admin, &store_id, "approve", None)
            .await?;
        let token = vendor_token(platform, &owner_email, store_id).await?;
        // Every store ships everywhere and keeps its stock in one warehouse, so the
        // demo can be bought from.
        let method = shipping
            .create(
                &token,
                &store_id,
                &contracts::shipping::dto::MethodRequest {
                    name: "Standard".to_owned(),
                    kind: "free_over".to_owned(),
                    countries: Vec::new(),
                    currency: "EUR".to_owned(),
                    price_minor: Some(490),
                    free_over_minor: Some(10_000),
                    bands: Vec::new(),
                    position: 0,
                },
            )
            .await?;
        let warehouse = inventory
            .create_location(&token, &store_id, "Warehouse")
            .await?;
        let mut sold = Vec::new();
        for p in 0..PRODUCTS_PER_STORE {
            let (category, category_name) = &leaves[(s * 7 + p) % leaves.len()];
            let (color, image) = &images[(s + p) % images.len()];
            let material = MATERIALS[(s + p) % MATERIALS.len()];
            let noun = category_name.trim_end_matches('s');
            let title = format!(
                "{} {color} {material} {noun}",
                ADJECTIVES[p % ADJECTIVES.len()]
            );
            let base = 900 + i64::try_from((s * 37 + p * 113) % 9000).unwrap_or(0);
            let sizes: &[&str] = if p % 3 == 0 {
                &["S", "M", "L"]
            } else {
                &["One size"]
            };
            let variants: Vec<Value> = sizes
                .iter()
                .enumerate()
                .map(|(i, size)| {
                    json!({
                        "sku": format!("{}-{p:03}-{i}", slug.to_uppercase()),
                        "options": { "Size": size },
                        "price_minor": base + i64::try_from(i).unwrap_or(0) * 200,
                        "currency": "EUR",
                        "weight_grams": 300
                    })
                })
                .collect();
            let body = json!({
                "slug": format!("{}-{p}", title.to_lowercase().replace(' ', "-")),
                "title": title,
                "brand": name,
                "description": format!("**{title}** from {name}.\n\n{about} Made of {material}."),
                "category_id": category,
                "attributes": { "color": color, "material": material },
                "tags": [noun.to_lowercase(), (*color).to_owned()],
                "variants": variants,
                "images": [{ "key": image, "alt": format!("{title}, {color}") }]
            });
            let product = create_product(&catalog, &token, store_id, &body).await?;
            for variant in product["variants"].as_array().into_iter().flatten() {
                let Some(variant) = variant["id"].as_str().and_then(|v| v.parse().ok()) else {
                    continue;
                };
                inventory
                    .adjust(
                        &token,
                        variant,
                        &contracts::inventory::dto::AdjustmentRequest {
                            location_id: warehouse.id,
                            delta: DEMO_STOCK,
                            reason: "Opening stock".to_owned(),
                        },
                    )
                    .await?;
            }
            let id = product["id"].as_str().unwrap_or_default();
            let first_variant = product["variants"][0]["id"].as_str().unwrap_or_default();
            if let (Ok(p), Ok(v)) = (id.parse(), first_variant.parse()) {
                sold.push((p, v));
            }
            catalog
                .post(&format!("/api/v1/catalog/products/{id}/publish"))
                .bearer(&token)
                .send_empty()
                .await?;
            made += 1;
            bar.inc(1);
        }
        demo_stores.push(crate::demo_reviews::DemoStore {
            owner_token: token,
            store_id,
            method: method.id,
            products: sold,
        });
    }

    bar.finish();
    eprintln!("customers");
    let customers = 5;
    let mut customer_tokens = Vec::new();
    for i in 1..=customers {
        let token = user(
            platform,
            &format!("customer{i}@demo.emporium.localhost"),
            &format!("Customer {i}"),
            false,
        )
        .await?;
        customer_tokens.push(token);
    }
    eprintln!("orders and reviews");
    let reviews = crate::demo_reviews::reviews(platform, &customer_tokens, &demo_stores).await?;
    Ok(Summary {
        stores: STORES.len(),
        categories,
        products: made,
        customers,
        reviews,
    })
}

/// `emporium seed --products N`: benchmark data, fast. Adds N published products (two
/// variants and a picture each) spread over the stores and leaf categories `seed --demo`
/// made, written by set-based SQL rather than through the API; then rebuilds the search
/// index. Returns how many products were written.
pub async fn products(config: &kernel::Config, n: u64) -> anyhow::Result<u64> {
    catalog::operations::generate_products(config, n).await
}
