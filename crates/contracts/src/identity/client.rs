//! The typed client other services (and the web front end) use to call identity,
//! in-process or over HTTP alike.

use kernel::http::ClientIp;
use kernel::http::client::{ClientError, ServiceClient};
use kernel::http::extract::FORWARDED_FOR;

use super::dto::*;
use super::{AddressId, UserId};

type Result<T> = std::result::Result<T, ClientError>;

const BASE: &str = "/api/v1/identity";

#[derive(Clone)]
pub struct IdentityClient {
    http: ServiceClient,
}

impl IdentityClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    pub async fn register(&self, req: &RegisterRequest) -> Result<UserView> {
        self.http
            .post(&format!("{BASE}/register"))
            .json(req)
            .send()
            .await
    }

    pub async fn verify_email(&self, req: &VerifyEmailRequest) -> Result<Verified> {
        self.http
            .post(&format!("{BASE}/verify-email"))
            .json(req)
            .send()
            .await
    }

    pub async fn resend_verification(&self, email: &str, ip: &ClientIp) -> Result<Accepted> {
        self.http
            .post(&format!("{BASE}/verify-email/resend"))
            .header(FORWARDED_FOR.clone(), &ip.0)
            .json(&EmailRequest {
                email: email.to_owned(),
            })
            .send()
            .await
    }

    /// `ip` is the end user's address, forwarded so throttling applies to them.
    pub async fn login(&self, req: &LoginRequest, ip: &ClientIp) -> Result<TokenResponse> {
        self.http
            .post(&format!("{BASE}/login"))
            .header(FORWARDED_FOR.clone(), &ip.0)
            .json(req)
            .send()
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse> {
        self.http
            .post(&format!("{BASE}/token/refresh"))
            .json(&RefreshRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .send()
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<()> {
        self.http
            .post(&format!("{BASE}/logout"))
            .json(&RefreshRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .send_empty()
            .await
    }

    pub async fn logout_all(&self, token: &str) -> Result<()> {
        self.http
            .post(&format!("{BASE}/logout-all"))
            .bearer(token)
            .send_empty()
            .await
    }

    pub async fn forgot_password(&self, email: &str, ip: &ClientIp) -> Result<Accepted> {
        self.http
            .post(&format!("{BASE}/password/forgot"))
            .header(FORWARDED_FOR.clone(), &ip.0)
            .json(&EmailRequest {
                email: email.to_owned(),
            })
            .send()
            .await
    }

    pub async fn reset_password(&self, req: &ResetPasswordRequest) -> Result<()> {
        self.http
            .post(&format!("{BASE}/password/reset"))
            .json(req)
            .send_empty()
            .await
    }

    pub async fn me(&self, token: &str) -> Result<UserView> {
        self.http
            .get(&format!("{BASE}/me"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn update_me(&self, token: &str, req: &UpdateProfileRequest) -> Result<UserView> {
        self.http
            .patch(&format!("{BASE}/me"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn change_password(&self, token: &str, req: &ChangePasswordRequest) -> Result<()> {
        self.http
            .post(&format!("{BASE}/me/password"))
            .bearer(token)
            .json(req)
            .send_empty()
            .await
    }

    pub async fn addresses(&self, token: &str) -> Result<AddressList> {
        self.http
            .get(&format!("{BASE}/me/addresses"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn create_address(&self, token: &str, req: &AddressRequest) -> Result<AddressView> {
        self.http
            .post(&format!("{BASE}/me/addresses"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn address(&self, token: &str, id: &AddressId) -> Result<AddressView> {
        self.http
            .get(&format!("{BASE}/me/addresses/{}", id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn update_address(
        &self,
        token: &str,
        id: &AddressId,
        req: &AddressRequest,
    ) -> Result<AddressView> {
        self.http
            .put(&format!("{BASE}/me/addresses/{}", id))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn delete_address(&self, token: &str, id: &AddressId) -> Result<()> {
        self.http
            .delete(&format!("{BASE}/me/addresses/{}", id))
            .bearer(token)
            .send_empty()
            .await
    }

    pub async fn admin_users(
        &self,
        token: &str,
        q: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<UserPage> {
        let mut query = vec![("limit", "50".to_owned())];
        if let Some(q) = q {
            query.push(("q", q.to_owned()));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
        self.http
            .get(&format!("{BASE}/admin/users?{qs}"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn admin_set_suspended(
        &self,
        token: &str,
        id: &UserId,
        suspended: bool,
    ) -> Result<UserView> {
        let action = if suspended { "suspend" } else { "reactivate" };
        self.http
            .post(&format!("{BASE}/admin/users/{}/{action}", id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn admin_set_admin(&self, token: &str, id: &UserId, admin: bool) -> Result<UserView> {
        let path = format!("{BASE}/admin/users/{}/admin", id);
        let req = if admin {
            self.http.put(&path)
        } else {
            self.http.delete(&path)
        };
        req.bearer(token).send().await
    }
}
