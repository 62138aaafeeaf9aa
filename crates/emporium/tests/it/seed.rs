//! `emporium seed --demo` builds a browsable marketplace through the real APIs.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn the_demo_seed_fills_a_browsable_marketplace() {
    let app = TestApp::spawn().await;
    let summary = emporium::seed::demo(&app.platform).await.unwrap();
    assert_eq!(
        (summary.stores, summary.products, summary.customers),
        (10, 300, 5)
    );

    let stores: Value = app
        .http
        .get(app.url("/api/v1/vendors/stores?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stores["items"].as_array().unwrap().len(), 10);
    let tree: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
        let page: Value = app
            .http
            .get(app.url(&url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    let reds: Value = app
        .http
        .get(app.url("/api/v1/catalog/products?attr.color=red&category=home-garden&limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !reds["items"].as_array().unwrap().is_empty(),
        "filters find seeded products"
    );
    assert_eq!(
        app.login(
            "customer1@demo.emporium.localhost",
            emporium::seed::DEMO_PASSWORD
        )
        .await
        .status(),
        200
    );
}
