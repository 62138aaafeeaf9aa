//! The public API keeps its word: schemathesis (PyPI) fuzzes the running platform over
//! its own OpenAPI document as each kind of caller, with real ids, every check on — no
//! server error, no answer outside the document, no schema-invalid request accepted and
//! no schema-valid one refused.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Stdio;

use tokio::process::Command;

use crate::access::b_objects;
use crate::support::*;

/// Examples per operation and phase: enough to reach every documented answer, few
/// enough that each caller's run takes under a minute.
const MAX_EXAMPLES: &str = "4";

/// Operations that would end the caller's own session or change its password mid-run;
/// they are fuzzed anonymously (and refused) like every other operation.
const SELF_ENDING: &str =
    "^/api/v1/identity/(logout|token|password|me/sessions|register|login|verify)";

/// What every run shares.
const CONFIG: &str = r#"
# Callers are who the run says they are: no signing up of its own.
[auth]
auto-signup = false

# No text may hold NUL (PostgreSQL cannot store it): the platform refuses it everywhere
# with a documented 400/422 `invalid_characters` (tests/it/refusals.rs).
[generation]
allow-x00 = false

# Values whose validity no schema can state (a card number's Luhn digit, a password not
# on the common-passwords list) come from here, so schema-valid requests are valid.
[dictionaries.cards]
values = ["4242 4242 4242 4242"]
[dictionaries.passwords]
values = ["conformance tests pass"]

# Positive requests may be refused (4xx with their own code) only where JSON Schema
# cannot state the rule, operation by operation:
# - a value that must match a secret the server issued: an emailed code, a reset or
#   invitation token, the current password;
# - check digits and lists: a card number's Luhn digit, an IBAN's check digits, a
#   password on the common-passwords list;
# - rules across fields or on stored objects: one currency per product, quote or cart;
#   a SKU once per product; compare-at above price; `ends_at` after `starts_at`; what a
#   promotion's or a shipping method's `kind` requires; a category, location or image
#   that exists; an action's own fields; a promotion's conditions; a CSV's columns; an
#   upload that is really an image; a review of something received, a photo uploaded,
#   one reply per review, not voting for one's own.
# Every other check stays on for them.
[[operations]]
include-path-regex = "^/api/v1/(identity/(verify-email|password/reset|me/password|register)|vendors/(invitations/accept|stores(/[^/]+)?)|orders/(checkout|sub-orders/[^/]+/[{]action[}])|catalog/(media|products/[^/]+|stores/[^/]+/products(/import)?)|promotions(/stores/[^/]+|/evaluate)?|shipping/stores/[^/]+/methods|tax/quote|inventory/variants/[^/]+/adjustments|reviews/(mine|reviews/[^/]+/(vote|reports|reply)|sub-orders/[^/]+/store-rating|admin/reviews/[^/]+/(hide|restore)))$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "402", "403", "404", "409", "410", "422", "429"]
"#;

/// The `[parameters]` every run shares: an empty cursor is the first page (a cursor
/// is issued by the server, so a made-up one is refused), and dictionary values.
const PARAMETERS: &str = r#"
[parameters]
"query.cursor" = ""
"body.card_number" = { dictionary = "cards", probability = 1.0 }
"body.password" = { dictionary = "passwords", probability = 1.0 }
"body.new_password" = { dictionary = "passwords", probability = 1.0 }
"#;

fn schemathesis() -> String {
    std::env::var("SCHEMATHESIS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/emporium/venv/bin/schemathesis",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

/// A schemathesis configuration: `parameters` fill every path parameter of that name,
/// `overrides` (path regex → parameters) win for the operations they match.
fn config(
    parameters: &BTreeMap<&str, String>,
    overrides: &[(&str, BTreeMap<&str, String>)],
) -> String {
    let mut toml = String::from(CONFIG);
    toml.push_str(PARAMETERS);
    for (name, value) in parameters {
        let _ = writeln!(toml, "\"path.{name}\" = \"{value}\"");
    }
    for (path, parameters) in overrides {
        let _ = writeln!(toml, "\n[[operations]]\ninclude-path-regex = \"{path}\"");
        let _ = writeln!(toml, "[operations.parameters]");
        for (name, value) in parameters {
            let _ = writeln!(toml, "\"path.{name}\" = \"{value}\"");
        }
    }
    toml
}

/// Who a run calls as; each is its own test (own platform, own objects), so the four
/// runs share the cores with the rest of the suite instead of queueing behind each other.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Anonymous,
    Customer,
    StoreOwner,
    Admin,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_api_conforms_to_its_document_for_anonymous_callers() {
    conforms_as(Caller::Anonymous).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_api_conforms_to_its_document_for_customers() {
    conforms_as(Caller::Customer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_api_conforms_to_its_document_for_store_owners() {
    conforms_as(Caller::StoreOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_api_conforms_to_its_document_for_admins() {
    conforms_as(Caller::Admin).await;
}

async fn conforms_as(caller: Caller) {
    let app = TestApp::spawn().await;
    let (shop, buyer, _staff, objects) = b_objects(&app).await;
    let mut parameters: BTreeMap<&str, String> = objects
        .into_iter()
        .filter(|(name, _)| {
            [
                "store",
                "variant",
                "product",
                "order",
                "sub_order",
                "checkout",
                "id",
                "method",
                "review",
            ]
            .contains(name)
        })
        .collect();
    parameters.insert("user", subject(token(&buyer)));
    let admin_users = BTreeMap::from([("id", subject(token(&buyer)))]);
    let bearer = match caller {
        Caller::Anonymous => None,
        Caller::Customer => Some(token(&buyer)),
        Caller::StoreOwner => Some(token(&shop.b_owner)),
        Caller::Admin => Some(token(&shop.admin)),
    };
    let dir = std::env::temp_dir().join(format!(
        "emporium-schemathesis-{}-{caller:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(
        &config_file,
        config(
            &parameters,
            &[("^/api/v1/identity/admin/users/", admin_users)],
        ),
    )
    .unwrap();
    let mut run = Command::new(schemathesis());
    run.arg("--config-file")
        .arg(&config_file)
        .args(["run", &format!("{}/openapi.json", app.base)])
        .args(["--checks", "all", "--max-examples", MAX_EXAMPLES])
        // One worker: hypothesis's source inspection is not thread-safe (it fails
        // now and then with "AST constructor recursion depth mismatch").
        .args(["--seed", "20261201", "--workers", "1"])
        .args(["--no-color", "--suppress-health-check", "all"]);
    if let Some(bearer) = bearer {
        run.args(["--header", &format!("Authorization: Bearer {bearer}")])
            .args(["--exclude-path-regex", SELF_ENDING]);
    }
    // Its caches and reports land in the scratch directory, not the checkout.
    let out = run
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{} runs (scripts/test installs schemathesis): {e}",
                schemathesis()
            )
        });
    let report = String::from_utf8_lossy(&out.stdout);
    // The volume of the run, for the log: "  2959 generated, 0 found, …".
    let cases = report
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1);
    eprintln!(
        "schemathesis as {caller:?}: {}",
        cases.unwrap_or("?").trim()
    );
    if out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // Kept with the document for `st replay` and reading.
    let document = get_json(&app, "/openapi.json").await;
    std::fs::write(dir.join("openapi.json"), document.to_string()).unwrap();
    panic!(
        "as {caller:?}:\n{report}\n(document and configuration in {})",
        dir.display()
    );
}
