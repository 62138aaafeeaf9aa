//! `emporium seed --demo` builds a browsable marketplace through the real APIs.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn the_demo_seed_fills_a_browsable_marketplace() {
    let app = TestApp::spawn().await;
    let summary = emporium::seed::demo(&app.platform).await.unwrap();
    assert_eq!(
        (
            summary.stores,
            summary.products,
            summary.customers,
            summary.reviews
        ),
        (10, 300, 5, 20)
    );
    // The demo customers received what they reviewed; the products show it.
    let reviewed: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT DISTINCT product_id FROM reviews ORDER BY product_id")
            .fetch_all(&app.pool("reviews").await)
            .await
            .unwrap();
    assert!(reviewed.len() >= 10, "{} products reviewed", reviewed.len());
    let product = format!("prd_{}", reviewed[0].simple());
    let listed = get_json(&app, &format!("/api/v1/reviews/products/{product}")).await;
    assert!(
        listed["summary"]["count"].as_i64().unwrap() >= 1,
        "{listed}"
    );
    assert_eq!(listed["items"][0]["verified_purchase"], true);
    // Stock and publications reach the catalog's read side by event.
    app.settle().await;

    let stores: Value = get_json(&app, "/api/v1/vendors/stores?limit=100").await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 10);
    let tree: Value = get_json(&app, "/api/v1/catalog/categories").await;
    assert_eq!(tree["items"].as_array().unwrap().len(), 3);
    assert!(
        tree["items"][0]["children"][0]["children"]
            .as_array()
            .unwrap()
            .len()
            >= 2,
        "three levels"
    );

    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/catalog/products?limit=100&cursor={c}"),
            None => "/api/v1/catalog/products?limit=100".to_owned(),
        };
        let page: Value = get_json(&app, &url).await;
        let items = page["items"].as_array().unwrap();
        assert!(
            items.iter().all(|p| p["image_url"].is_string()),
            "every product has a picture"
        );
        seen += items.len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 300);
    let reds: Value = get_json(
        &app,
        "/api/v1/catalog/products?attr.color=red&category=home-garden&limit=100",
    )
    .await;
    assert!(
        !reds["items"].as_array().unwrap().is_empty(),
        "filters find seeded products"
    );
    // A demo customer can buy a demo product: stock, shipping and tax are set up.
    let r = app
        .login(
            "customer1@demo.emporium.localhost",
            emporium::seed::DEMO_PASSWORD,
        )
        .await;
    assert_eq!(r.status(), 200);
    let customer: Value = r.json().await.unwrap();
    let product = &reds["items"][0];
    let detail: Value = get_json(
        &app,
        &format!(
            "/api/v1/catalog/products/{}",
            product["id"].as_str().unwrap()
        ),
    )
    .await;
    let variant = detail["variants"][0]["id"].as_str().unwrap();
    assert_eq!(detail["variants"][0]["available"], 40, "{detail}");
    let store = detail["store"]["id"].as_str().unwrap();
    let methods: Value = get_json(&app, &format!("/api/v1/shipping/stores/{store}/methods")).await;
    crate::checkout::add_to_cart(&app, &customer, variant, 1).await;
    let body = serde_json::json!({
        "address": { "name": "Demo Buyer", "line1": "1 Rue", "city": "Paris", "postal_code": "75001", "country": "FR" },
        "shipping": { store: methods["items"][0]["id"] },
        "card_number": crate::checkout::OK_CARD,
    });
    let r = crate::checkout::checkout(&app, &customer, "demo-1", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn text(app: &TestApp, path: &str, htmx: bool) -> (u16, String) {
    let mut req = app.http.get(app.url(path));
    if htmx {
        req = req.header("HX-Request", "true");
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The first `href="…"` after `marker` in `html`, unescaped.
fn link_after(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page"));
    let rest = &html[at..];
    let start = rest.find("href=\"").unwrap() + 6;
    let end = start + rest[start..].find('"').unwrap();
    rest[start..end]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#43;", "+")
}

#[tokio::test]
async fn the_storefront_pages_browse_the_seeded_marketplace() {
    let app = TestApp::spawn().await;
    emporium::seed::demo(&app.platform).await.unwrap();
    // Every product reaches the search index, once its events are handled.
    app.settle().await;
    let indexed = get_json(&app, "/api/v1/search/products?per_page=1").await["total"].clone();
    assert_eq!(indexed, 300, "every seeded product is searchable");

    let (status, home) = text(&app, "/", false).await;
    assert_eq!(status, 200);
    assert!(home.contains("Shop by category") && home.contains("New in the shops"));
    assert!(home.contains("<link rel=\"canonical\""));

    // A category page: its subcategories and filters as facets, with counts.
    let (status, fashion) = text(&app, "/c/fashion", false).await;
    assert_eq!(status, 200, "{fashion}");
    assert!(fashion.contains("<h3>Category</h3>") && fashion.contains("<h3>Brand</h3>"));
    assert!(fashion.contains("<h3>Color</h3>") && fashion.contains("<h3>Price</h3>"));
    assert!(
        fashion.contains("120 products"),
        "fashion holds 120 seeded products"
    );
    // Choosing a facet value: the URL carries it; htmx gets just the results.
    let red = link_after(&fashion, "<h3>Color</h3>");
    assert!(red.starts_with("/c/fashion?attr.color="), "{red}");
    let (status, partial) = text(&app, &red, true).await;
    assert_eq!(status, 200);
    assert!(!partial.contains("<html") && partial.contains("result-count"));
    assert!(
        partial.contains("aria-current=\"true\""),
        "the chosen value is marked"
    );
    let (_, full) = text(&app, &red, false).await;
    assert!(full.contains("<html") && full.contains("aria-current=\"true\""));

    // Search with a typo, then the product page.
    let (status, results) = text(&app, "/search?q=ceramik", false).await;
    assert_eq!(status, 200);
    assert!(
        !results.contains("Nothing matches"),
        "a typo still finds ceramics"
    );
    // The first product found that comes in sizes.
    let mut found = None;
    for (at, _) in results.match_indices("class=\"tile\"") {
        let product = link_after(&results[at..], "class=\"tile\"");
        assert!(product.starts_with("/p/"), "{product}");
        let (status, page) = text(&app, &product, false).await;
        assert_eq!(status, 200);
        if page.matches("name=\"variant\" value=\"").count() >= 2 {
            found = Some((product, page));
            break;
        }
    }
    let (product, page) = found.expect("a ceramic product in sizes");
    assert!(page.contains("application/ld+json") && page.contains("\"@type\":\"Product\""));
    assert!(page.contains("aria-label=\"Breadcrumb\""));
    assert!(page.contains(&format!(
        "<link rel=\"canonical\" href=\"{}{product}\"",
        app.base
    )));
    // The variant picker: another variant, another price (htmx swaps the buy box).
    let skus: Vec<&str> = page
        .match_indices("name=\"variant\" value=\"")
        .map(|(i, m)| {
            let rest = &page[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert!(skus.len() >= 2, "seeded products have sizes");
    let (_, first) = text(&app, &format!("{product}?variant={}", skus[0]), true).await;
    let (_, second) = text(&app, &format!("{product}?variant={}", skus[1]), true).await;
    let price = |html: &str| {
        let at = html.find("id=\"product-price\">").unwrap() + 19;
        html[at..at + html[at..].find('<').unwrap()].to_owned()
    };
    assert_ne!(price(&first), price(&second));
    assert!(!first.contains("<html"));

    // Suggestions as you type.
    let (_, suggestions) = text(&app, "/search/suggest?q=cer", true).await;
    assert!(suggestions.contains("ceramic"), "{suggestions}");

    // Unknown things are friendly 404s; bad filters a 400 page, not a 500.
    assert_eq!(text(&app, "/p/nope/nothing", false).await.0, 404);
    assert_eq!(text(&app, "/c/no-such-category", false).await.0, 404);
    assert_eq!(text(&app, "/s/no-such-store", false).await.0, 404);
    assert_eq!(text(&app, "/search?sort=cheapest", false).await.0, 400);

    // A store page.
    let (status, store) = text(&app, "/s/clay-studio", false).await;
    assert_eq!(status, 200);
    assert!(store.contains("Products from Clay Studio"));

    // Crawlers: robots.txt points at the sitemap, which lists every product.
    let (_, robots) = text(&app, "/robots.txt", false).await;
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.base)));
    let (_, index) = text(&app, "/sitemap.xml", false).await;
    assert!(index.contains("/sitemaps/products-1.xml"));
    let (_, products) = text(&app, "/sitemaps/products-1.xml", false).await;
    assert_eq!(products.matches("<url>").count(), 300);
    let (_, pages) = text(&app, "/sitemaps/pages.xml", false).await;
    assert!(pages.contains("/c/fashion") && pages.contains("/s/clay-studio"));
}

#[tokio::test]
async fn bulk_seeding_adds_searchable_products_fast() {
    let app = TestApp::spawn().await;
    let mut config = app.config.clone();
    // Without the demo's stores and categories there is nothing to spread over.
    let err = emporium::seed::products(&config, 10).await.unwrap_err();
    assert!(format!("{err}").contains("seed --demo"), "{err}");
    emporium::seed::demo(&app.platform).await.unwrap();
    assert_eq!(
        emporium::seed::products(&config, 2_500).await.unwrap(),
        2_500
    );
    // Twice: numbering continues, nothing collides.
    assert_eq!(emporium::seed::products(&config, 500).await.unwrap(), 500);
    let pool = app.pool("catalog").await;
    let (products, variants, images): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants), (SELECT count(*) FROM product_images)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(products, 300 + 3_000);
    assert!(variants >= 3_000 * 2 && images >= 3_000);
    // Bulk rows write no events; a rebuild (what the command runs next) indexes them.
    config.search_index_dir = kernel::testing::fresh_database_config().search_index_dir;
    assert_eq!(emporium::reindex_search(&config).await.unwrap(), 3_300);
    // And the catalog serves them like any other product.
    let page: Value = get_json(&app, "/api/v1/catalog/products?limit=5&attr.material=wool").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
}
