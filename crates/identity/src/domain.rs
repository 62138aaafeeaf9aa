//! Identity's rules, free of I/O: what a valid email, password, name or address is,
//! and the policies for codes, tokens and throttling.

use std::time::Duration;

use kernel::validation::{FieldErrors, bounded_text};
pub use kernel::values::{EmailAddress, parse_country};

pub use contracts::identity::{AddressId, SessionId, UserId};

pub const VERIFICATION_CODE_TTL: Duration = Duration::from_secs(10 * 60);
pub const VERIFICATION_MAX_ATTEMPTS: i32 = 5;
pub const VERIFICATION_RESEND_COOLDOWN: Duration = Duration::from_secs(60);
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
pub const MAX_ADDRESSES: i64 = 20;

/// Failed logins for one account within the window before it is throttled.
pub const LOGIN_FAILURES_PER_ACCOUNT: i32 = 5;
/// Failed logins from one client address within the window before it is throttled.
pub const LOGIN_FAILURES_PER_IP: i32 = 20;
/// Password-reset and code-resend requests from one client address per window.
pub const EMAIL_REQUESTS_PER_IP: i32 = 10;
/// Password-reset emails to one account per window.
pub const EMAIL_REQUESTS_PER_ACCOUNT: i32 = 5;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The most common passwords of ten characters or more (shorter ones fail on length).
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "1234567890a",
    "0987654321",
    "1111111111",
    "0000000000",
    "1234512345",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "asdfghjkl1",
    "asdfghjkl;",
    "password12",
    "password123",
    "password1234",
    "password!1",
    "passw0rd12",
    "p@ssw0rd12",
    "p@ssword123",
    "iloveyou12",
    "iloveyou123",
    "princess12",
    "sunshine12",
    "football12",
    "baseball12",
    "superman12",
    "welcome123",
    "welcome1234",
    "letmein123",
    "trustno1234",
    "monkey1234",
    "dragon1234",
    "master1234",
    "abc1234567",
    "abcdefghij",
    "abcdefg123",
    "administrator",
    "admin12345",
    "admin123456",
    "changeme123",
    "qazwsxedcrfv",
    "1qazxsw23edc",
    "michael123",
    "jennifer12",
    "charlie123",
    "starwars12",
    "whatever12",
    "computer12",
    "internet12",
    "pokemon123",
    "chocolate1",
    "basketball",
    "butterfly1",
    "liverpool1",
    "strawberry",
    "elizabeth1",
    "christopher",
    "1234qwerty",
    "9876543210",
    "aaaaaaaaaa",
    "a1b2c3d4e5",
    "passwordpassword",
    "emporium123",
    "marketplace",
];

