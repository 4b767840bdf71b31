//! Agents: enrollment tokens, enrollment, agent credentials, heartbeats, config documents, listing.
//!
//! Tokens and credentials arrive here already hashed (SHA-256); plaintext never reaches the database.

use chrono::{DateTime, Utc};
use cwic_shared::{AgentId, TenantId};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{IdentityStore, Store, StoreResult, TenantStore, outbox};
use crate::events::{AgentStatusChanged, AgentStatusReason, Event, EventData};

/// An agent is `online` when it was heard from within this many seconds (heartbeat or batch).
pub const ONLINE_WITHIN_SECONDS: i64 = 90;
/// … `stale` up to this many, `offline` after (or when never heard from).
pub const STALE_WITHIN_SECONDS: i64 = 15 * 60;

/// Why an enrollment token was refused. The messages are safe to show to the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollRefusal {
    #[error("unknown enrollment token")]
    Unknown,
    #[error("the enrollment token was already used")]
    Used,
    #[error("the enrollment token expired")]
    Expired,
    #[error("the enrollment token belongs to another tenant than `{requested}`")]
    OtherTenant { requested: String },
    #[error("the enrollment token is for agent `{bound}`, not `{requested}`")]
    OtherAgent { bound: String, requested: String },
}

pub struct EnrollRequest<'a> {
    pub token_hash: &'a [u8],
    pub tenant: Option<&'a TenantId>,
    pub agent: Option<&'a AgentId>,
    pub agent_version: &'a str,
    pub nats_public_key: &'a str,
    pub credential_hash: &'a [u8],
}

#[derive(Debug, Clone)]
pub struct Enrolled {
    pub tenant: TenantId,
    pub agent: AgentId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    Online,
    Stale,
    Offline,
}

impl Liveness {
    pub fn from_last_activity(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match last.map(|at| (now - at).num_seconds()) {
            Some(age) if age <= ONLINE_WITHIN_SECONDS => Liveness::Online,
            Some(age) if age <= STALE_WITHIN_SECONDS => Liveness::Stale,
            _ => Liveness::Offline,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentSummary {
    pub id: String,
    pub version: String,
    /// online, stale or offline, from the newer of the last heartbeat and the last batch.
    pub status: Liveness,
    /// What the agent said about itself in its last heartbeat (`running`, `stopped`, …).
    pub reported_status: String,
    pub enrolled_at: Option<DateTime<Utc>>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub last_batch_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedEnrollmentToken {
    pub id: Uuid,
    pub agent_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl TenantStore {
    pub async fn create_enrollment_token(
        &self,
        token_hash: &[u8],
        agent: Option<&AgentId>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<CreatedEnrollmentToken> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        // Enrollment can come before any batch of the tenant.
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO agent_enrollment_tokens (id, tenant_id, token_hash, agent_id, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(tenant.as_str())
        .bind(token_hash)
        .bind(agent.map(AgentId::as_str))
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CreatedEnrollmentToken {
            id,
            agent_id: agent.map(|agent| agent.as_str().to_owned()),
            expires_at,
        })
    }

    /// Records a heartbeat. An `agent.status_changed` event commits with it when the reported
    /// status differs from the last one, or when the agent was stale or offline before.
    pub async fn record_heartbeat(
        &self,
        agent: &AgentId,
        version: &str,
        status: &str,
    ) -> StoreResult<DateTime<Utc>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        // The row as it was, read under its lock so concurrent heartbeats see each other's change.
        let row = sqlx::query(
            "WITH before AS (SELECT tenant_id, id, status, last_heartbeat_at,
                                    NULLIF(last_seen_at, '-infinity') AS last_batch_at
                             FROM agents WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
             UPDATE agents a SET last_heartbeat_at = now(), status = $3, offline_reported_at = NULL,
                 version = CASE WHEN $4 = '' THEN a.version ELSE $4 END
             FROM before WHERE a.tenant_id = before.tenant_id AND a.id = before.id
             RETURNING a.last_heartbeat_at, a.version, before.status AS previous_status,
                       before.last_heartbeat_at AS previous_heartbeat, before.last_batch_at",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(status)
        .bind(version)
        .fetch_one(&mut *tx)
        .await?;
        let at: DateTime<Utc> = row.try_get("last_heartbeat_at")?;
        let previous_status: String = row.try_get("previous_status")?;
        let previous_heartbeat: Option<DateTime<Utc>> = row.try_get("previous_heartbeat")?;
        let last_batch: Option<DateTime<Utc>> = row.try_get("last_batch_at")?;
        let previous_liveness = Liveness::from_last_activity(previous_heartbeat.max(last_batch), at);
        let reason = if previous_status != status {
            Some(AgentStatusReason::Reported)
        } else if previous_liveness != Liveness::Online {
            Some(AgentStatusReason::BackOnline)
        } else {
            None
        };
        if let Some(reason) = reason {
            let event = Event::at(
                tenant.as_str(),
                at,
                EventData::AgentStatusChanged(AgentStatusChanged {
                    agent: agent.as_str().to_owned(),
                    reason,
                    status: status.to_owned(),
                    previous_status: Some(previous_status),
                    liveness: Liveness::Online.into(),
                    previous_liveness: previous_liveness.into(),
                    version: row.try_get("version")?,
                }),
            );
            outbox::append(&mut tx, std::slice::from_ref(&event)).await?;
        }
        tx.commit().await?;
        Ok(at)
    }

    /// The agent's config document and its revision (`""`, 0 when none was stored).
    pub async fn agent_config(&self, agent: &AgentId) -> StoreResult<(String, i64)> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let row =
            sqlx::query("SELECT config_yaml, config_revision FROM agents WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(agent.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        match row {
            Some(row) => Ok((row.try_get("config_yaml")?, row.try_get("config_revision")?)),
            None => Ok((String::new(), 0)),
        }
    }

    /// Stores a new config document for an agent; returns the new revision, `None` for no such agent.
    pub async fn set_agent_config(&self, agent: &AgentId, yaml: &str) -> StoreResult<Option<i64>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE agents SET config_yaml = $3, config_revision = config_revision + 1
             WHERE tenant_id = $1 AND id = $2 RETURNING config_revision",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(yaml)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match row {
            Some(row) => Some(row.try_get("config_revision")?),
            None => None,
        })
    }

    /// The tenant's agents by id, with liveness from the newest of last heartbeat and last batch.
    pub async fn list_agents(&self) -> StoreResult<Vec<AgentSummary>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, version, status, enrolled_at, last_heartbeat_at,
                    NULLIF(last_seen_at, '-infinity') AS last_batch_at, now() AS now
             FROM agents WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                let last_heartbeat_at: Option<DateTime<Utc>> = row.try_get("last_heartbeat_at")?;
                let last_batch_at: Option<DateTime<Utc>> = row.try_get("last_batch_at")?;
                let now: DateTime<Utc> = row.try_get("now")?;
                let last = last_heartbeat_at.max(last_batch_at);
                Ok(AgentSummary {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    status: Liveness::from_last_activity(last, now),
                    reported_status: row.try_get("status")?,
                    enrolled_at: row.try_get("enrolled_at")?,
                    last_heartbeat_at,
                    last_batch_at,
                })
            })
            .collect()
    }
}

