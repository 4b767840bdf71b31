//! `cwic-agent scan` against real PostgreSQL, MariaDB (MYSQL_URL, default
//! mysql://cwic:cwic@127.0.0.1:3306/cwic; each test creates its own database) and a real SQLite
//! file: one fixture table with known violations, every template run on all three engines, exact
//! failing counts asserted for each; a missing column is an error result while the rest runs; exit
//! codes and JUnit output for CI.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::Path;
use std::process::{Command, Output};

use cwic_e2e::{MysqlDb, TestDb, binary};
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

const PG_TABLES: &str = "
CREATE TABLE parents (id integer);
CREATE TABLE t (id integer NOT NULL, email text, phone text, phone_nat text, website text, ext_id text, ip text,
  zip text, status text, name text, country text, amount numeric(10,2), qty integer, signup date,
  ship date, receipt date, seen_at timestamptz, raw_int text, raw_dec text, raw_bool text, raw_date text,
  parent_id integer, city text, code text);";

const SQLITE_TABLES: &str = "
CREATE TABLE parents (id INTEGER);
CREATE TABLE t (id INTEGER NOT NULL, email TEXT, phone TEXT, phone_nat TEXT, website TEXT, ext_id TEXT, ip TEXT,
  zip TEXT, status TEXT, name TEXT, country TEXT, amount REAL, qty INTEGER, signup TEXT,
  ship TEXT, receipt TEXT, seen_at TEXT, raw_int TEXT, raw_dec TEXT, raw_bool TEXT, raw_date TEXT,
  parent_id INTEGER, city TEXT, code TEXT);";

/// MariaDB's default collation for the database (utf8mb4_general_ci) ignores case and trailing
/// spaces: the counts below must come out as on PostgreSQL anyway.
const MYSQL_TABLES: &str = "
CREATE TABLE parents (id integer);
CREATE TABLE t (id integer NOT NULL, email text, phone text, phone_nat text, website text, ext_id text, ip text,
  zip text, status text, name text, country text, amount decimal(10,2), qty integer, signup date,
  ship date, receipt date, seen_at timestamp(6) NULL, raw_int text, raw_dec text, raw_bool text, raw_date text,
  parent_id integer, city text, code text);";

/// Six rows; row 6 is an exact copy of row 1. `{hN}` becomes "N hours ago" in the engine's syntax.
const ROWS: &str = "
INSERT INTO parents VALUES (1), (2);
INSERT INTO t VALUES
(1, 'ann@example.com', '+14155552671', '030 1234567', 'https://example.com/a', '123e4567-e89b-12d3-a456-426614174000',
 '192.168.0.1', '12345', 'new', 'Ann', 'DE', 10.5, 1, '2024-01-10', '2024-01-11', '2024-01-12', {h1},
 '12', '1.5', 'true', '2024-01-01', 1, 'Berlin', 'AB-1'),
(2, 'BOB@example.com', '+4930123456', '(0151) 234-5678', 'http://test.org', 'not-a-uuid',
 '2001:db8::1', '12345-6789', 'paid', ' Bob', 'de', 20, 2, '2024-02-01', '2024-02-03', '2024-02-02', {h2},
 '-7', '2e3', 'no', '2024-13-01', 1, 'Berlin', 'AB-2'),
(3, 'carl@example', '4155552671', '1234567', 'ftp://x.org', NULL,
 '256.1.1.1', '1234', 'shipped', 'Carl ', 'DE', -5, 0, '2023-12-31', NULL, '2024-01-05', {h3},
 '1.0', 'abc', 'maybe', 'Jan 5', 2, 'Munich', 'AB-3'),
(4, NULL, NULL, NULL, NULL, '123E4567-E89B-12D3-A456-426614174000',
 NULL, NULL, 'bogus', NULL, 'FR', NULL, 5, '2030-01-01', '2030-01-02', '2030-01-03', {h30},
 NULL, NULL, NULL, NULL, 99, 'Paris', 'ab-4'),
(5, 'dan@example.com', '+1', '030-12', 'https://example.com', '123e4567-e89b-12d3-a456-426614174001',
 '10.0.0.256', '99999', 'new', 'Dan', 'fr', 15, 3, '2024-03-01', '2024-03-02', '2024-03-05', {h48},
 '+5', '.5', 'Y', '2024-03-01', NULL, 'Paris', 'AB-5'),
(1, 'ann@example.com', '+14155552671', '030 1234567', 'https://example.com/a', '123e4567-e89b-12d3-a456-426614174000',
 '192.168.0.1', '12345', 'new', 'Ann', 'DE', 10.5, 1, '2024-01-10', '2024-01-11', '2024-01-12', {h1},
 '12', '1.5', 'true', '2024-01-01', 1, 'Berlin', 'AB-1');";

