//! Request and response bodies of identity's API (shared with its client).

use kernel::auth::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{AddressId, UserId};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(schema_with = kernel::http::schema::email)]
    pub email: String,
    /// At least 10 characters and not a common password.
    #[schema(schema_with = kernel::http::schema::password)]
    pub password: String,
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    #[schema(schema_with = kernel::http::schema::email)]
    pub email: String,
    /// The 6-digit code from the email.
    #[schema(schema_with = kernel::http::schema::digits::<6>)]
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[schema(schema_with = kernel::http::schema::email)]
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    pub token: String,
    #[schema(schema_with = kernel::http::schema::password)]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(schema_with = kernel::http::schema::password)]
    pub new_password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::text_or_null::<1, 100>)]
    pub name: Option<String>,
    /// Empty string clears the phone number.
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::phone)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub email_verified: bool,
    /// `active` or `suspended`.
    pub status: String,
    pub roles: Vec<Role>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Ed25519-signed JWT; send as `Authorization: Bearer …`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use: exchange it at `/token/refresh` for a new pair.
    pub refresh_token: String,
    pub user: UserView,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<50>)]
    pub label: Option<String>,
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub full_name: String,
    #[schema(schema_with = kernel::http::schema::text::<1, 200>)]
    pub line1: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<200>)]
    pub line2: Option<String>,
    #[schema(schema_with = kernel::http::schema::text::<1, 100>)]
    pub city: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::optional_text::<100>)]
    pub region: Option<String>,
    #[schema(schema_with = kernel::http::schema::text::<1, 20>)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `FR`.
    #[schema(schema_with = kernel::http::schema::country)]
    pub country: String,
    #[serde(default)]
    #[schema(schema_with = kernel::http::schema::phone)]
    pub phone: Option<String>,
    #[serde(default)]
    pub is_default_shipping: bool,
    #[serde(default)]
    pub is_default_billing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AddressView {
    pub id: AddressId,
    pub label: Option<String>,
    pub full_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressList {
    pub items: Vec<AddressView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Verified {
    pub email_verified: bool,
}
