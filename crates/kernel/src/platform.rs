//! The composition machinery: a process hosts some services (all of them by default),
//! mounts their routers behind the shared layers, starts their outbox relays and event
//! consumers, and hands out clients for the services it does not host.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::Config;
use crate::auth::{InternalSecret, Jwks, JwksSource, Verifier, VerifierHandle};
use crate::cache::{Cache, LocalCache, RedisCache};
use crate::events::consumer::RetryPolicy;
use crate::events::in_process::InProcessBus;
use crate::events::rabbitmq::RabbitBus;
use crate::events::relay::{OutboxRelay, listen_for_commits};
use crate::events::{Bus, Subscription};
use crate::http::access::{self, AccessTable, Pages};
use crate::http::client::{ClientError, ServiceClient};
use crate::http::extract::TrustedProxies;
use crate::http::{Problem, idempotency, middleware as mw, ops};

/// Largest request body any endpoint accepts (uploads get their own limit later).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a domain crate contributes to a process.
pub struct ServiceModule {
    pub name: &'static str,
    /// The domain's pool, bound to its schema (none for stateless services).
    pub pool: Option<PgPool>,
    /// `/api/v1/<name>/…` and `/internal/<name>/…`, documented in OpenAPI.
    pub api: OpenApiRouter,
    /// Routes outside the API (web pages, media, dev tools), not in OpenAPI.
    pub pages: Pages,
    pub subscriptions: Vec<Subscription>,
    /// Answers requests no route matched (the web UI's friendly 404 page).
    pub fallback: Option<MethodRouter>,
}

