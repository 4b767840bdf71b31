//! Domain events through the outbox: what ingest, detection and agents emit, that a crash between
//! commit and publish loses none, that a relay killed mid-publish publishes none twice, and that a
//! tenant's consumer sees only its own events. Real PostgreSQL, nats-server and `cwic serve`.

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use cwic_control_plane::events::consumer::EventConsumer;
use cwic_control_plane::events::{
    AgentStatusReason, AnomalyCloseReason, Event, EventData, EventKind, MetricsStored,
};
use cwic_control_plane::store::Store;
use cwic_e2e::{ControlPlane, NatsServer, TEST_JWT_KEYS, TestDb, binary, free_port, wait_for};
use cwic_proto::Message as _;
use cwic_proto::agent::v1::{AssetKind, AssetObservation, CheckResult, Column, Metric, MetricBatch};
use cwic_shared::subjects::EVENTS_STREAM;
use cwic_shared::{AgentId, TenantId};
use futures::StreamExt;
use uuid::Uuid;

/// A batch observing `tables` tables of `columns` columns (`column_0` …), with a row count and a
/// NULL count per column, and the given checks on the first table.
fn batch(tenant: &str, agent: &str, tables: usize, columns: &[&str], checks: &[(&str, &str)]) -> MetricBatch {
    let now_ms = chrono::Utc::now().timestamp_millis();
    MetricBatch {
        batch_id: Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        agent_version: "test".into(),
        collected_at_unix_ms: now_ms,
        finished_at_unix_ms: now_ms,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: (0..tables)
            .map(|table| AssetObservation {
                schema: "public".into(),
                name: format!("table_{table}"),
                kind: AssetKind::Table as i32,
                columns: columns
                    .iter()
                    .enumerate()
                    .map(|(ordinal, name)| Column {
                        name: (*name).into(),
                        data_type: "bigint".into(),
                        nullable: true,
                        ordinal: ordinal as i32 + 1,
                    })
                    .collect(),
                metrics: std::iter::once(Metric {
                    name: "row_count".into(),
                    column: String::new(),
                    value: 100.0,
                })
                .chain(columns.iter().map(|name| Metric {
                    name: "null_count".into(),
                    column: (*name).into(),
                    value: 1.0,
                }))
                .collect(),
                checks: if table == 0 {
                    checks
                        .iter()
                        .map(|(name, status)| CheckResult {
                            name: (*name).into(),
                            template: "not_null".into(),
                            dimension: "completeness".into(),
                            severity: "high".into(),
                            status: (*status).into(),
                            failing_rows: Some(if *status == "pass" { 0 } else { 3 }),
                            total_rows: Some(100),
                            ..Default::default()
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                ..Default::default()
            })
            .collect(),
    }
}

/// Publishes a batch as the agent would (subject, `Nats-Msg-Id`) and waits for the stream's ack.
async fn publish(jetstream: &jetstream::Context, batch: &MetricBatch) -> anyhow::Result<()> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", batch.batch_id.as_str());
    jetstream
        .publish_with_headers(
            format!("cwic.{}.agent.{}.metrics", batch.tenant_id, batch.agent_id),
            headers,
            batch.encode_to_vec().into(),
        )
        .await?
        .await?;
    Ok(())
}

async fn wait_batches_stored(db: &TestDb, count: i64) -> anyhow::Result<()> {
    wait_for("the batches to be stored", Duration::from_secs(60), || {
        let pool = db.pool.clone();
        async move {
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
                .fetch_one(&pool)
                .await?;
            Ok((stored >= count).then_some(()))
        }
    })
    .await
}

async fn wait_outbox_published(db: &TestDb, timeout: Duration) -> anyhow::Result<()> {
    wait_for("the outbox to be published", timeout, || {
        let pool = db.pool.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&pool)
                .await?;
            Ok((waiting == 0).then_some(()))
        }
    })
    .await
}

async fn outbox_ids(db: &TestDb) -> anyhow::Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_all(&db.pool)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Messages the events stream holds (0 while it does not exist).
async fn stream_messages(jetstream: &jetstream::Context) -> u64 {
    match jetstream.get_stream(EVENTS_STREAM).await {
        Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.messages),
        Err(_) => 0,
    }
}