fn rows_sql(hours_ago: impl Fn(u32) -> String) -> String {
    let mut sql = ROWS.to_owned();
    for hours in [1, 2, 3, 30, 48] {
        sql = sql.replace(&format!("{{h{hours}}}"), &hours_ago(hours));
    }
    sql
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Failing rows of total rows, and whether the check passes.
    Rows(u64, u64, bool),
    /// A metric's status and, when given, its exact value (parsed as a number when possible).
    Value(bool, Option<&'static str>),
}
use Expect::{Rows, Value as Metric};

/// (check name, check YAML under `- `, expectation), counted by hand from `ROWS`.
const CASES: &[(&str, &str, Expect)] = &[
    (
        "not_null",
        "template: not_null\n  column: email",
        Rows(1, 6, false),
    ),
    // Proved by the NOT NULL constraint, no per-row work.
    (
        "id_not_null",
        "template: not_null\n  column: id",
        Rows(0, 6, true),
    ),
    (
        "not_blank",
        "template: not_blank\n  column: name",
        Rows(1, 6, false),
    ),
    (
        "fill",
        "template: not_null_with_default\n  params: { column: amount, default: '0' }",
        Rows(1, 6, false),
    ),
    (
        "required",
        "template: required_columns\n  params: { columns: [email, phone, ext_id] }",
        Rows(2, 6, false),
    ),
    (
        "one_of",
        "template: at_least_one_of\n  params: { columns: [email, phone] }",
        Rows(1, 6, false),
    ),
    (
        "req_if",
        "template: required_if\n  params: { column: ship, when: \"status = 'shipped'\" }",
        Rows(1, 6, false),
    ),
    (
        "null_share",
        "template: null_share_max\n  params: { column: email, max: 0.1 }",
        Metric(false, Some("0.16666666666666666")),
    ),
    (
        "null_share_ok",
        "template: null_share_max\n  params: { column: email, max: 0.2 }",
        Metric(true, None),
    ),
    (
        "missing",
        "template: missing_count_max\n  params: { column: email, max: 0 }",
        Metric(false, Some("1")),
    ),
    (
        "rows_min",
        "template: row_count_min\n  params: { min: 6 }",
        Metric(true, Some("6")),
    ),
    (
        "rows_between",
        "template: row_count_between\n  params: { min: 7, max: 10 }",
        Metric(false, Some("6")),
    ),
    ("email", "template: email\n  column: email", Rows(1, 6, false)),
    ("e164", "template: phone_e164\n  column: phone", Rows(2, 6, false)),
    (
        "national",
        "template: phone_national\n  column: phone_nat",
        Rows(2, 6, false),
    ),
    ("url", "template: url\n  column: website", Rows(1, 6, false)),
    ("uuid", "template: uuid\n  column: ext_id", Rows(1, 6, false)),
    ("ipv4", "template: ipv4\n  column: ip", Rows(3, 6, false)),
    ("ipv6", "template: ipv6\n  column: ip", Rows(4, 6, false)),
    ("ip", "template: ip_address\n  column: ip", Rows(2, 6, false)),
    ("zip", "template: us_zip_code\n  column: zip", Rows(1, 6, false)),
    (
        "iso_date",
        "template: iso_date_text\n  column: raw_date",
        Rows(2, 6, false),
    ),
    (
        "int_text",
        "template: integer_text\n  column: raw_int",
        Rows(1, 6, false),
    ),
    (
        "dec_text",
        "template: decimal_text\n  column: raw_dec",
        Rows(1, 6, false),
    ),
    (
        "bool_text",
        "template: boolean_text\n  column: raw_bool",
        Rows(1, 6, false),
    ),
    (
        "accepted",
        "template: accepted_values\n  params: { column: status, values: [new, paid, shipped] }",
        Rows(1, 6, false),
    ),
    (
        "rejected",
        "template: rejected_values\n  params: { column: status, values: [bogus, paid] }",
        Rows(2, 6, false),
    ),
    // Text compares byte for byte: case and trailing spaces count (on MySQL too).
    (
        "accepted_case",
        "template: accepted_values\n  params: { column: country, values: [DE, FR] }",
        Rows(2, 6, false),
    ),
    (
        "accepted_spaces",
        "template: accepted_values\n  params: { column: name, values: [Ann, ' Bob', Carl, Dan] }",
        Rows(1, 6, false),
    ),
    (
        "rejected_case",
        "template: rejected_values\n  params: { column: country, values: [de] }",
        Rows(1, 6, false),
    ),
    (
        "regex",
        "template: regex_match\n  params: { column: code, pattern: '^[A-Z]{2}-[0-9]+$' }",
        Rows(1, 6, false),
    ),
    (
        "not_regex",
        "template: regex_not_match\n  params: { column: city, pattern: '^P' }",
        Rows(2, 6, false),
    ),
    (
        "between",
        "template: between\n  params: { column: amount, min: 0, max: 18 }",
        Rows(2, 6, false),
    ),
    ("positive", "template: positive\n  column: qty", Rows(1, 6, false)),
    (
        "non_negative",
        "template: non_negative\n  column: amount",
        Rows(1, 6, false),
    ),
    (
        "length",
        "template: length_between\n  params: { column: name, min: 3, max: 4 }",
        Rows(1, 6, false),
    ),
    (
        "exact_length",
        "template: exact_length\n  params: { column: city, length: 6 }",
        Rows(2, 6, false),
    ),
    (
        "dates",
        "template: date_between\n  params: { column: signup, min: 2024-01-01, max: 2029-12-31 }",
        Rows(2, 6, false),
    ),
    (
        "compare",
        "template: column_compare\n  params: { column: ship, operator: '<=', other: receipt }",
        Rows(1, 6, false),
    ),
    (
        "condition",
        "template: row_condition\n  params: { condition: 'qty < 5' }",
        Rows(1, 6, false),
    ),
    (
        "min",
        "template: min_between\n  params: { column: amount, min: -10, max: 0 }",
        Metric(true, Some("-5")),
    ),
    (
        "max_date",
        "template: max_between\n  params: { column: signup, max: 2029-12-31 }",
        Metric(false, Some("2030-01-01")),
    ),
    (
        "mean",
        "template: mean_between\n  params: { column: amount, min: 10, max: 12 }",
        Metric(true, Some("10.2")),
    ),
    (
        "stddev",
        "template: stddev_between\n  params: { column: qty, min: 1, max: 2 }",
        Metric(true, Some("1.7888543819998317")),
    ),
    (
        "sum",
        "template: sum_between\n  params: { column: qty, min: 12, max: 12 }",
        Metric(true, Some("12")),
    ),
    (
        "fk",
        "template: foreign_key\n  params: { column: parent_id, to_table: parents, to_column: id }",
        Rows(1, 6, false),
    ),
    (
        "count_match",
        "template: row_count_match\n  params: { other_table: parents }",
        Metric(false, Some("4")),
    ),
    (
        "sum_match",
        "template: sum_match\n  params: { column: qty, other_table: parents, other_column: id, max_difference: 9 }",
        Metric(true, Some("9")),
    ),
    (
        "format",
        "template: format_consistency\n  column: phone",
        Rows(3, 5, false),
    ),
    (
        "case",
        "template: case_consistency\n  column: country",
        Rows(2, 6, false),
    ),
    ("lower", "template: lowercase\n  column: email", Rows(1, 6, false)),
    (
        "upper",
        "template: uppercase\n  column: country",
        Rows(2, 6, false),
    ),
    ("trimmed", "template: trimmed\n  column: name", Rows(2, 6, false)),
    (
        "fd",
        "template: functional_dependency\n  params: { column: country, determined_by: city }",
        Rows(5, 6, false),
    ),
    ("unique", "template: unique\n  column: id", Rows(2, 6, false)),
    (
        "pk",
        "template: primary_key\n  params: { columns: [id] }",
        Rows(2, 6, false),
    ),
    (
        "combo",
        "template: unique_combination\n  params: { columns: [city, country] }",
        Rows(2, 6, false),
    ),
    ("dup_rows", "template: duplicate_rows", Rows(2, 6, false)),
    (
        "natural",
        "template: natural_key\n  params: { columns: [city, country] }",
        Rows(5, 6, false),
    ),
    (
        "distinct",
        "template: distinct_count_between\n  params: { column: city, min: 3, max: 3 }",
        Metric(true, Some("3")),
    ),
    (
        "dup_count",
        "template: duplicate_count_between\n  params: { column: city, max: 1 }",
        Metric(false, Some("2")),
    ),
    (
        "unique_share",
        "template: unique_share_min\n  params: { column: city, min: 0.5 }",
        Metric(true, Some("0.5")),
    ),
    (
        "fresh",
        "template: freshness\n  params: { column: seen_at, max_age: 2h }",
        Metric(true, None),
    ),
    (
        "stale",
        "template: freshness\n  params: { column: seen_at, max_age: 30m }",
        Metric(false, None),
    ),
    (
        "frequency",
        "template: update_frequency\n  params: { column: seen_at, period: 1day, min_rows: 4 }",
        Metric(true, Some("4")),
    ),
    (
        "future",
        "template: not_in_future\n  column: signup",
        Rows(1, 6, false),
    ),
    (
        "lag",
        "template: max_lag\n  params: { column: ship, later: receipt, max: 1day }",
        Rows(1, 6, false),
    ),
    (
        "present",
        "template: schema_columns_present\n  params: { columns: [id, email, nope] }",
        Rows(1, 3, false),
    ),
    (
        "no_extra",
        "template: schema_no_extra_columns\n  params: { columns: [id, email, phone, phone_nat, website, ext_id, ip, zip, status, name, country, amount, qty, signup, ship, receipt, seen_at, raw_int, raw_dec, raw_bool, raw_date, parent_id, city] }",
        Rows(1, 24, false),
    ),
    (
        "types",
        "template: schema_column_types\n  params: { types: { id: integer, email: text, qty: bigint } }",
        Rows(1, 3, false),
    ),
    (
        "col_count",
        "template: schema_column_count\n  params: { min: 24, max: 24 }",
        Metric(true, Some("24")),
    ),
    (
        "sql_rows",
        "template: sql_failing_rows\n  params: { query: 'SELECT * FROM t WHERE qty > 4' }",
        Rows(1, 6, false),
    ),
    (
        "sql_metric",
        "template: sql_metric\n  params: { query: 'SELECT COUNT(*) FROM parents', min: 2, max: 2 }",
        Metric(true, Some("2")),
    ),
];

fn check_file(cases: &[(&str, &str, Expect)]) -> String {
    let mut text = String::from("version: 1\ndatasets:\n  - dataset: t\n    checks:\n");
    for (name, yaml, _) in cases {
        let body = yaml.replace("\n  ", "\n        ");
        text.push_str(&format!("      - name: {name}\n        {body}\n"));
    }
    text
}

fn scan(source: &str, checks: &Path, extra: &[&str]) -> Output {
    Command::new(binary("cwic-agent"))
        .args(["scan", "--source", source, "--checks"])
        .arg(checks)
        .args(extra)
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap()
}

fn json_results(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn result<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["check"] == name)
        .unwrap_or_else(|| panic!("no result for {name}"))
}

