//! A whole Emporium on a random port with its own fresh database.

use std::sync::Arc;

use kernel::{Config, Platform};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";
/// The `INTERNAL_API_SECRET` of every test platform, so tests can act as a service.
pub const INTERNAL_SECRET: &str = "test-internal-secret";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub config: Config,
    /// The running platform (its bus, for delivering events by hand).
    pub platform: Arc<Platform>,
    /// Set when the services run apart (the distributed topology): how to wait for
    /// their events, which no platform of this process relays.
    pub apart: Option<Arc<crate::apart::EventAccount>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = kernel::testing::fresh_database_config();
        config.internal_secret = Some(kernel::secret::Redacted(INTERNAL_SECRET.into()));
        adjust(&mut config);
        clone_migrated_template(&config.database_url).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.bind = addr;
        config.public_url = format!("http://{addr}");
        config.gateway_url = config.public_url.clone();
        let app = emporium::build(config.clone(), emporium::SERVICES)
            .await
            .unwrap();
        // The server `emporium serve` runs, so its own refusals are tested too.
        tokio::spawn(emporium::serve::serve(
            listener,
            app.router,
            std::future::pending(),
        ));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Ready: search has filled its index from the (empty) catalog.
        crate::distributed::wait_ready(&http, &format!("http://{addr}")).await;
        Self {
            base: format!("http://{addr}"),
            http,
            config,
            platform: app.platform,
            apart: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Identity's typed client, for test set-up.
    pub fn identity(&self) -> contracts::identity::IdentityClient {
        contracts::identity::IdentityClient::new(self.platform.client(contracts::identity::SERVICE))
    }

    /// Vendors' typed client, for test set-up (assertions on the wire read raw JSON).
    pub fn vendors(&self) -> contracts::vendors::VendorsClient {
        contracts::vendors::VendorsClient::new(self.platform.client(contracts::vendors::SERVICE))
    }

    /// Catalog's typed client, for test set-up.
    pub fn catalog(&self) -> contracts::catalog::CatalogClient {
        contracts::catalog::CatalogClient::new(self.platform.client(contracts::catalog::SERVICE))
    }

    pub fn inventory(&self) -> contracts::inventory::InventoryClient {
        contracts::inventory::InventoryClient::new(
            self.platform.client(contracts::inventory::SERVICE),
        )
    }

    pub fn shipping(&self) -> contracts::shipping::ShippingClient {
        contracts::shipping::ShippingClient::new(self.platform.client(contracts::shipping::SERVICE))
    }

    pub fn tax(&self) -> contracts::tax::TaxClient {
        contracts::tax::TaxClient::new(self.platform.client(contracts::tax::SERVICE))
    }

    pub fn cart(&self) -> contracts::cart::CartClient {
        contracts::cart::CartClient::new(self.platform.client(contracts::cart::SERVICE))
    }

    /// A pool on one domain's schema, for looking behind the API.
    pub async fn pool(&self, schema: &'static str) -> sqlx::PgPool {
        kernel::db::connect_domain(&self.config, schema)
            .await
            .unwrap()
    }

    pub async fn register(&self, email: &str, name: &str) -> Response {
        self.post(
            "/api/v1/identity/register",
            json!({ "email": email, "password": PASSWORD, "name": name }),
        )
        .await
    }

    /// Waits until every event committed so far has been published and handled (the
    /// platform asks the outboxes; nothing sleeps a fixed time).
    pub async fn settle(&self) {
        match &self.apart {
            Some(account) => account.settle().await,
            None => self.platform.settle().await.unwrap(),
        }
    }

    /// The newest email of `kind` to `to`, once the events that send it are handled.
    pub async fn latest_email(&self, to: &str, kind: &str) -> Value {
        self.emails_to(to)
            .await
            .into_iter()
            .find(|m| m["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} email to {to}"))
    }

    /// Every email to `to` (newest first), once the events that send them are handled.
    pub async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.settle().await;
        let mailbox = contracts::notifications::NotificationsClient::new(
            self.platform.client(contracts::notifications::SERVICE),
        )
        .dev_mailbox(to)
        .await
        .unwrap();
        mailbox
            .items
            .iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect()
    }

    pub async fn verification_code(&self, to: &str) -> String {
        let email = self.latest_email(to, "verification").await;
        code_in(email["subject"].as_str().unwrap())
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/identity/login",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers, verifies and signs in a customer; returns the token response.
    pub async fn customer(&self, email: &str) -> Value {
        use contracts::identity::dto::{LoginRequest, RegisterRequest, VerifyEmailRequest};
        let identity = self.identity();
        let register = RegisterRequest {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            name: "Test Customer".to_owned(),
        };
        identity.register(&register).await.unwrap();
        let code = self.verification_code(email).await;
        let verify = VerifyEmailRequest {
            email: email.to_owned(),
            code,
        };
        identity.verify_email(&verify).await.unwrap();
        let login = LoginRequest {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        };
        let tokens = identity
            .login(&login, &kernel::http::ClientIp("127.0.0.1".to_owned()))
            .await
            .unwrap();
        serde_json::to_value(tokens).unwrap()
    }

    /// Creates an admin the way `emporium admin create-user --admin` does and signs in.
    pub async fn admin(&self, email: &str) -> Value {
        let pool = identity::connect(&self.config).await.unwrap();
        identity::create_user(&pool, &self.config, email, "Admin", PASSWORD, true)
            .await
            .unwrap();
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

/// One API call, signed in or not, with an optional JSON body.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut req = app.request(method, path);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// One call to a service-only `/internal/…` route, presenting the internal secret.
pub async fn service_call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app
        .request(method, path)
        .header("x-emporium-internal", INTERNAL_SECRET);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// The user id (`usr_…`) an access token is for.
pub fn subject(access_token: &str) -> String {
    claims_of(&json!({ "access_token": access_token }))["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An internal request made on a user's behalf (services act for users): `{ who: the
/// token's user, what: body }`.
pub fn acting_for(body: Value, who: &str, what: &str, access_token: &str) -> Value {
    json!({ who: subject(access_token), what: body })
}

/// `POST /api/v1/catalog/categories` as `admin`.
pub async fn post_category(
    app: &TestApp,
    admin: &str,
    name: &str,
    slug: &str,
    parent: Option<&Value>,
) -> Response {
    let body = json!({ "name": name, "slug": slug, "parent_id": parent.map(|p| p["id"].clone()) });
    call(
        app,
        Method::POST,
        "/api/v1/catalog/categories",
        Some(admin),
        Some(body),
    )
    .await
}

/// The claims inside a token response's access token.
pub fn claims_of(tokens: &Value) -> Value {
    use base64::Engine;
    let payload = token(tokens).split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn code_in(subject: &str) -> String {
    subject.rsplit(' ').next().unwrap().to_owned()
}

pub fn token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        res.status(),
        StatusCode::from_u16(status).unwrap(),
        "expected {status} {code}"
    );
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "problem content type"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "problem code in {body}");
    body
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// `GET path` anonymously, decoding the JSON answer.
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    app.http
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET path` with `client` (a browser-like client with its cookies), as text.
pub async fn page_text(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Creates the test's database as a copy of one already migrated (made once per set of
/// migrations, by whichever test gets there first), so a test does not run every
/// domain's migrations again: cloning takes about a quarter of migrating.
async fn clone_migrated_template(database_url: &str) {
    use sqlx::Connection;
    let (base, name) = database_url.rsplit_once('/').unwrap();
    let template = format!("emporium_test_template_{:016x}", migrations_digest());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    // One test at a time makes or clones it: a template must have no other session
    // while it is copied.
    sqlx::query("SELECT pg_advisory_lock(hashtext('emporium_test_template'))")
        .execute(&mut admin)
        .await
        .unwrap();
    let exists = |db: String| {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
        )
        .bind(db)
    };
    if !exists(template.clone())
        .fetch_one(&mut admin)
        .await
        .unwrap()
    {
        let mut config = kernel::testing::fresh_database_config();
        config.database_url = format!("{base}/{template}");
        emporium::migrate_all(&config).await.unwrap();
    }
    // A second app on a test's database (a replica) finds it made.
    if !exists(name.to_owned()).fetch_one(&mut admin).await.unwrap() {
        // Identifiers, not data: both names are made here from hex digits.
        sqlx::query(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext('emporium_test_template'))")
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
}

/// What the migrations of every crate say, so a changed migration makes a new template.
fn migrations_digest() -> u64 {
    use std::hash::{Hash, Hasher};
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<_> = std::fs::read_dir(&crates)
        .unwrap()
        .filter_map(|c| std::fs::read_dir(c.ok()?.path().join("migrations")).ok())
        .flatten()
        .filter_map(|f| f.ok().map(|f| f.path()))
        .collect();
    files.sort();
    // SipHash with fixed keys: the same digest in every test process.
    let mut hasher = std::hash::DefaultHasher::new();
    for file in files {
        file.file_name().hash(&mut hasher);
        std::fs::read(&file).unwrap().hash(&mut hasher);
    }
    hasher.finish()
}

/// The sum of a counter's series as this process's `/metrics` shows it (0 before its
/// first increment; every test runs in a process of its own).
pub fn counter(name: &str) -> f64 {
    kernel::telemetry::metrics()
        .render()
        .lines()
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until the counter `name` exceeds `above`: how a test learns that a background
/// job finished a round, instead of sleeping.
pub async fn until_counter_above(name: &str, above: f64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while counter(name) <= above {
        assert!(
            std::time::Instant::now() < deadline,
            "{name} stayed at {above}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Runs `work` while counting, every few milliseconds, the PostgreSQL connections the
/// app's domains and outbox listeners hold (`pg_stat_activity`, by their
/// `application_name`); returns what `work` returned and the most seen at once.
pub async fn peak_connections<F: std::future::Future>(app: &TestApp, work: F) -> (F::Output, i64) {
    use sqlx::{ConnectOptions, Connection};
    let options: sqlx::postgres::PgConnectOptions = app.config.database_url.parse().unwrap();
    let mut probe = options
        .application_name("connection-probe")
        .connect()
        .await
        .unwrap();
    let (done_tx, mut done) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut peak = 0i64;
        loop {
            let held: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name LIKE 'emporium-%'",
            )
            .fetch_one(&mut probe)
            .await
            .unwrap();
            peak = peak.max(held);
            if done.try_recv().is_ok() {
                let _ = probe.close().await;
                return peak;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    let output = work.await;
    let _ = done_tx.send(());
    (output, sampler.await.unwrap())
}
