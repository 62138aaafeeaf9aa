//! The typed client other services and the web front end use to call vendors.

use kernel::http::client::{ClientError, ServiceClient, path_segment};
use kernel::ids::{StoreId, UserId};

use super::dto::*;

type Result<T> = std::result::Result<T, ClientError>;

const BASE: &str = "/api/v1/vendors";

#[derive(Clone)]
pub struct VendorsClient {
    http: ServiceClient,
}

impl VendorsClient {
    pub fn new(http: ServiceClient) -> Self {
        Self { http }
    }

    /// A store by id or slug, as `token`'s holder (or the public, without one) sees it.
    pub async fn store(
        &self,
        key: impl std::fmt::Display,
        token: Option<&str>,
    ) -> Result<StoreView> {
        let req = self
            .http
            .get(&format!("{BASE}/stores/{}", path_segment(&key.to_string())));
        match token {
            Some(t) => req.bearer(t),
            None => req,
        }
        .send()
        .await
    }

    pub async fn apply(&self, token: &str, req: &ApplyRequest) -> Result<StoreView> {
        self.http
            .post(&format!("{BASE}/stores"))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn my_stores(&self, token: &str) -> Result<MyStores> {
        self.http
            .get(&format!("{BASE}/me/stores"))
            .bearer(token)
            .send()
            .await
    }

    /// Stores by status for review (`pending`, `approved`, `rejected`, `suspended`).
    pub async fn admin_stores(
        &self,
        token: &str,
        status: &str,
        cursor: Option<&str>,
    ) -> Result<StorePage> {
        let mut query = vec![("status", status.to_owned()), ("limit", "50".to_owned())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
        self.http
            .get(&format!("{BASE}/admin/stores?{qs}"))
            .bearer(token)
            .send()
            .await
    }

    /// `approve`, `reject`, `suspend` or `reinstate`; reject and suspend need a reason.
    pub async fn admin_transition(
        &self,
        token: &str,
        store_id: &StoreId,
        action: &str,
        reason: Option<&str>,
    ) -> Result<StoreView> {
        let req = self
            .http
            .post(&format!(
                "{BASE}/admin/stores/{}/{}",
                store_id,
                path_segment(action)
            ))
            .bearer(token);
        match reason {
            Some(r) => req.json(&ReasonRequest {
                reason: r.to_owned(),
            }),
            None => req,
        }
        .send()
        .await
    }

    /// Sets a store's commission (basis points), or back to the platform default.
    pub async fn set_commission(
        &self,
        token: &str,
        store_id: &StoreId,
        commission_bps: Option<i64>,
    ) -> Result<StoreView> {
        self.http
            .put(&format!("{BASE}/admin/stores/{}/commission", store_id))
            .bearer(token)
            .json(&CommissionRequest { commission_bps })
            .send()
            .await
    }

    /// Changes a store's profile (members) and payout details (owner or admin).
    pub async fn update_store(
        &self,
        token: &str,
        store_id: &StoreId,
        req: &UpdateStoreRequest,
    ) -> Result<StoreView> {
        self.http
            .patch(&format!("{BASE}/stores/{}", store_id))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    pub async fn members(&self, token: &str, store_id: &StoreId) -> Result<MemberList> {
        self.http
            .get(&format!("{BASE}/stores/{}/members", store_id))
            .bearer(token)
            .send()
            .await
    }

    pub async fn remove_member(
        &self,
        token: &str,
        store_id: &StoreId,
        user_id: &UserId,
    ) -> Result<()> {
        self.http
            .delete(&format!("{BASE}/stores/{}/members/{}", store_id, user_id))
            .bearer(token)
            .send_empty()
            .await
    }

    /// Emails `req.email` a single-use link to join the store.
    pub async fn invite(
        &self,
        token: &str,
        store_id: &StoreId,
        req: &InviteRequest,
    ) -> Result<InvitationView> {
        self.http
            .post(&format!("{BASE}/stores/{}/invitations", store_id))
            .bearer(token)
            .json(req)
            .send()
            .await
    }

    /// Joins the store the invitation is for, as the signed-in user.
    pub async fn accept_invitation(&self, token: &str, invitation: &str) -> Result<StoreView> {
        self.http
            .post(&format!("{BASE}/invitations/accept"))
            .bearer(token)
            .json(&AcceptInvitationRequest {
                token: invitation.to_owned(),
            })
            .send()
            .await
    }

    pub async fn default_commission(&self, token: &str) -> Result<DefaultCommission> {
        self.http
            .get(&format!("{BASE}/admin/settings/commission"))
            .bearer(token)
            .send()
            .await
    }

    pub async fn set_default_commission(&self, token: &str, bps: i64) -> Result<DefaultCommission> {
        self.http
            .put(&format!("{BASE}/admin/settings/commission"))
            .bearer(token)
            .json(&DefaultCommission {
                default_commission_bps: bps,
            })
            .send()
            .await
    }

    /// A store's effective commission (services only).
    pub async fn commission(&self, store_id: &StoreId) -> Result<CommissionView> {
        self.http
            .get(&format!("/internal/vendors/stores/{}/commission", store_id))
            .send()
            .await
    }

    /// Every store's suspension as of its version, a page at a time (services only).
    pub async fn store_states(&self, after: Option<StoreId>, limit: u32) -> Result<StoreStatePage> {
        let mut path = format!("/internal/vendors/store-states?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        self.http.get(&path).send().await
    }
}
