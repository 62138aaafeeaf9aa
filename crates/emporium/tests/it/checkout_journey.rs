//! Checkout, orders, payments and the ledger: the saga end to end and every refusal.

use reqwest::Method;
use serde_json::{Value, json};

use crate::checkout::*;
use crate::support::*;

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
    expect_one_capture(&app).await;
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
    let new_orders = app
        .emails_to(support)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "new_order")
        .collect::<Vec<Value>>();
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
