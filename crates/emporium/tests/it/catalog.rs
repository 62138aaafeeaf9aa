//! Catalog: the admin-managed category tree.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

async fn create(
    app: &TestApp,
    admin: &str,
    name: &str,
    slug: &str,
    parent: Option<&Value>,
) -> Value {
    let r = post_category(app, admin, name, slug, parent).await;
    assert_eq!(r.status(), 201, "creating {slug}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn admins_build_a_category_tree_of_any_depth() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    let home = create(&app, ta, "Home & Garden", "home-garden", None).await;
    let kitchen = create(&app, ta, "Kitchen", "kitchen", Some(&home)).await;
    let knives = create(&app, ta, "Knives", "knives", Some(&kitchen)).await;
    let fashion = create(&app, ta, "Fashion", "fashion", None).await;

    let tree: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tree["items"][1]["slug"], "home-garden");
    assert_eq!(
        tree["items"][1]["children"][0]["children"][0]["slug"],
        "knives"
    );

    let v: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories/knives"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let crumbs: Vec<&str> = v["breadcrumb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["home-garden", "kitchen"]);

    // Moving a subtree carries its descendants along.
    let r = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/catalog/categories/{}/move",
                kitchen["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(ta)
        .json(&json!({ "parent_id": fashion["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = app
        .http
        .get(app.url("/api/v1/catalog/categories/knives"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let crumbs: Vec<&str> = v["breadcrumb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["fashion", "kitchen"]);

    // Never under itself or its own descendant.
    let r = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/catalog/categories/{}/move",
                fashion["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(ta)
        .json(&json!({ "parent_id": knives["id"] }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "category_cycle").await;

    // A category with children cannot be deleted; a leaf can.
    let r = app
        .request(Method::DELETE, "/api/v1/catalog/categories/kitchen")
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "category_not_empty").await;
    let r = app
        .request(Method::DELETE, "/api/v1/catalog/categories/knives")
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .http
        .get(app.url("/api/v1/catalog/categories/knives"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;

    let r = app
        .request(Method::PATCH, "/api/v1/catalog/categories/kitchen")
        .bearer_auth(ta)
        .json(&json!({ "name": "Kitchen & Dining", "position": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "Kitchen & Dining");
}

#[tokio::test]
async fn bad_category_input_and_non_admins_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let ta = token(&admin);
    create(&app, ta, "Books", "books", None).await;
    let customer = app.customer(&unique_email("shopper")).await;
    let r = app
        .request(Method::POST, "/api/v1/catalog/categories")
        .bearer_auth(token(&customer))
        .json(&json!({ "name": "Mine", "slug": "mine" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, "forbidden").await;
    let r = app
        .request(Method::POST, "/api/v1/catalog/categories")
        .bearer_auth(ta)
        .json(&json!({ "name": "", "slug": "Not a slug!" }))
        .send()
        .await
        .unwrap();
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let r = app
        .request(Method::POST, "/api/v1/catalog/categories")
        .bearer_auth(ta)
        .json(&json!({ "name": "Books again", "slug": "books" }))
        .send()
        .await
        .unwrap();
    let body = assert_problem(r, 409, "slug_taken").await;
    assert_eq!(body["errors"][0]["code"], "slug_taken");
    let r = app
        .request(Method::POST, "/api/v1/catalog/categories")
        .bearer_auth(ta)
        .json(&json!({ "name": "Orphan", "slug": "orphan", "parent_id": "cat_00000000000000000000000000000000" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = app
        .request(Method::POST, "/api/v1/catalog/categories")
        .bearer_auth(ta)
        .json(&json!({ "name": "Bad parent", "slug": "bad-parent", "parent_id": "usr_00000000000000000000000000000000" }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 422, "validation_failed").await;
}
