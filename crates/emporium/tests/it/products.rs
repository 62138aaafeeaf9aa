//! Catalog products: vendors write their own, customers find published ones.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;
use crate::vendors::approved_store;

pub fn shirt(slug: &str, category: &Value, sku_prefix: &str) -> Value {
    json!({
        "slug": slug, "title": "Linen Shirt", "brand": "Flax & Co",
        "description": "**Breathable** linen. <script>alert('x')</script>",
        "category_id": category["id"], "attributes": { "color": "blue", "organic": true },
        "tags": ["summer"],
        "variants": [
            { "sku": format!("{sku_prefix}-M"), "options": { "Size": "M" }, "price_minor": 2999, "currency": "EUR" },
            { "sku": format!("{sku_prefix}-L"), "options": { "Size": "L" }, "price_minor": 3499, "currency": "EUR", "compare_at_minor": 3999 }
        ]
    })
}

/// Creates a product once catalog has learnt (by event) that the store is open.
pub async fn create_product(
    app: &TestApp,
    token: &str,
    store_id: &str,
    body: Value,
) -> reqwest::Response {
    app.settle().await;
    call(
        app,
        Method::POST,
        &format!("/api/v1/catalog/stores/{store_id}/products"),
        Some(token),
        Some(body),
    )
    .await
}

pub async fn category(app: &TestApp, admin: &str, slug: &str, parent: Option<&Value>) -> Value {
    let req = contracts::catalog::dto::CreateCategory {
        name: slug.to_owned(),
        slug: slug.to_owned(),
        parent_id: parent.map(|p| p["id"].as_str().unwrap().parse().unwrap()),
        position: 0,
    };
    let made = app.catalog().create_category(admin, &req).await.unwrap();
    serde_json::to_value(made).unwrap()
}

