//! Enrollment tokens, agent config documents and the agent list, for the REST API and the CLI.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cwic_shared::AgentId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::OpaqueToken;
use crate::error::{ServiceError, ServiceResult};
use crate::grpc::ENROLLMENT_TOKEN_PREFIX;
use crate::store::TenantStore;
use crate::store::agents::AgentSummary;

/// Lifetime of an enrollment token when the request names none.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Longest lifetime an enrollment token may have.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Largest agent config document accepted.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// Parses a token lifetime such as `90s`, `15m`, `24h`, `7d` (at most [`MAX_TOKEN_LIFETIME`]).
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration like 15m, 24h or 7d";
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{expected}, found `{text}`"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(format!("{expected}, found `{text}`")),
    };
    let lifetime = Duration::from_secs(seconds);
    if lifetime.is_zero() || lifetime > MAX_TOKEN_LIFETIME {
        return Err(format!("expected a duration between 1s and 30d, found `{text}`"));
    }
    Ok(lifetime)
}

/// A new one-time enrollment token; `token` is shown here only (the store keeps its hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedEnrollmentToken {
    pub id: Uuid,
    pub tenant_id: String,
    /// The agent id the token is bound to; any when null.
    pub agent_id: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub token: String,
}

/// Creates a one-time enrollment token for `tenant`, bound to `agent` when given, living
/// `expires_in` (a duration such as `24h`; default [`DEFAULT_TOKEN_LIFETIME`]).
pub async fn create_enrollment_token(
    store: &TenantStore,
    agent: Option<&AgentId>,
    expires_in: Option<&str>,
) -> ServiceResult<CreatedEnrollmentToken> {
    let lifetime = match expires_in {
        Some(text) => {
            parse_lifetime(text).map_err(|message| ServiceError::bad_field("expires_in", message))?
        }
        None => DEFAULT_TOKEN_LIFETIME,
    };
    let expires_at = Utc::now()
        + chrono::Duration::from_std(lifetime)
            .map_err(|_| ServiceError::bad_field("expires_in", "expires_in is too long"))?;
    let OpaqueToken { text: token, hash } = OpaqueToken::with_prefix(ENROLLMENT_TOKEN_PREFIX)
        .map_err(|error| ServiceError::internal("cannot make an enrollment token", error))?;
    let created = store.create_enrollment_token(&hash, agent, expires_at).await?;
    Ok(CreatedEnrollmentToken {
        id: created.id,
        tenant_id: store.tenant_id().to_string(),
        agent_id: created.agent_id,
        expires_at: created.expires_at,
        token,
    })
}

/// The revision an agent config document was stored as.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentConfigRevision {
    pub agent_id: String,
    pub revision: i64,
}

/// Stores `agent`'s config document (YAML text, at most [`MAX_CONFIG_BYTES`]) that its
/// `GetConfig` returns.
pub async fn put_agent_config(
    store: &TenantStore,
    agent: &AgentId,
    document: &[u8],
) -> ServiceResult<AgentConfigRevision> {
    if document.len() > MAX_CONFIG_BYTES {
        return Err(ServiceError::bad_field(
            "body",
            format!("the config document is larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    let yaml = std::str::from_utf8(document)
        .map_err(|_| ServiceError::bad_field("body", "the config document is not UTF-8 text"))?;
    let revision = store
        .set_agent_config(agent, yaml)
        .await?
        .ok_or_else(|| ServiceError::not_found("agent"))?;
    Ok(AgentConfigRevision {
        agent_id: agent.to_string(),
        revision,
    })
}

/// The tenant's agents with their liveness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<AgentSummary>,
}

pub async fn list_agents(store: &TenantStore) -> ServiceResult<AgentList> {
    Ok(AgentList {
        items: store.list_agents().await?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units_and_bounds() {
        assert_eq!(parse_lifetime("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_lifetime("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_lifetime("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_lifetime("30d").unwrap(), MAX_TOKEN_LIFETIME);
        assert_eq!(
            parse_lifetime("31d").unwrap_err(),
            "expected a duration between 1s and 30d, found `31d`"
        );
        assert_eq!(
            parse_lifetime("0s").unwrap_err(),
            "expected a duration between 1s and 30d, found `0s`"
        );
        assert_eq!(
            parse_lifetime("soon").unwrap_err(),
            "expected a duration like 15m, 24h or 7d, found `soon`"
        );
        assert!(parse_lifetime("5w").is_err());
    }
}
