//! Who may call each route, declared once per route and enforced by the router, so a
//! route nobody declared is refused (default deny).
//!
//! API operations declare their caller in their OpenAPI `security` requirement, using
//! the role names OpenAPI 3.1 allows in it, so the document clients read is the rule the
//! router applies:
//!
//! | `security(…)` | [`Access`] |
//! |---|---|
//! | `()` (an empty requirement, alone or beside `bearer`) | anyone, signed in or not |
//! | `("bearer" = [])` | signed in (the handler decides on the object it names) |
//! | `("bearer" = ["store_member"])` | a member of the store in `{store}`, or an admin |
//! | `("bearer" = ["store_owner"])` | an owner of the store in `{store}`, or an admin |
//! | `("bearer" = ["admin"])` | an admin |
//! | `("service" = [])` | another Emporium service (`/internal/…` only) |
//!
//! Pages declare theirs through [`Pages`], which cannot add a route without one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;
use utoipa::openapi::OpenApi;

use crate::auth::{AuthUser, Claims, StoreRole, presents_internal_secret};
use crate::http::Problem;
use crate::ids::StoreId;

/// The security scheme of access tokens in the OpenAPI documents.
pub const BEARER: &str = "bearer";
/// The security scheme of the service credential (`x-emporium-internal`).
pub const SERVICE: &str = "service";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone, signed in or not (a token, when sent, must still be valid).
    Anyone,
    /// Any signed-in user; the handler decides on the object the path names.
    SignedIn,
    /// A member (owner or staff) of the store the path's `{store}` names, or an admin.
    StoreMember,
    /// An owner of the store the path's `{store}` names, or an admin.
    StoreOwner,
    Admin,
    /// Another Emporium service presenting the deployment's internal secret.
    Service,
}

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No (valid) sign-in where one is needed.
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden,
    /// Not a service: the route does not exist for this caller.
    Hidden,
}

impl Access {
    /// The declaration in an operation's `security` list (JSON as OpenAPI writes it).
    pub fn from_security(security: Option<&serde_json::Value>) -> Result<Self, String> {
        let Some(requirements) = security.and_then(|s| s.as_array()) else {
            return Err("declares no `security`".into());
        };
        let parsed = requirements
            .iter()
            .map(Self::from_requirement)
            .collect::<Result<Vec<_>, _>>()?;
        match parsed.as_slice() {
            [] => Err("declares an empty `security` list".into()),
            [one] => Ok(*one),
            // An empty requirement beside `bearer` makes signing in optional.
            many if many
                .iter()
                .all(|a| matches!(a, Self::Anyone | Self::SignedIn)) =>
            {
                Ok(Self::Anyone)
            }
            _ => Err("lists two different sign-in requirements".into()),
        }
    }

    fn from_requirement(requirement: &serde_json::Value) -> Result<Self, String> {
        let Some(schemes) = requirement.as_object() else {
            return Err("has a malformed security requirement".into());
        };
        let roles: Vec<&str> = schemes
            .values()
            .next()
            .and_then(|r| r.as_array())
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        match (schemes.keys().next().map(String::as_str), roles.as_slice()) {
            _ if schemes.len() > 1 => Err("combines two schemes in one requirement".into()),
            (None, _) => Ok(Self::Anyone),
            (Some(SERVICE), []) => Ok(Self::Service),
            (Some(BEARER), []) => Ok(Self::SignedIn),
            (Some(BEARER), ["admin"]) => Ok(Self::Admin),
            (Some(BEARER), ["store_member"]) => Ok(Self::StoreMember),
            (Some(BEARER), ["store_owner"]) => Ok(Self::StoreOwner),
            (scheme, roles) => Err(format!(
                "names an unknown scheme or roles: {scheme:?} {roles:?}"
            )),
        }
    }