async fn listing(app: &TestApp, query: &str) -> Vec<String> {
    let page: Value = get_json(app, &format!("/api/v1/catalog/products?{query}")).await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn vendors_publish_their_own_products_and_customers_find_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let clothing = category(&app, ta, "clothing", None).await;
    let shirts = category(&app, ta, "shirts", Some(&clothing)).await;
    let (owner_a, store_a) = approved_store(&app, &admin, "linen-house").await;
    let (owner_b, store_b) = approved_store(&app, &admin, "rival-shop").await;
    let (ta_, tb) = (token(&owner_a), token(&owner_b));
    let (a_id, b_id) = (
        store_a["id"].as_str().unwrap(),
        store_b["id"].as_str().unwrap(),
    );
    let customer = app.customer(&unique_email("buyer")).await;

    // Only the store's own people create its products.
    let r = create_product(
        &app,
        token(&customer),
        a_id,
        shirt("linen-shirt", &shirts, "LS"),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let r = create_product(&app, tb, a_id, shirt("linen-shirt", &shirts, "LS")).await;
    assert_problem(r, 403, "forbidden").await;
    let r = create_product(&app, ta_, a_id, shirt("linen-shirt", &shirts, "LS")).await;
    assert_eq!(r.status(), 201);
    let product: Value = r.json().await.unwrap();
    let pid = product["id"].as_str().unwrap().to_owned();
    assert_eq!(product["status"], "draft");
    assert_eq!(
        product["price_from"],
        json!({ "amount_minor": 2999, "currency": "EUR" })
    );
    let html = product["description_html"].as_str().unwrap();
    assert!(
        html.contains("<strong>Breathable</strong>") && !html.contains("<script>"),
        "{html}"
    );

    // A draft exists only for its store.
    let path = format!("/api/v1/catalog/products/{pid}");
    assert_problem(
        call(&app, Method::GET, &path, None, None).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(&app, Method::GET, &path, Some(tb), None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        call(&app, Method::GET, &path, Some(ta_), None)
            .await
            .status(),
        200
    );
    assert_problem(
        call(
            &app,
            Method::PUT,
            &path,
            Some(tb),
            Some(shirt("stolen", &shirts, "ST")),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(
            &app,
            Method::POST,
            &format!("{path}/publish"),
            Some(tb),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let drafts: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/catalog/stores/{a_id}/products"),
        Some(ta_),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(drafts["items"][0]["status"], "draft");
    assert_problem(
        call(
            &app,
            Method::GET,
            &format!("/api/v1/catalog/stores/{a_id}/products"),
            Some(tb),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let r = call(
        &app,
        Method::POST,
        &format!("{path}/publish"),
        Some(ta_),
        None,
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "published");
    assert_problem(
        call(
            &app,
            Method::POST,
            &format!("{path}/publish"),
            Some(ta_),
            None,
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;
    let public: Value = call(&app, Method::GET, &path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["variants"].as_array().unwrap().len(), 2);
    assert_cached(&app, &path).await;
    let by_slug = call(
        &app,
        Method::GET,
        "/api/v1/catalog/stores/linen-house/products/linen-shirt",
        None,
        None,
    )
    .await;
    assert_eq!(by_slug.status(), 200);

    // A second, cheaper product in the other store, to filter and sort.
    let mut tee = shirt("cotton-tee", &shirts, "CT");
    tee["attributes"] = json!({ "color": "red" });
    tee["variants"] = json!([{ "sku": "CT-1", "price_minor": 1500, "currency": "EUR" }]);
    let tee: Value = create_product(&app, tb, b_id, tee)
        .await
        .json()
        .await
        .unwrap();
    call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/catalog/products/{}/publish",
            tee["id"].as_str().unwrap()
        ),
        Some(tb),
        None,
    )
    .await;

    assert_eq!(
        listing(&app, "category=clothing&sort=price_asc").await,
        ["cotton-tee", "linen-shirt"]
    );
    assert_eq!(
        listing(&app, "category=shirts&sort=price_desc").await,
        ["linen-shirt", "cotton-tee"]
    );
    assert_eq!(listing(&app, "attr.color=blue").await, ["linen-shirt"]);
    assert_eq!(
        listing(&app, "attr.organic=true&attr.color=blue").await,
        ["linen-shirt"]
    );
    assert_eq!(
        listing(&app, "min_price=2000&max_price=3000").await,
        ["linen-shirt"]
    );
    assert_eq!(
        listing(&app, &format!("store={b_id}")).await,
        ["cotton-tee"]
    );
    let page1: Value = get_json(&app, "/api/v1/catalog/products?limit=1&sort=price_asc").await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    assert_eq!(
        listing(&app, &format!("limit=1&sort=price_asc&cursor={cursor}")).await,
        ["linen-shirt"]
    );

    // Suspension hides a store's products at once, and stops it publishing.
    call(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{a_id}/suspend"),
        Some(ta),
        Some(json!({ "reason": "Investigating" })),
    )
    .await;
    app.settle().await;
    assert_eq!(
        call(&app, Method::GET, &path, None, None).await.status(),
        404,
        "suspended store's product still public"
    );
    assert_eq!(listing(&app, "category=clothing").await, ["cotton-tee"]);
    call(
        &app,
        Method::POST,
        &format!("{path}/unpublish"),
        Some(ta_),
        None,
    )
    .await;
    assert_problem(
        call(
            &app,
            Method::POST,
            &format!("{path}/publish"),
            Some(ta_),
            None,
        )
        .await,
        409,
        "store_suspended",
    )
    .await;
    call(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{a_id}/reinstate"),
        Some(ta),
        None,
    )
    .await;
    app.settle().await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{path}/publish"),
            Some(ta_),
            None
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        call(&app, Method::GET, &path, None, None).await.status(),
        200
    );

    // Admin moderation: unpublished with a reason the vendor sees.
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/catalog/admin/products/{pid}/unpublish"),
        Some(ta),
        Some(json!({ "reason": "Misleading photos" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mine: Value = call(&app, Method::GET, &path, Some(ta_), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["status"], "draft");
    assert_eq!(mine["moderation_reason"], "Misleading photos");
    assert_problem(
        call(&app, Method::GET, &path, None, None).await,
        404,
        "not_found",
    )
    .await;
    // The vendor cannot undo moderation; an admin lifts it.
    let r = call(
        &app,
        Method::POST,
        &format!("{path}/publish"),
        Some(ta_),
        None,
    )
    .await;
    assert_problem(r, 409, "product_moderated").await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/catalog/admin/products/{pid}/release"),
        Some(ta),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{path}/publish"),
            Some(ta_),
            None
        )
        .await
        .status(),
        200
    );
    call(
        &app,
        Method::POST,
        &format!("{path}/unpublish"),
        Some(ta_),
        None,
    )
    .await;

    // A store's new name reaches its product cards.
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/vendors/stores/{b_id}"),
        Some(tb),
        Some(json!({ "name": "Rival Shop Two" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let page: Value = get_json(&app, &format!("/api/v1/catalog/products?store={b_id}")).await;
    assert_eq!(page["items"][0]["store"]["name"], "Rival Shop Two");

    // Every state change told the rest of the platform, in order.
    let pool = app.pool("catalog").await;
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY occurred_at, id",
    )
    .bind(&pid)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        types,
        [
            "catalog.product.published",
            "catalog.product.withdrawn",
            "catalog.product.published",
            "catalog.product.withdrawn",
            "catalog.product.published",
            "catalog.product.withdrawn"
        ]
    );

    // A category holding products cannot be deleted.
    let r = call(
        &app,
        Method::DELETE,
        "/api/v1/catalog/categories/shirts",
        Some(ta),
        None,
    )
    .await;
    assert_problem(r, 409, "category_not_empty").await;
}

#[tokio::test]
async fn bad_product_input_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let shirts = category(&app, token(&admin), "shirts", None).await;
    let (owner, store) = approved_store(&app, &admin, "strict-shop").await;
    let (t, sid) = (token(&owner), store["id"].as_str().unwrap());
    assert_eq!(
        create_product(&app, t, sid, shirt("first", &shirts, "F"))
            .await
            .status(),
        201
    );

    let r = create_product(&app, t, sid, shirt("first", &shirts, "G")).await;
    let body = assert_problem(r, 409, "slug_taken").await;
    assert_eq!(body["errors"][0]["code"], "slug_taken");
    let r = create_product(&app, t, sid, shirt("second", &shirts, "F")).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "duplicate_sku");

    let mut bad = shirt("third", &shirts, "T");
    bad["variants"] = json!([
        { "sku": "T1", "price_minor": -5, "currency": "EUR" },
        { "sku": "T2", "currency": "EUR" },
        { "sku": "T3", "price_minor": 100, "currency": "EURO" },
        { "sku": "T4", "price_minor": 9_223_372_036_854_775_807i64, "currency": "EUR" }
    ]);
    bad["category_id"] = json!("cat_00000000000000000000000000000000");
    let r = create_product(&app, t, sid, bad).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "variants[0].price_minor",
        "variants[1].price_minor",
        "variants[2].currency",
        "variants[3].price_minor",
        "category_id",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let mut none = shirt("fourth", &shirts, "N");
    none["variants"] = json!([]);
    assert_problem(
        create_product(&app, t, sid, none).await,
        422,
        "validation_failed",
    )
    .await;

    let list: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/catalog/stores/{sid}/products"),
        Some(t),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );

    for q in [
        "limit=100000",
        "sort=cheapest",
        "min_price=-1",
        "currency=XYZ",
        "store=usr_1",
    ] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/catalog/products?{q}")))
            .send()
            .await
            .unwrap();
        assert_problem(r, 422, "validation_failed").await;
    }
    // An unknown category is a filter nothing matches (a link can outlive it).
    let none = get_json(&app, "/api/v1/catalog/products?category=no-such-category").await;
    assert_eq!(none["items"], json!([]));
    // NUL characters never reach the database.
    let r = app
        .http
        .get(app.url("/api/v1/catalog/products?attr.color=%00"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "invalid_characters").await;
    let r = app
        .http
        .get(app.url("/api/v1/catalog/categories/a%00b"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "invalid_characters").await;
    let mut nul = shirt("nul", &shirts, "NUL");
    nul["description"] = json!("bad \u{0} byte");
    let r = create_product(&app, t, sid, nul).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "invalid_characters");

    let r = call(
        &app,
        Method::POST,
        "/api/v1/catalog/stores/sto_00000000000000000000000000000000/products",
        Some(t),
        Some(shirt("x", &shirts, "X")),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
}

/// Waits until an anonymous read of `path` is served from the cache.
pub async fn assert_cached(app: &TestApp, path: &str) {
    for _ in 0..100 {
        let r = call(app, Method::GET, path, None, None).await;
        if r.headers()["x-cache"] == "hit" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never came from the cache");
}
