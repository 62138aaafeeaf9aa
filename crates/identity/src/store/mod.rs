//! Identity's SQL. Every function takes a connection so callers decide the transaction.

mod addresses;
mod memberships;
mod sessions;
mod users;
mod verification;

pub use addresses::*;
pub use memberships::*;
pub use sessions::*;
pub use users::*;
pub use verification::*;

use kernel::auth::Claims;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Address, AddressId, EmailAddress, SessionId, UserId, UserStatus};
use kernel::auth::StoreRole;
