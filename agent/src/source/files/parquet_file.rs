//! Parquet files through the `parquet` crate's Arrow reader: the file's Arrow schema gives each
//! column's shape, only the profiled columns are decoded (a projection), and every Arrow array is
//! copied into the column buffer of its shape.
//!
//! Integers (signed, and unsigned up to 32 bits; 64-bit unsigned values past `i64::MAX` fail the
//! column), floats, decimals (an `i64` mantissa up to precision 18, else `f64`), booleans, strings,
//! dates and timestamps (any unit, as UTC microseconds) are profiled; binary and nested columns are
//! reported as not profiled.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::profiler::{ColumnBatch, ColumnBuffer, ColumnShape, ColumnValues};
use crate::source::scan::{BatchSink, ColumnInfo, ReadError, ReadResult, ScanSummary, TableInfo};

/// Largest decimal precision whose values always fit an `i64` mantissa.
const MAX_MANTISSA_PRECISION: u8 = 18;

fn shape_of(data_type: &DataType) -> Result<ColumnShape, String> {
    Ok(match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnShape::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnShape::Float,
        DataType::Decimal128(precision, scale) if *precision <= MAX_MANTISSA_PRECISION && *scale >= 0 => {
            ColumnShape::Decimal(u32::from(scale.unsigned_abs()))
        }
        DataType::Decimal128(..) => ColumnShape::Float,
        DataType::Boolean => ColumnShape::Boolean,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnShape::Text,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => ColumnShape::Micros,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            return Err("binary data is not profiled".to_owned());
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::FixedSizeList(..)
        | DataType::Struct(_)
        | DataType::Map(..)
        | DataType::Union(..) => return Err(format!("nested type {data_type} is not profiled")),
        other => return Err(format!("the type {other} is not profiled")),
    })
}

fn open(path: &Path) -> ReadResult<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    let file =
        std::fs::File::open(path).map_err(|error| ReadError::Read(format!("{}: {error}", path.display())))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|error| ReadError::Read(format!("{}: {error}", path.display())))
}

/// The columns and the row count from the file's footer.
pub fn describe(path: &Path) -> ReadResult<(Vec<ColumnInfo>, Option<u64>)> {
    let builder = open(path)?;
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|field| ColumnInfo {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            read: shape_of(field.data_type()),
        })
        .collect();
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
    Ok((columns, rows))
}

pub async fn scan(
    path: &Path,
    table: &TableInfo,
    sink: &mut BatchSink,
    summary: &mut ScanSummary,
) -> ReadResult<()> {
    let builder = open(path)?;
    let wanted: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| shape_of(field.data_type()).is_ok())
        .map(|(index, _)| index)
        .collect();
    let shapes: Vec<ColumnShape> = table
        .columns
        .iter()
        .filter_map(|column| column.read.clone().ok())
        .collect();
    if shapes.len() != wanted.len() {
        return Err(ReadError::Read(format!(
            "{}: the file's columns changed since it was listed",
            path.display()
        )));
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(sink.batch_rows())
        .build()
        .map_err(|error| ReadError::Read(format!("{}: {error}", path.display())))?;
    let mut failed: Vec<Option<String>> = vec![None; shapes.len()];
    for record_batch in reader {
        let record_batch =
            record_batch.map_err(|error| ReadError::Read(format!("{}: {error}", path.display())))?;
        let rows = record_batch.num_rows();
        let mut batch = ColumnBatch::new(&shapes, rows);
        for (index, ((array, buffer), failure)) in record_batch
            .columns()
            .iter()
            .zip(&mut batch.columns)
            .zip(&mut failed)
            .enumerate()
        {
            if failure.is_none()
                && let Err(message) = fill(buffer, array.as_ref())
            {
                let name = table
                    .columns
                    .iter()
                    .filter(|c| c.read.is_ok())
                    .nth(index)
                    .map_or("", |c| &c.name);
                *failure = Some(format!(
                    "{}: rows {}..{}: {message}",
                    path.file_name().and_then(|n| n.to_str()).unwrap_or(name),
                    summary.rows + 1,
                    summary.rows + rows as u64
                ));
            }
            if let Some(message) = failure {
                *buffer = ColumnBuffer::new(shapes.get(index).copied().unwrap_or(ColumnShape::Text), rows);
                (0..rows).for_each(|_| buffer.push_null());
                buffer.failed = Some(message.clone());
            }
        }
        summary.rows += rows as u64;
        sink.send(batch, rows).await?;
    }
    Ok(())
}

