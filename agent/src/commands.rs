//! Commands from the control plane: request/reply on `cwic.<tenant>.agent.<agent>.cmd`.
//!
//! `run_now` starts a collection at once; `reload_config` re-reads the config file and, when it is
//! valid, restarts the agent's session with it (the outbox carries over, nothing is lost); `fix`
//! previews, applies (only with `"apply": true`: the approval) or undoes the fix of a check of a
//! source's check suite, exactly as `cwic-agent fix` does. Every command is answered with
//! `{"ok": bool, "message": text}` (a fix adds `"fix": {…}`: counts, the SQL and the undo id, never a
//! value of the table); the control plane audits who sent it.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::AgentConfig;
use crate::source::ConnectedSource;

#[derive(Deserialize)]
struct Request {
    command: String,
    /// `fix`: the source (by its name in the config) whose check suite holds the check.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    check: Option<String>,
    /// `fix`: apply it (else a dry run that changes nothing).
    #[serde(default)]
    apply: bool,
    /// `fix`: undo the applied fix with this id instead.
    #[serde(default)]
    undo: Option<String>,
}

/// An answer: whether it worked, one sentence, and details for `fix`.
struct Answer {
    ok: bool,
    message: String,
    fix: Option<serde_json::Value>,
    restart: bool,
}

impl Answer {
    fn new(ok: bool, message: impl Into<String>) -> Self {
        Self {
            ok,
            message: message.into(),
            fix: None,
            restart: false,
        }
    }
}

/// What the listener can make the agent do.
pub struct Controls {
    pub config_path: PathBuf,
    /// The session's sources by name, with their parsed check suites: a fix runs on the pool the
    /// collections use.
    pub sources: Vec<(String, ConnectedSource)>,
    /// Wakes the collection loop for a run now.
    pub run_now: Arc<Notify>,
    /// Cancelled to end the session and start again with the re-read config.
    pub reload: CancellationToken,
}

/// The answer to one command, and whether the session should restart after sending it.
async fn handle(payload: &[u8], controls: &Controls) -> Answer {
    let request: Request = match serde_json::from_slice(payload) {
        Ok(request) => request,
        Err(error) => {
            return Answer::new(
                false,
                format!("the command is not JSON `{{\"command\": ...}}`: {error}"),
            );
        }
    };
    match request.command.as_str() {
        "run_now" => {
            controls.run_now.notify_one();
            Answer::new(true, "collection started")
        }
        "reload_config" => match AgentConfig::load(&controls.config_path) {
            Ok(_) => Answer {
                restart: true,
                ..Answer::new(true, "the config file is valid; restarting with it")
            },
            Err(error) => Answer::new(false, format!("kept the running config: {error}")),
        },
        "fix" => match fix(&request, controls).await {
            Ok((message, details)) => Answer {
                fix: Some(details),
                ..Answer::new(true, message)
            },
            Err(why) => Answer::new(false, why),
        },
        other => Answer::new(
            false,
            format!("unknown command `{other}` (expected run_now, reload_config or fix)"),
        ),
    }
}

