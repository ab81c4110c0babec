//! Between logdb's columns and Arrow arrays: which Arrow type each logdb type
//! becomes, which logdb type an Arrow field is read as, and batches both ways.
//!
//! Written: TIMESTAMP as `Timestamp(Microsecond, "UTC")`, BIGINT / INTEGER /
//! SMALLINT as Int64 / Int32 / Int16, DOUBLE, BOOLEAN, VARCHAR as Utf8, DATE as
//! Date32, and IP as Utf8 in its text form (`10.0.0.1`, `2001:db8::1`): no engine
//! has an IP type in Parquet, and text compares and groups the same everywhere.
//!
//! Read: every integer type as the smallest logdb integer type holding it
//! (UInt64 as BIGINT, failing on a value above its maximum), floats and decimals
//! as DOUBLE, strings, binary that is UTF-8 and dictionary-encoded strings as
//! VARCHAR, timestamps of any unit and zone as TIMESTAMP (UTC microseconds),
//! Date32 / Date64 as DATE, and text marked `logdb.type = IP` (as logdb writes
//! IP columns) as IP. Lists, structs, maps, intervals and the like are not
//! read (logdb has no such types yet); the error names the column and its type.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, RecordBatch, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};

use crate::column::{Batch, Bitmap, Column, ColumnData, StringVec};
use crate::error::{Error, Result};
use crate::schema::DataType;

