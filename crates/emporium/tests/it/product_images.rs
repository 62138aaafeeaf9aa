//! Product images: uploads checked, processed into renditions and served forever;
//! only uploads and imports take bodies over a mebibyte.

use reqwest::Method;
use serde_json::{Value, json};

use crate::products::{category, create_product, shirt};
use crate::support::*;
use crate::vendors::approved_store;

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 250) as u8, (y % 250) as u8, 120])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    app.request(Method::POST, "/api/v1/catalog/media")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn vendors_upload_images_that_are_checked_and_served_forever() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, _) = approved_store(&app, &admin, "photo-shop").await;
    // Anyone can make an account; only one with a verified email uploads (a review's
    // photos).
    let unverified = unique_email("viewer");
    assert_eq!(app.register(&unverified, "Vic Viewer").await.status(), 201);
    let tokens: Value = app.login(&unverified, PASSWORD).await.json().await.unwrap();
    assert_problem(
        upload(&app, token(&tokens), png(10, 10), "a.png").await,
        403,
        "forbidden",
    )
    .await;

    let r = upload(&app, token(&owner), png(800, 400), "shirt.png").await;
    assert_eq!(r.status(), 201);
    let media: Value = r.json().await.unwrap();
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(800), Some(400))
    );
    let url = media["renditions"][1]["url"].as_str().unwrap();
    let r = app.http.get(app.url(url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/webp");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let webp = r.bytes().await.unwrap();
    let decoded = image::load_from_memory(&webp).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (480, 240));
    let r = app
        .http
        .get(app.url(url))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    let r = upload(
        &app,
        token(&owner),
        b"%PDF-1.7 definitely not a picture".to_vec(),
        "x.png",
    )
    .await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "not_an_image");
    let r = upload(&app, token(&owner), vec![0u8; 11 * 1024 * 1024], "big.png").await;
    assert_problem(r, 413, "payload_too_large").await;
    let r = app
        .request(Method::POST, "/api/v1/catalog/media")
        .bearer_auth(token(&owner))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 422, "validation_failed").await;
    let r = app
        .http
        .get(app.url("/media/..%2F..%2Fetc%2Fpasswd"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Attaching it: the product shows it, tied to its variant; listings get the main one.
    let shirts = category(&app, token(&admin), "shirts", None).await;
    let sid = claims_store(&owner);
    let mut body = shirt("pictured", &shirts, "P");
    body["images"] =
        json!([{ "key": media["key"], "alt": "A blue linen shirt", "variant_sku": "P-M" }]);
    let product: Value = create_product(&app, token(&owner), &sid, body.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product["images"][0]["alt"], "A blue linen shirt");
    assert_eq!(product["images"][0]["url"], url);
    let pid = product["id"].as_str().unwrap();
    call(
        &app,
        Method::POST,
        &format!("/api/v1/catalog/products/{pid}/publish"),
        Some(token(&owner)),
        None,
    )
    .await;
    let page: Value = get_json(&app, "/api/v1/catalog/products").await;
    assert_eq!(page["items"][0]["image_url"], url);

    let mut bad = shirt("unpictured", &shirts, "U");
    bad["images"] = json!([
        { "key": "0123456789abcdef0123456789abcdef" },
        { "key": media["key"], "variant_sku": "NOT-MINE" }
    ]);
    let r = create_product(&app, token(&owner), &sid, bad).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unknown_media", "unknown_variant"]);

    // Another vendor cannot attach images to this (published, so visible) product.
    let (rival, _) = approved_store(&app, &admin, "rival-photos").await;
    let mut steal = shirt("pictured", &shirts, "P");
    steal["images"] = json!([{ "key": media["key"], "alt": "mine now" }]);
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v1/catalog/products/{pid}"),
        Some(token(&rival)),
        Some(steal),
    )
    .await;
    assert_problem(r, 403, "forbidden").await;
}

/// The first store in the token's claims.
fn claims_store(tokens: &Value) -> String {
    claims_of(tokens)["stores"][0]["store"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A PNG of noise: it does not compress, so its size is about `width * height * 3`.
fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u32;
    let img = image::RgbImage::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn only_uploads_and_imports_take_bodies_over_a_mebibyte() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, _) = approved_store(&app, &admin, "body-limits").await;
    let sid = claims_store(&owner);
    let shirts = category(&app, token(&admin), "shirts", None).await;

    // JSON routes refuse anything over 1 MiB with a problem, before reading it all.
    let mut body = shirt("huge", &shirts, "H");
    body["description"] = json!("x".repeat(2 * 1024 * 1024));
    assert_problem(
        create_product(&app, token(&owner), &sid, body).await,
        413,
        "payload_too_large",
    )
    .await;
    let r = call(
        &app,
        Method::POST,
        "/api/v1/catalog/categories",
        Some(token(&admin)),
        Some(json!({ "name": "y".repeat(1024 * 1024 + 1), "slug": "big" })),
    )
    .await;
    assert_problem(r, 413, "payload_too_large").await;
    // Just under the limit is read (and judged on its merits).
    let mut body = shirt("long", &shirts, "L");
    body["description"] = json!("x".repeat(900 * 1024));
    let r = create_product(&app, token(&owner), &sid, body).await;
    assert_eq!(
        r.status(),
        422,
        "a 900 KiB description is too long, not too large"
    );

    // An image over 1 MiB still uploads.
    let png = noisy_png(800, 600);
    assert!(png.len() > 1024 * 1024, "{} bytes", png.len());
    let r = upload(&app, token(&owner), png, "noise.png").await;
    assert_eq!(r.status(), 201);
}
