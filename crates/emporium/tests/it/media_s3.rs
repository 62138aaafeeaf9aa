//! Media in an S3-compatible bucket: the same uploads, kept in the bucket and served
//! from it. The bucket is moto's S3 server on loopback (installed by scripts/test): a
//! faithful stand-in for a service outside our reach.

use std::process::Stdio;
use std::time::Duration;

use kernel::config::S3Config;
use kernel::secret::Redacted;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::product_images::{png, upload};
use crate::support::*;
use crate::vendors::approved_store;

struct S3Server {
    _child: Child,
    endpoint: String,
}

async fn s3_server() -> S3Server {
    let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
        format!(
            "{}/.cache/emporium/venv/bin/moto_server",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{bin} is installed (scripts/test installs moto): {e}"));
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if reqwest::get(&endpoint).await.is_ok() {
            return S3Server {
                _child: child,
                endpoint,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the S3 server did not start");
}

#[tokio::test]
async fn uploads_live_in_an_s3_bucket_when_configured() {
    let s3 = s3_server().await;
    let bucket = "emporium-media";
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let endpoint = s3.endpoint.clone();
    let app = TestApp::spawn_with(|c| {
        c.media_s3 = Some(S3Config {
            bucket: bucket.into(),
            region: "us-east-1".into(),
            endpoint: Some(endpoint),
            access_key_id: Some("test".into()),
            secret_access_key: Some(Redacted("test".into())),
        });
    })
    .await;
    let admin = app.admin("admin@example.com").await;
    let (owner, approved) = approved_store(&app, &admin, "bucket-shop").await;

    let r = upload(&app, token(&owner), png(600, 400), "shirt.png").await;
    assert_eq!(r.status(), 201);
    let media: Value = r.json().await.unwrap();
    let key = media["key"].as_str().unwrap();

    // The renditions are objects in the bucket, not files on this machine, and are
    // served from it, cacheable forever.
    let name = format!("{key}-480.webp");
    assert!(
        !std::path::Path::new(&app.config.media_dir)
            .join(&name)
            .exists()
    );
    let served = app
        .http
        .get(app.url(&format!("/media/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(
        served.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let bytes = served.bytes().await.unwrap();
    assert!(bytes.starts_with(b"RIFF") && bytes[8..12] == *b"WEBP");
    // A product may use the upload: its key is found in the bucket.
    let r = crate::products::create_product(
        &app,
        token(&owner),
        approved["id"].as_str().unwrap(),
        serde_json::json!({
            "slug": "bucket-tee", "title": "Bucket Tee",
            "variants": [{ "sku": "BT-1", "price_minor": 1000, "currency": "EUR" }],
            "images": [{ "key": key, "alt": "A tee" }, { "key": "0".repeat(64), "alt": "missing" }]
        }),
    )
    .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unknown_media", "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "the uploaded key is found; only the other is not: {body}"
    );
    assert!(
        errors[0]["field"]
            .as_str()
            .unwrap()
            .starts_with("images[1]"),
        "{body}"
    );
    let missing = app
        .http
        .get(app.url("/media/nothing-480.webp"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
