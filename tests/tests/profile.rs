//! `cwic-agent profile` against real PostgreSQL: every statistic it prints for a generated table is
//! checked against an independent SQL computation on the same data, and failures (a missing table,
//! an unreachable source) are one clear message each while the other tables still print.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::{Command, Output};

use cwic_e2e::{TestDb, binary, free_port};
use serde_json::Value;
use sqlx::Row;

/// Rows in the generated table: past the kernels' exact caps (57,343 numeric and 14,335 text
/// distinct values), so the sketches' stated error bounds are exercised too.
const ROWS: i64 = 60_000;

const CREATE_SQL: &str = r#"
CREATE TABLE sample (
    id       integer,
    big      bigint,
    amount   numeric(15,2),
    ratio    float8,
    label    text,
    email    text,
    happened timestamptz,
    day      date,
    flag     boolean,
    token    uuid,
    doc      jsonb,
    nothing  integer,
    code     char(4)
) WITH (autovacuum_enabled = false);
INSERT INTO sample
SELECT CASE WHEN g % 97 = 0 THEN NULL ELSE (g * 7919) % 100003 END,
       CASE g % 3 WHEN 0 THEN 9223372036854775807 - g WHEN 1 THEN -9223372036854775808 + g ELSE g END,
       CASE WHEN g % 89 = 0 THEN NULL WHEN g = 1 THEN 9999999999999.99 ELSE round((g % 1000) * 1.37 - 300, 2) END,
       CASE WHEN g % 1000 = 0 THEN 'NaN'::float8
            WHEN g % 1001 = 0 THEN 'Infinity'::float8
            WHEN g % 1003 = 0 THEN '-Infinity'::float8
            WHEN g % 50 = 0 THEN NULL
            ELSE sin(g) * 1000 END,
       CASE WHEN g % 10 = 0 THEN ''
            WHEN g % 13 = 0 THEN NULL
            WHEN g % 10 = 1 THEN 'Zoë ' || (g % 200)
            WHEN g % 10 = 2 THEN '日本語 ' || (g % 30)
            ELSE 'w' || g END,
       'user' || (g % 5000) || '@example.com',
       CASE WHEN g % 11 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00:00+00' + (g * 37) * interval '1 minute' END,
       date '1999-12-25' + (g % 4000),
       CASE WHEN g % 5 = 0 THEN NULL ELSE g % 3 = 0 END,
       md5(g::text)::uuid,
       jsonb_build_object('k', g % 7),
       NULL,
       CASE WHEN g % 2 = 0 THEN 'ab' ELSE 'abcd' END
FROM generate_series(1, 60000) AS g;
CREATE TABLE empty_table (a integer, b text);
ANALYZE;
"#;

fn profile(args: &[&str]) -> Output {
    Command::new(binary("cwic-agent"))
        .arg("profile")
        .args(args)
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap()
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn column<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|column| column["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {table}"))
}

