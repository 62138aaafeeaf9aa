//! What reviews publishes (see docs/events.md): search keeps ratings on its documents,
//! notifications tells stores of new reviews.

use kernel::events::Event;
use serde::{Deserialize, Serialize};

use super::ReviewId;
use crate::catalog::ProductId;
use crate::vendors::StoreId;

/// A product's visible reviews changed (posted, edited, hidden, restored): its summary
/// as it now is. `version` grows with every change; consumers keep the newest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductRatingChanged {
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub version: i64,
    /// How many gave 1, 2, 3, 4 and 5 stars.
    pub histogram: [i64; 5],
}

impl Event for ProductRatingChanged {
    const TYPE: &'static str = "reviews.product_rating.changed";

    fn aggregate_id(&self) -> String {
        self.product_id.to_string()
    }
}

/// A customer posted a review: its store may answer it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewPosted {
    pub review_id: ReviewId,
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub rating: i32,
    pub title: String,
}

impl Event for ReviewPosted {
    const TYPE: &'static str = "reviews.review.posted";

    fn aggregate_id(&self) -> String {
        self.review_id.to_string()
    }
}

/// A store's ratings changed: its summary as it now is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreRatingChanged {
    pub store_id: StoreId,
    pub version: i64,
    pub histogram: [i64; 5],
}

impl Event for StoreRatingChanged {
    const TYPE: &'static str = "reviews.store_rating.changed";

    fn aggregate_id(&self) -> String {
        self.store_id.to_string()
    }
}
