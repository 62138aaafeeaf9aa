//! `emporium gateway` in front of a whole platform: the API, the pages and the media
//! answer through it; what only services may call does not, even with the secret.

use crate::products::category;
use crate::support::*;

/// The gateway, routing every service to `app`, on a port of its own.
async fn gateway_in_front_of(app: &TestApp) -> String {
    let mut config = app.config.clone();
    for service in emporium::SERVICES {
        config
            .service_urls
            .insert((*service).to_owned(), app.base.clone());
    }
    let settings =
        gateway::GatewayConfig::from_vars(&config, emporium::SERVICES, &Default::default())
            .unwrap();
    let router = kernel::http::middleware::edge(gateway::router(settings).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emporium::serve::serve(
        listener,
        router,
        std::future::pending(),
    ));
    base
}

#[tokio::test]
async fn the_platform_answers_through_the_gateway_but_its_internal_routes_do_not() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    category(&app, token(&admin), "kitchen", None).await;
    let base = gateway_in_front_of(&app).await;
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{base}/api/v1/catalog/categories"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let tree: serde_json::Value = r.json().await.unwrap();
    assert_eq!(tree["items"][0]["slug"], "kitchen");

    let r = http
        .get(format!("{base}/api/v1/identity/me"))
        .bearer_auth(token(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the bearer token travels to the service");

    let r = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<html"));

    // Straight to the platform, a service may call this; through the gateway, nobody.
    let internal = "/internal/openapi.json";
    let direct = app
        .http
        .get(app.url(internal))
        .header("x-emporium-internal", INTERNAL_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200, "the route exists behind the gateway");
    let r = http
        .get(format!("{base}{internal}"))
        .header("x-emporium-internal", INTERNAL_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    let doc: serde_json::Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/v1/catalog/products", "/api/v1/orders/checkout"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(
        doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|p| !p.starts_with("/internal")),
        "the public document names no internal route"
    );

    // The container image's health check, against the gateway and against nothing.
    // (Awaited: the gateway answers from this test's own runtime.)
    let healthcheck = |bind: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium"))
            .arg("healthcheck")
            .env("EMPORIUM_BIND", bind)
            .env("RUST_LOG", "error")
            .output()
            .await
            .unwrap()
            .status
            .success()
    };
    assert!(healthcheck(base.trim_start_matches("http://").to_owned()).await);
    let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = nothing.local_addr().unwrap().to_string();
    drop(nothing);
    assert!(!healthcheck(nowhere).await);

    let r = http.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}
