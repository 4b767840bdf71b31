//! Lineage collected by the agent from the source itself: the data-changing statements of
//! PostgreSQL's query history (`pg_stat_statements`) become column lineage in the control plane.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{AgentSetup, ControlPlane, NatsServer, TestDb, wait_exit, wait_for, walked_columns};

#[tokio::test]
async fn query_history_becomes_column_lineage() -> anyhow::Result<()> {
    let source = TestDb::create("source").await?;
    let installed: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')")
            .fetch_one(&source.pool)
            .await?;
    assert!(
        installed,
        "scripts/dev-services installs pg_stat_statements in template1"
    );
    // The query history is shared by every database of the cluster and keeps its most used entries:
    // start from an empty one so this test's single statement cannot be evicted by other tests'.
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&source.pool)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE orders (id int, ordered_on date, amount numeric);
         CREATE TABLE daily_totals (day date, total numeric);
         INSERT INTO orders VALUES (1, '2026-01-01', 10), (2, '2026-01-01', 5);",
    )
    .execute(&source.pool)
    .await?;
    sqlx::query("INSERT INTO daily_totals (day, total) SELECT ordered_on, sum(amount) FROM orders GROUP BY ordered_on")
        .execute(&source.pool)
        .await?;

    let control_db = TestDb::create("cp").await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start(&control_db.url, &nats.url()).await?;
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "1h")?;
    let mut process = agent.spawn(1)?;
    assert!(
        wait_exit(&mut process, Duration::from_secs(60)).await?.success(),
        "{}",
        agent.log()
    );

    let walk = wait_for("lineage from query history", Duration::from_secs(30), || async {
        Ok(control_plane
            .get(
                "/api/v1/lineage/upstream?namespace=warehouse&dataset=public.daily_totals&column=total",
                "acme",
            )
            .await
            .ok())
    })
    .await?;
    let sources = walked_columns(&walk);
    assert_eq!(sources, ["public.orders.amount"]);
    assert_eq!(walk["edges"][0]["kind"], "aggregate");
    assert!(
        walk["edges"][0]["job"].as_str().unwrap().starts_with("query:"),
        "{walk}"
    );
    Ok(())
}
