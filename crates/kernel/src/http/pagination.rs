//! Cursor pagination: stable under inserts, and O(page) rather than O(offset).
//! A cursor is the opaque, base64url-encoded sort key of the last item returned.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{FieldError, Problem};
use crate::secret::{b64url, b64url_decode};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// The largest page of a service-to-service export (read whole, by keyset `after`).
pub const MAX_EXPORT_PAGE: u32 = 1000;

/// Splits `rows`, read with `limit + 1`, into one page and the key to pass as `after`
/// for the next page (none when this page is the last).
pub fn keyset_page<T, K>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<K>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(key);
    (rows, next)
}

/// An export page's `limit`: 1 to [`MAX_EXPORT_PAGE`], the largest when absent.
pub fn export_limit(limit: Option<u32>) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(MAX_EXPORT_PAGE);
    if (1..=MAX_EXPORT_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::validation(vec![FieldError::new(
            "limit",
            "out_of_range",
            format!("must be between 1 and {MAX_EXPORT_PAGE}"),
        )]))
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page (empty: the first page).
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<u32, Problem> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Problem::validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            )])),
        }
    }

    /// The decoded sort key after which the page starts; an empty cursor is the first
    /// page, like none.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, Problem> {
        let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        b64url_decode(cursor)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(bad_cursor)
    }

    /// For lists ordered by (time, id), newest first: the key made by [`time_key`].
    pub fn after_time(&self) -> Result<Option<(OffsetDateTime, Uuid)>, Problem> {
        self.after::<(i64, Uuid)>()?
            .map(|(nanos, id)| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
                    .map(|t| (t, id))
                    .map_err(|_| bad_cursor())
            })
            .transpose()
    }
}

/// The cursor key of a row in a list ordered by (time, id).
pub fn time_key(t: OffsetDateTime, id: Uuid) -> (i64, Uuid) {
    (
        i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX),
        id,
    )
}

fn bad_cursor() -> Problem {
    Problem::validation(vec![FieldError::new(
        "cursor",
        "invalid",
        "is not a cursor this endpoint issued",
    )])
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows (the extra row only says "there is more").
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last()
                .and_then(|last| serde_json::to_vec(&key(last)).ok())
                .map(|bytes| b64url(&bytes))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_page_names_the_next_key_only_when_rows_remain() {
        let (page, next) = keyset_page(vec![1, 2, 3], 2, |n| *n * 10);
        assert_eq!((page, next), (vec![1, 2], Some(20)));
        let (page, next) = keyset_page(vec![1, 2], 2, |n| *n * 10);
        assert_eq!((page, next), (vec![1, 2], None));
        assert_eq!(export_limit(None).unwrap(), MAX_EXPORT_PAGE);
        assert!(export_limit(Some(0)).is_err());
        assert!(export_limit(Some(MAX_EXPORT_PAGE + 1)).is_err());
    }

    #[test]
    fn pages_carry_a_cursor_only_when_more_rows_exist() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        let params = PageParams {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(params.after::<i32>().unwrap(), Some(2));
        let last = Page::from_rows(vec![3], 2, |n| *n);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn limits_and_cursors_are_validated() {
        let huge = PageParams {
            limit: Some(1_000_000),
            cursor: None,
        };
        assert_eq!(huge.limit().unwrap_err().errors[0].field, "limit");
        let junk = PageParams {
            limit: None,
            cursor: Some("!!!".into()),
        };
        assert_eq!(junk.after::<i32>().unwrap_err().errors[0].field, "cursor");
        assert_eq!(PageParams::default().limit().unwrap(), DEFAULT_LIMIT);
    }
}
