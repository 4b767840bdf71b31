//! Decoder of PostgreSQL's binary COPY format into column batches, with no I/O: the caller feeds it
//! the chunks `COPY … TO STDOUT (FORMAT binary)` returns, in order and at any boundaries.
//!
//! Format: header `PGCOPY\n\xff\r\n\0`, an i32 flags word, an i32 header-extension length and the
//! extension; then tuples of an i16 field count and, per field, an i32 length (-1 for NULL) and that
//! many bytes in the type's binary send format; then an i16 -1 trailer. All integers are big-endian.

use crate::profiler::{ColumnBatch, ColumnBuffer, ColumnShape, ColumnValues};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Signature, flags word and extension length.
const HEADER_LEN: usize = 11 + 4 + 4;
/// Flag bit 16: OIDs are included in each tuple (only servers before 12 can send them).
const FLAG_HAS_OIDS: u32 = 1 << 16;
/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's date and timestamp epoch.
const POSTGRES_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const POSTGRES_EPOCH_MICROS: i64 = POSTGRES_EPOCH_DAYS * MICROS_PER_DAY;
/// NUMERIC sign words (PostgreSQL `numeric.c`).
const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_POSITIVE_INFINITY: u16 = 0xD000;
const NUMERIC_NEGATIVE_INFINITY: u16 = 0xF000;
/// NUMERIC digits are base 10,000.
const NUMERIC_BASE: i128 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    #[error("the COPY stream does not start with the binary COPY signature")]
    Signature,
    #[error("the COPY stream includes OIDs, which this decoder does not read")]
    HasOids,
    #[error("a tuple has {got} fields, expected {expected}")]
    FieldCount { expected: usize, got: i64 },
    #[error("a field has the invalid length {0}")]
    FieldLength(i32),
    #[error("the COPY stream ended in the middle of a tuple")]
    Truncated,
    #[error("the COPY stream ended without its trailer")]
    NoTrailer,
}

pub type CopyResult<T> = Result<T, CopyError>;

/// How to read one field's binary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldDecoder {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// NUMERIC into an `i64` mantissa at this scale, or into `f64` when `None`.
    Numeric {
        scale: Option<u32>,
    },
    Bool,
    /// UTF-8 text; `trim_padding` drops the trailing blanks of `character(n)`.
    Text {
        trim_padding: bool,
    },
    Uuid,
    Date,
    Timestamp,
}

impl FieldDecoder {
    /// The column buffer this decoder fills.
    pub fn shape(self) -> ColumnShape {
        match self {
            FieldDecoder::Int2 | FieldDecoder::Int4 | FieldDecoder::Int8 => ColumnShape::Integer,
            FieldDecoder::Float4 | FieldDecoder::Float8 | FieldDecoder::Numeric { scale: None } => {
                ColumnShape::Float
            }
            FieldDecoder::Numeric { scale: Some(scale) } => ColumnShape::Decimal(scale),
            FieldDecoder::Bool => ColumnShape::Boolean,
            FieldDecoder::Text { .. } | FieldDecoder::Uuid => ColumnShape::Text,
            FieldDecoder::Date | FieldDecoder::Timestamp => ColumnShape::Micros,
        }
    }
}

/// Incremental decoder: feed chunks, get rows appended to a [`ColumnBatch`].
pub struct CopyDecoder {
    fields: Vec<FieldDecoder>,
    header_read: bool,
    finished: bool,
    rows: u64,
    /// Bytes of an incomplete header or tuple carried over to the next chunk.
    pending: Vec<u8>,
}

impl CopyDecoder {
    pub fn new(fields: Vec<FieldDecoder>) -> Self {
        Self {
            fields,
            header_read: false,
            finished: false,
            rows: 0,
            pending: Vec::new(),
        }
    }

    pub fn shapes(&self) -> Vec<ColumnShape> {
        self.fields.iter().map(|field| field.shape()).collect()
    }

