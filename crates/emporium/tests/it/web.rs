//! The web UI over plain HTTP: CSRF, escaping, friendly errors, authorization.

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("page has a CSRF field")
        .to_owned()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap()
}

/// Signs in through the login form and follows the redirect to `next`.
pub async fn sign_in(
    app: &TestApp,
    email: &str,
    next: &str,
) -> (reqwest::Client, reqwest::Response) {
    let b = browser();
    let csrf = csrf_of(&page_text(&b, app, "/login").await);
    let r = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    (b, r)
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_names_are_escaped() {
    let app = TestApp::spawn().await;
    let b = browser();
    let page = page_text(&b, &app, "/register").await;
    let csrf = csrf_of(&page);
    let form = [
        ("name", "<script>alert(1)</script>"),
        ("email", "web@example.com"),
        ("password", PASSWORD),
    ];
    // Without the token (a cross-site post), nothing happens.
    let r = b
        .post(app.url("/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .post(app.url("/register"))
        .form(&[("csrf", "forged"), form[0], form[1], form[2]])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app.emails_to("web@example.com").await.is_empty());

    // With it, the account is created, the user is signed in and lands on verification.
    let r = b
        .post(app.url("/register"))
        .form(&[("csrf", csrf.as_str()), form[0], form[1], form[2]])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().path(), "/verify-email");
    let html = page_text(&b, &app, "/account").await;
    assert!(html.contains("web@example.com"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script>alert(1)</script>"));
}

#[tokio::test]
async fn invalid_forms_keep_input_and_show_field_errors() {
    let app = TestApp::spawn().await;
    let b = browser();
    let csrf = csrf_of(&page_text(&b, &app, "/register").await);
    let r = b
        .post(app.url("/register"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Kim"),
            ("email", "kim@"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""));
    assert!(html.contains("id=\"password-error\""));
    assert!(html.contains("value=\"Kim\""), "typed values survive");
    assert!(
        !html.contains("value=\"short\""),
        "passwords are never echoed"
    );
}

#[tokio::test]
async fn pages_for_people_and_problems_for_programs() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Page not found"));
    let r = app
        .http
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    // Signed-out visitors are sent to sign in, then back.
    let r = app.http.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Faccount");
    let css = app
        .http
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
}

#[tokio::test]
async fn only_admins_see_the_user_list_and_htmx_gets_a_row() {
    let app = TestApp::spawn().await;
    app.admin("boss@example.com").await;
    let customer = app.customer(&unique_email("plain")).await;
    let customer_id = customer["user"]["id"].as_str().unwrap();

    let (admin, r) = sign_in(&app, "boss@example.com", "/admin/users").await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains(customer_id),
        "the admin sees the customer in the list"
    );
    let csrf = csrf_of(&html);
    let r = admin
        .request(
            Method::POST,
            app.url(&format!("/admin/users/{customer_id}/suspend")),
        )
        .header("hx-request", "true")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let row = r.text().await.unwrap();
    assert!(row.starts_with("<tr") || row.trim_start().starts_with("<tr"));
    assert!(row.contains("suspended") && row.contains("Reactivate"));
    let problem: Value = app
        .login(customer["user"]["email"].as_str().unwrap(), PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(problem["code"], "account_suspended");

    let other = app.customer(&unique_email("nosy")).await;
    let (_, r) = sign_in(
        &app,
        other["user"]["email"].as_str().unwrap(),
        "/admin/users",
    )
    .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_vendor_applies_and_an_admin_approves_through_the_pages() {
    let app = TestApp::spawn().await;
    app.admin("boss@example.com").await;
    let vendor_email = unique_email("maker");
    app.customer(&vendor_email).await;
    let (vendor, _) = sign_in(&app, &vendor_email, "/vendor").await;
    let html = page_text(&vendor, &app, "/vendor/apply").await;
    let csrf = csrf_of(&html);
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "Maker's Corner"),
        ("slug", "makers-corner"),
        ("description", "Hand-made\nin small batches"),
        ("support_email", "help@maker.example"),
        ("country", "FR"),
        ("payout.holder_name", "Maker SARL"),
        ("payout.iban", "FR76 3000 6000 0112 3456 7890 188"),
    ];
    let r = vendor
        .post(app.url("/vendor/apply"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"payout.iban-error\""),
        "the IBAN error shows next to its field"
    );
    assert!(
        html.contains("value=\"makers-corner\""),
        "typed values survive"
    );
    form[7] = ("payout.iban", "FR76 3000 6000 0112 3456 7890 189");
    let r = vendor
        .post(app.url("/vendor/apply"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().path(), "/vendor");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("makers-corner") && html.contains("pending"),
        "{html}"
    );

    let (admin, _) = sign_in(&app, "boss@example.com", "/admin/stores").await;
    let html = page_text(&admin, &app, "/admin/stores").await;
    assert!(
        html.contains("Maker&#39;s Corner")
            || html.contains("Maker&#x27;s Corner")
            || html.contains("Maker's Corner")
    );
    let store_id = html
        .split("id=\"store-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_of(&html);
    let r = admin
        .post(app.url(&format!("/admin/stores/{store_id}/approve")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().query(), Some("status=approved"));
    assert!(r.text().await.unwrap().contains("is approved"));

    let html = page_text(&vendor, &app, "/vendor").await;
    assert!(
        html.contains("approved") && html.contains("owner"),
        "{html}"
    );
}

/// A page whose path names an id that cannot be one answers the site's own 404 page,
/// whoever asks and whatever the page.
#[tokio::test]
async fn a_malformed_id_in_a_page_path_is_the_sites_404_page() {
    let app = TestApp::spawn().await;
    let email = unique_email("malformed");
    app.customer(&email).await;
    let (b, _) = sign_in(&app, &email, "/account").await;
    for path in [
        "/vendor/products/not-a-product",
        "/vendor/products/prd_0000/stock",
        "/vendor/products/var_0192f3a4b5c67d8e9fa0b1c2d3e4f5a6",
    ] {
        let r = b.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(
            r.text().await.unwrap().contains("There is no such page."),
            "{path}"
        );
    }
}