/// The Arrow type a logdb column of type `ty` is written as.
pub fn arrow_type(ty: DataType) -> ArrowType {
    match ty {
        // TIMESTAMP WITH TIME ZONE is the same instant in UTC.
        DataType::Timestamp | DataType::TimestampTz => {
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        DataType::BigInt => ArrowType::Int64,
        DataType::Integer => ArrowType::Int32,
        DataType::SmallInt => ArrowType::Int16,
        DataType::Double => ArrowType::Float64,
        DataType::Boolean => ArrowType::Boolean,
        // Intervals go out as their text (Arrow's month-day-nano interval is a
        // later step).
        // Lists too, for now (DuckDB's text form).
        DataType::Varchar | DataType::Ip | DataType::Interval | DataType::List(_) => {
            ArrowType::Utf8
        }
        DataType::Date => ArrowType::Date32,
        DataType::Decimal { precision, scale } => ArrowType::Decimal128(precision, scale as i8),
        DataType::TinyInt => ArrowType::Int8,
        DataType::UTinyInt => ArrowType::UInt8,
        DataType::USmallInt => ArrowType::UInt16,
        DataType::UInteger => ArrowType::UInt32,
        DataType::UBigInt => ArrowType::UInt64,
        // As DuckDB exports its 128-bit integers.
        DataType::HugeInt | DataType::UHugeInt => ArrowType::Decimal128(38, 0),
        DataType::Time => ArrowType::Time64(TimeUnit::Microsecond),
        DataType::TimestampS => ArrowType::Timestamp(TimeUnit::Second, Some("UTC".into())),
        DataType::TimestampMs => ArrowType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        DataType::TimestampNs => ArrowType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
    }
}

/// The field metadata key that keeps a logdb type Arrow has no type for: `IP`
/// on an IP column written as text, so that logdb reads it back as IP (other
/// engines ignore it and see text).
pub const TYPE_KEY: &str = "logdb.type";

/// The Arrow schema of columns `columns` (every field nullable).
pub fn arrow_schema(columns: &[(String, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, ty)| {
                let f = Field::new(name, arrow_type(*ty), true);
                if *ty == DataType::Ip {
                    f.with_metadata(std::collections::HashMap::from([(
                        TYPE_KEY.to_string(),
                        "IP".to_string(),
                    )]))
                } else {
                    f
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// The logdb type an Arrow field is read as, or why it cannot be read.
pub fn logdb_type(field: &Field) -> std::result::Result<DataType, String> {
    let text = matches!(
        field.data_type(),
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
    );
    if text && field.metadata().get(TYPE_KEY).is_some_and(|t| t == "IP") {
        return Ok(DataType::Ip);
    }
    Ok(match field.data_type() {
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::UInt8 => DataType::SmallInt,
        ArrowType::Int32 | ArrowType::UInt16 => DataType::Integer,
        ArrowType::Int64 | ArrowType::UInt32 | ArrowType::UInt64 => DataType::BigInt,
        ArrowType::Float32 | ArrowType::Float64 | ArrowType::Decimal128(..) => DataType::Double,
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Utf8
        | ArrowType::LargeUtf8
        | ArrowType::Utf8View
        | ArrowType::Binary
        | ArrowType::LargeBinary => DataType::Varchar,
        ArrowType::Dictionary(_, v)
            if matches!(
                **v,
                ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
            ) =>
        {
            DataType::Varchar
        }
        ArrowType::Timestamp(..) => DataType::Timestamp,
        ArrowType::Date32 | ArrowType::Date64 => DataType::Date,
        other => {
            return Err(format!(
                "column '{}' has type {other}, which logdb cannot read yet",
                field.name()
            ))
        }
    })
}

/// The logdb columns of an Arrow schema, failing on the first it cannot read.
pub fn logdb_columns(schema: &Schema) -> std::result::Result<Vec<(String, DataType)>, String> {
    schema
        .fields()
        .iter()
        .map(|f| Ok((f.name().clone(), logdb_type(f)?)))
        .collect()
}

/// `batch` (columns of `types`) as a record batch of `schema` (from
/// [`arrow_schema`] of the same types).
pub fn to_record_batch(
    schema: &SchemaRef,
    types: &[DataType],
    batch: &Batch,
) -> Result<RecordBatch> {
    into_record_batch(schema, types, batch.clone())
}

/// [`to_record_batch`] taking the batch: its value vectors become the arrays'
/// buffers without a copy (the narrower integer types and IPs are converted).
pub fn into_record_batch(
    schema: &SchemaRef,
    types: &[DataType],
    batch: Batch,
) -> Result<RecordBatch> {
    let arrays = batch
        .columns
        .into_iter()
        .zip(types)
        .map(|(c, ty)| into_array(c, *ty))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| Error::Internal(format!("building an Arrow batch: {e}")))
}

fn null_buffer(col: &Column) -> Option<NullBuffer> {
    let v = col.validity.as_ref()?;
    let bits = BooleanBuffer::new(Buffer::from_vec(v.words().to_vec()), 0, v.len());
    Some(NullBuffer::new(bits))
}

/// One column as an Arrow array of [`arrow_type`]`(ty)`.
pub fn to_array(col: &Column, ty: DataType) -> Result<ArrayRef> {
    into_array(col.clone(), ty)
}

/// [`to_array`] taking the column: its vectors become the array's buffers.
pub fn into_array(col: Column, ty: DataType) -> Result<ArrayRef> {
    let nulls = null_buffer(&col);
    let physical = col.data.physical();
    let mismatch = || Error::Internal(format!("a {ty} column holds {physical:?}"));
    let validity = col.validity;
    Ok(match (col.data, ty) {
        (ColumnData::Int64(v), DataType::Timestamp | DataType::TimestampTz) => Arc::new(
            TimestampMicrosecondArray::new(ScalarBuffer::from(v), nulls).with_timezone("UTC"),
        ),
        (ColumnData::Int64(v), DataType::BigInt) => {
            Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls))
        }
        (ColumnData::Int64(v), DataType::Integer) => Arc::new(Int32Array::new(
            v.iter().map(|&x| x as i32).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::SmallInt) => Arc::new(Int16Array::new(
            v.iter().map(|&x| x as i16).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::Decimal { precision, scale }) => Arc::new(
            Decimal128Array::new(v.iter().map(|&x| i128::from(x)).collect(), nulls)
                .with_precision_and_scale(precision, scale as i8)
                .map_err(|e| Error::Internal(format!("DECIMAL column as Arrow: {e}")))?,
        ),
        (ColumnData::Int64(v), DataType::TinyInt) => Arc::new(Int8Array::new(
            v.iter().map(|&x| x as i8).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::UTinyInt) => Arc::new(UInt8Array::new(
            v.iter().map(|&x| x as u8).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::USmallInt) => Arc::new(UInt16Array::new(
            v.iter().map(|&x| x as u16).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::UInteger) => Arc::new(UInt32Array::new(
            v.iter().map(|&x| x as u32).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::UBigInt) => Arc::new(UInt64Array::new(
            v.iter().map(|&x| x as u64).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Int64(v), DataType::HugeInt | DataType::UHugeInt) => Arc::new(
            Decimal128Array::new(v.iter().map(|&x| i128::from(x)).collect(), nulls)
                .with_precision_and_scale(38, 0)
                .map_err(|e| Error::Internal(format!("HUGEINT column as Arrow: {e}")))?,
        ),
        (ColumnData::Int64(v), DataType::Time) => {
            Arc::new(Time64MicrosecondArray::new(ScalarBuffer::from(v), nulls))
        }
        (ColumnData::Int64(v), DataType::TimestampS) => Arc::new(
            TimestampSecondArray::new(v.iter().map(|&x| x / 1_000_000).collect(), nulls)
                .with_timezone("UTC"),
        ),
        (ColumnData::Int64(v), DataType::TimestampMs) => Arc::new(
            TimestampMillisecondArray::new(v.iter().map(|&x| x / 1_000).collect(), nulls)
                .with_timezone("UTC"),
        ),
        (ColumnData::Int64(v), DataType::TimestampNs) => Arc::new(
            TimestampNanosecondArray::new(ScalarBuffer::from(v), nulls).with_timezone("UTC"),
        ),
        (ColumnData::Int64(v), DataType::Date) => Arc::new(Date32Array::new(
            v.iter().map(|&x| x as i32).collect::<Vec<_>>().into(),
            nulls,
        )),
        (ColumnData::Float64(v), DataType::Double) => {
            Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls))
        }
        (ColumnData::Bool(v), DataType::Boolean) => Arc::new(BooleanArray::new(
            BooleanBuffer::from_iter(v.iter().copied()),
            nulls,
        )),
        (ColumnData::Utf8(v), DataType::Varchar) => Arc::new(string_array(v, nulls)?),
        (ColumnData::Ip(v), DataType::Ip) => {
            let mut s = StringVec::with_capacity(v.len(), v.len() * 12);
            for (i, &ip) in v.iter().enumerate() {
                if validity.as_ref().is_none_or(|b| b.get(i)) {
                    s.push(&crate::ip::format(ip));
                } else {
                    s.push("");
                }
            }
            Arc::new(string_array(s, nulls)?)
        }
        (ColumnData::Ip(v), DataType::Interval) => {
            let mut s = StringVec::with_capacity(v.len(), v.len() * 12);
            for (i, &x) in v.iter().enumerate() {
                if validity.as_ref().is_none_or(|b| b.get(i)) {
                    s.push(&crate::interval::format(crate::interval::Interval::unpack(
                        x,
                    )));
                } else {
                    s.push("");
                }
            }
            Arc::new(string_array(s, nulls)?)
        }
        (ColumnData::List(v), DataType::List(elem)) => {
            let mut s = StringVec::with_capacity(v.len(), v.len() * 16);
            for i in 0..v.len() {
                if validity.as_ref().is_none_or(|b| b.get(i)) {
                    s.push(&crate::list::format(&v.get(i), *elem));
                } else {
                    s.push("");
                }
            }
            Arc::new(string_array(s, nulls)?)
        }
        _ => return Err(mismatch()),
    })
}

fn string_array(v: StringVec, nulls: Option<NullBuffer>) -> Result<StringArray> {
    if v.bytes().len() > i32::MAX as usize {
        return Err(Error::ResourcesExhausted(
            "more than 2 GiB of text in one batch of an Arrow column".into(),
        ));
    }
    let (offsets, bytes) = v.into_parts();
    let offsets: Vec<i32> = offsets.into_iter().map(|o| o as i32).collect();
    StringArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(bytes),
        nulls,
    )
    .map_err(|e| Error::Internal(format!("building an Arrow string array: {e}")))
}

/// Arrow columns as logdb columns of `types` (from [`logdb_type`] of their
/// fields); `what` names the source in errors (a file and its column).
pub fn from_arrays(
    arrays: &[ArrayRef],
    types: &[DataType],
    what: &dyn Fn(usize) -> String,
) -> Result<Batch> {
    let columns = arrays
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (a, ty))| {
            from_array(a.as_ref(), *ty)
                .map_err(|e| Error::InvalidInput(format!("{}: {e}", what(i))))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Batch { columns })
}

/// The validity of an Arrow array as a logdb bitmap (`None`: no NULLs), a word
/// at a time.
pub fn validity(array: &dyn Array) -> Option<Bitmap> {
    let nulls = array.logical_nulls()?;
    if nulls.null_count() == 0 {
        return None;
    }
    let words: Vec<u64> = nulls.inner().bit_chunks().iter_padded().collect();
    Some(Bitmap::from_words(words, array.len()))
}

/// An Arrow array as a DECIMAL(width,scale) column: Decimal128 rescaled exactly
/// (rounding half away from zero when the scale shrinks), other numbers and text
/// converted as SQL's CAST converts them; never the raw integers as scaled values.
fn decimal_from_array(
    array: &dyn Array,
    width: u8,
    scale: u8,
) -> std::result::Result<Column, String> {
    let ty = DataType::Decimal {
        precision: width,
        scale,
    };
    let validity = validity(array);
    let valid = |i: usize| validity.as_ref().is_none_or(|b| b.get(i));
    let mut out = Vec::with_capacity(array.len());
    if let ArrowType::Decimal128(_, from_scale) = array.data_type() {
        let a = array.as_primitive::<Decimal128Type>();
        for (i, &x) in a.values().iter().enumerate() {
            out.push(if valid(i) {
                crate::decimal::from_scaled_i128(x, i32::from(*from_scale), width, scale)
                    .map_err(|e| format!("row {i}: {e}"))?
            } else {
                0
            });
        }
        return Ok(Column {
            data: ColumnData::Int64(out),
            validity,
        });
    }
    let natural = match array.data_type() {
        t if t.is_integer() => DataType::BigInt,
        t if t.is_floating() => DataType::Double,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::Varchar,
        ArrowType::Dictionary(_, v)
            if v.is_integer() || v.is_floating() || **v == ArrowType::Utf8 =>
        {
            let dict = array.as_any_dictionary();
            let values = decimal_from_array(dict.values().as_ref(), width, scale)?;
            let last = values.len().saturating_sub(1);
            let rows: Vec<u32> = dict
                .normalized_keys()
                .iter()
                .map(|&k| k.min(last) as u32)
                .collect();
            let mut c = if values.is_empty() {
                Column::new(ColumnData::Int64(vec![0; array.len()]))
            } else {
                values.take(&rows)
            };
            c.validity = validity;
            return Ok(c);
        }
        other => return Err(format!("an Arrow {other} column cannot be read as {ty}")),
    };
    let col = from_array(array, natural)?;
    for i in 0..col.len() {
        let v = if valid(i) {
            match crate::value::cast_value(&col.value(i), natural, ty) {
                Ok(crate::column::Value::Int(v)) => v,
                Ok(_) => 0,
                Err(e) => return Err(format!("row {i}: {e}")),
            }
        } else {
            0
        };
        out.push(v);
    }
    Ok(Column {
        data: ColumnData::Int64(out),
        validity,
    })
}

/// One Arrow array as a logdb column of type `ty` (see the module documentation).
pub fn from_array(array: &dyn Array, ty: DataType) -> std::result::Result<Column, String> {
    if let Some((width, scale)) = ty.decimal() {
        return decimal_from_array(array, width, scale);
    }
    let validity = validity(array);
    let ints = |v: Vec<i64>| Ok(ColumnData::Int64(v));
    let data = match array.data_type() {
        ArrowType::Int8 => ints(
            array
                .as_primitive::<Int8Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::Int16 => ints(
            array
                .as_primitive::<Int16Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::Int32 => ints(
            array
                .as_primitive::<Int32Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::Int64 => ints(array.as_primitive::<Int64Type>().values().to_vec()),
        ArrowType::UInt8 => ints(
            array
                .as_primitive::<UInt8Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::UInt16 => ints(
            array
                .as_primitive::<UInt16Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::UInt32 => ints(
            array
                .as_primitive::<UInt32Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            let mut out = Vec::with_capacity(a.len());
            for (i, &x) in a.values().iter().enumerate() {
                if a.is_valid(i) && x > i64::MAX as u64 {
                    return Err(format!("value {x} at row {i} is out of range for BIGINT"));
                }
                out.push(x as i64);
            }
            ints(out)
        }
        ArrowType::Float32 => Ok(ColumnData::Float64(
            array
                .as_primitive::<Float32Type>()
                .values()
                .iter()
                .map(|&x| x as f64)
                .collect(),
        )),
        ArrowType::Float64 => Ok(ColumnData::Float64(
            array.as_primitive::<Float64Type>().values().to_vec(),
        )),
        ArrowType::Decimal128(_, scale) => {
            let div = 10f64.powi(*scale as i32);
            Ok(ColumnData::Float64(
                array
                    .as_primitive::<Decimal128Type>()
                    .values()
                    .iter()
                    .map(|&x| x as f64 / div)
                    .collect(),
            ))
        }
        ArrowType::Boolean => Ok(ColumnData::Bool(
            array
                .as_boolean()
                .iter()
                .map(|b| b.unwrap_or(false))
                .collect(),
        )),
        ArrowType::Timestamp(unit, _) => {
            let (values, mul, div): (Vec<i64>, i64, i64) = match unit {
                TimeUnit::Second => (
                    array
                        .as_primitive::<TimestampSecondType>()
                        .values()
                        .to_vec(),
                    1_000_000,
                    1,
                ),
                TimeUnit::Millisecond => (
                    array
                        .as_primitive::<TimestampMillisecondType>()
                        .values()
                        .to_vec(),
                    1_000,
                    1,
                ),
                TimeUnit::Microsecond => (
                    array
                        .as_primitive::<TimestampMicrosecondType>()
                        .values()
                        .to_vec(),
                    1,
                    1,
                ),
                TimeUnit::Nanosecond => (
                    array
                        .as_primitive::<TimestampNanosecondType>()
                        .values()
                        .to_vec(),
                    1,
                    1_000,
                ),
            };
            let mut out = Vec::with_capacity(values.len());
            for (i, x) in values.into_iter().enumerate() {
                let Some(v) = x.checked_mul(mul) else {
                    return Err(format!("timestamp {x} at row {i} is out of range"));
                };
                // Truncated toward zero, as DuckDB converts nanoseconds.
                out.push(v / div);
            }
            ints(out)
        }
        ArrowType::Date32 => ints(
            array
                .as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|&x| x as i64)
                .collect(),
        ),
        ArrowType::Date64 => ints(
            array
                .as_primitive::<Date64Type>()
                .values()
                .iter()
                .map(|&x| x.div_euclid(86_400_000))
                .collect(),
        ),
        ArrowType::Utf8 => Ok(strings(array.as_string::<i32>().iter())),
        ArrowType::LargeUtf8 => Ok(strings(array.as_string::<i64>().iter())),
        ArrowType::Utf8View => Ok(strings(array.as_string_view().iter())),
        ArrowType::Binary => binary_strings(array.as_binary::<i32>().iter()),
        ArrowType::LargeBinary => binary_strings(array.as_binary::<i64>().iter()),
        ArrowType::Dictionary(..) => {
            let dict = array.as_any_dictionary();
            let values = from_array(dict.values().as_ref(), ty)?;
            let mut c = if values.is_empty() {
                // Every row is NULL.
                let mut data = ColumnData::with_capacity(ty.physical(), array.len());
                for _ in 0..array.len() {
                    data.push_default();
                }
                Column::new(data)
            } else {
                let last = values.len() - 1;
                let rows: Vec<u32> = dict
                    .normalized_keys()
                    .iter()
                    .map(|&k| k.min(last) as u32)
                    .collect();
                values.take(&rows)
            };
            c.validity = validity;
            return Ok(c);
        }
        other => Err(format!("type {other} cannot be read yet")),
    }?;
    let data = match (data, ty) {
        // IP addresses come back from Parquet as text (spec/export.md).
        (ColumnData::Utf8(v), DataType::Ip) => {
            let mut out = Vec::with_capacity(v.len());
            for (i, s) in v.iter().enumerate() {
                let valid = validity.as_ref().is_none_or(|b| b.get(i));
                match crate::ip::parse(s) {
                    Some(ip) => out.push(ip),
                    None if !valid => out.push(0),
                    None => return Err(format!("'{s}' at row {i} is not an IP address")),
                }
            }
            ColumnData::Ip(out)
        }
        (data, _) => data,
    };
    let expected = ty.physical();
    if data.physical() != expected {
        return Err(format!(
            "an Arrow {} column cannot be read as {ty}",
            array.data_type()
        ));
    }
    Ok(Column { data, validity })
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ColumnData {
    let mut v = StringVec::new();
    for s in values {
        v.push(s.unwrap_or(""));
    }
    ColumnData::Utf8(v)
}

fn binary_strings<'a>(
    values: impl Iterator<Item = Option<&'a [u8]>>,
) -> std::result::Result<ColumnData, String> {
    let mut v = StringVec::new();
    for (i, b) in values.enumerate() {
        match std::str::from_utf8(b.unwrap_or_default()) {
            Ok(s) => v.push(s),
            Err(e) => return Err(format!("binary value at row {i} is not UTF-8 text ({e})")),
        }
    }
    Ok(ColumnData::Utf8(v))
}

/// The schema of a record batch as logdb columns.
pub fn record_batch_columns(
    batch: &RecordBatch,
) -> std::result::Result<Vec<(String, DataType)>, String> {
    logdb_columns(batch.schema().as_ref())
}
