//! Customers' ratings, kept beside the documents like stock: a change to a product's
//! reviews shows in searches at once, without rewriting its document.

use std::collections::HashMap;

use tantivy::query::EmptyQuery;

use super::*;
use crate::domain::Rating;

/// The "N stars & up" choices, highest first.
const RATING_STEPS: [u8; 4] = [4, 3, 2, 1];

/// Ratings by product, shared with the sort of a running search.
pub(super) type Ratings = Arc<RwLock<HashMap<Uuid, Rating>>>;

impl ProductIndex {
    /// Sets (or, with no ratings left, clears) a product's rating at once.
    pub fn set_rating(&self, product: Uuid, rating: Rating) {
        if let Ok(mut map) = self.ratings.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            if rating.count > 0 {
                map.insert(product, rating);
            } else {
                map.remove(&product);
            }
        }
    }

    pub fn set_ratings(&self, all: impl IntoIterator<Item = (Uuid, Rating)>) {
        if let Ok(mut map) = self.ratings.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            *map = all.into_iter().filter(|(_, r)| r.count > 0).collect();
        }
    }

    pub(super) fn rating_of(&self, product: Uuid) -> Option<Rating> {
        self.ratings.read().ok()?.get(&product).copied()
    }

    /// Matches products averaging `min_stars` or more (nothing when none does).
    pub(super) fn rating_filter(&self, min_stars: u8) -> Box<dyn Query> {
        let floor = u16::from(min_stars) * 10;
        let terms: Vec<Term> = self
            .ratings
            .read()
            .map(|map| {
                map.iter()
                    .filter(|(_, r)| r.tenths >= floor)
                    .map(|(p, _)| self.id_term(*p))
                    .collect()
            })
            .unwrap_or_default();
        if terms.is_empty() {
            Box::new(EmptyQuery)
        } else {
            Box::new(TermSetQuery::new(terms))
        }
    }

    /// How many matches (leaving the rating filter out) average 4, 3, 2 and 1 stars and
    /// up; nothing while no product is rated.
    pub(super) fn rating_counts(
        &self,
        searcher: &tantivy::Searcher,
        req: &SearchRequest,
    ) -> anyhow::Result<Vec<RatingCount>> {
        if self.ratings.read().map(|m| m.is_empty()).unwrap_or(true) {
            return Ok(Vec::new());
        }
        // The request as asked, but for its own rating filter; built once.
        let base = self.query(
            self.text_query(searcher, &req.text, false),
            self.filters(req, Some(FacetKind::Rating)),
        );
        let mut out = Vec::new();
        for min_stars in RATING_STEPS {
            let rated = BooleanQuery::new(vec![
                (Occur::Must, Box::new(base.clone()) as Box<dyn Query>),
                (Occur::Must, self.rating_filter(min_stars)),
            ]);
            let count = searcher.search(&rated, &Count)? as u64;
            out.push(RatingCount { min_stars, count });
        }
        Ok(out)
    }
}

/// A segment's documents' ratings (average in tenths, how many), for sorting; unrated
/// products sort last.
pub(super) fn rating_column(
    ratings: &Ratings,
    segment: &SegmentReader,
) -> impl Fn(DocId) -> (u16, u32) + use<> {
    let id = super::query::id_of(segment);
    let ratings = ratings.clone();
    move |doc| {
        let (hi, lo) = id(doc);
        ratings
            .read()
            .ok()
            .and_then(|m| {
                m.get(&Uuid::from_u64_pair(hi, lo))
                    .map(|r| (r.tenths, r.count))
            })
            .unwrap_or((0, 0))
    }
}
