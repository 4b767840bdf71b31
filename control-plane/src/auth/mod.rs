//! Identity and access: roles, the authenticated caller, password hashing, signed access tokens and
//! opaque refresh/API tokens.
//!
//! Owns the cryptography and the rules (role order, token lifetimes, token formats). Must not know
//! HTTP or SQL: the API turns headers into a [`Caller`] with these functions, the store keeps hashes.

mod jwt;
mod password;
mod secret;

use std::fmt;
use std::str::FromStr;

use cwic_shared::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use jwt::{AccessClaims, JwtKeys, KeyError};
pub use password::{UNKNOWN_USER_HASH, hash_password, verify_password};
pub use secret::{OpaqueToken, TokenKind, hash_token};

/// How long an access token is valid. Short, so a logout or a role change takes effect quickly
/// without a revocation list.
pub const ACCESS_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(15);
/// How long a refresh token is valid when not used. Each use rotates it.
pub const REFRESH_TOKEN_TTL: chrono::Duration = chrono::Duration::days(14);

/// A member's role in a tenant. Ordered: each role can do everything the ones below it can.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in the tenant.
    Viewer,
    /// Also changes data-quality content: lineage, checks, feedback on anomalies.
    Editor,
    /// Also manages members, tokens, agents, SSO connections and reads the audit log.
    Admin,
    /// Also manages owners and the tenant itself.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("unknown role `{text}` (expected viewer, editor, admin or owner)"))
    }
}

/// Who is acting: a signed-in user or an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { id: Uuid, email: String },
    ApiToken { id: Uuid, name: String },
}

impl Principal {
    /// The actor as the audit log records it.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { email, .. } => format!("user:{email}"),
            Principal::ApiToken { id, name } => format!("token:{name}:{id}"),
        }
    }

    /// A stable key for per-caller rate limits.
    pub fn rate_key(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("user:{id}"),
            Principal::ApiToken { id, .. } => format!("token:{id}"),
        }
    }
}

/// An authenticated request's identity: who, in which tenant, with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub tenant: TenantId,
    pub role: Role,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_back() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(
            "root"
                .parse::<Role>()
                .unwrap_err()
                .contains("viewer, editor, admin or owner")
        );
    }
}
