//! The Stripe adapter against a local fake that answers with Stripe's documented
//! shapes (PaymentIntents, errors, refunds, signed events) and records what it was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::Method;
use serde_json::{Value, json};

use crate::checkout::{add_to_cart, checkout, checkout_body, ledger, poll_checkout, shop, webhook};
use crate::support::*;

const KEY: &str = "sk_test_fake";
const WEBHOOK_SECRET: &str = "whsec_fake";

#[derive(Default)]
struct Fake {
    /// (path, Idempotency-Key, form) of every write.
    calls: Vec<(String, String, HashMap<String, String>)>,
    intents: HashMap<String, Value>,
    /// Answers already given per idempotency key, as Stripe replays them.
    answered: HashMap<String, (u16, Value)>,
}

type Shared = Arc<Mutex<Fake>>;

fn form(body: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str(body).unwrap()
}

fn idempotency_key(headers: &HeaderMap) -> String {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

async fn create_intent(
    State(fake): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key" } }),
            ),
        );
    }
    let key = idempotency_key(&headers);
    let f = form(&body);
    let mut fake = fake.lock().unwrap();
    fake.calls
        .push(("/v1/payment_intents".into(), key.clone(), f.clone()));
    if let Some((status, answer)) = fake.answered.get(&key) {
        return (
            StatusCode::from_u16(*status).unwrap(),
            axum::Json(answer.clone()),
        );
    }
    let id = format!("pi_{}", uuid::Uuid::now_v7().simple());
    let mut intent = json!({
        "id": id, "object": "payment_intent", "amount": f["amount"].parse::<i64>().unwrap(),
        "currency": f["currency"], "capture_method": f["capture_method"], "status": "requires_capture",
        "metadata": { "reference": f["metadata[reference]"] }, "next_action": null, "last_payment_error": null,
    });
    let (status, answer) = match f["payment_method"].as_str() {
        "pm_card_visa" => (200, intent.clone()),
        "pm_card_threeDSecure2Required" => {
            intent["status"] = json!("requires_action");
            intent["next_action"] = json!({ "type": "redirect_to_url", "redirect_to_url": {
                "url": "https://hooks.stripe.com/3d_secure_2/hosted?fake=1", "return_url": f["return_url"] } });
            (200, intent.clone())
        }
        pm => {
            let (decline, message) = if pm.contains("InsufficientFunds") {
                ("insufficient_funds", "Your card has insufficient funds.")
            } else {
                ("generic_decline", "Your card was declined.")
            };
            intent["status"] = json!("requires_payment_method");
            let error = json!({ "type": "card_error", "code": "card_declined", "decline_code": decline,
                                "message": message, "payment_intent": intent.clone() });
            intent["last_payment_error"] = error.clone();
            (402, json!({ "error": error }))
        }
    };
    fake.intents.insert(id, intent);
    fake.answered.insert(key, (status, answer.clone()));
    (StatusCode::from_u16(status).unwrap(), axum::Json(answer))
}

async fn get_intent(State(fake): State<Shared>, Path(id): Path<String>) -> impl IntoResponse {
    let fake = fake.lock().unwrap();
    axum::Json(fake.intents.get(&id).cloned().unwrap_or(Value::Null))
}

async fn intent_action(
    State(fake): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let key = idempotency_key(&headers);
    let mut fake = fake.lock().unwrap();
    fake.calls.push((
        format!("/v1/payment_intents/{id}/{action}"),
        key,
        form(&body),
    ));
    let intent = fake.intents.get_mut(&id).unwrap();
    let ok = match (action.as_str(), intent["status"].as_str().unwrap()) {
        ("capture", "requires_capture") => {
            intent["status"] = json!("succeeded");
            true
        }
        ("cancel", "requires_capture" | "requires_action" | "requires_payment_method") => {
            intent["status"] = json!("canceled");
            true
        }
        _ => false,
    };
    if ok {
        (StatusCode::OK, axum::Json(intent.clone()))
    } else {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": { "type": "invalid_request_error",
            "code": "payment_intent_unexpected_state", "message": "unexpected state" } })),
        )
    }
}

