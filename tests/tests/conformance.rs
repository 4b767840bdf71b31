//! One conformance suite for every profiling connector: the same generated dataset is loaded into
//! PostgreSQL, MariaDB, SQLite, a CSV file, an NDJSON file and a Parquet file (written here with the
//! `parquet` crate), `cwic-agent profile --format json` runs against each, and every statistic it
//! prints is compared with a computation over the generated values in this file — so the connectors
//! also agree with one another wherever the engine can hold the value.
//!
//! Where an engine cannot store a value the dataset holds, the expectation changes in one stated
//! way: MariaDB has no NaN or ±Infinity in DOUBLE and SQLite turns NaN into NULL, so those rows are
//! loaded as NULL there and expected as NULL; CSV, NDJSON and SQLite carry decimals as numbers
//! (kind `float`); a CSV or NDJSON column with no values at all is text. Every other statistic is
//! expected identical across connectors.
//!
//! Needs PostgreSQL (DATABASE_URL) and MariaDB (MYSQL_URL, default mysql://cwic:cwic@127.0.0.1:3306/cwic,
//! a user that may create `cwic%` databases) from `scripts/dev-services start`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use cwic_e2e::{MysqlDb, TestDb, binary};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use sqlx::Connection;

/// Rows in the dataset: below the kernels' exact caps, so every statistic is exact and must match.
const ROWS: i64 = 3000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One row of the generated dataset.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    /// Includes ±9·10^18 (huge) next to small values, and zeros.
    qty: Option<i64>,
    /// numeric(15,2) as a mantissa of hundredths.
    amount: Option<i64>,
    /// sin values with NaN and ±Infinity.
    ratio: Option<f64>,
    /// 1e-300-scale and 1e300-scale numbers.
    extreme: Option<f64>,
    /// Unicode text.
    label: Option<String>,
    /// An instant in µs UTC, written with one of three zone offsets.
    happened: Option<(i64, i32)>,
    /// Days since the epoch.
    day: Option<i32>,
    flag: Option<bool>,
}

fn dataset() -> Vec<Row> {
    (1..=ROWS)
        .map(|i| Row {
            id: i,
            qty: match i {
                _ if i % 17 == 0 => None,
                1 => Some(9_000_000_000_000_000_000),
                2 => Some(-9_000_000_000_000_000_000),
                _ => Some((i * 7919) % 1000 - 500),
            },
            amount: (i % 13 != 0).then(|| (i * 104_729) % 200_000 - 100_000),
            ratio: if i % 11 == 0 {
                None
            } else if i % 101 == 0 {
                Some(f64::NAN)
            } else if i % 103 == 0 {
                Some(f64::INFINITY)
            } else if i % 107 == 0 {
                Some(f64::NEG_INFINITY)
            } else {
                Some(((i as f64) * 0.37).sin() * 1000.0)
            },
            extreme: match i % 4 {
                0 => Some(1e-300 * i as f64),
                1 => Some(-1e-300 * i as f64),
                2 => Some(1e300 / i as f64),
                _ => None,
            },
            label: (i % 19 != 0).then(|| match i % 5 {
                0 => "Zoë".to_owned(),
                1 => format!("日本語 {}", i % 7),
                2 => format!("emoji 🙂 {}", i % 3),
                _ => format!("w{}", i % 50),
            }),
            happened: (i % 23 != 0).then(|| {
                let offset = [19_800, -28_800, 0][(i % 3) as usize];
                (
                    1_577_836_800_000_000 + i * 3_607_000_123 % 1_000_000_000_000,
                    offset,
                )
            }),
            day: (i % 29 != 0).then(|| 10_950 + ((i * 7) % 4000) as i32),
            flag: (i % 7 != 0).then_some(i % 3 == 0),
        })
        .collect()
}

fn decimal_text(mantissa: i64) -> String {
    let sign = if mantissa < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", mantissa.abs() / 100, mantissa.abs() % 100)
}