/// Every event id on the stream, one per message (duplicates kept), read raw.
async fn stream_ids(jetstream: &jetstream::Context, expected: u64) -> anyhow::Result<Vec<Uuid>> {
    let stream = jetstream.get_stream(EVENTS_STREAM).await?;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut ids = Vec::new();
    while (ids.len() as u64) < expected {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the stream ended"))??;
        let event: Event = serde_json::from_slice(&message.payload)?;
        assert_eq!(
            message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_owned()),
            Some(event.id.to_string()),
            "the message id is the event id"
        );
        ids.push(event.id);
    }
    Ok(ids)
}

/// Reads events until `count` arrived, then checks nothing more comes within a short wait.
async fn read_exactly(consumer: &mut EventConsumer, count: usize) -> anyhow::Result<Vec<Event>> {
    read_exactly_skipping(consumer, count, |_| false).await
}

/// Events that background work emits after ingest (a stored batch queues its assets' scoring; the
/// SLA evaluation runs on its own schedule; the incident engine reacts to the events themselves),
/// whenever it gets to them: not ingest's.
fn from_a_background_job(event: &Event) -> bool {
    matches!(
        event.kind(),
        EventKind::ScoreChanged
            | EventKind::SlaBreached
            | EventKind::SlaBudgetExhausted
            | EventKind::IncidentOpened
            | EventKind::IncidentUpdated
            | EventKind::IncidentResolved
    )
}

/// [`read_exactly`], not counting (and dropping) the events `skip` names.
async fn read_exactly_skipping(
    consumer: &mut EventConsumer,
    count: usize,
    skip: fn(&Event) -> bool,
) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    while events.len() < count {
        let received = tokio::time::timeout(Duration::from_secs(20), consumer.next())
            .await
            .map_err(|_| anyhow::anyhow!("only {} of {count} events arrived: {events:#?}", events.len()))?
            .ok_or_else(|| anyhow::anyhow!("the subscription ended"))??;
        received.ack().await?;
        if !skip(&received.event) {
            events.push(received.event);
        }
    }
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(700);
    while let Ok(Some(extra)) = tokio::time::timeout_at(quiet_until, consumer.next()).await {
        let extra = extra?;
        extra.ack().await?;
        if !skip(&extra.event) {
            anyhow::bail!("an event more than the {count} expected: {:?}", extra.event);
        }
    }
    Ok(events)
}

fn kinds(events: &[Event]) -> BTreeMap<EventKind, usize> {
    let mut kinds = BTreeMap::new();
    for event in events {
        *kinds.entry(event.kind()).or_default() += 1;
    }
    kinds
}

