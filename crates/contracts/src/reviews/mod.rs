//! Reviews: customers' ratings and reviews of what they received, stores' replies,
//! helpful votes, reports and moderation, and the rating summaries of products and
//! stores.

pub mod client;
pub mod dto;
pub mod events;

pub use client::*;

pub const SERVICE: &str = "reviews";
kernel::typed_id!(pub ReviewId, "rev");

/// Whether shoppers see a review.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Visible,
    /// Taken down by an admin, with a reason; the author and admins still see it.
    Hidden,
}

kernel::text_enum!(ReviewStatus {
    Visible = "visible",
    Hidden = "hidden",
});

/// Why someone reports a review.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    Spam,
    Offensive,
    OffTopic,
    /// Not a genuine customer's experience.
    Fake,
    /// Personal data (an address, a phone number) in the text or photos.
    PersonalData,
    Other,
}

kernel::text_enum!(ReportReason {
    Spam = "spam",
    Offensive = "offensive",
    OffTopic = "off_topic",
    Fake = "fake",
    PersonalData = "personal_data",
    Other = "other",
});

/// How a product's reviews are listed.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOrder {
    /// Most helpful first (then newest).
    #[default]
    Helpful,
    Newest,
    Highest,
    Lowest,
}