fn rfc3339_with_zone(micros: i64, offset: i32) -> String {
    let zone = chrono::FixedOffset::east_opt(offset).unwrap();
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .with_timezone(&zone)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// How the profile prints an instant.
fn profile_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn date_text(days: i32) -> String {
    chrono::DateTime::from_timestamp_micros(i64::from(days) * MICROS_PER_DAY)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Loading

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    Mariadb,
    Sqlite,
}

fn literal_float(value: Option<f64>, engine: Engine) -> String {
    match (value, engine) {
        (None, _) => "NULL".to_owned(),
        (Some(v), Engine::Postgres) if v.is_nan() => "'NaN'::float8".to_owned(),
        (Some(v), Engine::Postgres) if v.is_infinite() => {
            format!("'{}Infinity'::float8", if v < 0.0 { "-" } else { "" })
        }
        (Some(v), Engine::Sqlite) if v.is_infinite() => format!("{}9e999", if v < 0.0 { "-" } else { "" }),
        (Some(v), _) if !v.is_finite() => "NULL".to_owned(),
        // Scientific notation: every engine reads it as a double, correctly rounded.
        (Some(v), _) => format!("{v:e}"),
    }
}

fn insert_sql(rows: &[Row], engine: Engine) -> String {
    let text = |value: &str| format!("'{}'", value.replace('\'', "''"));
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let null = || "NULL".to_owned();
            let cells = [
                row.id.to_string(),
                row.qty.map_or_else(null, |v| v.to_string()),
                row.amount.map_or_else(null, decimal_text),
                literal_float(row.ratio, engine),
                literal_float(row.extreme, engine),
                row.label.as_deref().map_or_else(null, text),
                row.happened.map_or_else(null, |(micros, offset)| match engine {
                    Engine::Postgres => format!("{}::timestamptz", text(&rfc3339_with_zone(micros, offset))),
                    // MariaDB's TIMESTAMP takes UTC text in a UTC session.
                    Engine::Mariadb => text(
                        &chrono::DateTime::from_timestamp_micros(micros)
                            .unwrap()
                            .format("%Y-%m-%d %H:%M:%S%.6f")
                            .to_string(),
                    ),
                    Engine::Sqlite => text(&rfc3339_with_zone(micros, offset)),
                }),
                row.day.map_or_else(null, |days| match engine {
                    Engine::Postgres => format!("{}::date", text(&date_text(days))),
                    _ => text(&date_text(days)),
                }),
                row.flag.map_or_else(null, |flag| match engine {
                    Engine::Sqlite => u8::from(flag).to_string(),
                    _ => flag.to_string(),
                }),
                null(),
            ];
            format!("({})", cells.join(", "))
        })
        .collect();
    values
        .chunks(500)
        .map(|chunk| {
            format!(
                "INSERT INTO dataset (id, qty, amount, ratio, extreme, label, happened, day, flag, no_value) VALUES {};\n",
                chunk.join(",\n")
            )
        })
        .collect()
}

fn create_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE TABLE dataset (id bigint NOT NULL, qty bigint, amount numeric(15,2), ratio float8, \
             extreme float8, label text, happened timestamptz, day date, flag boolean, no_value bigint);
             CREATE TABLE empty_table (a bigint, b text);"
        }
        Engine::Mariadb => {
            "CREATE TABLE dataset (id bigint NOT NULL, qty bigint, amount decimal(15,2), ratio double, \
             extreme double, label varchar(40) CHARACTER SET utf8mb4, happened timestamp(6) NULL, day date, \
             flag boolean, no_value bigint);
             CREATE TABLE empty_table (a bigint, b text);"
        }
        Engine::Sqlite => {
            "CREATE TABLE dataset (id INTEGER NOT NULL, qty INTEGER, amount DECIMAL(15,2), ratio REAL, \
             extreme REAL, label TEXT, happened TIMESTAMP, day DATE, flag BOOLEAN, no_value INTEGER);
             CREATE TABLE empty_table (a INTEGER, b TEXT);"
        }
    }
}

async fn load_postgres(rows: &[Row]) -> TestDb {
    let db = TestDb::create("conformance").await.unwrap();
    let sql = format!(
        "{}\n{}\nANALYZE;",
        create_sql(Engine::Postgres),
        insert_sql(rows, Engine::Postgres)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&db.pool)
        .await
        .unwrap();
    db
}

/// A MariaDB database of its own holding `rows`, dropped at the end of the test.
async fn load_mariadb(rows: &[Row]) -> MysqlDb {
    let statements = format!(
        "SET time_zone = '+00:00';\n{}\n{}",
        create_sql(Engine::Mariadb),
        insert_sql(rows, Engine::Mariadb)
    );
    MysqlDb::create("conf", &statements).await.unwrap()
}

async fn load_sqlite(rows: &[Row], path: &Path) {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    let sql = format!(
        "{}\nBEGIN;\n{}COMMIT;",
        create_sql(Engine::Sqlite),
        insert_sql(rows, Engine::Sqlite)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
}

fn float_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value < 0.0 { "-Infinity" } else { "Infinity" }.to_owned()
    } else {
        // Rust's shortest round-trip form.
        format!("{value:e}")
    }
}