    /// Decodes every complete tuple of `chunk` (after what earlier chunks left over) into `batch`.
    pub fn feed(&mut self, chunk: &[u8], batch: &mut ColumnBatch) -> CopyResult<()> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, batch)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.parse(&pending, batch)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Tuples decoded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Checks that the stream ended cleanly, after its trailer.
    pub fn finish(&self) -> CopyResult<()> {
        match (self.finished, self.pending.is_empty()) {
            (true, _) => Ok(()),
            (false, true) => Err(CopyError::NoTrailer),
            (false, false) => Err(CopyError::Truncated),
        }
    }

    /// Parses from the start of `data`; returns how many bytes were consumed.
    fn parse(&mut self, data: &[u8], batch: &mut ColumnBatch) -> CopyResult<usize> {
        let mut position = 0;
        if !self.header_read {
            if data.len() < HEADER_LEN {
                return Ok(0);
            }
            if &data[..11] != SIGNATURE {
                return Err(CopyError::Signature);
            }
            if read_u32(data, 11) & FLAG_HAS_OIDS != 0 {
                return Err(CopyError::HasOids);
            }
            let extension = read_u32(data, 15) as usize;
            if data.len() < HEADER_LEN + extension {
                return Ok(0);
            }
            position = HEADER_LEN + extension;
            self.header_read = true;
        }
        while !self.finished {
            if data.len() < position + 2 {
                break;
            }
            let count = i16::from_be_bytes([data[position], data[position + 1]]);
            if count == -1 {
                self.finished = true;
                position += 2;
                break;
            }
            if usize::try_from(count).ok() != Some(self.fields.len()) {
                return Err(CopyError::FieldCount {
                    expected: self.fields.len(),
                    got: i64::from(count),
                });
            }
            let Some(end) = tuple_end(data, position + 2, self.fields.len())? else {
                break;
            };
            let mut cursor = position + 2;
            for (field, column) in self.fields.iter().zip(batch.columns.iter_mut()) {
                let length = read_u32(data, cursor) as i32;
                cursor += 4;
                if length < 0 {
                    column.push_null();
                } else {
                    let bytes = &data[cursor..cursor + length as usize];
                    cursor += length as usize;
                    if column.failed.is_some() {
                        column.push_null();
                    } else if let Err(message) = decode(*field, bytes, column) {
                        column.failed = Some(message);
                        column.push_null();
                    }
                }
            }
            position = end;
            self.rows += 1;
        }
        if self.finished {
            // Nothing follows the trailer; ignore whatever a server might append.
            return Ok(data.len());
        }
        Ok(position)
    }
}

/// The end of the tuple whose fields start at `start`, or `None` when `data` holds only part of it.
fn tuple_end(data: &[u8], start: usize, fields: usize) -> CopyResult<Option<usize>> {
    let mut cursor = start;
    for _ in 0..fields {
        if data.len() < cursor + 4 {
            return Ok(None);
        }
        let length = read_u32(data, cursor) as i32;
        cursor += 4;
        if length >= 0 {
            cursor += length as usize;
        } else if length != -1 {
            return Err(CopyError::FieldLength(length));
        }
        if cursor > data.len() {
            return Ok(None);
        }
    }
    Ok(Some(cursor))
}

/// Callers check bounds first.
fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fn fixed<const N: usize>(bytes: &[u8], type_name: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{type_name} value of {} bytes, expected {N}", bytes.len()))
}

