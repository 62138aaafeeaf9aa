//! Sessions: refresh tokens that rotate and work once, signing out, expiry and forgeries.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_ends_the_session() {
    let app = TestApp::spawn().await;
    let tokens = app.customer(&unique_email("rotate")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": first }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.get_auth("/api/v1/identity/me", token(&rotated))
            .await
            .status(),
        200
    );

    // Within seconds of its use, the same token is taken as the client racing itself
    // (two tabs refreshing at once): it gets the same pair again.
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": first }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["refresh_token"], second);

    // Later, someone replays the first token: the whole family dies, newest ones included.
    let pool = app.pool("identity").await;
    sqlx::query(
        "UPDATE refresh_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": first }),
        )
        .await;
    assert_problem(r, 401, "refresh_token_reused").await;
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": second }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": "rt_forged" }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
}

async fn refresh_with(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post(
        "/api/v1/identity/token/refresh",
        json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// A 200 token answer, checked to be uncacheable.
async fn token_answer(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

/// Reusing `reused` is refused as reuse, and it ended the whole chain: `successor` (a
/// token answer of the same session) no longer refreshes either.
async fn assert_family_revoked(app: &TestApp, reused: &str, successor: &Value) {
    assert_problem(refresh_with(app, reused).await, 401, "refresh_token_reused").await;
    let successor = successor["refresh_token"].as_str().unwrap();
    assert_problem(
        refresh_with(app, successor).await,
        401,
        "invalid_refresh_token",
    )
    .await;
}

/// Refresh tokens of the session `refresh_token` belongs to: (unused, all).
async fn session_refresh_tokens(app: &TestApp, refresh_token: &str) -> (i64, i64) {
    let pool = app.pool("identity").await;
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE used_at IS NULL), count(*) FROM refresh_tokens
         WHERE session_id = (SELECT session_id FROM refresh_tokens
                             WHERE token_hash = sha256(convert_to($1, 'UTF8')))",
    )
    .bind(refresh_token)
    .fetch_one(&pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn refresh_reuse_within_grace_answers_the_very_same_pair() {
    let app = TestApp::spawn().await;
    let tokens = app.customer(&unique_email("replay")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let a = token_answer(refresh_with(&app, first).await).await;
    let b = token_answer(refresh_with(&app, first).await).await;
    assert_eq!(b["access_token"], a["access_token"]);
    assert_eq!(b["refresh_token"], a["refresh_token"]);
    assert_ne!(a["refresh_token"], first);
    // No second chain: the login's token (used) and one live successor.
    assert_eq!(session_refresh_tokens(&app, first).await, (1, 2));
    assert_eq!(
        app.get_auth("/api/v1/identity/me", token(&b))
            .await
            .status(),
        200
    );

    // The successor works once, like any refresh token.
    let second = a["refresh_token"].as_str().unwrap();
    let c = token_answer(refresh_with(&app, second).await).await;
    assert_ne!(c["refresh_token"], second);
    assert_eq!(session_refresh_tokens(&app, first).await, (1, 3));
}

#[tokio::test]
async fn refresh_reuse_after_the_chain_moved_on_revokes_the_family() {
    let app = TestApp::spawn().await;
    let tokens = app.customer(&unique_email("moved")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let a = token_answer(refresh_with(&app, first).await).await;
    let b = token_answer(refresh_with(&app, a["refresh_token"].as_str().unwrap()).await).await;
    // Still within seconds of its use, but the pair it got has been refreshed since:
    // the legitimate client has moved on, so this is a copy.
    assert_family_revoked(&app, first, &b).await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_get_one_pair() {
    let app = TestApp::spawn().await;
    let tokens = app.customer(&unique_email("race")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (r1, r2) = tokio::join!(refresh_with(&app, first), refresh_with(&app, first));
    let (a, b) = (token_answer(r1).await, token_answer(r2).await);
    assert_eq!(a["access_token"], b["access_token"]);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert_eq!(session_refresh_tokens(&app, first).await, (1, 2));

    // That one successor refreshes fine once; the chain it continues is the only one.
    let second = a["refresh_token"].as_str().unwrap();
    let c = token_answer(refresh_with(&app, second).await).await;
    assert_eq!(session_refresh_tokens(&app, first).await, (1, 3));
    let third = c["refresh_token"].as_str().unwrap();
    token_answer(refresh_with(&app, third).await).await;
}

#[tokio::test]
async fn refresh_reuse_after_grace_revokes_the_family() {
    let app = TestApp::spawn().await;
    let tokens = app.customer(&unique_email("late")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let a = token_answer(refresh_with(&app, first).await).await;
    let pool = app.pool("identity").await;
    sqlx::query(
        "UPDATE refresh_tokens SET used_at = now() - interval '11 seconds'
         WHERE used_at IS NOT NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The successor, unused until now, died with its family.
    assert_family_revoked(&app, first, &a).await;
}

#[tokio::test]
async fn logout_and_logout_everywhere_end_sessions() {
    let app = TestApp::spawn().await;
    let email = unique_email("logout");
    let a = app.customer(&email).await;
    let b: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let c: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let r = app
        .post(
            "/api/v1/identity/logout",
            json!({ "refresh_token": a["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": a["refresh_token"] }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": b["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 200, "other sessions survive a single logout");

    let r = app
        .request(Method::POST, "/api/v1/identity/logout-all")
        .bearer_auth(token(&c))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": c["refresh_token"] }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn access_tokens_expire_and_forgeries_are_refused() {
    let app = TestApp::spawn_with(|c| c.access_token_ttl = Duration::from_secs(3)).await;
    let tokens = app.customer(&unique_email("expiry")).await;
    let access = token(&tokens).to_owned();
    assert_eq!(
        app.get_auth("/api/v1/identity/me", &access).await.status(),
        200
    );

    let mut tampered = access.clone().into_bytes();
    let mid = access.find('.').unwrap() + 5;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_problem(
        app.get_auth("/api/v1/identity/me", &tampered).await,
        401,
        "invalid_token",
    )
    .await;
    assert_problem(
        app.get_auth("/api/v1/identity/me", "garbage").await,
        401,
        "invalid_token",
    )
    .await;
    let r = app
        .request(Method::GET, "/api/v1/identity/me")
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "unauthenticated").await;

    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_problem(
        app.get_auth("/api/v1/identity/me", &access).await,
        401,
        "token_expired",
    )
    .await;
}