/// A control plane killed (SIGKILL) after ingest committed and before its events were published
/// loses none of them: started again with the relay on, it publishes each exactly once.
#[tokio::test]
async fn events_committed_before_a_crash_are_published_after_the_restart() -> anyhow::Result<()> {
    let db = TestDb::create("events_crash").await?;
    let nats = NatsServer::start().await?;
    let mut held = ControlPlane::start_with_env(
        &db.url,
        &nats.url(),
        vec![("CWIC_EVENTS_RELAY".to_owned(), "off".to_owned())],
    )
    .await?;
    let jetstream = jetstream::new(async_nats::connect(nats.url()).await?);
    let columns = ["id", "email"];
    publish(
        &jetstream,
        &batch("acme", "wh-1", 2, &columns, &[("email_not_null", "fail")]),
    )
    .await?;
    publish(&jetstream, &batch("acme", "wh-1", 2, &columns, &[])).await?;
    publish(&jetstream, &batch("acme", "wh-1", 2, &columns, &[])).await?;
    wait_batches_stored(&db, 3).await?;

    // Committed with the batches, not published: 2 discovered + 3 metrics.stored + 1 check result.
    // (Scoring jobs queued by the batches may add score.changed events: counted apart.)
    let waiting: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> =
        sqlx::query_as("SELECT kind, published_at FROM outbox WHERE kind <> 'score.changed' ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(waiting.len(), 6, "{waiting:?}");
    assert!(waiting.iter().all(|(_, published)| published.is_none()));
    held.kill()?;
    assert_eq!(
        stream_messages(&jetstream).await,
        0,
        "nothing was published while the relay was off"
    );

    let _restarted = ControlPlane::start(&db.url, &nats.url()).await?;
    wait_for("the scoring jobs to finish", Duration::from_secs(60), || {
        let pool = db.pool.clone();
        async move {
            let busy: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE kind = 'score_asset' AND state IN ('queued', 'running')",
            )
            .fetch_one(&pool)
            .await?;
            Ok((busy == 0).then_some(()))
        }
    })
    .await?;
    // The failing check opens an incident once the engine has read its event (its own event joins
    // the outbox then).
    wait_for("the incident engine", Duration::from_secs(30), || {
        let pool = db.pool.clone();
        async move {
            let incidents: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
                .fetch_one(&pool)
                .await?;
            Ok((incidents >= 1).then_some(()))
        }
    })
    .await?;
    wait_outbox_published(&db, Duration::from_secs(30)).await?;
    let ids = outbox_ids(&db).await?;
    let total = ids.len() as u64;
    assert!(total >= 6, "{ids:?}");
    assert_eq!(stream_messages(&jetstream).await, total);
    let on_stream = stream_ids(&jetstream, total).await?;
    assert_eq!(on_stream.iter().copied().collect::<HashSet<_>>(), ids);

    // The consumer helper (durable) sees each exactly once, with the kinds committed.
    let tenant = TenantId::parse("acme")?;
    let mut consumer =
        EventConsumer::durable(&jetstream, &tenant, "events-test", None, DeliverPolicy::All).await?;
    let events = read_exactly(&mut consumer, ids.len()).await?;
    assert_eq!(events.iter().map(|e| e.id).collect::<HashSet<_>>(), ids);
    let mut committed = kinds(&events);
    committed.remove(&EventKind::ScoreChanged);
    assert_eq!(
        committed.remove(&EventKind::IncidentOpened),
        Some(1),
        "the failing check's incident"
    );
    assert_eq!(
        committed,
        BTreeMap::from([
            (EventKind::AssetDiscovered, 2),
            (EventKind::MetricsStored, 3),
            (EventKind::CheckResultStored, 1),
        ])
    );
    // Acknowledged: the same durable consumer, opened again, has nothing left to deliver.
    drop(consumer);
    let mut again =
        EventConsumer::durable(&jetstream, &tenant, "events-test", None, DeliverPolicy::All).await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(700), again.next())
            .await
            .is_err(),
        "an acknowledged event was delivered again"
    );
    Ok(())
}