/// Copies an Arrow array into the buffer of its shape.
fn fill(buffer: &mut ColumnBuffer, array: &dyn Array) -> Result<(), String> {
    let valid: Vec<bool> = (0..array.len()).map(|row| array.is_valid(row)).collect();
    match (&mut buffer.values, array.data_type()) {
        (ColumnValues::Integer(values), data_type) => {
            let result = match data_type {
                DataType::Int8 => extend_i64::<Int8Type>(values, array, |v| Some(i64::from(v))),
                DataType::Int16 => extend_i64::<Int16Type>(values, array, |v| Some(i64::from(v))),
                DataType::Int32 => extend_i64::<Int32Type>(values, array, |v| Some(i64::from(v))),
                DataType::Int64 => extend_i64::<Int64Type>(values, array, Some),
                DataType::UInt8 => extend_i64::<UInt8Type>(values, array, |v| Some(i64::from(v))),
                DataType::UInt16 => extend_i64::<UInt16Type>(values, array, |v| Some(i64::from(v))),
                DataType::UInt32 => extend_i64::<UInt32Type>(values, array, |v| Some(i64::from(v))),
                DataType::UInt64 => extend_i64::<UInt64Type>(values, array, |v| i64::try_from(v).ok()),
                other => return Err(format!("unexpected {other} in an integer column")),
            };
            result.map_err(|_| "a value does not fit a signed 64-bit integer".to_owned())?
        }
        (ColumnValues::Decimal(values), DataType::Decimal128(..)) => {
            extend_i64::<Decimal128Type>(values, array, |v| i64::try_from(v).ok())
                .map_err(|_| "a decimal does not fit a 64-bit mantissa".to_owned())?
        }
        (ColumnValues::Float(values), data_type) => match data_type {
            DataType::Float16 => values.extend(
                array
                    .as_primitive::<Float16Type>()
                    .values()
                    .iter()
                    .map(|v| v.to_f64()),
            ),
            DataType::Float32 => values.extend(
                array
                    .as_primitive::<Float32Type>()
                    .values()
                    .iter()
                    .map(|&v| f64::from(v)),
            ),
            DataType::Float64 => values.extend_from_slice(array.as_primitive::<Float64Type>().values()),
            DataType::Decimal128(_, scale) => {
                let unit = 10_f64.powi(i32::from(*scale));
                values.extend(
                    array
                        .as_primitive::<Decimal128Type>()
                        .values()
                        .iter()
                        .map(|&v| v as f64 / unit),
                )
            }
            other => return Err(format!("unexpected {other} in a number column")),
        },
        (ColumnValues::Boolean(values), DataType::Boolean) => {
            let array = array.as_boolean();
            values.extend((0..array.len()).map(|row| array.value(row)))
        }
        (ColumnValues::Text { bytes, ends }, data_type) => {
            let mut push = |text: &str| {
                bytes.extend_from_slice(text.as_bytes());
                ends.push(bytes.len());
            };
            match data_type {
                DataType::Utf8 => array
                    .as_string::<i32>()
                    .iter()
                    .for_each(|t| push(t.unwrap_or(""))),
                DataType::LargeUtf8 => array
                    .as_string::<i64>()
                    .iter()
                    .for_each(|t| push(t.unwrap_or(""))),
                DataType::Utf8View => array.as_string_view().iter().for_each(|t| push(t.unwrap_or(""))),
                other => return Err(format!("unexpected {other} in a text column")),
            }
        }
        (ColumnValues::Micros(values), data_type) => {
            let micros = |value: i64, per_micro: Option<i64>, micros_per: i64| match per_micro {
                Some(divisor) => Some(value.div_euclid(divisor)),
                None => value.checked_mul(micros_per),
            };
            let result = match data_type {
                DataType::Date32 => {
                    extend_i64::<Date32Type>(values, array, |v| micros(i64::from(v), None, 86_400_000_000))
                }
                DataType::Date64 => extend_i64::<Date64Type>(values, array, |v| micros(v, None, 1000)),
                DataType::Timestamp(TimeUnit::Second, _) => {
                    extend_i64::<TimestampSecondType>(values, array, |v| micros(v, None, 1_000_000))
                }
                DataType::Timestamp(TimeUnit::Millisecond, _) => {
                    extend_i64::<TimestampMillisecondType>(values, array, |v| micros(v, None, 1000))
                }
                DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    extend_i64::<TimestampMicrosecondType>(values, array, Some)
                }
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    extend_i64::<TimestampNanosecondType>(values, array, |v| micros(v, Some(1000), 1))
                }
                other => return Err(format!("unexpected {other} in a temporal column")),
            };
            result.map_err(|_| "a timestamp is out of range".to_owned())?
        }
        (_, other) => return Err(format!("unexpected {other}")),
    }
    buffer.valid.extend(valid);
    Ok(())
}

/// Appends the array's values converted to `i64`; NULL slots hold whatever the array stores there
/// (the validity mask hides them), so only valid values must convert.
fn extend_i64<T: ArrowPrimitiveType>(
    values: &mut Vec<i64>,
    array: &dyn Array,
    convert: impl Fn(T::Native) -> Option<i64>,
) -> Result<(), ()> {
    let array = array.as_primitive::<T>();
    values.reserve(array.len());
    for (row, &value) in array.values().iter().enumerate() {
        match convert(value) {
            Some(converted) => values.push(converted),
            None if array.is_null(row) => values.push(0),
            None => return Err(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_types_pick_the_shape() {
        assert_eq!(shape_of(&DataType::Int32), Ok(ColumnShape::Integer));
        assert_eq!(
            shape_of(&DataType::Decimal128(15, 2)),
            Ok(ColumnShape::Decimal(2))
        );
        assert_eq!(shape_of(&DataType::Decimal128(38, 2)), Ok(ColumnShape::Float));
        assert_eq!(
            shape_of(&DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
            Ok(ColumnShape::Micros)
        );
        assert!(shape_of(&DataType::Binary).is_err());
    }
}
