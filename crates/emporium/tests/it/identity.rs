use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn register_verify_login_and_read_profile() {
    let app = TestApp::spawn().await;
    let email = "Ann.Lee@Example.com";
    let r = app.register(email, "Ann <b>Lee</b> ' OR 1=1 --").await;
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["email"], "ann.lee@example.com");
    assert_eq!(user["email_verified"], false);
    assert!(user["id"].as_str().unwrap().starts_with("usr_"));
    // Stored verbatim, escaped only when rendered.
    assert_eq!(user["name"], "Ann <b>Lee</b> ' OR 1=1 --");

    let code = app.verification_code("ann.lee@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": wrong }),
        )
        .await;
    assert_problem(r, 422, "invalid_code").await;
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": "12ab" }),
        )
        .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "code");
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": code }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": code }),
        )
        .await;
    assert_problem(r, 409, "already_verified").await;

    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("rt_"));
    let me: Value = app
        .get_auth("/api/v1/identity/me", token(&tokens))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["roles"], json!(["customer"]));
}

#[tokio::test]
async fn bad_registrations_get_clear_errors_and_create_nothing() {
    let app = TestApp::spawn().await;
    let r = app
        .request(Method::POST, "/api/v1/identity/register")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "malformed_json").await;
    let r = app
        .request(Method::POST, "/api/v1/identity/register")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(r, 415, "unsupported_media_type").await;
    let huge =
        json!({ "email": "a@example.com", "password": PASSWORD, "name": "x".repeat(1_100_000) });
    let r = app.post("/api/v1/identity/register", huge).await;
    assert_problem(r, 413, "payload_too_large").await;
    let r = app
        .post(
            "/api/v1/identity/register",
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "A", "is_admin": true }),
        )
        .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "is_admin");
    let r = app
        .post(
            "/api/v1/identity/register",
            json!({ "email": "not-an-email", "password": "short", "name": " " }),
        )
        .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password", "name"]);
    let r = app
        .post(
            "/api/v1/identity/register",
            json!({ "email": "b@example.com", "password": "Password123", "name": "B" }),
        )
        .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "weak_password");

    assert_eq!(app.register("dup@example.com", "First").await.status(), 201);
    let r = app.register("DUP@example.com", "Second").await;
    assert_problem(r, 409, "email_taken").await;

    let pool = app.pool("identity").await;
    let (users,): (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1, "only the one valid registration exists");
}

