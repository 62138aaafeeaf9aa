//! Vendors: applications, review, the status machine; helpers the other vendor tests share.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

pub const IBAN: &str = "DE89 3704 0044 0532 0130 00";

pub fn application(slug: &str) -> Value {
    json!({
        "slug": slug, "name": "Corner Shop", "description": "Hand-made things",
        "support_email": "help@corner.example", "country": "de",
        "payout": { "holder_name": "Corner Shop GmbH", "iban": IBAN }
    })
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

/// A refreshed token, once the membership change (delivered by event) reached identity.
pub async fn refreshed_with_store(app: &TestApp, tokens: &Value, store_id: &str) -> Value {
    app.settle().await;
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await;
    let current: Value = r.json().await.unwrap();
    let stores = claims_of(&current)["stores"].clone();
    assert!(
        stores
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["store"] == store_id),
        "membership never reached the token: {stores}"
    );
    current
}

/// A customer whose application for `slug` an admin approved; returns (owner tokens, store).
pub async fn approved_store(app: &TestApp, admin: &Value, slug: &str) -> (Value, Value) {
    let owner = app.customer(&unique_email(slug)).await;
    let vendors = app.vendors();
    let application = serde_json::from_value(application(slug)).unwrap();
    let applied = vendors.apply(token(&owner), &application).await.unwrap();
    let store = vendors
        .admin_transition(token(admin), &applied.id, "approve", None)
        .await
        .unwrap();
    let owner = refreshed_with_store(app, &owner, &applied.id.to_string()).await;
    (owner, serde_json::to_value(store).unwrap())
}

#[tokio::test]
async fn applying_needs_a_verified_email_and_valid_details() {
    let app = TestApp::spawn().await;
    app.register("unverified@example.com", "U").await;
    let unverified: Value = app
        .login("unverified@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/stores",
        token(&unverified),
        Some(application("my-shop")),
    )
    .await;
    assert_problem(r, 403, "email_not_verified").await;

    let customer = app.customer(&unique_email("applicant")).await;
    let t = token(&customer);
    let bad = json!({
        "slug": "Admin", "name": "X", "support_email": "nope", "country": "ZZ",
        "payout": { "holder_name": "", "iban": "DE89370400440532013001" }
    });
    let r = send(&app, Method::POST, "/api/v1/vendors/stores", t, Some(bad)).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "slug",
            "name",
            "support_email",
            "country",
            "payout.holder_name",
            "payout.iban"
        ]
    );

    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/stores",
        t,
        Some(application("my-shop")),
    )
    .await;
    assert_eq!(r.status(), 201);
    let store: Value = r.json().await.unwrap();
    assert_eq!(store["status"], "pending");
    assert_eq!(store["payout"]["iban"], "DE89370400440532013000");
    // One application under review at a time, and slugs are unique.
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/stores",
        t,
        Some(application("other-shop")),
    )
    .await;
    assert_problem(r, 409, "application_pending").await;
    let someone = app.customer(&unique_email("someone")).await;
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/stores",
        token(&someone),
        Some(application("MY-SHOP")),
    )
    .await;
    let body = assert_problem(r, 409, "slug_taken").await;
    assert_eq!(body["errors"][0]["code"], "slug_taken");

    // A pending store is invisible to the public, visible to its applicant.
    let r = app
        .http
        .get(app.url("/api/v1/vendors/stores/my-shop"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = send(
        &app,
        Method::GET,
        "/api/v1/vendors/stores/my-shop",
        token(&someone),
        None,
    )
    .await;
    assert_problem(r, 404, "not_found").await;
}

#[tokio::test]
async fn admins_review_applications_through_the_status_machine() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let applicant_email = unique_email("reviewed");
    let applicant = app.customer(&applicant_email).await;
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/stores",
        token(&applicant),
        Some(application("reviewed")),
    )
    .await;
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = send(
        &app,
        Method::GET,
        "/api/v1/vendors/admin/stores?status=pending",
        token(&applicant),
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let queue: Value = send(&app, Method::GET, "/api/v1/vendors/admin/stores", ta, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"][0]["id"], id.as_str());

    let reject_path = format!("/api/v1/vendors/admin/stores/{id}/reject");
    let reject = |reason: &str| {
        send(
            &app,
            Method::POST,
            &reject_path,
            ta,
            Some(json!({ "reason": reason })),
        )
    };
    assert_problem(reject("").await, 422, "validation_failed").await;
    let r = reject("The payout account holder does not match the store").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "rejected");
    let mail = app.latest_email(&applicant_email, "store_rejected").await;
    assert!(
        mail["body_text"]
            .as_str()
            .unwrap()
            .contains("does not match the store")
    );
    // Rejected is final: no approval afterwards.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{id}/approve"),
        ta,
        None,
    )
    .await;
    assert_problem(r, 409, "illegal_transition").await;
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/admin/stores/sto_00000000000000000000000000000000/approve",
        ta,
        None,
    )
    .await;
    assert_problem(r, 404, "not_found").await;

    // Approval makes the applicant the owner, in vendors and in their next token.
    let (owner, store) = approved_store(&app, &admin, "approved-shop").await;
    let store_id = store["id"].as_str().unwrap();
    assert_eq!(store["status"], "approved");
    let claims = claims_of(&owner);
    assert_eq!(claims["stores"][0]["role"], "owner");
    let owner_email = claims["email"].as_str().unwrap().to_owned();
    app.latest_email(&owner_email, "store_approved").await;
    let public: Value = app
        .http
        .get(app.url("/api/v1/vendors/stores/approved-shop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["id"], store_id);
    assert!(
        public.get("payout").is_none() && public.get("status").is_none(),
        "no private fields: {public}"
    );
    let list: Value = app
        .http
        .get(app.url("/api/v1/vendors/stores"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Suspension hides it from the public at once; its members still see it.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{store_id}/suspend"),
        ta,
        Some(json!({ "reason": "Counterfeit goods reported" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .get(app.url("/api/v1/vendors/stores/approved-shop"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let mine: Value = send(
        &app,
        Method::GET,
        "/api/v1/vendors/stores/approved-shop",
        token(&owner),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine["status"], "suspended");
    assert_eq!(mine["status_reason"], "Counterfeit goods reported");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{store_id}/suspend"),
        ta,
        Some(json!({ "reason": "again and again" })),
    )
    .await;
    assert_problem(r, 409, "illegal_transition").await;
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{store_id}/reinstate"),
        ta,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.http
            .get(app.url("/api/v1/vendors/stores/approved-shop"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