fn float(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

fn assert_close(what: &str, actual: f64, expected: f64, relative: f64) {
    assert!(
        (actual - expected).abs() <= relative * expected.abs().max(1.0),
        "{what}: {actual} vs SQL {expected} (tolerance {relative})"
    );
}

/// The first column of the first row of `sql`.
async fn scalar<T>(db: &TestDb, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get::<T, _>(0)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Counts, nulls and distinct of a column against SQL. `filter` restricts the values that count
/// for distinct (floats: finite ones only).
async fn check_counts(db: &TestDb, profile: &Value, name: &str, filter: &str) {
    let count = scalar::<i64>(db, "SELECT count(*) FROM sample").await;
    let nulls = scalar::<i64>(db, &format!("SELECT count(*) - count({name}) FROM sample")).await;
    let distinct = scalar::<i64>(
        db,
        &format!("SELECT count(DISTINCT {name}) FROM sample WHERE {filter}"),
    )
    .await;
    assert_eq!(profile["count"], count, "{name}.count");
    assert_eq!(profile["nulls"], nulls, "{name}.nulls");
    assert_close(
        &format!("{name}.null_percent"),
        float(&profile["null_percent"]),
        100.0 * nulls as f64 / count as f64,
        1e-9,
    );
    let reported = profile["distinct"].as_i64().unwrap();
    if profile["distinct_exact"] == true {
        assert_eq!(reported, distinct, "{name}.distinct (exact)");
    } else {
        // HyperLogLog: within four standard errors.
        let error = float(&profile["distinct_error"]);
        assert!(error > 0.0 && error < 0.01, "{name}.distinct_error {error}");
        assert_close(
            &format!("{name}.distinct"),
            reported as f64,
            distinct as f64,
            4.0 * error,
        );
    }
}

/// Mean, sample standard deviation and the median of a numeric column against SQL; the median
/// within the stated rank error when quantiles are sketched.
async fn check_moments(db: &TestDb, profile: &Value, name: &str, filter: &str, relative: f64) {
    let avg = scalar::<f64>(
        db,
        &format!("SELECT avg({name})::float8 FROM sample WHERE {filter}"),
    )
    .await;
    let std_dev = scalar::<f64>(
        db,
        &format!("SELECT stddev_samp({name})::float8 FROM sample WHERE {filter}"),
    )
    .await;
    assert_close(&format!("{name}.mean"), float(&profile["mean"]), avg, relative);
    assert_close(
        &format!("{name}.std_dev"),
        float(&profile["std_dev"]),
        std_dev,
        1e-6,
    );
    let median = float(&profile["quantiles"]["p50"]);
    let exact_median = scalar::<f64>(
        db,
        &format!(
            "SELECT (percentile_disc(0.5) WITHIN GROUP (ORDER BY {name}))::float8 FROM sample WHERE {filter}"
        ),
    )
    .await;
    if profile["quantiles_exact"] == true {
        assert_close(&format!("{name}.p50"), median, exact_median, 1e-12);
    } else {
        let rank_error = float(&profile["quantile_rank_error"]);
        assert!(
            rank_error > 0.0 && rank_error < 0.01,
            "{name}.quantile_rank_error {rank_error}"
        );
        let n = scalar::<f64>(
            db,
            &format!("SELECT count({name})::float8 FROM sample WHERE {filter}"),
        )
        .await;
        let below = scalar::<f64>(
            db,
            &format!("SELECT count(*)::float8 FROM sample WHERE {filter} AND {name}::float8 < {median:?}"),
        )
        .await;
        let at_or_below = scalar::<f64>(
            db,
            &format!("SELECT count(*)::float8 FROM sample WHERE {filter} AND {name}::float8 <= {median:?}"),
        )
        .await;
        // The reported median's rank interval must come within the rank error of 0.5.
        assert!(
            below / n <= 0.5 + rank_error && at_or_below / n >= 0.5 - rank_error,
            "{name}.p50 {median}: rank in [{}, {}], expected 0.5 ± {rank_error}",
            below / n,
            at_or_below / n
        );
    }
}

#[tokio::test]
async fn profile_matches_sql_for_every_type() {
    let db = TestDb::create("profile").await.unwrap();
    sqlx::raw_sql(CREATE_SQL).execute(&db.pool).await.unwrap();
    // Vacuumed now (its free-space and visibility maps exist) and never again by autovacuum, so the
    // size on disk the profile reports is the size the test reads afterwards.
    sqlx::raw_sql("VACUUM sample").execute(&db.pool).await.unwrap();

    let output = profile(&["--source", &db.url, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}: {stderr}", output.status);
    let tables = json_lines(&output);
    assert_eq!(tables.len(), 2, "one profile per table: {tables:?}");
    let empty = &tables[0];
    let sample = &tables[1];

    // The empty table: zero rows, every column profiled with zero counts.
    assert_eq!(empty["name"], "empty_table");
    assert_eq!(empty["row_count"], 0);
    for name in ["a", "b"] {
        assert_eq!(column(empty, name)["count"], 0, "{name}");
        assert_eq!(column(empty, name)["error"], Value::Null, "{name}");
    }

    // Table facts.
    assert_eq!(sample["schema"], "public");
    assert_eq!(sample["name"], "sample");
    assert_eq!(sample["row_count"], ROWS);
    let size = scalar::<i64>(&db, "SELECT pg_total_relation_size('sample')").await;
    assert_eq!(sample["size_bytes"], size);
    assert!(sample["elapsed_ms"].as_u64().is_some());
    let fingerprint = sample["schema_fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 16, "{fingerprint}");
    assert_eq!(sample["columns"].as_array().unwrap().len(), 13);

    // Integers: exact min, max, sum; mean and spread against SQL.
    let id = column(sample, "id");
    assert_eq!(id["kind"], "integer");
    assert_eq!(id["data_type"], "integer");
    check_counts(&db, id, "id", "true").await;
    assert_eq!(
        id["min"],
        scalar::<i64>(&db, "SELECT min(id)::int8 FROM sample").await
    );
    assert_eq!(
        id["max"],
        scalar::<i64>(&db, "SELECT max(id)::int8 FROM sample").await
    );
    assert_eq!(
        id["sum_exact"],
        scalar::<String>(&db, "SELECT sum(id)::text FROM sample").await
    );
    check_moments(&db, id, "id", "true", 1e-12).await;
    // 59,382 distinct values: past the exact cap, so the sketches and their stated bounds were used.
    assert_eq!(id["distinct_exact"], false);
    assert_eq!(id["quantiles_exact"], false);

    // Bigints at both ends of the i64 range: exact min, max and sum; spread not lost to rounding.
    let big = column(sample, "big");
    check_counts(&db, big, "big", "true").await;
    assert_eq!(
        big["min"],
        scalar::<i64>(&db, "SELECT min(big) FROM sample").await
    );
    assert_eq!(
        big["max"],
        scalar::<i64>(&db, "SELECT max(big) FROM sample").await
    );
    assert_eq!(big["min"], i64::MIN + 1);
    assert_eq!(big["max"], i64::MAX - 3);
    assert_eq!(
        big["sum_exact"],
        scalar::<String>(&db, "SELECT sum(big)::text FROM sample").await
    );
    let big_std = scalar::<f64>(&db, "SELECT stddev_samp(big)::float8 FROM sample").await;
    assert_close("big.std_dev", float(&big["std_dev"]), big_std, 1e-6);
    let big_avg = scalar::<f64>(&db, "SELECT avg(big)::float8 FROM sample").await;
    assert!(
        (float(&big["mean"]) - big_avg).abs() <= 1e-9 * 9.3e18,
        "big.mean {} vs {big_avg}",
        big["mean"]
    );

    // numeric(15,2): exact at its scale.
    let amount = column(sample, "amount");
    assert_eq!(amount["kind"], "decimal");
    assert_eq!(amount["data_type"], "numeric(15,2)");
    check_counts(&db, amount, "amount", "true").await;
    assert_eq!(
        float(&amount["min"]),
        scalar::<f64>(&db, "SELECT min(amount)::float8 FROM sample").await
    );
    assert_eq!(float(&amount["max"]), 9999999999999.99);
    assert_eq!(
        amount["sum_exact"],
        scalar::<String>(&db, "SELECT sum(amount)::text FROM sample").await
    );
    check_moments(&db, amount, "amount", "amount IS NOT NULL", 1e-9).await;

    // float8 with NaN and ±Infinity: counted apart, left out of the value statistics.
    let ratio = column(sample, "ratio");
    assert_eq!(ratio["kind"], "float");
    let finite = "ratio NOT IN ('NaN', 'Infinity', '-Infinity')";
    check_counts(&db, ratio, "ratio", finite).await;
    assert_eq!(
        ratio["nan"],
        scalar::<i64>(&db, "SELECT count(*) FROM sample WHERE ratio = 'NaN'").await
    );
    assert_eq!(
        ratio["infinite"],
        scalar::<i64>(
            &db,
            "SELECT count(*) FROM sample WHERE ratio IN ('Infinity', '-Infinity')"
        )
        .await
    );
    assert_eq!(ratio["nan"], 60);
    // serde_json's default float parsing may land one ulp off the printed shortest form.
    let sql_min = scalar::<f64>(&db, &format!("SELECT min(ratio) FROM sample WHERE {finite}")).await;
    let sql_max = scalar::<f64>(&db, &format!("SELECT max(ratio) FROM sample WHERE {finite}")).await;
    assert_close("ratio.min", float(&ratio["min"]), sql_min, 1e-15);
    assert_close("ratio.max", float(&ratio["max"]), sql_max, 1e-15);
    check_moments(&db, ratio, "ratio", finite, 1e-9).await;

    // Text with unicode and empty strings: lengths in characters, min/max in code-point order.
    let label = column(sample, "label");
    assert_eq!(label["kind"], "text");
    check_counts(&db, label, "label", "true").await;
    // ~36,000 distinct labels: past the text cap (14,335), so HyperLogLog within its stated error.
    assert_eq!(label["distinct_exact"], false);
    assert_eq!(
        label["empty_strings"],
        scalar::<i64>(&db, "SELECT count(*) FROM sample WHERE label = ''").await
    );
    assert_eq!(label["length_min"], 0);
    assert_eq!(
        label["length_max"],
        scalar::<i64>(&db, "SELECT max(char_length(label))::int8 FROM sample").await
    );
    assert_close(
        "label.length_mean",
        float(&label["length_mean"]),
        scalar::<f64>(&db, "SELECT avg(char_length(label))::float8 FROM sample").await,
        1e-9,
    );
    assert_eq!(label["min"], "");
    assert_eq!(
        label["max"],
        scalar::<String>(&db, "SELECT max(label COLLATE \"C\") FROM sample").await
    );
    assert_eq!(label["max"], "日本語 22");

    // E-mail addresses: detected as PII and masked by default.
    let email = column(sample, "email");
    check_counts(&db, email, "email", "true").await;
    assert_eq!(email["pii"], true);
    assert_eq!(email["masked"], true);
    assert_eq!(email["semantic"]["detected"], "email");
    let top = email["top_values"][0]["value"].as_str().unwrap();
    assert!(
        top.contains("***") && !top.contains("example.com"),
        "masked top value: {top}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("@example.com"));

    // Timestamps and dates: RFC 3339 UTC, spread in seconds.
    let happened = column(sample, "happened");
    assert_eq!(happened["kind"], "temporal");
    check_counts(&db, happened, "happened", "true").await;
    let first = scalar::<String>(
        &db,
        "SELECT to_char(min(happened) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM sample",
    )
    .await;
    let last = scalar::<String>(
        &db,
        "SELECT to_char(max(happened) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM sample",
    )
    .await;
    assert!(
        happened["min"].as_str().unwrap().starts_with(&first),
        "{} vs {first}",
        happened["min"]
    );
    assert!(
        happened["max"].as_str().unwrap().starts_with(&last),
        "{} vs {last}",
        happened["max"]
    );
    let spread = scalar::<f64>(
        &db,
        "SELECT stddev_samp(extract(epoch FROM happened))::float8 FROM sample",
    )
    .await;
    assert_close("happened.std_dev", float(&happened["std_dev"]), spread, 1e-6);
    let day = column(sample, "day");
    check_counts(&db, day, "day", "true").await;
    assert!(
        day["min"].as_str().unwrap().starts_with("1999-12-25T00:00:00"),
        "{}",
        day["min"]
    );
    let last_day = scalar::<String>(&db, "SELECT max(day)::text FROM sample").await;
    assert!(
        day["max"].as_str().unwrap().starts_with(&last_day),
        "{} vs {last_day}",
        day["max"]
    );

    // Booleans.
    let flag = column(sample, "flag");
    check_counts(&db, flag, "flag", "true").await;
    assert_eq!(
        flag["true_count"],
        scalar::<i64>(&db, "SELECT count(*) FROM sample WHERE flag").await
    );
    assert_eq!(
        flag["false_count"],
        scalar::<i64>(&db, "SELECT count(*) FROM sample WHERE NOT flag").await
    );

    // UUIDs as their canonical text.
    let token = column(sample, "token");
    check_counts(&db, token, "token", "true").await;
    assert_eq!(
        token["min"],
        scalar::<String>(&db, "SELECT min(token::text COLLATE \"C\") FROM sample").await
    );
    assert_eq!(
        token["max"],
        scalar::<String>(&db, "SELECT max(token::text COLLATE \"C\") FROM sample").await
    );
    assert_eq!(token["semantic"]["detected"], "uuid");

    // jsonb: profiled as its text form.
    let doc = column(sample, "doc");
    assert_eq!(doc["kind"], "text");
    check_counts(&db, doc, "doc", "true").await;
    assert_eq!(doc["distinct"], 7);
    assert_eq!(
        doc["top_values"][0]["count"],
        scalar::<i64>(
            &db,
            "SELECT max(c) FROM (SELECT count(*) AS c FROM sample GROUP BY doc) AS counts"
        )
        .await
    );

    // All NULL.
    let nothing = column(sample, "nothing");
    assert_eq!(nothing["nulls"], ROWS);
    assert_eq!(float(&nothing["null_percent"]), 100.0);
    assert_eq!(nothing["min"], Value::Null);
    assert_eq!(nothing["mean"], Value::Null);

    // char(n): padding is not data.
    let code = column(sample, "code");
    assert_eq!(code["length_min"], 2);
    assert_eq!(code["length_max"], 4);
    assert_eq!(code["distinct"], 2);

    // Correlation over the numeric columns: id against itself is 1, big is constant-free.
    let correlation = &sample["correlation"];
    let names: Vec<&str> = correlation["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "big", "amount", "ratio", "nothing"]);
    assert_close("pearson(id, id)", float(&correlation["pearson"][0][0]), 1.0, 1e-9);
    let pearson = scalar::<f64>(
        &db,
        "SELECT corr(id::float8, amount::float8) FROM sample WHERE amount IS NOT NULL AND id IS NOT NULL",
    )
    .await;
    assert_close(
        "pearson(id, amount)",
        float(&correlation["pearson"][0][2]),
        pearson,
        1e-6,
    );

    // The same run again gives the same fingerprint; --no-mask shows the addresses.
    let unmasked = profile(&[
        "--source",
        &db.url,
        "--table",
        "public.sample",
        "--format",
        "json",
        "--no-mask",
    ]);
    assert!(unmasked.status.success());
    let again = json_lines(&unmasked);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["schema_fingerprint"], fingerprint);
    assert_eq!(column(&again[0], "email")["masked"], false);
    assert!(
        column(&again[0], "email")["max"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
}

#[tokio::test]
async fn table_output_is_readable_and_masks_pii() {
    let db = TestDb::create("profile_table").await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE people (id int, email text, blob bytea); \
         INSERT INTO people SELECT g, 'person' || g || '@example.org', '\\x00' FROM generate_series(1, 500) g;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let output = profile(&["--source", &db.url]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A type left out by design is a warning, not a failure.
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("public.people: 500 rows, "), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[1].starts_with("column"), "{stdout}");
    for header in [
        "type",
        "nulls %",
        "distinct",
        "min",
        "max",
        "mean",
        "p50",
        "top value",
        "semantic",
    ] {
        assert!(lines[1].contains(header), "{header}: {stdout}");
    }
    let id = lines.iter().find(|line| line.starts_with("id ")).unwrap();
    for cell in ["integer", "0.0", "500", "1", "250.5"] {
        assert!(id.contains(cell), "{cell} in {id}");
    }
    let email = lines.iter().find(|line| line.starts_with("email ")).unwrap();
    assert!(email.contains("email PII"), "{email}");
    assert!(!stdout.contains("@example.org"), "{stdout}");
    let blob = lines.iter().find(|line| line.starts_with("blob ")).unwrap();
    assert!(
        blob.contains("not profiled: binary data (bytea) is not profiled"),
        "{blob}"
    );
    assert!(
        stderr.contains("warning: public.people.blob: binary data (bytea) is not profiled"),
        "{stderr}"
    );
}

#[tokio::test]
async fn missing_table_and_unreachable_source_are_reported_and_the_rest_prints() {
    let db = TestDb::create("profile_errors").await.unwrap();
    sqlx::raw_sql("CREATE TABLE present (n int); INSERT INTO present SELECT generate_series(1, 10);")
        .execute(&db.pool)
        .await
        .unwrap();
    let port = free_port();
    let unreachable = format!("postgres://cwic:secret@127.0.0.1:{port}/nowhere");
    let output = profile(&[
        "--source",
        &unreachable,
        "--source",
        &db.url,
        "--table",
        "public.missing",
        "--table",
        "present",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let tables = json_lines(&output);
    assert_eq!(tables.len(), 1, "{tables:?}");
    assert_eq!(tables[0]["name"], "present");
    assert_eq!(tables[0]["row_count"], 10);
    assert_eq!(column(&tables[0], "n")["max"], 10);
    assert!(
        stderr.contains(&format!(
            "error: cannot connect to postgres://cwic:****@127.0.0.1:{port}/nowhere: "
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret"),
        "the password must never be printed: {stderr}"
    );
    assert!(
        stderr.contains("error: public.missing: table not found in postgres://cwic:****@127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|line| line.starts_with("error: ")).count(),
        2,
        "{stderr}"
    );
}

#[tokio::test]
async fn a_block_sample_reads_part_of_the_table_and_says_so() {
    let db = TestDb::create("profile").await.unwrap();
    sqlx::raw_sql(CREATE_SQL).execute(&db.pool).await.unwrap();

    let output = profile(&[
        "--source",
        &db.url,
        "--table",
        "public.sample",
        "--sample",
        "50",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tables = json_lines(&output);
    let sample = &tables[0];
    assert_eq!(sample["sample_percent"], 50.0);
    let rows = sample["row_count"].as_u64().unwrap();
    assert!(
        rows > 0 && rows < ROWS as u64,
        "a 50% block sample of {ROWS} rows read {rows}"
    );
    let estimate = sample["estimated_total_rows"].as_u64().unwrap() as f64;
    assert_close("estimated total rows", estimate, ROWS as f64, 0.3);
    assert_eq!(
        column(sample, "id")["count"].as_u64().unwrap(),
        rows,
        "statistics describe the sample"
    );

    let full = json_lines(&profile(&[
        "--source",
        &db.url,
        "--table",
        "public.sample",
        "--format",
        "json",
    ]));
    assert_eq!(full[0]["sample_percent"], Value::Null);
    assert_eq!(full[0]["row_count"].as_u64(), Some(ROWS as u64));

    let bad = profile(&["--source", &db.url, "--sample", "150"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("expected a percentage above 0 and at most 100, found `150`"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
