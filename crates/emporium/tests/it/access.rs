//! The authorization matrix, generated from the platform's own route table: every route
//! declares who may call it (`kernel::http::access`), and each actor is tried on another
//! tenant's objects. A new route is covered here without anyone writing a test.

use std::collections::BTreeMap;

use kernel::http::access::{Access, Declared};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::checkout::{OK_CARD, add_to_cart, checkout, checkout_body, shop};
use crate::support::*;
use crate::vendors::refreshed_with_store;

/// Someone calling: a bearer token, an internal secret, or nothing.
struct Actor {
    name: &'static str,
    token: Option<String>,
    secret: Option<&'static str>,
}

impl Actor {
    fn new(name: &'static str, token: Option<&str>, secret: Option<&'static str>) -> Self {
        Self {
            name,
            token: token.map(str::to_owned),
            secret,
        }
    }
}

/// Store B's and customer B's objects, by the path parameter that names them.
pub(crate) async fn b_objects(
    app: &TestApp,
) -> (
    crate::checkout::Shop,
    Value,
    Value,
    BTreeMap<&'static str, String>,
) {
    let shop = shop(app, 5).await;
    let buyer_b = app.customer(&unique_email("buyer-b")).await;
    add_to_cart(app, &buyer_b, &shop.poster, 1).await;
    let r = checkout(
        app,
        &buyer_b,
        "matrix-order",
        &checkout_body(&shop, OK_CARD, &[shop.b_store.as_str()]),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let placed: Value = r.json().await.unwrap();
    let order = placed["order"].clone();
    let r = call(
        app,
        Method::POST,
        "/api/v1/identity/me/addresses",
        Some(token(&buyer_b)),
        Some(json!({ "full_name": "B", "line1": "2 Side Street", "city": "Lyon", "postal_code": "69001", "country": "FR" })),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let address: Value = r.json().await.unwrap();
    let products: Value = app
        .get_auth(
            &format!("/api/v1/catalog/stores/{}/products", shop.b_store),
            token(&shop.b_owner),
        )
        .await
        .json()
        .await
        .unwrap();
    let staff = staff_of(app, &shop.a_owner, &shop.a_store).await;
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let objects = BTreeMap::from([
        ("store", shop.b_store.clone()),
        ("variant", shop.poster.clone()),
        ("product", text(&products["items"][0]["id"])),
        ("order", text(&order["id"])),
        ("sub_order", text(&order["sub_orders"][0]["id"])),
        ("checkout", text(&placed["id"])),
        ("id", text(&address["id"])),
        ("method", shop.b_method.clone()),
        ("user", subject(token(&shop.b_owner))),
        ("category", "cat_0190a0a0a0a0a0a0a0a0a0a0a0a0a0a0".into()),
        ("review", "rev_0190a0a0a0a0a0a0a0a0a0a0a0a0a0a0".into()),
        ("country", "DE".into()),
        ("action", "cancel".into()),
        ("provider", "simulator".into()),
        ("reference", "chk_matrix".into()),
        ("payment", "pay_matrix".into()),
        ("reservation", "rsv_matrix".into()),
        ("name", "missing.webp".into()),
    ]);
    (shop, buyer_b, staff, objects)
}

/// A staff member of `store`, invited by its owner, with the membership in their token.
async fn staff_of(app: &TestApp, owner: &Value, store: &str) -> Value {
    let email = unique_email("staff");
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/vendors/stores/{store}/invitations"),
        Some(token(owner)),
        Some(json!({ "email": email })),
    )
    .await;
    assert_eq!(r.status(), 201);
    let staff = app.customer(&email).await;
    let mail = app.latest_email(&email, "staff_invited").await;
    let invitation = mail["body_text"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let r = call(
        app,
        Method::POST,
        "/api/v1/vendors/invitations/accept",
        Some(token(&staff)),
        Some(json!({ "token": invitation })),
    )
    .await;
    assert_eq!(r.status(), 200);
    refreshed_with_store(app, &staff, store).await
}

/// `route`'s path with every parameter replaced by B's object of that name.
fn fill(route: &Declared, objects: &BTreeMap<&'static str, String>) -> Result<String, String> {
    let mut path = String::new();
    for segment in route.path.split('/').skip(1) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => path.push_str(objects.get(name).ok_or_else(|| {
                format!("{} {}: no object for {{{name}}}", route.method, route.path)
            })?),
            None => path.push_str(segment),
        }
    }
    Ok(path)
}

