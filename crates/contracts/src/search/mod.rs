//! Search: full-text product search with filters and facet counts, and suggestions.

pub mod client;
pub mod dto;

pub use client::SearchClient;

pub const SERVICE: &str = "search";

/// Results past this many are not served; refine the search instead.
pub const MAX_RESULT_WINDOW: usize = 10_000;