#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < 10 {
            return Err("must be at least 10 characters");
        }
        if chars > 256 {
            return Err("must be at most 256 characters");
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err("is too common; choose another");
        }
        let mut distinct: Vec<char> = raw.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 4 {
            return Err("uses too few different characters");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

pub fn parse_name(raw: &str) -> Result<String, String> {
    bounded_text(raw, 1, 100)
}

pub fn parse_phone(raw: &str) -> Result<Option<String>, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed = v
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -().".contains(c) || (c == '+' && i == 0));
    if !allowed || !(6..=15).contains(&digits) {
        return Err("must be a phone number of 6 to 15 digits, optionally starting with +".into());
    }
    Ok(Some(v.to_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Suspended,
}

kernel::text_enum!(UserStatus { Active = "active", Suspended = "suspended" });

/// A postal address as entered, before it is validated.
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub label: Option<String>,
    pub full_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

/// A validated postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub label: Option<String>,
    pub full_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

fn optional_text(
    errs: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    errs.check(field, "invalid", bounded_text(v, 1, max))
}

impl Address {
    pub fn parse(input: &AddressInput) -> Result<Self, kernel::http::Problem> {
        let mut errs = FieldErrors::new();
        let label = optional_text(&mut errs, "label", input.label.as_deref(), 50);
        let full_name = errs.check(
            "full_name",
            "invalid",
            bounded_text(&input.full_name, 1, 100),
        );
        let line1 = errs.check("line1", "invalid", bounded_text(&input.line1, 1, 200));
        let line2 = optional_text(&mut errs, "line2", input.line2.as_deref(), 200);
        let city = errs.check("city", "invalid", bounded_text(&input.city, 1, 100));
        let region = optional_text(&mut errs, "region", input.region.as_deref(), 100);
        let postal_code = errs.check(
            "postal_code",
            "invalid",
            bounded_text(&input.postal_code, 1, 20),
        );
        let country = errs.check("country", "invalid", parse_country(&input.country));
        let phone = errs
            .check(
                "phone",
                "invalid",
                parse_phone(input.phone.as_deref().unwrap_or("")),
            )
            .flatten();
        errs.finish()?;
        match (full_name, line1, city, postal_code, country) {
            (Some(full_name), Some(line1), Some(city), Some(postal_code), Some(country)) => {
                Ok(Self {
                    label,
                    full_name,
                    line1,
                    line2,
                    city,
                    region,
                    postal_code,
                    country,
                    phone,
                    is_default_shipping: input.is_default_shipping,
                    is_default_billing: input.is_default_billing,
                })
            }
            _ => Err(kernel::http::Problem::internal(
                &"address fields missing after validation",
            )),
        }
    }
}

/// Outcome of comparing a submitted verification code with the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    Wrong,
    Expired,
    TooManyAttempts,
}

/// The order matters: an exhausted code stays dead even if the right code comes later.
pub fn check_code(matches: bool, attempts_before: i32, expired: bool) -> CodeCheck {
    if attempts_before >= VERIFICATION_MAX_ATTEMPTS {
        CodeCheck::TooManyAttempts
    } else if expired {
        CodeCheck::Expired
    } else if matches {
        CodeCheck::Valid
    } else {
        CodeCheck::Wrong
    }
}

/// How a presented refresh token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshCheck {
    /// Unused: exchange it for the next pair of its session.
    Rotate,
    /// Exchanged moments ago and its successor is still unused: the same client racing
    /// itself (two tabs refreshing at once). Answer the very pair the first use got;
    /// nothing new is issued.
    Replay,
    /// Already exchanged, and either too long ago or the chain has moved on since
    /// (its successor was exchanged too): someone holds a copy, so the whole session is
    /// revoked.
    Reused,
    Expired,
    Revoked,
}

/// A token presented again this soon after its first use is taken as the same client
/// racing itself (two tabs refreshing at once), not as theft.
pub const REFRESH_REUSE_GRACE_SECS: i64 = 10;

/// `used_secs_ago` is `None` for an unused token. `successor_used` says whether the
/// token its first use returned has been exchanged (or cannot be found) and only
/// matters for a used one. A used token's own expiry does not matter: the first use
/// was in time, and a replay issues nothing.
pub fn check_refresh(
    used_secs_ago: Option<i64>,
    successor_used: bool,
    session_revoked: bool,
    expired: bool,
) -> RefreshCheck {
    if session_revoked {
        RefreshCheck::Revoked
    } else if let Some(ago) = used_secs_ago {
        if ago <= REFRESH_REUSE_GRACE_SECS && !successor_used {
            RefreshCheck::Replay
        } else {
            RefreshCheck::Reused
        }
    } else if expired {
        RefreshCheck::Expired
    } else {
        RefreshCheck::Rotate
    }
}

