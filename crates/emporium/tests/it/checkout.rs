//! Checkout, orders, payments and the ledger: the saga end to end, its invariants under
//! concurrency and retries, and every refusal.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product};
use crate::support::*;
use crate::vendors::approved_store;

pub const OK_CARD: &str = "4242424242424242";

/// Two approved stores: A sells a mug (tracked stock) shipping flat to DE, B a poster
/// (stock not tracked) shipping flat anywhere. Tax in DE is 19 %.
pub struct Shop {
    pub admin: Value,
    pub a_owner: Value,
    pub a_store: String,
    pub b_owner: Value,
    pub b_store: String,
    pub mug: String,
    pub poster: String,
    pub a_method: String,
    pub b_method: String,
}

pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    call(app, method, path, Some(token), body).await
}

async fn product(
    app: &TestApp,
    owner: &Value,
    store: &str,
    slug: &str,
    price: i64,
    category: &Value,
) -> String {
    let r = create_product(app, token(owner), store, json!({
        "slug": slug, "title": slug, "category_id": category["id"],
        "variants": [{ "sku": format!("{slug}-1"), "price_minor": price, "currency": "EUR", "weight_grams": 400 }]
    }))
    .await;
    let p: Value = r.json().await.unwrap();
    crate::search::publish(app, token(owner), p["id"].as_str().unwrap()).await;
    p["variants"][0]["id"].as_str().unwrap().to_owned()
}

