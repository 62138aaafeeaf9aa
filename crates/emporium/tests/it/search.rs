//! Search: fed by catalog and vendor events, typo tolerant, faceted, and quick.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product};
use crate::support::*;
use crate::vendors::approved_store;

pub fn product(
    slug: &str,
    title: &str,
    brand: &str,
    category: &Value,
    color: &str,
    price: i64,
) -> Value {
    json!({
        "slug": slug, "title": title, "brand": brand,
        "description": format!("A {color} {title} for every day."),
        "category_id": category["id"], "attributes": { "color": color },
        "variants": [
            { "sku": format!("{slug}-s"), "options": { "Size": "S" }, "price_minor": price, "currency": "EUR" },
            { "sku": format!("{slug}-m"), "options": { "Size": "M" }, "price_minor": price + 500, "currency": "EUR" }
        ]
    })
}

async fn search(app: &TestApp, query: &str) -> Value {
    let r = app
        .http
        .get(app.url(&format!("/api/v1/search/products?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "search {query}");
    r.json().await.unwrap()
}

fn slugs(results: &Value) -> Vec<String> {
    results["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{results}"))
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}

fn count_of(facet: &Value, value: &str) -> u64 {
    facet
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == value)
        .map_or(0, |v| v["count"].as_u64().unwrap())
}

/// Polls until `query` returns exactly `expected` (as a set); returns how long it took.
async fn until_results(app: &TestApp, query: &str, expected: &[&str]) -> Duration {
    let started = Instant::now();
    let mut last = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        last = slugs(&search(app, query).await);
        let mut sorted = last.clone();
        sorted.sort();
        let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        if sorted == want {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("search {query} gave {last:?}, expected {expected:?}");
}

pub async fn publish(app: &TestApp, token: &str, id: &str) {
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/catalog/products/{id}/publish"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn customers_find_products_with_typos_filters_and_facets() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let clothing = category(&app, ta, "clothing", None).await;
    let shirts = category(&app, ta, "shirts", Some(&clothing)).await;
    let trousers = category(&app, ta, "trousers", Some(&clothing)).await;
    let (owner_a, store_a) = approved_store(&app, &admin, "linen-house").await;
    let (owner_b, store_b) = approved_store(&app, &admin, "denim-depot").await;
    let (ta_, tb) = (token(&owner_a), token(&owner_b));
    let (a_id, b_id) = (
        store_a["id"].as_str().unwrap(),
        store_b["id"].as_str().unwrap(),
    );

    let mut ids = std::collections::HashMap::new();
    for (token, store, body) in [
        (
            ta_,
            a_id,
            product(
                "linen-shirt",
                "Linen Shirt",
                "Flax & Co",
                &shirts,
                "blue",
                2999,
            ),
        ),
        (
            ta_,
            a_id,
            product(
                "oxford-shirt",
                "Oxford Shirt",
                "Flax & Co",
                &shirts,
                "white",
                4500,
            ),
        ),
        (
            tb,
            b_id,
            product(
                "denim-jeans",
                "Denim Jeans",
                "Indigo",
                &trousers,
                "blue",
                7900,
            ),
        ),
        (
            tb,
            b_id,
            product(
                "chino-trousers",
                "Chino Trousers",
                "Indigo",
                &trousers,
                "beige",
                5900,
            ),
        ),
    ] {
        let slug = body["slug"].as_str().unwrap().to_owned();
        let r = create_product(&app, token, store, body).await;
        assert_eq!(r.status(), 201);
        let p: Value = r.json().await.unwrap();
        ids.insert(slug, (token, p["id"].as_str().unwrap().to_owned()));
    }
    // Drafts are not searchable; publishing makes them so within a second.
    for (token, id) in ids.values() {
        publish(&app, token, id).await;
    }
    let (token_a, linen) = ids["linen-shirt"].clone();
    let fresh = until_results(&app, "q=shirt", &["linen-shirt", "oxford-shirt"]).await;
    assert!(fresh < Duration::from_secs(1), "searchable after {fresh:?}");
    until_results(
        &app,
        "",
        &[
            "linen-shirt",
            "oxford-shirt",
            "denim-jeans",
            "chino-trousers",
        ],
    )
    .await;

    // One typo per word is forgiven; the best match comes first.
    assert_eq!(slugs(&search(&app, "q=lnen+shrt").await), ["linen-shirt"]);
    // A title match outranks a match on the category name.
    assert_eq!(
        slugs(&search(&app, "q=trowsers").await),
        ["chino-trousers", "denim-jeans"]
    );
    assert_eq!(slugs(&search(&app, "q=indgo").await).len(), 2);
    // Category names, attribute values and descriptions are searchable too.
    assert_eq!(slugs(&search(&app, "q=beige").await), ["chino-trousers"]);
    assert_eq!(search(&app, "q=clothing").await["total"], 4);

    // Facets: counts per category level, brand, store, attribute and price bucket.
    let all = search(&app, "").await;
    let f = &all["facets"];
    assert_eq!(
        count_of(&f["categories"], clothing["id"].as_str().unwrap()),
        4
    );
    assert_eq!(
        count_of(&f["categories"], shirts["id"].as_str().unwrap()),
        2
    );
    assert_eq!(count_of(&f["brands"], "Indigo"), 2);
    assert_eq!(count_of(&f["stores"], "linen-house"), 2);
    assert_eq!(count_of(&f["attributes"]["color"], "blue"), 2);
    assert_eq!(count_of(&f["attributes"]["size"], "m"), 4);
    let under_25 = f["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["min"] == 1000 && b["max"] == 2500)
        .unwrap();
    assert_eq!(under_25["count"], 0);

    // Filters combine; a facet counts as if its own filter were not chosen.
    let blue = search(&app, "attr.color=blue&sort=price_asc").await;
    assert_eq!(slugs(&blue), ["linen-shirt", "denim-jeans"]);
    assert_eq!(count_of(&blue["facets"]["attributes"]["color"], "white"), 1);
    assert_eq!(count_of(&blue["facets"]["brands"], "Indigo"), 1);
    let r = search(
        &app,
        &format!(
            "category={}&brand=Indigo,Flax+%26+Co&min_price=5000",
            clothing["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(slugs(&r).len(), 2);
    assert_eq!(
        slugs(
            &search(
                &app,
                &format!("category={}", shirts["id"].as_str().unwrap())
            )
            .await
        )
        .len(),
        2
    );
    assert_eq!(
        slugs(&search(&app, "store=denim-depot&q=jeans").await),
        ["denim-jeans"]
    );
    assert_eq!(
        slugs(&search(&app, "sort=price_desc&per_page=2&page=2").await),
        ["oxford-shirt", "linen-shirt"]
    );

    // Search as you type.
    let s: Value = get_json(&app, "/api/v1/search/suggest?q=ind").await;
    assert_eq!(s["brands"], json!(["Indigo"]));
    assert_eq!(s["products"].as_array().unwrap().len(), 2);
    let s: Value = get_json(&app, "/api/v1/search/suggest?q=trous").await;
    assert_eq!(s["categories"][0]["name"], "trousers");

    // Bad input is refused clearly; syntax characters are just characters.
    for bad in [
        format!("q={}", "x".repeat(201)),
        "per_page=1000".to_owned(),
        "sort=cheapest".to_owned(),
        "min_price=-5".to_owned(),
        "page=100000".to_owned(),
        "category=shirts".to_owned(),
    ] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/search/products?{bad}")))
            .send()
            .await
            .unwrap();
        assert_problem(r, 422, "validation_failed").await;
    }
    let odd = search(
        &app,
        "q=%22shirt%22+AND+(linen+OR+*)%3A~2+%5B%5D%7B%7D%5E%5C",
    )
    .await;
    assert!(odd["total"].as_u64().is_some());

    // Suspending a store hides its products at once; reinstating brings them back.
    call(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{b_id}/suspend"),
        Some(ta),
        Some(json!({ "reason": "Investigating" })),
    )
    .await;
    until_results(&app, "", &["linen-shirt", "oxford-shirt"]).await;
    assert_eq!(
        count_of(&search(&app, "").await["facets"]["brands"], "Indigo"),
        0
    );
    call(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{b_id}/reinstate"),
        Some(ta),
        None,
    )
    .await;
    until_results(&app, "q=jeans", &["denim-jeans"]).await;

    // Unpublishing withdraws; an older event delivered late cannot bring it back.
    let catalog = app.pool("catalog").await;
    let stale = catalog::operations::search_documents(&catalog, None, 100)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|d| d.product_id.to_string() == linen)
        .unwrap();
    call(
        &app,
        Method::POST,
        &format!("/api/v1/catalog/products/{linen}/unpublish"),
        Some(token_a),
        None,
    )
    .await;
    until_results(&app, "q=linen", &[]).await;
    let mut tx = catalog.begin().await.unwrap();
    kernel::events::outbox::record(&mut tx, &stale)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.settle().await;
    assert_eq!(slugs(&search(&app, "q=linen").await), Vec::<String>::new());

    // A full rebuild (admins only) gives the same answers.
    let r = call(&app, Method::POST, "/api/v1/search/reindex", Some(tb), None).await;
    assert_problem(r, 403, "forbidden").await;
    let rebuilt = counter("search_reindexes_total");
    let r = call(&app, Method::POST, "/api/v1/search/reindex", Some(ta), None).await;
    assert_eq!(r.status(), 202);
    until_counter_above("search_reindexes_total", rebuilt).await;
    until_results(&app, "", &["oxford-shirt", "denim-jeans", "chino-trousers"]).await;
}

#[tokio::test]
async fn an_empty_index_rebuilds_itself_from_the_catalog_at_start() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let shoes = category(&app, ta, "shoes", None).await;
    let (owner, store) = approved_store(&app, &admin, "shoe-shop").await;
    let r = create_product(
        &app,
        token(&owner),
        store["id"].as_str().unwrap(),
        product("trail-runner", "Trail Runner", "Peak", &shoes, "red", 8900),
    )
    .await;
    let p: Value = r.json().await.unwrap();
    publish(&app, token(&owner), p["id"].as_str().unwrap()).await;
    until_results(&app, "q=runner", &["trail-runner"]).await;

    // A second replica on the same database with an empty index directory.
    let database_url = app.config.database_url.clone();
    let replica = TestApp::spawn_with(|c| c.database_url = database_url).await;
    until_results(&replica, "q=runnr", &["trail-runner"]).await;

    // The command-line rebuild reads the catalog's database directly.
    let mut config = app.config.clone();
    config.search_index_dir = kernel::testing::fresh_database_config().search_index_dir;
    assert_eq!(emporium::reindex_search(&config).await.unwrap(), 1);
    // ...and refuses, clearly, an index a running process holds.
    let err = emporium::reindex_search(&app.config).await.unwrap_err();
    assert!(format!("{err:#}").contains("in use"), "{err:#}");
}

#[tokio::test]
async fn a_query_that_is_not_utf8_is_refused_naming_its_field() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/search/products?q=%FF",
        "/api/v1/search/products?q=linen%C3&sort=price_asc",
        "/api/v1/search/suggest?q=lin%FF",
    ] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        let body = assert_problem(r, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "q", "{path}: {body}");
        assert_eq!(body["errors"][0]["code"], "not_utf8", "{path}: {body}");
    }
    let r = app
        .http
        .get(app.url("/api/v1/search/products?q=%FF&brand=%FE"))
        .send()
        .await
        .unwrap();
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][1]["field"], "brand", "{body}");
    // UTF-8 text, the replacement character included, is a query like any other.
    for q in ["caf%C3%A9", "%EF%BF%BD", "100%25"] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/search/products?q={q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "q={q}");
    }
}
