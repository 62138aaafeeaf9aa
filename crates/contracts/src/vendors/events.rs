//! Events vendors publishes (see docs/events.md). Identity keeps store memberships in
//! access tokens from `member.*`; notifications emails applicants and invitees.

use kernel::auth::StoreRole;
use kernel::events::Event;
use kernel::ids::UserId;
use serde::{Deserialize, Serialize};

use super::StoreId;

macro_rules! store_event {
    ($name:ident, $type:literal) => {
        impl Event for $name {
            const TYPE: &'static str = $type;

            fn aggregate_id(&self) -> String {
                self.store_id.to_string()
            }
        }
    };
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreApplied {
    pub store_id: StoreId,
    pub name: String,
    pub slug: String,
    pub applicant_user_id: UserId,
    pub applicant_email: String,
}
store_event!(StoreApplied, "vendors.store.applied");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreApproved {
    pub store_id: StoreId,
    /// The store\'s version after this change; consumers ignore older ones.
    pub version: i64,
    pub name: String,
    pub slug: String,
    pub owner_user_id: UserId,
    pub owner_email: String,
}
store_event!(StoreApproved, "vendors.store.approved");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreRejected {
    pub store_id: StoreId,
    pub name: String,
    pub applicant_email: String,
    pub reason: String,
}
store_event!(StoreRejected, "vendors.store.rejected");

/// The store's products leave the storefront, listings and search at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreSuspended {
    pub store_id: StoreId,
    /// The store\'s version after this change; consumers ignore older ones.
    pub version: i64,
    pub reason: String,
}
store_event!(StoreSuspended, "vendors.store.suspended");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreReinstated {
    pub store_id: StoreId,
    /// The store\'s version after this change; consumers ignore older ones.
    pub version: i64,
}
store_event!(StoreReinstated, "vendors.store.reinstated");

/// The store's public profile changed (name, description, logo…).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreUpdated {
    pub store_id: StoreId,
    /// The store's version after this change; consumers ignore older ones.
    pub version: i64,
    pub name: String,
    pub slug: String,
}
store_event!(StoreUpdated, "vendors.store.updated");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberAdded {
    pub store_id: StoreId,
    /// The store\'s version after this change; consumers ignore older ones.
    pub version: i64,
    pub user_id: UserId,
    pub role: StoreRole,
}
store_event!(MemberAdded, "vendors.member.added");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberRemoved {
    pub store_id: StoreId,
    /// The store\'s version after this change; consumers ignore older ones.
    pub version: i64,
    pub user_id: UserId,
}
store_event!(MemberRemoved, "vendors.member.removed");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StaffInvited {
    pub store_id: StoreId,
    pub store_name: String,
    pub email: String,
    pub role: StoreRole,
    /// Single-use token for the invitation link.
    pub token: String,
}
store_event!(StaffInvited, "vendors.staff.invited");
