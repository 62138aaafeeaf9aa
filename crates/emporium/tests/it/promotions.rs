//! Promotions: platform and store codes, conditions, and limits that hold under 50
//! simultaneous redemptions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// The internal redemption of `body` (a cart with its checkout's `reference`) for the
/// customer holding `access_token`.
fn redemption(mut body: Value, access_token: &str) -> Value {
    let reference = body["reference"].take();
    if let Some(cart) = body.as_object_mut() {
        cart.remove("reference");
    }
    acting_for(
        json!({ "reference": reference, "cart": body }),
        "customer",
        "redemption",
        access_token,
    )
}
use crate::vendors::approved_store;

fn cart(code: &str, lines: &[(&str, &str, i64)]) -> Value {
    json!({ "code": code, "lines": lines.iter().map(|(store, product, amount)| json!({
        "store_id": store, "product_id": product, "amount": { "amount_minor": amount, "currency": "EUR" }
    })).collect::<Vec<_>>() })
}

#[tokio::test]
async fn codes_apply_by_their_rules_and_limits_hold_under_concurrency() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let (owner, store) = approved_store(&app, &admin, "promo-a").await;
    let (_, other) = approved_store(&app, &admin, "promo-b").await;
    let (a, b) = (store["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let (p1, p2) = (
        "prd_00000000000000000000000000000001",
        "prd_00000000000000000000000000000002",
    );

    // Platform codes are for admins; store codes for the store's people.
    let ten =
        json!({ "code": "ten-off", "kind": "percentage", "percent": "10", "usage_limit": 10 });
    let customer = app.customer(&unique_email("first")).await;
    assert_problem(
        call(
            &app,
            Method::POST,
            "/api/v1/promotions",
            Some(token(&customer)),
            Some(ten.clone()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/v1/promotions",
            Some(ta),
            Some(ten)
        )
        .await
        .status(),
        201
    );
    let store_code = json!({ "code": "SHOP5", "kind": "fixed", "amount": { "amount_minor": 500, "currency": "EUR" }, "min_subtotal_minor": 2000 });
    let path = format!("/api/v1/promotions/stores/{b}");
    assert_problem(
        call(
            &app,
            Method::POST,
            &path,
            Some(token(&owner)),
            Some(store_code.clone()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let path = format!("/api/v1/promotions/stores/{a}");
    assert_eq!(
        call(
            &app,
            Method::POST,
            &path,
            Some(token(&owner)),
            Some(store_code)
        )
        .await
        .status(),
        201
    );
    for bad in [
        json!({ "code": "x", "kind": "percentage", "percent": "10" }),
        json!({ "code": "BIG", "kind": "percentage", "percent": "150" }),
        json!({ "code": "NOAMOUNT", "kind": "fixed" }),
        json!({ "code": "BACKWARDS", "kind": "free_shipping", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z" }),
    ] {
        assert_problem(
            call(
                &app,
                Method::POST,
                "/api/v1/promotions",
                Some(ta),
                Some(bad),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
    }
    // A code in use is a conflict with what is stored, not a malformed request.
    let taken = json!({ "code": "TEN-OFF", "kind": "free_shipping" });
    let r = call(
        &app,
        Method::POST,
        "/api/v1/promotions",
        Some(ta),
        Some(taken),
    )
    .await;
    assert_problem(r, 409, "code_taken").await;

    // Evaluation: who the discount applies to, split exactly.
    let eval = |body: Value| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/promotions/evaluate",
                None,
                Some(body),
            )
            .await
        }
    };
    let d: Value = eval(cart("ten-off", &[(a, p1, 1999), (b, p2, 5)]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            d["per_line"][0]["amount_minor"].as_i64(),
            d["per_line"][1]["amount_minor"].as_i64()
        ),
        (Some(200), Some(1))
    );
    assert_eq!(d["funded_by"], "platform");
    let d: Value = eval(cart(
        "shop5",
        &[(a, p1, 1500), (a, p1, 1000), (b, p2, 9000)],
    ))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["total"]["amount_minor"], 500);
    assert_eq!(
        d["per_line"][2]["amount_minor"], 0,
        "another store's line is untouched"
    );
    assert_eq!(d["funded_by"], "store");
    let r = eval(cart("SHOP5", &[(b, p2, 9000)])).await;
    assert_eq!(
        assert_problem(r, 422, "validation_failed").await["errors"][0]["code"],
        "promotion_not_applicable"
    );
    let r = eval(cart("SHOP5", &[(a, p1, 1000)])).await;
    assert_eq!(
        assert_problem(r, 422, "validation_failed").await["errors"][0]["code"],
        "promotion_minimum_not_met"
    );
    assert_problem(eval(cart("NOPE", &[(a, p1, 1000)])).await, 404, "not_found").await;
    let old = json!({ "code": "OLD", "kind": "percentage", "percent": "5", "ends_at": "2020-01-01T00:00:00Z" });
    call(
        &app,
        Method::POST,
        "/api/v1/promotions",
        Some(ta),
        Some(old),
    )
    .await;
    let r = eval(cart("OLD", &[(a, p1, 1000)])).await;
    assert_eq!(
        assert_problem(r, 422, "validation_failed").await["errors"][0]["code"],
        "promotion_expired"
    );

    // 50 checkouts redeem a code limited to 10 at the same moment: exactly 10 get it.
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(app.customer(&unique_email(&format!("rush{i}"))).await);
    }
    let attempts = (0..50).map(|i| {
        let app = &app;
        let t = token(&customers[i % 5]).to_owned();
        let mut body = cart("TEN-OFF", &[(a, p1, 1000)]);
        body["reference"] = json!(format!("checkout-{i}"));
        async move {
            service_call(
                app,
                Method::POST,
                "/internal/promotions/redeem",
                Some(redemption(body, &t)),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 40);
    let pool = app.pool("promotions").await;
    let (uses, redeemed): (i32, i64) = sqlx::query_as(
        "SELECT p.uses, (SELECT count(*) FROM redemptions r WHERE r.promotion_id = p.id AND r.status = 'redeemed') FROM promotions p WHERE code = 'TEN-OFF'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((uses, redeemed), (10, 10));

    // Releasing gives the use back (once); the same checkout redeems once.
    let (winner,): (String,) =
        sqlx::query_as("SELECT reference FROM redemptions WHERE status = 'redeemed' LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let release = format!("/internal/promotions/redemptions/{winner}/release");
    for _ in 0..2 {
        assert_eq!(
            service_call(&app, Method::POST, &release, None)
                .await
                .status(),
            204
        );
    }
    let (uses,): (i32,) = sqlx::query_as("SELECT uses FROM promotions WHERE code = 'TEN-OFF'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(uses, 9);
    let mut body = cart("TEN-OFF", &[(a, p1, 1000)]);
    body["reference"] = json!("retry-me");
    for _ in 0..3 {
        assert_eq!(
            service_call(
                &app,
                Method::POST,
                "/internal/promotions/redeem",
                Some(redemption(body.clone(), token(&customer)))
            )
            .await
            .status(),
            200
        );
    }
    let (uses,): (i32,) = sqlx::query_as("SELECT uses FROM promotions WHERE code = 'TEN-OFF'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(uses, 10, "a retried checkout redeems once");

    // Per-customer limits.
    let once = json!({ "code": "ONCE", "kind": "free_shipping", "per_customer_limit": 1 });
    call(
        &app,
        Method::POST,
        "/api/v1/promotions",
        Some(ta),
        Some(once),
    )
    .await;
    let mut body = cart("ONCE", &[(a, p1, 1000)]);
    body["reference"] = json!("once-1");
    let d: Value = service_call(
        &app,
        Method::POST,
        "/internal/promotions/redeem",
        Some(redemption(body.clone(), token(&customer))),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["free_shipping"], json!([a]));
    body["reference"] = json!("once-2");
    assert_problem(
        service_call(
            &app,
            Method::POST,
            "/internal/promotions/redeem",
            Some(redemption(body, token(&customer))),
        )
        .await,
        409,
        "promotion_customer_limit",
    )
    .await;
}
