//! Commands from the control plane: request/reply on `cwic.<tenant>.agent.<agent>.cmd`.
//!
//! `run_now` starts a collection at once; `reload_config` re-reads the config file and, when it is
//! valid, restarts the agent's session with it (the outbox carries over, nothing is lost). Every
//! command is answered with `{"ok": bool, "message": text}`; the control plane audits who sent it.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::AgentConfig;

#[derive(Deserialize)]
struct Request {
    command: String,
}

/// What the listener can make the agent do.
pub struct Controls {
    pub config_path: PathBuf,
    /// Wakes the collection loop for a run now.
    pub run_now: Arc<Notify>,
    /// Cancelled to end the session and start again with the re-read config.
    pub reload: CancellationToken,
}

/// The answer to one command, and whether the session should restart after sending it.
fn handle(payload: &[u8], controls: &Controls) -> (bool, String, bool) {
    let request: Request = match serde_json::from_slice(payload) {
        Ok(request) => request,
        Err(error) => {
            return (
                false,
                format!("the command is not JSON `{{\"command\": ...}}`: {error}"),
                false,
            );
        }
    };
    match request.command.as_str() {
        "run_now" => {
            controls.run_now.notify_one();
            (true, "collection started".to_owned(), false)
        }
        "reload_config" => match AgentConfig::load(&controls.config_path) {
            Ok(_) => (
                true,
                "the config file is valid; restarting with it".to_owned(),
                true,
            ),
            Err(error) => (false, format!("kept the running config: {error}"), false),
        },
        other => (
            false,
            format!("unknown command `{other}` (expected run_now or reload_config)"),
            false,
        ),
    }
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
        let (ok, text, restart) = handle(&message.payload, &controls);
        info!(ok, answer = %text, "command from the control plane");
        if let Some(reply) = message.reply {
            let answer = json!({"ok": ok, "message": text}).to_string();
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
            run_now: Arc::new(Notify::new()),
            reload: CancellationToken::new(),
        }
    }

    #[test]
    fn commands_are_answered_and_bad_ones_explained() {
        let controls = controls("/nonexistent/agent.yaml");
        assert_eq!(
            handle(br#"{"command":"run_now"}"#, &controls),
            (true, "collection started".into(), false)
        );
        let (ok, text, restart) = handle(br#"{"command":"reload_config"}"#, &controls);
        assert!(!ok && !restart, "a missing config file is refused");
        assert!(text.starts_with("kept the running config: "), "{text}");
        let (ok, text, _) = handle(br#"{"command":"format_disk"}"#, &controls);
        assert!(!ok);
        assert!(text.contains("unknown command `format_disk`"), "{text}");
        assert!(!handle(b"nonsense", &controls).0);
    }
}
