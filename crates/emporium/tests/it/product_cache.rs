//! Product details are cached (Redis when configured) and follow every change.

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{assert_cached, category, create_product, shirt};
use crate::support::*;
use crate::vendors::approved_store;

#[tokio::test]
async fn product_details_are_cached_in_redis_and_follow_changes() {
    let namespace = format!("test-{}", uuid::Uuid::now_v7().simple());
    let app = TestApp::spawn_with(|c| {
        c.redis_url = Some("redis://127.0.0.1:6379".into());
        c.namespace = namespace.clone();
    })
    .await;
    let ready: Value = get_json(&app, "/ready").await;
    assert_eq!(ready["checks"]["cache:redis"], "ok");
    let admin = app.admin("admin@example.com").await;
    let shirts = category(&app, token(&admin), "shirts", None).await;
    let (owner, store) = approved_store(&app, &admin, "cached-shop").await;
    let (t, sid) = (token(&owner), store["id"].as_str().unwrap());
    let product: Value = create_product(&app, t, sid, shirt("cached", &shirts, "C"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/catalog/products/{}",
        product["id"].as_str().unwrap()
    );
    call(
        &app,
        Method::POST,
        &format!("{path}/publish"),
        Some(t),
        None,
    )
    .await;

    let first = call(&app, Method::GET, &path, None, None).await;
    assert_eq!(first.headers()["x-cache"], "miss");
    // The publish event may still be on its way and drop the entry once; then it stays.
    assert_cached(&app, &path).await;
    // Members never get (or fill) the shared entry.
    let mine = call(&app, Method::GET, &path, Some(t), None).await;
    assert_eq!(mine.headers()["x-cache"], "miss");

    let mut changed = shirt("cached", &shirts, "C");
    changed["title"] = json!("Linen Shirt, now in green");
    assert_eq!(
        call(&app, Method::PUT, &path, Some(t), Some(changed))
            .await
            .status(),
        200
    );
    let after: Value = call(&app, Method::GET, &path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["title"], "Linen Shirt, now in green");
    // Listing pages are cached whole, and follow changes too.
    let list = "/api/v1/catalog/products?category=shirts&limit=5";
    assert_cached(&app, list).await;
    let titles = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = call(&app, Method::GET, list, None, None).await;
    assert_eq!(
        titles(listed.json().await.unwrap()),
        ["Linen Shirt, now in green"]
    );
    call(
        &app,
        Method::POST,
        &format!("{path}/unpublish"),
        Some(t),
        None,
    )
    .await;
    assert_problem(
        call(&app, Method::GET, &path, None, None).await,
        404,
        "not_found",
    )
    .await;
    let listed = call(&app, Method::GET, list, None, None).await;
    assert_eq!(listed.headers()["x-cache"], "miss");
    assert!(
        titles(listed.json().await.unwrap()).is_empty(),
        "an unpublished product leaves cached listings at once"
    );
}