fn write_csv(rows: &[Row], dir: &Path) {
    let mut out = String::from("id,qty,amount,ratio,extreme,label,happened,day,flag,no_value\n");
    for row in rows {
        let cells = [
            row.id.to_string(),
            row.qty.map(|v| v.to_string()).unwrap_or_default(),
            row.amount.map(decimal_text).unwrap_or_default(),
            row.ratio.map(float_text).unwrap_or_default(),
            row.extreme.map(float_text).unwrap_or_default(),
            row.label.clone().unwrap_or_default(),
            row.happened
                .map(|(micros, offset)| rfc3339_with_zone(micros, offset))
                .unwrap_or_default(),
            row.day.map(date_text).unwrap_or_default(),
            row.flag.map(|flag| flag.to_string()).unwrap_or_default(),
            String::new(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join("dataset.csv"), out).unwrap();
    std::fs::write(dir.join("empty_table.csv"), "a,b\n").unwrap();
}

fn write_ndjson(rows: &[Row], dir: &Path) {
    let mut out = String::new();
    for row in rows {
        let mut object = serde_json::Map::new();
        object.insert("id".into(), row.id.into());
        object.insert("qty".into(), row.qty.map_or(Value::Null, Value::from));
        // A number with two decimals, as a JSON writer prints it.
        object.insert(
            "amount".into(),
            row.amount
                .map_or(Value::Null, |m| serde_json::from_str(&decimal_text(m)).unwrap()),
        );
        let float = |value: Option<f64>| match value {
            None => Value::Null,
            Some(v) if v.is_finite() => Value::from(v),
            // JSON has no NaN or Infinity: the usual string spelling.
            Some(v) => Value::from(float_text(v)),
        };
        object.insert("ratio".into(), float(row.ratio));
        object.insert("extreme".into(), float(row.extreme));
        object.insert("label".into(), row.label.clone().map_or(Value::Null, Value::from));
        object.insert(
            "happened".into(),
            row.happened.map_or(Value::Null, |(micros, offset)| {
                rfc3339_with_zone(micros, offset).into()
            }),
        );
        object.insert("day".into(), row.day.map_or(Value::Null, |d| date_text(d).into()));
        object.insert("flag".into(), row.flag.map_or(Value::Null, Value::from));
        object.insert("no_value".into(), Value::Null);
        out.push_str(&Value::Object(object).to_string());
        out.push('\n');
    }
    std::fs::write(dir.join("dataset.ndjson"), out).unwrap();
    std::fs::write(dir.join("empty_table.ndjson"), "").unwrap();
}

fn write_parquet(rows: &[Row], dir: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("qty", DataType::Int64, true),
        Field::new("amount", DataType::Decimal128(15, 2), true),
        Field::new("ratio", DataType::Float64, true),
        Field::new("extreme", DataType::Float64, true),
        Field::new("label", DataType::Utf8, true),
        Field::new(
            "happened",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("day", DataType::Date32, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("no_value", DataType::Int64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(rows.iter().map(|r| r.id).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.qty).collect::<Vec<_>>())),
        Arc::new(
            Decimal128Array::from(rows.iter().map(|r| r.amount.map(i128::from)).collect::<Vec<_>>())
                .with_precision_and_scale(15, 2)
                .unwrap(),
        ),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.ratio).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.extreme).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.label.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(rows.iter().map(|r| r.happened.map(|h| h.0)).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(Date32Array::from(rows.iter().map(|r| r.day).collect::<Vec<_>>())),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.flag).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(vec![None::<i64>; rows.len()])),
    ];
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        // Several row groups, so the reader crosses group boundaries.
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(dir.join("dataset.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).unwrap();
    writer
        .write(&RecordBatch::try_new(schema, columns).unwrap())
        .unwrap();
    writer.close().unwrap();

    let empty_schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
    ]));
    let file = std::fs::File::create(dir.join("empty_table.parquet")).unwrap();
    let writer = ArrowWriter::try_new(file, empty_schema, None).unwrap();
    writer.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Expectations, computed from the generated values

