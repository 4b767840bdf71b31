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
pub use secret::{OpaqueToken, TokenKind, hash_token, random_bytes};

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
    User {
        id: Uuid,
        email: String,
    },
    ApiToken {
        id: Uuid,
        name: String,
        /// The member who made the token (`None`: the operator, on the command line).
        creator: Option<Uuid>,
    },
}

impl Principal {
    /// The actor as the audit log records it.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { email, .. } => format!("user:{email}"),
            Principal::ApiToken { id, name, .. } => format!("token:{name}:{id}"),
        }
    }

    /// The member a request acts for: the signed-in user, or the member who made the API token.
    pub fn acting_user(&self) -> Option<Uuid> {
        match self {
            Principal::User { id, .. } => Some(*id),
            Principal::ApiToken { creator, .. } => *creator,
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

/// A change to one user's membership of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    /// Give this role: add the membership or change its role.
    Set(Role),
    /// Add the membership with this role only if there is none (keep an existing one as it is).
    AddIfAbsent(Role),
    Remove,
}

/// Why a membership change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    #[error("a {grantor} cannot grant the {role} role")]
    GrantAbove { grantor: Role, role: Role },
    #[error("only an owner can change an owner")]
    OnlyOwnerChangesOwner,
    #[error("a tenant keeps at least one owner")]
    LastOwner,
    #[error("member not found")]
    NotMember,
}

/// The one rule for every path that changes a membership (adding a member, changing a role,
/// removing a member, provisioning through SSO, the operator's command line): `grantor` gives no
/// role above its own and only an owner gives or takes the owner role; an owner is changed only by
/// an owner; and a tenant always keeps at least one owner. `current` is the user's role now and
/// `other_owners` how many owners the tenant has besides this user.
pub fn check_membership_change(
    grantor: Role,
    current: Option<Role>,
    change: MembershipChange,
    other_owners: usize,
) -> Result<(), MembershipRefusal> {
    let wanted = match change {
        MembershipChange::Set(role) => Some(role),
        MembershipChange::AddIfAbsent(role) if current.is_none() => Some(role),
        MembershipChange::AddIfAbsent(_) => return Ok(()),
        MembershipChange::Remove if current.is_none() => return Err(MembershipRefusal::NotMember),
        MembershipChange::Remove => None,
    };
    if let Some(role) = wanted
        && (role > grantor || (role == Role::Owner && grantor != Role::Owner))
    {
        return Err(MembershipRefusal::GrantAbove { grantor, role });
    }
    if current == Some(Role::Owner) && wanted != Some(Role::Owner) {
        if grantor != Role::Owner {
            return Err(MembershipRefusal::OnlyOwnerChangesOwner);
        }
        if other_owners == 0 {
            return Err(MembershipRefusal::LastOwner);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_guards_every_membership_change() {
        use MembershipChange::{AddIfAbsent, Remove, Set};
        use MembershipRefusal::*;
        let check = check_membership_change;
        // Admins manage everyone below owner, in every way.
        assert_eq!(check(Role::Admin, None, Set(Role::Admin), 1), Ok(()));
        assert_eq!(
            check(Role::Admin, Some(Role::Viewer), Set(Role::Editor), 1),
            Ok(())
        );
        assert_eq!(check(Role::Admin, Some(Role::Editor), Remove, 1), Ok(()));
        // ...but never an owner, whatever the path (the finding: POST demoted the only owner).
        assert_eq!(
            check(Role::Admin, Some(Role::Owner), Set(Role::Viewer), 0),
            Err(OnlyOwnerChangesOwner)
        );
        assert_eq!(
            check(Role::Admin, Some(Role::Owner), Set(Role::Viewer), 3),
            Err(OnlyOwnerChangesOwner)
        );
        assert_eq!(
            check(Role::Admin, Some(Role::Owner), Remove, 3),
            Err(OnlyOwnerChangesOwner)
        );
        assert_eq!(
            check(Role::Admin, None, Set(Role::Owner), 1),
            Err(GrantAbove {
                grantor: Role::Admin,
                role: Role::Owner
            })
        );
        assert_eq!(
            check(Role::Editor, None, Set(Role::Admin), 1),
            Err(GrantAbove {
                grantor: Role::Editor,
                role: Role::Admin
            })
        );
        // Owners may demote or remove owners while another remains.
        assert_eq!(check(Role::Owner, Some(Role::Owner), Set(Role::Admin), 1), Ok(()));
        assert_eq!(
            check(Role::Owner, Some(Role::Owner), Set(Role::Admin), 0),
            Err(LastOwner)
        );
        assert_eq!(check(Role::Owner, Some(Role::Owner), Remove, 0), Err(LastOwner));
        assert_eq!(check(Role::Owner, Some(Role::Owner), Set(Role::Owner), 0), Ok(()));
        // Provisioning adds only where there is no membership; an existing one is left alone.
        assert_eq!(
            check(Role::Admin, Some(Role::Owner), AddIfAbsent(Role::Viewer), 0),
            Ok(())
        );
        assert_eq!(check(Role::Admin, None, Remove, 0), Err(NotMember));
    }

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
