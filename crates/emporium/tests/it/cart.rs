//! Carts: guests and customers, merged on sign-in, capped by stock, priced afresh with
//! notices when prices or availability changed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product};
use crate::support::*;
use crate::vendors::approved_store;

async fn cart_call(
    app: &TestApp,
    method: Method,
    path: &str,
    guest: Option<&str>,
    user: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.request(method, path);
    if let Some(t) = guest {
        req = req.header("Cart-Token", t);
    }
    if let Some(t) = user {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn guests_and_customers_keep_carts_priced_and_capped_by_stock() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let cups = category(&app, token(&admin), "cups", None).await;
    let (a_owner, a_store) = approved_store(&app, &admin, "cup-a").await;
    let (b_owner, b_store) = approved_store(&app, &admin, "cup-b").await;
    let mut variants = Vec::new();
    for (owner, store, slug, price) in [
        (&a_owner, &a_store, "teacup", 1500),
        (&b_owner, &b_store, "mug", 900),
    ] {
        let r = create_product(&app, token(owner), store["id"].as_str().unwrap(), json!({
            "slug": slug, "title": slug, "category_id": cups["id"],
            "variants": [{ "sku": format!("{slug}-1"), "price_minor": price, "currency": "EUR" }]
        })).await;
        let p: Value = r.json().await.unwrap();
        crate::search::publish(&app, token(owner), p["id"].as_str().unwrap()).await;
        variants.push((
            p["id"].as_str().unwrap().to_owned(),
            p["variants"][0]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let (teacup_product, teacup) = variants[0].clone();
    let (_, mug) = variants[1].clone();
    // The teacup's stock is tracked: 3 in the back room.
    let r = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/inventory/stores/{}/locations",
            a_store["id"].as_str().unwrap()
        ),
        Some(token(&a_owner)),
        Some(json!({ "name": "Back room" })),
    )
    .await;
    let location: Value = r.json().await.unwrap();
    call(
        &app,
        Method::POST,
        &format!("/api/v1/inventory/variants/{teacup}/adjustments"),
        Some(token(&a_owner)),
        Some(json!({ "location_id": location["id"], "delta": 3, "reason": "Delivery" })),
    )
    .await;

    // A guest fills a cart with items from two stores.
    assert_problem(
        cart_call(&app, Method::GET, "/api/v1/cart", None, None, None).await,
        401,
        "no_cart",
    )
    .await;
    let guest: Value = cart_call(
        &app,
        Method::POST,
        "/api/v1/cart/guest-token",
        None,
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let gt = guest["cart_token"].as_str().unwrap().to_owned();
    let line = |v: &str| format!("/api/v1/cart/lines/{v}");
    let r = cart_call(
        &app,
        Method::PUT,
        &line(&teacup),
        Some(&gt),
        None,
        Some(json!({ "quantity": 5 })),
    )
    .await;
    let body = assert_problem(r, 409, "insufficient_stock").await;
    assert_eq!(body["detail"], "Only 3 can be bought now");
    let r = cart_call(
        &app,
        Method::PUT,
        &line(&teacup),
        Some(&gt),
        None,
        Some(json!({ "quantity": 2 })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let cart: Value = cart_call(
        &app,
        Method::PUT,
        &line(&mug),
        Some(&gt),
        None,
        Some(json!({ "quantity": 3 })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        cart["subtotal"],
        json!({ "amount_minor": 2 * 1500 + 3 * 900, "currency": "EUR" })
    );
    assert_eq!(cart["stores"].as_array().unwrap().len(), 2);
    assert_eq!(cart["item_count"], 5);
    // Bad input changes nothing.
    for (path, body, status) in [
        (line(&mug), json!({ "quantity": -1 }), 422),
        (line(&mug), json!({ "quantity": 100000 }), 422),
        (
            "/api/v1/cart/lines/var_00000000000000000000000000000000".to_owned(),
            json!({ "quantity": 1 }),
            404,
        ),
        (
            "/api/v1/cart/lines/not-a-variant".to_owned(),
            json!({ "quantity": 1 }),
            404,
        ),
    ] {
        assert_eq!(
            cart_call(&app, Method::PUT, &path, Some(&gt), None, Some(body))
                .await
                .status(),
            status,
            "{path}"
        );
    }
    // Another guest's token sees its own (empty) cart, never this one.
    let other: Value = cart_call(
        &app,
        Method::GET,
        "/api/v1/cart",
        Some("someone-else-entirely-0000"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(other["lines"], json!([]));

    // The guest signs in: the cart merges into the customer's, quantities adding up.
    let customer = app.customer(&unique_email("shopper")).await;
    let tc = token(&customer);
    cart_call(
        &app,
        Method::PUT,
        &line(&mug),
        None,
        Some(tc),
        Some(json!({ "quantity": 1 })),
    )
    .await;
    let merged: Value = cart_call(
        &app,
        Method::POST,
        "/api/v1/cart/merge",
        Some(&gt),
        Some(tc),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let qty = |cart: &Value, v: &str| {
        cart["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["variant_id"] == v)
            .map(|l| l["quantity"].as_i64().unwrap())
    };
    assert_eq!(
        (qty(&merged, &teacup), qty(&merged, &mug)),
        (Some(2), Some(4))
    );
    let gone: Value = cart_call(&app, Method::GET, "/api/v1/cart", Some(&gt), None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gone["lines"], json!([]), "the guest cart is gone");

    // Prices are read afresh; a change is pointed out once.
    let req = json!({
        "slug": "teacup", "title": "teacup", "category_id": cups["id"],
        "variants": [{ "sku": "teacup-1", "price_minor": 1700, "currency": "EUR" }]
    });
    assert_eq!(
        call(
            &app,
            Method::PUT,
            &format!("/api/v1/catalog/products/{teacup_product}"),
            Some(token(&a_owner)),
            Some(req)
        )
        .await
        .status(),
        200
    );
    let cart: Value = cart_call(&app, Method::GET, "/api/v1/cart", None, Some(tc), None)
        .await
        .json()
        .await
        .unwrap();
    let teacup_line = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == teacup.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        teacup_line["notices"][0],
        "The price changed from 15.00 EUR to 17.00 EUR."
    );
    assert_eq!(cart["subtotal"]["amount_minor"], 2 * 1700 + 4 * 900);
    let again: Value = cart_call(&app, Method::GET, "/api/v1/cart", None, Some(tc), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        again["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["notices"] == json!([]))
    );

    // Stock sold elsewhere lowers the line, with a notice; a store suspended makes its
    // items unavailable and leaves them out of the totals.
    call(
        &app,
        Method::POST,
        &format!("/api/v1/inventory/variants/{teacup}/adjustments"),
        Some(token(&a_owner)),
        Some(json!({ "location_id": location["id"], "delta": -2, "reason": "Broken" })),
    )
    .await;
    let cart: Value = cart_call(&app, Method::GET, "/api/v1/cart", None, Some(tc), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(qty(&cart, &teacup), Some(1));
    let teacup_line = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == teacup.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        teacup_line["notices"][0],
        "Only 1 left: the quantity went down from 2 to 1."
    );
    call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/vendors/admin/stores/{}/suspend",
            b_store["id"].as_str().unwrap()
        ),
        Some(token(&admin)),
        Some(json!({ "reason": "Checks" })),
    )
    .await;
    app.settle().await;
    let cart: Value = cart_call(&app, Method::GET, "/api/v1/cart", None, Some(tc), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["stores"].as_array().unwrap().len(), 1);
    let mug_line = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == mug.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            mug_line["available"].clone(),
            mug_line["notices"][0].clone()
        ),
        (json!(false), json!("No longer available."))
    );
    assert_eq!(cart["subtotal"]["amount_minor"], 1700);

    // Removing.
    let cart: Value = cart_call(&app, Method::DELETE, &line(&mug), None, Some(tc), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
    let cart: Value = cart_call(
        &app,
        Method::PUT,
        &line(&teacup),
        None,
        Some(tc),
        Some(json!({ "quantity": 0 })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cart["lines"], json!([]));
    assert_eq!(cart["subtotal"], Value::Null);
}

#[tokio::test]
async fn the_cart_page_follows_a_guest_into_their_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let cups = category(&app, token(&admin), "cups", None).await;
    let (owner, store) = approved_store(&app, &admin, "cup-shop").await;
    let r = create_product(
        &app,
        token(&owner),
        store["id"].as_str().unwrap(),
        json!({
            "slug": "espresso-cup", "title": "Espresso Cup", "category_id": cups["id"],
            "variants": [{ "sku": "ESP-1", "price_minor": 800, "currency": "EUR" }]
        }),
    )
    .await;
    let p: Value = r.json().await.unwrap();
    crate::search::publish(&app, token(&owner), p["id"].as_str().unwrap()).await;
    let email = unique_email("guest");
    app.customer(&email).await;

    // A guest adds from the product page; the cart page shows it.
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = page_text(&b, &app, "/p/cup-shop/espresso-cup").await;
    assert!(page.contains("id=\"add-to-cart\""));
    let csrf = crate::web::csrf_of(&page);
    let variant = page
        .split("name=\"variant_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = b
        .post(app.url("/cart/add"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("variant_id", &variant),
            ("quantity", "2"),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Added to your cart.") && html.contains("Espresso Cup"),
        "{html}"
    );
    assert!(html.contains("id=\"cart-subtotal\">16.00 EUR"));
    // htmx changes a quantity in place.
    let r = b
        .post(app.url(&format!("/cart/lines/{variant}")))
        .header("HX-Request", "true")
        .form(&[("csrf", csrf.as_str()), ("quantity", "3")])
        .send()
        .await
        .unwrap();
    let partial = r.text().await.unwrap();
    assert!(
        !partial.contains("<html") && partial.contains("24.00 EUR"),
        "{partial}"
    );

    // Signing in brings the guest cart into the account.
    let login = page_text(&b, &app, "/login").await;
    let csrf = crate::web::csrf_of(&login);
    b.post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("next", "/cart"),
        ])
        .send()
        .await
        .unwrap();
    let html = page_text(&b, &app, "/cart").await;
    assert!(
        html.contains("Espresso Cup") && html.contains("24.00 EUR"),
        "{html}"
    );
    let tokens = app
        .login(&email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let cart: Value = app
        .get_auth("/api/v1/cart", token(&tokens))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["lines"][0]["quantity"], 3);
    // Removing empties it.
    let csrf = crate::web::csrf_of(&html);
    let r = b
        .post(app.url(&format!("/cart/lines/{variant}")))
        .form(&[("csrf", csrf.as_str()), ("quantity", "0")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("id=\"cart-empty\""));
}
