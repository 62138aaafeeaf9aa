//! Inventory rules, free of I/O: quantities, the reservation state machine, and how a
//! reservation is spread over a store's locations.

use std::time::Duration;

pub use contracts::inventory::{LocationId, MAX_QUANTITY, ReservationId};

/// The most one line may ask for or one adjustment may move: far above any real order,
/// far below integer overflow.
/// Lines one reservation may hold.
pub const MAX_LINES: usize = 100;
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
pub const MAX_TTL: Duration = Duration::from_secs(2 * 60 * 60);

/// A quantity to reserve: at least one, not absurd.
pub fn parse_quantity(q: i64) -> Result<i32, &'static str> {
    if q < 1 {
        Err("must be at least 1")
    } else if q > MAX_QUANTITY {
        Err("is larger than any order")
    } else {
        i32::try_from(q).map_err(|_| "is larger than any order")
    }
}

/// A stock adjustment: not zero, not absurd.
pub fn parse_delta(d: i64) -> Result<i32, &'static str> {
    if d == 0 {
        Err("must not be zero")
    } else if d.abs() > MAX_QUANTITY {
        Err("is larger than any real adjustment")
    } else {
        i32::try_from(d).map_err(|_| "is larger than any real adjustment")
    }
}

/// Why on-hand stock changed; kept with every movement.
pub fn parse_reason(r: &str) -> Result<String, &'static str> {
    kernel::validation::bounded_text(r, 2, 200).map_err(|_| "say why, in 2 to 200 characters")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    /// Stock set aside for a checkout, until `expires_at`.
    Held,
    /// Paid for: the stock left the shelf.
    Committed,
    /// Given back before payment (checkout failed or was abandoned).
    Released,
    /// Given back because its time ran out.
    Expired,
    /// Came back after a commit (a cancelled order).
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationAction {
    Commit,
    Release,
    Expire,
    Return,
}

kernel::text_enum!(ReservationStatus { Held = "held", Committed = "committed", Released = "released", Expired = "expired", Returned = "returned" });

impl ReservationStatus {
    /// The state machine; anything else is an illegal transition (409).
    pub fn apply(self, action: ReservationAction) -> Option<Self> {
        use ReservationAction as A;
        match (self, action) {
            (Self::Held, A::Commit) => Some(Self::Committed),
            (Self::Held, A::Release) => Some(Self::Released),
            (Self::Held, A::Expire) => Some(Self::Expired),
            (Self::Committed, A::Return) => Some(Self::Returned),
            _ => None,
        }
    }
}

/// Takes `wanted` units from locations offering `(location, available)`, fullest first,
/// so an order ships from as few places as possible; `None` when they hold too little.
pub fn allocate<L: Copy + Ord>(mut offers: Vec<(L, i64)>, wanted: i64) -> Option<Vec<(L, i32)>> {
    offers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut left = wanted;
    let mut plan = Vec::new();
    for (location, available) in offers {
        if left == 0 {
            break;
        }
        let take = available.min(left);
        if take > 0 {
            plan.push((location, i32::try_from(take).ok()?));
            left -= take;
        }
    }
    (left == 0).then_some(plan)
}

/// Whether a change from `before` to `after` units available crosses below the
/// store's low-stock threshold (the moment worth telling the vendor about).
pub fn crossed_low(before: i64, after: i64, threshold: Option<i32>) -> bool {
    threshold.is_some_and(|t| before >= i64::from(t) && after < i64::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn quantities_and_deltas_are_bounded() {
        assert_eq!(parse_quantity(1), Ok(1));
        assert!(parse_quantity(0).is_err());
        assert!(parse_quantity(-3).is_err());
        assert!(parse_quantity(MAX_QUANTITY + 1).is_err());
        assert!(parse_quantity(i64::MAX).is_err());
        assert_eq!(parse_delta(-5), Ok(-5));
        assert!(parse_delta(0).is_err());
        assert!(parse_delta(i64::MIN + 1).is_err());
        assert!(parse_reason(" ").is_err());
        assert_eq!(parse_reason("Recount").as_deref(), Ok("Recount"));
    }

    #[test]
    fn reservations_move_only_forward() {
        use ReservationAction as A;
        use ReservationStatus as S;
        assert_eq!(S::Held.apply(A::Commit), Some(S::Committed));
        assert_eq!(S::Held.apply(A::Release), Some(S::Released));
        assert_eq!(S::Held.apply(A::Expire), Some(S::Expired));
        assert_eq!(S::Committed.apply(A::Return), Some(S::Returned));
        assert_eq!(S::Committed.apply(A::Release), None);
        assert_eq!(S::Released.apply(A::Commit), None);
        assert_eq!(S::Expired.apply(A::Commit), None);
        assert_eq!(S::Returned.apply(A::Return), None);
        for s in [S::Held, S::Committed, S::Released, S::Expired, S::Returned] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn allocation_takes_from_the_fullest_locations_first() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(allocate(vec![(a, 2), (b, 10)], 4), Some(vec![(b, 4)]));
        assert_eq!(
            allocate(vec![(a, 2), (b, 3), (c, 0)], 5),
            Some(vec![(b, 3), (a, 2)])
        );
        assert_eq!(allocate(vec![(a, 2), (b, 3)], 6), None);
        assert_eq!(allocate(Vec::<(Uuid, i64)>::new(), 1), None);
    }

    #[test]
    fn low_stock_is_reported_when_crossed_not_while_below() {
        assert!(crossed_low(5, 4, Some(5)));
        assert!(!crossed_low(4, 3, Some(5)));
        assert!(!crossed_low(10, 6, Some(5)));
        assert!(!crossed_low(10, 0, None));
    }
}