/// Appends one non-NULL value to `column`.
fn decode(field: FieldDecoder, bytes: &[u8], column: &mut ColumnBuffer) -> Result<(), String> {
    match (field, &mut column.values) {
        (FieldDecoder::Int2, ColumnValues::Integer(values)) => {
            values.push(i64::from(i16::from_be_bytes(fixed(bytes, "int2")?)))
        }
        (FieldDecoder::Int4, ColumnValues::Integer(values)) => {
            values.push(i64::from(i32::from_be_bytes(fixed(bytes, "int4")?)))
        }
        (FieldDecoder::Int8, ColumnValues::Integer(values)) => {
            values.push(i64::from_be_bytes(fixed(bytes, "int8")?))
        }
        (FieldDecoder::Float4, ColumnValues::Float(values)) => {
            values.push(f64::from(f32::from_be_bytes(fixed(bytes, "float4")?)))
        }
        (FieldDecoder::Float8, ColumnValues::Float(values)) => {
            values.push(f64::from_be_bytes(fixed(bytes, "float8")?))
        }
        (FieldDecoder::Numeric { scale: None }, ColumnValues::Float(values)) => {
            values.push(numeric_to_f64(bytes)?)
        }
        (FieldDecoder::Numeric { scale: Some(scale) }, ColumnValues::Decimal(_)) => {
            match numeric_to_mantissa(bytes, scale)? {
                Numeric::Finite(mantissa) => {
                    if let ColumnValues::Decimal(values) = &mut column.values {
                        values.push(mantissa);
                    }
                }
                Numeric::NaN => {
                    column.nan += 1;
                    column.push_null();
                    return Ok(());
                }
                Numeric::Infinite => {
                    column.infinite += 1;
                    column.push_null();
                    return Ok(());
                }
            }
        }
        (FieldDecoder::Bool, ColumnValues::Boolean(values)) => {
            values.push(fixed::<1>(bytes, "bool")?[0] != 0)
        }
        (FieldDecoder::Text { trim_padding }, ColumnValues::Text { bytes: text, ends }) => {
            let value = std::str::from_utf8(bytes).map_err(|_| "text value is not valid UTF-8".to_owned())?;
            let value = if trim_padding {
                value.trim_end_matches(' ')
            } else {
                value
            };
            text.extend_from_slice(value.as_bytes());
            ends.push(text.len());
        }
        (FieldDecoder::Uuid, ColumnValues::Text { bytes: text, ends }) => {
            let uuid = uuid::Uuid::from_bytes(fixed(bytes, "uuid")?);
            let mut buffer = uuid::Uuid::encode_buffer();
            text.extend_from_slice(uuid.hyphenated().encode_lower(&mut buffer).as_bytes());
            ends.push(text.len());
        }
        (FieldDecoder::Date, ColumnValues::Micros(values)) => {
            let days = i32::from_be_bytes(fixed(bytes, "date")?);
            if days == i32::MAX || days == i32::MIN {
                column.infinite += 1;
                column.push_null();
                return Ok(());
            }
            let micros = (i64::from(days) + POSTGRES_EPOCH_DAYS)
                .checked_mul(MICROS_PER_DAY)
                .ok_or_else(|| "date after the year 294276 cannot be profiled".to_owned())?;
            values.push(micros);
        }
        (FieldDecoder::Timestamp, ColumnValues::Micros(values)) => {
            let micros = i64::from_be_bytes(fixed(bytes, "timestamp")?);
            if micros == i64::MAX || micros == i64::MIN {
                column.infinite += 1;
                column.push_null();
                return Ok(());
            }
            let micros = micros
                .checked_add(POSTGRES_EPOCH_MICROS)
                .ok_or_else(|| "timestamp out of range".to_owned())?;
            values.push(micros);
        }
        _ => return Err("decoder and column buffer disagree".to_owned()),
    }
    column.valid.push(true);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numeric {
    Finite(i64),
    NaN,
    Infinite,
}

struct NumericHeader<'a> {
    weight: i32,
    sign: u16,
    digits: &'a [u8],
}

fn numeric_header(bytes: &[u8]) -> Result<NumericHeader<'_>, String> {
    if bytes.len() < 8 {
        return Err(format!(
            "numeric value of {} bytes, expected at least 8",
            bytes.len()
        ));
    }
    let ndigits = i16::from_be_bytes([bytes[0], bytes[1]]);
    let weight = i16::from_be_bytes([bytes[2], bytes[3]]);
    let sign = u16::from_be_bytes([bytes[4], bytes[5]]);
    let ndigits =
        usize::try_from(ndigits).map_err(|_| "numeric value with a negative digit count".to_owned())?;
    let digits = bytes
        .get(8..8 + 2 * ndigits)
        .ok_or_else(|| "numeric value shorter than its digit count".to_owned())?;
    Ok(NumericHeader {
        weight: i32::from(weight),
        sign,
        digits,
    })
}

fn numeric_digit(pair: &[u8]) -> i128 {
    i128::from(i16::from_be_bytes([pair[0], pair[1]]))
}

