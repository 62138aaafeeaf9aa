//! Admin pages over HTTP: the category editor, product moderation and commissions.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::products::{category, create_product};
use crate::search::{product, publish};
use crate::support::*;
use crate::vendors::approved_store;
use crate::web::{csrf_of, sign_in};

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> String {
    let page = b
        .get(app.url("/admin/categories"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = b.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

fn flash(html: &str) -> String {
    html.split("class=\"flash\" role=\"status\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .replace("&#x27;", "'")
}

#[tokio::test]
async fn admins_edit_categories_moderate_products_and_set_commissions() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (b, _) = sign_in(&app, "admin@example.com", "/admin/categories").await;

    // The category editor: add, rename, move, and a clear refusal to delete a parent.
    let html = post_form(
        &b,
        &app,
        "/admin/categories",
        &[
            ("name", "Home"),
            ("slug", "home"),
            ("parent_id", ""),
            ("position", "0"),
        ],
    )
    .await;
    assert_eq!(flash(&html), "Added Home.");
    let tree: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let home = tree["items"][0]["id"].as_str().unwrap().to_owned();
    let html = post_form(
        &b,
        &app,
        "/admin/categories",
        &[
            ("name", "Lamps"),
            ("slug", "lamps"),
            ("parent_id", &home),
            ("position", "1"),
        ],
    )
    .await;
    assert_eq!(flash(&html), "Added Lamps.");
    let html = post_form(
        &b,
        &app,
        "/admin/categories",
        &[("name", "Bad"), ("slug", "Not A Slug"), ("parent_id", "")],
    )
    .await;
    assert!(
        flash(&html).starts_with("Not added. slug:"),
        "{}",
        flash(&html)
    );
    let html = post_form(
        &b,
        &app,
        &format!("/admin/categories/{home}/save"),
        &[
            ("name", "Home & Living"),
            ("slug", "home-living"),
            ("position", "2"),
        ],
    )
    .await;
    assert_eq!(flash(&html), "Saved Home &#38; Living.");
    let html = post_form(&b, &app, &format!("/admin/categories/{home}/delete"), &[]).await;
    assert!(
        flash(&html).contains("still has subcategories"),
        "{}",
        flash(&html)
    );
    let tree: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lamps = tree["items"][0]["children"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = post_form(
        &b,
        &app,
        &format!("/admin/categories/{lamps}/move"),
        &[("parent_id", "")],
    )
    .await;
    assert_eq!(flash(&html), "Moved Lamps.");
    let html = post_form(&b, &app, &format!("/admin/categories/{home}/delete"), &[]).await;
    assert_eq!(flash(&html), "Deleted.");
    let page = b
        .get(app.url("/admin/categories"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-slug=\"lamps\"") && !page.contains("data-slug=\"home-living\""));

    // Moderation: find a published product, take it down with a reason, release it.
    let shoes = category(&app, token(&admin), "shoes", None).await;
    let (owner, store) = approved_store(&app, &admin, "shoe-box").await;
    let r = create_product(
        &app,
        token(&owner),
        store["id"].as_str().unwrap(),
        product("boot", "Rain Boot", "Puddle", &shoes, "yellow", 4900),
    )
    .await;
    let p: Value = r.json().await.unwrap();
    let id = p["id"].as_str().unwrap().to_owned();
    publish(&app, token(&owner), &id).await;
    let mut listed = String::new();
    for _ in 0..100 {
        listed = b
            .get(app.url("/admin/products?q=rain+boot"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if listed.contains(&format!("data-product=\"{id}\"")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listed.contains("Rain Boot"), "{listed}");
    let html = post_form(
        &b,
        &app,
        &format!("/admin/products/{id}/unpublish"),
        &[("reason", "Counterfeit brand")],
    )
    .await;
    assert!(
        flash(&html).contains("off the storefront"),
        "{}",
        flash(&html)
    );
    assert!(
        html.contains("Taken down")
            && html.contains(&format!("action=\"/admin/products/{id}/release\""))
    );
    let public = call(
        &app,
        Method::GET,
        &format!("/api/v1/catalog/products/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(public.status(), 404);
    let seen_by_vendor: Value = app
        .get_auth(&format!("/api/v1/catalog/products/{id}"), token(&owner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen_by_vendor["moderation_reason"], "Counterfeit brand");
    let html = post_form(&b, &app, &format!("/admin/products/{id}/release"), &[]).await;
    assert!(flash(&html).contains("may be published again"));

    // Commission: a percentage becomes basis points.
    let store_id = store["id"].as_str().unwrap();
    let html = post_form(
        &b,
        &app,
        &format!("/admin/stores/{store_id}/commission"),
        &[("percent", "12.5")],
    )
    .await;
    assert!(flash(&html).contains("12.50 %"), "{}", flash(&html));
    let html = post_form(
        &b,
        &app,
        &format!("/admin/stores/{store_id}/commission"),
        &[("percent", "lots")],
    )
    .await;
    assert!(flash(&html).contains("percentage"));

    // None of it is open to others.
    let (vendor, _) = sign_in(&app, claims_of(&owner)["email"].as_str().unwrap(), "/").await;
    for path in ["/admin/categories", "/admin/products"] {
        assert_eq!(
            vendor.get(app.url(path)).send().await.unwrap().status(),
            403
        );
    }
}
