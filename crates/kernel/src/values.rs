//! Small value types many domains share: email addresses and country codes.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Trimmed and lower-cased, so `Ann@Example.com` and `ann@example.com` are one account.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim().to_lowercase();
        if v.len() > 254 {
            return Err("must be at most 254 characters");
        }
        if !email_address::EmailAddress::is_valid(&v) || !v.contains('@') {
            return Err("is not a valid email address");
        }
        let domain = v.rsplit('@').next().unwrap_or_default();
        if !domain.contains('.') && domain != "localhost" {
            return Err("is not a valid email address");
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 3166-1 alpha-2 codes.
pub(crate) const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn parse_country(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim().to_ascii_uppercase();
    if v.len() == 2 && COUNTRIES.split(' ').any(|c| c == v) {
        Ok(v)
    } else {
        Err("must be an ISO 3166-1 alpha-2 country code such as FR or US")
    }
}

/// A URL slug: `[a-z0-9]` words joined by single hyphens, `min` to 60 characters.
pub fn parse_slug(raw: &str, min: usize) -> Result<String, String> {
    let s = raw.trim().to_ascii_lowercase();
    if !(min..=60).contains(&s.len()) {
        return Err(format!("must be {min} to 60 characters"));
    }
    let shape_ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if shape_ok {
        Ok(s)
    } else {
        Err("may use lowercase letters, digits and single hyphens between them".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert_eq!(parse_slug(" Corner-Shop-42 ", 3).unwrap(), "corner-shop-42");
        for bad in ["ab", "-shop", "shop-", "sh--op", "shop shop", "shöp"] {
            assert!(parse_slug(bad, 3).is_err(), "{bad}");
        }
        assert!(parse_slug("ab", 2).is_ok());
    }

    #[test]
    fn emails_are_normalised_and_validated() {
        assert_eq!(
            EmailAddress::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@example",
            "a b@x.com",
            "<script>@x.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
        assert!(EmailAddress::parse(&format!("{}@x.com", "a".repeat(260))).is_err());
    }

    #[test]
    fn countries_are_iso_alpha2() {
        assert_eq!(parse_country("fr").unwrap(), "FR");
        assert!(parse_country("XX").is_err());
        assert!(parse_country("FRA").is_err());
    }
}
