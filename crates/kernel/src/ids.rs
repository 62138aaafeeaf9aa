//! Typed, prefixed identifiers (`usr_0192…`): a `UserId` cannot be passed where an
//! `OrderId` is expected, and a string with the wrong prefix does not parse.
//! Stored as `uuid` (v7, so they sort by creation time).

/// Declares a typed id: `typed_id!(pub UserId, "usr");`
#[macro_export]
macro_rules! typed_id {
    ($vis:vis $name:ident, $prefix:literal) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
        #[sqlx(transparent)]
        $vis struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::ids::format_prefixed($prefix, self.0))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::ids::parse_prefixed(s, $prefix).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("Identifier with the `", $prefix, "_` prefix")))
                    .pattern(Some(concat!("^", $prefix, "_[0-9a-fA-F]{32}$")))
                    .examples([concat!($prefix, "_0192f3a4b5c67d8e9fa0b1c2d3e4f5a6")])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

// The caller's identities: the access token names them, so every service's
// authorization reads them typed (their owners' contracts re-export them).
typed_id!(pub UserId, "usr");
typed_id!(pub SessionId, "ses");
typed_id!(pub StoreId, "sto");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an identifier like {prefix}_<32 hex digits>")]
pub struct IdParseError {
    pub prefix: &'static str,
}

/// `<prefix>_<32 hex>`: how a service refers to another domain's id without its type.
pub fn format_prefixed(prefix: &str, id: uuid::Uuid) -> String {
    format!("{prefix}_{}", id.simple())
}

/// Parses `<prefix>_<32 hex>`; anything else is an error naming the expected shape.
pub fn parse_prefixed(s: &str, prefix: &'static str) -> Result<uuid::Uuid, IdParseError> {
    let err = IdParseError { prefix };
    let rest = s
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(err.clone())?;
    if rest.len() != 32 {
        return Err(err);
    }
    uuid::Uuid::try_parse(rest).map_err(|_| err)
}

#[cfg(test)]
mod tests {
    crate::typed_id!(pub ThingId, "thg");

    #[test]
    fn round_trips_through_text_and_json() {
        let id = ThingId::new();
        let text = id.to_string();
        assert!(text.starts_with("thg_"));
        assert_eq!(text.len(), 4 + 32);
        assert_eq!(text.parse::<ThingId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ThingId>(&json).unwrap(), id);
    }

    #[test]
    fn rejects_wrong_prefix_and_garbage() {
        let id = ThingId::new();
        let other = id.to_string().replace("thg_", "usr_");
        assert!(other.parse::<ThingId>().is_err());
        assert!("thg_xyz".parse::<ThingId>().is_err());
        assert!(id.0.to_string().parse::<ThingId>().is_err());
        assert!(serde_json::from_str::<ThingId>("\"nope\"").is_err());
    }
}
