//! Tax: admins set rates by country and region; quotes are exact, per line.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn admins_set_rates_and_checkouts_get_exact_per_line_tax() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let customer = app.customer(&unique_email("buyer")).await;
    let put = |country: &str, body: Value, t: &str| {
        let (app, path, t) = (&app, format!("/api/v1/tax/rates/{country}"), t.to_owned());
        async move { call(app, Method::PUT, &path, Some(&t), Some(body)).await }
    };
    assert_problem(
        put("FR", json!({ "rate": "20" }), token(&customer)).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(put("fr", json!({ "rate": "20" }), ta).await.status(), 200);
    assert_eq!(put("US", json!({ "rate": "0" }), ta).await.status(), 200);
    let r = put("US", json!({ "rate": "7.25", "region": "ca" }), ta).await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({ "country": "US", "region": "CA", "rate": "7.25" })
    );
    for (country, body) in [
        ("FR", json!({ "rate": "120" })),
        ("FR", json!({ "rate": "5.12345" })),
        ("FR", json!({ "rate": "lots" })),
        ("XX", json!({ "rate": "5" })),
    ] {
        assert_problem(put(country, body, ta).await, 422, "validation_failed").await;
    }
    assert_eq!(
        get_json(&app, "/api/v1/tax/rates").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let quote = |country: &str, region: Option<&str>, lines: &[i64]| {
        let body = json!({ "country": country, "region": region,
            "lines": lines.iter().map(|l| json!({ "amount_minor": l, "currency": "EUR" })).collect::<Vec<_>>() });
        let app = &app;
        async move {
            call(app, Method::POST, "/api/v1/tax/quote", None, Some(body))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // Exclusive prices (the default): tax on top, per line, half away from zero.
    let q = quote("FR", None, &[1999, 10]).await;
    assert_eq!(
        (q["rate"].as_str(), q["prices_include_tax"].as_bool()),
        (Some("20"), Some(false))
    );
    assert_eq!(q["lines"][0]["tax"]["amount_minor"], 400); // 19.99 × 20 % = 3.998 → 4.00
    assert_eq!(q["lines"][1]["tax"]["amount_minor"], 2);
    assert_eq!(q["total_tax"]["amount_minor"], 402);
    // A region's rate wins over its country's; a country without a rate pays none.
    assert_eq!(
        quote("US", Some("CA"), &[1000]).await["lines"][0]["tax"]["amount_minor"],
        73
    ); // 72.5 → 73
    assert_eq!(quote("US", Some("NY"), &[1000]).await["rate"], "0");
    assert_eq!(
        quote("DE", None, &[1000]).await["total_tax"]["amount_minor"],
        0
    );
    // Inclusive prices: tax taken out of the price.
    let r = call(
        &app,
        Method::PUT,
        "/api/v1/tax/settings",
        Some(ta),
        Some(json!({ "prices_include_tax": true })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let q = quote("FR", None, &[1200, 999]).await;
    assert_eq!(
        q["lines"][0],
        json!({
            "net": { "amount_minor": 1000, "currency": "EUR" },
            "tax": { "amount_minor": 200, "currency": "EUR" },
            "gross": { "amount_minor": 1200, "currency": "EUR" }
        })
    );
    assert_eq!(q["lines"][1]["tax"]["amount_minor"], 167);
    // Mixed currencies or negative prices are refused.
    let r = call(&app, Method::POST, "/api/v1/tax/quote", None, Some(json!({ "country": "FR", "lines": [
        { "amount_minor": 100, "currency": "EUR" }, { "amount_minor": 100, "currency": "USD" } ] }))).await;
    assert_problem(r, 422, "validation_failed").await;
    let r = call(
        &app,
        Method::POST,
        "/api/v1/tax/quote",
        None,
        Some(json!({ "country": "FR", "lines": [
        { "amount_minor": -100, "currency": "EUR" } ] })),
    )
    .await;
    assert_problem(r, 422, "validation_failed").await;
}
