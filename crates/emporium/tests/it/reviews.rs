//! Reviews (issue 13): only what a customer received can be reviewed, once per product
//! and editable; stores answer once; votes, reports and moderation; product and store
//! rating summaries kept exact under concurrent reviews.

use reqwest::Method;
use serde_json::{Value, json};

use crate::checkout::{OK_CARD, Shop, add_to_cart, checkout, checkout_body, send, shop};
use crate::product_images::{png, upload};
use crate::support::*;

/// The customer's order of one mug from store A, and its sub-order id.
pub(crate) async fn bought_mug(app: &TestApp, shop: &Shop, customer: &Value, key: &str) -> String {
    bought(app, shop, customer, (&shop.mug, &shop.a_store), key).await
}

/// The customer's order of one `variant` from `store`, and its sub-order id.
async fn bought(
    app: &TestApp,
    shop: &Shop,
    customer: &Value,
    (variant, store): (&str, &str),
    key: &str,
) -> String {
    add_to_cart(app, customer, variant, 1).await;
    let r = checkout(app, customer, key, &checkout_body(shop, OK_CARD, &[store])).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let placed: Value = r.json().await.unwrap();
    placed["order"]["sub_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Store A accepts, ships and delivers the sub-order.
pub(crate) async fn deliver(app: &TestApp, shop: &Shop, sub_order: &str) {
    deliver_as(app, &shop.a_owner, sub_order).await;
}

/// The sub-order's store (`owner`) accepts, ships and delivers it.
async fn deliver_as(app: &TestApp, owner: &Value, sub_order: &str) {
    for (action, body) in [
        ("accept", json!({})),
        ("ship", json!({ "tracking_number": "TRK-1" })),
        ("deliver", json!({})),
    ] {
        let r = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/sub-orders/{sub_order}/{action}"),
            token(owner),
            Some(body),
        )
        .await;
        assert_eq!(r.status(), 200, "{action}: {}", r.text().await.unwrap());
    }
}

async fn mug_product(app: &TestApp, shop: &Shop) -> String {
    let products = app
        .get_auth(
            &format!("/api/v1/catalog/stores/{}/products", shop.a_store),
            token(&shop.a_owner),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    products["items"][0]["id"].as_str().unwrap().to_owned()
}

fn review(product: &str, rating: i64, title: &str, photos: &[&str]) -> Value {
    json!({
        "product_id": product, "rating": rating, "title": title,
        "body": "Holds <b>a lot</b> of tea.\nNo chips after a month.", "photos": photos,
    })
}

async fn write(app: &TestApp, who: &Value, body: Value) -> reqwest::Response {
    send(
        app,
        Method::PUT,
        "/api/v1/reviews/mine",
        token(who),
        Some(body),
    )
    .await
}

/// The customer's own review of the product, and whether they may write one.
async fn mine(app: &TestApp, who: &Value, product: &str) -> Value {
    let path = format!("/api/v1/reviews/mine?product={product}");
    get_auth_json(app, &path, token(who)).await
}

async fn get_auth_json(app: &TestApp, path: &str, token: &str) -> Value {
    app.get_auth(path, token).await.json().await.unwrap()
}

async fn summary(app: &TestApp, product: &str) -> Value {
    get_json(app, &format!("/api/v1/reviews/products/{product}")).await
}

#[tokio::test]
async fn customers_review_what_they_received_and_stores_answer_once() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 10).await;
    let product = mug_product(&app, &shop).await;
    let customer = app.customer(&unique_email("rita")).await;
    let sub_order = bought_mug(&app, &shop, &customer, "rita-mug").await;

    // Paid but not delivered: nothing to review yet, and nothing written.
    assert_eq!(
        mine(&app, &customer, &product).await,
        json!({ "eligible": false, "review": null })
    );
    assert_problem(
        write(&app, &customer, review(&product, 5, "Great mug", &[])).await,
        403,
        "not_received",
    )
    .await;
    deliver(&app, &shop, &sub_order).await;

    // Bad input changes nothing: six photos, a photo never uploaded, no stars.
    let photo: Value = upload(&app, token(&customer), png(64, 48), "mug.png")
        .await
        .json()
        .await
        .unwrap();
    let key = photo["key"].as_str().unwrap();
    let six = [key; 6];
    let body = assert_problem(
        write(&app, &customer, review(&product, 5, "Great mug", &six)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "too_many", "{body}");
    let body = assert_problem(
        write(
            &app,
            &customer,
            review(&product, 5, "Great mug", &["00000000deadbeef"]),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "photos[0]", "{body}");
    assert_problem(
        write(&app, &customer, review(&product, 0, "Great mug", &[])).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(summary(&app, &product).await["summary"]["count"], 0);

    // The review, with its photo; then changed, still one.
    let r = write(&app, &customer, review(&product, 5, "Great mug", &[key])).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let written: Value = r.json().await.unwrap();
    assert_eq!(written["author"], "Test C.");
    assert_eq!(written["verified_purchase"], true);
    assert_eq!(written["photos"], json!([key]));
    let r = write(&app, &customer, review(&product, 4, "Good mug", &[key])).await;
    assert_eq!(r.status(), 200);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["id"], written["id"]);
    assert!(edited["edited_at"].is_string());
    let listed = summary(&app, &product).await;
    assert_eq!(
        listed["summary"],
        json!({ "count": 1, "average": 4.0, "histogram": [0, 0, 0, 1, 0] })
    );
    assert_eq!(listed["items"][0]["title"], "Good mug");
    // Text comes back as written; pages escape it.
    assert_eq!(
        listed["items"][0]["body"],
        "Holds <b>a lot</b> of tea.\nNo chips after a month."
    );
    let review_id = written["id"].as_str().unwrap();
    // The store hears of it, with a link to answer.
    let mail = app.latest_email("help@corner.example", "new_review").await;
    assert_eq!(mail["subject"], "Corner Shop: a new 5-star review");

    // Someone who never bought it cannot review it, but may find it helpful, once.
    let other = app.customer(&unique_email("otto")).await;
    assert_problem(
        write(&app, &other, review(&product, 1, "Bad", &[])).await,
        403,
        "not_received",
    )
    .await;
    let vote_path = format!("/api/v1/reviews/reviews/{review_id}/vote");
    let vote = async |who: &Value, helpful: bool| {
        let body = json!({ "helpful": helpful });
        send(&app, Method::PUT, &vote_path, token(who), Some(body)).await
    };
    for _ in 0..2 {
        let r: Value = vote(&other, true).await.json().await.unwrap();
        assert_eq!(r["helpful_count"], 1);
    }
    assert_problem(vote(&customer, true).await, 403, "own_review").await;
    assert_problem(vote(&shop.a_owner, true).await, 403, "own_store").await;

    // Store B cannot answer store A's review; A answers once.
    let reply_path = format!("/api/v1/reviews/reviews/{review_id}/reply");
    let reply = async |who: &Value| {
        let body = json!({ "body": "Thank you, Rita!" });
        send(&app, Method::POST, &reply_path, token(who), Some(body)).await
    };
    assert_problem(reply(&shop.b_owner).await, 404, "not_found").await;
    let r = reply(&shop.a_owner).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap()["reply"]["body"],
        "Thank you, Rita!"
    );
    assert_problem(reply(&shop.a_owner).await, 409, "already_replied").await;
    let unanswered = send(
        &app,
        Method::GET,
        &format!(
            "/api/v1/reviews/stores/{}/reviews?unanswered=true",
            shop.a_store
        ),
        token(&shop.a_owner),
        None,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(unanswered["items"], json!([]));

    // Reported, hidden by an admin (the author sees why), restored.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/reviews/reviews/{review_id}/reports"),
        token(&other),
        Some(json!({ "reason": "off_topic", "note": "About tea, not the mug" })),
    )
    .await;
    assert_eq!(r.status(), 202);
    let admin = token(&shop.admin);
    let queue = get_auth_json(&app, "/api/v1/reviews/admin/queue", admin).await;
    assert_eq!(queue["items"][0]["review"]["id"], review_id);
    assert_eq!(queue["items"][0]["reasons"], json!(["off_topic"]));
    assert_eq!(queue["items"][0]["latest_note"], "About tea, not the mug");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/reviews/admin/reviews/{review_id}/hide"),
        admin,
        Some(json!({ "reason": "Not about the product" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let hidden = summary(&app, &product).await;
    assert_eq!(
        (
            hidden["summary"]["count"].as_i64(),
            hidden["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    assert_eq!(
        mine(&app, &customer, &product).await["review"]["hidden_reason"],
        "Not about the product"
    );
    let desk_path = format!("/api/v1/reviews/stores/{}/reviews", shop.a_store);
    let desk = get_auth_json(&app, &desk_path, token(&shop.a_owner)).await;
    assert_eq!(desk["items"][0]["status"], "hidden");
    assert!(
        desk["items"][0]["hidden_reason"].is_null(),
        "the reason is for the author and admins"
    );
    let queue = get_auth_json(&app, "/api/v1/reviews/admin/queue", admin).await;
    assert_eq!(queue["items"], json!([]), "deciding closes the reports");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/reviews/admin/reviews/{review_id}/restore"),
        admin,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(summary(&app, &product).await["summary"]["count"], 1);
    // Reporting it again does not reopen what an admin decided.
    let again = json!({ "reason": "spam", "note": "" });
    let report_path = format!("/api/v1/reviews/reviews/{review_id}/reports");
    let r = send(&app, Method::POST, &report_path, token(&other), Some(again)).await;
    assert_eq!(r.status(), 202);
    let queue = get_auth_json(&app, "/api/v1/reviews/admin/queue", admin).await;
    assert_eq!(queue["items"], json!([]));

    // The store rated for the purchase, by its customer only.
    let rating_path = format!("/api/v1/reviews/sub-orders/{sub_order}/store-rating");
    let rate = async |who: &Value, rating: i64| {
        let body = json!({ "rating": rating, "comment": "Quick and well packed" });
        send(&app, Method::PUT, &rating_path, token(who), Some(body)).await
    };
    assert_eq!(rate(&customer, 5).await.status(), 200);
    assert_eq!(rate(&customer, 4).await.status(), 200);
    assert_problem(rate(&other, 1).await, 403, "not_received").await;
    let store = get_json(
        &app,
        &format!("/api/v1/reviews/stores/{}/summary", shop.a_store),
    )
    .await;
    assert_eq!(
        store,
        json!({ "count": 1, "average": 4.0, "histogram": [0, 0, 0, 1, 0] })
    );
    let store_page = app.http.get(app.url("/s/mug-makers")).send().await.unwrap();
    let html = store_page.text().await.unwrap();
    assert!(
        html.contains("4.0 out of 5 from 1 rating"),
        "the store's page shows its rating"
    );

    // Every change of the product's summary is published, newest version last.
    app.settle().await;
    let pool = app.pool("reviews").await;
    let published: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event_type = 'reviews.product_rating.changed' ORDER BY occurred_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let last = published.last().unwrap();
    assert_eq!(last["histogram"], json!([0, 0, 0, 1, 0]));
    assert_eq!(last["version"].as_i64(), Some(published.len() as i64));
}

/// Many customers reviewing one product at once: every rating is counted, once.
#[tokio::test]
async fn concurrent_reviews_of_one_product_are_all_counted() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 20).await;
    let product = mug_product(&app, &shop).await;
    let mut customers = Vec::new();
    for i in 0..8 {
        let customer = app.customer(&unique_email("crowd")).await;
        let sub_order = bought_mug(&app, &shop, &customer, &format!("crowd-{i}")).await;
        deliver(&app, &shop, &sub_order).await;
        customers.push(customer);
    }
    let writes = customers.iter().enumerate().map(|(i, c)| {
        let stars = 1 + (i as i64 % 5);
        write(&app, c, review(&product, stars, "Honest opinion", &[]))
    });
    for r in futures_util::future::join_all(writes).await {
        assert_eq!(r.status(), 201);
    }
    let listed = summary(&app, &product).await;
    assert_eq!(listed["summary"]["histogram"], json!([2, 2, 2, 1, 1]));
    assert_eq!(listed["summary"]["count"], 8);
    assert_eq!(listed["summary"]["average"], 2.6);
    let summaries = get_json(
        &app,
        &format!("/api/v1/reviews/summaries?products={product}"),
    )
    .await;
    assert_eq!(summaries["items"][0]["summary"]["count"], 8);
}

/// Search keeps each product's rating: "4 stars & up", the counts beside it, the best
/// rated first, and the rating on every card.
#[tokio::test]
async fn search_filters_sorts_and_counts_by_rating() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 10).await;
    let mug = (shop.mug.as_str(), shop.a_store.as_str());
    let poster = (shop.poster.as_str(), shop.b_store.as_str());
    let first_product = async |store: &str, owner: &Value| -> Value {
        let path = format!("/api/v1/catalog/stores/{store}/products");
        get_auth_json(&app, &path, token(owner)).await["items"][0]["id"].clone()
    };
    let mug_id = first_product(&shop.a_store, &shop.a_owner).await;
    let poster_id = first_product(&shop.b_store, &shop.b_owner).await;
    let reviewer = async |who: &str, bought_what: (&str, &str), product: &Value, stars: i64| {
        let customer = app.customer(&unique_email(who)).await;
        let sub_order = bought(&app, &shop, &customer, bought_what, who).await;
        let owner = if bought_what.1 == shop.a_store {
            &shop.a_owner
        } else {
            &shop.b_owner
        };
        deliver_as(&app, owner, &sub_order).await;
        let body = review(product.as_str().unwrap(), stars, "My opinion", &[]);
        assert_eq!(write(&app, &customer, body).await.status(), 201);
    };
    reviewer("ann", mug, &mug_id, 5).await;
    reviewer("ben", mug, &mug_id, 4).await;
    reviewer("cal", poster, &poster_id, 3).await;
    app.settle().await;

    let found = get_json(&app, "/api/v1/search/products?min_rating=4").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["id"], mug_id);
    assert_eq!(
        found["items"][0]["rating"],
        json!({ "average": 4.5, "count": 2 })
    );
    let counts: Vec<(i64, i64)> = found["facets"]["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["min_stars"].as_i64().unwrap(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [(4, 1), (3, 2), (2, 2), (1, 2)],
        "counted without the filter"
    );
    let best = get_json(&app, "/api/v1/search/products?sort=rating").await;
    let order: Vec<&Value> = best["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(order, [&mug_id, &poster_id]);
    assert_problem(
        app.http
            .get(app.url("/api/v1/search/products?min_rating=6"))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}
