//! Cart rules, free of I/O: quantities and what a customer is told about a line.

/// The most of one variant one cart may hold.
pub const MAX_LINE_QUANTITY: i64 = 999;
/// Distinct variants one cart may hold.
pub const MAX_LINES: usize = 100;

pub fn parse_quantity(q: i64) -> Result<i32, &'static str> {
    if !(0..=MAX_LINE_QUANTITY).contains(&q) {
        Err("must be between 0 (remove) and 999")
    } else {
        i32::try_from(q).map_err(|_| "must be between 0 (remove) and 999")
    }
}

/// How a line stands against what may be bought now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// As asked.
    Whole,
    /// Fewer are available: the line shrinks to this.
    Lowered(i32),
    /// None can be bought.
    Unavailable,
}

/// `available` is `None` when the store does not track the variant's stock.
pub fn fit(quantity: i32, available: Option<i64>, for_sale: bool) -> Fit {
    if !for_sale {
        return Fit::Unavailable;
    }
    match available {
        None => Fit::Whole,
        Some(a) if a <= 0 => Fit::Unavailable,
        Some(a) if a < i64::from(quantity) => Fit::Lowered(i32::try_from(a).unwrap_or(quantity)),
        Some(_) => Fit::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_bounded() {
        assert_eq!(parse_quantity(0), Ok(0));
        assert_eq!(parse_quantity(999), Ok(999));
        assert!(parse_quantity(-1).is_err());
        assert!(parse_quantity(1000).is_err());
        assert!(parse_quantity(i64::MAX).is_err());
    }

    #[test]
    fn lines_fit_what_may_be_bought() {
        assert_eq!(fit(3, None, true), Fit::Whole);
        assert_eq!(fit(3, Some(5), true), Fit::Whole);
        assert_eq!(fit(3, Some(2), true), Fit::Lowered(2));
        assert_eq!(fit(3, Some(0), true), Fit::Unavailable);
        assert_eq!(fit(3, Some(5), false), Fit::Unavailable);
    }
}
