//! Delivery guarantees under faults: every batch the agent collects is stored exactly once, through a
//! broker outage, an agent killed with batches in its outbox, and a control plane killed mid-stream.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{
    AgentSetup, ControlPlane, NatsServer, PgServer, Stack, TestDb, seed_source, wait_exit, wait_for,
};

/// Metric points in one batch of the seeded source: per table one row count and one NULL count per
/// column (customers 5 columns, orders 4, empty_table 2, the odd table 2), and customers'
/// freshness lag (its `created_at`); the view has none.
const POINTS_PER_BATCH: i64 = (1 + 5 + 1) + (1 + 4) + (1 + 2) + (1 + 2);

/// Batches stored, the agents' points stored (not the `quality_score` points scoring adds, one
/// per scored collection), and the points the batches declared.
async fn stored(control_db: &TestDb) -> anyhow::Result<(i64, i64, i64)> {
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
        .fetch_one(&control_db.pool)
        .await?;
    let points: i64 =
        sqlx::query_scalar("SELECT count(*) FROM metric_points WHERE metric <> 'quality_score'")
            .fetch_one(&control_db.pool)
            .await?;
    let declared: i64 = sqlx::query_scalar("SELECT coalesce(sum(points), 0)::int8 FROM ingested_batches")
        .fetch_one(&control_db.pool)
        .await?;
    Ok((batches, points, declared))
}

async fn wait_stored(control_db: &TestDb, batches: i64) -> anyhow::Result<()> {
    wait_for(
        &format!("{batches} stored batches"),
        Duration::from_secs(60),
        || async { Ok((stored(control_db).await?.0 >= batches).then_some(())) },
    )
    .await
}

#[tokio::test]
async fn broker_outage_then_every_batch_arrives_exactly_once() -> anyhow::Result<()> {
    let Stack {
        control_plane: _control_plane,
        mut nats,
        control_db,
        source,
    } = Stack::start().await?;

    // The broker goes away; the agent keeps collecting into its outbox.
    nats.stop()?;
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "200ms")?;
    let mut process = agent.spawn(5)?;
    wait_for("5 batches in the outbox", Duration::from_secs(30), || async {
        Ok((agent.spool_pending() == 5).then_some(()))
    })
    .await?;
    assert!(
        process.try_wait()?.is_none(),
        "the agent must wait for the broker, not give up"
    );
    assert_eq!(stored(&control_db).await?.0, 0);

    nats.restart().await?;
    let status = wait_exit(&mut process, Duration::from_secs(60)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    assert_eq!(agent.spool_pending(), 0);

    wait_stored(&control_db, 5).await?;
    // Give a late duplicate the chance to show up before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stored(&control_db).await?,
        (5, 5 * POINTS_PER_BATCH, 5 * POINTS_PER_BATCH)
    );
    Ok(())
}

#[tokio::test]
async fn batches_in_the_outbox_survive_an_agent_kill() -> anyhow::Result<()> {
    let Stack {
        control_plane: _control_plane,
        mut nats,
        control_db,
        source,
    } = Stack::start().await?;

    nats.stop()?;
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "100ms")?;
    let mut first = agent.spawn(3)?;
    wait_for("3 batches in the outbox", Duration::from_secs(30), || async {
        Ok((agent.spool_pending() == 3).then_some(()))
    })
    .await?;
    first.kill()?;
    first.wait()?;

    nats.restart().await?;
    // A new agent process with no collection runs only sends what waits.
    let mut second = agent.spawn(0)?;
    let status = wait_exit(&mut second, Duration::from_secs(60)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    wait_stored(&control_db, 3).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stored(&control_db).await?,
        (3, 3 * POINTS_PER_BATCH, 3 * POINTS_PER_BATCH)
    );
    Ok(())
}

