//! Request and response bodies of vendors' API (shared with its client).

use kernel::auth::StoreRole;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::StoreId;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub holder_name: String,
    /// IBAN; spaces allowed. Its check digits must add up (422 `invalid_iban`).
    #[schema(schema_with = super::schema::iban)]
    pub iban: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The store's address: `/stores/<slug>`. 3 to 60 lowercase letters and digits,
    /// single hyphens between them (upper case is lowered); not a reserved word.
    #[schema(schema_with = super::schema::slug)]
    pub slug: String,
    #[schema(schema_with = kernel::http::schema::text::<2, 80>)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::prose::<2000>)]
    pub description: String,
    /// An `http(s)://` URL or a `/media/` path; null or blank: none.
    #[schema(schema_with = super::schema::logo_url)]
    pub logo_url: Option<String>,
    #[schema(schema_with = kernel::http::schema::email)]
    pub support_email: String,
    /// ISO 3166-1 alpha-2.
    #[schema(schema_with = kernel::http::schema::country)]
    pub country: String,
    pub payout: PayoutRequest,
}

/// A store's profile changes: a field absent or null stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStoreRequest {
    #[schema(schema_with = kernel::http::schema::text_or_null::<2, 80>)]
    pub name: Option<String>,
    #[schema(schema_with = kernel::http::schema::optional_prose::<2000>)]
    pub description: Option<String>,
    /// Empty string removes the logo.
    #[schema(schema_with = super::schema::logo_url)]
    pub logo_url: Option<String>,
    #[schema(schema_with = super::schema::email_or_null)]
    pub support_email: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(schema_with = super::schema::country_or_null)]
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
    /// 3 to 1000 characters.
    #[schema(schema_with = kernel::http::schema::text::<3, 1000>)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionRequest {
    /// Basis points (1250 = 12.5 %), 0 to 10000; `null` returns the store to the
    /// platform default.
    #[schema(minimum = 0, maximum = 10000)]
    pub commission_bps: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultCommission {
    /// Basis points (1000 = 10 %), 0 to 10000.
    #[schema(minimum = 0, maximum = 10000)]
    pub default_commission_bps: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    #[schema(schema_with = kernel::http::schema::email)]
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
    pub user_id: kernel::ids::UserId,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommissionView {
    /// The store's effective commission in basis points (its own or the default).
    pub commission_bps: i32,
}

/// Whether a store is suspended, as of its version: what search needs to hide a
/// suspended store's products when it builds a replica.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StoreState {
    pub store_id: StoreId,
    pub suspended: bool,
    /// The version of the store's latest event.
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreStatePage {
    pub items: Vec<StoreState>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<StoreId>,
}
