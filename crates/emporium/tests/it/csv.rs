//! CSV import and export: thousands of rows, every bad row reported, nothing
//! half-written, and an export that imports back unchanged.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::Value;

use crate::products::category;
use crate::support::*;
use crate::vendors::approved_store;

const HEADER: &str = "product_slug,title,description,brand,category,attributes,tags,status,sku,options,price,currency,compare_at_price,weight_grams,barcode,images\n";

/// Imports once catalog has learnt (by event) that the store is open.
async fn import(app: &TestApp, token: &str, store: &str, body: Vec<u8>) -> reqwest::Response {
    app.settle().await;
    app.request(
        Method::POST,
        &format!("/api/v1/catalog/stores/{store}/products/import"),
    )
    .bearer_auth(token)
    .header("content-type", "text/csv")
    .body(body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn vendors_import_thousands_of_rows_and_export_them_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    category(&app, token(&admin), "shirts", None).await;
    let (owner_a, store_a) = approved_store(&app, &admin, "csv-house").await;
    let (owner_b, _) = approved_store(&app, &admin, "other-house").await;
    let customer = app.customer(&unique_email("buyer")).await;
    let (ta, tb) = (token(&owner_a), token(&owner_b));
    let a_id = store_a["id"].as_str().unwrap();

    // 1 000 products with three sizes each, a tenth of them published...
    let mut csv = String::from(HEADER);
    for p in 0..1000 {
        for (i, size) in ["S", "M", "L"].iter().enumerate() {
            let first = i == 0;
            let status = if first && p % 10 == 0 {
                "published"
            } else {
                ""
            };
            writeln!(
                csv,
                "shirt-{p},{},{},{},{},{},{},{status},SH-{p}-{size},Size={size},{}.{:02},EUR,,180,,",
                if first { format!("Shirt number {p}") } else { String::new() },
                if first { "\"Soft, plain \"\"cotton\"\".\"" } else { "" },
                if first { "Acme" } else { "" },
                if first { "shirts" } else { "" },
                if first { "color=blue;organic=true" } else { "" },
                if first { "cotton|basics" } else { "" },
                10 + i,
                p % 100,
            )
            .unwrap();
        }
    }
    // ...and rows that must be refused, each for its own reason.
    csv.push_str("bad-price,Bad,,,,,,,BP-1,,12.345,EUR,,,,\n"); // line 3002
    csv.push_str("bad-currency,Bad,,,,,,,BC-1,,1,XYZ,,,,\n"); // 3003
    csv.push_str("short-row,Short,,,,,,,SR-1\n"); // 3004
    csv.push_str("dup-sku,Dup,,,,,,,SH-1-S,,5,EUR,,,,\n"); // 3005: SKU of shirt-1
    csv.push_str("no-category,Lost,,,nowhere,,,,NC-1,,5,EUR,,,,\n"); // 3006
    csv.push_str("negative,Neg,,,,,,,NG-1,,-3,EUR,,,,\n"); // 3007
    csv.push_str("bad-slug!,Bad slug,,,,,,,BS-1,,5,EUR,,,,\n"); // 3008

    // Only the store's own people import into it.
    let body = csv.clone().into_bytes();
    assert_problem(
        import(&app, token(&customer), a_id, body.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(import(&app, tb, a_id, body.clone()).await, 403, "forbidden").await;

    let started = std::time::Instant::now();
    let r = import(&app, ta, a_id, body).await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    eprintln!("imported 3 007 rows in {:?}", started.elapsed());
    assert_eq!(report["rows"], 3007);
    assert_eq!(report["created"], 1000, "{report}");
    assert_eq!(report["published"], 100);
    let refused: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (3002, "price".to_owned()),
            (3003, "currency".to_owned()),
            (3004, "row".to_owned()),
            (3005, "sku".to_owned()),
            (3006, "category".to_owned()),
            (3007, "price".to_owned()),
            (3008, "product_slug".to_owned()),
        ],
        "{report}"
    );
    // Nothing of a refused product was written.
    let pool = app.pool("catalog").await;
    let (products, variants): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((products, variants), (1000, 3000));

    // A file that is not UTF-8, or lacks required columns, is refused whole.
    let latin1 = b"product_slug,sku,price,currency\ncaf\xe9,C-1,1,EUR\n".to_vec();
    assert_problem(
        import(&app, ta, a_id, latin1).await,
        422,
        "validation_failed",
    )
    .await;
    let r = import(&app, ta, a_id, b"slug,price\n".to_vec()).await;
    let body = assert_problem(r, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "missing_column");

    // The export imports back as the same products: all updated, none refused.
    let exported = app
        .request(
            Method::GET,
            &format!("/api/v1/catalog/stores/{a_id}/products/export"),
        )
        .bearer_auth(ta)
        .send()
        .await
        .unwrap();
    assert_eq!(exported.status(), 200);
    assert!(
        exported.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let exported = exported.bytes().await.unwrap().to_vec();
    assert_eq!(String::from_utf8_lossy(&exported).lines().count(), 3001);
    let again: Value = import(&app, ta, a_id, exported).await.json().await.unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(1000))
    );
    assert_eq!(again["rejected"], serde_json::json!([]));
    let r = app
        .request(
            Method::GET,
            &format!("/api/v1/catalog/stores/{a_id}/products/export"),
        )
        .bearer_auth(tb)
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, "forbidden").await;

    // Published rows are for sale: searchable like any product.
    app.settle().await;
    let r: Value = get_json(&app, "/api/v1/search/products?store=csv-house&per_page=1").await;
    assert_eq!(r["total"], 100);

    // The command-line import runs the same code, by store slug.
    let cli = format!("{HEADER}cli-shirt,From the CLI,,,,,,,CLI-1,,7.50,EUR,,,,\n");
    let report = emporium::import_products(&app.config, "csv-house", cli.as_bytes())
        .await
        .unwrap();
    assert_eq!((report.created, report.rejected.len()), (1, 0));
    assert!(
        emporium::import_products(&app.config, "no-such-store", cli.as_bytes())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_import_page_shows_the_report_and_the_export_downloads() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, store) = approved_store(&app, &admin, "page-house").await;
    let id = store["id"].as_str().unwrap();
    let email = claims_of(&owner)["email"].as_str().unwrap().to_owned();
    let (b, _) = crate::web::sign_in(&app, &email, "/vendor").await;
    let page = page_text(&b, &app, &format!("/vendor/stores/{id}/products/import")).await;
    let csrf = crate::web::csrf_of(&page);
    let csv =
        format!("{HEADER}mug,Mug,,,,,,,M-1,,9.90,EUR,,,,\nmug2,Mug 2,,,,,,,M-2,,nine,EUR,,,,\n");
    // Catalog learns by event that the store is open.
    app.settle().await;
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes())
            .file_name("products.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let r = b
        .post(app.url(&format!("/vendor/stores/{id}/products/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("1 products created"), "{html}");
    assert!(
        html.contains("<td>3</td><td>mug2</td><td>M-2</td><td>price</td>"),
        "{html}"
    );
    let csv = b
        .get(app.url(&format!("/vendor/stores/{id}/products.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(csv.text().await.unwrap().contains("mug,Mug"));
}

async fn export(app: &TestApp, token: &str, store: &str) -> String {
    let r = app
        .request(
            Method::GET,
            &format!("/api/v1/catalog/stores/{store}/products/export"),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn spreadsheet_formulas_leave_as_text_and_import_back_unchanged() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, store) = approved_store(&app, &admin, "formula-house").await;
    let id = store["id"].as_str().unwrap();
    let t = token(&owner);

    // A vendor's file whose cells a spreadsheet would run: DDE, a link, +, -, @.
    let csv = format!(
        "{HEADER}calc,=cmd|' /C calc'!A0,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",@Acme,,note=-1+1,+tag|-sale,,-SKU-1,Size=M,9.90,EUR,,,,\n"
    );
    let report: Value = import(&app, t, id, csv.into_bytes())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["rejected"], serde_json::json!([]));

    // The export quotes every text cell that starts like a formula; numbers stay numbers.
    let first = export(&app, t, id).await;
    let row = first.lines().nth(1).unwrap();
    assert_eq!(
        row,
        "calc,'=cmd|' /C calc'!A0,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",'@Acme,,note=-1+1,'+tag|-sale,draft,'-SKU-1,Size=M,9.90,EUR,,,,"
    );

    // What the export wrote imports back as the same product, and exports identically.
    let again: Value = import(&app, t, id, first.clone().into_bytes())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(again["rejected"], serde_json::json!([]), "{again}");
    assert_eq!(export(&app, t, id).await, first);
    let page = app
        .get_auth(&format!("/api/v1/catalog/stores/{id}/products"), t)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let product = &page["items"][0];
    assert_eq!(
        product["title"], "=cmd|' /C calc'!A0",
        "stored as typed: {product}"
    );
    assert_eq!(product["brand"], "@Acme");

    // The vendor's download in the web UI is the same neutralised file.
    let email = claims_of(&owner)["email"].as_str().unwrap().to_owned();
    let (b, _) = crate::web::sign_in(&app, &email, "/vendor").await;
    let download = b
        .get(app.url(&format!("/vendor/stores/{id}/products.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.text().await.unwrap(), first);
}

#[tokio::test]
async fn csv_files_over_a_mebibyte_are_still_imported() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin@example.com").await;
    let (owner, store) = approved_store(&app, &admin, "big-file-house").await;
    let id = store["id"].as_str().unwrap();
    let mut csv = String::from(HEADER);
    let description = "Long, careful prose about linen. ".repeat(60);
    for p in 0..800 {
        writeln!(
            csv,
            "long-{p},Long {p},\"{description}\",,,,,,LONG-{p},,5,EUR,,,,"
        )
        .unwrap();
    }
    assert!(csv.len() > 1024 * 1024, "{} bytes", csv.len());
    let r = import(&app, token(&owner), id, csv.into_bytes()).await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["created"], 800, "{report}");
    // Past the import's own limit: a problem, not a bare status.
    let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
    assert_problem(
        import(&app, token(&owner), id, huge).await,
        413,
        "payload_too_large",
    )
    .await;
}