async fn method(app: &TestApp, owner: &Value, store: &str, body: Value) -> String {
    let r = send(
        app,
        Method::POST,
        &format!("/api/v1/shipping/stores/{store}/methods"),
        token(owner),
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Puts `units` of `variant` on store A's shelf.
pub async fn stock(app: &TestApp, owner: &Value, store: &str, variant: &str, units: i64) {
    let r = send(
        app,
        Method::POST,
        &format!("/api/v1/inventory/stores/{store}/locations"),
        token(owner),
        Some(json!({ "name": "Shelf" })),
    )
    .await;
    let location: Value = r.json().await.unwrap();
    let r = send(
        app,
        Method::POST,
        &format!("/api/v1/inventory/variants/{variant}/adjustments"),
        token(owner),
        Some(json!({ "location_id": location["id"], "delta": units, "reason": "Delivery" })),
    )
    .await;
    assert_eq!(r.status(), 200);
}

pub async fn shop(app: &TestApp, mugs_in_stock: i64) -> Shop {
    let admin = app.admin("admin@example.com").await;
    let home = category(app, token(&admin), "home", None).await;
    let (a_owner, a) = approved_store(app, &admin, "mug-makers").await;
    let (b_owner, b) = approved_store(app, &admin, "poster-press").await;
    let a_store = a["id"].as_str().unwrap().to_owned();
    let b_store = b["id"].as_str().unwrap().to_owned();
    let mug = product(app, &a_owner, &a_store, "mug", 1_250, &home).await;
    let poster = product(app, &b_owner, &b_store, "poster", 2_000, &home).await;
    stock(app, &a_owner, &a_store, &mug, mugs_in_stock).await;
    let a_method = method(app, &a_owner, &a_store, json!({ "name": "Parcel", "kind": "flat", "currency": "EUR", "price_minor": 490, "countries": ["DE"] })).await;
    let b_method = method(
        app,
        &b_owner,
        &b_store,
        json!({ "name": "Tube post", "kind": "flat", "currency": "EUR", "price_minor": 350 }),
    )
    .await;
    let r = send(
        app,
        Method::PUT,
        "/api/v1/tax/rates/DE",
        token(&admin),
        Some(json!({ "rate": "19" })),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    Shop {
        admin,
        a_owner,
        a_store,
        b_owner,
        b_store,
        mug,
        poster,
        a_method,
        b_method,
    }
}

pub async fn add_to_cart(app: &TestApp, customer: &Value, variant: &str, quantity: i64) {
    let r = send(
        app,
        Method::PUT,
        &format!("/api/v1/cart/lines/{variant}"),
        token(customer),
        Some(json!({ "quantity": quantity })),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

pub fn checkout_body(shop: &Shop, card: &str, stores: &[&str]) -> Value {
    let mut shipping = serde_json::Map::new();
    for s in stores {
        let m = if *s == shop.a_store {
            &shop.a_method
        } else {
            &shop.b_method
        };
        shipping.insert((*s).to_owned(), json!(m));
    }
    json!({
        "address": { "name": "Ada Buyer", "line1": "1 Market Street", "city": "Berlin", "postal_code": "10115", "country": "DE" },
        "shipping": shipping,
        "card_number": card,
    })
}

pub async fn checkout(
    app: &TestApp,
    customer: &Value,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/orders/checkout")
        .bearer_auth(token(customer))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn available(app: &TestApp, variant: &str) -> i64 {
    let v = get_json(
        app,
        &format!("/api/v1/inventory/availability?variants={variant}"),
    )
    .await;
    v["items"][0]["available"].as_i64().unwrap()
}

/// The ledger's total per currency, which must always be zero, and one account's balance.
pub async fn ledger(app: &TestApp, admin: &Value) -> Value {
    let r = send(
        app,
        Method::GET,
        "/api/v1/payments/ledger",
        token(admin),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let l: Value = r.json().await.unwrap();
    for t in l["totals"].as_array().unwrap() {
        assert_eq!(t["amount_minor"], 0, "the ledger does not balance: {l}");
    }
    l
}

fn balance(ledger: &Value, account: &str) -> i64 {
    ledger["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == account)
        .map_or(0, |a| a["balance"]["amount_minor"].as_i64().unwrap())
}

/// Delivers a provider's webhook with its signature header.
pub async fn webhook(
    app: &TestApp,
    provider: &str,
    signature: String,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    let header = if provider == "stripe" {
        "Stripe-Signature"
    } else {
        "Emporium-Signature"
    };
    app.request(
        Method::POST,
        &format!("/api/v1/payments/webhooks/{provider}"),
    )
    .header(header, signature)
    .header("content-type", "application/json")
    .body(body)
    .send()
    .await
}

/// Asserts what a query of one domain's schema counts.
async fn expect_count(app: &TestApp, schema: &'static str, sql: &str, want: i64) {
    assert_eq!(count(app, schema, sql).await, want, "{schema}: {sql}");
}

async fn count(app: &TestApp, schema: &'static str, sql: &str) -> i64 {
    let pool = app.pool(schema).await;
    sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
}

#[tokio::test]
async fn a_checkout_splits_per_store_charges_once_and_books_every_movement() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 10).await;
    let customer = app.customer(&unique_email("ada")).await;
    let stranger = app.customer(&unique_email("eve")).await;
    add_to_cart(&app, &customer, &shop.mug, 2).await;
    add_to_cart(&app, &customer, &shop.poster, 1).await;
    let both = [shop.a_store.as_str(), shop.b_store.as_str()];
    let body = checkout_body(&shop, OK_CARD, &both);

    // Refusals change nothing.
    let r = app
        .request(Method::POST, "/api/v1/orders/checkout")
        .bearer_auth(token(&customer))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "idempotency_key_required").await;
    let mut bad = body.clone();
    bad["card_number"] = json!("4242 4242 4242 4241");
    bad["address"]["country"] = json!("ZZ");
    let problem = assert_problem(
        checkout(&app, &customer, "bad-1", &bad).await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["address.country", "card_number"]);
    let mut wrong_method = body.clone();
    wrong_method["shipping"][&shop.a_store] = json!(shop.b_method);
    let problem = assert_problem(
        checkout(&app, &customer, "bad-2", &wrong_method).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "not_offered");
    let mut missing = body.clone();
    missing["shipping"]
        .as_object_mut()
        .unwrap()
        .remove(&shop.b_store);
    assert_problem(
        checkout(&app, &customer, "bad-3", &missing).await,
        422,
        "validation_failed",
    )
    .await;
    let mut changed = body.clone();
    changed["expected_total_minor"] = json!(1);
    assert_problem(
        checkout(&app, &customer, "bad-4", &changed).await,
        409,
        "price_changed",
    )
    .await;
    let mut unknown_code = body.clone();
    unknown_code["promotion_code"] = json!("NOPE-NOPE");
    let problem = assert_problem(
        checkout(&app, &customer, "bad-5", &unknown_code).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "promotion_code");

    // A platform code, 10 % off, limited to one use.
    let r = send(
        &app,
        Method::POST,
        "/api/v1/promotions",
        token(&shop.admin),
        Some(
            json!({ "code": "WELCOME10", "kind": "percentage", "percent": "10", "usage_limit": 1 }),
        ),
    )
    .await;
    assert_eq!(r.status(), 201);

    // A declined card: no order, the stock and the code's use given back, the cart kept.
    let mut declined = body.clone();
    declined["card_number"] = json!("4000000000000002");
    declined["promotion_code"] = json!("welcome10");
    let problem = assert_problem(
        checkout(&app, &customer, "try-1", &declined).await,
        402,
        "card_declined",
    )
    .await;
    assert_eq!(problem["title"], "Your card was declined.");
    assert_eq!(available(&app, &shop.mug).await, 10);
    let cart: Value = send(&app, Method::GET, "/api/v1/cart", token(&customer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["lines"].as_array().unwrap().len(), 2);
    let promos: Value = send(
        &app,
        Method::GET,
        "/api/v1/promotions",
        token(&shop.admin),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(promos["items"][0]["uses"], 0);
    let mut poor = declined.clone();
    poor["card_number"] = json!("4000000000009995");
    assert_problem(
        checkout(&app, &customer, "try-2", &poor).await,
        402,
        "insufficient_funds",
    )
    .await;

    // The same key twenty times at once: one order, one charge, twenty equal answers.
    let mut paying = body.clone();
    paying["promotion_code"] = json!("WELCOME10");
    let answers = futures_util::future::join_all((0..20).map(|_| async {
        let r = checkout(&app, &customer, "pay-1", &paying).await;
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    }))
    .await;
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "answers differ: {answers:?}"
    );
    let (status, view) = &answers[0];
    assert_eq!(*status, 201, "{view}");
    assert_eq!(view["status"], "completed");
    let order = &view["order"];
    assert_eq!(order["status"], "paid");
    assert!(order["number"].as_str().unwrap().starts_with("EM-"));
    let subs = order["sub_orders"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(
        subs[0]["number"],
        format!("{}-1", order["number"].as_str().unwrap())
    );
    // Mugs 2 × 12.50 − 10 % = 22.50, tax 19 % of it 4.28 (rounded half away from zero),
    // parcel 4.90; poster 20.00 − 2.00, tax 3.42, tube 3.50.
    let a = subs
        .iter()
        .find(|s| s["store_id"] == shop.a_store.as_str())
        .unwrap();
    let b = subs
        .iter()
        .find(|s| s["store_id"] == shop.b_store.as_str())
        .unwrap();
    assert_eq!(a["subtotal"]["amount_minor"], 2_500);
    assert_eq!(a["discount"]["amount_minor"], 250);
    assert_eq!(a["tax"]["amount_minor"], 428);
    assert_eq!(a["total"]["amount_minor"], 2_500 - 250 + 490 + 428);
    assert_eq!(b["total"]["amount_minor"], 2_000 - 200 + 350 + 342);
    assert_eq!(order["total"]["amount_minor"], 3_168 + 2_492);
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 1).await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status = 'captured'",
        1,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM simulator_intents WHERE status = 'captured'",
        1,
    )
    .await;
    assert_eq!(available(&app, &shop.mug).await, 8);
    let cart: Value = send(&app, Method::GET, "/api/v1/cart", token(&customer), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(cart["lines"].as_array().unwrap().is_empty(), "{cart}");
    // The code's one use is taken.
    let other = app.customer(&unique_email("bob")).await;
    add_to_cart(&app, &other, &shop.poster, 1).await;
    let mut late = checkout_body(&shop, OK_CARD, &[shop.b_store.as_str()]);
    late["promotion_code"] = json!("WELCOME10");
    assert_problem(
        checkout(&app, &other, "late-1", &late).await,
        409,
        "promotion_exhausted",
    )
    .await;

    // The ledger: the platform funds its code, takes 10 % commission (the default) on
    // what the goods fetched before it; every account sums to zero.
    let l = ledger(&app, &shop.admin).await;
    let a_uuid = shop.a_store.trim_start_matches("sto_");
    let a_account = format!("store_payable:{}", uuid::Uuid::parse_str(a_uuid).unwrap());
    assert_eq!(balance(&l, "payments_clearing"), 5_660);
    assert_eq!(balance(&l, "platform_promotions"), 450);
    assert_eq!(balance(&l, "commission_revenue"), -(250 + 200));
    assert_eq!(balance(&l, &a_account), -(3_168 + 250 - 250));

    // Only the order's customer (and admins) see it.
    let order_id = order["id"].as_str().unwrap();
    let r = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/{order_id}"),
        token(&stranger),
        None,
    )
    .await;
    assert_problem(r, 404, "not_found").await;
    let mine: Value = send(&app, Method::GET, "/api/v1/orders", token(&customer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Each store sees its own sub-order only, and acts on it through the status machine.
    let a_queue: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/stores/{}/sub-orders", shop.a_store),
        token(&shop.a_owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(a_queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(a_queue["items"][0]["commission"]["amount_minor"], 250);
    let r = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/stores/{}/sub-orders", shop.a_store),
        token(&shop.b_owner),
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let act = |sub: &str, action: &str| format!("/api/v1/orders/sub-orders/{sub}/{action}");
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "accept"),
        token(&shop.b_owner),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 404, "not_found").await;
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "ship"),
        token(&customer),
        Some(json!({ "tracking_number": "TRACK123" })),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let detail: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/sub-orders/{a_id}"),
        token(&shop.a_owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        detail["order"]["sub_orders"].as_array().unwrap().len(),
        1,
        "a store sees only its own part"
    );
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "accept"),
        token(&shop.a_owner),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "accept"),
        token(&shop.a_owner),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 409, "illegal_transition").await;
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "ship"),
        token(&shop.a_owner),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 422, "validation_failed").await;
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "ship"),
        token(&shop.a_owner),
        Some(json!({ "tracking_number": "TRACK123" })),
    )
    .await;
    let shipped: Value = r.json().await.unwrap();
    assert_eq!(shipped["sub_order"]["status"], "shipped");
    assert_eq!(shipped["sub_order"]["tracking_number"], "TRACK123");
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "cancel"),
        token(&customer),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 409, "illegal_transition").await;
    let r = send(
        &app,
        Method::POST,
        &act(a_id, "teleport"),
        token(&shop.a_owner),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 404, "not_found").await;

    // The customer cancels the poster before it ships: refunded in full.
    // The customer hears of the payment and of the shipment.
    let email = claims_of(&customer)["email"].as_str().unwrap().to_owned();
    let confirmed = app.latest_email(&email, "order_confirmed").await;
    assert!(
        confirmed["subject"]
            .as_str()
            .unwrap()
            .contains(order["number"].as_str().unwrap())
    );
    assert!(
        confirmed["body_text"]
            .as_str()
            .unwrap()
            .contains(&format!("/orders/{}", order["id"].as_str().unwrap()))
    );
    // Each store is told of its part (the test stores share one support address).
    let a_support: Value =
        get_json(&app, &format!("/api/v1/vendors/stores/{}", shop.a_store)).await;
    let support = a_support["support_email"].as_str().unwrap();
    app.latest_email(support, "new_order").await;
    let mut new_orders = Vec::new();
    for _ in 0..100 {
        new_orders = app
            .emails_to(support)
            .await
            .into_iter()
            .filter(|m| m["kind"] == "new_order")
            .collect::<Vec<Value>>();
        if new_orders.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(new_orders.len(), 2, "one per sub-order");
    for sub in [a_id, b_id] {
        assert!(
            new_orders.iter().any(|m| m["body_text"]
                .as_str()
                .unwrap()
                .contains(&format!("/orders/{sub}"))),
            "{new_orders:?}"
        );
    }
    let shipped_email = app.latest_email(&email, "order_shipped").await;
    assert!(
        shipped_email["body_text"]
            .as_str()
            .unwrap()
            .contains("TRACK123"),
        "{shipped_email}"
    );
    let r = send(
        &app,
        Method::POST,
        &act(b_id, "cancel"),
        token(&customer),
        Some(json!({})),
    )
    .await;
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(cancelled["sub_order"]["status"], "cancelled");
    assert_eq!(cancelled["sub_order"]["refunded"]["amount_minor"], 2_492);
    assert_eq!(cancelled["order"]["status"], "partially_refunded");
    let cancelled_email = app.latest_email(&email, "order_cancelled").await;
    assert!(
        cancelled_email["body_text"]
            .as_str()
            .unwrap()
            .contains("refunded"),
        "{cancelled_email}"
    );
    let r = send(
        &app,
        Method::POST,
        &act(b_id, "cancel"),
        token(&customer),
        Some(json!({})),
    )
    .await;
    assert_problem(r, 409, "illegal_transition").await;

    // An admin refunds part of the shipped mugs; too much is refused.
    let refund = format!("/api/v1/orders/sub-orders/{a_id}/refunds");
    let r = send(
        &app,
        Method::POST,
        &refund,
        token(&shop.a_owner),
        Some(json!({ "amount_minor": 100, "reason": "Chipped" })),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let r = send(
        &app,
        Method::POST,
        &refund,
        token(&shop.admin),
        Some(json!({ "amount_minor": 99_999, "reason": "Chipped" })),
    )
    .await;
    assert_problem(r, 409, "refund_too_large").await;
    let r = send(
        &app,
        Method::POST,
        &refund,
        token(&shop.admin),
        Some(json!({ "amount_minor": 1_000, "reason": "One mug arrived chipped" })),
    )
    .await;
    let refunded: Value = r.json().await.unwrap();
    assert_eq!(refunded["sub_order"]["status"], "partially_refunded");
    let timeline: Vec<&str> = refunded["order"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "placed",
            "paid",
            "processing",
            "shipped",
            "cancelled",
            "partially_refunded"
        ]
    );
    let l = ledger(&app, &shop.admin).await;
    assert_eq!(balance(&l, "refunds"), -(2_492 + 1_000));

    // Payouts: every store owed money is paid and its balance drops to zero.
    let r = send(
        &app,
        Method::POST,
        "/api/v1/payments/payout-runs",
        token(&shop.a_owner),
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let before: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/payments/stores/{}/balance", shop.a_store),
        token(&shop.a_owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let owed = before["balances"][0]["amount_minor"].as_i64().unwrap();
    assert!(owed > 0);
    let r = send(
        &app,
        Method::POST,
        "/api/v1/payments/payout-runs",
        token(&shop.admin),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    let run: Value = r.json().await.unwrap();
    let paid_a = run["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["store_id"] == shop.a_store.as_str())
        .unwrap();
    assert_eq!(paid_a["amount"]["amount_minor"], owed);
    let again: Value = send(
        &app,
        Method::POST,
        "/api/v1/payments/payout-runs",
        token(&shop.admin),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(again["payouts"].as_array().unwrap().is_empty());
    let after: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/payments/stores/{}/balance", shop.a_store),
        token(&shop.a_owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(after["balances"][0]["amount_minor"], 0);
    assert_eq!(after["payouts"].as_array().unwrap().len(), 1);
    let r = send(
        &app,
        Method::GET,
        &format!("/api/v1/payments/stores/{}/balance", shop.a_store),
        token(&shop.b_owner),
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    ledger(&app, &shop.admin).await;

    // The ledger is append-only and every transaction balances, whatever the SQL says.
    let pool = app.pool("payments").await;
    assert!(
        sqlx::query("UPDATE ledger_entries SET amount_minor = amount_minor + 1")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM ledger_entries")
            .execute(&pool)
            .await
            .is_err()
    );
    let mut tx = pool.begin().await.unwrap();
    let id = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO ledger_transactions (id, kind, reference, currency) VALUES ($1, 'payout', 'x', 'EUR')").bind(id).execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO ledger_entries (transaction_id, account, amount_minor) VALUES ($1, 'payouts', 5)").bind(id).execute(&mut *tx).await.unwrap();
    assert!(
        tx.commit().await.is_err(),
        "an unbalanced transaction must not commit"
    );

    // Admins find orders by number or email.
    let number = order["number"].as_str().unwrap();
    let found: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/admin/orders?q={number}"),
        token(&shop.admin),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let r = send(
        &app,
        Method::GET,
        "/api/v1/orders/admin/orders",
        token(&customer),
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
}

#[tokio::test]
async fn two_hundred_checkouts_for_fifty_units_sell_exactly_fifty() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 50).await;
    let mut customers = Vec::new();
    let pool = identity::connect(&app.config).await.unwrap();
    for i in 0..200 {
        let email = format!("buyer{i}@example.com");
        identity::api::create_user(&pool, &app.config, &email, "Buyer", PASSWORD, false)
            .await
            .unwrap();
        let tokens: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
        add_to_cart(&app, &tokens, &shop.mug, 1).await;
        customers.push(tokens);
    }
    let body = checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]);
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all(customers.iter().enumerate().map(|(i, c)| {
        let (app, body) = (&app, &body);
        async move {
            let r = checkout(app, c, &format!("rush-{i}"), body).await;
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let sold = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "out_of_stock")
        .count();
    assert_eq!(
        sold,
        50,
        "{:?}",
        answers
            .iter()
            .filter(|(s, _)| *s != 201 && *s != 409)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        refused,
        150,
        "{:?}",
        answers
            .iter()
            .filter(|(s, b)| *s == 409 && b["code"] != "out_of_stock")
            .take(3)
            .collect::<Vec<_>>()
    );
    eprintln!("200 concurrent checkouts for 50 units took {elapsed:?}");
    assert_eq!(available(&app, &shop.mug).await, 0);
    let on_hand = count(
        &app,
        "inventory",
        "SELECT coalesce(sum(on_hand), 0)::bigint FROM stock_levels",
    )
    .await;
    assert_eq!(on_hand, 0);
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;
    expect_count(
        &app,
        "orders",
        "SELECT count(*) FROM orders WHERE status = 'paid'",
        50,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status = 'captured'",
        50,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status NOT IN ('captured')",
        0,
    )
    .await;
    ledger(&app, &shop.admin).await;
}

#[tokio::test]
async fn confirmation_steps_transient_failures_and_webhooks() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email("cleo")).await;
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let only_a = [shop.a_store.as_str()];

    // The card that needs the bank's confirmation: 202 with the page to confirm on.
    let r = checkout(
        &app,
        &customer,
        "3ds-1",
        &checkout_body(&shop, "4000000000003220", &only_a),
    )
    .await;
    assert_eq!(r.status(), 202);
    let waiting: Value = r.json().await.unwrap();
    assert_eq!(waiting["status"], "awaiting_action");
    let url = waiting["next_action_url"].as_str().unwrap().to_owned();
    assert_eq!(
        available(&app, &shop.mug).await,
        4,
        "held while the customer confirms"
    );
    let page = app
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Confirm payment") && page.contains("19.78 EUR"),
        "{page}"
    );
    let r = app
        .http
        .post(&url)
        .form(&[("outcome", "confirm")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.ends_with(waiting["id"].as_str().unwrap()), "{back}");
    let done = poll_checkout(
        &app,
        &customer,
        waiting["id"].as_str().unwrap(),
        "completed",
    )
    .await;
    assert_eq!(done["order"]["status"], "paid");
    assert_eq!(available(&app, &shop.mug).await, 4);

    // Failing the confirmation releases the stock.
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let r = checkout(
        &app,
        &customer,
        "3ds-2",
        &checkout_body(&shop, "4000000000003220", &only_a),
    )
    .await;
    let waiting: Value = r.json().await.unwrap();
    assert_eq!(available(&app, &shop.mug).await, 3);
    let url = waiting["next_action_url"].as_str().unwrap();
    let r = app
        .http
        .post(url)
        .form(&[("outcome", "fail")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let failed = poll_checkout(&app, &customer, waiting["id"].as_str().unwrap(), "failed").await;
    assert_eq!(failed["failure_code"], "authentication_failed");
    assert_eq!(available(&app, &shop.mug).await, 4);
    // The page has nothing more to confirm.
    let r = app
        .http
        .post(url)
        .form(&[("outcome", "confirm")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // A gateway hiccup on the first attempt is retried and goes through.
    let r = checkout(
        &app,
        &customer,
        "flaky-1",
        &checkout_body(&shop, "4000000000000119", &only_a),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(available(&app, &shop.mug).await, 3);

    // Webhooks: a tampered or stale one is refused and changes nothing; a replay is
    // applied once.
    let secret = app.config.payments.webhook_secret.0.as_bytes().to_vec();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = br#"{"id":"evt_x","type":"payment_intent.authorized","data":{"object":{"id":"sim_00000000000000000000000000000000","status":"authorized"}}}"#;
    let signature = payments::domain::sign_webhook(&secret, now, body);
    let post = |sig: String, body: &'static [u8]| webhook(&app, "simulator", sig, body.to_vec());
    let tampered = br#"{"id":"evt_x","type":"payment_intent.authorized","data":{"object":{"id":"sim_00000000000000000000000000000001","status":"authorized"}}}"#;
    assert_problem(
        post(signature.clone(), tampered).await.unwrap(),
        400,
        "invalid_webhook",
    )
    .await;
    let stale = payments::domain::sign_webhook(&secret, now - 3_600, body);
    assert_problem(post(stale, body).await.unwrap(), 400, "invalid_webhook").await;
    assert_problem(
        post("t=1,v1=zz".into(), body).await.unwrap(),
        400,
        "invalid_webhook",
    )
    .await;
    assert_eq!(post(signature.clone(), body).await.unwrap().status(), 200);
    assert_eq!(post(signature, body).await.unwrap().status(), 200);
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM webhook_events WHERE event_id = 'evt_x'",
        1,
    )
    .await;
    let r = app
        .request(Method::POST, "/api/v1/payments/webhooks/stripe")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;

    // The internal endpoints answer only to services.
    let r = app
        .request(Method::POST, "/internal/payments/authorizations")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = app
        .request(Method::POST, "/internal/inventory/reservations")
        .header("x-emporium-internal", "guess")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    ledger(&app, &shop.admin).await;
}

pub async fn poll_checkout(app: &TestApp, customer: &Value, id: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = send(
            app,
            Method::GET,
            &format!("/api/v1/orders/checkouts/{id}"),
            token(customer),
            None,
        )
        .await;
        last = r.json().await.unwrap();
        if last["status"] == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("checkout never became {want}: {last}");
}

/// `emporium serve` as a child process on the test's database.
fn serve_child(app: &TestApp, port: u16, extra: &[(&str, &str)]) -> tokio::process::Child {
    let scratch =
        std::env::temp_dir().join(format!("emporium-search-{}", uuid::Uuid::now_v7().simple()));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium"));
    cmd.arg("serve")
        .env("EMPORIUM_BIND", format!("127.0.0.1:{port}"))
        .env("EMPORIUM_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("DATABASE_URL", &app.config.database_url)
        .env("DATABASE_MAX_CONNECTIONS", "3")
        .env("SEARCH_INDEX_DIR", scratch.join("index"))
        .env("MEDIA_DIR", scratch.join("media"))
        .env("EMPORIUM_DEV", "1")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

async fn checkout_step(app: &TestApp) -> Option<String> {
    let pool = app.pool("orders").await;
    sqlx::query_scalar("SELECT step FROM checkouts ORDER BY created_at DESC LIMIT 1")
        .fetch_optional(&pool)
        .await
        .unwrap()
}

/// A shop with one customer's cart of `mugs`, handed over to child processes: the
/// first serves a checkout through a gateway that takes `latency_ms` per call.
struct Crash {
    app: TestApp,
    http: reqwest::Client,
    first: tokio::process::Child,
    request: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

async fn start_crash(name: &str, mugs: i64, latency_ms: &str) -> Crash {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email(name)).await;
    add_to_cart(&app, &customer, &shop.mug, mugs).await;
    // From here on, child processes own the database.
    app.platform.shut_down();
    let port = crate::distributed::free_port();
    let first = serve_child(
        &app,
        port,
        &[
            ("PAYMENTS_SIMULATOR_LATENCY_MS", latency_ms),
            ("CHECKOUT_LEASE_SECS", "2"),
        ],
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    crate::distributed::wait_ready(&http, &base).await;
    let body = checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]);
    let (h, t) = (http.clone(), token(&customer).to_owned());
    let request = tokio::spawn(async move {
        h.post(format!("{base}/api/v1/orders/checkout"))
            .bearer_auth(t)
            .header("Idempotency-Key", "crash-1")
            .json(&body)
            .send()
            .await
    });
    Crash {
        app,
        http,
        first,
        request,
    }
}

/// Polls the checkout's step until it is one of `steps` (or gives up and returns it).
async fn wait_for_step(
    app: &TestApp,
    steps: &[&str],
    tries: usize,
    every: Duration,
) -> Option<String> {
    let mut step = None;
    for _ in 0..tries {
        step = checkout_step(app).await;
        if step.as_deref().is_some_and(|s| steps.contains(&s)) {
            break;
        }
        tokio::time::sleep(every).await;
    }
    step
}

impl Crash {
    /// SIGKILLs the first process once the checkout reached one of `steps`, then starts
    /// the next one, whose recovery worker takes over.
    async fn kill_at(mut self, steps: &[&str]) -> (TestApp, tokio::process::Child) {
        let step = wait_for_step(&self.app, steps, 200, Duration::from_millis(25)).await;
        self.first.start_kill().unwrap();
        self.first.wait().await.unwrap();
        assert!(
            step.as_deref().is_some_and(|s| steps.contains(&s)),
            "killed at {step:?}"
        );
        assert!(
            self.request.await.unwrap().is_err(),
            "the killed process cannot have answered"
        );
        let port = crate::distributed::free_port();
        let second = serve_child(&self.app, port, &[("CHECKOUT_LEASE_SECS", "2")]);
        crate::distributed::wait_ready(&self.http, &format!("http://127.0.0.1:{port}")).await;
        (self.app, second)
    }
}

#[tokio::test]
async fn a_checkout_killed_after_authorization_is_finished_by_the_next_process() {
    // The gateway is slow, so the process dies after authorization, before capture.
    let crash = start_crash("kim", 1, "1500").await;
    let (app, _second) = crash.kill_at(&["authorized", "confirmed"]).await;
    let step = wait_for_step(&app, &["completed"], 200, Duration::from_millis(100)).await;
    assert_eq!(step.as_deref(), Some("completed"));
    expect_count(
        &app,
        "orders",
        "SELECT count(*) FROM orders WHERE status = 'paid'",
        1,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status = 'captured'",
        1,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM simulator_intents WHERE status = 'captured'",
        1,
    )
    .await;
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;
    expect_count(
        &app,
        "inventory",
        "SELECT coalesce(sum(on_hand), 0)::bigint FROM stock_levels",
        4,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_entries",
        0,
    )
    .await;
}

#[tokio::test]
async fn a_checkout_killed_before_the_gateway_answered_is_compensated() {
    // Stock is held and the gateway has not answered when the process dies.
    let crash = start_crash("lou", 2, "3000").await;
    let (app, _second) = crash.kill_at(&["reserved"]).await;
    let step = wait_for_step(&app, &["failed"], 200, Duration::from_millis(100)).await;
    assert_eq!(step.as_deref(), Some("failed"));
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;
    expect_count(
        &app,
        "inventory",
        "SELECT coalesce(sum(reserved), 0)::bigint FROM stock_levels",
        0,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status IN ('authorized', 'captured')",
        0,
    )
    .await;
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 0).await;
}

/// Issue 9: one cart, one checkout. Two tabs or API clients checking out the same cart
/// with their own keys make one order and one charge; the others are told so.
#[tokio::test]
async fn concurrent_checkouts_of_one_cart_with_different_keys_make_one_order() {
    // A slow gateway keeps the first checkout under way while the others arrive.
    let app =
        TestApp::spawn_with(|c| c.payments.simulator_latency = Duration::from_millis(300)).await;
    let shop = shop(&app, 10).await;
    let customer = app.customer(&unique_email("tabs")).await;
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let body = checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]);
    let answers = futures_util::future::join_all((0..5).map(|i| {
        let (app, customer, body) = (&app, &customer, &body);
        async move {
            let r = checkout(app, customer, &format!("tab-{i}"), body).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    }))
    .await;
    let paid: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(paid.len(), 1, "{answers:?}");
    assert_eq!(paid[0]["order"]["status"], "paid");
    let refused = answers
        .iter()
        .filter(|(s, p)| *s == 409 && p["code"] == "checkout_in_progress")
        .count();
    assert_eq!(refused, 4, "{answers:?}");
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 1).await;
    expect_count(&app, "orders", "SELECT count(*) FROM checkouts", 1).await;
    expect_count(&app, "payments", "SELECT count(*) FROM payments", 1).await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM payments WHERE status = 'captured'",
        1,
    )
    .await;
    expect_count(
        &app,
        "payments",
        "SELECT count(*) FROM simulator_intents WHERE status = 'captured'",
        1,
    )
    .await;
    assert_eq!(available(&app, &shop.mug).await, 9, "one unit sold");
    expect_count(
        &app,
        "inventory",
        "SELECT count(*) FROM reservations WHERE status = 'held'",
        0,
    )
    .await;

    // Once it completed, the cart no longer holds what it bought: another key finds
    // nothing to buy.
    assert_problem(
        checkout(&app, &customer, "tab-late", &body).await,
        409,
        "cart_empty",
    )
    .await;
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 1).await;
    assert_eq!(available(&app, &shop.mug).await, 9);

    // A checkout whose process died while pricing the cart holds the slot until its
    // lease runs out; the recovery worker then ends it (nothing was held) and the cart
    // can be checked out again.
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let pool = app.pool("orders").await;
    let customer_id: uuid::Uuid = sqlx::query_scalar("SELECT customer FROM checkouts LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let stuck = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO checkouts (id, customer, idempotency_key, step, lease_until) \
         VALUES ($1, $2, 'crashed', 'started', now() + interval '2 seconds')",
    )
    .bind(stuck)
    .bind(customer_id)
    .execute(&pool)
    .await
    .unwrap();
    let p = assert_problem(
        checkout(&app, &customer, "tab-again-1", &body).await,
        409,
        "checkout_in_progress",
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("chk_{}", stuck.simple())),
        "{p}"
    );
    let mut step = String::new();
    for _ in 0..100 {
        step = sqlx::query_scalar("SELECT step FROM checkouts WHERE id = $1")
            .bind(stuck)
            .fetch_one(&pool)
            .await
            .unwrap();
        if step == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(step, "failed");
    let r = checkout(&app, &customer, "tab-again-2", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 2).await;
    assert_eq!(available(&app, &shop.mug).await, 8);
    ledger(&app, &shop.admin).await;
}

/// Issue 9: a store sees only its part of an order — its lines, shipping, discount, tax
/// and totals — and nothing of the other stores' parts; the customer and admins see the
/// whole order.
#[tokio::test]
async fn a_store_sees_only_its_part_of_an_order() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 10).await;
    // A code of store B's, 10 % off its poster.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/promotions/stores/{}", shop.b_store),
        token(&shop.b_owner),
        Some(json!({ "code": "POSTER10", "kind": "percentage", "percent": "10" })),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let customer = app.customer(&unique_email("mia")).await;
    add_to_cart(&app, &customer, &shop.mug, 2).await;
    add_to_cart(&app, &customer, &shop.poster, 1).await;
    let mut body = checkout_body(
        &shop,
        OK_CARD,
        &[shop.a_store.as_str(), shop.b_store.as_str()],
    );
    body["promotion_code"] = json!("POSTER10");
    let r = checkout(&app, &customer, "two-stores", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let view: Value = r.json().await.unwrap();
    let order = &view["order"];
    let sub_of = |store: &str| {
        order["sub_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["store_id"] == store)
            .unwrap()
            .clone()
    };
    let (a, b) = (sub_of(&shop.a_store), sub_of(&shop.b_store));
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    // A: mugs 2 × 12.50, tax 19 % 4.75, parcel 4.90. B: poster 20.00 − 2.00, tax 3.42,
    // tube 3.50.
    let a_figures = [2_500, 0, 490, 475, 3_465];
    let b_figures = [2_000, 200, 350, 342, 2_492];
    let figures = |v: &Value| -> [i64; 5] {
        ["subtotal", "discount", "shipping", "tax", "total"]
            .map(|f| v[f]["amount_minor"].as_i64().unwrap())
    };
    assert_eq!(figures(&a), a_figures);
    assert_eq!(figures(&b), b_figures);
    assert_eq!(figures(order), [4_500, 200, 840, 817, 5_957]);

    // What each store is shown of it: its own sub-order, and the order's figures are
    // its part's.
    let view_sub = |owner: &Value, sub: &str| {
        let (app, t, sub) = (&app, token(owner).to_owned(), sub.to_owned());
        async move {
            let r = send(
                app,
                Method::GET,
                &format!("/api/v1/orders/sub-orders/{sub}"),
                &t,
                None,
            )
            .await;
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let nothing_of = |seen: &Value, other_sub: &Value, other_store: &str, words: &[&str]| {
        let text = seen.to_string();
        for w in [
            other_sub["id"].as_str().unwrap(),
            other_sub["number"].as_str().unwrap(),
            other_store,
        ]
        .iter()
        .chain(words)
        {
            assert!(!text.contains(w), "{w} shows in {text}");
        }
    };
    let seen_by_a = view_sub(&shop.a_owner, a_id).await;
    assert_eq!(figures(&seen_by_a["order"]), a_figures, "{seen_by_a}");
    assert_eq!(figures(&seen_by_a["sub_order"]), a_figures);
    assert_eq!(
        seen_by_a["order"]["sub_orders"].as_array().unwrap().len(),
        1
    );
    assert_eq!(seen_by_a["order"]["promotion_code"], Value::Null);
    assert_eq!(seen_by_a["order"]["status"], "paid");
    nothing_of(
        &seen_by_a,
        &b,
        &shop.b_store,
        &["poster", "Tube post", "POSTER10"],
    );
    let seen_by_b = view_sub(&shop.b_owner, b_id).await;
    assert_eq!(figures(&seen_by_b["order"]), b_figures, "{seen_by_b}");
    assert_eq!(
        seen_by_b["order"]["sub_orders"].as_array().unwrap().len(),
        1
    );
    assert_eq!(seen_by_b["order"]["promotion_code"], "POSTER10");
    nothing_of(&seen_by_b, &a, &shop.a_store, &["mug", "Parcel"]);
    // A store's queue holds its own part only.
    let queue: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/stores/{}/sub-orders", shop.a_store),
        token(&shop.a_owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(figures(&queue["items"][0]), a_figures);
    nothing_of(
        &queue,
        &b,
        &shop.b_store,
        &["poster", "Tube post", "POSTER10"],
    );

    // The customer cancels B's part: the order is partially refunded, but A's view of
    // it — including what an action answers — shows only A's part, still paid.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/orders/sub-orders/{b_id}/cancel"),
        token(&customer),
        Some(json!({})),
    )
    .await;
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(cancelled["order"]["status"], "partially_refunded");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/orders/sub-orders/{a_id}/accept"),
        token(&shop.a_owner),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(figures(&accepted["order"]), a_figures, "{accepted}");
    assert_eq!(accepted["order"]["status"], "paid");
    nothing_of(
        &accepted,
        &b,
        &shop.b_store,
        &["poster", "cancelled", "partially_refunded", "POSTER10"],
    );

    // The customer and admins keep the whole order.
    let whole: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
        token(&customer),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(figures(&whole), [4_500, 200, 840, 817, 5_957]);
    assert_eq!(whole["sub_orders"].as_array().unwrap().len(), 2);
    assert_eq!(whole["promotion_code"], "POSTER10");
    let by_admin = view_sub(&shop.admin, a_id).await;
    assert_eq!(figures(&by_admin["order"]), [4_500, 200, 840, 817, 5_957]);
    assert_eq!(by_admin["order"]["sub_orders"].as_array().unwrap().len(), 2);
    assert_eq!(by_admin["order"]["status"], "partially_refunded");
}
