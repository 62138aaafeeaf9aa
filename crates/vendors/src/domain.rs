//! Vendors' rules, free of I/O: store slugs, payout accounts, commission, and the
//! store's status machine.

pub use contracts::vendors::{InvitationId, RESERVED_SLUGS, StoreId};

pub const INVITATION_TTL_DAYS: i64 = 7;

/// A store slug (3 to 60 characters) that is not a reserved word.
pub fn parse_slug(raw: &str) -> Result<String, String> {
    let s = kernel::values::parse_slug(raw, 3)?;
    if RESERVED_SLUGS.contains(&s.as_str()) {
        return Err("is reserved; choose another".to_owned());
    }
    Ok(s)
}

/// An IBAN, normalised (no spaces, upper case) and checked with ISO 7064 mod 97-10.
pub fn parse_iban(raw: &str) -> Result<String, &'static str> {
    let iban: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&iban.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !iban
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err("is not an IBAN");
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder == 1 {
        Ok(iban)
    } else {
        Err("has a wrong check digit")
    }
}

/// Shows only the last four characters of an IBAN.
pub fn mask_iban(iban: &str) -> String {
    let tail: String = iban
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("•••• {tail}")
}

/// Commission in basis points: 1250 is 12.5 %.
pub fn parse_commission_bps(value: i64) -> Result<i32, &'static str> {
    i32::try_from(value)
        .ok()
        .filter(|v| (0..=10_000).contains(v))
        .ok_or("must be between 0 and 10000 basis points (0 % to 100 %)")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStatus {
    Pending,
    Approved,
    Rejected,
    Suspended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAction {
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

kernel::text_enum!(StoreStatus { Pending = "pending", Approved = "approved", Rejected = "rejected", Suspended = "suspended" });

impl StoreStatus {
    /// The status machine: anything not listed is an illegal transition (a 409).
    pub fn apply(self, action: StoreAction) -> Option<Self> {
        use StoreAction as A;
        match (self, action) {
            (Self::Pending, A::Approve) => Some(Self::Approved),
            (Self::Pending, A::Reject) => Some(Self::Rejected),
            (Self::Approved, A::Suspend) => Some(Self::Suspended),
            (Self::Suspended, A::Reinstate) => Some(Self::Approved),
            _ => None,
        }
    }

    /// Whether customers can see the store and its products.
    pub fn is_public(self) -> bool {
        self == Self::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(parse_slug(" Corner-Shop-42 ").unwrap(), "corner-shop-42");
        for bad in [
            "ab",
            "-shop",
            "shop-",
            "sh--op",
            "shop shop",
            "shöp",
            "admin",
            &"a".repeat(61),
        ] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ibans_are_checked() {
        assert_eq!(
            parse_iban("fr76 3000 6000 0112 3456 7890 189").unwrap(),
            "FR7630006000011234567890189"
        );
        assert_eq!(
            parse_iban("DE89370400440532013000").unwrap(),
            "DE89370400440532013000"
        );
        assert!(
            parse_iban("DE89370400440532013001").is_err(),
            "check digits"
        );
        assert!(parse_iban("not an iban").is_err());
        assert_eq!(mask_iban("DE89370400440532013000"), "•••• 3000");
    }

    #[test]
    fn commission_is_bounded() {
        assert_eq!(parse_commission_bps(1250).unwrap(), 1250);
        assert!(parse_commission_bps(-1).is_err());
        assert!(parse_commission_bps(10_001).is_err());
        assert!(parse_commission_bps(i64::MAX).is_err());
    }

    #[test]
    fn status_machine() {
        use StoreAction as A;
        use StoreStatus as S;
        assert_eq!(S::Pending.apply(A::Approve), Some(S::Approved));
        assert_eq!(S::Pending.apply(A::Reject), Some(S::Rejected));
        assert_eq!(S::Approved.apply(A::Suspend), Some(S::Suspended));
        assert_eq!(S::Suspended.apply(A::Reinstate), Some(S::Approved));
        assert_eq!(S::Rejected.apply(A::Approve), None);
        assert_eq!(S::Approved.apply(A::Approve), None);
        assert_eq!(S::Pending.apply(A::Suspend), None);
        assert!(S::Approved.is_public() && !S::Suspended.is_public());
        for s in [S::Pending, S::Approved, S::Rejected, S::Suspended] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
