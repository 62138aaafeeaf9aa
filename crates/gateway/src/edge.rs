//! Checks made once at the edge before a request costs a service anything: a bearer
//! token must verify (identity's keys, fetched through the gateway's own route to
//! identity), and the caller must be within its rate limits. The services still verify
//! the token themselves (revocations, roles): the gateway only turns away what can
//! never succeed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::auth::{Jwks, JwksSource, Verifier};
use kernel::http::Problem;
use kernel::http::extract::{FORWARDED_FOR, resolve_client_ip};

use crate::limits::Limiter;
use crate::proxy::{Proxy, retry_seconds};
use crate::routes::{Destination, Routes};

/// Fetches identity's public keys through the gateway's route to identity's replicas.
pub struct IdentityKeys {
    pub proxy: Proxy,
    pub routes: Arc<Routes>,
}

const JWKS_PATH: &str = "/api/v1/identity/jwks.json";

#[async_trait::async_trait]
impl JwksSource for IdentityKeys {
    async fn fetch(&self) -> anyhow::Result<Jwks> {
        let Destination::Upstream { upstream, timeout } = self.routes.destination(JWKS_PATH) else {
            anyhow::bail!("the gateway has no route to identity");
        };
        let body = self
            .proxy
            .get_bytes(upstream, JWKS_PATH, timeout, 1024 * 1024)
            .await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

pub struct Edge {
    /// `None` when the gateway has no route to identity (nothing to verify with).
    pub verifier: Option<Verifier>,
    pub limiter: Limiter,
    pub trusted_proxies: Vec<IpAddr>,
}

impl Edge {
    /// The client's address, believing `X-Forwarded-For` only from trusted proxies
    /// (the load balancer in front, if any).
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> String {
        let forwarded = headers.get(&FORWARDED_FOR).and_then(|v| v.to_str().ok());
        resolve_client_ip(Some(peer.ip()), forwarded, &self.trusted_proxies)
    }

    /// Turns the request away (401 for a token that does not verify, 429 over a rate
    /// limit) or lets it through.
    pub async fn admit(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        client: &str,
    ) -> Result<(), Response> {
        let user = match (bearer(headers), &self.verifier) {
            (Some(token), Some(verifier)) => match verifier.verify(token).await {
                Ok(claims) => Some(claims.sub.to_string()),
                Err(kernel::auth::TokenError::KeysUnavailable) => None,
                Err(e) => {
                    return Err(Problem::unauthorized(
                        "invalid_token",
                        "The access token is not valid",
                    )
                    .detail(e.to_string())
                    .into_response());
                }
            },
            _ => None,
        };
        if let Some((wait, rule)) = self
            .limiter
            .check(method, path, client, user.as_deref())
            .await
        {
            return Err(too_many(wait, rule));
        }
        Ok(())
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn too_many(wait: Duration, rule: &str) -> Response {
    let seconds = retry_seconds(wait);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests",
    )
    .detail(format!(
        "Over the {rule} limit; try again in {} s",
        seconds.max(1)
    ))
    .retry_after(seconds.max(1))
    .into_response()
}
