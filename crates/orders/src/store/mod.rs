//! Orders' SQL: checkouts (the saga's state), orders, sub-orders, lines and timelines.

mod checkouts;
mod lines;
mod orders;
mod sub_orders;

pub use checkouts::*;
pub use lines::*;
pub use orders::*;
pub use sub_orders::*;

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use contracts::catalog::{ProductId, VariantId};
use kernel::ids::{StoreId, UserId};

use crate::domain::{CheckoutId, OrderId, Plan, Step, SubOrderId, SubOrderStatus};