async fn attempt(
    app: &TestApp,
    route: &Declared,
    path: &str,
    actor: &Actor,
) -> (StatusCode, Value) {
    let method: Method = route.method.parse().unwrap();
    let mut req = app.request(method.clone(), path);
    if let Some(t) = &actor.token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = actor.secret {
        req = req.header("x-emporium-internal", s);
    }
    if method != Method::GET && method != Method::DELETE {
        req = req.json(&json!({}));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// What `actor` must be told on a route declared `access`; `names_object` says whether
/// the path names B's objects (otherwise it acts on the caller's own).
fn refused(
    access: Access,
    names_object: bool,
    actor: &str,
    status: StatusCode,
) -> Result<(), String> {
    let s = status.as_u16();
    let stranger = matches!(
        actor,
        "anonymous" | "forged token" | "wrong secret" | "empty secret"
    );
    let ok = match access {
        // The handler may still say no (a cart needs its token), but never with a 5xx.
        Access::Anyone => s < 500,
        Access::Service => s == 404,
        _ if stranger => s == 401,
        // A body that does not parse is refused before the object is looked at; that
        // reveals nothing of B's.
        Access::SignedIn if names_object => matches!(s, 403 | 404 | 422),
        Access::SignedIn => s < 500,
        _ => s == 403,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{actor} got {s}"))
    }
}

#[tokio::test]
async fn every_route_declares_its_callers_and_refuses_everyone_else() {
    let app = TestApp::spawn().await;
    let routes = app.platform.routes();
    assert!(
        routes.len() > 100,
        "the route table is complete: {}",
        routes.len()
    );
    let (shop, buyer_b, staff, objects) = b_objects(&app).await;
    let buyer_a = app.customer(&unique_email("buyer-a")).await;
    let forged = format!("{}x", token(&buyer_a));
    let actors = [
        Actor::new("anonymous", None, None),
        Actor::new("forged token", Some(&forged), None),
        Actor::new("customer A", Some(token(&buyer_a)), None),
        Actor::new("owner of store A", Some(token(&shop.a_owner)), None),
        Actor::new("staff of store A", Some(token(&staff)), None),
        Actor::new("wrong secret", None, Some("not-the-secret")),
        Actor::new("empty secret", None, Some("")),
        Actor::new("admin without secret", Some(token(&shop.admin)), None),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for route in routes.iter().filter(|r| !r.page) {
        let path = match fill(route, &objects) {
            Ok(p) => p,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        // Admins pass every check but a service's: their rows are the control.
        let names_object = route.path.contains('{');
        for actor in &actors {
            if actor.name == "admin without secret" && route.access != Access::Service {
                continue;
            }
            // Routes on the caller's own things (their profile, "sign out everywhere")
            // are tried by strangers only: a signed-in actor would change its own state.
            let signed_in = actor.token.is_some() && actor.name != "forged token";
            if route.access == Access::SignedIn && !names_object && signed_in {
                continue;
            }
            let (status, body) = attempt(&app, route, &path, actor).await;
            tried += 1;
            if let Err(e) = refused(route.access, names_object, actor.name, status) {
                failures.push(format!(
                    "{} {path} ({:?}): {e}: {body}",
                    route.method, route.access
                ));
            }
        }
    }
    // Staff on owner-only routes of their own store.
    let mut own = objects.clone();
    own.insert("store", shop.a_store.clone());
    let staff_a = Actor::new("staff of store A", Some(token(&staff)), None);
    let owner_only: Vec<_> = routes
        .iter()
        .filter(|r| r.access == Access::StoreOwner)
        .collect();
    assert!(!owner_only.is_empty(), "some routes are for owners only");
    for route in owner_only {
        let path = fill(route, &own).unwrap();
        let (status, body) = attempt(&app, route, &path, &staff_a).await;
        tried += 1;
        if status != StatusCode::FORBIDDEN {
            failures.push(format!(
                "{} {path}: staff of store A got {status}: {body}",
                route.method
            ));
        }
    }
    // B's own people are let through where the declaration says so (reads only, so the
    // world stays as it is).
    for (route, who) in [
        ("/api/v1/orders/{order}", token(&buyer_b)),
        (
            "/api/v1/orders/stores/{store}/sub-orders",
            token(&shop.b_owner),
        ),
        (
            "/api/v1/payments/stores/{store}/balance",
            token(&shop.b_owner),
        ),
        ("/api/v1/identity/me/addresses/{id}", token(&buyer_b)),
    ] {
        let declared = routes
            .iter()
            .find(|r| r.path == route && r.method == "GET")
            .unwrap();
        let path = fill(declared, &objects).unwrap();
        assert_eq!(app.get_auth(&path, who).await.status(), 200, "{path}");
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} refusals wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_public_document_lists_no_internal_operation_and_the_internal_one_is_for_services() {
    let app = TestApp::spawn().await;
    let public = get_json(&app, "/openapi.json").await;
    let paths = public["paths"].as_object().unwrap();
    assert!(
        paths.keys().all(|p| !p.starts_with("/internal/")),
        "{:?}",
        paths.keys()
    );
    // Every operation states who may call it.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["security"].is_array(),
                "{method} {path} declares no security"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') {
                    let content = response["content"].as_object().unwrap();
                    assert!(
                        content.keys().all(|k| k == "application/problem+json"),
                        "{method} {path} {status}: {content:?}"
                    );
                }
            }
            if op["security"][0] != json!({}) {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path}: no 401"
                );
            }
        }
    }
    let r = app
        .request(Method::GET, "/internal/openapi.json")
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let internal: Value = service_call(&app, Method::GET, "/internal/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let internal_paths = internal["paths"].as_object().unwrap();
    assert!(internal_paths.contains_key("/internal/inventory/reservations"));
    assert!(internal_paths.keys().all(|p| p.starts_with("/internal/")));
}