/// The `fix` command: the check's fix as `cwic-agent fix` plans it, previewed (rows affected and the
/// statement), applied in one transaction with a before-image, or undone.
async fn fix(request: &Request, controls: &Controls) -> Result<(String, serde_json::Value), String> {
    use crate::checks::fix;
    let wanted = request.source.as_deref().ok_or("`fix` needs `source`")?;
    let connected = controls
        .sources
        .iter()
        .find(|(name, _)| name == wanted)
        .map(|(_, connected)| connected)
        .ok_or_else(|| format!("no source named `{wanted}` in the agent's config"))?;
    if !connected.source.capabilities().fixes {
        return Err(format!(
            "source `{wanted}` is a {} source, where fixes do not apply",
            connected.source.engine().name
        ));
    }
    let executor = connected
        .source
        .checks()
        .map_err(|error| format!("cannot run fixes on source `{wanted}`: {error}"))?;
    if let Some(id) = &request.undo {
        let restored = fix::undo(executor, id)
            .await
            .map_err(|error| format!("fix {id} not undone: {error:#}"))?;
        return Ok((
            format!("fix {id} undone: {restored} rows restored"),
            json!({"undone": id, "rows_restored": restored}),
        ));
    }
    let suite = connected
        .checks
        .as_ref()
        .ok_or_else(|| format!("source `{wanted}` has no check suite (`checks:` in the config)"))?;
    let name = request
        .check
        .as_deref()
        .ok_or("`fix` needs `check` (or `undo`)")?;
    let plan = fix::plan_named(executor, suite, request.dataset.as_deref(), name)
        .await
        .map_err(|error| error.to_string())?;
    let (affected, _preview) = plan
        .dry_run(executor, 0)
        .await
        .map_err(|error| format!("the dry run failed: {error:#}"))?;
    let mut details = json!({
        "dataset": plan.dataset, "check": plan.check, "fix": fix::describe(plan.kind),
        "rows_affected": affected, "sql": plan.statement(), "applied": false,
    });
    if !request.apply {
        return Ok((
            format!(
                "dry run: {affected} rows of {} would change ({})",
                plan.dataset,
                fix::describe(plan.kind)
            ),
            details,
        ));
    }
    if affected == 0 {
        return Ok(("nothing to fix".to_owned(), details));
    }
    let (id, changed) = plan
        .apply(executor)
        .await
        .map_err(|error| format!("the fix was not applied: {error:#}"))?;
    details["applied"] = json!(true);
    details["id"] = json!(id);
    details["rows_changed"] = json!(changed);
    info!(dataset = %plan.dataset, check = %plan.check, %id, changed, "fix applied on the control plane's command");
    Ok((
        format!(
            "applied fix {id}: {changed} rows of {} changed; undo with {{\"command\": \"fix\", \"source\": \"{wanted}\", \"undo\": \"{id}\"}}",
            plan.dataset
        ),
        details,
    ))
}

/// Answers commands until `stop` fires.
pub async fn listen(
    client: async_nats::Client,
    subject: String,
    controls: Controls,
    stop: CancellationToken,
) {
    let mut subscription = match client.subscribe(subject.clone()).await {
        Ok(subscription) => subscription,
        Err(error) => {
            warn!(%error, %subject, "cannot listen for commands");
            return;
        }
    };
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => break,
            message = subscription.next() => match message {
                Some(message) => message,
                None => break,
            },
        };
        let Answer {
            ok,
            message: text,
            fix,
            restart,
        } = handle(&message.payload, &controls).await;
        info!(ok, answer = %text, "command from the control plane");
        if let Some(reply) = message.reply {
            let mut answer = json!({"ok": ok, "message": text});
            if let Some(fix) = fix {
                answer["fix"] = fix;
            }
            let answer = answer.to_string();
            if let Err(error) = client.publish(reply, answer.into()).await {
                warn!(%error, "cannot answer a command");
            }
            // The answer must leave before the session ends.
            let _ = client.flush().await;
        }
        if restart {
            controls.reload.cancel();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn controls(path: &str) -> Controls {
        Controls {
            config_path: PathBuf::from(path),
            sources: Vec::new(),
            run_now: Arc::new(Notify::new()),
            reload: CancellationToken::new(),
        }
    }

    #[tokio::test]
    async fn commands_are_answered_and_bad_ones_explained() {
        let controls = controls("/nonexistent/agent.yaml");
        let answer = handle(br#"{"command":"run_now"}"#, &controls).await;
        assert!(answer.ok && !answer.restart);
        assert_eq!(answer.message, "collection started");
        let answer = handle(br#"{"command":"reload_config"}"#, &controls).await;
        assert!(!answer.ok && !answer.restart, "a missing config file is refused");
        assert!(
            answer.message.starts_with("kept the running config: "),
            "{}",
            answer.message
        );
        let answer = handle(br#"{"command":"format_disk"}"#, &controls).await;
        assert!(!answer.ok);
        assert!(
            answer.message.contains("unknown command `format_disk`"),
            "{}",
            answer.message
        );
        assert!(!handle(b"nonsense", &controls).await.ok);
        let answer = handle(br#"{"command":"fix","source":"shop","check":"x"}"#, &controls).await;
        assert!(
            !answer.ok && answer.fix.is_none(),
            "no config, no fix: {}",
            answer.message
        );
    }
}