async fn refund(State(fake): State<Shared>, headers: HeaderMap, body: String) -> impl IntoResponse {
    let key = idempotency_key(&headers);
    let f = form(&body);
    fake.lock()
        .unwrap()
        .calls
        .push(("/v1/refunds".into(), key, f.clone()));
    axum::Json(
        json!({ "id": format!("re_{}", uuid::Uuid::now_v7().simple()), "object": "refund",
        "amount": f["amount"].parse::<i64>().unwrap(), "payment_intent": f["payment_intent"], "status": "succeeded" }),
    )
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/v1/payment_intents", post(create_intent))
        .route("/v1/payment_intents/{id}", get(get_intent))
        .route("/v1/payment_intents/{id}/{action}", post(intent_action))
        .route("/v1/refunds", post(refund))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

#[tokio::test]
async fn the_stripe_adapter_speaks_payment_intents_refunds_and_signed_events() {
    let (base, fake) = start_fake().await;
    let app = TestApp::spawn_with(|c| {
        c.payments.provider = "stripe".into();
        c.payments.stripe_api_key = Some(kernel::secret::Redacted(KEY.into()));
        c.payments.stripe_webhook_secret = Some(kernel::secret::Redacted(WEBHOOK_SECRET.into()));
        c.payments.stripe_api_base = base.clone();
    })
    .await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email("sam")).await;
    let only_a = [shop.a_store.as_str()];

    // A PaymentMethod from Stripe.js: authorized with manual capture, then captured.
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let r = checkout(
        &app,
        &customer,
        "stripe-1",
        &checkout_body(&shop, "pm_card_visa", &only_a),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let paid: Value = r.json().await.unwrap();
    let checkout_id = paid["id"].as_str().unwrap().to_owned();
    {
        let f = fake.lock().unwrap();
        let (_, key, create) = &f.calls[0];
        assert_eq!(key, &checkout_id, "the checkout is the idempotency key");
        assert_eq!(create["capture_method"], "manual");
        assert_eq!(create["confirm"], "true");
        assert_eq!(create["currency"], "eur");
        assert_eq!(create["amount"], "1978");
        assert!(f.calls[1].0.ends_with("/capture"), "{:?}", f.calls);
        assert_eq!(f.calls[1].2["amount_to_capture"], "1978");
    }

    // Card errors are declines with Stripe's codes and messages; test cards map to
    // Stripe's test PaymentMethods with a test key.
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    let p = assert_problem(
        checkout(
            &app,
            &customer,
            "stripe-2",
            &checkout_body(&shop, "4000000000009995", &only_a),
        )
        .await,
        402,
        "insufficient_funds",
    )
    .await;
    assert_eq!(p["title"], "Your card has insufficient funds.");
    assert_problem(
        checkout(
            &app,
            &customer,
            "stripe-3",
            &checkout_body(&shop, "pm_card_visa_chargeDeclined", &only_a),
        )
        .await,
        402,
        "card_declined",
    )
    .await;
    assert_problem(
        checkout(
            &app,
            &customer,
            "stripe-4",
            &checkout_body(&shop, "pm_bad id", &only_a),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // 3-D Secure: the customer is sent to Stripe's page; the signed event finishes it.
    let r = checkout(
        &app,
        &customer,
        "stripe-5",
        &checkout_body(&shop, "4000000000003220", &only_a),
    )
    .await;
    assert_eq!(r.status(), 202);
    let waiting: Value = r.json().await.unwrap();
    assert!(
        waiting["next_action_url"]
            .as_str()
            .unwrap()
            .starts_with("https://hooks.stripe.com/")
    );
    let intent_id = {
        let mut f = fake.lock().unwrap();
        let id = f
            .intents
            .iter()
            .find(|(_, i)| i["status"] == "requires_action")
            .map(|(id, _)| id.clone())
            .unwrap();
        f.intents.get_mut(&id).unwrap()["status"] = json!("requires_capture");
        id
    };
    let event = serde_json::to_vec(&json!({
        "id": "evt_3ds_done", "object": "event", "type": "payment_intent.amount_capturable_updated",
        "data": { "object": { "id": intent_id, "object": "payment_intent", "status": "requires_capture" } }
    }))
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hook = |signature: String, body: Vec<u8>| webhook(&app, "stripe", signature, body);
    let forged = payments::sign_webhook(b"whsec_other", now, &event);
    assert_problem(
        hook(forged, event.clone()).await.unwrap(),
        400,
        "invalid_webhook",
    )
    .await;
    let signed = payments::sign_webhook(WEBHOOK_SECRET.as_bytes(), now, &event);
    assert_eq!(hook(signed, event).await.unwrap().status(), 200);
    let done = poll_checkout(
        &app,
        &customer,
        waiting["id"].as_str().unwrap(),
        "completed",
    )
    .await;
    assert_eq!(done["order"]["status"], "paid");

    // A cancelled sub-order is refunded through Stripe, keyed by the cancellation.
    let sub = paid["order"]["sub_orders"][0]["id"].as_str().unwrap();
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/sub-orders/{sub}/cancel"),
        Some(token(&customer)),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    {
        let f = fake.lock().unwrap();
        let (_, key, refund) = f
            .calls
            .iter()
            .find(|(path, ..)| path == "/v1/refunds")
            .unwrap();
        assert_eq!(key, &format!("cancel:{sub}"));
        assert_eq!(refund["amount"], "1978");
    }
    ledger(&app, &shop.admin).await;
}