/// Findings 1-4 of the boundary audit: workflow steps are not public operations.
#[tokio::test]
async fn steps_of_a_checkout_cannot_be_taken_through_the_public_api() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 40).await;
    let customer = app.customer(&unique_email("attacker")).await;
    let t = token(&customer);
    // Holding or committing stock, redeeming or releasing a code: no such public routes.
    for (method, path) in [
        (Method::POST, "/api/v1/inventory/reservations".to_owned()),
        (
            Method::POST,
            "/api/v1/inventory/reservations/rsv_x/commit".to_owned(),
        ),
        (Method::POST, "/api/v1/promotions/redeem".to_owned()),
        (
            Method::POST,
            "/api/v1/promotions/redemptions/chk_x/release".to_owned(),
        ),
    ] {
        let body = json!({ "reference": "mine", "lines": [{ "variant_id": shop.mug, "quantity": 40 }], "ttl_secs": 7200 });
        let r = call(&app, method, &path, Some(t), Some(body)).await;
        assert!(
            matches!(r.status().as_u16(), 404 | 405),
            "{path}: {}",
            r.status()
        );
    }
    // Catalog's internal reads answer only to services, with or without a sign-in.
    for path in [
        "/internal/catalog/search-documents".to_owned(),
        format!("/internal/catalog/variants?ids={}", shop.mug),
        format!("/internal/catalog/variants/{}", shop.mug),
    ] {
        assert_problem(
            call(&app, Method::GET, &path, None, None).await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            call(&app, Method::GET, &path, Some(t), None).await,
            404,
            "not_found",
        )
        .await;
        assert_eq!(
            service_call(&app, Method::GET, &path, None).await.status(),
            200,
            "{path}"
        );
    }
    let stock = get_json(
        &app,
        &format!("/api/v1/inventory/availability?variants={}", shop.mug),
    )
    .await;
    assert_eq!(stock["items"][0]["available"], 40);
}

