//! Reviews in headless Chromium at phone width: a customer reviews what was delivered,
//! with a photo; the store replies from its desk; another shopper reads both (search
//! engines get the rating in the page's structured data) and finds the product by
//! filtering a listing to 4 stars and up.

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{Browser, launch};
use crate::checkout::shop;
use crate::product_images::png;
use crate::reviews::{bought_mug, deliver};
use crate::support::*;

impl Browser {
    /// The page is no wider than the window: nothing scrolls sideways.
    async fn fits_the_screen(&self) {
        let widths = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (page, window) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(
            page <= window,
            "the page is {page} px wide in a {window} px window"
        );
    }
}

fn email_of(tokens: &Value) -> String {
    claims_of(tokens)["email"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_customer_reviews_with_a_photo_and_the_store_replies_on_a_phone() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let customer = app.customer(&unique_email("pia")).await;
    let sub_order = bought_mug(&app, &shop, &customer, "pia-mug").await;
    deliver(&app, &shop, &sub_order).await;
    let product_page = format!("{}/p/mug-makers/mug", app.base);

    let b = launch().await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.sign_in(&app.base, &email_of(&customer), PASSWORD).await;
    b.open(&product_page).await;
    b.fits_the_screen().await;
    b.fill("review-title", "Keeps tea hot").await;
    b.fill("review-body", "Thick walls.\nNo chips after a month.")
        .await;
    b.client
        .find(Locator::Css("#review-rating option[value='4']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let photo = std::env::temp_dir().join(format!("emporium-review-{}.png", uuid::Uuid::now_v7()));
    std::fs::write(&photo, png(120, 90)).unwrap();
    b.client
        .find(Locator::Id("review-photo"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    b.click("review-submit").await;
    b.wait_for_text(".flash", "your review is published").await;
    assert_eq!(b.text(".review-title").await, "Keeps tea hot");
    assert_eq!(b.text("#rating-average").await, "4.0");
    assert!(
        b.client
            .find(Locator::Css(".review-photos img"))
            .await
            .is_ok(),
        "the photo is shown"
    );
    b.fits_the_screen().await;
    std::fs::remove_file(&photo).ok();
    b.sign_out().await;

    // The store answers from its reviews desk.
    b.sign_in(&app.base, &email_of(&shop.a_owner), PASSWORD)
        .await;
    b.open(&format!(
        "{}/vendor/stores/{}/reviews?unanswered=true",
        app.base, shop.a_store
    ))
    .await;
    b.fits_the_screen().await;
    let review_id = b
        .client
        .find(Locator::Css("li.review"))
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap()
        .unwrap();
    b.fill(
        &review_id.replace("review-", "reply-"),
        "Thank you! Glad it keeps your tea hot.",
    )
    .await;
    b.click_css(".reply-submit").await;
    b.wait_for_text(".flash", "reply is published").await;
    b.sign_out().await;

    // Anyone reads both, with the rating in the structured data.
    b.open(&product_page).await;
    b.wait_for_text(".store-reply", "Glad it keeps your tea hot")
        .await;
    assert_eq!(b.text("#rating-count").await, "1");
    let json_ld = b
        .client
        .execute(
            "return document.querySelector('script[type=\"application/ld+json\"]').textContent",
            vec![],
        )
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(json_ld.as_str().unwrap()).unwrap();
    assert_eq!(doc["aggregateRating"]["ratingValue"], "4.0");
    assert_eq!(doc["aggregateRating"]["reviewCount"], 1);
    b.fits_the_screen().await;

    // Another shopper narrows the listing to 4 stars and up and finds the mug.
    app.settle().await;
    b.open(&format!("{}/search", app.base)).await;
    b.wait_for_text("#result-count", "2 products").await;
    b.click_css("a.facet-link[href*='min_rating=4']").await;
    b.wait_for_text("#result-count", "1 product").await;
    assert_eq!(b.text(".tile-title").await, "mug");
    assert!(b.text(".tile-rating").await.contains("4.0"));
    b.fits_the_screen().await;
    b.client.clone().close().await.unwrap();
}
