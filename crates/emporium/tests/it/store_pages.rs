//! A store's own pages over HTTP: settings, staff and invitations, and the selling set-up
//! (shipping, promotions, tax).

use serde_json::{Value, json};

use crate::admin_pages::{flash, page_form};
use crate::support::*;
use crate::vendors::approved_store;
use crate::web::{csrf_of, sign_in};

#[tokio::test]
async fn owners_run_settings_and_staff_and_invitees_join_through_the_pages() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, store) = approved_store(&app, &admin, "team-shop").await;
    let id = store["id"].as_str().unwrap().to_owned();
    let owner_email = claims_of(&owner)["email"].as_str().unwrap().to_owned();
    let (ob, _) = sign_in(&app, &owner_email, "/vendor").await;
    let settings = format!("/vendor/stores/{id}/settings");

    // Settings: the profile changes; the IBAN is shown masked, never echoed.
    let html = page_text(&ob, &app, &settings).await;
    assert!(html.contains("payout.iban") && !html.contains("value=\"DE89370400440532013000\""));
    let (status, html) = page_form(
        &ob,
        &app,
        &settings,
        &settings,
        &[
            ("name", "Team Shop"),
            ("description", "We sell together."),
            ("logo_url", ""),
            ("support_email", "help@team.example"),
            ("country", "FR"),
            ("payout.holder_name", ""),
            ("payout.iban", ""),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        flash(&html).contains("Team Shop is saved"),
        "{}",
        flash(&html)
    );
    let (status, html) = page_form(
        &ob,
        &app,
        &settings,
        &settings,
        &[
            ("name", "Team Shop"),
            ("support_email", "not an email"),
            ("country", "FR"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("value=\"not an email\""));

    // A logo goes through the media pipeline and becomes the store's.
    let html = page_text(&ob, &app, &settings).await;
    let csrf = csrf_of(&html);
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(crate::product_images::png(300, 300))
            .file_name("logo.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let r = ob
        .post(app.url(&format!("/vendor/stores/{id}/logo")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(flash(&html).contains("new logo"), "{}", flash(&html));
    let view: Value = get_json(&app, &format!("/api/v1/vendors/stores/{id}")).await;
    let logo = view["logo_url"].as_str().unwrap().to_owned();
    assert!(
        logo.starts_with("/media/") && logo.ends_with("-160.webp"),
        "{logo}"
    );
    assert_eq!(
        app.http.get(app.url(&logo)).send().await.unwrap().status(),
        200
    );

    // Staff: invite by email; the invitee joins from the emailed link.
    let staff_email = unique_email("helper");
    app.customer(&staff_email).await;
    let staff = format!("/vendor/stores/{id}/staff");
    let (_, html) = page_form(
        &ob,
        &app,
        &staff,
        &staff,
        &[("email", &staff_email), ("role", "staff")],
    )
    .await;
    assert!(
        flash(&html).contains("We emailed an invitation"),
        "{}",
        flash(&html)
    );
    let mail = app.latest_email(&staff_email, "staff_invited").await;
    let link = mail["body_text"]
        .as_str()
        .unwrap()
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/vendor/invitations/accept?token="))
        .unwrap()
        .to_owned();
    let path = &link[link.find("/vendor/").unwrap()..];
    let (sb, _) = sign_in(&app, &staff_email, "/vendor").await;
    let token_value = path.split("token=").nth(1).unwrap().to_owned();
    let (status, html) = page_form(
        &sb,
        &app,
        path,
        "/vendor/invitations/accept",
        &[("token", &token_value)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        flash(&html).contains("Welcome to Team Shop"),
        "{}",
        flash(&html)
    );
    // The renewed session carries the membership: the store's product pages open.
    let r = sb
        .get(app.url(&format!("/vendor/stores/{id}/products")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Staff see the payout account masked and cannot change it.
    let html = page_text(&sb, &app, &settings).await;
    assert!(html.contains("Only the store's owners") && !html.contains("name=\"payout.iban\""));
    let (status, html) = page_form(
        &sb,
        &app,
        &settings,
        &settings,
        &[
            ("name", "Team Shop"),
            ("support_email", "help@team.example"),
            ("country", "FR"),
            ("payout.holder_name", "Thief"),
            ("payout.iban", "GB82WEST12345698765432"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("role=\"alert\""), "the refusal is shown");
    let view: Value = app
        .get_auth(&format!("/api/v1/vendors/stores/{id}"), token(&owner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["payout"]["iban"], "DE89370400440532013000",
        "payout details unchanged"
    );
    let html = page_text(&ob, &app, &staff).await;
    assert!(html.contains(&staff_email));
    // A stranger gets nothing.
    let stranger = unique_email("stranger");
    app.customer(&stranger).await;
    let (xb, _) = sign_in(&app, &stranger, "/").await;
    for p in [&settings, &staff] {
        let status = xb.get(app.url(p)).send().await.unwrap().status().as_u16();
        assert!(status == 403 || status == 404, "{p}: {status}");
    }
}

#[tokio::test]
async fn selling_setup_pages_for_shipping_promotions_and_tax() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, store) = approved_store(&app, &admin, "setup-shop").await;
    let id = store["id"].as_str().unwrap().to_owned();
    let (ob, _) = sign_in(
        &app,
        claims_of(&owner)["email"].as_str().unwrap(),
        "/vendor",
    )
    .await;
    let shipping = format!("/vendor/stores/{id}/shipping");

    // Shipping methods through the vendor's page.
    let (_, html) = page_form(
        &ob,
        &app,
        &shipping,
        &shipping,
        &[
            ("name", "Standard"),
            ("kind", "free_over"),
            ("currency", "EUR"),
            ("price", "4.90"),
            ("free_over", "50"),
            ("countries", "fr, be"),
        ],
    )
    .await;
    assert!(flash(&html).contains("Added Standard"), "{}", flash(&html));
    let (_, html) = page_form(
        &ob,
        &app,
        &shipping,
        &shipping,
        &[
            ("name", "Parcel"),
            ("kind", "weight_bands"),
            ("bands", "500:3.00, 2000:7.50"),
        ],
    )
    .await;
    assert!(flash(&html).contains("Added Parcel"), "{}", flash(&html));
    let (_, html) = page_form(
        &ob,
        &app,
        &shipping,
        &shipping,
        &[
            ("name", "Broken"),
            ("kind", "weight_bands"),
            ("bands", "heavy"),
        ],
    )
    .await;
    assert!(flash(&html).starts_with("Not added."), "{}", flash(&html));
    let methods = get_json(&app, &format!("/api/v1/shipping/stores/{id}/methods")).await;
    let standard = &methods["items"][0];
    assert_eq!(
        (
            standard["price_minor"].as_i64(),
            standard["free_over_minor"].as_i64()
        ),
        (Some(490), Some(5000))
    );
    assert_eq!(standard["countries"], json!(["FR", "BE"]));
    assert_eq!(
        methods["items"][1]["bands"][1],
        json!({ "up_to_grams": 2000, "price_minor": 750 })
    );
    let parcel = methods["items"][1]["id"].as_str().unwrap().to_owned();
    let (_, html) = page_form(
        &ob,
        &app,
        &shipping,
        &format!("{shipping}/{parcel}/delete"),
        &[],
    )
    .await;
    assert!(flash(&html).contains("Removed"));

    // A store code from the vendor's page; a platform code and tax from the admin's.
    let promos = format!("/vendor/stores/{id}/promotions");
    let (_, html) = page_form(
        &ob,
        &app,
        &promos,
        &promos,
        &[
            ("code", "SHOP10"),
            ("kind", "percentage"),
            ("percent", "10"),
            ("usage_limit", "5"),
        ],
    )
    .await;
    assert!(
        flash(&html).contains("Created SHOP10") && html.contains("0 of 5"),
        "{}",
        flash(&html)
    );
    let (ab, _) = sign_in(&app, "admin@example.com", "/admin/tax").await;
    let (_, html) = page_form(
        &ab,
        &app,
        "/admin/promotions",
        "/admin/promotions",
        &[
            ("code", "WELCOME"),
            ("kind", "fixed"),
            ("amount", "5"),
            ("first_order_only", "1"),
        ],
    )
    .await;
    assert!(flash(&html).contains("Created WELCOME"), "{}", flash(&html));
    let (_, html) = page_form(
        &ab,
        &app,
        "/admin/tax",
        "/admin/tax",
        &[("country", "fr"), ("rate", "20")],
    )
    .await;
    assert!(
        flash(&html).contains("FR is taxed at 20 %"),
        "{}",
        flash(&html)
    );
    let (_, html) = page_form(
        &ab,
        &app,
        "/admin/tax",
        "/admin/tax/settings",
        &[("prices_include_tax", "1")],
    )
    .await;
    assert!(flash(&html).contains("Prices now include tax"));
    assert_eq!(
        get_json(&app, "/api/v1/tax/settings").await["prices_include_tax"],
        true
    );
    // Not for others.
    for path in ["/admin/tax", "/admin/promotions"] {
        assert_eq!(
            ob.get(app.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }
}