#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Expected {
    fn check(&self, what: &str, actual: &Value) {
        match self {
            Expected::Int(value) => assert_eq!(actual.as_i64(), Some(*value), "{what}: {actual}"),
            // serde_json (without `float_roundtrip`) may parse the agent's exact shortest text one
            // unit in the last place off, so equality is to within that.
            Expected::Float(value) => {
                let parsed = actual
                    .as_f64()
                    .unwrap_or_else(|| panic!("{what}: expected a number, found {actual}"));
                assert!(
                    parsed == *value || (parsed - value).abs() <= value.abs() * f64::EPSILON,
                    "{what}: {parsed} vs {value}"
                );
            }
            Expected::Text(value) => assert_eq!(actual.as_str(), Some(value.as_str()), "{what}: {actual}"),
        }
    }
}

#[derive(Debug, Default)]
struct ColumnExpectation {
    nulls: u64,
    nan: u64,
    infinite: u64,
    distinct: Option<u64>,
    min: Option<Expected>,
    max: Option<Expected>,
    mean: Option<f64>,
    std_dev: Option<f64>,
    quantiles: Option<[Expected; 5]>,
    top: Option<(Expected, u64)>,
    zeros: Option<u64>,
    negatives: Option<u64>,
    true_count: Option<u64>,
    false_count: Option<u64>,
    length: Option<(u64, u64)>,
}

/// Nearest-rank quantiles as the profile defines them: the smallest value whose cumulative count
/// reaches ⌈q·n⌉.
fn quantiles<T: Clone>(sorted: &[T], wrap: impl Fn(T) -> Expected) -> Option<[Expected; 5]> {
    if sorted.is_empty() {
        return None;
    }
    let at = |q: f64| {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        wrap(sorted[rank - 1].clone())
    };
    Some([at(0.25), at(0.5), at(0.75), at(0.95), at(0.99)])
}

fn sample_std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    Some((squares / (values.len() - 1) as f64).sqrt())
}

fn integers(values: &[Option<i64>]) -> ColumnExpectation {
    let mut present: Vec<i64> = values.iter().flatten().copied().collect();
    present.sort_unstable();
    let mut distinct = present.clone();
    distinct.dedup();
    let sum: i128 = present.iter().map(|&v| i128::from(v)).sum();
    ColumnExpectation {
        nulls: (values.len() - present.len()) as u64,
        distinct: Some(distinct.len() as u64),
        min: present.first().map(|&v| Expected::Int(v)),
        max: present.last().map(|&v| Expected::Int(v)),
        mean: (!present.is_empty()).then(|| sum as f64 / present.len() as f64),
        quantiles: quantiles(&present, Expected::Int),
        zeros: Some(present.iter().filter(|&&v| v == 0).count() as u64),
        negatives: Some(present.iter().filter(|&&v| v < 0).count() as u64),
        ..ColumnExpectation::default()
    }
}

/// Floats (and decimals as their values): NaN and ±Infinity counted apart and left out of the rest.
fn floats(values: &[Option<f64>]) -> ColumnExpectation {
    let mut finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    finite.sort_by(f64::total_cmp);
    let mut distinct = finite.clone();
    distinct.dedup();
    ColumnExpectation {
        nulls: values.iter().filter(|v| v.is_none()).count() as u64,
        nan: values.iter().flatten().filter(|v| v.is_nan()).count() as u64,
        infinite: values.iter().flatten().filter(|v| v.is_infinite()).count() as u64,
        distinct: Some(distinct.len() as u64),
        min: finite.first().map(|&v| Expected::Float(v)),
        max: finite.last().map(|&v| Expected::Float(v)),
        mean: (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64),
        std_dev: sample_std_dev(&finite),
        quantiles: quantiles(&finite, Expected::Float),
        zeros: Some(finite.iter().filter(|&&v| v == 0.0).count() as u64),
        negatives: Some(finite.iter().filter(|&&v| v < 0.0).count() as u64),
        ..ColumnExpectation::default()
    }
}

fn texts(values: &[Option<String>]) -> ColumnExpectation {
    let present: Vec<&String> = values.iter().flatten().collect();
    let mut counts: HashMap<&String, u64> = HashMap::new();
    for value in &present {
        *counts.entry(value).or_default() += 1;
    }
    let top = counts
        .iter()
        .max_by_key(|(_, count)| **count)
        .map(|(v, c)| ((*v).clone(), *c));
    // The top value must be unique for the comparison to be meaningful.
    if let Some((_, count)) = &top {
        assert_eq!(counts.values().filter(|c| *c == count).count(), 1);
    }
    let lengths: Vec<u64> = present.iter().map(|v| v.chars().count() as u64).collect();
    ColumnExpectation {
        nulls: (values.len() - present.len()) as u64,
        distinct: Some(counts.len() as u64),
        min: present.iter().min().map(|v| Expected::Text((*v).clone())),
        max: present.iter().max().map(|v| Expected::Text((*v).clone())),
        top: top.map(|(value, count)| (Expected::Text(value), count)),
        length: Some((
            lengths.iter().copied().min().unwrap_or(0),
            lengths.iter().copied().max().unwrap_or(0),
        )),
        ..ColumnExpectation::default()
    }
}

