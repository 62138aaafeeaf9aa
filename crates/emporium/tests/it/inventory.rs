//! Inventory: stock per location with a movement log, and reservations that can never
//! oversell, under 200 concurrent checkouts.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product};
use crate::support::*;
use crate::vendors::approved_store;

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    call(app, method, path, Some(token), body).await
}

#[tokio::test]
async fn stock_is_kept_per_location_and_reservations_never_oversell() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let mugs = category(&app, token(&admin), "mugs", None).await;
    let (owner, store) = approved_store(&app, &admin, "mug-house").await;
    let (rival, rival_store) = approved_store(&app, &admin, "cup-house").await;
    let customer = app.customer(&unique_email("buyer")).await;
    let (to, tr, tc) = (token(&owner), token(&rival), token(&customer));
    let store_id = store["id"].as_str().unwrap();
    let r = create_product(&app, to, store_id, json!({
        "slug": "mug", "title": "Mug", "category_id": mugs["id"],
        "variants": [
            { "sku": "MUG-W", "options": { "Color": "White" }, "price_minor": 1200, "currency": "EUR" },
            { "sku": "MUG-B", "options": { "Color": "Black" }, "price_minor": 1200, "currency": "EUR" }
        ]
    })).await;
    let product: Value = r.json().await.unwrap();
    let white = product["variants"][0]["id"].as_str().unwrap().to_owned();
    let black = product["variants"][1]["id"].as_str().unwrap().to_owned();

    // Locations belong to their store.
    let loc = |t: &'static str| json!({ "name": t });
    let path = format!("/api/v1/inventory/stores/{store_id}/locations");
    assert_problem(
        send(&app, Method::POST, &path, tr, Some(loc("Shed"))).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        send(&app, Method::POST, &path, tc, Some(loc("Shed"))).await,
        403,
        "forbidden",
    )
    .await;
    let r = send(&app, Method::POST, &path, to, Some(loc("Warehouse"))).await;
    assert_eq!(r.status(), 201);
    let warehouse: Value = r.json().await.unwrap();
    let r = send(&app, Method::POST, &path, to, Some(loc("Shop floor"))).await;
    let shop: Value = r.json().await.unwrap();
    let dup = send(&app, Method::POST, &path, to, Some(loc("warehouse"))).await;
    assert_eq!(
        assert_problem(dup, 409, "location_taken").await["errors"][0]["code"],
        "location_taken"
    );
    let rival_path = format!(
        "/api/v1/inventory/stores/{}/locations",
        rival_store["id"].as_str().unwrap()
    );
    let r = send(&app, Method::POST, &rival_path, tr, Some(loc("Rival shed"))).await;
    let rival_loc: Value = r.json().await.unwrap();

    // Adjustments: with a reason, into the movement log; never below zero.
    let adjust = |variant: &str, location: &Value, delta: i64, reason: &str| {
        (
            format!("/api/v1/inventory/variants/{variant}/adjustments"),
            json!({ "location_id": location["id"], "delta": delta, "reason": reason }),
        )
    };
    let (p, b) = adjust(&white, &warehouse, 30, "Received from the kiln");
    let r = send(&app, Method::POST, &p, to, Some(b)).await;
    assert_eq!(r.status(), 200);
    let (p, b) = adjust(&white, &shop, 20, "Moved to the shop floor");
    let stock: Value = send(&app, Method::POST, &p, to, Some(b))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stock["available"], 50);
    for (delta, reason, location, status, code) in [
        (0, "Nothing", &warehouse, 422, "validation_failed"),
        (5, "", &warehouse, 422, "validation_failed"),
        (
            5,
            "Into a rival's shed",
            &rival_loc,
            422,
            "validation_failed",
        ),
        (-31, "More than there is", &warehouse, 409, "below_reserved"),
        (
            2_000_000_000,
            "Absurd",
            &warehouse,
            422,
            "validation_failed",
        ),
    ] {
        let (p, b) = adjust(&white, location, delta, reason);
        assert_problem(
            send(&app, Method::POST, &p, to, Some(b)).await,
            status,
            code,
        )
        .await;
    }
    // Another store's vendor cannot see or touch this stock, nor can a customer.
    let (p, b) = adjust(&white, &warehouse, 5, "Sabotage");
    assert_problem(
        send(&app, Method::POST, &p, tr, Some(b.clone())).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        send(&app, Method::POST, &p, tc, Some(b)).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        send(
            &app,
            Method::GET,
            &format!("/api/v1/inventory/variants/{white}"),
            tr,
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let log: Value = app
        .get_auth(&format!("/api/v1/inventory/variants/{white}/movements"), to)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["reason"], "Moved to the shop floor");
    assert_eq!(log["items"][1]["delta"], 30);
    let avail = get_json(
        &app,
        &format!("/api/v1/inventory/availability?variants={white},{black}"),
    )
    .await;
    assert_eq!(avail["items"][0]["available"], 50);
    assert_eq!(avail["items"][1]["available"], 0);

    // 200 checkouts at once for 50 units: exactly 50 get them, the rest a clear 409.
    let attempts = (0..200).map(|i| {
        let app = &app;
        let white = white.clone();
        async move {
            let r = service_call(
                app,
                Method::POST,
                "/internal/inventory/reservations",
                Some(acting_for(
                    json!({
                        "reference": format!("checkout-{i}"),
                        "lines": [{ "variant_id": white, "quantity": 1 }]
                    }),
                    "owner",
                    "reservation",
                    tc,
                )),
            )
            .await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let won: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    let lost = results
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "out_of_stock")
        .count();
    assert_eq!((won.len(), lost), (50, 150));
    let stock: Value = app
        .get_auth(&format!("/api/v1/inventory/variants/{white}"), to)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stock["available"], 0);
    let pool = app.pool("inventory").await;
    let (negative,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM stock_levels WHERE on_hand < 0 OR reserved > on_hand OR reserved < 0",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(negative, 0);
    // The same reference twice (here ten times at once) is one reservation.
    let again = (0..10).map(|_| {
        service_call(
            &app,
            Method::POST,
            "/internal/inventory/reservations",
            Some(acting_for(
                json!({
                    "reference": "checkout-0", "lines": [{ "variant_id": white, "quantity": 1 }]
                }),
                "owner",
                "reservation",
                tc,
            )),
        )
    });
    let mut ids = std::collections::HashSet::new();
    for r in futures_util::future::join_all(again).await {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert!(status == 200 || status == 409, "{status}: {body}");
        if status == 200 {
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
    }
    // checkout-0 either won (its reservation comes back every time) or lost (and each
    // retry is judged afresh against the empty shelf).
    assert!(ids.len() <= 1, "{ids:?}");

    // Commit takes stock off the shelf; release gives it back to sale; return restocks.
    let first = won[0]["id"].as_str().unwrap().to_owned();
    let second = won[1]["id"].as_str().unwrap().to_owned();
    let act = |id: &str, action: &str| format!("/internal/inventory/reservations/{id}/{action}");
    let committed: Value = service_call(&app, Method::POST, &act(&first, "commit"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(committed["status"], "committed");
    assert_problem(
        service_call(&app, Method::POST, &act(&first, "release"), None).await,
        409,
        "illegal_transition",
    )
    .await;
    let released: Value = service_call(&app, Method::POST, &act(&second, "release"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["status"], "released");
    assert_problem(
        service_call(&app, Method::POST, &act(&second, "commit"), None).await,
        409,
        "illegal_transition",
    )
    .await;
    let stock: Value = app
        .get_auth(&format!("/api/v1/inventory/variants/{white}"), to)
        .await
        .json()
        .await
        .unwrap();
    let on_hand: i64 = stock["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .sum();
    assert_eq!((on_hand, stock["available"].as_i64().unwrap()), (49, 1));
    service_call(&app, Method::POST, &act(&first, "return"), None).await;
    let log: Value = app
        .get_auth(&format!("/api/v1/inventory/variants/{white}/movements"), to)
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(&reasons[..2], ["return", "sale"]);

    // A reservation nobody commits gives its stock back when its time is up.
    let (p, b) = adjust(&black, &warehouse, 3, "Received");
    send(&app, Method::POST, &p, to, Some(b)).await;
    let r = service_call(&app, Method::POST, "/internal/inventory/reservations", Some(acting_for(json!({
        "reference": "abandoned", "ttl_secs": 1, "lines": [{ "variant_id": black, "quantity": 3 }]
    }), "owner", "reservation", tc))).await;
    assert_eq!(r.status(), 201);
    let held: Value = r.json().await.unwrap();
    let mut expired = false;
    for _ in 0..100 {
        let stock: Value = app
            .get_auth(&format!("/api/v1/inventory/variants/{black}"), to)
            .await
            .json()
            .await
            .unwrap();
        if stock["available"] == 3 {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(expired, "the expired reservation released its stock");
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM reservations WHERE reference = 'abandoned'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "expired");
    assert_problem(
        service_call(
            &app,
            Method::POST,
            &act(held["id"].as_str().unwrap(), "commit"),
            None,
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;

    // Bad reservations change nothing.
    for body in [
        json!({ "reference": "bad-1", "lines": [] }),
        json!({ "reference": "bad-2", "lines": [{ "variant_id": black, "quantity": 0 }] }),
        json!({ "reference": "bad-3", "lines": [{ "variant_id": black, "quantity": -4 }] }),
        json!({ "reference": "bad-4", "lines": [{ "variant_id": black, "quantity": 99_999_999 }] }),
        json!({ "reference": "bad-5", "ttl_secs": 0, "lines": [{ "variant_id": black, "quantity": 1 }] }),
    ] {
        assert_problem(
            service_call(
                &app,
                Method::POST,
                "/internal/inventory/reservations",
                Some(acting_for(body, "owner", "reservation", tc)),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
    }
    let r = service_call(&app, Method::POST, "/internal/inventory/reservations", Some(acting_for(json!({
        "reference": "too-many", "lines": [{ "variant_id": black, "quantity": 4 }, { "variant_id": white, "quantity": 1 }]
    }), "owner", "reservation", tc))).await;
    let body = assert_problem(r, 409, "out_of_stock").await;
    assert_eq!(body["errors"][0]["field"], "lines[0]", "{body}");

    // A low-stock threshold warns once, when crossed.
    let r = send(
        &app,
        Method::PUT,
        &format!("/api/v1/inventory/variants/{black}/threshold"),
        to,
        Some(json!({ "low_stock_threshold": 2 })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (p, b) = adjust(&black, &warehouse, -2, "Broken in transit");
    let stock: Value = send(&app, Method::POST, &p, to, Some(b))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stock["available"], 1, "{stock}");
    let (lows,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM outbox WHERE event_type = 'inventory.stock.low'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(lows, 1);
    // ...by email, to the store's support address, with a link to the stock page.
    let mail = app.latest_email("help@corner.example", "stock_low").await;
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .contains("stock is running low")
    );
    let link = format!("/vendor/products/{}/stock", product["id"].as_str().unwrap());
    assert!(
        mail["body_text"].as_str().unwrap().contains(&link),
        "{mail}"
    );
}

#[tokio::test]
async fn sold_out_products_are_marked_and_filtered_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let lamps = category(&app, token(&admin), "lamps", None).await;
    let (owner, store) = approved_store(&app, &admin, "lamp-house").await;
    let to = token(&owner);
    let r = create_product(
        &app,
        to,
        store["id"].as_str().unwrap(),
        json!({
            "slug": "desk-lamp", "title": "Desk Lamp", "category_id": lamps["id"],
            "variants": [{ "sku": "LAMP-1", "price_minor": 4500, "currency": "EUR" }]
        }),
    )
    .await;
    let product: Value = r.json().await.unwrap();
    let pid = product["id"].as_str().unwrap().to_owned();
    let variant = product["variants"][0]["id"].as_str().unwrap().to_owned();
    crate::search::publish(&app, to, &pid).await;

    // The stock page: add a location and receive one lamp, through the forms.
    let (b, _) = crate::web::sign_in(
        &app,
        claims_of(&owner)["email"].as_str().unwrap(),
        "/vendor",
    )
    .await;
    let page = format!("/vendor/products/{pid}/stock");
    let html = page_text(&b, &app, &page).await;
    assert!(html.contains("Add a location first"));
    let csrf = crate::web::csrf_of(&html);
    let store_id = store["id"].as_str().unwrap();
    b.post(app.url(&format!("/vendor/products/{pid}/locations")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("store_id", store_id),
            ("name", "Back room"),
        ])
        .send()
        .await
        .unwrap();
    let html = page_text(&b, &app, &page).await;
    let location = html
        .split("<option value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let r = b
        .post(app.url(&page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("variant_id", &variant),
            ("location_id", &location),
            ("delta", "+1"),
            ("reason", "First delivery"),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("Saved: 1 available."), "{html}");
    assert!(html.contains("<td>Back room</td><td>1</td><td>0</td><td>1</td>"));

    // One lamp sold: the product is sold out in catalog, search and the pages.
    let customer = app.customer(&unique_email("buyer")).await;
    let r = service_call(
        &app,
        Method::POST,
        "/internal/inventory/reservations",
        Some(acting_for(
            json!({
                "reference": "lamp-order", "lines": [{ "variant_id": variant, "quantity": 1 }]
            }),
            "owner",
            "reservation",
            token(&customer),
        )),
    )
    .await;
    let held: Value = r.json().await.unwrap();
    let r = service_call(
        &app,
        Method::POST,
        &format!(
            "/internal/inventory/reservations/{}/commit",
            held["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let seen = get_json(&app, "/api/v1/search/products?q=lamp").await;
    assert_eq!(seen["facets"]["availability"]["out_of_stock"], 1, "{seen}");
    assert_eq!(seen["items"][0]["in_stock"], false);
    assert_eq!(
        get_json(&app, "/api/v1/search/products?q=lamp&in_stock=true").await["total"],
        0
    );
    let detail = get_json(&app, &format!("/api/v1/catalog/products/{pid}")).await;
    assert_eq!(
        (
            detail["in_stock"].clone(),
            detail["variants"][0]["available"].clone()
        ),
        (json!(false), json!(0))
    );
    let listed = get_json(
        &app,
        "/api/v1/catalog/products?category=lamps&in_stock=true",
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    let listed = get_json(&app, "/api/v1/catalog/products?category=lamps").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let html = page_text(&app.http, &app, "/p/lamp-house/desk-lamp").await;
    assert!(
        html.contains("id=\"product-stock\" class=\"stock\">Sold out"),
        "{html}"
    );
    let html = page_text(&app.http, &app, "/search?q=lamp").await;
    assert!(html.contains("Sold out") && html.contains("<h3>Availability</h3>"));

    // Restocked: back in stock everywhere.
    let (p, body) = (
        format!("/api/v1/inventory/variants/{variant}/adjustments"),
        json!({ "location_id": location, "delta": 5, "reason": "Restock" }),
    );
    assert_eq!(
        send(&app, Method::POST, &p, to, Some(body)).await.status(),
        200
    );
    app.settle().await;
    assert_eq!(
        get_json(&app, "/api/v1/search/products?q=lamp&in_stock=true").await["total"],
        1
    );
}
