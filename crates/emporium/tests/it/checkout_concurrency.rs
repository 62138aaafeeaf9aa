//! Checkout under concurrency: no oversell when many buyers race for little stock, one
//! order per cart whatever the number of tabs and keys.

use std::time::Duration;

use serde_json::Value;

use crate::checkout::*;
use crate::support::*;

#[tokio::test]
async fn two_hundred_checkouts_for_fifty_units_sell_exactly_fifty() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 50).await;
    let mut customers = Vec::new();
    let pool = identity::connect(&app.config).await.unwrap();
    for i in 0..200 {
        let email = format!("buyer{i}@example.com");
        identity::create_user(&pool, &app.config, &email, "Buyer", PASSWORD, false)
            .await
            .unwrap();
        let tokens: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
        add_to_cart(&app, &tokens, &shop.mug, 1).await;
        customers.push(tokens);
    }
    // Only the app's own connections count against its budget below.
    pool.close().await;
    let body = checkout_body(&shop, OK_CARD, &[shop.a_store.as_str()]);
    let started = std::time::Instant::now();
    let rush = futures_util::future::join_all(customers.iter().enumerate().map(|(i, c)| {
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
    }));
    let (answers, connections) = peak_connections(&app, rush).await;
    let elapsed = started.elapsed();
    // One process shares one budget (DATABASE_MAX_CONNECTIONS, 20 by default) among
    // its domains' pools and its outbox listener, however hard it is pressed.
    assert!(
        (2..=20).contains(&connections),
        "the rush held {connections} connections at once"
    );
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
    eprintln!(
        "200 concurrent checkouts for 50 units took {elapsed:?}, holding at most {connections} connections"
    );
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
    expect_one_capture(&app).await;
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
    for _ in 0..500 {
        step = sqlx::query_scalar("SELECT step FROM checkouts WHERE id = $1")
            .bind(stuck)
            .fetch_one(&pool)
            .await
            .unwrap();
        if step == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(step, "failed");
    let r = checkout(&app, &customer, "tab-again-2", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    expect_count(&app, "orders", "SELECT count(*) FROM orders", 2).await;
    assert_eq!(available(&app, &shop.mug).await, 8);
    ledger(&app, &shop.admin).await;
}
