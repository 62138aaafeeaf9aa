//! CSV cells that a spreadsheet will not run (CSV injection, after OWASP's rule).
//!
//! A spreadsheet treats a cell starting with `=`, `+`, `-` or `@` as a formula (and a
//! leading tab or carriage return can hide one), so `=HYPERLINK(…)` or
//! `=cmd|' /C calc'!A0` typed by one user runs on the machine of whoever opens the
//! export. Every CSV the platform writes passes its free-text cells through
//! [`neutralise`], which puts a single quote in front of such a cell: spreadsheets show
//! it as text. Whoever reads the file back passes the same cells through [`restore`], so
//! an export imports back unchanged.
//!
//! The two are exact inverses: a cell that starts with quotes followed by a trigger
//! character (`'=x`, typed by a user) gets one more quote on the way out and loses one
//! on the way in, so no text is ever changed by a round trip. Numbers the platform
//! formats itself (prices, weights) are not free text and are written as they are: a
//! negative number is a number to a spreadsheet, not a formula.

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula when they come first.
pub const TRIGGERS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The cell as it is safe to write: with a leading `'` when a spreadsheet would
/// otherwise run it (or when it already starts with quotes before such a character).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_quote(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`neutralise`]: one leading `'` removed when quotes lead
/// to a trigger character; anything else unchanged.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_text_is_left_alone() {
        for cell in [
            "=cmd|' /C calc'!A0",
            "=HYPERLINK(\"http://evil\",\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\r=1",
        ] {
            let out = neutralise(cell);
            assert_eq!(out, format!("'{cell}"), "{cell:?}");
            assert_eq!(restore(&out), cell);
        }
        for cell in ["", "Linen shirt", "a=b", "1-2", "'quoted", "it's", "x@y"] {
            assert_eq!(neutralise(cell), cell);
            assert_eq!(restore(cell), cell);
        }
    }

    #[test]
    fn round_trips_are_exact_even_for_cells_that_start_with_quotes() {
        for cell in ["'=1", "''+x", "'", "''", "'a", "'-"] {
            assert_eq!(restore(&neutralise(cell)), cell, "{cell:?}");
        }
        assert_eq!(neutralise("'=1"), "''=1");
        // What a person typed (no quote added by us) reads as typed.
        assert_eq!(restore("=1"), "=1");
    }
}