fn same_value(actual: &str, expected: &str) -> bool {
    match (actual.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        _ => actual == expected,
    }
}

fn assert_cases(engine: &str, report: &Value) {
    let mut problems = Vec::new();
    for (name, _, expect) in CASES {
        let result = result(report, name);
        let status = result["status"].as_str().unwrap();
        match *expect {
            Rows(failing, total, passes) => {
                let actual = (
                    result["failing_rows"].as_u64(),
                    result["total_rows"].as_u64(),
                    status,
                );
                let wanted = (Some(failing), Some(total), if passes { "pass" } else { "fail" });
                if actual != wanted {
                    problems.push(format!(
                        "{name}: {actual:?} != {wanted:?} ({})",
                        result["message"]
                    ));
                }
            }
            Metric(passes, value) => {
                let wanted_status = if passes { "pass" } else { "fail" };
                let actual_value = result["value"].as_str().unwrap_or("<none>");
                if status != wanted_status || value.is_some_and(|value| !same_value(actual_value, value)) {
                    problems.push(format!(
                        "{name}: {status} {actual_value} != {wanted_status} {value:?} ({})",
                        result["message"]
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{engine}:\n{}", problems.join("\n"));
}

async fn postgres_fixture() -> TestDb {
    let db = TestDb::create("checks").await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(PG_TABLES))
        .execute(&db.pool)
        .await
        .unwrap();
    let rows = rows_sql(|hours| format!("now() - interval '{hours} hours'"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(&db.pool)
        .await
        .unwrap();
    db
}

async fn sqlite_fixture(dir: &Path) -> String {
    let path = dir.join("fixture.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(SQLITE_TABLES).execute(&mut conn).await.unwrap();
    let rows = rows_sql(|hours| format!("datetime('now', '-{hours} hours')"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    format!("sqlite://{}", path.display())
}

async fn mysql_fixture() -> MysqlDb {
    // sqlx sessions run in UTC, like the agent's.
    let rows = rows_sql(|hours| format!("UTC_TIMESTAMP(6) - INTERVAL {hours} HOUR"));
    MysqlDb::create("checks", &format!("{MYSQL_TABLES}\n{rows}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn every_template_gives_exact_counts_on_postgres_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    std::fs::write(&checks, check_file(CASES)).unwrap();

    let db = postgres_fixture().await;
    let output = scan(&db.url, &checks, &["--format", "json", "--fail-on", "critical"]);
    let report = json_results(&output);
    assert_cases("postgres", &report);
    assert_eq!(output.status.code(), Some(0), "no check is critical");
    // One COPY pass judges the distinct statistics (of `city` and `id`), the patterns and every
    // other check it can; one fused scan the row and metric checks it cannot (SQL conditions,
    // case, time); every other check one statement.
    let own_statements = 11;
    assert_eq!(
        report["table_scans"],
        2 + own_statements,
        "{}",
        report["table_scans"]
    );

    let sqlite = sqlite_fixture(dir.path()).await;
    let output = scan(&sqlite, &checks, &["--format", "json", "--fail-on", "critical"]);
    let report = json_results(&output);
    assert_cases("sqlite", &report);
}

#[tokio::test]
async fn every_template_gives_the_same_exact_counts_on_mariadb() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    std::fs::write(&checks, check_file(CASES)).unwrap();
    let db = mysql_fixture().await;
    for source in [db.url.clone(), db.url.replacen("mysql://", "mariadb://", 1)] {
        let output = scan(&source, &checks, &["--format", "json", "--fail-on", "critical"]);
        let report = json_results(&output);
        assert_cases("mariadb", &report);
        assert_eq!(output.status.code(), Some(0), "no check is critical");
        // As on PostgreSQL: one fused scan, one statement per other check (MySQL has no streamed
        // pass, but the three distinct-statistics checks on `city` share one GROUP BY).
        assert_eq!(report["table_scans"], 14, "{}", report["table_scans"]);
    }
}

#[tokio::test]
async fn distinct_statistics_streamed_from_postgres_match_sqlite_grouping() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    let cases: &[(&str, &str, Expect)] = &[
        // Regular expressions on streamed columns are judged in the stream on PostgreSQL, in SQL
        // on SQLite; the counts must agree (and match `CASES`).
        ("email_re", "template: email\n  column: email", Rows(1, 6, false)),
        (
            "code_re",
            "template: regex_match\n  params: { column: code, pattern: '^[A-Z]{2}-[0-9]+$' }",
            Rows(1, 6, false),
        ),
        (
            "city_re",
            "template: regex_not_match\n  params: { column: city, pattern: '^P' }",
            Rows(2, 6, false),
        ),
        (
            "status_re",
            "template: regex_match\n  params: { column: status, pattern: '^(new|paid|shipped)$' }",
            Rows(1, 6, false),
        ),
        (
            "city",
            "template: distinct_count_between\n  params: { column: city, min: 3, max: 3 }",
            Metric(true, Some("3")),
        ),
        (
            "country",
            "template: distinct_count_between\n  params: { column: country, min: 4, max: 4 }",
            Metric(true, Some("4")),
        ),
        (
            "status",
            "template: duplicate_count_between\n  params: { column: status, max: 0 }",
            Metric(false, Some("1")),
        ),
        ("email", "template: unique\n  column: email", Rows(2, 5, false)),
        (
            "code",
            "template: unique_share_min\n  params: { column: code, min: 0.9 }",
            Metric(false, Some("0.8333333333333334")),
        ),
    ];
    std::fs::write(&checks, check_file(cases)).unwrap();
    let db = postgres_fixture().await;
    let sqlite = sqlite_fixture(dir.path()).await;
    let mysql = mysql_fixture().await;
    for (engine, source, scans) in [
        ("postgres", db.url.as_str(), 1),
        ("sqlite", sqlite.as_str(), 6),
        ("mariadb", mysql.url.as_str(), 6),
    ] {
        let report = json_results(&scan(source, &checks, &["--format", "json"]));
        for (name, _, expect) in cases {
            let result = result(&report, name);
            match *expect {
                Rows(failing, total, _) => {
                    assert_eq!(result["failing_rows"], failing, "{engine} {name}");
                    assert_eq!(result["total_rows"], total, "{engine} {name}");
                }
                Metric(_, value) => {
                    let actual = result["value"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{engine} {name}: {result}"));
                    assert!(same_value(actual, value.unwrap()), "{engine} {name}: {result}");
                }
            }
        }
        assert_eq!(
            report["table_scans"], scans,
            "{engine}: one COPY pass on PostgreSQL, one GROUP BY per column and a fused scan elsewhere"
        );
    }
}

/// Values the streamed pass must read exactly as SQL does: blank-padded `char(n)`, numeric `1.0` =
/// `1.00`, NaN and infinities, BC and infinite dates, escaped newlines and tabs, non-ASCII text.
const STREAM_TABLE: &str = r"
CREATE TABLE st (id integer NOT NULL, code char(4), note text, amount numeric, price numeric(8,2),
  ratio double precision, day date, later date, qty bigint, grp text, small real);
INSERT INTO st VALUES
(1, 'AB  ', 'plain', 1.0, 10.00, 0.5, '2024-01-01', '2024-01-02', 5, 'x', 0.1),
(2, 'AB', E'two\nlines', 1.00, 10.5, 'NaN', '2024-01-03', '2024-01-02', -1, 'x', 0.2),
(3, NULL, '   ', 2.50, NULL, -0.25, NULL, '2024-01-01', 0, 'y', 0.3),
(4, 'cd  ', NULL, 'NaN', 99.99, 1e300, '0044-03-15 BC', '2024-01-01', 7, 'y', NULL),
(5, 'ÄB', E'tab\there', -3, -0.01, 'Infinity', '2024-02-29', '2024-02-29', 5, NULL, 1.5),
(6, 'AB', 'ünïcode', 12345678901234567890.5, 0, 0, 'infinity', NULL, 3, 'x', 2.25);";

/// (check name, check YAML, failing rows where known by hand): every streamable template, with
/// and without filters, and patterns PostgreSQL and Rust would read differently (left to SQL).
const STREAM_CASES: &[(&str, &str, Option<u64>)] = &[
    ("nn_code", "template: not_null\n  column: code", Some(1)),
    ("nn_id", "template: not_null\n  column: id", Some(0)),
    ("blank", "template: not_blank\n  column: note", Some(2)),
    (
        "accepted",
        "template: accepted_values\n  params: { column: code, values: [AB, 'cd  '] }",
        Some(1),
    ),
    (
        "rejected",
        "template: rejected_values\n  params: { column: amount, values: [1, 2.5] }",
        Some(3),
    ),
    (
        "rejected_int",
        "template: rejected_values\n  params: { column: qty, values: ['05', 7] }",
        Some(3),
    ),
    (
        "between",
        "template: between\n  params: { column: amount, min: -1, max: 2 }",
        Some(4),
    ),
    (
        "between_float",
        "template: between\n  params: { column: ratio, min: 0, max: 1 }",
        Some(4),
    ),
    ("positive", "template: positive\n  column: qty", Some(2)),
    ("non_negative", "template: non_negative\n  column: price", Some(1)),
    (
        "length",
        "template: length_between\n  params: { column: note, min: 3, max: 5 }",
        Some(3),
    ),
    (
        "exact_length",
        "template: exact_length\n  params: { column: code, length: 2 }",
        Some(0),
    ),
    (
        "regex",
        "template: regex_match\n  params: { column: note, pattern: '^[a-z]+.[a-z]+$' }",
        Some(2),
    ),
    (
        "not_regex",
        "template: regex_not_match\n  params: { column: code, pattern: '^[A-Z]+$' }",
        Some(3),
    ),
    // `\w` is a locale class in PostgreSQL and Unicode in Rust, `(?i)` a flag: judged in SQL.
    (
        "regex_sql",
        "template: regex_match\n  params: { column: note, pattern: '^\\w+$' }",
        None,
    ),
    (
        "regex_flag",
        "template: regex_not_match\n  params: { column: note, pattern: '(?i)PLAIN' }",
        Some(1),
    ),
    (
        "dates",
        "template: date_between\n  params: { column: day, min: 2024-01-01, max: 2024-12-31 }",
        Some(2),
    ),
    (
        "compare",
        "template: column_compare\n  params: { column: day, operator: '<', other: later }",
        Some(2),
    ),
    (
        "compare_num",
        "template: column_compare\n  params: { column: price, operator: '>=', other: qty }",
        Some(2),
    ),
    (
        "required",
        "template: required_columns\n  params: { columns: [code, note] }",
        Some(2),
    ),
    (
        "one_of",
        "template: at_least_one_of\n  params: { columns: [code, day] }",
        Some(1),
    ),
    (
        "null_share",
        "template: null_share_max\n  params: { column: later, max: 0.1 }",
        None,
    ),
    (
        "missing",
        "template: missing_count_max\n  params: { column: later, max: 0 }",
        None,
    ),
    ("rows", "template: row_count_min\n  params: { min: 6 }", None),
    (
        "min_day",
        "template: min_between\n  params: { column: day, min: 0001-01-01 }",
        None,
    ),
    (
        "max_day",
        "template: max_between\n  params: { column: day, max: 2030-01-01 }",
        None,
    ),
    (
        "min_amount",
        "template: min_between\n  params: { column: amount, min: -5 }",
        None,
    ),
    (
        "max_amount",
        "template: max_between\n  params: { column: amount, max: 5 }",
        None,
    ),
    (
        "max_ratio",
        "template: max_between\n  params: { column: ratio, max: 5 }",
        None,
    ),
    (
        "mean_price",
        "template: mean_between\n  params: { column: price, min: 0, max: 50 }",
        None,
    ),
    (
        "mean_amount",
        "template: mean_between\n  params: { column: amount, min: 0 }",
        None,
    ),
    (
        "stddev_qty",
        "template: stddev_between\n  params: { column: qty, max: 10 }",
        None,
    ),
    (
        "sum_price",
        "template: sum_between\n  params: { column: price, min: 120.48, max: 120.48 }",
        None,
    ),
    (
        "sum_qty",
        "template: sum_between\n  params: { column: qty, min: 19, max: 19 }",
        None,
    ),
    (
        "distinct",
        "template: distinct_count_between\n  params: { column: grp, min: 2, max: 2 }",
        None,
    ),
    (
        "dups",
        "template: duplicate_count_between\n  params: { column: code, max: 0 }",
        None,
    ),
    // 1.0 and 1.00 are one `numeric` value though COPY prints them apart.
    (
        "distinct_amount",
        "template: distinct_count_between\n  params: { column: amount, min: 5, max: 5 }",
        None,
    ),
    // `AB  ` and `AB` are one value in char(4) (COPY pads both).
    ("unique", "template: unique\n  column: code", Some(3)),
    // Filters are evaluated by the server as a boolean of the same pass.
    (
        "f_not_null",
        "template: not_null\n  column: note\n  filter: \"grp = 'x'\"",
        Some(0),
    ),
    (
        "f_accepted",
        "template: accepted_values\n  params: { column: code, values: [AB, cd] }\n  filter: id > 2",
        Some(1),
    ),
    (
        "f_rows",
        "template: row_count_between\n  params: { min: 4, max: 4 }\n  filter: qty > 0",
        None,
    ),
    (
        "f_distinct",
        "template: distinct_count_between\n  params: { column: grp, min: 2, max: 2 }\n  filter: id < 6",
        None,
    ),
    (
        "f_compare",
        "template: column_compare\n  params: { column: day, operator: '<', other: later }\n  filter: grp = 'x'",
        Some(1),
    ),
];

#[tokio::test]
async fn checks_judged_in_the_streamed_pass_match_their_sql_on_postgres() {
    let db = TestDb::create("checks_stream").await.unwrap();
    sqlx::raw_sql(STREAM_TABLE).execute(&db.pool).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    let mut text = String::from("version: 1\ndatasets:\n  - dataset: st\n    checks:\n");
    for (name, yaml, _) in STREAM_CASES {
        let body = yaml.replace("\n  ", "\n        ");
        text.push_str(&format!("      - name: {name}\n        {body}\n"));
    }
    std::fs::write(&checks, text).unwrap();

    let streamed = json_results(&scan(&db.url, &checks, &["--format", "json"]));
    let sql = json_results(&scan(&db.url, &checks, &["--format", "json", "--no-stream"]));
    let mut problems = Vec::new();
    for (name, _, failing) in STREAM_CASES {
        let (a, b) = (result(&streamed, name), result(&sql, name));
        let same = a["status"] == b["status"]
            && a["failing_rows"] == b["failing_rows"]
            && a["total_rows"] == b["total_rows"]
            && match (a["value"].as_str(), b["value"].as_str()) {
                (Some(x), Some(y)) => x == y || same_value(x, y),
                (x, y) => x == y,
            };
        if !same || b["status"] == "error" {
            problems.push(format!("{name}: streamed {a} / SQL {b}"));
        }
        if let Some(failing) = failing
            && b["failing_rows"] != *failing
        {
            problems.push(format!("{name}: SQL says {b}, expected {failing} failing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // One COPY judges all but the two patterns left to SQL (one fused scan); without the stream:
    // one fused scan and one GROUP BY per distinct-statistics column and filter.
    assert_eq!(streamed["table_scans"], 2, "{}", streamed["table_scans"]);
    assert_eq!(sql["table_scans"], 5, "{}", sql["table_scans"]);

    // A filter the server rejects fails the pass; its checks rerun in SQL, where only the check
    // with that filter errors.
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "version: 1\ndatasets:\n  - dataset: st\n    checks:\n      - name: ok\n        template: unique\n        column: grp\n      - name: bad\n        template: not_null\n        column: note\n        filter: no_such_column > 1\n",
    )
    .unwrap();
    let report = json_results(&scan(&db.url, &bad, &["--format", "json"]));
    assert_eq!(result(&report, "ok")["failing_rows"], 5, "{report}");
    assert_eq!(result(&report, "bad")["status"], "error", "{report}");
}

#[tokio::test]
async fn a_missing_column_is_an_error_result_and_the_rest_runs_with_exit_codes_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    std::fs::write(
        &checks,
        "version: 1
datasets:
  - dataset: t
    filter: \"status <> 'bogus'\"
    checks:
      - template: not_null
        column: email
        severity: critical
      - template: not_null
        column: emial
        severity: low
      - template: email
        column: email
        severity: medium
  - dataset: missing_table
    checks:
      - template: row_count_min
        params: { min: 1 }
        severity: low
",
    )
    .unwrap();
    let db = postgres_fixture().await;

    let output = scan(&db.url, &checks, &["--format", "json", "--fail-on", "high"]);
    let report = json_results(&output);
    // The filter drops row 4, the only NULL e-mail.
    assert_eq!(result(&report, "not_null(email)")["status"], "pass");
    assert_eq!(result(&report, "not_null(email)")["total_rows"], 5);
    let missing = result(&report, "not_null(emial)");
    assert_eq!(missing["status"], "error");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .starts_with("column `emial` not found in `t`"),
        "{missing}"
    );
    assert_eq!(result(&report, "email(email)")["failing_rows"], 1);
    assert_eq!(
        result(&report, "row_count_min")["message"],
        "table `missing_table` not found"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "failures and errors are below high"
    );

    let output = scan(&db.url, &checks, &["--fail-on", "medium"]);
    assert_eq!(output.status.code(), Some(1), "the e-mail check (medium) fails");
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.contains("4 checks: 1 passed, 1 failed, 2 errors; 1 table scans"),
        "{table}"
    );

    let output = scan(
        &db.url,
        &checks,
        &["--format", "junit", "--fail-on", "low", "--samples", "3"],
    );
    assert_eq!(output.status.code(), Some(1));
    let junit = String::from_utf8(output.stdout).unwrap();
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"cwic-agent scan\" tests=\"4\" failures=\"1\" errors=\"2\""), "{junit}");
    assert!(
        junit.contains("<testsuite name=\"t\" tests=\"3\" failures=\"1\" errors=\"1\">"),
        "{junit}"
    );
    assert!(
        junit.contains("<failure message=\"[medium] 1 of 5 rows fail (20.00 %)\" type=\"email\"/>"),
        "{junit}"
    );
    assert!(
        junit.contains("<error message=\"[low] table `missing_table` not found\" type=\"row_count_min\"/>"),
        "{junit}"
    );

    // Samples are masked and stay in the local output.
    let output = scan(&db.url, &checks, &["--format", "json", "--samples", "3"]);
    let report = json_results(&output);
    assert_eq!(
        result(&report, "email(email)")["samples"],
        serde_json::json!([["c***"]])
    );

    // A bad check file is exit code 2 with file:line:column.
    std::fs::write(
        &checks,
        "version: 1\ndatasets:\n  - dataset: t\n    checks:\n      - template: uniqe\n        column: id\n",
    )
    .unwrap();
    let output = scan(&db.url, &checks, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(":5:19: datasets[0].checks[0].template: expected a template name (see `cwic-agent checks list`), found `uniqe`, did you mean `unique`?"),
        "{stderr}"
    );
}

#[test]
fn checks_list_names_every_template_with_dimension_params_and_example() {
    let output = Command::new(binary("cwic-agent"))
        .args(["checks", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 50, "{} templates", list.len());
    let email = list.iter().find(|t| t["name"] == "email").unwrap();
    assert_eq!(email["dimension"], "validity");
    assert_eq!(email["params"][0]["name"], "column");
    assert_eq!(email["example"], "template: email\ncolumn: email");
    let dimensions: std::collections::BTreeSet<&str> =
        list.iter().map(|t| t["dimension"].as_str().unwrap()).collect();
    assert_eq!(dimensions.len(), 7, "{dimensions:?}");
}

const DBT_SCHEMA: &str = "version: 2
models:
  - name: t
    data_tests:
      - dbt_utils.unique_combination_of_columns:
          combination_of_columns: [city, country]
    columns:
      - name: id
        tests: [unique, not_null]
      - name: status
        tests:
          - accepted_values:
              values: [new, paid, shipped]
              config:
                severity: warn
      - name: parent_id
        tests:
          - relationships:
              to: ref('parents')
              field: id
      - name: amount
        tests:
          - dbt_expectations.expect_column_values_to_be_between:
              min_value: 0
              max_value: 18
          - my_custom_macro
      - name: email
        tests:
          - dbt_expectations.expect_column_values_to_be_increasing
";

const GE_SUITE: &str = r#"{"expectation_suite_name": "t", "expectations": [
 {"expectation_type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10}},
 {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email", "mostly": 0.8}},
 {"expectation_type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": ["new", "paid", "shipped"]}},
 {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^[A-Z]{2}-[0-9]+$"}},
 {"expectation_type": "expect_column_mean_to_be_between", "kwargs": {"column": "amount", "min_value": 10, "max_value": 12}},
 {"expectation_type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "city", "min_value": 3, "max_value": 3}},
 {"expectation_type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "receipt", "column_B": "ship", "or_equal": true}},
 {"expectation_type": "expect_table_columns_to_match_set", "kwargs": {"column_list": ["id", "email"], "exact_match": false}},
 {"expectation_type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "qty", "partition_object": {}, "threshold": 0.1}},
 {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}}
]}"#;

fn import(args: &[&str]) -> Output {
    Command::new(binary("cwic-agent"))
        .args(["checks", "import"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn dbt_tests_and_great_expectations_import_into_runnable_checks_and_list_what_does_not_translate() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.yml");
    std::fs::write(&schema, DBT_SCHEMA).unwrap();
    let output = import(&["--dbt", schema.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let yaml = String::from_utf8(output.stdout).unwrap();
    let expected = format!(
        "# imported from {0} by cwic-agent checks import
# not translated: models[0] (t.amount) my_custom_macro: no equivalent template
# not translated: models[0] (t.email) dbt_expectations.expect_column_values_to_be_increasing: no equivalent template
version: 1
datasets:
  - dataset: t
    checks:
      - template: unique_combination
        params: {{ columns: [\"city\", \"country\"] }}
      - template: unique
        params: {{ column: \"id\" }}
      - template: not_null
        params: {{ column: \"id\" }}
      - template: accepted_values
        params: {{ column: \"status\", values: [\"new\", \"paid\", \"shipped\"] }}
        severity: \"medium\"
      - template: foreign_key
        params: {{ column: \"parent_id\", to_column: \"id\", to_table: \"parents\" }}
      - template: between
        params: {{ column: \"amount\", max: 18, min: 0 }}
",
        schema.display()
    );
    assert_eq!(yaml, expected);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("not translated: models[0] (t.amount) my_custom_macro: no equivalent template"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("6 checks translated, 2 not translated\n"),
        "{stderr}"
    );

    let db = postgres_fixture().await;
    let checks = dir.path().join("dbt.yml");
    std::fs::write(&checks, &yaml).unwrap();
    let report = json_results(&scan(&db.url, &checks, &["--format", "json"]));
    let counts: Vec<(String, Option<u64>)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check"].as_str().unwrap().to_owned(),
                r["failing_rows"].as_u64(),
            )
        })
        .collect();
    let expected: Vec<(String, Option<u64>)> = [
        ("unique_combination(city,country)", 2),
        ("unique(id)", 2),
        ("not_null(id)", 0),
        ("accepted_values(status)", 1),
        ("foreign_key(parent_id)", 1),
        ("between(amount)", 2),
    ]
    .iter()
    .map(|(name, count)| ((*name).to_owned(), Some(*count)))
    .collect();
    assert_eq!(counts, expected);

    let suite = dir.path().join("suite.json");
    std::fs::write(&suite, GE_SUITE).unwrap();
    let checks = dir.path().join("ge.yml");
    let output = import(&[
        "--great-expectations",
        suite.to_str().unwrap(),
        "--dataset",
        "t",
        "--output",
        checks.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("not translated: expectations[8] expect_column_kl_divergence_to_be_less_than: no equivalent template"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("9 checks translated, 1 not translated\n"),
        "{stderr}"
    );
    let report = json_results(&scan(&db.url, &checks, &["--format", "json"]));
    let outcomes: Vec<(String, String, Option<u64>)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["failing_rows"].as_u64(),
            )
        })
        .collect();
    let expected: Vec<(String, String, Option<u64>)> = [
        ("row_count_between", "pass", None),
        ("not_null(email)", "pass", Some(1)), // 1 of 6 within mostly = 0.8
        ("accepted_values(status)", "fail", Some(1)),
        ("regex_match(code)", "fail", Some(1)),
        ("mean_between(amount)", "pass", None),
        ("distinct_count_between(city)", "pass", None),
        ("column_compare(receipt,ship)", "fail", Some(1)),
        ("schema_columns_present(id,email)", "pass", Some(0)),
        ("unique(id)", "fail", Some(2)),
    ]
    .iter()
    .map(|(name, status, count)| ((*name).to_owned(), (*status).to_owned(), *count))
    .collect();
    assert_eq!(outcomes, expected);
}

fn fix(args: &[&str]) -> Output {
    Command::new(binary("cwic-agent"))
        .arg("fix")
        .args(args)
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap()
}

/// Every row of `t` as text, sorted: the table's content as a multiset.
async fn snapshot(source: &str) -> Vec<String> {
    if source.starts_with("mysql") {
        let mut conn = sqlx::MySqlConnection::connect(source).await.unwrap();
        let columns: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let row = columns
            .iter()
            .map(|(c,)| format!("QUOTE(`{c}`)"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(CONCAT_WS(',', {row}) AS CHAR) FROM t"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut rows: Vec<String> = rows.into_iter().map(|(row,)| row).collect();
        rows.sort();
        rows
    } else if source.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(source).await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("SELECT t::text FROM t ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.into_iter().map(|(row,)| row).collect()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(source).await.unwrap();
        let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info('t') ORDER BY cid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let row = columns
            .iter()
            .map(|(c,)| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let rows: Vec<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {row} FROM t ORDER BY 1")))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        rows.into_iter().map(|(row,)| row).collect()
    }
}

#[tokio::test]
async fn fixes_make_the_check_pass_and_undo_restores_the_table_on_postgres_mariadb_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yml");
    std::fs::write(
        &checks,
        "version: 1
datasets:
  - dataset: t
    checks:
      - template: trimmed
        column: name
      - template: lowercase
        column: email
      - template: duplicate_rows
      - template: email
        column: email
      - template: not_null_with_default
        params: { column: amount, default: '0' }
      - template: not_null
        column: email
",
    )
    .unwrap();
    let db = postgres_fixture().await;
    let sqlite = sqlite_fixture(dir.path()).await;
    let mysql = mysql_fixture().await;
    let checks_arg = checks.to_str().unwrap();
    for source in [db.url.as_str(), sqlite.as_str(), mysql.url.as_str()] {
        let original = snapshot(source).await;
        assert_eq!(original.len(), 6);
        for (name, affected) in [
            ("trimmed(name)", 2),
            ("lowercase(email)", 1),
            ("duplicate_rows", 1),
            ("email(email)", 1),
            ("not_null_with_default(amount)", 1),
        ] {
            if source.starts_with("mysql") && name == "duplicate_rows" {
                // MySQL/MariaDB rows have no order or identity to keep "the first" by.
                let output = fix(&[
                    "--source",
                    source,
                    "--checks",
                    checks_arg,
                    "--check",
                    name,
                    "--confirm",
                ]);
                assert_eq!(output.status.code(), Some(2));
                assert!(
                    String::from_utf8(output.stderr)
                        .unwrap()
                        .contains("MySQL/MariaDB rows have no order or identity"),
                );
                assert_eq!(snapshot(source).await, original);
                continue;
            }
            let base = ["--source", source, "--checks", checks_arg, "--check", name];
            let output = fix(&[&base[..], &["--dry-run"]].concat());
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert_eq!(output.status.code(), Some(0), "{source} {name}: {stdout}");
            assert!(
                stdout.contains(&format!("\n{affected} rows affected\n")),
                "{source} {name}: {stdout}"
            );
            assert_eq!(snapshot(source).await, original, "a dry run changes nothing");

            let refused = fix(&base);
            assert_eq!(refused.status.code(), Some(2), "no --confirm, no change");
            assert!(
                String::from_utf8(refused.stderr)
                    .unwrap()
                    .contains("pass --dry-run to preview or --confirm to apply")
            );
            assert_eq!(snapshot(source).await, original);

            let output = fix(&[&base[..], &["--confirm"]].concat());
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert_eq!(
                output.status.code(),
                Some(0),
                "{source} {name}: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let id = stdout
                .lines()
                .find_map(|line| line.strip_prefix("applied fix "))
                .and_then(|rest| rest.split(':').next())
                .unwrap_or_else(|| panic!("{stdout}"))
                .to_owned();
            assert!(
                stdout.contains(&format!("applied fix {id}: {affected} rows changed")),
                "{stdout}"
            );
            let report = json_results(&scan(source, &checks, &["--format", "json"]));
            let after = result(&report, name);
            assert_eq!(
                (after["status"].as_str(), after["failing_rows"].as_u64()),
                (Some("pass"), Some(0)),
                "{source} {name}: {after}"
            );
            assert_ne!(snapshot(source).await, original);

            let output = fix(&["--source", source, "--undo", &id]);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                String::from_utf8(output.stdout).unwrap(),
                format!("fix {id} undone: {affected} rows restored\n")
            );
            assert_eq!(
                snapshot(source).await,
                original,
                "{source} {name}: undo restores the table"
            );
            let again = fix(&["--source", source, "--undo", &id]);
            assert!(
                String::from_utf8(again.stderr)
                    .unwrap()
                    .contains("was already undone")
            );
        }
        let output = fix(&[
            "--source",
            source,
            "--checks",
            checks_arg,
            "--check",
            "not_null(email)",
            "--confirm",
        ]);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            "error: check `not_null(email)`: template `not_null` has no well-defined fix\n"
        );
    }
}

#[tokio::test]
async fn distribution_drift_compares_each_run_with_the_previous_one_on_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("drift.yml");
    std::fs::write(
        &checks,
        "version: 1\ndatasets:\n  - dataset: d\n    checks:\n      - template: distribution_drift\n        \
         params: { column: x, max: 0.1 }\n",
    )
    .unwrap();
    let rows = "INSERT INTO d SELECT i % 100, 'a' FROM n";
    let shift = "UPDATE d SET x = x + 30 WHERE x < 50";

    let pg = TestDb::create("drift").await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE d (x numeric(8,2), k text);\nWITH n AS (SELECT generate_series(1, 1000) AS i) {rows}"
    )))
    .execute(&pg.pool)
    .await
    .unwrap();
    let sqlite_path = dir.path().join("drift.db");
    let options = SqliteConnectOptions::new()
        .filename(&sqlite_path)
        .create_if_missing(true);
    let mut sqlite = options.connect().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE d (x REAL, k TEXT);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) {rows}"
    )))
    .execute(&mut sqlite)
    .await
    .unwrap();
    let mariadb = MysqlDb::create(
        "drift",
        "CREATE TABLE d (x decimal(8,2), k text);\nINSERT INTO d WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT i % 100, 'a' FROM n",
    )
    .await
    .unwrap();

    let sqlite_url = format!("sqlite://{}", sqlite_path.display());
    for (engine, source) in [
        ("postgres", pg.url.as_str()),
        ("sqlite", sqlite_url.as_str()),
        ("mariadb", mariadb.url.as_str()),
    ] {
        let state = dir.path().join(format!("state-{engine}"));
        let run = || {
            let output = scan(
                source,
                &checks,
                &["--format", "json", "--state-dir", state.to_str().unwrap()],
            );
            result(&json_results(&output), "distribution_drift(x)").clone()
        };
        let first = run();
        assert_eq!(first["status"], "pass", "{engine}: {first}");
        assert!(
            first["message"]
                .as_str()
                .unwrap()
                .starts_with("baseline recorded (1000 values in [0, 99])"),
            "{engine}: {first}"
        );
        let unchanged = run();
        assert_eq!(
            (unchanged["status"].as_str(), unchanged["value"].as_str()),
            (Some("pass"), Some("0.0000")),
            "{engine}: {unchanged}"
        );

        // Half the values move up by 30: the histogram on the remembered bins changes a lot.
        match engine {
            "postgres" => {
                sqlx::query(sqlx::AssertSqlSafe(shift))
                    .execute(&pg.pool)
                    .await
                    .unwrap();
            }
            "sqlite" => {
                sqlx::query(sqlx::AssertSqlSafe(shift))
                    .execute(&mut sqlite)
                    .await
                    .unwrap();
            }
            _ => {
                let mut conn = sqlx::MySqlConnection::connect(&mariadb.url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(shift))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        let shifted = run();
        assert_eq!(shifted["status"], "fail", "{engine}: {shifted}");
        let distance: f64 = shifted["value"].as_str().unwrap().parse().unwrap();
        assert!((0.3..0.6).contains(&distance), "{engine}: {shifted}");
        // The next run compares with the shifted data: no drift since.
        let settled = run();
        assert_eq!(
            (settled["status"].as_str(), settled["value"].as_str()),
            (Some("pass"), Some("0.0000")),
            "{engine}: {settled}"
        );
    }
}
