//! A person's journey in headless Chromium: register, read the code from the dev
//! mailbox, verify, sign out, sign in, and reset a forgotten password.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::support::*;

pub(crate) struct Browser {
    pub(crate) client: Client,
    _driver: Child,
    _profile: std::path::PathBuf,
}

pub(crate) async fn launch() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver =
        Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (scripts/test installs it)");
    let profile =
        std::env::temp_dir().join(format!("emporium-chrome-{}", uuid::Uuid::now_v7().simple()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--no-first-run", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut last_error = None;
    for _ in 0..100 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                return Browser {
                    client,
                    _driver: driver,
                    _profile: profile,
                };
            }
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a browser session: {last_error:?}");
}

/// Chromium outlives chromedriver when a session is not closed (a failed assertion, a
/// test that ends without `close`): its processes are found by the profile directory
/// only this browser uses, and ended with it.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(self._profile.display().to_string())
            .status();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

impl Browser {
    pub(crate) async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub(crate) async fn fill(&self, id: &str, value: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    pub(crate) async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub(crate) async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    pub(crate) async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(self.path().await, path);
    }

    /// Opens the dev mailbox in the browser and returns the newest email's text.
    async fn newest_email(&self, base: &str, to: &str, subject_contains: &str) -> String {
        for _ in 0..100 {
            self.open(&format!("{base}/dev/mailbox?to={to}")).await;
            let emails = self
                .client
                .find_all(Locator::Css("article.email"))
                .await
                .unwrap();
            if let Some(first) = emails.first() {
                let subject = first
                    .find(Locator::Css(".subject"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if subject.contains(subject_contains) {
                    return first
                        .find(Locator::Css(".body"))
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email to {to} about {subject_contains}");
    }
}

#[tokio::test]
async fn a_customer_registers_verifies_signs_in_and_resets_the_password() {
    let app = TestApp::spawn().await;
    let b = launch().await;
    let base = app.base.clone();
    let email = "journey@example.com";

    b.open(&base).await;
    b.click("nav-register").await;
    b.fill("name", "Journey O'Brien").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("register-submit").await;
    b.wait_for_path("/verify-email").await;
    assert!(b.text(".flash").await.contains("We sent a 6-digit code"));

    let body = b.newest_email(&base, email, "Your Emporium code").await;
    let code: String = body
        .split("verification code is: ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    b.open(&format!("{base}/verify-email?email={email}")).await;
    b.fill("code", &code).await;
    b.click("verify-submit").await;
    b.wait_for_path("/account").await;
    assert!(b.text(".flash").await.contains("verified"));
    assert_eq!(b.text("#account-email").await, email);

    b.click("nav-logout").await;
    b.wait_for_path("/").await;
    assert!(b.text(".flash").await.contains("signed out"));

    b.click("nav-login").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    b.wait_for_path("/account").await;
    b.click("nav-logout").await;
    b.wait_for_path("/").await;

    b.open(&format!("{base}/login")).await;
    b.click("forgot-link").await;
    b.fill("email", email).await;
    b.click("forgot-submit").await;
    b.wait_for_path("/login").await;
    let body = b
        .newest_email(&base, email, "Reset your Emporium password")
        .await;
    let link = body
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/reset-password?token="))
        .unwrap()
        .to_owned();
    b.open(&link).await;
    b.fill("new_password", "a newer passphrase").await;
    b.click("reset-submit").await;
    b.wait_for_path("/login").await;
    assert!(b.text(".flash").await.contains("password is changed"));

    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("login-submit").await;
    assert!(
        b.text(".error").await.contains("wrong"),
        "the old password no longer works"
    );
    b.fill("email", email).await;
    b.fill("password", "a newer passphrase").await;
    b.click("login-submit").await;
    b.wait_for_path("/account").await;

    b.client.clone().close().await.unwrap();
}

impl Browser {
    pub(crate) async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.open(&format!("{base}/login")).await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.click("login-submit").await;
        self.wait_for_path("/account").await;
    }

    pub(crate) async fn sign_out(&self) {
        self.click("nav-logout").await;
        self.wait_for_path("/").await;
    }

    pub(crate) async fn click_css(&self, css: &str) {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits until the element matching `css` says `wanted` (htmx swaps in place).
    pub(crate) async fn wait_for_text(&self, css: &str, wanted: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                if last.contains(wanted) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} says {last:?}, not {wanted:?}");
    }
}

#[tokio::test]
async fn a_vendor_opens_a_store_lists_a_product_and_a_customer_finds_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let clothing = crate::products::category(&app, token(&admin), "clothing", None).await;
    crate::products::category(&app, token(&admin), "knitwear", Some(&clothing)).await;
    let vendor = "weaver@example.com";
    app.customer(vendor).await;
    let b = launch().await;
    let base = app.base.clone();

    // A user applies to open a store.
    b.sign_in(&base, vendor, PASSWORD).await;
    b.click("nav-vendor").await;
    b.click("apply-link").await;
    b.fill("name", "Highland Weavers").await;
    b.fill("slug", "highland-weavers").await;
    b.fill("description", "Knitwear from the hills.").await;
    b.fill("support_email", vendor).await;
    b.fill("country", "GB").await;
    b.fill("payout.holder_name", "Highland Weavers Ltd").await;
    b.fill("payout.iban", "GB82WEST12345698765432").await;
    b.click("apply-submit").await;
    b.wait_for_path("/vendor").await;
    assert!(b.text(".flash").await.contains("review"));
    b.sign_out().await;

    // An admin approves it.
    b.sign_in(&base, "admin@example.com", PASSWORD).await;
    b.open(&format!("{base}/admin/stores?status=pending")).await;
    b.click_css("article[data-slug='highland-weavers'] button[data-action='approve']")
        .await;
    b.wait_for_text(".flash", "approved").await;
    b.sign_out().await;

    // The vendor creates a product with two variants, adds a picture, publishes it.
    b.sign_in(&base, vendor, PASSWORD).await;
    b.click("nav-vendor").await;
    b.click_css("a.manage-products").await;
    b.click("new-product").await;
    b.fill("title", "Merino Sweater").await;
    b.fill("slug", "merino-sweater").await;
    b.fill("brand", "Highland").await;
    b.click_css("#category_id option:nth-child(3)").await;
    b.fill("description", "Warm **merino** wool.").await;
    b.fill("attributes", "color: green").await;
    for (i, (sku, options, price)) in [("MS-M", "Size=M", "89.00"), ("MS-L", "Size=L", "95.50")]
        .into_iter()
        .enumerate()
    {
        let named = |f: &str| {
            Locator::Css(Box::leak(
                format!("input[name='variants[{i}].{f}']").into_boxed_str(),
            ))
        };
        b.client
            .find(named("sku"))
            .await
            .unwrap()
            .send_keys(sku)
            .await
            .unwrap();
        b.client
            .find(named("options"))
            .await
            .unwrap()
            .send_keys(options)
            .await
            .unwrap();
        b.client
            .find(named("price_minor"))
            .await
            .unwrap()
            .send_keys(price)
            .await
            .unwrap();
    }
    b.click("save-product").await;
    b.wait_for_text(".flash", "Product created").await;
    assert_eq!(b.text("#product-status").await, "draft");
    let picture = std::env::temp_dir().join(format!(
        "emporium-media-{}.png",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::write(&picture, crate::product_images::png(64, 48)).unwrap();
    b.client
        .find(Locator::Id("image-file"))
        .await
        .unwrap()
        .send_keys(picture.to_str().unwrap())
        .await
        .unwrap();
    b.fill("image-alt", "A green merino sweater").await;
    b.click("upload-image").await;
    b.wait_for_text(".flash", "Picture added").await;
    b.click("publish").await;
    b.wait_for_text(".flash", "Published").await;
    assert_eq!(b.text("#product-status").await, "published");
    b.sign_out().await;

    // A customer finds it with a misspelled query...
    let mut found = false;
    for _ in 0..50 {
        b.open(&base).await;
        b.fill("site-q", "merrino sweter").await;
        b.click_css("form.site-search button[type='submit']").await;
        if b.text("#result-count").await.starts_with("1 product") {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the misspelled search finds the sweater");
    assert_eq!(b.text(".tile-title").await, "Merino Sweater");
    // Suggestions appear as they type.
    b.open(&base).await;
    b.fill("site-q", "meri").await;
    b.wait_for_text("#suggestions", "Merino Sweater").await;
    // ...and through a facet (htmx swaps the results; the URL follows; Back works).
    b.open(&format!("{base}/c/clothing")).await;
    b.click_css("a.facet-link[href*='attr.color=green']").await;
    b.wait_for_text(".facet-link[aria-current='true']", "green")
        .await;
    let url = || async { b.client.current_url().await.unwrap().to_string() };
    assert!(url().await.contains("attr.color=green"));
    b.client.back().await.unwrap();
    for _ in 0..100 {
        if !url().await.contains("attr.color") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.path().await, "/c/clothing");
    assert!(!url().await.contains("attr.color"));
    b.click_css("a.facet-link[href*='attr.color=green']").await;
    b.wait_for_text(".facet-link[aria-current='true']", "green")
        .await;
    b.click_css(".tile a").await;
    b.wait_for_path("/p/highland-weavers/merino-sweater").await;
    assert_eq!(b.text("#product-title").await, "Merino Sweater");
    assert_eq!(b.text("#product-price").await, "89.00 EUR");
    // The variant picker updates the price in place.
    b.click_css("input[name='variant'][value='MS-L']").await;
    b.wait_for_text("#product-price", "95.50 EUR").await;
    let image = b
        .client
        .find(Locator::Id("product-image"))
        .await
        .unwrap()
        .attr("src")
        .await
        .unwrap()
        .unwrap();
    assert!(image.ends_with("-1200.webp"), "{image}");

    b.client.clone().close().await.unwrap();
    let _ = std::fs::remove_file(picture);
}

impl Browser {
    async fn wait_for_path_prefix(&self, prefix: &str) -> String {
        for _ in 0..200 {
            let path = self.path().await;
            if path.starts_with(prefix) {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never reached {prefix}…: at {}", self.path().await);
    }

    async fn fill_address(&self) {
        self.fill("a-name", "Grace Buyer").await;
        self.fill("a-line1", "2 Harbour Road").await;
        self.fill("a-city", "Hamburg").await;
        self.fill("a-postal", "20095").await;
        self.fill("a-country", "DE").await;
    }

    async fn ship(&self, base: &str, store: &str, tracking: &str) {
        self.open(&format!("{base}/vendor/stores/{store}/orders"))
            .await;
        self.click_css(".queue-row a").await;
        self.wait_for_path_prefix(&format!("/vendor/stores/{store}/orders/sub_"))
            .await;
        self.fill("tracking", tracking).await;
        self.click("ship").await;
        self.wait_for_text(".flash", "shipped").await;
    }
}

#[tokio::test]
async fn a_guest_buys_from_two_stores_and_each_vendor_ships_its_part() {
    let app = TestApp::spawn().await;
    guest_buys_from_two_stores_and_each_vendor_ships(&app).await;
}

/// The purchase journey in the browser, against `app.base`: one process, or the
/// gateway of the distributed topology.
pub async fn guest_buys_from_two_stores_and_each_vendor_ships(
    app: &TestApp,
) -> crate::checkout::Shop {
    let shop = crate::checkout::shop(app, 10).await;
    let b = launch().await;
    let base = app.base.clone();

    // A guest fills a cart from two stores.
    for product in ["/p/mug-makers/mug", "/p/poster-press/poster"] {
        b.open(&format!("{base}{product}")).await;
        b.click("add-to-cart").await;
        b.wait_for_path("/cart").await;
    }
    b.wait_for_text("#cart-subtotal", "32.50 EUR").await;

    // Checking out asks them to sign in; they register instead and land back at checkout
    // with their cart.
    b.click("to-checkout").await;
    b.wait_for_path("/login").await;
    b.click("register-link").await;
    b.wait_for_path("/register").await;
    let email = unique_email("grace");
    b.fill("name", "Grace Buyer").await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.click("register-submit").await;
    b.wait_for_path("/checkout").await;
    b.fill_address().await;
    b.click("update-totals").await;
    // Mug 12.50 + 4.90 parcel + 19 % tax 2.38; poster 20.00 + 3.50 tube + 3.80 tax.
    b.wait_for_text("#summary-total", "47.08 EUR").await;

    // A declined card: a clear message, the cart kept.
    b.fill("card", "4000 0000 0000 0002").await;
    b.click("pay").await;
    b.wait_for_text("#checkout-error", "Your card was declined")
        .await;
    assert_eq!(b.path().await, "/checkout");
    b.wait_for_text("#summary-total", "47.08 EUR").await;

    // The test card that succeeds: one order, two sub-orders.
    b.fill("card", "4242 4242 4242 4242").await;
    b.click("pay").await;
    let order_path = b.wait_for_path_prefix("/orders/ord_").await;
    b.wait_for_text(".flash", "Thank you").await;
    b.wait_for_text("#order-status", "paid").await;
    let subs = b.client.find_all(Locator::Css(".sub-order")).await.unwrap();
    assert_eq!(subs.len(), 2);
    b.wait_for_text("#order-total", "47.08 EUR").await;
    b.sign_out().await;

    // Each vendor sees only its own part and ships it.
    let a_email = claims_of(&shop.a_owner)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_email = claims_of(&shop.b_owner)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    b.sign_in(&base, &a_email, PASSWORD).await;
    b.open(&format!("{base}/vendor/stores/{}/orders", shop.b_store))
        .await;
    b.wait_for_text("main", "not allowed").await;
    b.ship(&base, &shop.a_store, "MUG-TRACK-1").await;
    b.wait_for_text("#sub-status", "shipped").await;
    b.sign_out().await;
    b.sign_in(&base, &b_email, PASSWORD).await;
    b.ship(&base, &shop.b_store, "TUBE-TRACK-2").await;
    b.sign_out().await;

    // The customer watches the timeline move.
    b.sign_in(&base, &email, PASSWORD).await;
    b.open(&format!("{base}{order_path}")).await;
    b.wait_for_text("#timeline", "shipped").await;
    let timeline = b.text("#timeline").await;
    assert_eq!(timeline.matches("shipped").count(), 2, "{timeline}");
    // The order as a whole says so too, not "paid".
    assert_eq!(b.text("#order-status").await, "shipped");
    assert!(b.text("main").await.contains("MUG-TRACK-1"));

    // The card that needs the bank's confirmation: the simulator's page, then the order.
    b.open(&format!("{base}/p/mug-makers/mug")).await;
    b.click("add-to-cart").await;
    b.wait_for_path("/cart").await;
    b.click("to-checkout").await;
    b.wait_for_path("/checkout").await;
    b.fill_address().await;
    b.fill("card", "4000000000003220").await;
    b.click("pay").await;
    b.wait_for_path_prefix("/payments/simulator/confirm/").await;
    b.wait_for_text("h1", "Confirm your payment").await;
    b.click("confirm").await;
    b.wait_for_path_prefix("/orders/ord_").await;
    b.wait_for_text("#order-status", "paid").await;
    assert_eq!(
        b.client
            .find_all(Locator::Css(".sub-order"))
            .await
            .unwrap()
            .len(),
        1
    );
    shop
}
