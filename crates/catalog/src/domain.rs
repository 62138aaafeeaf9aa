//! Catalog rules, free of I/O.

kernel::typed_id!(pub CategoryId, "cat");

/// Same shape as store slugs: `[a-z0-9]` words joined by single hyphens, 2 to 60 characters.
pub fn parse_slug(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim().to_ascii_lowercase();
    if !(2..=60).contains(&s.len()) {
        return Err("must be 2 to 60 characters");
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(s)
    } else {
        Err("may use lowercase letters, digits and single hyphens between them")
    }
}

/// Where a category may go: never under itself or one of its descendants.
pub fn can_move_under(moving: CategoryId, new_parent_path: &[CategoryId]) -> bool {
    !new_parent_path.contains(&moving)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(parse_slug("Home-Garden").unwrap(), "home-garden");
        assert!(parse_slug("a").is_err());
        assert!(parse_slug("home & garden").is_err());
        assert!(parse_slug("-x-").is_err());
    }

    #[test]
    fn no_cycles() {
        let (a, b, c) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        // Tree a > b > c: a cannot go under c (its descendant) nor under itself.
        assert!(!can_move_under(a, &[a, b, c]));
        assert!(!can_move_under(b, &[a, b]));
        assert!(can_move_under(c, &[a]));
    }
}
