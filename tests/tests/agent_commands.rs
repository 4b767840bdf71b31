//! Commands from the control plane to a running agent over the broker (request/reply on the agent's
//! command subject): run now, reload config; answered, acted on and audited.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{Stack, mint_token, wait_for};
use serde_json::{Value, json};

async fn stored_batches(stack: &Stack) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
        .fetch_one(&stack.control_db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_makes_a_running_agent_collect_now_and_reload_its_config() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let base = stack.control_plane.base_url();
    let admin = mint_token(&stack.control_db.url, "acme", "admin").await?;
    let viewer = mint_token(&stack.control_db.url, "acme", "viewer").await?;
    let command = |token: String, agent: &'static str, body: Value| {
        let url = format!("{base}/api/v1/agents/{agent}/commands");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    // An agent that would collect only once an hour: its first run at start, then nothing.
    let agent = stack.agent("acme", "1h")?;
    let mut process = agent.spawn_forever()?;
    wait_for("the first batch", Duration::from_secs(30), || async {
        Ok((stored_batches(&stack).await == 1).then_some(()))
    })
    .await?;

    let (status, body) = command(viewer.clone(), "wh-1", json!({"command": "run_now"})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = command(admin.clone(), "wh-1", json!({"command": "format_disk"})).await;
    assert_eq!(
        (status, body["details"]["field"].clone()),
        (400, json!("command"))
    );
    let (status, body) = command(admin.clone(), "wh-9", json!({"command": "run_now"})).await;
    assert_eq!(status, 409, "no agent listens as wh-9: {body}");

    let (status, body) = command(admin.clone(), "wh-1", json!({"command": "run_now"})).await;
    assert_eq!(status, 200, "{body}\n{}", agent.log());
    assert_eq!(
        body["answer"],
        json!({"ok": true, "message": "collection started"})
    );
    wait_for("the second batch", Duration::from_secs(30), || async {
        Ok((stored_batches(&stack).await == 2).then_some(()))
    })
    .await?;

    // A broken config file is refused and the agent keeps running with the one it has.
    let good = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, good.replace("every: 1h", "every: often"))?;
    let (status, body) = command(admin.clone(), "wh-1", json!({"command": "reload_config"})).await;
    assert_eq!(
        (status, body["answer"]["ok"].clone()),
        (200, json!(false)),
        "{body}"
    );
    assert!(
        body["answer"]["message"]
            .as_str()
            .unwrap()
            .contains("schedule.every"),
        "{body}"
    );
    // A valid one restarts the session with it: the new session collects at once.
    std::fs::write(&agent.config_path, &good)?;
    let (status, body) = command(admin.clone(), "wh-1", json!({"command": "reload_config"})).await;
    assert_eq!(
        (status, body["answer"]["ok"].clone()),
        (200, json!(true)),
        "{body}"
    );
    wait_for(
        "the batch of the reloaded session",
        Duration::from_secs(30),
        || async { Ok((stored_batches(&stack).await == 3).then_some(())) },
    )
    .await?;
    assert!(process.try_wait()?.is_none(), "the agent keeps running");
    let (status, _) = command(admin.clone(), "wh-1", json!({"command": "run_now"})).await;
    assert_eq!(status, 200, "the reloaded session listens for commands too");

    // Every command is in the audit log with its outcome.
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT target, outcome FROM audit_log WHERE action = 'POST /api/v1/agents/{id}/commands' ORDER BY id",
    )
    .fetch_all(&stack.control_db.pool)
    .await?;
    let outcomes: Vec<&str> = audited.iter().map(|(_, outcome)| outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "denied", "rejected", "rejected", "success", "success", "success", "success"
        ]
    );
    process.kill()?;
    Ok(())
}
