//! Promotion rules, free of I/O: which lines a code applies to and how its discount is
//! split across them.
//!
//! Splitting (documented in docs/architecture.md, tested here):
//! - A **percentage** discounts each eligible line by its own share, rounded to the minor
//!   unit half away from zero; the order's discount is the sum of the lines'.
//! - A **fixed** amount (capped at the eligible subtotal) is spread over the eligible
//!   lines in proportion to their amounts; the minor units lost to rounding go, one each,
//!   to the lines with the largest remainders (ties: earlier lines), so the parts always
//!   add up to the whole.
//! - **Free shipping** removes the shipping of every store with an eligible line.
//! - A platform code's discount is funded by the platform; a store code's by its store,
//!   and it only ever applies to that store's lines.

use contracts::catalog::{CategoryId, ProductId};
pub use contracts::promotions::PromotionId;
use kernel::ids::StoreId;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Benefit {
    /// Basis points of each eligible line (1 000 = 10 %).
    Percentage(i64),
    /// Minor units off the eligible lines together.
    Fixed(i64),
    FreeShipping,
}

/// A promotion's rules.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub benefit: Benefit,
    /// `None`: a platform code.
    pub store: Option<StoreId>,
    pub min_subtotal: i64,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    /// When not empty, only lines in these categories (or their subcategories).
    pub categories: Vec<CategoryId>,
    /// When not empty, only these products.
    pub products: Vec<ProductId>,
    pub first_order_only: bool,
}

/// A cart line as promotions see it.
#[derive(Debug, Clone)]
pub struct Line {
    pub store: StoreId,
    pub product: ProductId,
    /// The product's category and its ancestors.
    pub category_path: Vec<CategoryId>,
    /// Price × quantity, minor units.
    pub amount: i64,
}

/// Why a code does not apply, as a stable code and a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotStarted,
    Expired,
    NoEligibleItems,
    BelowMinimum,
    FirstOrderOnly,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotStarted => "promotion_not_started",
            Self::Expired => "promotion_expired",
            Self::NoEligibleItems => "promotion_not_applicable",
            Self::BelowMinimum => "promotion_minimum_not_met",
            Self::FirstOrderOnly => "promotion_first_order_only",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotStarted => "this code is not valid yet",
            Self::Expired => "this code has expired",
            Self::NoEligibleItems => "this code does not apply to anything in the cart",
            Self::BelowMinimum => "the cart's eligible items do not reach this code's minimum",
            Self::FirstOrderOnly => "this code is for a first order only",
        }
    }
}

/// What a code does to a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    /// Per line, in the cart's order (0 for lines it does not apply to).
    pub per_line: Vec<i64>,
    /// Stores whose shipping becomes free.
    pub free_shipping: Vec<StoreId>,
}

impl Discount {
    pub fn total(&self) -> i64 {
        self.per_line.iter().sum()
    }
}

fn eligible(p: &Promotion, line: &Line) -> bool {
    p.store.is_none_or(|s| s == line.store)
        && (p.products.is_empty() || p.products.contains(&line.product))
        && (p.categories.is_empty() || line.category_path.iter().any(|c| p.categories.contains(c)))
}

/// Applies `p` to `lines` at `now`; `first_order` says whether the customer has never
/// ordered.
pub fn apply(
    p: &Promotion,
    lines: &[Line],
    now: OffsetDateTime,
    first_order: bool,
) -> Result<Discount, Refusal> {
    if p.starts_at.is_some_and(|s| now < s) {
        return Err(Refusal::NotStarted);
    }
    if p.ends_at.is_some_and(|e| now >= e) {
        return Err(Refusal::Expired);
    }
    if p.first_order_only && !first_order {
        return Err(Refusal::FirstOrderOnly);
    }
    let mask: Vec<bool> = lines.iter().map(|l| eligible(p, l)).collect();
    let eligible_total: i64 = lines
        .iter()
        .zip(&mask)
        .filter(|(_, e)| **e)
        .map(|(l, _)| l.amount)
        .sum();
    if !mask.iter().any(|e| *e) {
        return Err(Refusal::NoEligibleItems);
    }
    if eligible_total < p.min_subtotal {
        return Err(Refusal::BelowMinimum);
    }
    let mut free_shipping = Vec::new();
    let per_line = match p.benefit {
        Benefit::Percentage(bps) => lines
            .iter()
            .zip(&mask)
            .map(|(l, e)| if *e { percent_of(l.amount, bps) } else { 0 })
            .collect(),
        Benefit::Fixed(amount) => {
            let amounts: Vec<i64> = lines
                .iter()
                .zip(&mask)
                .map(|(l, e)| if *e { l.amount } else { 0 })
                .collect();
            split(amount.min(eligible_total), &amounts)
        }
        Benefit::FreeShipping => {
            for (l, e) in lines.iter().zip(&mask) {
                if *e && !free_shipping.contains(&l.store) {
                    free_shipping.push(l.store);
                }
            }
            vec![0; lines.len()]
        }
    };
    Ok(Discount {
        per_line,
        free_shipping,
    })
}

