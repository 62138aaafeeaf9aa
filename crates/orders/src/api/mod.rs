//! Orders' HTTP API under `/api/v1/orders`: checkout (with `Idempotency-Key`), the
//! customer's orders, a store's sub-orders and their actions, and the admins' view.

mod admin;
mod checkouts;
mod internal;
mod orders;
mod sub_orders;

pub use admin::*;
pub use checkouts::*;
pub use orders::*;
pub use sub_orders::*;

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kernel::auth::{AdminUser, AuthUser, Claims};
use kernel::http::Path;
use kernel::http::{FieldError, Json, Problem, Query};
use kernel::money::{Currency, Money};
use kernel::validation::FieldErrors;
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contracts::orders::dto::*;

use crate::Error;
use crate::checkout::{CheckoutInput, Saga};
use crate::domain::{
    self, Address, CheckoutId, OrderId, Step, SubOrderAction, SubOrderId, SubOrderStatus,
};
use crate::store::{self, CheckoutRow, OrderRow, SubOrderRow};
use contracts::orders::events::SubOrderChanged;
use kernel::ids::{StoreId, UserId};

const TAG: &str = "orders";
const LIST_LIMIT: i64 = 100;

type State = axum::extract::State<Saga>;
type Result<T> = std::result::Result<T, Error>;

pub fn router(saga: Saga) -> OpenApiRouter {
    OpenApiRouter::<Saga>::new()
        .routes(routes!(checkout))
        .routes(routes!(preview))
        .routes(routes!(get_checkout))
        .routes(routes!(my_orders))
        .routes(routes!(get_order))
        .routes(routes!(store_sub_orders))
        .routes(routes!(get_sub_order))
        .routes(routes!(sub_order_action))
        .routes(routes!(refund_sub_order))
        .routes(routes!(admin_orders))
        .routes(routes!(internal::received))
        .with_state(saga)
}