fn instants(values: &[Option<i64>]) -> ColumnExpectation {
    let mut present: Vec<i64> = values.iter().flatten().copied().collect();
    present.sort_unstable();
    let mut distinct = present.clone();
    distinct.dedup();
    ColumnExpectation {
        nulls: (values.len() - present.len()) as u64,
        distinct: Some(distinct.len() as u64),
        min: present.first().map(|&v| Expected::Text(profile_time(v))),
        max: present.last().map(|&v| Expected::Text(profile_time(v))),
        quantiles: quantiles(&present, |v| Expected::Text(profile_time(v))),
        ..ColumnExpectation::default()
    }
}

fn booleans(values: &[Option<bool>]) -> ColumnExpectation {
    let trues = values.iter().filter(|v| **v == Some(true)).count() as u64;
    let falses = values.iter().filter(|v| **v == Some(false)).count() as u64;
    ColumnExpectation {
        nulls: values.iter().filter(|v| v.is_none()).count() as u64,
        distinct: Some(u64::from(trues > 0) + u64::from(falses > 0)),
        true_count: Some(trues),
        false_count: Some(falses),
        ..ColumnExpectation::default()
    }
}

fn assert_close(what: &str, actual: &Value, expected: f64, relative: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, found {actual}"));
    assert!(
        (actual - expected).abs() <= relative * expected.abs().max(1e-300),
        "{what}: {actual} vs {expected} (relative tolerance {relative})"
    );
}

fn check_column(source: &str, table: &Value, name: &str, expected: &ColumnExpectation) {
    let column = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|column| column["name"] == name)
        .unwrap_or_else(|| panic!("{source}: no column {name} in {table}"));
    let what = |stat: &str| format!("{source} {name}.{stat}");
    assert!(
        column["error"].is_null(),
        "{}: {}",
        what("error"),
        column["error"]
    );
    assert_eq!(column["count"].as_u64(), Some(ROWS as u64), "{}", what("count"));
    assert_eq!(
        column["nulls"].as_u64(),
        Some(expected.nulls),
        "{}",
        what("nulls")
    );
    assert_eq!(
        column["nan"].as_u64().unwrap_or(0),
        expected.nan,
        "{}",
        what("nan")
    );
    assert_eq!(
        column["infinite"].as_u64().unwrap_or(0),
        expected.infinite,
        "{}",
        what("infinite")
    );
    if let Some(distinct) = expected.distinct {
        assert_eq!(
            column["distinct"].as_u64(),
            Some(distinct),
            "{}",
            what("distinct")
        );
        assert_eq!(column["distinct_exact"], true, "{}", what("distinct_exact"));
    }
    for (stat, value) in [("min", &expected.min), ("max", &expected.max)] {
        if let Some(value) = value {
            value.check(&what(stat), &column[stat]);
        }
    }
    if let Some(mean) = expected.mean {
        assert_close(&what("mean"), &column["mean"], mean, 1e-9);
    }
    if let Some(std_dev) = expected.std_dev {
        assert_close(&what("std_dev"), &column["std_dev"], std_dev, 1e-7);
    }
    if let Some(quantiles) = &expected.quantiles {
        assert_eq!(column["quantiles_exact"], true, "{}", what("quantiles_exact"));
        for (stat, value) in ["p25", "p50", "p75", "p95", "p99"].iter().zip(quantiles) {
            value.check(&what(stat), &column["quantiles"][stat]);
        }
    }
    if let Some((value, count)) = &expected.top {
        let top = &column["top_values"][0];
        value.check(&what("top value"), &top["value"]);
        assert_eq!(top["count"].as_u64(), Some(*count), "{}", what("top count"));
        assert_eq!(column["top_values_exact"], true, "{}", what("top_values_exact"));
    }
    for (stat, value) in [
        ("zeros", expected.zeros),
        ("negatives", expected.negatives),
        ("true_count", expected.true_count),
        ("false_count", expected.false_count),
    ] {
        if let Some(value) = value {
            assert_eq!(column[stat].as_u64(), Some(value), "{}", what(stat));
        }
    }
    if let Some((min, max)) = expected.length {
        assert_eq!(column["length_min"].as_u64(), Some(min), "{}", what("length_min"));
        assert_eq!(column["length_max"].as_u64(), Some(max), "{}", what("length_max"));
    }
}

