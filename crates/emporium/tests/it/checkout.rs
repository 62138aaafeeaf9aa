//! The shop and helpers every `checkout_*` module shares: the journey end to end,
//! concurrency, confirmation steps, recovery after a crash, what each party sees.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::category;
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

pub(crate) async fn product(
    app: &TestApp,
    owner: &Value,
    store: &str,
    slug: &str,
    price: i64,
    category: &Value,
) -> String {
    // Catalog learns by event that the store is open.
    app.settle().await;
    let req = serde_json::from_value(json!({
        "slug": slug, "title": slug, "category_id": category["id"],
        "variants": [{ "sku": format!("{slug}-1"), "price_minor": price, "currency": "EUR", "weight_grams": 400 }]
    }))
    .unwrap();
    let catalog = app.catalog();
    let made = catalog
        .create_product(token(owner), &store.parse().unwrap(), &req)
        .await
        .unwrap();
    let published = catalog
        .change_status(token(owner), made.id, "publish")
        .await
        .unwrap();
    published.variants[0].id.to_string()
}

pub(crate) async fn method(app: &TestApp, owner: &Value, store: &str, body: Value) -> String {
    let req = serde_json::from_value(body).unwrap();
    let made = app
        .shipping()
        .create(token(owner), &store.parse().unwrap(), &req)
        .await
        .unwrap();
    made.id.to_string()
}

/// Puts `units` of `variant` on store A's shelf.
pub async fn stock(app: &TestApp, owner: &Value, store: &str, variant: &str, units: i64) {
    let inventory = app.inventory();
    let shelf = inventory
        .create_location(token(owner), &store.parse().unwrap(), "Shelf")
        .await
        .unwrap();
    let req = serde_json::from_value(
        json!({ "location_id": shelf.id, "delta": units, "reason": "Delivery" }),
    )
    .unwrap();
    inventory
        .adjust(token(owner), variant.parse().unwrap(), &req)
        .await
        .unwrap();
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
    let rate = serde_json::from_value(json!({ "rate": "19" })).unwrap();
    app.tax()
        .set_rate(token(&admin), "DE", &rate)
        .await
        .unwrap();
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
    app.cart()
        .set(
            contracts::cart::CartOf::Customer(token(customer)),
            variant.parse().unwrap(),
            quantity,
        )
        .await
        .unwrap();
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

pub(crate) async fn available(app: &TestApp, variant: &str) -> i64 {
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

pub(crate) fn balance(ledger: &Value, account: &str) -> i64 {
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
pub(crate) async fn expect_count(app: &TestApp, schema: &'static str, sql: &str, want: i64) {
    assert_eq!(count(app, schema, sql).await, want, "{schema}: {sql}");
}

/// Exactly one payment was captured, as payments and the card simulator both record it.
pub(crate) async fn expect_one_capture(app: &TestApp) {
    let captured = "SELECT count(*) FROM payments WHERE status = 'captured'";
    expect_count(app, "payments", captured, 1).await;
    let charged = "SELECT count(*) FROM simulator_intents WHERE status = 'captured'";
    expect_count(app, "payments", charged, 1).await;
}

pub(crate) async fn count(app: &TestApp, schema: &'static str, sql: &str) -> i64 {
    let pool = app.pool(schema).await;
    sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("checkout never became {want}: {last}");
}
