//! A store's staff: what members may edit, and what only owners and admins may (payout,
//! commission).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;
use crate::vendors::*;

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