#[tokio::test]
async fn verification_codes_expire_run_out_and_can_be_resent() {
    let app = TestApp::spawn().await;
    let email = "codes@example.com";
    app.register(email, "Codes").await;
    let code = app.verification_code(email).await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/identity/verify-email",
                json!({ "email": email, "code": wrong }),
            )
            .await;
        assert_problem(r, 422, "invalid_code").await;
    }
    // The right code no longer helps once the attempts are used up.
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": code }),
        )
        .await;
    assert_problem(r, 410, "code_attempts_exhausted").await;

    // A resend right after registration is refused with a cooldown...
    let r = app
        .post(
            "/api/v1/identity/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    let r_headers = r.headers().clone();
    assert_problem(r, 429, "resend_cooldown").await;
    assert!(
        r_headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // ...and accepted once it has passed.
    let pool = app.pool("identity").await;
    sqlx::query("UPDATE email_verifications SET last_sent_at = now() - interval '2 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/identity/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mut new_code = code.clone();
    for _ in 0..100 {
        let emails = app.emails_to(email).await;
        if emails.len() == 2 {
            new_code = code_in(emails[0]["subject"].as_str().unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An expired code is refused even when right.
    sqlx::query("UPDATE email_verifications SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": email, "code": new_code }),
        )
        .await;
    assert_problem(r, 410, "code_expired").await;
    // Unknown emails look exactly like wrong codes.
    let r = app
        .post(
            "/api/v1/identity/verify-email",
            json!({ "email": "nobody@example.com", "code": "123456" }),
        )
        .await;
    assert_problem(r, 422, "invalid_code").await;
    let r = app
        .post(
            "/api/v1/identity/verify-email/resend",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn failed_logins_do_not_reveal_accounts_and_are_throttled() {
    let app = TestApp::spawn().await;
    let email = unique_email("throttle");
    app.customer(&email).await;
    let unknown: Value = app
        .login("nobody@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let wrong: Value = app
        .login(&email, "wrong password!")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["code"], "invalid_credentials");
    assert_eq!(
        unknown, wrong,
        "unknown email and wrong password answer alike"
    );

    for _ in 0..4 {
        assert_eq!(app.login(&email, "wrong password!").await.status(), 401);
    }
    // Five failures: now even the right password waits.
    let r = app.login(&email, PASSWORD).await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    assert_problem(r, 429, "too_many_attempts").await;

    // Per client address: many accounts from one address get throttled; others don't.
    let attacker = "203.0.113.7";
    for i in 0..20 {
        let r = app
            .request(Method::POST, "/api/v1/identity/login")
            .header("x-forwarded-for", attacker)
            .json(&json!({ "email": format!("victim{i}@example.com"), "password": "guess guess guess" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = app
        .request(Method::POST, "/api/v1/identity/login")
        .header("x-forwarded-for", attacker)
        .json(&json!({ "email": "victim99@example.com", "password": "guess guess guess" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 429, "too_many_attempts").await;
    let r = app
        .request(Method::POST, "/api/v1/identity/login")
        .header("x-forwarded-for", "198.51.100.1")
        .json(&json!({ "email": "victim99@example.com", "password": "guess guess guess" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "invalid_credentials").await;
}

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
    assert_problem(refresh_with(&app, first).await, 401, "refresh_token_reused").await;
    assert_problem(
        refresh_with(&app, b["refresh_token"].as_str().unwrap()).await,
        401,
        "invalid_refresh_token",
    )
    .await;
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
    assert_problem(refresh_with(&app, first).await, 401, "refresh_token_reused").await;
    // The successor, unused until now, died with its family.
    assert_problem(
        refresh_with(&app, a["refresh_token"].as_str().unwrap()).await,
        401,
        "invalid_refresh_token",
    )
    .await;
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

fn address(name: &str) -> Value {
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

#[tokio::test]
async fn admins_list_suspend_reactivate_and_grant_roles() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    assert_eq!(admin["user"]["roles"], json!(["customer", "admin"]));
    let ta = token(&admin);
    let customer_email = unique_email("member");
    let customer = app.customer(&customer_email).await;
    let customer_id = customer["user"]["id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        app.register(&format!("zed{i}@example.com"), "Zed").await;
    }

    // Customers cannot use the admin API.
    let r = app
        .get_auth("/api/v1/identity/admin/users", token(&customer))
        .await;
    assert_problem(r, 403, "forbidden").await;

    // Search and cursor pagination.
    let page1: Value = app
        .get_auth("/api/v1/identity/admin/users?q=zed&limit=2", ta)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get_auth(
            &format!("/api/v1/identity/admin/users?q=zed&limit=2&cursor={cursor}"),
            ta,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let r = app
        .get_auth("/api/v1/identity/admin/users?limit=100000", ta)
        .await;
    assert_problem(r, 422, "validation_failed").await;
    let r = app
        .get_auth("/api/v1/identity/admin/users?cursor=bogus", ta)
        .await;
    assert_problem(r, 422, "validation_failed").await;

    let post = |path: String| app.request(Method::POST, &path).bearer_auth(ta).send();
    let r = post(format!(
        "/api/v1/identity/admin/users/{customer_id}/suspend"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "suspended");
    assert_problem(
        app.login(&customer_email, PASSWORD).await,
        403,
        "account_suspended",
    )
    .await;
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": customer["refresh_token"] }),
        )
        .await;
    assert_problem(r, 401, "invalid_refresh_token").await;

    let r = post(format!(
        "/api/v1/identity/admin/users/{customer_id}/reactivate"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.login(&customer_email, PASSWORD).await.status(), 200);

    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/identity/admin/users/{customer_id}/admin"),
        )
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let promoted: Value = app
        .login(&customer_email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promoted["user"]["roles"], json!(["customer", "admin"]));
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/identity/admin/users/{customer_id}/admin"),
        )
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let admin_id = admin["user"]["id"].as_str().unwrap();
    let r = post(format!("/api/v1/identity/admin/users/{admin_id}/suspend"))
        .await
        .unwrap();
    assert_problem(r, 409, "self_moderation").await;
    let r =
        post("/api/v1/identity/admin/users/usr_00000000000000000000000000000000/suspend".into())
            .await
            .unwrap();
    assert_problem(r, 404, "not_found").await;
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let app = TestApp::spawn().await;
    let customer = app.customer(&unique_email("idem")).await;
    let body = address("Idem");
    let send = |key: &str, body: Value| {
        app.request(Method::POST, "/api/v1/identity/me/addresses")
            .bearer_auth(token(&customer))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let results =
        futures_util::future::join_all((0..10).map(|_| send("key-1", body.clone()))).await;
    let mut bodies = Vec::new();
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status(), 201);
        bodies.push(r.text().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every retry sees the first answer"
    );
    let replay = send("key-1", body.clone()).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    let mut other = body.clone();
    other["full_name"] = json!("Someone else");
    assert_problem(
        send("key-1", other).await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
    let listed: Value = app
        .get_auth("/api/v1/identity/me/addresses", token(&customer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // Anonymous callers hold nothing to scope a key by: their keys are not honoured, so
    // nobody is ever handed another caller's answer; registration is one per email anyway.
    let register = json!({ "email": "idem@example.com", "password": PASSWORD, "name": "Idem" });
    let anonymous = |body: Value| {
        app.request(Method::POST, "/api/v1/identity/register")
            .header("idempotency-key", "key-1")
            .json(&body)
            .send()
    };
    assert_eq!(anonymous(register.clone()).await.unwrap().status(), 201);
    let again = anonymous(register).await.unwrap();
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_problem(again, 409, "email_taken").await;
}
