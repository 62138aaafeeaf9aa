//! Request and response bodies of vendors' API (shared with its client).

use kernel::auth::StoreRole;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::domain::StoreId;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    pub holder_name: String,
    /// IBAN; spaces allowed.
    pub iban: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The store's address: `/stores/<slug>`. Lowercase letters, digits, hyphens.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub logo_url: Option<String>,
    pub support_email: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub payout: PayoutRequest,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStoreRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Empty string removes the logo.
    pub logo_url: Option<String>,
    pub support_email: Option<String>,
    pub country: Option<String>,
    /// Owner or admin only.
    pub payout: Option<PayoutRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(as = PayoutDetailsView)]
pub struct PayoutView {
    pub holder_name: String,
    /// In full for the owner and admins, masked for staff.
    pub iban: String,
}

/// A store. Private fields appear only for its members and admins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StoreView {
    pub id: StoreId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub logo_url: Option<String>,
    pub support_email: String,
    pub country: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `pending`, `approved`, `rejected` or `suspended` (members and admins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<String>,
    /// Why it was rejected or suspended (members and admins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_reason: Option<String>,
    /// Effective commission in basis points (members and admins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commission_bps: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payout: Option<PayoutView>,
    /// The caller's role in this store, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub my_role: Option<StoreRole>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StorePage {
    pub items: Vec<StoreView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionRequest {
    /// Basis points (1250 = 12.5 %); `null` returns the store to the platform default.
    pub commission_bps: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultCommission {
    pub default_commission_bps: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    /// `staff` (default) or `owner`.
    pub role: Option<StoreRole>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub email: String,
    pub role: StoreRole,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MemberView {
    /// The member's user id (`usr_…`).
    pub user_id: String,
    pub email: String,
    pub role: StoreRole,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyStores {
    pub items: Vec<StoreView>,
}
