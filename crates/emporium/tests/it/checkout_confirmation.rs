//! Payments that need a confirmation step, transient provider failures and signed
//! webhooks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::checkout::*;
use crate::support::*;

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
    let signature = payments::sign_webhook(&secret, now, body);
    let post = |sig: String, body: &'static [u8]| webhook(&app, "simulator", sig, body.to_vec());
    let tampered = br#"{"id":"evt_x","type":"payment_intent.authorized","data":{"object":{"id":"sim_00000000000000000000000000000001","status":"authorized"}}}"#;
    assert_problem(
        post(signature.clone(), tampered).await.unwrap(),
        400,
        "invalid_webhook",
    )
    .await;
    let stale = payments::sign_webhook(&secret, now - 3_600, body);
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
