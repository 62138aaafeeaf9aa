//! Tax rules, free of I/O, in exact decimals (`rust_decimal`), never floats.
//!
//! Rounding: tax is computed **per line** (a line = one price × quantity), then rounded
//! to the currency's minor unit **half away from zero** (0.5 cent → 1 cent), and the
//! order's tax is the sum of its lines' rounded taxes. Per-line rounding is what an
//! invoice shows line by line, so the lines always add up to the total.
//! - Tax-exclusive prices (the default): tax = net × rate.
//! - Tax-inclusive prices (a platform setting): the price is gross; tax = gross −
//!   gross ÷ (1 + rate), rounded the same way, and net = gross − tax.

use rust_decimal::{Decimal, RoundingStrategy};

/// A percentage as an admin types it ("20", "5.5", "7.125 %") as parts per million of
/// the price, exactly: digits with at most one decimal point, at most 4 decimals, 0 to
/// 100 (no sign, exponent or digit separators).
pub fn parse_rate(text: &str) -> Result<i64, &'static str> {
    const NOT_A_RATE: &str = "must be a percentage such as 20 or 5.5";
    let number = text.trim().trim_end_matches('%').trim();
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(NOT_A_RATE);
    }
    let percent: Decimal = number.parse().map_err(|_| NOT_A_RATE)?;
    if percent.scale() > 4 {
        return Err("at most 4 decimals");
    }
    if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
        return Err("must be between 0 and 100");
    }
    // percent / 100 * 1_000_000 = percent * 10_000, exact for at most 4 decimals.
    let ppm = percent * Decimal::from(10_000);
    i64::try_from(ppm.normalize()).map_err(|_| NOT_A_RATE)
}

/// The rate as a percentage for people ("20", "5.5").
pub fn display_rate(ppm: i64) -> String {
    (Decimal::new(ppm, 4)).normalize().to_string()
}

/// One line's tax, in minor units. `amount_minor` is the line's price (net when
/// exclusive, gross when inclusive).
pub fn line_tax(amount_minor: i64, rate_ppm: i64, prices_include_tax: bool) -> i64 {
    let amount = Decimal::from(amount_minor);
    let rate = Decimal::new(rate_ppm, 6);
    let tax = if prices_include_tax {
        amount - amount / (Decimal::ONE + rate)
    } else {
        amount * rate
    };
    let rounded = tax.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_exact_percentages() {
        assert_eq!(parse_rate("20"), Ok(200_000));
        assert_eq!(parse_rate("5.5 %"), Ok(55_000));
        assert_eq!(parse_rate("7.125"), Ok(71_250));
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("100"), Ok(1_000_000));
        assert!(parse_rate("100.01").is_err());
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("5.12345").is_err());
        assert!(parse_rate("twenty").is_err());
        for odd in ["+5", "-0", "1_0", "2e1", "2E1", "5,5", ".", ""] {
            assert!(parse_rate(odd).is_err(), "{odd}");
        }
        assert_eq!(parse_rate(".5"), Ok(5_000));
        assert_eq!(parse_rate("007.50 %%"), Ok(75_000));
        assert_eq!(display_rate(55_000), "5.5");
        assert_eq!(display_rate(200_000), "20");
    }

    #[test]
    fn exclusive_tax_rounds_half_away_from_zero_per_line() {
        assert_eq!(line_tax(1000, 200_000, false), 200);
        // 19.99 × 5.5 % = 1.09945 → 1.10
        assert_eq!(line_tax(1999, 55_000, false), 110);
        // 0.10 × 5 % = 0.005 → 0.01 (half away from zero), not 0.00 (banker's)
        assert_eq!(line_tax(10, 50_000, false), 1);
        // 0.09 × 5 % = 0.0045 → 0.00
        assert_eq!(line_tax(9, 50_000, false), 0);
        assert_eq!(line_tax(0, 200_000, false), 0);
    }

    #[test]
    fn inclusive_tax_is_taken_out_of_the_price() {
        // 12.00 gross at 20 %: net 10.00, tax 2.00.
        assert_eq!(line_tax(1200, 200_000, true), 200);
        // 9.99 gross at 20 %: 9.99 − 9.99 / 1.2 = 1.665 → 1.67
        assert_eq!(line_tax(999, 200_000, true), 167);
        // Exactly representable rates never drift: 1.10 gross at 10 % → 0.10.
        assert_eq!(line_tax(110, 100_000, true), 10);
    }

    #[test]
    fn lines_add_up_to_the_total() {
        // Three lines rounded one by one, summed: what the invoice shows.
        let lines = [333, 333, 334];
        let total: i64 = lines.iter().map(|l| line_tax(*l, 55_000, false)).sum();
        assert_eq!(total, 18 + 18 + 18);
    }
}