/// `cwic serve` on its own (not waiting for readiness), so the test can kill it while its relay is
/// in the middle of publishing.
fn spawn_control_plane(
    db: &TestDb,
    nats: &NatsServer,
    log: &std::path::Path,
) -> anyhow::Result<std::process::Child> {
    Ok(Command::new(binary("cwic"))
        .arg("serve")
        .env("CWIC_DATABASE_URL", &db.url)
        .env("CWIC_NATS_URL", nats.url())
        .env("CWIC_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("CWIC_JWT_KEYS", TEST_JWT_KEYS)
        .env("CWIC_LOG", "info,cwic_control_plane=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

/// A relay killed (SIGKILL) while publishing many events, and started again, publishes none twice:
/// the stream ends with exactly one message per outbox row, even though a killed round had
/// published events it never marked (they were republished and dropped as duplicates).
#[tokio::test]
async fn a_relay_killed_while_publishing_publishes_no_event_twice() -> anyhow::Result<()> {
    const EVENTS: usize = 20_000;
    let db = TestDb::create("events_relay_kill").await?;
    let nats = NatsServer::start().await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let tenant = TenantId::parse("acme")?;
    store.ensure_tenant(&tenant, "acme").await?;
    for chunk in 0..EVENTS / 1_000 {
        let events: Vec<Event> = (0..1_000)
            .map(|i| {
                Event::new(
                    &tenant,
                    EventData::MetricsStored(MetricsStored {
                        batch_id: Uuid::now_v7(),
                        agent: "wh-1".into(),
                        source: "warehouse".into(),
                        collected_at: chrono::Utc::now(),
                        assets: 1,
                        points: (chunk * 1_000 + i) as u32,
                        check_results: 0,
                    }),
                )
            })
            .collect();
        store.record_events(&events).await?;
    }
    store.close().await;
    let jetstream = jetstream::new(async_nats::connect(nats.url()).await?);
    let logs = tempfile::tempdir()?;

    // Kill the relay right after it made progress, until one kill lands between a round's
    // publishes and its marks (the stream then holds events the outbox does not call published).
    let mut caught_mid_round = 0;
    for attempt in 0..8 {
        let published_before: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
                .fetch_one(&db.pool)
                .await?;
        if published_before as usize == EVENTS {
            break;
        }
        let on_stream_before = stream_messages(&jetstream).await;
        let mut child = spawn_control_plane(&db, &nats, &logs.path().join(format!("cwic-{attempt}.log")))?;
        let mut progressed = false;
        for _ in 0..20_000 {
            if stream_messages(&jetstream).await > on_stream_before {
                progressed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill()?;
        child.wait()?;
        anyhow::ensure!(progressed, "the relay published nothing within the wait");
        let marked: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
            .fetch_one(&db.pool)
            .await?;
        let on_stream = stream_messages(&jetstream).await;
        assert!(
            on_stream as i64 >= marked,
            "a row was marked published before the stream had it"
        );
        if on_stream as i64 > marked {
            caught_mid_round += 1;
            if caught_mid_round >= 2 {
                break;
            }
        }
    }
    assert!(
        caught_mid_round >= 1,
        "no kill landed between a round's publishes and its marks; the test proved nothing"
    );

    // Started again, the relay publishes the rest; the republished events are dropped by id.
    let mut child = spawn_control_plane(&db, &nats, &logs.path().join("cwic-final.log"))?;
    let finished = wait_outbox_published(&db, Duration::from_secs(120)).await;
    child.kill()?;
    child.wait()?;
    finished?;
    assert_eq!(
        stream_messages(&jetstream).await,
        EVENTS as u64,
        "one message per event"
    );
    let ids = stream_ids(&jetstream, EVENTS as u64).await?;
    let distinct: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), EVENTS, "an event is on the stream twice");
    assert_eq!(distinct, outbox_ids(&db).await?);
    Ok(())
}

/// A tenant's first batch emits `asset.discovered` for each asset and one `metrics.stored` with
/// the batch's counts, on `cwic.<tenant>.events.<kind>`; a later batch with other columns emits
/// `schema.changed`; another tenant's consumer sees only that tenant's events.
#[tokio::test]
async fn ingest_emits_typed_events_that_stay_within_their_tenant() -> anyhow::Result<()> {
    let db = TestDb::create("events_content").await?;
    let nats = NatsServer::start().await?;
    // Each stored batch also queues its assets' scoring, whose score.changed events are not this
    // test's (they are skipped, see `from_a_background_job`); the worker polls rarely besides.
    let _control_plane = ControlPlane::start_with_env(
        &db.url,
        &nats.url(),
        vec![("CWIC_JOB_POLL_MS".to_owned(), "3600000".to_owned())],
    )
    .await?;
    let jetstream = jetstream::new(async_nats::connect(nats.url()).await?);
    let (acme, globex) = (TenantId::parse("acme")?, TenantId::parse("globex")?);
    let mut acme_events = EventConsumer::ordered(&jetstream, &acme, None, DeliverPolicy::All).await?;
    let mut globex_events = EventConsumer::ordered(&jetstream, &globex, None, DeliverPolicy::All).await?;

    let first = batch(
        "acme",
        "wh-1",
        2,
        &["id", "email", "phone"],
        &[("id_not_null", "pass"), ("email_not_null", "fail")],
    );
    publish(&jetstream, &first).await?;
    let events = read_exactly_skipping(&mut acme_events, 5, from_a_background_job).await?;
    assert_eq!(
        kinds(&events),
        BTreeMap::from([
            (EventKind::AssetDiscovered, 2),
            (EventKind::MetricsStored, 1),
            (EventKind::CheckResultStored, 2),
        ])
    );
    let asset_ids: BTreeMap<String, Uuid> = sqlx::query_as("SELECT name, id FROM assets")
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .collect();
    let mut discovered = Vec::new();
    for event in &events {
        assert_eq!(event.tenant, "acme");
        assert_eq!(event.version, 1);
        assert_eq!(event.id.get_version_num(), 7);
        assert_eq!(event.subject(), format!("cwic.acme.events.{}", event.kind()));
        match &event.data {
            EventData::AssetDiscovered(asset) => {
                assert_eq!(
                    (asset.source.as_str(), asset.schema.as_str()),
                    ("warehouse", "public")
                );
                assert_eq!(asset.asset_kind, "table");
                assert_eq!(asset.agent, "wh-1");
                assert_eq!(asset_ids.get(&asset.name), Some(&asset.asset_id));
                discovered.push(asset.name.clone());
            }
            EventData::MetricsStored(stored) => {
                assert_eq!(stored.batch_id.to_string(), first.batch_id);
                assert_eq!(
                    (stored.agent.as_str(), stored.source.as_str()),
                    ("wh-1", "warehouse")
                );
                // 2 tables × (1 row count + 3 NULL counts); 2 checks on the first table.
                assert_eq!((stored.assets, stored.points, stored.check_results), (2, 8, 2));
                assert_eq!(stored.collected_at.timestamp_millis(), first.collected_at_unix_ms);
            }
            EventData::CheckResultStored(check) => {
                assert_eq!(Some(&check.asset_id), asset_ids.get("table_0"));
                let expected = if check.check == "id_not_null" {
                    ("pass", 0)
                } else {
                    ("fail", 3)
                };
                assert_eq!(
                    (check.status.as_str(), check.failing_rows),
                    (expected.0, Some(expected.1))
                );
                assert_eq!(
                    (check.severity.as_str(), check.dimension.as_str()),
                    ("high", "completeness")
                );
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    discovered.sort();
    assert_eq!(discovered, ["table_0", "table_1"]);

    // The same tables again, `phone` gone and `created_at` new: no discovery, a schema change each.
    let second = batch("acme", "wh-1", 2, &["id", "email", "created_at"], &[]);
    publish(&jetstream, &second).await?;
    let events = read_exactly_skipping(&mut acme_events, 3, from_a_background_job).await?;
    assert_eq!(
        kinds(&events),
        BTreeMap::from([(EventKind::MetricsStored, 1), (EventKind::SchemaChanged, 2)])
    );
    for event in &events {
        if let EventData::SchemaChanged(change) = &event.data {
            assert_eq!(change.added, ["created_at"]);
            assert_eq!(change.removed, ["phone"]);
            assert!(change.changed.is_empty());
            assert_eq!(change.batch_id.to_string(), second.batch_id);
        }
    }

    // The other tenant: its own discovery and batch, nothing of acme's.
    publish(&jetstream, &batch("globex", "g-1", 1, &["id"], &[])).await?;
    let events = read_exactly_skipping(&mut globex_events, 2, from_a_background_job).await?;
    assert!(events.iter().all(|event| event.tenant == "globex"), "{events:?}");
    assert_eq!(
        kinds(&events),
        BTreeMap::from([(EventKind::AssetDiscovered, 1), (EventKind::MetricsStored, 1)])
    );
    // acme's consumer saw nothing of globex's either (only, perhaps, its own scores).
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(extra)) = tokio::time::timeout_at(quiet_until, acme_events.next()).await {
        let extra = extra?;
        assert!(
            extra.event.tenant == "acme" && from_a_background_job(&extra.event),
            "acme's consumer got {:?}",
            extra.event
        );
    }
    Ok(())
}

/// Outbox rows of one kind, oldest first, typed.
async fn outbox_events(db: &TestDb, kind: EventKind) -> anyhow::Result<Vec<EventData>> {
    let rows: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT data FROM outbox WHERE kind = $1 ORDER BY id")
            .bind(kind.as_str())
            .fetch_all(&db.pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|data| EventData::from_payload(kind, data))
        .collect::<Result<_, _>>()?)
}

/// Detection's replacement of a series' events writes the diff (opened, closed) with it; feedback
/// closes an event; enrollment and heartbeats that change an agent's status write its event.
#[tokio::test]
async fn anomalies_and_agent_status_changes_are_written_with_their_change() -> anyhow::Result<()> {
    use cwic_control_plane::store::agents::EnrollRequest;
    use cwic_control_plane::store::intelligence::{DetectedAnomaly, SeriesKey};
    let db = TestDb::create("events_store").await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let (tenant, agent) = (TenantId::parse("acme")?, AgentId::parse("wh-1")?);
    store
        .ingest_batch(&tenant, &agent, &batch("acme", "wh-1", 1, &["id"], &[]), None)
        .await?;
    let asset: Uuid = sqlx::query_scalar("SELECT id FROM assets")
        .fetch_one(&db.pool)
        .await?;
    let series = SeriesKey {
        tenant_id: "acme".into(),
        asset_id: asset,
        metric: "row_count".into(),
        column_name: String::new(),
    };
    let at = |hours: i64| chrono::Utc::now() - chrono::Duration::hours(hours);
    let found = |observed_at| DetectedAnomaly {
        observed_at,
        value: 5.0,
        expected_low: Some(90.0),
        expected_high: Some(110.0),
        score: 0.9,
        details: None,
    };
    let (early, late) = (at(10), at(5));
    store
        .replace_detected_events(&series, at(24), at(0), &[found(early), found(late)])
        .await?;
    let opened = outbox_events(&db, EventKind::AnomalyOpened).await?;
    assert_eq!(opened.len(), 2);
    // The same pass again: both are found again, nothing opens or closes.
    store
        .replace_detected_events(&series, at(24), at(0), &[found(early), found(late)])
        .await?;
    assert_eq!(outbox_events(&db, EventKind::AnomalyOpened).await?.len(), 2);
    assert!(outbox_events(&db, EventKind::AnomalyClosed).await?.is_empty());
    // A pass that no longer finds the early one closes it.
    store
        .replace_detected_events(&series, at(24), at(0), &[found(late)])
        .await?;
    let closed = outbox_events(&db, EventKind::AnomalyClosed).await?;
    let [EventData::AnomalyClosed(closed)] = closed.as_slice() else {
        panic!("one closed event expected: {closed:?}")
    };
    assert_eq!(closed.reason, AnomalyCloseReason::NoLongerDetected);
    assert_eq!(closed.observed_at.timestamp_micros(), early.timestamp_micros());
    let EventData::AnomalyOpened(late_opened) = &opened[1] else {
        panic!("{opened:?}")
    };
    assert_eq!(
        (late_opened.asset_id, late_opened.metric.as_str()),
        (asset, "row_count")
    );
    assert_eq!((late_opened.value, late_opened.expected_low), (5.0, Some(90.0)));
    // Feedback on the late one closes it (once: a second verdict changes nothing more).
    assert!(
        store
            .tenant(&tenant)
            .set_anomaly_feedback(late_opened.anomaly_id, Some("expected"))
            .await?
    );
    assert!(
        store
            .tenant(&tenant)
            .set_anomaly_feedback(late_opened.anomaly_id, Some("false_positive"))
            .await?
    );
    let closed = outbox_events(&db, EventKind::AnomalyClosed).await?;
    assert_eq!(closed.len(), 2, "{closed:?}");
    let EventData::AnomalyClosed(by_feedback) = &closed[1] else {
        panic!("{closed:?}")
    };
    assert_eq!(by_feedback.anomaly_id, late_opened.anomaly_id);
    assert_eq!(by_feedback.reason, AnomalyCloseReason::Feedback);
    assert_eq!(by_feedback.feedback.as_deref(), Some("expected"));

    // An agent enrolls, reports `running` (a change), `running` again (none), then `stopped`.
    let token = [7u8; 32];
    store
        .tenant(&tenant)
        .create_enrollment_token(&token, None, chrono::Utc::now() + chrono::Duration::hours(1))
        .await?;
    let other = AgentId::parse("wh-2")?;
    let enrolled = store
        .identity()
        .enroll_agent(&EnrollRequest {
            token_hash: &token,
            tenant: Some(&tenant),
            agent: Some(&other),
            agent_version: "1.2.3",
            nats_public_key: "UKEY",
            credential_hash: &[9u8; 32],
        })
        .await?;
    assert!(enrolled.is_ok(), "{enrolled:?}");
    store
        .tenant(&tenant)
        .record_heartbeat(&other, "1.2.3", "running")
        .await?;
    store
        .tenant(&tenant)
        .record_heartbeat(&other, "1.2.3", "running")
        .await?;
    store
        .tenant(&tenant)
        .record_heartbeat(&other, "1.2.3", "stopped")
        .await?;
    let changes: Vec<(AgentStatusReason, String, Option<String>)> =
        outbox_events(&db, EventKind::AgentStatusChanged)
            .await?
            .into_iter()
            .map(|data| match data {
                EventData::AgentStatusChanged(change) => {
                    assert_eq!(
                        (change.agent.as_str(), change.version.as_str()),
                        ("wh-2", "1.2.3")
                    );
                    (change.reason, change.status, change.previous_status)
                }
                other => panic!("{other:?}"),
            })
            .collect();
    assert_eq!(
        changes,
        [
            (AgentStatusReason::Enrolled, String::new(), None),
            (AgentStatusReason::Reported, "running".into(), Some(String::new())),
            (
                AgentStatusReason::Reported,
                "stopped".into(),
                Some("running".into())
            ),
        ]
    );
    // Every row is the tenant's, and the outbox is behind the tenant wall like the other tables.
    let tenants: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM outbox")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(tenants, ["acme"]);
    let walled: bool = sqlx::query_scalar(
        "SELECT relrowsecurity AND EXISTS (SELECT FROM pg_policies WHERE tablename = 'outbox' AND policyname = 'tenant_wall')
         FROM pg_class WHERE relname = 'outbox'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert!(walled);
    store.close().await;
    Ok(())
}

/// A collection that failed on a table is an event each time it fails and its recovery one event;
/// the incident engine opens one medium incident for it and resolves it on the recovery.
#[tokio::test]
async fn a_failed_collection_is_an_event_each_time_and_its_recovery_resolves_the_incident()
-> anyhow::Result<()> {
    let db = TestDb::create("events_collection").await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let (tenant, agent) = (TenantId::parse("acme")?, AgentId::parse("wh-1")?);
    let failing = |error: &str| {
        let mut failed = batch("acme", "wh-1", 1, &["id"], &[]);
        failed.assets[0].error = error.into();
        failed
    };
    let all_events = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            let rows: Vec<(String, serde_json::Value, Uuid, chrono::DateTime<chrono::Utc>)> =
                sqlx::query_as("SELECT kind, data, id, occurred_at FROM outbox ORDER BY id")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            rows.into_iter()
                .map(|(kind, data, id, at)| {
                    let mut event = Event::at(
                        "acme",
                        at,
                        EventData::from_payload(EventKind::parse(&kind).unwrap(), data).unwrap(),
                    );
                    event.id = id;
                    event
                })
                .collect::<Vec<_>>()
        }
    };
    store
        .ingest_batch(&tenant, &agent, &batch("acme", "wh-1", 1, &["id"], &[]), None)
        .await?;
    assert!(
        outbox_events(&db, EventKind::CollectionFailed).await?.is_empty(),
        "a clean collection is no event"
    );
    store
        .ingest_batch(
            &tenant,
            &agent,
            &failing("permission denied for table table_0"),
            None,
        )
        .await?;
    store
        .ingest_batch(
            &tenant,
            &agent,
            &failing("permission denied for table table_0"),
            None,
        )
        .await?;
    let failed = outbox_events(&db, EventKind::CollectionFailed).await?;
    assert_eq!(failed.len(), 2, "{failed:?}");
    let EventData::CollectionFailed(first) = &failed[0] else {
        unreachable!()
    };
    assert_eq!(
        first.error.as_deref(),
        Some("permission denied for table table_0")
    );
    assert_eq!(first.previous_error, None);
    let applied = cwic_control_plane::incidents::engine::apply(&store, &all_events(&db).await).await?;
    assert_eq!((applied.alerts, applied.opened), (2, 1), "{applied:?}");
    let (severity, title): (String, String) =
        sqlx::query_as("SELECT severity, title FROM incidents WHERE source_kind = 'collection_failed'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(severity, "medium");
    assert_eq!(
        title,
        "the agent could not collect it: permission denied for table table_0"
    );

    store
        .ingest_batch(&tenant, &agent, &batch("acme", "wh-1", 1, &["id"], &[]), None)
        .await?;
    store
        .ingest_batch(&tenant, &agent, &batch("acme", "wh-1", 1, &["id"], &[]), None)
        .await?;
    let recovered = outbox_events(&db, EventKind::CollectionRecovered).await?;
    assert_eq!(
        recovered.len(),
        1,
        "only the first clean collection after the failure: {recovered:?}"
    );
    cwic_control_plane::incidents::engine::apply(&store, &all_events(&db).await).await?;
    let status: String =
        sqlx::query_scalar("SELECT status FROM incidents WHERE source_kind = 'collection_failed'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(status, "resolved");
    Ok(())
}

/// Open issues (failing checks) that rise by 5 or more between two score computations carry
/// their counts on `score.changed`, which opens a high incident (10 or more: critical); it
/// resolves once the count is back.
#[tokio::test]
async fn five_more_failing_checks_open_an_issue_increase_incident() -> anyhow::Result<()> {
    let db = TestDb::create("events_issues").await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let (tenant, agent) = (TenantId::parse("acme")?, AgentId::parse("wh-1")?);
    let names: Vec<String> = (0..6).map(|i| format!("check_{i}")).collect();
    let checks = |status: &'static str| names.iter().map(|n| (n.as_str(), status)).collect::<Vec<_>>();
    let score = || async {
        let asset: Uuid = sqlx::query_scalar("SELECT id FROM assets")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        cwic_control_plane::scoring::service::score_assets(&store, "acme", &[asset])
            .await
            .unwrap();
    };
    let changes = || async {
        outbox_events(&db, EventKind::ScoreChanged)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| match e {
                EventData::ScoreChanged(change) => Some((change.previous_issues, change.issues)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    store
        .ingest_batch(
            &tenant,
            &agent,
            &batch("acme", "wh-1", 1, &["id"], &checks("pass")),
            None,
        )
        .await?;
    score().await;
    store
        .ingest_batch(
            &tenant,
            &agent,
            &batch("acme", "wh-1", 1, &["id"], &checks("fail")),
            None,
        )
        .await?;
    score().await;
    assert_eq!(changes().await, [(None, Some(0)), (Some(0), Some(6))]);
    let events: Vec<Event> = sqlx::query_as::<_, (serde_json::Value, Uuid)>(
        "SELECT data, id FROM outbox WHERE kind = 'score.changed' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|(data, id)| {
        let mut event = Event::at(
            "acme",
            chrono::Utc::now(),
            EventData::from_payload(EventKind::ScoreChanged, data).unwrap(),
        );
        event.id = id;
        event
    })
    .collect();
    cwic_control_plane::incidents::engine::apply(&store, &events).await?;
    let (severity, title): (String, String) =
        sqlx::query_as("SELECT severity, title FROM incidents WHERE source_kind = 'issue_increase'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        (severity.as_str(), title.as_str()),
        ("high", "6 more checks fail: 0 → 6 open issues")
    );
    Ok(())
}
