//! Access tokens: compact JWS (`alg: EdDSA`, Ed25519) signed by identity and verified
//! locally by every service from identity's JWKS, so no request needs a round trip to
//! identity. The format is small enough that we build it on `ed25519-dalek` directly
//! rather than pull in a JWT crate with half a dozen crypto backends.

mod callers;
mod revocation;
mod tokens;

pub use callers::*;
pub use revocation::*;
pub use tokens::*;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::sync::{Mutex, RwLock};
use utoipa::ToSchema;

use crate::http::Problem;
use crate::ids::{SessionId, StoreId, UserId};

pub const ISSUER: &str = "emporium";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Admin,
}

/// A user's role in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreRole {
    Owner,
    Staff,
}

crate::text_enum!(StoreRole { Owner = "owner", Staff = "staff" });

/// Membership of one store, as carried in the access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreMembership {
    pub store: StoreId,
    pub role: StoreRole,
}

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user: the one way every service names its caller.
    pub sub: UserId,
    /// The session (refresh-token family) this token belongs to.
    pub sid: SessionId,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    pub roles: Vec<Role>,
    /// Stores the user owns or staffs (as of the token's issue).
    #[serde(default)]
    pub stores: Vec<StoreMembership>,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// The user's role in `store`, if any.
    pub fn store_role(&self, store: StoreId) -> Option<StoreRole> {
        self.stores
            .iter()
            .find(|m| m.store == store)
            .map(|m| m.role)
    }

    /// Whether the user may manage the store with this id: its members, and admins.
    pub fn manages_store(&self, store: StoreId) -> bool {
        self.is_admin() || self.store_role(store).is_some()
    }
}
