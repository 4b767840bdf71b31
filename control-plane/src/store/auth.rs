//! Users, memberships, refresh and API tokens, and the audit log.
//!
//! Tokens are looked up by their SHA-256 hash only; the secrets themselves never reach the database.

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{IdentityStore, Store, StoreError, StoreResult, TenantStore};
use crate::auth::{MembershipChange, MembershipRefusal, Principal, Role, check_membership_change};

/// A user who may sign in with a password, and the tenants they belong to.
#[derive(Debug, Clone)]
pub struct LoginCandidate {
    pub id: Uuid,
    pub email: String,
    pub password_hash: Option<String>,
    pub memberships: Vec<(TenantId, Role)>,
}

impl LoginCandidate {
    /// Whether the user is a member of `tenant` and of no other: only then may that tenant change
    /// the user's credentials or link them to its identity provider by e-mail address.
    pub fn belongs_only_to(&self, tenant: &TenantId) -> bool {
        !self.memberships.is_empty() && self.memberships.iter().all(|(member_of, _)| member_of == tenant)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refresh {
    /// The token was current: it is now rotated and `new_hash` is the family's current token.
    Rotated {
        user: Uuid,
        email: String,
        tenant: TenantId,
        role: Role,
    },
    /// The token had already been rotated or revoked: its whole family is now revoked.
    Reused,
    /// Unknown, expired, or its user left the tenant.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub source_ip: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub source_ip: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SsoConnectionInfo {
    pub id: Uuid,
    pub name: String,
    pub issuer_url: String,
    pub client_id: String,
    pub default_role: Role,
    pub created_at: DateTime<Utc>,
}

/// A login attempt taken back at the callback, with what the code exchange needs.
#[derive(Debug, Clone)]
pub struct PendingSsoLogin {
    pub tenant: TenantId,
    pub connection_id: Uuid,
    pub connection: crate::sso::Connection,
    pub default_role: Role,
    pub pkce_verifier: String,
    pub nonce: String,
    pub callback_url: String,
    pub redirect_to: String,
}

/// How long a user may take at the identity provider before the attempt expires.
const SSO_LOGIN_TTL_MINUTES: i32 = 10;

fn role_of(text: &str) -> StoreResult<Role> {
    text.parse()
        .map_err(|error: String| StoreError::Corrupt(format!("stored role: {error}")))
}

fn tenant_of(text: &str) -> StoreResult<TenantId> {
    TenantId::parse(text).map_err(|error| StoreError::Corrupt(format!("stored tenant: {error}")))
}

impl Store {
    /// Creates the tenant if it does not exist yet.
    pub async fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The operator's way in (`cwic add-user`): creates the user, or sets an existing user's
    /// password (audited in each of their tenants), then gives them `role` in `tenant` under the
    /// membership rule with an owner's authority (so even here a tenant keeps an owner).
    pub async fn add_user_as_operator(
        &self,
        tenant: &TenantId,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<Result<Uuid, MembershipRefusal>> {
        let identity = self.identity();
        let user = match identity.create_user(email, "", Some(password_hash)).await? {
            Some(user) => user,
            None => {
                let existing = identity
                    .login_candidate(email)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("user {email} vanished")))?;
                identity
                    .set_user_credentials(existing.id, Some(password_hash), None, "operator:cli", "")
                    .await?;
                existing.id
            }
        };
        Ok(self
            .tenant(tenant)
            .change_membership(Role::Owner, user, MembershipChange::Set(role))
            .await?
            .map(|_| user))
    }
}

impl IdentityStore {
    /// Creates a user. Returns `None`, changing nothing, when a user with this e-mail address exists:
    /// an existing user's password and profile are theirs (see [`IdentityStore::set_user_credentials`]).
    pub async fn create_user(
        &self,
        email: &str,
        display_name: &str,
        password_hash: Option<&str>,
    ) -> StoreResult<Option<Uuid>> {
        let id: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO users (id, email, display_name, password_hash) VALUES ($1, lower($2), $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Sets a user's password and/or display name (those given) and records the change in the audit
    /// log of every tenant the user belongs to, in one transaction: whichever tenant a user is
    /// reached from, each of their tenants sees that their credentials changed.
    pub async fn set_user_credentials(
        &self,
        user: Uuid,
        password_hash: Option<&str>,
        display_name: Option<&str>,
        actor: &str,
        source_ip: &str,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let email: String = sqlx::query_scalar(
            "UPDATE users SET password_hash = COALESCE($2, password_hash), display_name = COALESCE($3, display_name)
             WHERE id = $1 RETURNING email",
        )
        .bind(user)
        .bind(password_hash)
        .bind(display_name)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, actor, action, target, outcome, source_ip, details)
             SELECT tenant_id, $2, 'credentials_changed', $3, 'success', $4, $5
             FROM memberships WHERE user_id = $1",
        )
        .bind(user)
        .bind(actor)
        .bind(format!("user:{email}"))
        .bind(source_ip)
        .bind(
            serde_json::json!({"password": password_hash.is_some(), "display_name": display_name.is_some()}),
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user with this e-mail address (case-insensitive) and their memberships.
    pub async fn login_candidate(&self, email: &str) -> StoreResult<Option<LoginCandidate>> {
        let Some(row) = sqlx::query("SELECT id, email, password_hash FROM users WHERE email = lower($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let id: Uuid = row.try_get(0)?;
        let memberships =
            sqlx::query("SELECT tenant_id, role FROM memberships WHERE user_id = $1 ORDER BY 1")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| Ok((tenant_of(row.try_get(0)?)?, role_of(row.try_get(1)?)?)))
                .collect::<StoreResult<_>>()?;
        Ok(Some(LoginCandidate {
            id,
            email: row.try_get(1)?,
            password_hash: row.try_get(2)?,
            memberships,
        }))
    }

    /// Rotates a refresh token: the presented one is retired and `new_hash` becomes current in the
    /// same family, in one transaction. A retired token presented again revokes the family.
    pub async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<Refresh> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT r.family_id, r.tenant_id, r.user_id, r.expires_at < now(),
                    r.rotated_at IS NOT NULL OR r.revoked_at IS NOT NULL, m.role, u.email
             FROM refresh_tokens r
             JOIN users u ON u.id = r.user_id
             LEFT JOIN memberships m ON m.tenant_id = r.tenant_id AND m.user_id = r.user_id
             WHERE r.token_hash = $1
             FOR UPDATE OF r",
        )
        .bind(presented)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Refresh::Invalid);
        };
        let family: Uuid = row.try_get(0)?;
        let (expired, retired): (bool, bool) = (row.try_get(3)?, row.try_get(4)?);
        if retired {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
            )
            .bind(family)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Refresh::Reused);
        }
        let role: Option<String> = row.try_get(5)?;
        let Some(role) = role.filter(|_| !expired) else {
            return Ok(Refresh::Invalid);
        };
        let tenant = tenant_of(row.try_get(1)?)?;
        let user: Uuid = row.try_get(2)?;
        sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
            .bind(presented)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant.as_str())
        .bind(user)
        .bind(family)
        .bind(new_hash)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Refresh::Rotated {
            user,
            email: row.try_get(6)?,
            tenant,
            role: role_of(&role)?,
        })
    }

    /// Revokes the family of the presented refresh token (logout). Returns whether it was known.
    pub async fn revoke_refresh_family(&self, presented: &[u8]) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
               AND revoked_at IS NULL",
        )
        .bind(presented)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The live (not revoked, not expired) API token with this hash, as a principal in its tenant.
    /// Records the use at most once a minute per token, so most requests only read.
    pub async fn authenticate_api_token(
        &self,
        hash: &[u8],
    ) -> StoreResult<Option<(Principal, TenantId, Role)>> {
        let row = sqlx::query(
            // A token made by a member acts for that member: it dies with the membership and never
            // holds more than the member's current role.
            "WITH live AS (
                 SELECT t.id, t.name, t.tenant_id, t.role, t.creator_user_id, m.role AS creator_role
                 FROM api_tokens t
                 LEFT JOIN memberships m ON m.tenant_id = t.tenant_id AND m.user_id = t.creator_user_id
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
                   AND (t.creator_user_id IS NULL OR m.role IS NOT NULL)
             ), touched AS (
                 UPDATE api_tokens SET last_used_at = now()
                 WHERE id = (SELECT id FROM live)
                   AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
             )
             SELECT id, name, tenant_id, role, creator_user_id, creator_role FROM live",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let role = role_of(row.try_get(3)?)?;
            let creator_role = row.try_get::<Option<&str>, _>(5)?.map(role_of).transpose()?;
            Ok((
                Principal::ApiToken {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    creator: row.try_get(4)?,
                },
                tenant_of(row.try_get(2)?)?,
                creator_role.map_or(role, |creator_role| role.min(creator_role)),
            ))
        })
        .transpose()
    }

    /// Takes the login attempt with this state (once: it is deleted), if it has not expired.
    pub async fn take_sso_login(&self, state: &str) -> StoreResult<Option<PendingSsoLogin>> {
        let row = sqlx::query(
            "WITH taken AS (DELETE FROM sso_logins WHERE state = $1 RETURNING *)
             SELECT t.tenant_id, c.issuer_url, c.client_id, c.client_secret, c.default_role,
                    t.pkce_verifier, t.nonce, t.callback_url, t.redirect_to, t.connection_id
             FROM taken t JOIN sso_connections c ON c.id = t.connection_id
             WHERE t.created_at > now() - make_interval(mins => $2)",
        )
        .bind(state)
        .bind(SSO_LOGIN_TTL_MINUTES)
        .fetch_optional(&self.pool)
        .await?;
        // Expired attempts of everyone are swept on the way.
        sqlx::query("DELETE FROM sso_logins WHERE created_at < now() - make_interval(mins => $1)")
            .bind(SSO_LOGIN_TTL_MINUTES)
            .execute(&self.pool)
            .await?;
        row.map(|row| {
            Ok(PendingSsoLogin {
                tenant: tenant_of(row.try_get(0)?)?,
                connection_id: row.try_get(9)?,
                connection: crate::sso::Connection {
                    issuer_url: row.try_get(1)?,
                    client_id: row.try_get(2)?,
                    client_secret: row.try_get(3)?,
                },
                default_role: role_of(row.try_get(4)?)?,
                pkce_verifier: row.try_get(5)?,
                nonce: row.try_get(6)?,
                callback_url: row.try_get(7)?,
                redirect_to: row.try_get(8)?,
            })
        })
        .transpose()
    }

    pub async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, actor, action, target, outcome, source_ip, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.tenant.as_ref().map(TenantId::as_str))
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.outcome)
        .bind(&entry.source_ip)
        .bind(&entry.details)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl TenantStore {
    /// Applies `change` to `user`'s membership of `tenant` under the one rule
    /// ([`check_membership_change`]), granted by someone with role `grantor`. The tenant's owner
    /// rows are locked first, so two concurrent changes cannot both take away "the other" owner.
    /// Removing a member also revokes the API tokens they made in the tenant. Returns the role the
    /// user had before, or why the change was refused (nothing changed then).
    pub async fn change_membership(
        &self,
        grantor: Role,
        user: Uuid,
        change: MembershipChange,
    ) -> StoreResult<Result<Option<Role>, MembershipRefusal>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT user_id, role FROM memberships
             WHERE tenant_id = $1 AND (role = 'owner' OR user_id = $2)
             ORDER BY user_id FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(user)
        .fetch_all(&mut *tx)
        .await?;
        let mut current = None;
        let mut other_owners = 0;
        for (member, role) in &rows {
            let role = role_of(role)?;
            if *member == user {
                current = Some(role);
            } else if role == Role::Owner {
                other_owners += 1;
            }
        }
        if let Err(refusal) = check_membership_change(grantor, current, change, other_owners) {
            return Ok(Err(refusal));
        }
        match change {
            MembershipChange::Set(role) | MembershipChange::AddIfAbsent(role) => {
                // AddIfAbsent keeps an existing membership as it is.
                sqlx::query(
                    "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role WHERE $4",
                )
                .bind(tenant.as_str())
                .bind(user)
                .bind(role.as_str())
                .bind(matches!(change, MembershipChange::Set(_)))
                .execute(&mut *tx)
                .await?;
            }
            MembershipChange::Remove => {
                sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_str())
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = now()
                     WHERE tenant_id = $1 AND creator_user_id = $2 AND revoked_at IS NULL",
                )
                .bind(tenant.as_str())
                .bind(user)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = now()
                     WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                )
                .bind(tenant.as_str())
                .bind(user)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Ok(current))
    }

    /// The user a single sign-on connection knows as `subject`, if it has linked one.
    pub async fn sso_identity(&self, connection: Uuid, subject: &str) -> StoreResult<Option<Uuid>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM sso_identities WHERE connection_id = $1 AND subject = $2 AND tenant_id = $3",
        )
        .bind(connection)
        .bind(subject)
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// Links `subject` of a connection of `tenant` to `user` (once; a second link is ignored).
    pub async fn link_sso_identity(&self, connection: Uuid, subject: &str, user: Uuid) -> StoreResult<()> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sso_identities (connection_id, subject, tenant_id, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (connection_id, subject) DO NOTHING",
        )
        .bind(connection)
        .bind(subject)
        .bind(tenant.as_str())
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn membership(&self, user: Uuid) -> StoreResult<Option<Role>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.as_str())
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
        role.as_deref().map(role_of).transpose()
    }

    pub async fn members(&self) -> StoreResult<Vec<Member>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.display_name, m.role, m.created_at
             FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.tenant_id = $1 ORDER BY u.email",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Member {
                    user_id: row.try_get(0)?,
                    email: row.try_get(1)?,
                    display_name: row.try_get(2)?,
                    role: role_of(row.try_get::<&str, _>(3)?)?,
                    joined_at: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Stores a new refresh token; `family` is a new id at login and the old token's on rotation.
    pub async fn insert_refresh_token(
        &self,
        user: Uuid,
        family: Uuid,
        hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant.as_str())
        .bind(user)
        .bind(family)
        .bind(hash)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        hash: &[u8],
        created_by: &str,
        creator: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<ApiTokenInfo> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let id = Uuid::now_v7();
        let created_at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO api_tokens (id, tenant_id, name, role, token_hash, created_by, expires_at, creator_user_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at",
        )
        .bind(id)
        .bind(tenant.as_str())
        .bind(name)
        .bind(role.as_str())
        .bind(hash)
        .bind(created_by)
        .bind(expires_at)
        .bind(creator)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ApiTokenInfo {
            id,
            name: name.to_owned(),
            role,
            created_by: created_by.to_owned(),
            created_at,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
    }

    pub async fn api_tokens(&self) -> StoreResult<Vec<ApiTokenInfo>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, name, role, created_by, created_at, expires_at, revoked_at, last_used_at
             FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiTokenInfo {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    role: role_of(row.try_get::<&str, _>(2)?)?,
                    created_by: row.try_get(3)?,
                    created_at: row.try_get(4)?,
                    expires_at: row.try_get(5)?,
                    revoked_at: row.try_get(6)?,
                    last_used_at: row.try_get(7)?,
                })
            })
            .collect()
    }

    /// Revokes a token of the tenant; false when the tenant has no such live token.
    pub async fn revoke_api_token(&self, id: Uuid) -> StoreResult<bool> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = now()
             WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn create_sso_connection(
        &self,
        name: &str,
        connection: &crate::sso::Connection,
        default_role: Role,
    ) -> StoreResult<Option<SsoConnectionInfo>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO sso_connections (id, tenant_id, name, issuer_url, client_id, client_secret, default_role)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, name) DO NOTHING
             RETURNING id, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(tenant.as_str())
        .bind(name)
        .bind(&connection.issuer_url)
        .bind(&connection.client_id)
        .bind(&connection.client_secret)
        .bind(default_role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|row| {
            Ok(SsoConnectionInfo {
                id: row.try_get(0)?,
                name: name.to_owned(),
                issuer_url: connection.issuer_url.clone(),
                client_id: connection.client_id.clone(),
                default_role,
                created_at: row.try_get(1)?,
            })
        })
        .transpose()
    }

    pub async fn sso_connections(&self) -> StoreResult<Vec<SsoConnectionInfo>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, name, issuer_url, client_id, default_role, created_at FROM sso_connections
             WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SsoConnectionInfo {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    issuer_url: row.try_get(2)?,
                    client_id: row.try_get(3)?,
                    default_role: role_of(row.try_get::<&str, _>(4)?)?,
                    created_at: row.try_get(5)?,
                })
            })
            .collect()
    }

    pub async fn delete_sso_connection(&self, id: Uuid) -> StoreResult<bool> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM sso_connections WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The tenant's connection by name, or its only one when no name is given.
    pub async fn sso_connection(
        &self,
        name: Option<&str>,
    ) -> StoreResult<Option<(Uuid, crate::sso::Connection)>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, issuer_url, client_id, client_secret FROM sso_connections
             WHERE tenant_id = $1 AND ($2::text IS NULL OR name = $2) LIMIT 2",
        )
        .bind(tenant.as_str())
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        let [row] = rows.as_slice() else {
            return Ok(None);
        };
        Ok(Some((
            row.try_get(0)?,
            crate::sso::Connection {
                issuer_url: row.try_get(1)?,
                client_id: row.try_get(2)?,
                client_secret: row.try_get(3)?,
            },
        )))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_sso_login(
        &self,
        state: &str,
        connection: Uuid,
        pkce_verifier: &str,
        nonce: &str,
        callback_url: &str,
        redirect_to: &str,
    ) -> StoreResult<()> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sso_logins (state, tenant_id, connection_id, pkce_verifier, nonce, callback_url, redirect_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(state)
        .bind(tenant.as_str())
        .bind(connection)
        .bind(pkce_verifier)
        .bind(nonce)
        .bind(callback_url)
        .bind(redirect_to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's audit records, newest first, keyset-paginated by `before_id`.
    pub async fn audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, outcome, source_ip, details FROM audit_log
             WHERE tenant_id = $1
               AND ($2::text IS NULL OR actor = $2)
               AND ($3::text IS NULL OR action ILIKE '%' || $3 || '%')
               AND ($4::timestamptz IS NULL OR at >= $4)
               AND ($5::bigint IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6",
        )
        .bind(tenant.as_str())
        .bind(&query.actor)
        .bind(&query.action)
        .bind(query.since)
        .bind(query.before_id)
        .bind(query.limit)
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    target: row.try_get(4)?,
                    outcome: row.try_get(5)?,
                    source_ip: row.try_get(6)?,
                    details: row.try_get(7)?,
                })
            })
            .collect()
    }
}
