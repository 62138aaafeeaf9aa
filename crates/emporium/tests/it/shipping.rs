//! Shipping methods per store and quotes per parcel at checkout.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;
use crate::vendors::approved_store;

#[tokio::test]
async fn stores_define_methods_and_checkouts_get_quotes_per_parcel() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (a_owner, a) = approved_store(&app, &admin, "ship-a").await;
    let (b_owner, b) = approved_store(&app, &admin, "ship-b").await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let methods = |id: &str| format!("/api/v1/shipping/stores/{id}/methods");
    let post = |token: &str, id: &str, body: Value| {
        let (app, path, token) = (&app, methods(id), token.to_owned());
        async move { call(app, Method::POST, &path, Some(&token), Some(body)).await }
    };

    // Only the store's people define its methods; bad ones are refused field by field.
    let standard = json!({ "name": "Standard", "kind": "free_over", "currency": "EUR",
                           "price_minor": 490, "free_over_minor": 5000, "countries": ["FR", "BE"] });
    assert_problem(
        post(token(&b_owner), a_id, standard.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(post(token(&a_owner), a_id, standard).await.status(), 201);
    let r = post(token(&a_owner), a_id, json!({ "name": "Express", "kind": "weight_bands", "currency": "EUR",
        "bands": [{ "up_to_grams": 1000, "price_minor": 990 }, { "up_to_grams": 5000, "price_minor": 1490 }] })).await;
    assert_eq!(r.status(), 201);
    let express: Value = r.json().await.unwrap();
    assert_eq!(
        post(
            token(&b_owner),
            b_id,
            json!({ "name": "Post", "kind": "flat", "currency": "EUR", "price_minor": 350 })
        )
        .await
        .status(),
        201
    );
    let bad = post(token(&a_owner), a_id, json!({ "name": "X", "kind": "teleport", "currency": "XYZ", "price_minor": -1, "countries": ["ZZ"] })).await;
    let body = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["name", "currency", "price_minor", "kind", "countries[0]"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let listed = get_json(&app, &methods(a_id)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // A quote: one parcel per store, the methods serving it, cheapest first.
    let quote = |country: &str, a_subtotal: i64, a_weight: i64| {
        json!({ "country": country, "parcels": [
            { "store_id": a_id, "subtotal": { "amount_minor": a_subtotal, "currency": "EUR" }, "weight_grams": a_weight },
            { "store_id": b_id, "subtotal": { "amount_minor": 1000, "currency": "EUR" }, "weight_grams": 200 }
        ]})
    };
    let names_prices = |q: &Value, i: usize| -> Vec<(String, i64)> {
        q["parcels"][i]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap().to_owned(),
                    o["price"]["amount_minor"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let q: Value = call(
        &app,
        Method::POST,
        "/api/v1/shipping/quote",
        None,
        Some(quote("FR", 3000, 800)),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        names_prices(&q, 0),
        [("Standard".to_owned(), 490), ("Express".to_owned(), 990)]
    );
    assert_eq!(names_prices(&q, 1), [("Post".to_owned(), 350)]);
    let q: Value = call(
        &app,
        Method::POST,
        "/api/v1/shipping/quote",
        None,
        Some(quote("FR", 6000, 3000)),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        names_prices(&q, 0),
        [("Standard".to_owned(), 0), ("Express".to_owned(), 1490)]
    );
    // Germany is not served by Standard; nothing serves a 9 kg parcel there.
    let q: Value = call(
        &app,
        Method::POST,
        "/api/v1/shipping/quote",
        None,
        Some(quote("DE", 6000, 9000)),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(names_prices(&q, 0), Vec::<(String, i64)>::new());
    let r = call(
        &app,
        Method::POST,
        "/api/v1/shipping/quote",
        None,
        Some(json!({ "country": "Narnia", "parcels": [] })),
    )
    .await;
    assert_problem(r, 422, "validation_failed").await;

    // Removing: the store's own people only.
    let path = format!(
        "/api/v1/shipping/methods/{}",
        express["id"].as_str().unwrap()
    );
    assert_problem(
        call(&app, Method::DELETE, &path, Some(token(&b_owner)), None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        call(&app, Method::DELETE, &path, Some(token(&a_owner)), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        get_json(&app, &methods(a_id)).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