pub struct Platform {
    pub config: Config,
    pub bus: Arc<dyn Bus>,
    pub cache: Arc<dyn Cache>,
    pub verifier: Arc<Verifier>,
    /// What this process's services present to each other (`INTERNAL_API_SECRET`).
    internal_secret: Arc<str>,
    hosted: HashMap<&'static str, Arc<OnceLock<Router>>>,
    /// Every route this process serves, with who may call it (set by `mount`).
    routes: OnceLock<AccessTable>,
    /// Each hosted service's outbox (its schema and pool), set by `mount`.
    outboxes: OnceLock<Vec<(&'static str, PgPool)>>,
    /// State services are still filling before they can answer in full (search's
    /// index): `/ready` is red until each is done.
    warmups: std::sync::Mutex<Vec<(&'static str, Warmup)>>,
    shutdown: watch::Sender<bool>,
}

/// Something a service fills after it starts; `/ready` waits for [`Warmup::finish`].
#[derive(Clone, Default)]
pub struct Warmup(Arc<std::sync::atomic::AtomicBool>);

impl Warmup {
    pub fn finish(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn is_finished(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Fetches identity's JWKS through identity's client, whichever process it lives in.
struct IdentityJwks(Weak<Platform>);

#[async_trait::async_trait]
impl JwksSource for IdentityJwks {
    async fn fetch(&self) -> anyhow::Result<Jwks> {
        let platform = self
            .0
            .upgrade()
            .ok_or_else(|| anyhow::anyhow!("platform stopped"))?;
        Ok(platform
            .client("identity")
            .get("/api/v1/identity/jwks.json")
            .send()
            .await?)
    }
}

impl Platform {
    /// `hosted` names the services this process runs; clients for the others go over HTTP.
    pub fn new(config: Config, hosted: &[&'static str]) -> anyhow::Result<Arc<Self>> {
        // Install the recorder before the first request so no sample is lost.
        crate::telemetry::metrics();
        let policy = RetryPolicy {
            max_attempts: config.event_max_attempts,
            base_delay: config.event_retry_base,
        };
        let bus: Arc<dyn Bus> = match &config.amqp_url {
            Some(url) => Arc::new(RabbitBus::new(url.clone(), &config.namespace, policy)),
            None => Arc::new(InProcessBus::new(policy)),
        };
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisCache::new(url, &config.namespace, config.cache_ttl)
                    .map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))?,
            ),
            None => Arc::new(LocalCache::new(config.cache_ttl)),
        };
        let (shutdown, _) = watch::channel(false);
        Ok(Arc::new_cyclic(|weak| Self {
            bus,
            cache,
            verifier: Arc::new(Verifier::new(Box::new(IdentityJwks(weak.clone())))),
            internal_secret: Arc::from(
                config
                    .internal_secret
                    .as_ref()
                    .map_or_else(crate::secret::random_token, |s| s.0.clone()),
            ),
            hosted: hosted
                .iter()
                .map(|name| (*name, Arc::new(OnceLock::new())))
                .collect(),
            config,
            routes: OnceLock::new(),
            outboxes: OnceLock::new(),
            warmups: std::sync::Mutex::new(Vec::new()),
            shutdown,
        }))
    }

    /// Registers state to fill (named in `/ready`'s checks) before this process is
    /// ready; call before [`Platform::mount`].
    pub fn warmup(&self, name: &'static str) -> Warmup {
        let warmup = Warmup::default();
        if let Ok(mut list) = self.warmups.lock() {
            list.push((name, warmup.clone()));
        }
        warmup
    }

    pub fn hosts(&self, service: &str) -> bool {
        self.hosted.contains_key(service)
    }

    /// A client for `service`: in-process when hosted here, HTTP otherwise.
    pub fn client(&self, service: &'static str) -> ServiceClient {
        let client = match self.hosted.get(service) {
            Some(cell) => {
                let cell = cell.clone();
                let lazy = tower::service_fn(move |req: Request<Body>| {
                    let router = cell.get().cloned();
                    async move {
                        match router {
                            Some(r) => Ok(r.oneshot(req).await.into_response()),
                            None => Err(ClientError::Transport {
                                service,
                                reason: "not started yet".into(),
                            }),
                        }
                    }
                });
                ServiceClient::in_process_service(service, lazy)
            }
            None => ServiceClient::remote(
                service,
                self.config.service_url(service),
                self.config.request_timeout,
            ),
        };
        client.with_internal_secret(&self.internal_secret)
    }

    /// Every route mounted in this process and who may call it.
    pub fn routes(&self) -> Vec<access::Declared> {
        let mut routes: Vec<_> = self
            .routes
            .get()
            .map(|t| t.routes().cloned().collect())
            .unwrap_or_default();
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        routes
    }

    /// Returns once every event this process's services committed so far has been
    /// published, and the events their handlers recorded in turn. It asks the outboxes
    /// (the relays are woken by every commit) instead of waiting a fixed time. All the
    /// outboxes are counted in one statement, so in one snapshot: a handler commits what
    /// it records before its event is marked published, so no event can slip between
    /// two counts. With the in-process bus an event is published only once every
    /// consumer handled (or dead-lettered) it; with RabbitMQ, only once the broker has
    /// it. For services sharing one database (the default composition).
    pub async fn settle(&self) -> anyhow::Result<()> {
        let outboxes = self.outboxes.get().map_or(&[][..], Vec::as_slice);
        let Some((_, pool)) = outboxes.first() else {
            return Ok(());
        };
        // Identifiers, not data: schemas are compile-time constants of the services.
        let count = outboxes
            .iter()
            .map(|(schema, _)| {
                format!("(SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL)")
            })
            .collect::<Vec<_>>()
            .join(" + ");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let pending: i64 = sqlx::query_scalar(&format!("SELECT {count}"))
                .fetch_one(pool)
                .await?;
            if pending == 0 {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{pending} events are still unpublished after a minute"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn shut_down(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Mounts the modules into one application, starts their relays and consumers.
    pub async fn mount(&self, modules: Vec<ServiceModule>) -> anyhow::Result<Router> {
        let mut app = Router::new();
        let mut doc = OpenApi::default();
        let mut pools = Vec::new();
        let mut fallback = None;
        let mut relays = Vec::new();
        let mut all_routes = AccessTable::default();
        for module in modules {
            let (api, api_doc) = module.api.split_for_parts();
            let mut table = AccessTable::from_openapi(module.name, &api_doc)
                .map_err(|e| anyhow::anyhow!("{}: {e}", module.name))?;
            crate::http::openapi::merge_checked(&mut doc, api_doc)
                .map_err(|e| anyhow::anyhow!("{}: {e}", module.name))?;
            let (pages, page_table) = module.pages.into_parts(module.name);
            table.extend(page_table);
            let table = Arc::new(table);
            all_routes.extend((*table).clone());
            let mut service = api.merge(pages);
            if let Some(pool) = &module.pool {
                service = service.layer(middleware::from_fn_with_state(
                    idempotency::Keys::new(pool.clone(), self.config.request_timeout),
                    idempotency::idempotency,
                ));
                pools.push((module.name, pool.clone()));
                relays.push((module.name, pool.clone()));
            }
            // A service may have no routes in this configuration (notifications outside
            // dev mode), and axum refuses a route layer on an empty router.
            let service = if service.has_routes() {
                service
                    .route_layer(middleware::from_fn_with_state(table, access::enforce))
                    .route_layer(middleware::from_fn(mw::label_route))
            } else {
                service
            }
            .layer(axum::Extension(VerifierHandle(self.verifier.clone())))
            .layer(axum::Extension(InternalSecret(
                self.internal_secret.clone(),
            )));
            if let Some(cell) = self.hosted.get(module.name) {
                let _ = cell.set(service.clone());
            }
            for sub in module.subscriptions {
                crate::events::consumer::register_counters(sub.consumer);
                self.bus.subscribe(sub).await?;
            }
            fallback = fallback.or(module.fallback);
            app = app.merge(service);
        }
        let _ = self.outboxes.set(relays.clone());
        // Relays start only once every consumer in this process listens, so a backlog
        // left by a crash is never published to nobody. One listener per database
        // wakes them all.
        let mut listeners: HashMap<&str, broadcast::Sender<Arc<str>>> = HashMap::new();
        for (schema, pool) in relays {
            let url = self.config.database_url_for(schema);
            let wakeups = listeners
                .entry(url)
                .or_insert_with(|| {
                    let (tx, _) = broadcast::channel(256);
                    tokio::spawn(listen_for_commits(
                        url.to_owned(),
                        tx.clone(),
                        self.shutdown_signal(),
                    ));
                    tx
                })
                .subscribe();
            let relay = OutboxRelay {
                schema,
                pool: pool.clone(),
                bus: self.bus.clone(),
                interval: self.config.relay_interval,
                wakeups,
            };
            tokio::spawn(relay.run(self.shutdown_signal()));
            tokio::spawn(crate::housekeeping::run(
                schema,
                pool,
                self.shutdown_signal(),
            ));
        }
        let (openapi, internal_openapi) = split_documents(doc)?;
        let (ops_router, ops_table) = ops::pages(ops::OpsState {
            pools,
            bus: self.bus.clone(),
            cache: self.cache.clone(),
            warmups: self.warmups.lock().map(|l| l.clone()).unwrap_or_default(),
            openapi: Arc::new(openapi),
            internal_openapi: Arc::new(internal_openapi),
        })
        .into_parts("ops");
        let ops_table = Arc::new(ops_table);
        all_routes.extend((*ops_table).clone());
        let _ = self.routes.set(all_routes);
        tokio::spawn(follow_revocations(
            self.client("identity"),
            self.verifier.clone(),
            self.shutdown_signal(),
        ));
        let ops_router = ops_router
            .route_layer(middleware::from_fn_with_state(ops_table, access::enforce))
            .route_layer(middleware::from_fn(mw::label_route))
            .layer(axum::Extension(InternalSecret(
                self.internal_secret.clone(),
            )));
        let app = app
            .merge(ops_router)
            .fallback_service(fallback.unwrap_or_else(|| axum::routing::any(api_not_found)))
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                self.config.request_timeout,
            ))
            .layer(middleware::from_fn(crate::http::extract::reject_nul))
            .layer(CatchPanicLayer::custom(panic_to_problem))
            .layer(axum::Extension(TrustedProxies(Arc::new(
                self.config.trusted_proxies.clone(),
            ))))
            .layer(middleware::from_fn(mw::observe));
        Ok(app)
    }
}

/// How often each process asks identity for revocations: a signed-out session, a
/// suspended user or an ended store membership is refused everywhere within about this.
const REVOCATION_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps this process's token verifier up to date with identity's revocations, whether
/// identity runs here or in another process.
async fn follow_revocations(
    identity: ServiceClient,
    verifier: Arc<Verifier>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut after = 0;
    let mut failing = false;
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match identity
            .get(&format!("/internal/identity/revocations?after={after}"))
            .send::<crate::auth::RevocationList>()
            .await
        {
            Ok(list) => {
                let full = list.items.len() >= crate::auth::REVOCATION_PAGE;
                after = verifier.revoke(&list.items, now);
                if failing {
                    tracing::info!("revocations are followed again");
                }
                failing = false;
                if full {
                    continue;
                }
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "revocations cannot be read; retrying every second");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(REVOCATION_POLL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The public API's document, and the `/internal/…` operations' apart from it.
fn split_documents(mut public: OpenApi) -> anyhow::Result<(String, String)> {
    public.info.title = "Emporium".into();
    public.info.version = env!("CARGO_PKG_VERSION").into();
    public.info.description = Some("Multi-vendor marketplace API".into());
    let mut internal = public.clone();
    public
        .paths
        .paths
        .retain(|path, _| !path.starts_with("/internal/"));
    internal
        .paths
        .paths
        .retain(|path, _| path.starts_with("/internal/"));
    public
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            access::BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    internal.info.title = "Emporium internal API".into();
    internal.info.description =
        Some("Service-to-service operations; never exposed at the edge".into());
    internal
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            access::SERVICE,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
                crate::auth::INTERNAL_SECRET_HEADER.as_str(),
            ))),
        );
    let serve = |doc: OpenApi| -> anyhow::Result<String> {
        let mut json = serde_json::to_value(doc)?;
        crate::http::openapi::document_refusals(&mut json);
        Ok(serde_json::to_string_pretty(&json)?)
    };
    Ok((serve(public)?, serve(internal)?))
}

async fn api_not_found() -> Problem {
    Problem::no_such_resource()
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This resource does not accept that method",
    )
}

fn panic_to_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Problem::internal(&"handler panicked").into_response()
}
