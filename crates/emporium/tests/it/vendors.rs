//! Vendors: applications, review, status machine, staff, payout and commission rules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const IBAN: &str = "DE89 3704 0044 0532 0130 00";

fn application(slug: &str) -> Value {
    json!({
        "slug": slug, "name": "Corner Shop", "description": "Hand-made things",
        "support_email": "help@corner.example", "country": "de",
        "payout": { "holder_name": "Corner Shop GmbH", "iban": IBAN }
    })
}

async fn send(
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
    let r = send(
        app,
        Method::POST,
        "/api/v1/vendors/stores",
        token(&owner),
        Some(application(slug)),
    )
    .await;
    assert_eq!(r.status(), 201);
    let store: Value = r.json().await.unwrap();
    let id = store["id"].as_str().unwrap().to_owned();
    let r = send(
        app,
        Method::POST,
        &format!("/api/v1/vendors/admin/stores/{id}/approve"),
        token(admin),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let owner = refreshed_with_store(app, &owner, &id).await;
    (owner, r.json().await.unwrap())
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

#[tokio::test]
async fn staff_edit_the_profile_but_not_payout_or_commission() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let (owner, store) = approved_store(&app, &admin, "staffed").await;
    let store_id = store["id"].as_str().unwrap();
    let to = token(&owner);

    // Invite a staff member; the invitation travels by email.
    let staff_email = unique_email("staff");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/stores/{store_id}/invitations"),
        to,
        Some(json!({ "email": staff_email })),
    )
    .await;
    assert_eq!(r.status(), 201);
    let mail = app.latest_email(&staff_email, "staff_invited").await;
    let invite_token = mail["body_text"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();

    let stranger = app.customer(&unique_email("stranger")).await;
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/invitations/accept",
        token(&stranger),
        Some(json!({ "token": invite_token })),
    )
    .await;
    assert_problem(r, 403, "invitation_for_someone_else").await;
    // That attempt used the invitation up; the owner sends another.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/stores/{store_id}/invitations"),
        to,
        Some(json!({ "email": staff_email })),
    )
    .await;
    assert_eq!(r.status(), 201);
    let staff = app.customer(&staff_email).await;
    let mut invite_token = String::new();
    for m in app.emails_to(&staff_email).await {
        if m["kind"] == "staff_invited" {
            invite_token = m["body_text"]
                .as_str()
                .unwrap()
                .split("token=")
                .nth(1)
                .unwrap()
                .trim()
                .to_owned();
            break;
        }
    }
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/invitations/accept",
        token(&staff),
        Some(json!({ "token": invite_token })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(
        &app,
        Method::POST,
        "/api/v1/vendors/invitations/accept",
        token(&staff),
        Some(json!({ "token": invite_token })),
    )
    .await;
    assert_problem(r, 410, "invalid_invitation").await;
    let staff = refreshed_with_store(&app, &staff, store_id).await;
    let ts = token(&staff);

    let path = format!("/api/v1/vendors/stores/{store_id}");
    let r = send(
        &app,
        Method::PATCH,
        &path,
        ts,
        Some(json!({ "name": "Corner Shop & Co" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["name"], "Corner Shop & Co");
    assert_eq!(seen["my_role"], "staff");
    assert_eq!(
        seen["payout"]["iban"], "•••• 3000",
        "staff see a masked IBAN"
    );
    let r = send(
        &app,
        Method::PATCH,
        &path,
        ts,
        Some(
            json!({ "payout": { "holder_name": "Thief", "iban": "FR7630006000011234567890189" } }),
        ),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let r = send(
        &app,
        Method::PUT,
        &format!("/api/v1/vendors/admin/stores/{store_id}/commission"),
        ts,
        Some(json!({ "commission_bps": 0 })),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/vendors/stores/{store_id}/invitations"),
        ts,
        Some(json!({ "email": "x@example.com" })),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    // Outsiders cannot even see that the private side exists.
    let r = send(
        &app,
        Method::PATCH,
        &path,
        token(&stranger),
        Some(json!({ "name": "Mine now" })),
    )
    .await;
    assert_problem(r, 404, "not_found").await;
    let r = send(
        &app,
        Method::GET,
        &format!("{path}/members"),
        token(&stranger),
        None,
    )
    .await;
    assert_problem(r, 404, "not_found").await;

    let r = send(&app, Method::PATCH, &path, to, Some(json!({ "payout": { "holder_name": "Corner Shop GmbH", "iban": "FR76 3000 6000 0112 3456 7890 189" } }))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["payout"]["iban"],
        "FR7630006000011234567890189"
    );

    // Commission: the platform default until an admin sets the store's own.
    let r = send(
        &app,
        Method::PUT,
        &format!("/api/v1/vendors/admin/stores/{store_id}/commission"),
        ta,
        Some(json!({ "commission_bps": 1250 })),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["commission_bps"], 1250);
    let r = send(
        &app,
        Method::PUT,
        &format!("/api/v1/vendors/admin/stores/{store_id}/commission"),
        ta,
        Some(json!({ "commission_bps": 10001 })),
    )
    .await;
    assert_problem(r, 422, "validation_failed").await;
    let r = send(
        &app,
        Method::PUT,
        "/api/v1/vendors/admin/settings/commission",
        ta,
        Some(json!({ "default_commission_bps": 800 })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(
        &app,
        Method::PUT,
        &format!("/api/v1/vendors/admin/stores/{store_id}/commission"),
        ta,
        Some(json!({ "commission_bps": null })),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["commission_bps"], 800);

    // Members: the owner removes staff; the last owner stays.
    let members: Value = send(&app, Method::GET, &format!("{path}/members"), ts, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    let owner_id = claims_of(&owner)["sub"].as_str().unwrap().to_owned();
    let staff_id = claims_of(&staff)["sub"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        Method::DELETE,
        &format!("{path}/members/{owner_id}"),
        ts,
        None,
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
    let r = send(
        &app,
        Method::DELETE,
        &format!("{path}/members/{owner_id}"),
        to,
        None,
    )
    .await;
    assert_problem(r, 409, "last_owner").await;
    let r = send(
        &app,
        Method::DELETE,
        &format!("{path}/members/{staff_id}"),
        to,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = send(
        &app,
        Method::PATCH,
        &path,
        ts,
        Some(json!({ "name": "Still mine?" })),
    )
    .await;
    assert_problem(r, 404, "not_found").await;
    // A late, older "added" event (a dead letter replayed after the removal, say) does not
    // bring the membership back: the store's version says it is stale.
    let vendors_db = app.pool("vendors").await;
    let (payload, occurred_at): (Value, time::OffsetDateTime) = sqlx::query_as(
        "SELECT payload, occurred_at FROM outbox WHERE event_type = 'vendors.member.added' AND payload->>'user_id' = $1",
    )
    .bind(&staff_id)
    .fetch_one(&vendors_db)
    .await
    .unwrap();
    let stale = kernel::events::Envelope {
        id: uuid::Uuid::now_v7(),
        event_type: "vendors.member.added".into(),
        schema_version: 1,
        occurred_at,
        aggregate_id: store_id.to_owned(),
        trace_context: None,
        payload,
    };
    app.platform.bus.publish(&stale).await.unwrap();
    let identity_db = app.pool("identity").await;
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM store_memberships WHERE store_id = $1 AND 'usr_' || replace(user_id::text, '-', '') = $2",
    )
    .bind(store_id)
    .bind(&staff_id)
    .fetch_one(&identity_db)
    .await
    .unwrap();
    assert_eq!(role, None, "the removal stands");

    let mine: Value = send(&app, Method::GET, "/api/v1/vendors/me/stores", to, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["my_role"], "owner");
}
