//! Identifier newtypes. A value of these types is known to be valid: parse, don't validate.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest identifier accepted, in bytes.
const MAX_ID_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} `{value}` is longer than {MAX_ID_LEN} characters")]
    TooLong { kind: &'static str, value: String },
    #[error(
        "{kind} `{value}` has `{character}` at position {position}: expected lower-case letters, digits, `-` or `_`, starting with a letter or digit"
    )]
    InvalidCharacter {
        kind: &'static str,
        value: String,
        character: char,
        position: usize,
    },
}

/// Checks the slug rules shared by tenant and agent ids. They become NATS subject tokens and database
/// keys, so they exclude `.`, `*`, `>`, whitespace and upper case.
fn parse_slug(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            value: value.to_owned(),
        });
    }
    for (index, character) in value.chars().enumerate() {
        let allowed = character.is_ascii_lowercase()
            || character.is_ascii_digit()
            || (index > 0 && (character == '-' || character == '_'));
        if !allowed {
            return Err(IdError::InvalidCharacter {
                kind,
                value: value.to_owned(),
                character,
                position: index + 1,
            });
        }
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, IdError> {
                parse_slug($kind, value)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                parse_slug($kind, &value)?;
                Ok(Self(value))
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::try_from(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A tenant (a company using the control plane), e.g. `acme`.
    TenantId,
    "tenant id"
);
slug_id!(
    /// An agent within a tenant, e.g. `warehouse-eu-1`.
    AgentId,
    "agent id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        for value in ["acme", "a", "warehouse-eu-1", "team_2", "9lives"] {
            assert_eq!(TenantId::parse(value).unwrap().as_str(), value);
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_subject_token() {
        assert_eq!(TenantId::parse(""), Err(IdError::Empty { kind: "tenant id" }));
        let err = AgentId::parse("eu.1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "agent id `eu.1` has `.` at position 3: expected lower-case letters, digits, `-` or `_`, \
             starting with a letter or digit"
        );
        for bad in ["Acme", "a*", "a>", "a b", "-a", "é"] {
            assert!(TenantId::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(matches!(
            TenantId::parse(&"a".repeat(64)),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn deserializes_with_validation() {
        let ok: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(ok.as_str(), "acme");
        let err = serde_json::from_str::<TenantId>("\"ACME\"").unwrap_err();
        assert!(
            err.to_string().contains("tenant id `ACME` has `A` at position 1"),
            "{err}"
        );
    }
}