/// `bps` basis points of `amount`, rounded half away from zero (amounts are ≥ 0).
fn percent_of(amount: i64, bps: i64) -> i64 {
    let scaled = i128::from(amount) * i128::from(bps);
    i64::try_from((scaled + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// Splits `total` over `weights` in proportion (largest remainder); sums to `total`
/// when the weights do not sum to zero.
pub fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<(usize, i64, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = i128::from(total) * i128::from(*w);
            (i, i64::try_from(exact / sum).unwrap_or(0), exact % sum)
        })
        .collect();
    let mut left = total - parts.iter().map(|p| p.1).sum::<i64>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| parts[*b].2.cmp(&parts[*a].2).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        if weights[i] > 0 {
            parts[i].1 += 1;
            left -= 1;
        }
    }
    parts.into_iter().map(|p| p.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn line(store: u128, product: u128, amount: i64) -> Line {
        Line {
            store: StoreId(Uuid::from_u128(store)),
            product: ProductId(Uuid::from_u128(product)),
            category_path: vec![
                CategoryId(Uuid::from_u128(100)),
                CategoryId(Uuid::from_u128(100 + product)),
            ],
            amount,
        }
    }

    fn promo(benefit: Benefit) -> Promotion {
        Promotion {
            benefit,
            store: None,
            min_subtotal: 0,
            starts_at: None,
            ends_at: None,
            categories: Vec::new(),
            products: Vec::new(),
            first_order_only: false,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn percentages_round_per_line() {
        let lines = [line(1, 1, 1999), line(2, 2, 5)];
        let d = apply(&promo(Benefit::Percentage(1000)), &lines, now(), false).unwrap();
        // 199.9 → 200; 0.5 → 1 (half away from zero)
        assert_eq!(d.per_line, [200, 1]);
    }

    #[test]
    fn fixed_amounts_split_exactly_by_largest_remainder() {
        assert_eq!(split(100, &[1, 1, 1]), [34, 33, 33]);
        assert_eq!(split(1000, &[3000, 1000, 0]), [750, 250, 0]);
        assert_eq!(split(7, &[0, 0]), [0, 0]);
        let lines = [line(1, 1, 3000), line(2, 2, 1000)];
        let d = apply(&promo(Benefit::Fixed(1001)), &lines, now(), false).unwrap();
        assert_eq!(d.per_line, [751, 250]);
        assert_eq!(d.total(), 1001);
        // Never more than the eligible items cost.
        let d = apply(&promo(Benefit::Fixed(99_999)), &lines, now(), false).unwrap();
        assert_eq!(d.total(), 4000);
    }

    #[test]
    fn store_codes_touch_only_their_store_and_conditions_hold() {
        let lines = [line(1, 1, 3000), line(2, 2, 1000)];
        let mut store_code = promo(Benefit::Percentage(5000));
        store_code.store = Some(StoreId(Uuid::from_u128(2)));
        assert_eq!(
            apply(&store_code, &lines, now(), false).unwrap().per_line,
            [0, 500]
        );
        store_code.store = Some(StoreId(Uuid::from_u128(9)));
        assert_eq!(
            apply(&store_code, &lines, now(), false),
            Err(Refusal::NoEligibleItems)
        );

        let mut by_category = promo(Benefit::Percentage(1000));
        by_category.categories = vec![CategoryId(Uuid::from_u128(101))];
        assert_eq!(
            apply(&by_category, &lines, now(), false).unwrap().per_line,
            [300, 0]
        );
        let mut minimum = promo(Benefit::Fixed(500));
        minimum.min_subtotal = 5000;
        assert_eq!(
            apply(&minimum, &lines, now(), false),
            Err(Refusal::BelowMinimum)
        );
        let mut window = promo(Benefit::Fixed(500));
        window.ends_at = Some(now());
        assert_eq!(apply(&window, &lines, now(), false), Err(Refusal::Expired));
        window.ends_at = None;
        window.starts_at = Some(now() + time::Duration::hours(1));
        assert_eq!(
            apply(&window, &lines, now(), false),
            Err(Refusal::NotStarted)
        );
        let mut first = promo(Benefit::Fixed(500));
        first.first_order_only = true;
        assert_eq!(
            apply(&first, &lines, now(), false),
            Err(Refusal::FirstOrderOnly)
        );
        assert!(apply(&first, &lines, now(), true).is_ok());
    }

    #[test]
    fn free_shipping_frees_the_stores_with_eligible_lines() {
        let lines = [line(1, 1, 3000), line(1, 3, 100), line(2, 2, 1000)];
        let mut p = promo(Benefit::FreeShipping);
        p.products = vec![ProductId(Uuid::from_u128(1)), ProductId(Uuid::from_u128(3))];
        let d = apply(&p, &lines, now(), false).unwrap();
        assert_eq!(d.free_shipping, [StoreId(Uuid::from_u128(1))]);
        assert_eq!(d.total(), 0);
    }
}
