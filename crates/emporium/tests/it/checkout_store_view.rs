//! What each party of an order sees: a store only its own part.

use reqwest::Method;
use serde_json::{Value, json};

use crate::checkout::*;
use crate::support::*;

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