/// A binary NUMERIC as a mantissa with `scale` fractional digits (rounded half away from zero if
/// the value has more, which a column of that scale never has).
fn numeric_to_mantissa(bytes: &[u8], scale: u32) -> Result<Numeric, String> {
    let header = numeric_header(bytes)?;
    match header.sign {
        NUMERIC_NAN => return Ok(Numeric::NaN),
        NUMERIC_POSITIVE_INFINITY | NUMERIC_NEGATIVE_INFINITY => return Ok(Numeric::Infinite),
        NUMERIC_POSITIVE | NUMERIC_NEGATIVE => {}
        other => return Err(format!("numeric value with the unknown sign word {other:#06x}")),
    }
    let too_wide = || format!("numeric value does not fit a 64-bit mantissa at scale {scale}");
    let mut digits: i128 = 0;
    for pair in header.digits.chunks_exact(2) {
        digits = digits
            .checked_mul(NUMERIC_BASE)
            .and_then(|value| value.checked_add(numeric_digit(pair)))
            .ok_or_else(too_wide)?;
    }
    // `digits` is the value times 10000^(ndigits - 1 - weight).
    let ndigits = (header.digits.len() / 2) as i32;
    let exponent = i64::from(scale) - 4 * i64::from(ndigits - 1 - header.weight);
    let mantissa = if exponent >= 0 {
        let factor = 10_i128.checked_pow(exponent as u32).ok_or_else(too_wide)?;
        digits.checked_mul(factor).ok_or_else(too_wide)?
    } else {
        match 10_i128.checked_pow((-exponent) as u32) {
            Some(divisor) => (digits + divisor / 2) / divisor,
            None => 0,
        }
    };
    let mantissa = if header.sign == NUMERIC_NEGATIVE {
        -mantissa
    } else {
        mantissa
    };
    i64::try_from(mantissa)
        .map(Numeric::Finite)
        .map_err(|_| too_wide())
}

