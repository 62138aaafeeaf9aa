//! A signed-in customer's own account: password reset and change, profile, address book.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn password_reset_is_single_use_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset");
    let tokens = app.customer(&email).await;
    let r = app
        .post(
            "/api/v1/identity/password/forgot",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post(
            "/api/v1/identity/password/forgot",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mail = app.latest_email(&email, "password_reset").await;
    let text = mail["body_text"].as_str().unwrap();
    let link = text
        .lines()
        .find(|l| l.contains("/reset-password?token="))
        .unwrap()
        .trim();
    let reset_token = link.split("token=").nth(1).unwrap();

    let r = app
        .post(
            "/api/v1/identity/password/reset",
            json!({ "token": reset_token, "new_password": "short" }),
        )
        .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    let r = app
        .post(
            "/api/v1/identity/password/reset",
            json!({ "token": reset_token, "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post(
            "/api/v1/identity/password/reset",
            json!({ "token": reset_token, "new_password": "another new passphrase" }),
        )
        .await;
    assert_problem(r, 410, "invalid_reset_token").await;

    assert_eq!(app.login(&email, PASSWORD).await.status(), 401);
    assert_eq!(
        app.login(&email, "a brand new passphrase").await.status(),
        200
    );
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
    app.latest_email(&email, "password_changed").await;

    // An expired link is refused.
    app.post(
        "/api/v1/identity/password/forgot",
        json!({ "email": email }),
    )
    .await;
    let pool = app.pool("identity").await;
    for _ in 0..100 {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM password_resets WHERE used_at IS NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let emails = app.emails_to(&email).await;
    let newest_reset = emails
        .iter()
        .find(|m| m["kind"] == "password_reset")
        .unwrap();
    let t = newest_reset["body_text"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let r = app
        .post(
            "/api/v1/identity/password/reset",
            json!({ "token": t, "new_password": "yet another passphrase" }),
        )
        .await;
    assert_problem(r, 410, "invalid_reset_token").await;
}

#[tokio::test]
async fn profile_and_password_changes() {
    let app = TestApp::spawn().await;
    let email = unique_email("profile");
    let tokens = app.customer(&email).await;
    let other_session: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let t = token(&tokens);
    let r = app
        .request(Method::PATCH, "/api/v1/identity/me")
        .bearer_auth(t)
        .json(&json!({ "name": "Zoë Ω", "phone": "+33 6 12 34 56 78" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["name"], "Zoë Ω");
    assert_eq!(me["phone"], "+33 6 12 34 56 78");
    let r = app
        .request(Method::PATCH, "/api/v1/identity/me")
        .bearer_auth(t)
        .json(&json!({ "phone": "call me maybe" }))
        .send()
        .await
        .unwrap();
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "phone");

    let change = |current: &str, new: &str| {
        app.request(Method::POST, "/api/v1/identity/me/password")
            .bearer_auth(t)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    let r = change("not my password", "a fresh passphrase 1")
        .await
        .unwrap();
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "wrong_password");
    let r = change(PASSWORD, "a fresh passphrase 1").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.login(&email, "a fresh passphrase 1").await.status(),
        200
    );
    // The session that changed it lives on; the others end.
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": other_session["refresh_token"] }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
}

pub(crate) fn address(name: &str) -> Value {
    json!({
        "full_name": name, "line1": "1 Rue de Rivoli", "city": "Paris",
        "postal_code": "75001", "country": "fr", "is_default_shipping": true
    })
}

#[tokio::test]
async fn address_book_crud_defaults_limits_and_ownership() {
    let app = TestApp::spawn().await;
    let a = app.customer(&unique_email("addr-a")).await;
    let b = app.customer(&unique_email("addr-b")).await;
    let (ta, tb) = (token(&a), token(&b));
    let create = |t: &str, body: Value| {
        app.request(Method::POST, "/api/v1/identity/me/addresses")
            .bearer_auth(t)
            .json(&body)
            .send()
    };
    let r = create(ta, address("Home")).await.unwrap();
    assert_eq!(r.status(), 201);
    let home: Value = r.json().await.unwrap();
    assert_eq!(home["country"], "FR");
    assert_eq!(home["is_default_shipping"], true);
    let work: Value = create(ta, address("Work"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The new default took over.
    let list: Value = app
        .get_auth("/api/v1/identity/me/addresses", ta)
        .await
        .json()
        .await
        .unwrap();
    let defaults: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["is_default_shipping"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["id"], work["id"]);

    let r = create(
        ta,
        json!({ "full_name": "", "line1": "", "city": "", "postal_code": "", "country": "XX" }),
    )
    .await
    .unwrap();
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 5);

    let home_path = format!(
        "/api/v1/identity/me/addresses/{}",
        home["id"].as_str().unwrap()
    );
    // Another customer cannot read, change or delete it.
    assert_problem(app.get_auth(&home_path, tb).await, 404, "not_found").await;
    let r = app
        .request(Method::PUT, &home_path)
        .bearer_auth(tb)
        .json(&address("Mine"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = app
        .request(Method::DELETE, &home_path)
        .bearer_auth(tb)
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;

    let mut changed = address("Home again");
    changed["is_default_shipping"] = json!(false);
    changed["is_default_billing"] = json!(true);
    let r = app
        .request(Method::PUT, &home_path)
        .bearer_auth(ta)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["full_name"], "Home again");
    assert_eq!(updated["is_default_billing"], true);
    let r = app
        .request(Method::DELETE, &home_path)
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(app.get_auth(&home_path, ta).await, 404, "not_found").await;
    assert_problem(
        app.get_auth("/api/v1/identity/me/addresses/garbage", ta)
            .await,
        404,
        "not_found",
    )
    .await;

    // At most 20: a burst of concurrent creations cannot exceed the cap.
    let mut plain = address("Many");
    plain["is_default_shipping"] = json!(false);
    let results = futures_util::future::join_all((0..25).map(|_| create(ta, plain.clone()))).await;
    let created = results
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 201)
        .count();
    assert_eq!(created, 19, "one existing address plus 19 new ones");
    let r = create(ta, plain).await.unwrap();
    assert_problem(r, 409, "address_limit_reached").await;
}
