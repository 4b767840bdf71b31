//! Commands to a connected agent: `run_now`, `reload_config` and `fix`, validated here, sent on the
//! agent's command subject with NATS request/reply, and the agent's answer typed.

use std::time::Duration;

use cwic_shared::{AgentId, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ErrorCode, ServiceError, ServiceResult};
use crate::store::TenantStore;

/// How long the control plane waits for an agent to answer a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// A fix runs a statement over the table (and copies the rows it changes): it may take a while.
const FIX_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest text field of a command.
const MAX_FIELD_CHARS: usize = 1024;

const COMMANDS: [&str; 3] = ["run_now", "reload_config", "fix"];

/// A command as a caller sends it (and as the agent receives it).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// `run_now` (collect at once), `reload_config` (re-read the config file and restart with it) or
    /// `fix` (preview, apply or undo the fix of a check in a source's check suite).
    pub command: String,
    /// `fix`: the source, by its name in the agent's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `fix`: the dataset, when several have a check of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// `fix`: the check's name, e.g. `trimmed(name)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// `fix`: apply it (one transaction, with a before-image); without it, a dry run that changes
    /// nothing and tells how many rows would change.
    #[serde(default)]
    pub apply: bool,
    /// `fix`: undo the applied fix with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
}

impl CommandRequest {
    /// Refuses a command the agent would not understand, naming the field to change.
    pub fn validate(&self) -> ServiceResult<()> {
        if !COMMANDS.contains(&self.command.as_str()) {
            return Err(ServiceError::bad_field(
                "command",
                format!(
                    "unknown command `{}` (expected run_now, reload_config or fix)",
                    self.command
                ),
            ));
        }
        for (field, value) in [
            ("source", &self.source),
            ("dataset", &self.dataset),
            ("check", &self.check),
            ("undo", &self.undo),
        ] {
            if let Some(value) = value {
                crate::api::text::field(field, value, 1, MAX_FIELD_CHARS)?;
            }
        }
        let is_fix = self.is_fix();
        let fix_fields = self.source.is_some()
            || self.dataset.is_some()
            || self.check.is_some()
            || self.apply
            || self.undo.is_some();
        if !is_fix && fix_fields {
            return Err(ServiceError::bad_field(
                "command",
                format!("`{}` takes no other field", self.command),
            ));
        }
        if is_fix && self.source.is_none() {
            return Err(ServiceError::bad_field("source", "`fix` needs `source`"));
        }
        if is_fix && self.check.is_none() == self.undo.is_none() {
            return Err(ServiceError::bad_field(
                "check",
                "`fix` needs either `check` (to preview or apply) or `undo` (an applied fix's id)",
            ));
        }
        Ok(())
    }

    fn is_fix(&self) -> bool {
        self.command == "fix"
    }
}

/// What a `fix` did or would do, as the agent tells it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct FixOutcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// What the fix does, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_affected: Option<u64>,
    /// The statement the fix runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
    /// The applied fix's id, for `undo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_changed: Option<u64>,
    /// `undo`: the fix undone and the rows it put back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_restored: Option<u64>,
}

/// The agent's answer to a command.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CommandAnswer {
    pub ok: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOutcome>,
}

/// A command sent and the agent's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandReply {
    pub agent_id: String,
    pub command: String,
    pub answer: CommandAnswer,
}

/// Reads an agent's answer; one that is not the expected JSON is reported as a failed command.
fn read_answer(payload: &[u8]) -> CommandAnswer {
    serde_json::from_slice(payload).unwrap_or_else(|_| CommandAnswer {
        ok: false,
        message: "the agent's answer is not JSON".to_owned(),
        fix: None,
    })
}