/// Finding 5: an anonymous caller's answer is never replayed to another anonymous caller,
/// and an answer that carries a secret is never kept.
#[tokio::test]
async fn idempotency_never_crosses_callers_nor_keeps_a_secret() {
    let app = TestApp::spawn().await;
    let guest_token = || {
        app.request(Method::POST, "/api/v1/cart/guest-token")
            .header("Idempotency-Key", "shared-key")
            .send()
    };
    let first = guest_token().await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let first: Value = first.json().await.unwrap();
    let second = guest_token().await.unwrap();
    assert!(second.headers().get("idempotent-replayed").is_none());
    let second: Value = second.json().await.unwrap();
    assert_ne!(first["cart_token"], second["cart_token"]);
    // A guest is scoped by its own cart token: another guest's key space is its own.
    let pool = app.pool("cart").await;
    let (kept,): (i64,) = sqlx::query_as("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "no anonymous answer is written down");
}

/// `path` as `token` until it is refused with 401 `token_revoked`; fails after 5 s.
async fn refused_within_five_seconds(app: &TestApp, path: &str, token: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let r = app.get_auth(path, token).await;
        if r.status() == 401 {
            assert_problem(r, 401, "token_revoked").await;
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} still answers {}",
            r.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Finding 8: suspending a user, signing out everywhere and removing a store member take
/// the powers away everywhere within seconds, not when the access token expires.
#[tokio::test]
async fn revocations_reach_every_service_within_seconds() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, 5).await;
    let staff = staff_of(&app, &shop.a_owner, &shop.a_store).await;
    let queue = format!("/api/v1/orders/stores/{}/sub-orders", shop.a_store);
    assert_eq!(app.get_auth(&queue, token(&staff)).await.status(), 200);
    let member = format!(
        "/api/v1/vendors/stores/{}/members/{}",
        shop.a_store,
        subject(token(&staff))
    );
    let r = call(
        &app,
        Method::DELETE,
        &member,
        Some(token(&shop.a_owner)),
        None,
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    refused_within_five_seconds(&app, &queue, token(&staff)).await;
    // One refresh gives the former member a token without the store, which works.
    let r = app
        .post(
            "/api/v1/identity/token/refresh",
            json!({ "refresh_token": staff["refresh_token"] }),
        )
        .await;
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(app.get_auth(&queue, token(&fresh)).await.status(), 403);
    assert_eq!(
        app.get_auth("/api/v1/orders", token(&fresh)).await.status(),
        200
    );

    let customer = app.customer(&unique_email("suspended")).await;
    assert_eq!(
        app.get_auth("/api/v1/orders", token(&customer))
            .await
            .status(),
        200
    );
    let suspend = format!(
        "/api/v1/identity/admin/users/{}/suspend",
        subject(token(&customer))
    );
    let r = call(&app, Method::POST, &suspend, Some(token(&shop.admin)), None).await;
    assert!(r.status().is_success(), "{}", r.status());
    refused_within_five_seconds(&app, "/api/v1/orders", token(&customer)).await;

    let leaving = app.customer(&unique_email("everywhere")).await;
    let r = call(
        &app,
        Method::POST,
        "/api/v1/identity/logout-all",
        Some(token(&leaving)),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    refused_within_five_seconds(&app, "/api/v1/cart", token(&leaving)).await;
}
