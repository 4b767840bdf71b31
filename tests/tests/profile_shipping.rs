//! Profiles on the agent's `run` path: with `profile: true` a source's tables are profiled once per
//! run, the scalar statistics reach the control plane's metric history (checked against SQL), and the
//! protobuf batch on the broker carries each column's profile with PII values masked — no e-mail
//! address or phone number of the source appears anywhere in the message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{Stack, wait_exit, wait_for};
use cwic_proto::agent::v1::MetricBatch;
use prost::Message;

#[tokio::test]
async fn profiles_ship_as_metrics_and_as_masked_protobuf() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (source, control_plane) = (&stack.source, &stack.control_plane);
    let agent = stack.agent("acme", "1h")?;
    let mut config = std::fs::read_to_string(&agent.config_path)?;
    config.push_str("    profile: true\n");
    std::fs::write(&agent.config_path, config)?;
    let mut process = agent.spawn(1)?;
    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());

    // The numbers the profile must have produced, computed by PostgreSQL.
    let (distinct_ids, distinct_countries, mean_id, min_id, max_id): (i64, i64, f64, i32, i32) =
        sqlx::query_as(
            "SELECT count(DISTINCT id), count(DISTINCT country), avg(id)::float8, min(id), max(id) FROM customers",
        )
        .fetch_one(&source.pool)
        .await?;
    let median_id: i32 = sqlx::query_scalar(
        "SELECT id FROM customers ORDER BY id OFFSET (SELECT ceil(count(*) * 0.5)::int - 1 FROM customers) LIMIT 1",
    )
    .fetch_one(&source.pool)
    .await?;
    let std_dev_amount: f64 = sqlx::query_scalar("SELECT stddev_samp(amount)::float8 FROM orders")
        .fetch_one(&source.pool)
        .await?;

    let assets = wait_for("the assets in the API", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets", "acme").await?;
        Ok((page["total"] == 5).then_some(page))
    })
    .await?;
    let asset_id = |name: &str| {
        assets["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|asset| asset["name"] == name)
            .map(|asset| asset["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let point = |asset: String, metric: &'static str, column: &'static str| async move {
        let points = control_plane
            .get(
                &format!("/api/v1/assets/{asset}/metrics?metric={metric}&column={column}"),
                "acme",
            )
            .await
            .unwrap();
        let items = points["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{metric} of {column}: {points}");
        items[0]["value"].as_f64().unwrap()
    };
    let customers = asset_id("customers");
    assert_eq!(
        point(customers.clone(), "distinct_count", "id").await,
        distinct_ids as f64
    );
    assert_eq!(
        point(customers.clone(), "distinct_count", "country").await,
        distinct_countries as f64
    );
    assert_eq!(point(customers.clone(), "mean", "id").await, mean_id);
    assert_eq!(point(customers.clone(), "min", "id").await, f64::from(min_id));
    assert_eq!(point(customers.clone(), "max", "id").await, f64::from(max_id));
    assert_eq!(
        point(customers.clone(), "median", "id").await,
        f64::from(median_id)
    );
    let std_dev = point(asset_id("orders"), "std_dev", "amount").await;
    assert!(
        (std_dev - std_dev_amount).abs() <= 1e-9 * std_dev_amount,
        "std_dev {std_dev} vs SQL {std_dev_amount}"
    );

    // The batch as it travelled: the last metrics message of this agent on the stream.
    let client = async_nats::connect(stack.nats.url()).await?;
    let stream = async_nats::jetstream::new(client)
        .get_stream("CWIC_AGENT")
        .await?;
    let message = stream
        .get_last_raw_message_by_subject("cwic.acme.agent.wh-1.metrics")
        .await?;
    let payload = message.payload.to_vec();
    for secret in [b"@example.com".as_slice(), b"+4420".as_slice()] {
        assert!(
            !payload.windows(secret.len()).any(|window| window == secret),
            "a PII value left the agent: {}",
            String::from_utf8_lossy(secret)
        );
    }
    let batch = MetricBatch::decode(payload.as_slice())?;
    let customers = batch
        .assets
        .iter()
        .find(|asset| asset.name == "customers")
        .unwrap();
    assert_eq!(customers.schema_fingerprint.len(), 16);
    let profiles: Vec<&str> = customers.profiles.iter().map(|p| p.column.as_str()).collect();
    assert_eq!(profiles, ["id", "email", "phone", "country", "created_at"]);
    let email = &customers.profiles[1];
    assert!(email.pii && email.masked, "{email:?}");
    assert_eq!(email.semantic_type, "email");
    assert_eq!(email.nulls, 142); // every 7th of 1..=1000
    assert!(!email.top_values.is_empty());
    let phone = &customers.profiles[2];
    assert!(phone.pii && phone.masked, "{phone:?}");
    let country = &customers.profiles[3];
    assert!(!country.pii);
    assert_eq!(country.top_values[0].value, "DE"); // 1 + i % 3 = 2 for 334 of the 1000 rows
    assert_eq!(country.top_values[0].count, 334);
    let histogram = country.histogram.as_ref().unwrap();
    assert_eq!(histogram.counts.iter().sum::<u64>(), 1000);
    let id = &customers.profiles[0];
    assert_eq!(
        (id.kind.as_str(), id.count, id.distinct),
        ("integer", 1000, Some(1000))
    );
    assert_eq!(id.quantiles.len(), 5);
    Ok(())
}

/// Row count and NULL count per column of every asset the API lists for `tenant`, by name.
async fn api_counts(
    control_plane: &cwic_e2e::ControlPlane,
    tenant: &str,
    assets: usize,
) -> anyhow::Result<std::collections::BTreeMap<String, (String, f64, Vec<(String, f64)>)>> {
    let page = wait_for("the assets in the API", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets", tenant).await?;
        Ok((page["total"] == assets).then_some(page))
    })
    .await?;
    let mut counts = std::collections::BTreeMap::new();
    for asset in page["items"].as_array().unwrap() {
        let detail = control_plane
            .get(
                &format!("/api/v1/assets/{}", asset["id"].as_str().unwrap()),
                tenant,
            )
            .await?;
        let columns = detail["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["null_count"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect();
        counts.insert(
            asset["name"].as_str().unwrap().to_owned(),
            (
                asset["kind"].as_str().unwrap().to_owned(),
                asset["row_count"].as_f64().unwrap(),
                columns,
            ),
        );
    }
    Ok(counts)
}

#[tokio::test]
async fn sqlite_and_file_sources_are_measured_and_profiled_on_the_run_path() -> anyhow::Result<()> {
    use sqlx::Connection;
    let stack = Stack::start().await?;
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("shop.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db_path)
        .create_if_missing(true);
    let mut sqlite = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::raw_sql(
        "CREATE TABLE items (id INTEGER, name TEXT, price REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
         INSERT INTO items SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'item ' || (i % 17) END,
                                  CASE WHEN i % 4 = 0 THEN NULL ELSE i * 0.5 END FROM n;",
    )
    .execute(&mut sqlite)
    .await?;
    sqlite.close().await?;
    let files = dir.path().join("files");
    std::fs::create_dir(&files)?;
    std::fs::write(
        files.join("visits.csv"),
        "day,count\n2024-01-01,3\n2024-01-02,\n2024-01-03,7\n",
    )?;

    for (tenant, url, expected) in [
        (
            "lite",
            format!("sqlite://{}", db_path.display()),
            // 250 rows; every 5th name and every 4th price NULL.
            vec![(
                "items",
                ("table", 250.0, vec![("id", 0.0), ("name", 50.0), ("price", 62.0)]),
            )],
        ),
        (
            "flat",
            format!("file://{}", files.display()),
            vec![("visits", ("file", 3.0, vec![("day", 0.0), ("count", 1.0)]))],
        ),
    ] {
        let agent = cwic_e2e::AgentSetup::new(tenant, "wh-1", &stack.nats.url(), &url, "1h")?;
        let mut config = std::fs::read_to_string(&agent.config_path)?;
        config.push_str("    profile: true\n");
        std::fs::write(&agent.config_path, config)?;
        let mut process = agent.spawn(1)?;
        let status = wait_exit(&mut process, Duration::from_secs(60)).await?;
        assert!(status.success(), "agent failed: {status}\n{}", agent.log());
        let counts = api_counts(&stack.control_plane, tenant, expected.len()).await?;
        for (name, (kind, rows, columns)) in expected {
            let (got_kind, got_rows, got_columns) = &counts[name];
            assert_eq!((got_kind.as_str(), *got_rows), (kind, rows), "{tenant} {name}");
            let columns: Vec<(String, f64)> = columns.into_iter().map(|(c, n)| (c.to_owned(), n)).collect();
            assert_eq!(got_columns, &columns, "{tenant} {name} null counts");
        }
    }
    // A profile metric from each: distinct item names (17 residues) and the CSV's largest count.
    let distinct = wait_for("a profile metric", Duration::from_secs(10), || async {
        let page = stack.control_plane.get("/api/v1/assets", "lite").await?;
        let id = page["items"][0]["id"].as_str().unwrap_or_default().to_owned();
        let points = stack
            .control_plane
            .get(
                &format!("/api/v1/assets/{id}/metrics?metric=distinct_count&column=name"),
                "lite",
            )
            .await?;
        Ok(points["items"][0]["value"].as_f64())
    })
    .await?;
    assert_eq!(distinct, 17.0);
    let page = stack.control_plane.get("/api/v1/assets", "flat").await?;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let points = stack
        .control_plane
        .get(
            &format!("/api/v1/assets/{id}/metrics?metric=max&column=count"),
            "flat",
        )
        .await?;
    assert_eq!(points["items"][0]["value"].as_f64(), Some(7.0));
    Ok(())
}

/// Sessions PostgreSQL opened to `database` so far, once no backend of it is left (a backend's
/// counts reach `pg_stat_database` by the time it leaves `pg_stat_activity`).
async fn sessions_opened(admin: &sqlx::PgPool, database: &str) -> anyhow::Result<i64> {
    wait_for(
        "the database's backends to end",
        Duration::from_secs(30),
        || async {
            let active: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                .bind(database)
                .fetch_one(admin)
                .await?;
            Ok((active == 0).then_some(()))
        },
    )
    .await?;
    Ok(
        sqlx::query_scalar("SELECT sessions FROM pg_stat_database WHERE datname = $1")
            .bind(database)
            .fetch_one(admin)
            .await?,
    )
}

#[tokio::test]
async fn one_pool_serves_discovery_profiles_segments_and_checks_of_every_run() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let agent = stack.agent("acme", "200ms")?;
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: public.customers\n    checks:\n      - template: not_null\n        column: email\n      - template: trimmed\n        column: email\n",
    )?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(
        &agent.config_path,
        format!("{config}    profile: true\n    checks: checks.yml\n"),
    )?;
    // The test's own connections to the source end first, so only the agent's are counted.
    stack.source.pool.close().await;
    let admin = &stack.control_db.pool;
    let before = sessions_opened(admin, &stack.source.name).await?;

    let mut process = agent.spawn(3)?;
    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    let log = agent.log();
    assert_eq!(log.matches("collection finished").count(), 3, "{log}");
    for skipped in [
        "profiling skipped",
        "segment counts and checks skipped",
        "checks skipped",
    ] {
        assert!(!log.contains(skipped), "{skipped}: {log}");
    }

    // One probe when the source opens, then one pool of at most 4 connections for the session's three
    // collections (with a connection per profiling step and a pool for checks, each collection
    // opened six or more).
    let opened = sessions_opened(admin, &stack.source.name).await? - before;
    assert!(
        (1..=5).contains(&opened),
        "{opened} sessions for 3 collections\n{log}"
    );
    Ok(())
}
