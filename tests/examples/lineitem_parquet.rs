//! Writes TPC-H `lineitem` rows from a CSV file (header row, as `psql \copy … CSV HEADER` prints
//! them) to a Snappy-compressed Parquet file with the table's types, for `scripts/bench/connectors`.
//!
//!     cargo run --release -p cwic-e2e --example lineitem_parquet -- lineitem.csv lineitem.parquet

use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

const BATCH_ROWS: usize = 65_536;

fn days(text: &str) -> anyhow::Result<i32> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")?;
    Ok(i32::try_from(
        date.signed_duration_since(chrono::NaiveDate::default())
            .num_days(),
    )?)
}

fn cents(text: &str) -> anyhow::Result<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let fraction = format!("{fraction:0<2}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    Ok(whole.parse::<i128>()? * 100 + sign * fraction[..2].parse::<i128>()?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: lineitem_parquet <lineitem.csv> <lineitem.parquet>");
    };
    let decimal = DataType::Decimal128(15, 2);
    let mut fields = Vec::new();
    for name in ["l_orderkey", "l_partkey", "l_suppkey"] {
        fields.push(Field::new(name, DataType::Int64, false));
    }
    fields.push(Field::new("l_linenumber", DataType::Int32, false));
    for name in ["l_quantity", "l_extendedprice", "l_discount", "l_tax"] {
        fields.push(Field::new(name, decimal.clone(), false));
    }
    for name in ["l_returnflag", "l_linestatus"] {
        fields.push(Field::new(name, DataType::Utf8, false));
    }
    for name in ["l_shipdate", "l_commitdate", "l_receiptdate"] {
        fields.push(Field::new(name, DataType::Date32, false));
    }
    for name in ["l_shipinstruct", "l_shipmode", "l_comment"] {
        fields.push(Field::new(name, DataType::Utf8, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(output)?, schema.clone(), Some(properties))?;
    let mut reader = csv::Reader::from_path(input)?;
    let mut rows: Vec<csv::StringRecord> = Vec::with_capacity(BATCH_ROWS);
    let mut records = reader.records();
    loop {
        rows.clear();
        for record in records.by_ref().take(BATCH_ROWS) {
            rows.push(record?);
        }
        if rows.is_empty() {
            break;
        }
        let text = |index: usize| {
            rows.iter()
                .map(move |row| row.get(index).unwrap_or("").trim_end())
        };
        let mut columns: Vec<ArrayRef> = Vec::new();
        for index in 0..3 {
            columns.push(Arc::new(Int64Array::from(
                text(index)
                    .map(str::parse::<i64>)
                    .collect::<Result<Vec<_>, _>>()?,
            )));
        }
        columns.push(Arc::new(Int32Array::from(
            text(3).map(str::parse::<i32>).collect::<Result<Vec<_>, _>>()?,
        )));
        for index in 4..8 {
            columns.push(Arc::new(
                Decimal128Array::from(text(index).map(cents).collect::<anyhow::Result<Vec<_>>>()?)
                    .with_precision_and_scale(15, 2)?,
            ));
        }
        for index in 8..10 {
            columns.push(Arc::new(StringArray::from_iter_values(text(index))));
        }
        for index in 10..13 {
            columns.push(Arc::new(Date32Array::from(
                text(index).map(days).collect::<anyhow::Result<Vec<_>>>()?,
            )));
        }
        for index in 13..16 {
            columns.push(Arc::new(StringArray::from_iter_values(text(index))));
        }
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
    }
    writer.close()?;
    Ok(())
}