impl IdentityStore {
    /// Uses an enrollment token once: in one transaction the token row is locked, checked (unused,
    /// unexpired, of the requested tenant and agent), marked used, and the agent row is created or
    /// given its new credential. A refused token is left as it was.
    pub async fn enroll_agent(
        &self,
        request: &EnrollRequest<'_>,
    ) -> StoreResult<Result<Enrolled, EnrollRefusal>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT id, tenant_id, agent_id, expires_at <= now() AS expired, used_at IS NOT NULL AS used
             FROM agent_enrollment_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(request.token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(EnrollRefusal::Unknown));
        };
        let token_id: Uuid = row.try_get("id")?;
        let tenant_text: String = row.try_get("tenant_id")?;
        let bound_agent: Option<String> = row.try_get("agent_id")?;
        if row.try_get::<bool, _>("used")? {
            return Ok(Err(EnrollRefusal::Used));
        }
        if row.try_get::<bool, _>("expired")? {
            return Ok(Err(EnrollRefusal::Expired));
        }
        if let Some(requested) = request.tenant
            && requested.as_str() != tenant_text
        {
            return Ok(Err(EnrollRefusal::OtherTenant {
                requested: requested.to_string(),
            }));
        }
        let agent_text = match (bound_agent, request.agent) {
            (Some(bound), Some(requested)) if bound != requested.as_str() => {
                return Ok(Err(EnrollRefusal::OtherAgent {
                    bound,
                    requested: requested.to_string(),
                }));
            }
            (Some(bound), _) => bound,
            (None, Some(requested)) => requested.as_str().to_owned(),
            (None, None) => format!("agent-{}", &Uuid::new_v4().simple().to_string()[..12]),
        };
        let (Ok(tenant), Ok(agent)) = (TenantId::parse(&tenant_text), AgentId::parse(&agent_text)) else {
            // Both were parsed before being stored, so this is database damage.
            return Err(super::StoreError::Corrupt(format!(
                "enrollment token {token_id} holds an invalid tenant or agent id"
            )));
        };
        // The agent's status before, for its `agent.status_changed` event (none: a new agent).
        // (reported status, last heartbeat, last batch)
        type Before = (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let before: Option<Before> = sqlx::query_as(
            "SELECT status, last_heartbeat_at, NULLIF(last_seen_at, '-infinity')
             FROM agents WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        // `last_seen_at` is the last batch; -infinity until the first one arrives.
        sqlx::query(
            "INSERT INTO agents (tenant_id, id, version, first_seen_at, last_seen_at, enrolled_at,
                                 credential_hash, nats_public_key)
             VALUES ($1, $2, $3, now(), '-infinity', now(), $4, $5)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
                 version = EXCLUDED.version, enrolled_at = now(),
                 credential_hash = EXCLUDED.credential_hash, nats_public_key = EXCLUDED.nats_public_key",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(request.agent_version)
        .bind(request.credential_hash)
        .bind(request.nats_public_key)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE agent_enrollment_tokens SET used_at = now(), used_by = $2 WHERE id = $1")
            .bind(token_id)
            .bind(agent.as_str())
            .execute(&mut *tx)
            .await?;
        let now = Utc::now();
        let (previous_status, previous_liveness) = match &before {
            Some((status, heartbeat, batch)) => (
                Some(status.clone()),
                Liveness::from_last_activity((*heartbeat).max(*batch), now),
            ),
            None => (None, Liveness::Offline),
        };
        let status = previous_status.clone().unwrap_or_default();
        let event = Event::new(
            &tenant,
            EventData::AgentStatusChanged(AgentStatusChanged {
                agent: agent.as_str().to_owned(),
                reason: AgentStatusReason::Enrolled,
                status,
                previous_status,
                liveness: previous_liveness.into(),
                previous_liveness: previous_liveness.into(),
                version: request.agent_version.to_owned(),
            }),
        );
        outbox::append(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(Ok(Enrolled { tenant, agent }))
    }

    /// The agent an agent token belongs to.
    pub async fn agent_by_credential(&self, credential_hash: &[u8]) -> StoreResult<Option<Enrolled>> {
        let row = sqlx::query("SELECT tenant_id, id FROM agents WHERE credential_hash = $1")
            .bind(credential_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant: String = row.try_get("tenant_id")?;
        let agent: String = row.try_get("id")?;
        Ok(match (TenantId::parse(&tenant), AgentId::parse(&agent)) {
            (Ok(tenant), Ok(agent)) => Some(Enrolled { tenant, agent }),
            _ => None,
        })
    }
}

impl Store {
    /// Marks agents silent for longer than [`STALE_WITHIN_SECONDS`] as offline, once per silence,
    /// each with an `agent.status_changed` (`went_offline`) event; returns the events.
    pub async fn report_offline_agents(&self) -> StoreResult<Vec<Event>> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "UPDATE agents SET offline_reported_at = now()
             WHERE offline_reported_at IS NULL
               AND greatest(last_heartbeat_at, NULLIF(last_seen_at, '-infinity'))
                   < now() - make_interval(secs => $1)
             RETURNING tenant_id, id, status, version",
        )
        .bind(STALE_WITHIN_SECONDS as f64)
        .fetch_all(&mut *tx)
        .await?;
        let now = Utc::now();
        let events: Vec<Event> = rows
            .into_iter()
            .map(|(tenant, agent, status, version)| {
                Event::at(
                    &tenant,
                    now,
                    EventData::AgentStatusChanged(AgentStatusChanged {
                        agent,
                        reason: AgentStatusReason::WentOffline,
                        previous_status: Some(status.clone()),
                        status,
                        liveness: Liveness::Offline.into(),
                        previous_liveness: Liveness::Stale.into(),
                        version,
                    }),
                )
            })
            .collect();
        outbox::append(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(events)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_age_of_the_last_activity() {
        let now = Utc::now();
        let ago = |seconds| Some(now - chrono::Duration::seconds(seconds));
        assert_eq!(Liveness::from_last_activity(ago(0), now), Liveness::Online);
        assert_eq!(
            Liveness::from_last_activity(ago(ONLINE_WITHIN_SECONDS), now),
            Liveness::Online
        );
        assert_eq!(
            Liveness::from_last_activity(ago(ONLINE_WITHIN_SECONDS + 1), now),
            Liveness::Stale
        );
        assert_eq!(
            Liveness::from_last_activity(ago(STALE_WITHIN_SECONDS), now),
            Liveness::Stale
        );
        assert_eq!(
            Liveness::from_last_activity(ago(STALE_WITHIN_SECONDS + 1), now),
            Liveness::Offline
        );
        assert_eq!(Liveness::from_last_activity(None, now), Liveness::Offline);
    }
}