    /// Whether a caller with these credentials may call a route declared with `self`;
    /// `store` is the path's `{store}`, `service` whether the internal secret was shown.
    pub fn permits(
        self,
        claims: Option<&Claims>,
        store: Option<StoreId>,
        service: bool,
    ) -> Result<(), Refusal> {
        let member_role = |claims: &Claims| store.and_then(|s| claims.store_role(s));
        match (self, claims) {
            (Self::Anyone, _) => Ok(()),
            (Self::Service, _) if service => Ok(()),
            (Self::Service, _) => Err(Refusal::Hidden),
            (_, None) => Err(Refusal::Unauthenticated),
            (Self::SignedIn, Some(_)) => Ok(()),
            (_, Some(c)) if c.is_admin() => Ok(()),
            (Self::StoreMember, Some(c)) if member_role(c).is_some() => Ok(()),
            (Self::StoreOwner, Some(c)) if member_role(c) == Some(StoreRole::Owner) => Ok(()),
            _ => Err(Refusal::Forbidden),
        }
    }
}

/// One declared route: what the authorization tests walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declared {
    pub method: String,
    pub path: String,
    pub access: Access,
    /// The service whose route it is.
    pub service: &'static str,
    /// A page (refusals are redirects and pages) rather than an API operation.
    pub page: bool,
}

/// The declarations of one service's routes, by route template and method (looked up
/// on every request, without allocating).
#[derive(Debug, Default, Clone)]
pub struct AccessTable {
    routes: HashMap<String, HashMap<Method, Declared>>,
}

impl AccessTable {
    /// Reads the declarations of every operation in `doc`; an operation without one is
    /// an error, so an undeclared API route stops the process from starting.
    pub fn from_openapi(service: &'static str, doc: &OpenApi) -> Result<Self, String> {
        let json = serde_json::to_value(&doc.paths).map_err(|e| e.to_string())?;
        let mut table = Self::default();
        for (path, item) in json.as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let access = Access::from_security(operation.get("security"))
                    .map_err(|e| format!("{method} {path} {e}"))?;
                if path.starts_with("/internal/") != (access == Access::Service) {
                    return Err(format!(
                        "{method} {path}: routes under /internal/ are for services, and only they are"
                    ));
                }
                table.insert(service, method, path, access, false);
            }
        }
        Ok(table)
    }

    fn insert(
        &mut self,
        service: &'static str,
        method: Method,
        path: &str,
        access: Access,
        page: bool,
    ) {
        let declared = Declared {
            method: method.to_string(),
            path: path.to_owned(),
            access,
            service,
            page,
        };
        self.routes
            .entry(path.to_owned())
            .or_default()
            .insert(method, declared);
    }

    pub fn extend(&mut self, other: Self) {
        for (path, methods) in other.routes {
            self.routes.entry(path).or_default().extend(methods);
        }
    }

    pub fn get(&self, method: &Method, path: &str) -> Option<&Declared> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.routes.get(path)?.get(method)
    }

    pub fn routes(&self) -> impl Iterator<Item = &Declared> {
        self.routes.values().flat_map(HashMap::values)
    }
}

/// The refusal as an API answers it.
pub fn api_refusal(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Unauthenticated => {
            Problem::unauthorized("unauthenticated", "Sign in to do this").into_response()
        }
        Refusal::Forbidden => Problem::forbidden().into_response(),
        Refusal::Hidden => Problem::not_found("resource").into_response(),
    }
}

/// The `{store}` of the matched route, if it names one.
pub async fn store_param(parts: &mut Parts) -> Option<StoreId> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "store")
        .and_then(|(_, value)| value.parse().ok())
}