/// What a connector can hold of a float column: `nan_as_null` / `infinity_as_null` where the engine
/// has no such values.
fn stored_floats(values: &[Option<f64>], nan_as_null: bool, infinity_as_null: bool) -> Vec<Option<f64>> {
    values
        .iter()
        .map(|value| match value {
            Some(v) if v.is_nan() && nan_as_null => None,
            Some(v) if v.is_infinite() && infinity_as_null => None,
            other => *other,
        })
        .collect()
}

fn profile_json(source: &str) -> Vec<Value> {
    let output = Command::new(binary("cwic-agent"))
        .args(["profile", "--source", source, "--format", "json", "--no-mask"])
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{source}: exit {:?}: {stderr}",
        output.status
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

struct Connector {
    name: &'static str,
    url: String,
    kind: &'static str,
    nan_as_null: bool,
    infinity_as_null: bool,
    /// Decimals arrive as numbers (kind float) instead of exact decimals.
    decimals_as_float: bool,
    /// A column without any value has no type to infer (text).
    untyped_empty_columns: bool,
    /// The empty table lists its columns (an empty NDJSON file has none to list).
    empty_table_columns: usize,
}

#[tokio::test]
async fn every_connector_profiles_the_same_dataset_identically() {
    let rows = dataset();
    let dir = tempfile::tempdir().unwrap();
    let postgres = load_postgres(&rows).await;
    let mariadb = load_mariadb(&rows).await;
    let sqlite_path = dir.path().join("dataset.db");
    load_sqlite(&rows, &sqlite_path).await;
    for format in ["csv", "ndjson", "parquet"] {
        std::fs::create_dir(dir.path().join(format)).unwrap();
    }
    write_csv(&rows, &dir.path().join("csv"));
    write_ndjson(&rows, &dir.path().join("ndjson"));
    write_parquet(&rows, &dir.path().join("parquet"));

    let connector = |name, url: String, kind| Connector {
        name,
        url,
        kind,
        nan_as_null: false,
        infinity_as_null: false,
        decimals_as_float: false,
        untyped_empty_columns: false,
        empty_table_columns: 2,
    };
    let connectors = [
        connector("postgres", postgres.url.clone(), "postgres"),
        Connector {
            nan_as_null: true,
            infinity_as_null: true,
            ..connector("mariadb", mariadb.url.clone(), "mysql")
        },
        Connector {
            nan_as_null: true,
            decimals_as_float: true,
            ..connector("sqlite", format!("sqlite://{}", sqlite_path.display()), "sqlite")
        },
        Connector {
            decimals_as_float: true,
            untyped_empty_columns: true,
            ..connector("csv", dir.path().join("csv").display().to_string(), "file")
        },
        Connector {
            decimals_as_float: true,
            untyped_empty_columns: true,
            empty_table_columns: 0,
            ..connector(
                "ndjson",
                format!("file://{}", dir.path().join("ndjson").display()),
                "file",
            )
        },
        connector(
            "parquet",
            dir.path().join("parquet").display().to_string(),
            "file",
        ),
    ];

    let ids: Vec<Option<i64>> = rows.iter().map(|r| Some(r.id)).collect();
    let qty: Vec<Option<i64>> = rows.iter().map(|r| r.qty).collect();
    let amount: Vec<Option<f64>> = rows.iter().map(|r| r.amount.map(|m| m as f64 / 100.0)).collect();
    let ratio: Vec<Option<f64>> = rows.iter().map(|r| r.ratio).collect();
    let extreme: Vec<Option<f64>> = rows.iter().map(|r| r.extreme).collect();
    let labels: Vec<Option<String>> = rows.iter().map(|r| r.label.clone()).collect();
    let happened: Vec<Option<i64>> = rows.iter().map(|r| r.happened.map(|h| h.0)).collect();
    let days: Vec<Option<i64>> = rows
        .iter()
        .map(|r| r.day.map(|d| i64::from(d) * MICROS_PER_DAY))
        .collect();
    let flags: Vec<Option<bool>> = rows.iter().map(|r| r.flag).collect();

    for connector in &connectors {
        let tables = profile_json(&connector.url);
        let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["dataset", "empty_table"], "{}", connector.name);
        let table = &tables[0];
        let source = connector.name;
        assert_eq!(table["source_kind"], connector.kind, "{source}");
        assert_eq!(table["row_count"].as_u64(), Some(ROWS as u64), "{source}");
        assert_eq!(table["skipped_rows"], 0, "{source}: {}", table["warnings"]);
        assert_eq!(table["columns"].as_array().unwrap().len(), 10, "{source}");
        assert!(
            table["schema_fingerprint"]
                .as_str()
                .is_some_and(|f| f.len() == 16),
            "{source}"
        );
        // Freshness from the data: the newest of the `happened` and `day` columns.
        let newest = happened.iter().chain(&days).flatten().max().copied().unwrap();
        assert_eq!(
            table["newest_timestamp"].as_str(),
            Some(profile_time(newest).as_str()),
            "{source}"
        );

        check_column(source, table, "id", &integers(&ids));
        check_column(source, table, "qty", &integers(&qty));
        let mut amounts = floats(&amount);
        // Decimals have no NaN; their zeros and negatives count the same.
        amounts.std_dev = sample_std_dev(&amount.iter().flatten().copied().collect::<Vec<_>>());
        check_column(source, table, "amount", &amounts);
        let column_kind = |name: &str| {
            table["columns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .map(|c| c["kind"].as_str().unwrap_or("").to_owned())
                .unwrap()
        };
        let decimal_kind = if connector.decimals_as_float {
            "float"
        } else {
            "decimal"
        };
        assert_eq!(column_kind("amount"), decimal_kind, "{source} amount.kind");
        check_column(
            source,
            table,
            "ratio",
            &floats(&stored_floats(
                &ratio,
                connector.nan_as_null,
                connector.infinity_as_null,
            )),
        );
        let mut extremes = floats(&extreme);
        // The 1e300 values square past f64: no standard deviation to compare.
        extremes.std_dev = None;
        check_column(source, table, "extreme", &extremes);
        check_column(source, table, "label", &texts(&labels));
        check_column(source, table, "happened", &instants(&happened));
        check_column(source, table, "day", &instants(&days));
        check_column(source, table, "flag", &booleans(&flags));
        let no_value = ColumnExpectation {
            nulls: ROWS as u64,
            ..ColumnExpectation::default()
        };
        check_column(source, table, "no_value", &no_value);
        let nothing_kind = if connector.untyped_empty_columns {
            "text"
        } else {
            "integer"
        };
        assert_eq!(column_kind("no_value"), nothing_kind, "{source} no_value.kind");
        for (name, kind) in [
            ("id", "integer"),
            ("qty", "integer"),
            ("ratio", "float"),
            ("extreme", "float"),
            ("label", "text"),
            ("happened", "temporal"),
            ("day", "temporal"),
            ("flag", "boolean"),
        ] {
            assert_eq!(column_kind(name), kind, "{source} {name}.kind");
        }

        let empty = &tables[1];
        assert_eq!(empty["row_count"], 0, "{source} empty_table");
        let columns = empty["columns"].as_array().unwrap();
        assert_eq!(
            columns.len(),
            connector.empty_table_columns,
            "{source} empty_table columns"
        );
        for column in columns {
            assert_eq!(column["count"], 0, "{source} empty_table.{}", column["name"]);
            assert_eq!(column["nulls"], 0, "{source} empty_table.{}", column["name"]);
        }
    }
    drop(mariadb);
}

#[tokio::test]
async fn malformed_rows_and_misfit_values_are_reported_with_file_and_line_and_the_rest_completes() {
    let dir = tempfile::tempdir().unwrap();
    // Line 4 has too few fields (skipped); line 1,203 puts text into the integer column `n`, past the
    // 1,000 rows its type is inferred from, which fails that column only; `label` and `x` complete.
    let mut csv = String::from("n,label,x\n1,a,1.5\n2,b,2.5\n3,c\n");
    for i in 4..=1201 {
        csv.push_str(&format!("{i},l{i},{i}.5\n"));
    }
    csv.push_str("oops,e,0.5\n");
    std::fs::write(dir.path().join("orders.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("events.ndjson"),
        // Line 4 is not UTF-8.
        b"{\"k\": 1}\nnot json\n{\"k\": 3}\n{\"k\": \"\xff\"}\n",
    )
    .unwrap();
    let output = Command::new(binary("cwic-agent"))
        .args([
            "profile",
            "--source",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ])
        .args(["--source", "sqlite:///nonexistent/cwic.db"])
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let tables: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(tables.len(), 2, "{tables:?}");

    let events = &tables[0];
    assert_eq!(events["name"], "events");
    assert_eq!(events["row_count"], 2);
    assert_eq!(events["skipped_rows"], 2);
    assert!(
        stderr.contains("events.ndjson:4: invalid UTF-8; row skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("events.ndjson:2: invalid JSON"), "{stderr}");
    let k = &events["columns"][0];
    assert_eq!((k["count"].as_u64(), k["max"].as_i64()), (Some(2), Some(3)));

    let orders = &tables[1];
    assert_eq!(orders["name"], "orders");
    assert_eq!(orders["row_count"], 1201);
    assert_eq!(orders["skipped_rows"], 1);
    assert!(
        stderr.contains("orders.csv:4: expected 3 fields, found 2; row skipped"),
        "{stderr}"
    );
    let columns = orders["columns"].as_array().unwrap();
    assert_eq!(columns[0]["name"], "n");
    assert_eq!(
        columns[0]["error"], "orders.csv:1203: expected an integer, found `oops`",
        "{stderr}"
    );
    assert_eq!(columns[1]["count"], 1201);
    assert_eq!(columns[1]["distinct"], 1201);
    assert_eq!(columns[2]["max"], 1201.5);
    assert_eq!(columns[2]["min"], 0.5);
    // 1.5 + 2.5 + (4.5 + … + 1201.5) + 0.5 over 1,201 rows.
    let sum = 1.5 + 2.5 + (4..=1201).map(|i| i as f64 + 0.5).sum::<f64>() + 0.5;
    assert_close("x.mean", &columns[2]["mean"], sum / 1201.0, 1e-12);
    assert!(
        stderr.contains(
            "error: cannot connect to sqlite:///nonexistent/cwic.db: no database file at /nonexistent/cwic.db"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn missing_tables_unreachable_servers_and_unprofiled_types_are_reported_and_the_rest_completes() {
    let mariadb = MysqlDb::create(
        "conf",
        "CREATE TABLE docs (id int, body blob);\nINSERT INTO docs VALUES (1, 'a'), (2, NULL), (3, 'c');\n",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_path = dir.path().join("docs.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&sqlite_path)
        .create_if_missing(true);
    let mut sqlite = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE docs (id INTEGER, body BLOB); INSERT INTO docs VALUES (1, x'00'), (2, NULL);",
    )
    .execute(&mut sqlite)
    .await
    .unwrap();
    sqlite.close().await.unwrap();
    let port = cwic_e2e::free_port();
    let unreachable = format!("mysql://cwic:secret@127.0.0.1:{port}/nowhere");
    let sqlite_url = format!("sqlite://{}", sqlite_path.display());
    let output = Command::new(binary("cwic-agent"))
        .args([
            "profile", "--format", "json", "--table", "docs", "--table", "missing",
        ])
        .args([
            "--source",
            &mariadb.url,
            "--source",
            &unreachable,
            "--source",
            &sqlite_url,
        ])
        .env("CWIC_LOG", "warn")
        .output()
        .unwrap();
    drop(mariadb);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let tables: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(tables.len(), 2, "{tables:?}");
    for (table, kind, rows, blob) in [
        (&tables[0], "mysql", 3, "blob"),
        (&tables[1], "sqlite", 2, "BLOB"),
    ] {
        assert_eq!(table["source_kind"], kind);
        assert_eq!(table["row_count"], rows, "{kind}");
        let id = &table["columns"][0];
        assert_eq!(
            (id["count"].as_u64(), id["max"].as_i64()),
            (Some(rows), Some(rows as i64))
        );
        assert_eq!(
            table["columns"][1]["error"],
            format!("binary data ({blob}) is not profiled")
        );
    }
    let shown = mariadb_shown_url(&tables[0]);
    assert!(
        stderr.contains(&format!("error: missing: table not found in {shown}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("error: missing: table not found in {sqlite_url}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: cannot connect to mysql://cwic:****@127.0.0.1:{port}/nowhere: "
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret"),
        "the password must never be printed: {stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|line| line.starts_with("error: ")).count(),
        3,
        "{stderr}"
    );
}

/// The MariaDB URL as messages show it (password masked), rebuilt from the profiled table's schema.
fn mariadb_shown_url(table: &Value) -> String {
    let admin = cwic_e2e::mysql_admin_url();
    let base = admin.rsplit_once('/').unwrap().0.replacen(":cwic@", ":****@", 1);
    format!("{base}/{}", table["schema"].as_str().unwrap())
}
