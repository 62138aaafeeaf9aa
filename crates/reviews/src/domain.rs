//! Reviews' rules, pure: what a review, a reply, a report and a store rating may say,
//! how an author is named in public, and how ratings are counted.

use contracts::reviews::dto::{
    MAX_PHOTOS, ReplyRequest, ReportRequest, ReviewRequest, StoreRatingRequest,
};
use contracts::reviews::{ReportReason, ReviewStatus};
use kernel::http::Problem;
use kernel::validation::{FieldErrors, bounded_prose, bounded_text};

const MAX_BODY: usize = 5000;
const MAX_REPLY: usize = 2000;
const MAX_NOTE: usize = 500;
const MAX_COMMENT: usize = 1000;

/// A review as the customer wrote it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub photos: Vec<String>,
}

fn rating(errors: &mut FieldErrors, value: i32) -> Option<i32> {
    errors.check(
        "rating",
        "out_of_range",
        (1..=5)
            .contains(&value)
            .then_some(value)
            .ok_or("must be from 1 to 5 stars"),
    )
}

/// A media key as catalog's upload gives it: a content address, nothing that could
/// name another file.
fn is_media_key(key: &str) -> bool {
    (8..=80).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn parse_review(req: &ReviewRequest) -> Result<Draft, Problem> {
    let mut errors = FieldErrors::new();
    let rating = rating(&mut errors, req.rating);
    let title = errors.check("title", "invalid", bounded_text(&req.title, 2, 120));
    let body = errors.check("body", "invalid", bounded_prose(&req.body, MAX_BODY));
    let photos = if req.photos.len() > MAX_PHOTOS {
        errors.add(
            "photos",
            "too_many",
            format!("at most {MAX_PHOTOS} photos per review"),
        );
        None
    } else if let Some(i) = req.photos.iter().position(|k| !is_media_key(k)) {
        errors.add(
            &format!("photos[{i}]"),
            "invalid",
            "is not the key of an uploaded image",
        );
        None
    } else {
        // The same image twice is kept once, in the order given.
        let mut seen = std::collections::HashSet::new();
        Some(
            req.photos
                .iter()
                .filter(|k| seen.insert(k.as_str()))
                .cloned()
                .collect(),
        )
    };
    let (rating, title, body, photos) = errors.finish_with((rating, title, body, photos))?;
    Ok(Draft {
        rating,
        title,
        body,
        photos,
    })
}

pub fn parse_reply(req: &ReplyRequest) -> Result<String, Problem> {
    let mut errors = FieldErrors::new();
    let body = errors.check(
        "body",
        "invalid",
        bounded_prose(&req.body, MAX_REPLY).and_then(|b| {
            if b.chars().count() < 2 {
                Err("must be at least 2 characters".to_owned())
            } else {
                Ok(b)
            }
        }),
    );
    Ok(errors.finish_with((body,))?.0)
}

pub fn parse_report(req: &ReportRequest) -> Result<(ReportReason, String), Problem> {
    let mut errors = FieldErrors::new();
    let note = errors.check("note", "invalid", bounded_prose(&req.note, MAX_NOTE));
    Ok((req.reason, errors.finish_with((note,))?.0))
}

pub fn parse_store_rating(req: &StoreRatingRequest) -> Result<(i32, String), Problem> {
    let mut errors = FieldErrors::new();
    let stars = rating(&mut errors, req.rating);
    let comment = errors.check(
        "comment",
        "invalid",
        bounded_prose(&req.comment, MAX_COMMENT),
    );
    errors.finish_with((stars, comment))
}

/// How an author appears to everyone: the first name and the last name's initial
/// ("Jane D."); the full name stays with identity.
pub fn public_name(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    match (words.next(), words.last()) {
        (None, _) => "A customer".to_owned(),
        (Some(first), None) => first.to_owned(),
        (Some(first), Some(last)) => match last.chars().next() {
            Some(initial) => format!("{first} {}.", initial.to_uppercase()),
            None => first.to_owned(),
        },
    }
}

/// What an admin decides about a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take it down, telling its author why.
    Hide { reason: String },
    /// Keep it, or put it back: its reports are closed either way.
    Restore,
}

impl Decision {
    /// The status a review has once decided, and the reason shown to its author.
    pub fn outcome(&self) -> (ReviewStatus, Option<&str>) {
        match self {
            Self::Hide { reason } => (ReviewStatus::Hidden, Some(reason.as_str())),
            Self::Restore => (ReviewStatus::Visible, None),
        }
    }
}

/// Who may vote a review helpful: anyone signed in but its author.
pub fn may_vote(author: uuid::Uuid, voter: uuid::Uuid) -> bool {
    author != voter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(rating: i32, title: &str, photos: &[&str]) -> ReviewRequest {
        ReviewRequest {
            product_id: contracts::catalog::ProductId::new(),
            rating,
            title: title.into(),
            body: "Sturdy and sharp.\nWould buy again.".into(),
            photos: photos.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn fields(p: &Problem) -> Vec<(&str, &str)> {
        p.errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    #[test]
    fn a_review_has_one_to_five_stars_a_title_and_at_most_five_photos() {
        let ok = parse_review(&review(5, "  Great knife ", &["abcdef0123456789"])).unwrap();
        assert_eq!(ok.title, "Great knife");
        assert_eq!(ok.photos, ["abcdef0123456789"]);
        let bad = parse_review(&review(6, "x", &["a"; 6])).unwrap_err();
        assert_eq!(
            fields(&bad),
            [
                ("rating", "out_of_range"),
                ("title", "invalid"),
                ("photos", "too_many")
            ]
        );
        assert_eq!(
            parse_review(&review(0, "Fine", &[])).unwrap_err().status,
            422
        );
        let sneaky = parse_review(&review(4, "Fine", &["abcdef0123456789", "../../etc"]));
        assert_eq!(fields(&sneaky.unwrap_err()), [("photos[1]", "invalid")]);
    }

    #[test]
    fn replies_reports_and_store_ratings_are_bounded() {
        assert!(parse_reply(&ReplyRequest { body: " ".into() }).is_err());
        assert_eq!(
            parse_reply(&ReplyRequest {
                body: " Thank you! ".into()
            })
            .unwrap(),
            "Thank you!"
        );
        let long = ReportRequest {
            reason: ReportReason::Spam,
            note: "x".repeat(501),
        };
        assert_eq!(
            fields(&parse_report(&long).unwrap_err()),
            [("note", "invalid")]
        );
        let rated = StoreRatingRequest {
            rating: 4,
            comment: "Fast".into(),
        };
        assert_eq!(parse_store_rating(&rated).unwrap(), (4, "Fast".to_owned()));
    }

    #[test]
    fn authors_are_named_by_first_name_and_initial() {
        assert_eq!(public_name("Jane Doe"), "Jane D.");
        assert_eq!(public_name("  ana maría  lópez "), "ana L.");
        assert_eq!(public_name("Prince"), "Prince");
        assert_eq!(public_name(""), "A customer");
    }

    #[test]
    fn decisions_set_the_status_and_authors_cannot_vote_for_themselves() {
        let hide = Decision::Hide {
            reason: "Personal data".into(),
        };
        assert_eq!(
            hide.outcome(),
            (ReviewStatus::Hidden, Some("Personal data"))
        );
        assert_eq!(Decision::Restore.outcome(), (ReviewStatus::Visible, None));
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(may_vote(a, b));
        assert!(!may_vote(a, a));
    }
}