#[tokio::test]
async fn control_plane_killed_mid_stream_loses_and_doubles_nothing() -> anyhow::Result<()> {
    const RUNS: i64 = 30;
    let Stack {
        mut control_plane,
        nats,
        control_db,
        source,
    } = Stack::start().await?;

    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "100ms")?;
    let mut process = agent.spawn(RUNS as u64)?;
    if let Err(error) = wait_stored(&control_db, 5).await {
        anyhow::bail!(
            "{error}\nagent log:\n{}\ncontrol plane log:\n{}",
            agent.log(),
            control_plane.log()
        );
    }
    control_plane.kill()?;
    let at_kill = stored(&control_db).await?.0;
    assert!(
        at_kill < RUNS,
        "the kill must land mid-stream (stored {at_kill} of {RUNS})"
    );

    // The agent finishes against the broker alone; the stream keeps what the control plane missed.
    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());

    control_plane.restart().await?;
    wait_stored(&control_db, RUNS).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stored(&control_db).await?,
        (RUNS, RUNS * POINTS_PER_BATCH, RUNS * POINTS_PER_BATCH)
    );

    // And a graceful stop exits cleanly.
    let status = control_plane.terminate()?;
    assert!(
        status.success(),
        "SIGTERM should stop the control plane cleanly: {status}\n{}",
        control_plane.log()
    );
    Ok(())
}

#[tokio::test]
async fn postgres_restarted_during_ingest_loses_and_doubles_nothing() -> anyhow::Result<()> {
    const RUNS: i64 = 30;
    // The control plane's database on a server of this test's own, so restarting it disturbs no
    // other test.
    let postgres = PgServer::start().await?;
    let control_url = postgres.create_database("cwic_cp").await?;
    let source = TestDb::create("source").await?;
    seed_source(&source.pool).await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start(&control_url, &nats.url()).await?;
    let count = || async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&control_url).await?;
        let row: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM ingested_batches),
                    (SELECT count(*) FROM metric_points WHERE metric <> 'quality_score'),
                    (SELECT coalesce(sum(points), 0)::int8 FROM ingested_batches)",
        )
        .fetch_one(&mut conn)
        .await?;
        anyhow::Ok(row)
    };

    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "100ms")?;
    let mut process = agent.spawn(RUNS as u64)?;
    wait_for("5 stored batches", Duration::from_secs(60), || async {
        Ok(count().await.ok().filter(|stored| stored.0 >= 5).map(|_| ()))
    })
    .await?;
    let at_stop = count().await?.0;
    postgres.stop()?;
    // The database stays down longer than the pool waits for a connection (10 s), so storing fails,
    // the messages are redelivered, and the control plane keeps trying while the agent publishes.
    tokio::time::sleep(Duration::from_secs(12)).await;
    postgres.start_again().await?;
    assert!(
        at_stop < RUNS,
        "the restart must land mid-stream (stored {at_stop} of {RUNS})"
    );

    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    let stored = wait_for(
        &format!("{RUNS} stored batches"),
        Duration::from_secs(90),
        || async { Ok(count().await.ok().filter(|stored| stored.0 >= RUNS)) },
    )
    .await;
    if let Err(error) = stored {
        anyhow::bail!("{error}\ncontrol plane log:\n{}", control_plane.log());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count().await?,
        (RUNS, RUNS * POINTS_PER_BATCH, RUNS * POINTS_PER_BATCH)
    );
    let log = control_plane.log();
    eprintln!(
        "{}",
        log.lines()
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn a_stop_does_not_wait_for_a_collection_blocked_in_the_source() -> anyhow::Result<()> {
    let Stack {
        control_plane: _control_plane,
        nats,
        control_db: _control_db,
        source,
    } = Stack::start().await?;
    // A migration elsewhere holds a lock on a table the collection reads: the collection waits.
    let mut blocker = source.pool.begin().await?;
    sqlx::query("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await?;
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "1h")?;
    let mut process = agent.spawn_forever()?;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&source.pool)
        .await?;
    wait_for(
        "the collection to wait for the lock",
        Duration::from_secs(30),
        || {
            let (pool, database) = (source.pool.clone(), database.clone());
            async move {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                )
                .bind(&database)
                .fetch_one(&pool)
                .await?;
                Ok((waiting > 0).then_some(()))
            }
        },
    )
    .await?;

    std::process::Command::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()?;
    let status = wait_exit(&mut process, Duration::from_secs(20)).await;
    blocker.rollback().await?;
    let status = status.map_err(|error| anyhow::anyhow!("{error}\n{}", agent.log()))?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    assert!(
        agent.log().contains("collection abandoned: stop requested"),
        "{}",
        agent.log()
    );
    assert_eq!(
        agent.spool_pending(),
        0,
        "nothing of the abandoned collection is spooled"
    );
    Ok(())
}
