//! Malformed and spoofed messages on the broker are rejected, counted and never stop the consumer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{ControlPlane, NatsServer, TestDb, wait_for};
use cwic_proto::Message;
use cwic_proto::agent::v1::{AssetObservation, Metric, MetricBatch};

fn valid_batch(tenant: &str, agent: &str) -> MetricBatch {
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        collected_at_unix_ms: 1_700_000_000_000,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: "t".into(),
            metrics: vec![Metric {
                name: "row_count".into(),
                column: String::new(),
                value: 5.0,
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn counter(control_plane: &ControlPlane, name: &str) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("{}/metrics", control_plane.base_url()))
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix(&format!("{name} "))
                .and_then(|value| value.parse().ok())
        })
        .ok_or_else(|| anyhow::anyhow!("{name} missing from /metrics"))
}

#[tokio::test]
async fn garbage_is_rejected_and_the_next_batch_is_still_stored() -> anyhow::Result<()> {
    let control_db = TestDb::create("cp").await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start(&control_db.url, &nats.url()).await?;
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);

    let spoofed = valid_batch("globex", "wh-1"); // claims another tenant than its subject
    let mut unknown_metric = valid_batch("acme", "wh-1");
    unknown_metric.assets[0].metrics[0].name = "made_up".into();
    for payload in [
        b"\xff\x00garbage".to_vec(),
        spoofed.encode_to_vec(),
        unknown_metric.encode_to_vec(),
    ] {
        jetstream
            .publish("cwic.acme.agent.wh-1.metrics", payload.into())
            .await?
            .await?;
    }
    let good = valid_batch("acme", "wh-1");
    jetstream
        .publish("cwic.acme.agent.wh-1.metrics", good.encode_to_vec().into())
        .await?
        .await?;

    wait_for("the good batch stored", Duration::from_secs(20), || async {
        Ok((counter(&control_plane, "cwic_ingest_batches_stored_total").await? == 1).then_some(()))
    })
    .await?;
    assert_eq!(counter(&control_plane, "cwic_ingest_rejected_total").await?, 3);
    let page = control_plane.get("/api/v1/assets", "acme").await?;
    assert_eq!(page["items"][0]["row_count"], 5.0);
    let globex = control_plane.get("/api/v1/assets", "globex").await?;
    assert_eq!(globex["total"], 0, "a spoofed tenant must not be written");
    let log = control_plane.log();
    assert!(
        log.contains("batch claims tenant `globex` agent `wh-1` but was published as tenant `acme`"),
        "{log}"
    );
    // Nothing is left waiting: the consumer lag gauge (read from the broker every 5 s) drops to 0.
    wait_for("consumer lag 0", Duration::from_secs(20), || async {
        Ok((counter(
            &control_plane,
            "cwic_ingest_consumer_lag_messages{consumer=\"metrics\"}",
        )
        .await?
            == 0)
            .then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_backlog_shows_as_consumer_lag_until_it_is_stored() -> anyhow::Result<()> {
    let db = TestDb::create("faults").await?;
    let nats = NatsServer::start().await?;
    let mut control_plane = ControlPlane::start(&db.url, &nats.url()).await?;
    control_plane.kill()?;
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);
    for _ in 0..40 {
        let batch = valid_batch("acme", "wh-1");
        jetstream
            .publish("cwic.acme.agent.wh-1.metrics", batch.encode_to_vec().into())
            .await?
            .await?;
    }
    // The first look at the consumer happens as ingest starts, before the backlog is worked off.
    control_plane.restart().await?;
    let lag = counter(
        &control_plane,
        "cwic_ingest_consumer_lag_messages{consumer=\"metrics\"}",
    )
    .await?;
    assert!(lag > 0 && lag <= 40, "lag {lag}");
    wait_for("40 batches stored", Duration::from_secs(30), || async {
        Ok((counter(&control_plane, "cwic_ingest_batches_stored_total").await? == 40).then_some(()))
    })
    .await?;
    wait_for("consumer lag 0", Duration::from_secs(20), || async {
        Ok((counter(
            &control_plane,
            "cwic_ingest_consumer_lag_messages{consumer=\"metrics\"}",
        )
        .await?
            == 0)
            .then_some(()))
    })
    .await?;
    Ok(())
}
