//! "Parse, don't validate": request DTOs become domain types at the edge, and every
//! failing field is reported at once rather than the first one only.

use crate::http::{FieldError, Problem};

#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Keeps the parsed value, or records the field's error and yields `None`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        code: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, code, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing failed, otherwise a 422 listing every field.
    pub fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.0))
        }
    }

    /// The parsed values (what `check` returned, as a tuple) when nothing failed,
    /// otherwise a 422 listing every field; handlers never unwrap a checked field.
    pub fn finish_with<C: Checked>(self, checked: C) -> Result<C::Values, Problem> {
        self.finish()?;
        // A `None` is only ever left by `check`, which recorded why.
        checked
            .values()
            .ok_or_else(|| Problem::internal(&"a field failed without an error"))
    }
}

/// Fields checked one by one (`Option`s, `None` where a field failed), as a tuple.
pub trait Checked {
    type Values;
    fn values(self) -> Option<Self::Values>;
}

macro_rules! checked_tuple {
    ($($t:ident),+) => {
        impl<$($t),+> Checked for ($(Option<$t>,)+) {
            type Values = ($($t,)+);

            #[allow(non_snake_case)]
            fn values(self) -> Option<Self::Values> {
                let ($($t,)+) = self;
                Some(($($t?,)+))
            }
        }
    };
}

checked_tuple!(A);
checked_tuple!(A, B);
checked_tuple!(A, B, C);
checked_tuple!(A, B, C, D);
checked_tuple!(A, B, C, D, E);
checked_tuple!(A, B, C, D, E, F);
checked_tuple!(A, B, C, D, E, F, G);
checked_tuple!(A, B, C, D, E, F, G, H);

/// Trims and bounds a free-text field such as a person's name.
pub fn bounded_text(value: &str, min: usize, max: usize) -> Result<String, String> {
    let v = value.trim();
    let len = v.chars().count();
    if len < min {
        Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        })
    } else if len > max {
        Err(format!("must be at most {max} characters"))
    } else if v.chars().any(char::is_control) {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(v.to_owned())
    }
}

/// Like [`bounded_text`] for longer prose: line breaks and tabs are allowed, other
/// control characters are not; empty is allowed.
pub fn bounded_prose(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if v
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(v.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_failing_field() {
        let mut errs = FieldErrors::new();
        let a = errs.check("name", "invalid", bounded_text("  ", 1, 10));
        let b = errs.check("city", "invalid", bounded_text("Paris", 1, 10));
        assert!(a.is_none());
        assert_eq!(b.as_deref(), Some("Paris"));
        let p = errs.finish().unwrap_err();
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].field, "name");
    }

    #[test]
    fn finish_with_yields_the_parsed_values_or_every_failure() {
        let mut errs = FieldErrors::new();
        let name = errs.check("name", "invalid", bounded_text(" Ann ", 1, 10));
        let city = errs.check("city", "invalid", bounded_text("Paris", 1, 10));
        assert_eq!(
            errs.finish_with((name, city)).unwrap(),
            ("Ann".to_owned(), "Paris".to_owned())
        );
        let mut errs = FieldErrors::new();
        let name = errs.check("name", "invalid", bounded_text("", 1, 10));
        let city = errs.check("city", "invalid", bounded_text("", 1, 10));
        assert_eq!(errs.finish_with((name, city)).unwrap_err().errors.len(), 2);
    }

    #[test]
    fn prose_keeps_line_breaks_but_not_other_controls() {
        assert_eq!(bounded_prose("a\n\nb", 10).unwrap(), "a\n\nb");
        assert_eq!(bounded_prose("", 10).unwrap(), "");
        assert!(bounded_prose("a\u{0}b", 10).is_err());
        assert!(bounded_prose(&"x".repeat(11), 10).is_err());
    }

    #[test]
    fn bounded_text_trims_and_limits() {
        assert_eq!(bounded_text(" Ann ", 1, 5).unwrap(), "Ann");
        assert!(bounded_text("abcdef", 1, 5).is_err());
        assert!(bounded_text("a\u{0}b", 1, 5).is_err());
        assert_eq!(bounded_text("<b>'; DROP", 1, 20).unwrap(), "<b>'; DROP");
    }
}