/// Validates `request` and sends it to `agent` of the store's tenant over `nats`, waiting for its
/// answer (15 s, 5 min for a fix); a fix the agent proposed, applied or undid goes on the timeline
/// of the active incidents of its check. `nats` is `None` when the control plane serves without a
/// broker.
pub async fn send_command(
    nats: Option<&async_nats::Client>,
    store: &TenantStore,
    agent: &AgentId,
    request: CommandRequest,
    by: &str,
) -> ServiceResult<CommandReply> {
    let reply = send(nats, store.tenant_id(), agent, &request).await?;
    if let (true, Some(fix)) = (reply.answer.ok, &reply.answer.fix) {
        let check = fix.check.as_deref().or(request.check.as_deref());
        let dataset = fix.dataset.as_deref().or(request.dataset.as_deref());
        let (kind, message) = if let Some(undone) = &fix.undone {
            (
                "fix_undone",
                format!(
                    "{by} undid the fix {undone}: {} rows put back",
                    fix.rows_restored.unwrap_or(0)
                ),
            )
        } else if fix.applied == Some(true) {
            (
                "fix_applied",
                format!(
                    "{by} applied the fix{}: {} rows changed (undo with the fix id {})",
                    fix.fix
                        .as_deref()
                        .map(|f| format!(" \"{f}\""))
                        .unwrap_or_default(),
                    fix.rows_changed.unwrap_or(0),
                    fix.id.as_deref().unwrap_or("?")
                ),
            )
        } else {
            (
                "fix_proposed",
                format!(
                    "the agent proposed a fix{}: {} rows would change",
                    fix.fix
                        .as_deref()
                        .map(|f| format!(" \"{f}\""))
                        .unwrap_or_default(),
                    fix.rows_affected.unwrap_or(0)
                ),
            )
        };
        let details = serde_json::to_value(fix).unwrap_or_default();
        // The agent has already changed the table: the answer must say so even when its timeline
        // note cannot be written (that is the operator's problem, logged, not the caller's).
        if let Err(error) = store
            .note_fix(
                kind,
                check,
                dataset,
                request.undo.as_deref(),
                by,
                &message,
                &details,
            )
            .await
        {
            tracing::warn!(%error, kind, "cannot write the fix on its incidents' timeline");
        }
    }
    Ok(reply)
}

async fn send(
    nats: Option<&async_nats::Client>,
    tenant: &TenantId,
    agent: &AgentId,
    request: &CommandRequest,
) -> ServiceResult<CommandReply> {
    request.validate()?;
    let Some(nats) = nats else {
        return Err(ServiceError::new(
            ErrorCode::Unavailable,
            "this control plane has no broker connection",
        ));
    };
    let subject = cwic_shared::subjects::command_subject(tenant, agent);
    let payload = serde_json::to_vec(request)
        .map_err(|error| ServiceError::internal("encoding a command failed", error))?;
    let timeout = if request.is_fix() {
        FIX_TIMEOUT
    } else {
        COMMAND_TIMEOUT
    };
    let reply = tokio::time::timeout(
        timeout,
        nats.send_request(
            subject,
            async_nats::Request::new()
                .payload(payload.into())
                .timeout(Some(timeout)),
        ),
    )
    .await;
    // No responder, a timeout or a broken connection: the agent did not answer.
    let Ok(Ok(message)) = reply else {
        return Err(ServiceError::new(
            ErrorCode::Conflict,
            format!("agent `{agent}` is not connected (no answer on its command subject)"),
        ));
    };
    Ok(CommandReply {
        agent_id: agent.to_string(),
        command: request.command.clone(),
        answer: read_answer(&message.payload),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> CommandRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn commands_are_checked_before_they_are_sent() {
        assert!(
            request(serde_json::json!({"command": "run_now"}))
                .validate()
                .is_ok()
        );
        let refused = |json| request(json).validate().unwrap_err();
        let error = refused(serde_json::json!({"command": "explode"}));
        assert_eq!(error.details, serde_json::json!({"field": "command"}));
        let error = refused(serde_json::json!({"command": "run_now", "apply": true}));
        assert_eq!(error.message, "`run_now` takes no other field");
        let error = refused(serde_json::json!({"command": "fix", "check": "trimmed(name)"}));
        assert_eq!(error.message, "`fix` needs `source`");
        let error = refused(serde_json::json!({"command": "fix", "source": "shop"}));
        assert_eq!(error.details, serde_json::json!({"field": "check"}));
    }

    #[test]
    fn an_answer_keeps_every_fix_field_and_a_garbled_one_is_a_failure() {
        let answer = read_answer(
            br#"{"ok":true,"message":"applied","fix":{"dataset":"public.c","check":"trimmed(name)","fix":"trim","rows_affected":3,"sql":"UPDATE","applied":true,"id":"f1","rows_changed":3}}"#,
        );
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["fix"]["rows_changed"], 3);
        assert_eq!(json["fix"]["id"], "f1");
        assert!(json["fix"].get("undone").is_none());
        let garbled = read_answer(b"not json");
        assert!(!garbled.ok);
        assert_eq!(garbled.message, "the agent's answer is not JSON");
    }
}
