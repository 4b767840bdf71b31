//! Commands from the control plane to a running agent over the broker (request/reply on the agent's
//! command subject): run now, reload config, and a check's fix previewed, applied and undone;
//! answered, acted on and audited.

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

#[tokio::test]
async fn an_admin_previews_applies_and_undoes_a_fix_through_the_agent() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let base = stack.control_plane.base_url();
    let admin = mint_token(&stack.control_db.url, "acme", "admin").await?;
    let fix = |body: Value| {
        let url = format!("{base}/api/v1/agents/wh-1/commands");
        let admin = admin.clone();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    // Two e-mail addresses with stray spaces; the check file names a `trimmed` check on them.
    sqlx::query("UPDATE customers SET email = ' ' || email || ' ' WHERE id IN (1, 2)")
        .execute(&stack.source.pool)
        .await?;
    let agent = stack.agent("acme", "1h")?;
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: public.customers\n    checks:\n      - template: trimmed\n        column: email\n",
    )?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n"))?;
    let mut process = agent.spawn_forever()?;
    wait_for("the first batch", Duration::from_secs(30), || async {
        Ok((stored_batches(&stack).await == 1).then_some(()))
    })
    .await?;
    wait_for("the check's incident", Duration::from_secs(30), || async {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM incidents WHERE rule_key = 'check:trimmed(email)'")
                .fetch_one(&stack.control_db.pool)
                .await
                .unwrap();
        Ok((open == 1).then_some(()))
    })
    .await?;
    let untrimmed = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM customers WHERE email <> btrim(email)")
            .fetch_one(&stack.source.pool)
            .await
            .unwrap()
    };

    // Bad requests never reach the agent.
    let (status, body) = fix(json!({"command": "fix", "check": "trimmed(email)"})).await;
    assert_eq!(
        (status, body["details"]["field"].clone()),
        (400, json!("source")),
        "{body}"
    );
    let (status, body) = fix(json!({"command": "run_now", "apply": true})).await;
    assert_eq!(status, 400, "{body}");

    // A dry run counts and changes nothing; no value of the table is in the answer.
    let (status, body) =
        fix(json!({"command": "fix", "source": "warehouse", "check": "trimmed(email)"})).await;
    assert_eq!(status, 200, "{body}\n{}", agent.log());
    let answer = &body["answer"];
    assert_eq!(answer["ok"], true, "{body}");
    assert_eq!(answer["fix"]["rows_affected"], 2, "{body}");
    assert_eq!(answer["fix"]["applied"], false);
    assert!(
        !body.to_string().contains("@example.com"),
        "a value left the agent: {body}"
    );
    assert_eq!(untrimmed().await, 2);

    // Applied: in one transaction, with an id to undo it by.
    let (_, body) =
        fix(json!({"command": "fix", "source": "warehouse", "check": "trimmed(email)", "apply": true})).await;
    let answer = &body["answer"];
    assert_eq!(
        (answer["ok"].clone(), answer["fix"]["rows_changed"].clone()),
        (json!(true), json!(2)),
        "{body}"
    );
    let id = answer["fix"]["id"].as_str().unwrap().to_owned();
    assert_eq!(untrimmed().await, 0);

    // Undone: the table is as it was.
    let (_, body) = fix(json!({"command": "fix", "source": "warehouse", "undo": id})).await;
    assert_eq!(body["answer"]["ok"], true, "{body}");
    assert_eq!(body["answer"]["fix"]["rows_restored"], 2, "{body}");
    assert_eq!(untrimmed().await, 2);

    // Each step is on the timeline of the check's incident (opened by the failing check).
    let steps: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.kind, t.message FROM incident_timeline t JOIN incidents i ON i.id = t.incident_id
         WHERE i.rule_key = 'check:trimmed(email)' AND t.kind LIKE 'fix_%' ORDER BY t.at",
    )
    .fetch_all(&stack.control_db.pool)
    .await?;
    let kinds: Vec<&str> = steps.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["fix_proposed", "fix_applied", "fix_undone"], "{steps:?}");
    assert!(steps[0].1.contains("2 rows would change"), "{steps:?}");
    assert!(steps[1].1.contains("2 rows changed"), "{steps:?}");
    assert!(steps[1].1.contains("applied the fix"), "{steps:?}");
    assert!(steps[2].1.contains("2 rows put back"), "{steps:?}");

    // An unknown source is refused with the reason.
    let (_, body) = fix(json!({"command": "fix", "source": "nowhere", "check": "trimmed(email)"})).await;
    assert_eq!(body["answer"]["ok"], false);
    assert!(
        body["answer"]["message"]
            .as_str()
            .unwrap()
            .contains("no source named `nowhere`"),
        "{body}"
    );
    process.kill()?;
    process.wait()?;
    Ok(())
}
