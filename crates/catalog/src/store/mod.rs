//! Catalog's SQL. Every function takes a connection so callers decide the transaction.

mod categories;
mod import_export;
mod products;
mod sale;
mod search_documents;
mod stores;

pub use categories::*;
pub use import_export::*;
pub use products::*;
pub use sale::*;
pub use search_documents::*;
pub use stores::*;

use kernel::ids::StoreId;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::CategoryId;
use crate::domain::ProductStatus;