/// Enforces the table on every matched route of a service: API routes here; pages are
/// checked by their own guard (which knows the session), but must be declared too.
pub async fn enforce(State(table): State<Arc<AccessTable>>, req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>() else {
        return next.run(req).await;
    };
    let Some((page, access)) = table
        .get(req.method(), path.as_str())
        .map(|d| (d.page, d.access))
    else {
        let path = path.as_str();
        tracing::error!(method = %req.method(), %path, "refused a route that declares no access");
        return api_refusal(Refusal::Hidden);
    };
    if page || access == Access::Anyone {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let service = presents_internal_secret(&parts);
    let claims = if access == Access::Service || crate::auth::bearer_token(&parts.headers).is_none()
    {
        None
    } else {
        match AuthUser::from_parts(&mut parts).await {
            Ok(AuthUser(claims)) => Some(claims),
            Err(problem) => return problem.into_response(),
        }
    };
    let store = store_param(&mut parts).await;
    if let Err(refusal) = access.permits(claims.as_ref(), store, service) {
        return api_refusal(refusal);
    }
    if let Some(claims) = claims {
        parts.extensions.insert(AuthUser(claims));
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Decides for a page: `None` lets the request through, `Some` is the refusal to send.
/// It gets the request and the `{store}` the path names, if any.
pub type PageGuard = Arc<dyn Fn(Access, &Parts, Option<StoreId>) -> Option<Response> + Send + Sync>;

/// Pages and other routes outside the API, each added with who may call it.
pub struct Pages<S = ()> {
    router: Router<S>,
    declared: Vec<(Method, String, Access)>,
    guard: Option<PageGuard>,
}

impl Default for Pages<()> {
    fn default() -> Self {
        Self::new(None)
    }
}

impl<S: Clone + Send + Sync + 'static> Pages<S> {
    /// `guard` turns a declaration into a decision for one request (a web UI's, which
    /// reads the session); without one, the platform checks the caller as it does for
    /// API routes (bearer token, service secret) and refuses with problem+json.
    pub fn new(guard: Option<PageGuard>) -> Self {
        Self {
            router: Router::new(),
            declared: Vec::new(),
            guard,
        }
    }

    pub fn get<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route(path, Method::GET, access, on(MethodFilter::GET, handler))
    }

    pub fn post<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route(path, Method::POST, access, on(MethodFilter::POST, handler))
    }

    /// `route` must answer `method` only (it may carry its own layers).
    pub fn route(
        mut self,
        path: &str,
        method: Method,
        access: Access,
        route: MethodRouter<S>,
    ) -> Self {
        let route = match &self.guard {
            Some(guard) if access != Access::Anyone => {
                let guard = guard.clone();
                route.layer(middleware::from_fn(move |req: Request, next: Next| {
                    let guard = guard.clone();
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let store = store_param(&mut parts).await;
                        if let Some(refusal) = guard(access, &parts, store) {
                            return refusal;
                        }
                        next.run(Request::from_parts(parts, body)).await
                    }
                }))
            }
            _ => route,
        };
        self.declared.push((method, path.to_owned(), access));
        self.router = self.router.route(path, route);
        self
    }

    /// Wraps the routes added so far (layers for every page).
    pub fn map_router(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn with_state<S2>(self, state: S) -> Pages<S2> {
        Pages {
            router: self.router.with_state(state),
            declared: self.declared,
            guard: self.guard,
        }
    }
}