/// The refresh token that exchanging `presented` yields. A keyed MAC of the presented
/// token, so a reuse within the grace period recomputes the very same successor with
/// nothing secret kept in clear; without `key` it can be neither predicted nor derived
/// from the stored digests. The label separates this use of the key from others.
pub fn successor_refresh_token(key: &[u8], presented: &str) -> String {
    let mac = kernel::secret::keyed_digest(key, &format!("refresh-token-successor/v1:{presented}"));
    format!("rt_{}", kernel::secret::b64url(&mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_this_version_never_writes_is_not_guessed() {
        assert_eq!(UserStatus::parse("active"), Some(UserStatus::Active));
        assert_eq!(UserStatus::parse("suspended"), Some(UserStatus::Suspended));
        assert_eq!(UserStatus::parse("frozen"), None);
    }

    #[test]
    fn passwords_need_length_variety_and_rarity() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("Password123").is_err());
        assert!(Password::parse("aaaaabbbbb").is_err());
        assert!(Password::parse(&"x".repeat(300)).is_err());
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn phones_and_countries() {
        assert_eq!(parse_phone("").unwrap(), None);
        assert_eq!(
            parse_phone("+33 6 12 34 56 78").unwrap().as_deref(),
            Some("+33 6 12 34 56 78")
        );
        assert!(parse_phone("call me").is_err());
        assert!(parse_phone("12+34567").is_err());
    }

    #[test]
    fn addresses_report_every_bad_field() {
        let p = Address::parse(&AddressInput {
            country: "Narnia".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["full_name", "line1", "city", "postal_code", "country"]
        );
    }

    #[test]
    fn code_checks_follow_attempts_then_expiry() {
        assert_eq!(check_code(true, 0, false), CodeCheck::Valid);
        assert_eq!(check_code(false, 4, false), CodeCheck::Wrong);
        assert_eq!(check_code(true, 5, false), CodeCheck::TooManyAttempts);
        assert_eq!(check_code(true, 0, true), CodeCheck::Expired);
    }

    #[test]
    fn refresh_reuse_beats_expiry_and_revocation_beats_all() {
        assert_eq!(
            check_refresh(None, false, false, false),
            RefreshCheck::Rotate
        );
        assert_eq!(
            check_refresh(Some(60), false, false, true),
            RefreshCheck::Reused
        );
        assert_eq!(
            check_refresh(Some(60), false, true, false),
            RefreshCheck::Revoked
        );
        assert_eq!(
            check_refresh(Some(0), false, true, false),
            RefreshCheck::Revoked
        );
        assert_eq!(
            check_refresh(None, false, false, true),
            RefreshCheck::Expired
        );
        assert_eq!(
            check_refresh(Some(REFRESH_REUSE_GRACE_SECS + 1), false, false, false),
            RefreshCheck::Reused
        );
    }

    #[test]
    fn refresh_reuse_within_grace_replays_only_while_the_chain_has_not_moved() {
        // Two tabs refreshing at once: the second gets the first one's answer again.
        assert_eq!(
            check_refresh(Some(0), false, false, false),
            RefreshCheck::Replay
        );
        assert_eq!(
            check_refresh(Some(REFRESH_REUSE_GRACE_SECS), false, false, true),
            RefreshCheck::Replay
        );
        // The client already exchanged the successor: a copy is being replayed.
        assert_eq!(
            check_refresh(Some(0), true, false, false),
            RefreshCheck::Reused
        );
    }

    #[test]
    fn successors_are_deterministic_per_key_and_token() {
        let a = successor_refresh_token(b"key", "rt_a");
        assert!(a.starts_with("rt_"));
        assert_eq!(a.len(), 3 + 43);
        assert_eq!(a, successor_refresh_token(b"key", "rt_a"));
        assert_ne!(a, successor_refresh_token(b"key", "rt_b"));
        assert_ne!(a, successor_refresh_token(b"other key", "rt_a"));
        // The successor is not the plain keyed digest a verification code would get.
        assert_ne!(
            &a[3..],
            kernel::secret::b64url(&kernel::secret::keyed_digest(b"key", "rt_a"))
        );
    }

    #[test]
    fn ids_have_their_prefixes() {
        assert!(UserId::new().to_string().starts_with("usr_"));
        assert!("adr_x".parse::<AddressId>().is_err());
    }
}