/// A binary NUMERIC as the nearest `f64` (within a few ulps).
fn numeric_to_f64(bytes: &[u8]) -> Result<f64, String> {
    let header = numeric_header(bytes)?;
    let sign = match header.sign {
        NUMERIC_NAN => return Ok(f64::NAN),
        NUMERIC_POSITIVE_INFINITY => return Ok(f64::INFINITY),
        NUMERIC_NEGATIVE_INFINITY => return Ok(f64::NEG_INFINITY),
        NUMERIC_POSITIVE => 1.0,
        NUMERIC_NEGATIVE => -1.0,
        other => return Err(format!("numeric value with the unknown sign word {other:#06x}")),
    };
    let mut value = 0.0_f64;
    for pair in header.digits.chunks_exact(2) {
        value = value * 10_000.0 + numeric_digit(pair) as f64;
    }
    let ndigits = (header.digits.len() / 2) as i32;
    Ok(sign * value * 10_f64.powi(4 * (header.weight - (ndigits - 1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0_u32.to_be_bytes());
        bytes.extend_from_slice(&0_u32.to_be_bytes());
        bytes
    }

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut bytes = (fields.len() as i16).to_be_bytes().to_vec();
        for field in fields {
            match field {
                Some(value) => {
                    bytes.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    bytes.extend_from_slice(value);
                }
                None => bytes.extend_from_slice(&(-1_i32).to_be_bytes()),
            }
        }
        bytes
    }

    /// NUMERIC send format for sign, weight, dscale and base-10000 digits.
    fn numeric(sign: u16, weight: i16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut bytes = (digits.len() as i16).to_be_bytes().to_vec();
        bytes.extend_from_slice(&weight.to_be_bytes());
        bytes.extend_from_slice(&sign.to_be_bytes());
        bytes.extend_from_slice(&dscale.to_be_bytes());
        for digit in digits {
            bytes.extend_from_slice(&digit.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numerics_become_mantissas_at_the_column_scale() {
        // 12345.67 = 1|2345|6700 with weight 1
        let value = numeric(NUMERIC_POSITIVE, 1, 2, &[1, 2345, 6700]);
        assert_eq!(numeric_to_mantissa(&value, 2), Ok(Numeric::Finite(1_234_567)));
        assert_eq!(numeric_to_mantissa(&value, 4), Ok(Numeric::Finite(123_456_700)));
        let negative = numeric(NUMERIC_NEGATIVE, -1, 2, &[500]);
        assert_eq!(numeric_to_mantissa(&negative, 2), Ok(Numeric::Finite(-5)));
        assert_eq!(
            numeric_to_mantissa(&numeric(0, 0, 0, &[]), 2),
            Ok(Numeric::Finite(0))
        );
        // 10^20 at scale 0 fits i128 digits but not an i64 mantissa
        let huge = numeric(NUMERIC_POSITIVE, 5, 0, &[1]);
        assert!(numeric_to_mantissa(&huge, 0).is_err());
        assert_eq!(
            numeric_to_mantissa(&numeric(NUMERIC_NAN, 0, 0, &[]), 2),
            Ok(Numeric::NaN)
        );
        assert_eq!(
            numeric_to_mantissa(&numeric(NUMERIC_NEGATIVE_INFINITY, 0, 0, &[]), 2),
            Ok(Numeric::Infinite)
        );
        assert_eq!(numeric_to_f64(&value), Ok(12345.67));
        assert_eq!(numeric_to_f64(&huge), Ok(1e20));
        assert!(numeric_to_f64(&numeric(NUMERIC_NAN, 0, 0, &[])).is_ok_and(f64::is_nan));
    }

    #[test]
    fn decodes_tuples_split_at_any_byte() {
        let fields = vec![
            FieldDecoder::Int4,
            FieldDecoder::Text { trim_padding: true },
            FieldDecoder::Date,
            FieldDecoder::Numeric { scale: Some(2) },
        ];
        let mut stream = header();
        stream.extend(tuple(&[
            Some(&7_i32.to_be_bytes()),
            Some("héllo  ".as_bytes()),
            Some(&1_i32.to_be_bytes()),
            Some(&numeric(NUMERIC_POSITIVE, 0, 2, &[3, 1400])),
        ]));
        stream.extend(tuple(&[None, None, Some(&i32::MAX.to_be_bytes()), None]));
        stream.extend_from_slice(&(-1_i16).to_be_bytes());
        for split in 0..stream.len() {
            let mut decoder = CopyDecoder::new(fields.clone());
            let mut batch = ColumnBatch::new(&decoder.shapes(), 4);
            assert_eq!(decoder.feed(&stream[..split], &mut batch), Ok(()));
            assert_eq!(decoder.feed(&stream[split..], &mut batch), Ok(()));
            assert_eq!(decoder.finish(), Ok(()));
            assert_eq!(batch.rows(), 2);
            let columns = &batch.columns;
            assert!(matches!(&columns[0].values, ColumnValues::Integer(v) if v == &[7, 0]));
            assert!(
                matches!(&columns[1].values, ColumnValues::Text { bytes, ends } if bytes == "héllo".as_bytes() && ends == &[6, 6])
            );
            assert!(
                matches!(&columns[2].values, ColumnValues::Micros(v) if v[0] == (POSTGRES_EPOCH_DAYS + 1) * MICROS_PER_DAY)
            );
            assert_eq!(columns[2].infinite, 1);
            assert!(matches!(&columns[3].values, ColumnValues::Decimal(v) if v == &[314, 0]));
            assert_eq!(columns[0].valid, [true, false]);
        }
    }

    #[test]
    fn reports_a_bad_value_on_its_column_only() {
        let fields = vec![FieldDecoder::Int4, FieldDecoder::Int8];
        let mut stream = header();
        stream.extend(tuple(&[Some(&1_i32.to_be_bytes()), Some(&[1, 2, 3])]));
        let mut decoder = CopyDecoder::new(fields);
        let mut batch = ColumnBatch::new(&decoder.shapes(), 4);
        assert_eq!(decoder.feed(&stream, &mut batch), Ok(()));
        assert_eq!(decoder.finish(), Err(CopyError::NoTrailer));
        assert_eq!(batch.columns[0].failed, None);
        assert_eq!(
            batch.columns[1].failed.as_deref(),
            Some("int8 value of 3 bytes, expected 8")
        );
        assert_eq!(batch.rows(), 1);
    }

    #[test]
    fn rejects_a_stream_that_is_not_binary_copy() {
        let mut decoder = CopyDecoder::new(vec![FieldDecoder::Int4]);
        let mut batch = ColumnBatch::new(&decoder.shapes(), 4);
        let text = b"1\t2\n3\t4\n and more text to pass the header length";
        assert_eq!(decoder.feed(text, &mut batch), Err(CopyError::Signature));
    }
}
