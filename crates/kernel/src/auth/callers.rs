//! Who is calling: extractors for a signed-in user, an admin, or another service.

use super::*;

/// The verified caller of a request (`Authorization: Bearer <access token>`).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

/// The caller, if the request carries a token; an invalid token is still a 401.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Claims>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if bearer_token(&parts.headers).is_none() {
            return Ok(Self(None));
        }
        let AuthUser(claims) = AuthUser::from_request_parts(parts, state).await?;
        Ok(Self(Some(claims)))
    }
}

/// A verified caller who holds the admin role.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Claims);

/// Installed on every service's router so extractors can find the verifier.
#[derive(Clone)]
pub struct VerifierHandle(pub Arc<Verifier>);

/// The header services present `INTERNAL_API_SECRET` in.
pub static INTERNAL_SECRET_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-emporium-internal");

/// Installed on every service's router so [`ServiceCaller`] can check callers.
#[derive(Clone)]
pub struct InternalSecret(pub Arc<str>);

/// Another Emporium service calling an `/internal/…` endpoint (it presented the
/// deployment's internal secret); anyone else gets a 404, as if the route did not exist.
#[derive(Debug, Clone, Copy)]
pub struct ServiceCaller;

impl<S: Send + Sync> FromRequestParts<S> for ServiceCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if presents_internal_secret(parts) {
            Ok(Self)
        } else {
            Err(Problem::no_such_resource())
        }
    }
}

/// Whether the request presents this deployment's internal secret.
pub fn presents_internal_secret(parts: &Parts) -> bool {
    let expected = parts.extensions.get::<InternalSecret>();
    let presented = parts.headers.get(&INTERNAL_SECRET_HEADER);
    match (expected, presented) {
        // Comparing digests keeps the comparison's timing independent of the secret.
        (Some(e), Some(p)) => {
            !p.is_empty()
                && sha2::Sha256::digest(e.0.as_bytes()) == sha2::Sha256::digest(p.as_bytes())
        }
        _ => false,
    }
}

pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl AuthUser {
    /// The caller the access check already verified, or the bearer token verified now.
    pub async fn from_parts(parts: &mut Parts) -> Result<Self, Problem> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let Some(token) = bearer_token(&parts.headers) else {
            return Err(Problem::unauthorized(
                "unauthenticated",
                "Sign in to do this",
            ));
        };
        let Some(VerifierHandle(verifier)) = parts.extensions.get::<VerifierHandle>() else {
            return Err(Problem::internal(&"no token verifier installed"));
        };
        Ok(Self(verifier.verify(token).await?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser(claims) = AuthUser::from_request_parts(parts, state).await?;
        if claims.is_admin() {
            Ok(Self(claims))
        } else {
            Err(Problem::forbidden())
        }
    }
}