impl Pages<()> {
    /// The router and the declarations of `service`'s pages.
    pub fn into_parts(self, service: &'static str) -> (Router, AccessTable) {
        let mut table = AccessTable::default();
        let page = self.guard.is_some();
        for (method, path, access) in self.declared {
            table.insert(service, method, &path, access, page);
        }
        (self.router, table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde_json::json;
    use tower::ServiceExt;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;

    /// Declared for admins.
    #[utoipa::path(get, path = "/api/v1/test/declared", security(("bearer" = ["admin"])),
        responses((status = 200)))]
    async fn declared() -> &'static str {
        "declared"
    }

    /// Declares nobody.
    #[utoipa::path(get, path = "/api/v1/test/undeclared", responses((status = 200)))]
    async fn undeclared() -> &'static str {
        "undeclared"
    }

    /// Under /internal/ yet declared for anyone.
    #[utoipa::path(get, path = "/internal/test/open", security(()), responses((status = 200)))]
    async fn open_internal() -> &'static str {
        "open"
    }

    #[test]
    fn an_operation_without_a_declaration_stops_the_start() {
        let (_, doc) = OpenApiRouter::<()>::new()
            .routes(routes!(declared))
            .routes(routes!(undeclared))
            .split_for_parts();
        let err = AccessTable::from_openapi("test", &doc).unwrap_err();
        assert!(err.contains("/api/v1/test/undeclared"), "{err}");
        let (_, doc) = OpenApiRouter::<()>::new()
            .routes(routes!(open_internal))
            .split_for_parts();
        assert!(AccessTable::from_openapi("test", &doc).is_err());
    }

    #[tokio::test]
    async fn a_route_added_around_the_declarations_is_refused() {
        let (router, doc) = OpenApiRouter::<()>::new()
            .routes(routes!(declared))
            .split_for_parts();
        let table = Arc::new(AccessTable::from_openapi("test", &doc).unwrap());
        let app = router
            .route(
                "/api/v1/test/sneaky",
                axum::routing::get(|| async { "leaked" }),
            )
            .route_layer(middleware::from_fn_with_state(table, enforce));
        let get = |path: &str| axum::http::Request::get(path).body(Body::empty()).unwrap();
        let sneaky = app
            .clone()
            .oneshot(get("/api/v1/test/sneaky"))
            .await
            .unwrap();
        assert_eq!(sneaky.status(), axum::http::StatusCode::NOT_FOUND);
        let anonymous = app.oneshot(get("/api/v1/test/declared")).await.unwrap();
        assert_eq!(anonymous.status(), axum::http::StatusCode::UNAUTHORIZED);
    }

    fn claims(admin: bool, stores: &[(StoreId, StoreRole)]) -> Claims {
        Claims {
            sub: crate::ids::UserId::new(),
            sid: crate::ids::SessionId::new(),
            email: String::new(),
            email_verified: true,
            roles: if admin {
                vec![crate::auth::Role::Admin]
            } else {
                vec![crate::auth::Role::Customer]
            },
            stores: stores
                .iter()
                .map(|(s, role)| crate::auth::StoreMembership {
                    store: *s,
                    role: *role,
                })
                .collect(),
            iss: crate::auth::ISSUER.into(),
            iat: 0,
            exp: 1,
        }
    }

    #[test]
    fn declarations_read_from_openapi_security() {
        let read = |v| Access::from_security(Some(&v));
        assert_eq!(read(json!([{}])), Ok(Access::Anyone));
        assert_eq!(read(json!([{}, {"bearer": []}])), Ok(Access::Anyone));
        assert_eq!(read(json!([{"bearer": []}])), Ok(Access::SignedIn));
        assert_eq!(read(json!([{"bearer": ["admin"]}])), Ok(Access::Admin));
        assert_eq!(
            read(json!([{"bearer": ["store_owner"]}])),
            Ok(Access::StoreOwner)
        );
        assert_eq!(read(json!([{"service": []}])), Ok(Access::Service));
        assert!(read(json!([{"bearer": ["root"]}])).is_err());
        assert!(read(json!([])).is_err());
        assert!(Access::from_security(None).is_err());
    }

    #[test]
    fn each_access_admits_exactly_its_callers() {
        let (a, b) = (Some(StoreId::new()), Some(StoreId::new()));
        let customer = claims(false, &[]);
        let owner = claims(false, &[(a.unwrap(), StoreRole::Owner)]);
        let staff = claims(false, &[(a.unwrap(), StoreRole::Staff)]);
        let admin = claims(true, &[]);
        use Refusal::*;
        assert_eq!(Access::Anyone.permits(None, None, false), Ok(()));
        assert_eq!(
            Access::SignedIn.permits(None, None, false),
            Err(Unauthenticated)
        );
        assert_eq!(
            Access::SignedIn.permits(Some(&customer), None, false),
            Ok(())
        );
        assert_eq!(
            Access::Admin.permits(Some(&owner), None, false),
            Err(Forbidden)
        );
        assert_eq!(Access::Admin.permits(Some(&admin), None, false), Ok(()));
        assert_eq!(Access::StoreMember.permits(Some(&staff), a, false), Ok(()));
        assert_eq!(
            Access::StoreMember.permits(Some(&staff), b, false),
            Err(Forbidden)
        );
        assert_eq!(
            Access::StoreMember.permits(Some(&customer), a, false),
            Err(Forbidden)
        );
        assert_eq!(
            Access::StoreOwner.permits(Some(&staff), a, false),
            Err(Forbidden)
        );
        assert_eq!(Access::StoreOwner.permits(Some(&owner), a, false), Ok(()));
        assert_eq!(
            Access::StoreOwner.permits(Some(&owner), b, false),
            Err(Forbidden)
        );
        assert_eq!(Access::StoreOwner.permits(Some(&admin), b, false), Ok(()));
        assert_eq!(
            Access::Service.permits(Some(&admin), None, false),
            Err(Hidden)
        );
        assert_eq!(Access::Service.permits(None, None, true), Ok(()));
    }
}
