//! The walking skeleton, end to end: a seeded PostgreSQL source, an agent process, a real
//! nats-server and the control plane process; every number read back through the REST API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use cwic_e2e::{Stack, TestDb, wait_exit, wait_for, walked_columns};
use serde_json::Value;
use sqlx::Row;

/// Row counts and per-column NULL counts computed independently with plain SQL.
async fn expected_counts(source: &TestDb) -> anyhow::Result<BTreeMap<String, (f64, BTreeMap<String, f64>)>> {
    let columns = sqlx::query(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
           AND (table_schema, table_name) IN (SELECT table_schema, table_name FROM information_schema.tables
                                              WHERE table_type = 'BASE TABLE')
         ORDER BY 1, 2, ordinal_position",
    )
    .fetch_all(&source.pool)
    .await?;
    let mut expected = BTreeMap::new();
    for row in columns {
        let (schema, table, column): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let from = format!("{}.{}", quoted(&schema), quoted(&table));
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {from}")))
            .fetch_one(&source.pool)
            .await?;
        let nulls: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {from} WHERE {} IS NULL",
            quoted(&column)
        )))
        .fetch_one(&source.pool)
        .await?;
        let entry = expected
            .entry(format!("{schema}.{table}"))
            .or_insert((rows as f64, BTreeMap::new()));
        entry.1.insert(column, nulls as f64);
    }
    Ok(expected)
}

#[tokio::test]
async fn every_row_count_and_null_count_reaches_the_api() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (source, control_plane) = (&stack.source, &stack.control_plane);
    let agent = stack.agent("acme", "1h")?;
    let mut process = agent.spawn(1)?;
    let status = wait_exit(&mut process, Duration::from_secs(60)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    assert_eq!(
        agent.spool_pending(),
        0,
        "the outbox must be empty after a delivered run"
    );

    let expected = expected_counts(source).await?;
    assert_eq!(expected.len(), 4, "seeded tables: {:?}", expected.keys());
    let assets = wait_for("all assets in the API", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets", "acme").await?;
        // 4 tables and 1 view
        Ok((page["total"] == 5).then_some(page))
    })
    .await?;

    let mut seen_tables = 0;
    for asset in assets["items"].as_array().into_iter().flatten() {
        let key = format!(
            "{}.{}",
            asset["schema_name"].as_str().unwrap(),
            asset["name"].as_str().unwrap()
        );
        assert_eq!(asset["source_name"], "warehouse");
        assert_eq!(asset["agent_id"], "wh-1");
        if asset["kind"] == "view" {
            assert_eq!(key, "public.big_orders");
            assert_eq!(
                asset["row_count"],
                Value::Null,
                "views are described, not measured"
            );
            continue;
        }
        seen_tables += 1;
        let (rows, nulls) = &expected[&key];
        assert_eq!(asset["row_count"].as_f64(), Some(*rows), "row count of {key}");
        let detail = control_plane
            .get(
                &format!("/api/v1/assets/{}", asset["id"].as_str().unwrap()),
                "acme",
            )
            .await?;
        let columns: BTreeMap<String, f64> = detail["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|column| {
                (
                    column["name"].as_str().unwrap().to_owned(),
                    column["null_count"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(&columns, nulls, "null counts of {key}");
    }
    assert_eq!(seen_tables, 4);

    // The history endpoint serves the same numbers as points.
    let customers = assets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "customers")
        .unwrap();
    let points = control_plane
        .get(
            &format!(
                "/api/v1/assets/{}/metrics?metric=null_count&column=email",
                customers["id"].as_str().unwrap()
            ),
            "acme",
        )
        .await?;
    let items = points["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["value"].as_f64(), Some(142.0)); // every 7th of 1..=1000

    // The agent also shipped the view's definition: its lineage reaches the graph.
    let upstream = wait_for("the view's lineage", Duration::from_secs(30), || async {
        let walk = control_plane
            .get(
                "/api/v1/lineage/upstream?namespace=warehouse&dataset=public.big_orders&column=amount",
                "acme",
            )
            .await;
        Ok(walk.ok())
    })
    .await?;
    let sources = walked_columns(&upstream);
    assert_eq!(sources, ["public.orders.amount"]);
    assert_eq!(upstream["edges"][0]["job"], "public.big_orders");

    // Another tenant sees nothing of acme's.
    let other = control_plane.get("/api/v1/assets", "globex").await?;
    assert_eq!(other["total"], 0);
    Ok(())
}
