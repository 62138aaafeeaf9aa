//! Admin pages over HTTP: the category editor, product moderation, commissions, and
//! orders, refunds and payouts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product};
use crate::search::{product, publish};
use crate::support::*;
use crate::vendors::approved_store;
use crate::web::{csrf_of, sign_in};

/// Posts an admin form (its CSRF token read from the category editor) and returns the
/// page it lands on.
pub async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> String {
    let (status, html) = page_form(b, app, "/admin/categories", path, fields).await;
    assert_eq!(status, 200, "{path}");
    html
}

pub fn flash(html: &str) -> String {
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
    let tree: Value = get_json(&app, "/api/v1/catalog/categories").await;
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
    let tree: Value = get_json(&app, "/api/v1/catalog/categories").await;
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
    let page = page_text(&b, &app, "/admin/categories").await;
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
    app.settle().await;
    let listed = page_text(&b, &app, "/admin/products?q=rain+boot").await;
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

    // The platform default, then one store's own rate: percentages become basis points.
    let html = post_form(&b, &app, "/admin/settings/commission", &[("percent", "8")]).await;
    assert!(
        flash(&html).contains("default is now 8.00 %"),
        "{}",
        flash(&html)
    );
    let html = post_form(
        &b,
        &app,
        "/admin/settings/commission",
        &[("percent", "120")],
    )
    .await;
    assert!(flash(&html).starts_with("Not changed."), "{}", flash(&html));

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

pub async fn page_form(
    b: &reqwest::Client,
    app: &TestApp,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let html = page_text(b, app, page).await;
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = b.post(app.url(action)).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn admins_find_orders_refund_cancel_and_run_payouts_through_the_pages() {
    use crate::checkout::{OK_CARD, add_to_cart, checkout, checkout_body, shop};
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email("olga")).await;
    add_to_cart(&app, &customer, &shop.mug, 1).await;
    add_to_cart(&app, &customer, &shop.poster, 1).await;
    let stores = [shop.a_store.as_str(), shop.b_store.as_str()];
    let r = checkout(
        &app,
        &customer,
        "pages-1",
        &checkout_body(&shop, OK_CARD, &stores),
    )
    .await;
    assert_eq!(r.status(), 201);
    let view: Value = r.json().await.unwrap();
    let order = &view["order"];
    let number = order["number"].as_str().unwrap();
    let sub = |store: &str| {
        order["sub_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["store_id"] == store)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (mug_sub, poster_sub) = (sub(&shop.a_store), sub(&shop.b_store));
    let email = claims_of(&customer)["email"].as_str().unwrap().to_owned();

    let (b, _) = sign_in(&app, "admin@example.com", "/admin/orders").await;
    let list = page_text(
        &b,
        &app,
        &format!(
            "/admin/orders?{}",
            serde_urlencoded::to_string([("q", &email)]).unwrap()
        ),
    )
    .await;
    assert!(list.contains(number), "{list}");
    let order_page = format!("/admin/orders/{}", order["id"].as_str().unwrap());

    // Cancel one part with a reason; refund part of the other once shipped.
    let (status, html) = page_form(
        &b,
        &app,
        &order_page,
        &format!("/admin/sub-orders/{poster_sub}/cancel"),
        &[("reason", "Out of print")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        flash(&html).contains("is cancelled and refunded"),
        "{}",
        flash(&html)
    );
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/sub-orders/{mug_sub}/ship"),
        Some(token(&shop.a_owner)),
        Some(json!({ "tracking_number": "TRK-9" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (_, html) = page_form(
        &b,
        &app,
        &order_page,
        &format!("/admin/sub-orders/{mug_sub}/refund"),
        &[("amount", "lots"), ("reason", "x")],
    )
    .await;
    assert_eq!(flash(&html), "Type the amount to refund, e.g. 5.00.");
    let (_, html) = page_form(
        &b,
        &app,
        &order_page,
        &format!("/admin/sub-orders/{mug_sub}/refund"),
        &[("amount", "5.00"), ("reason", "Arrived chipped")],
    )
    .await;
    assert!(
        flash(&html).starts_with("5.00 EUR refunded on"),
        "{}",
        flash(&html)
    );
    assert!(html.contains("partially refunded"), "{html}");
    assert!(html.contains("Out of print") && html.contains("TRK-9"));

    // Payout run: the mug store is owed what is left; the ledger still sums to zero.
    let (_, html) = page_form(&b, &app, "/admin/payouts", "/admin/payouts/run", &[]).await;
    assert!(
        flash(&html).starts_with("Paid 1 store(s)"),
        "{}",
        flash(&html)
    );
    assert!(html.contains("class=\"ledger-total\">0.00 EUR"), "{html}");
    let (_, html) = page_form(&b, &app, "/admin/payouts", "/admin/payouts/run", &[]).await;
    assert_eq!(
        flash(&html),
        "No store is owed anything: nothing was paid out."
    );

    // The store's own pages: its queue and its balance (now paid out).
    let owner_email = claims_of(&shop.a_owner)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ob, _) = sign_in(&app, &owner_email, "/vendor").await;
    let queue = page_text(
        &ob,
        &app,
        &format!(
            "/vendor/stores/{}/orders?status=partially_refunded",
            shop.a_store
        ),
    )
    .await;
    assert!(queue.contains(&format!("{number}-")), "{queue}");
    let balance = page_text(
        &ob,
        &app,
        &format!("/vendor/stores/{}/balance", shop.a_store),
    )
    .await;
    assert!(
        balance.contains("0.00 EUR") && balance.contains("class=\"payout\""),
        "{balance}"
    );
    let other = page_text(
        &ob,
        &app,
        &format!("/vendor/stores/{}/balance", shop.b_store),
    )
    .await;
    assert!(other.contains("not allowed"), "{other}");
    // Not for customers.
    let (cb, _) = sign_in(&app, &email, "/orders").await;
    assert!(
        page_text(&cb, &app, "/admin/payouts")
            .await
            .contains("This page is for administrators")
    );
}
