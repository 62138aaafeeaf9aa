//! Accounts: registering, verifying the email, signing in, and what admins do to users.

use reqwest::Method;
use serde_json::{Value, json};

use crate::identity_account::address;
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
    let emails = app.emails_to(email).await;
    assert_eq!(emails.len(), 2);
    let new_code = code_in(emails[0]["subject"].as_str().unwrap());
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
