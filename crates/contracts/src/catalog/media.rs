//! Product images: what an upload answers and where its renditions are served.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest upload catalog takes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The file name of a rendition (`/media/<key>-<width>.webp`).
pub fn rendition_name(key: &str, width: u32) -> String {
    format!("{key}-{width}.webp")
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Rendition {
    pub width: u32,
    /// Served forever from this address (content-addressed).
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    /// Content address of the upload; attach it to products by this key.
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
}
