//! Scalar values across types: casts, text parsing and text formatting, as DuckDB
//! does them. The executor's vectorized casts fall back to these for the rows they
//! do not handle in bulk; the SQL front end uses them for literals and settings.

use crate::column::Value;
use crate::schema::DataType;

/// Row-by-row cast of a scalar (literals and slow paths).
pub fn cast_value(v: &Value, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    use DataType as D;
    let fail = |what: &str| {
        Err(format!(
            "Conversion Error: could not convert {what} to {to}"
        ))
    };
    let int_in_range = |x: i64| -> std::result::Result<Value, String> {
        match to.int_range() {
            Some((lo, hi)) if x < lo || x > hi => Err(int_cast_error(i128::from(x), from, to)),
            _ => Ok(Value::Int(x)),
        }
    };
    match v {
        Value::Null => Ok(Value::Null),
        Value::Int(x) if from.decimal().is_some() => decimal_cast(*x, from, to),
        Value::Int(x) if is_time_kind(from) || is_time_kind(to) => time_cast(*x, from, to),
        Value::Int(x) if from == D::Date || to == D::Date => date_cast(*x, from, to),
        Value::Int(x) if to.decimal().is_some() && from != D::Timestamp => {
            let (w, s) = to.decimal().unwrap_or_default();
            crate::decimal::from_int(*x, w, s).map(Value::Int)
        }
        Value::Int(x) => match to {
            t if t.is_integer() => int_in_range(*x),
            D::Timestamp if from == D::Timestamp => Ok(Value::Int(*x)),
            D::Double => Ok(Value::Float(*x as f64)),
            D::Boolean => Ok(Value::Bool(*x != 0)),
            D::Varchar => Ok(Value::Str(
                if from == D::Timestamp {
                    crate::time::format_timestamp(*x)
                } else {
                    x.to_string()
                }
                .into(),
            )),
            _ => fail(&format!("{from} {x}")),
        },
        Value::Float(x) => match to {
            D::Double => Ok(Value::Float(*x)),
            D::Decimal { precision, scale } => {
                crate::decimal::from_f64(*x, precision, scale).map(Value::Int)
            }
            t if t.is_integer() => {
                let r = x.round_ties_even();
                let (lo, hi) = duckdb_int_range(to);
                if to.is_held_narrower() && r >= lo as f64 && r <= hi as f64 {
                    // (UBIGINT's maximum as a DOUBLE is 2^64, which is taken too:
                    // it is what a literal of that maximum becomes.)
                    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                        return Err(beyond_bigint(to));
                    }
                }
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                    // Saturates at i128's ends, far outside every range here.
                    return Err(int_cast_error(r as i128, from, to));
                }
                int_in_range(r as i64)
            }
            D::Boolean => Ok(Value::Bool(*x != 0.0)),
            D::Varchar => Ok(Value::Str(format_float(*x).into())),
            _ => fail(&format!("DOUBLE {x}")),
        },
        Value::Bool(b) => match to {
            D::Boolean => Ok(Value::Bool(*b)),
            t if t.is_integer() => Ok(Value::Int(*b as i64)),
            D::Decimal { precision, scale } => {
                crate::decimal::from_int(*b as i64, precision, scale).map(Value::Int)
            }
            D::Double => Ok(Value::Float(*b as i64 as f64)),
            D::Varchar => Ok(Value::Str(if *b { "true" } else { "false" }.into())),
            _ => fail("BOOLEAN"),
        },
        Value::Ip(x) if from == D::Interval => match to {
            D::Interval => Ok(Value::Ip(*x)),
            D::Varchar => Ok(Value::Str(
                crate::interval::format(crate::interval::Interval::unpack(*x)).into(),
            )),
            _ => Err(format!(
                "Conversion Error: Unimplemented type for cast (INTERVAL -> {to})"
            )),
        },
        Value::Ip(x) => match to {
            D::Ip => Ok(Value::Ip(*x)),
            D::Varchar => Ok(Value::Str(crate::ip::format(*x).into())),
            _ => fail("IP"),
        },
        Value::Str(s) => parse_str(s, to),
        Value::List(items) => match from {
            D::List(elem) => crate::list::cast(items, *elem, to),
            _ => fail("LIST"),
        },
    }
}

/// Casts from a DECIMAL (a scaled integer).
fn decimal_cast(x: i64, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    use crate::decimal;
    let (_, s) = from.decimal().unwrap_or_default();
    match to {
        DataType::Decimal { precision, scale } => {
            decimal::rescale(x, s, precision, scale).map(Value::Int)
        }
        DataType::Double => Ok(Value::Float(decimal::to_f64(x, s))),
        DataType::Varchar => Ok(Value::Str(decimal::format(x, s).into())),
        DataType::Boolean => Ok(Value::Bool(x != 0)),
        t if t.is_integer() => {
            let (lo, hi) = to.int_range().unwrap_or((i64::MIN, i64::MAX));
            decimal::to_int(x, s, lo, hi, int_tag(to)).map(Value::Int)
        }
        _ => Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        )),
    }
}

/// DuckDB's internal name of an integer type, as its cast errors print it.
pub fn int_tag(t: DataType) -> &'static str {
    match t {
        DataType::TinyInt => "INT8",
        DataType::SmallInt => "INT16",
        DataType::Integer => "INT32",
        DataType::HugeInt => "INT128",
        DataType::UTinyInt => "UINT8",
        DataType::USmallInt => "UINT16",
        DataType::UInteger => "UINT32",
        DataType::UBigInt => "UINT64",
        DataType::UHugeInt => "UINT128",
        _ => "INT64",
    }
}

/// The values integer type `t` holds in DuckDB (wider than `int_range` for the
/// types held narrower here).
fn duckdb_int_range(t: DataType) -> (i128, i128) {
    match t {
        DataType::UBigInt => (0, i128::from(u64::MAX)),
        DataType::HugeInt => (i128::MIN, i128::MAX),
        DataType::UHugeInt => (0, i128::MAX),
        _ => t
            .int_range()
            .map_or((0, 0), |(lo, hi)| (i128::from(lo), i128::from(hi))),
    }
}

/// The message for a type held in 64 bits here whose value would need more.
pub fn beyond_bigint(t: DataType) -> String {
    format!("not supported yet: {t} values beyond BIGINT's range")
}

/// The error for the number `x` of type `from` that integer type `to` cannot
/// hold: DuckDB's conversion error, or "not supported yet" when DuckDB holds it
/// and only the 64-bit representation here does not.
pub fn int_cast_error(x: i128, from: DataType, to: DataType) -> String {
    let (lo, hi) = duckdb_int_range(to);
    if to.is_held_narrower() && x >= lo && x <= hi {
        return beyond_bigint(to);
    }
    let from_tag = if from.is_integer() {
        int_tag(from)
    } else {
        return format!(
            "Conversion Error: Type {from} with value {x} can't be cast because the value \
             is out of range for the destination type {}",
            int_tag(to)
        );
    };
    format!(
        "Conversion Error: Type {from_tag} with value {x} can't be cast because the value is \
         out of range for the destination type {}",
        int_tag(to)
    )
}

/// TIME and the TIMESTAMP types, whose casts `time_cast` makes.
fn is_time_kind(t: DataType) -> bool {
    t == DataType::Time || t.is_timestamp()
}

/// Casts from or to TIME and the TIMESTAMP unit types (DuckDB: a TIMESTAMP's TIME
/// is its UTC time of day; S and MS truncate toward zero).
fn time_cast(x: i64, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    use crate::time::MICROS_PER_DAY;
    use crate::time_units as tu;
    let unimplemented = || {
        Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        ))
    };
    if from == to {
        return Ok(Value::Int(x));
    }
    let out_of_range = || {
        format!(
            "Conversion Error: {} out of range for {to}",
            format_value(&Value::Int(x), from)
        )
    };
    match (from, to) {
        (DataType::Time, DataType::Varchar) => Ok(Value::Str(tu::format_time(x).into())),
        (f, DataType::Varchar) if f.is_timestamp() => Ok(Value::Str(tu::format(f, x).into())),
        // DuckDB rounds a TIMESTAMP_NS to the nearest microsecond here.
        (DataType::TimestampNs, DataType::Time) => Ok(Value::Int(tu::time_of_timestamp(
            x.div_euclid(1_000) + i64::from(x.rem_euclid(1_000) >= 500),
        ))),
        (DataType::Timestamp | DataType::TimestampTz, DataType::Date) => {
            Ok(Value::Int(crate::time::timestamp_to_date(x)))
        }
        // The same instant, the infinities included.
        (
            DataType::Timestamp | DataType::TimestampTz,
            DataType::Timestamp | DataType::TimestampTz,
        ) => Ok(Value::Int(x)),
        // DuckDB has no cast from TIMESTAMPTZ to TIME (only to TIMETZ).
        (DataType::TimestampTz, DataType::Time) => unimplemented(),
        (DataType::Timestamp | DataType::TimestampTz, _) if crate::time::is_infinite_ts(x) => {
            if to == DataType::Time {
                Err("Conversion Error: Can't get TIME of infinite TIMESTAMP".into())
            } else {
                Err(format!(
                    "not supported yet: casting an infinite TIMESTAMP to {to}"
                ))
            }
        }
        (f, DataType::Time) if f.is_timestamp() => {
            Ok(Value::Int(tu::time_of_timestamp(tu::to_micros(f, x))))
        }
        (f, DataType::Date) if f.is_timestamp() => {
            Ok(Value::Int(tu::to_micros(f, x).div_euclid(MICROS_PER_DAY)))
        }
        (f, t) if f.is_timestamp() && t.is_timestamp() => tu::from_micros(t, tu::to_micros(f, x))
            .map(Value::Int)
            .ok_or_else(out_of_range),
        (DataType::Date, DataType::Timestamp | DataType::TimestampTz) => {
            crate::time::date_to_timestamp(x)
                .map(Value::Int)
                .ok_or_else(|| date_beyond_timestamp(x))
        }
        (DataType::Date, _) if crate::time::is_infinite_date(x) => Err(format!(
            "not supported yet: casting an infinite DATE to {to}"
        )),
        (DataType::Date, t) if t.is_timestamp() => x
            .checked_mul(MICROS_PER_DAY)
            .and_then(|us| tu::from_micros(t, us))
            .map(Value::Int)
            .ok_or_else(out_of_range),
        _ => unimplemented(),
    }
}

/// Casts between DATE and TIMESTAMP / VARCHAR (a date is midnight UTC; a timestamp
/// becomes its UTC date).
fn date_cast(x: i64, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    match (from, to) {
        (DataType::Date, DataType::Date) => Ok(Value::Int(x)),
        (DataType::Date, DataType::Timestamp) => crate::time::date_to_timestamp(x)
            .map(Value::Int)
            .ok_or_else(|| date_beyond_timestamp(x)),
        (DataType::Date, DataType::Varchar) => Ok(Value::Str(crate::time::format_day(x).into())),
        (DataType::Timestamp, DataType::Date) => Ok(Value::Int(crate::time::timestamp_to_date(x))),
        _ => Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        )),
    }
}

/// DuckDB's error for a DATE outside the TIMESTAMP range.
pub fn date_beyond_timestamp(days: i64) -> String {
    format!(
        "Conversion Error: Date out of range for timestamp: {}",
        crate::time::format_day(days)
    )
}

/// Parses text as a value of `to` (CAST from VARCHAR).
pub fn parse_str(s: &str, to: DataType) -> std::result::Result<Value, String> {
    use DataType as D;
    let t = s.trim();
    let bad = || {
        Err(format!(
            "Conversion Error: could not convert string '{s}' to {to}"
        ))
    };
    match to {
        D::Varchar => Ok(Value::Str(s.into())),
        D::List(elem) => crate::list::parse(s, *elem),
        ty if ty.is_integer() => match t.parse::<i128>() {
            Ok(x) => match to.int_range() {
                Some((lo, hi)) if x < i128::from(lo) || x > i128::from(hi) => {
                    let (dlo, dhi) = duckdb_int_range(to);
                    if to.is_held_narrower() && x >= dlo && x <= dhi {
                        Err(beyond_bigint(to))
                    } else {
                        bad()
                    }
                }
                _ => Ok(Value::Int(x as i64)),
            },
            // Past i128: only UHUGEINT's top half is a value DuckDB holds.
            Err(_) if to == D::UHugeInt && t.trim_start_matches('+').parse::<u128>().is_ok() => {
                Err(beyond_bigint(to))
            }
            Err(_) => bad(),
        },
        D::Time => crate::time_units::parse_time(t)
            .map(Value::Int)
            .map_or_else(bad, Ok),
        D::TimestampS | D::TimestampMs | D::TimestampNs => crate::time_units::parse(to, t)
            .map(Value::Int)
            .map_or_else(bad, Ok),
        D::Double => match t.to_ascii_lowercase().as_str() {
            "inf" | "infinity" => Ok(Value::Float(f64::INFINITY)),
            "-inf" | "-infinity" => Ok(Value::Float(f64::NEG_INFINITY)),
            "nan" => Ok(Value::Float(f64::NAN)),
            _ => t.parse::<f64>().map(Value::Float).or_else(|_| bad()),
        },
        D::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "y" => Ok(Value::Bool(true)),
            "false" | "f" | "0" | "no" | "n" => Ok(Value::Bool(false)),
            _ => bad(),
        },
        D::Timestamp | D::TimestampTz => crate::time::parse_timestamp_sql(t)
            .map(Value::Int)
            .map_or_else(bad, Ok),
        D::Ip => crate::ip::parse(t).map(Value::Ip).map_or_else(bad, Ok),
        D::Date => crate::time::parse_date(t)
            .map(Value::Int)
            .map_or_else(bad, Ok),
        D::Decimal { precision, scale } => {
            crate::decimal::parse(s, precision, scale).map(Value::Int)
        }
        D::Interval => crate::interval::parse(s).map(|iv| Value::Ip(iv.pack())),
        // Every integer type took the arm above.
        _ => bad(),
    }
}

/// A DOUBLE as DuckDB prints it when cast to text.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A value as text: timestamps and dates like DuckDB, IPs in their usual form, NULL as `NULL`.
pub fn format_value(v: &Value, t: DataType) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(x) if t == DataType::Timestamp => crate::time::format_timestamp(*x),
        Value::Int(x) if t == DataType::Date => crate::time::format_day(*x),
        Value::Int(x) if t == DataType::Time => crate::time_units::format_time(*x),
        Value::Int(x) if t.is_timestamp() => crate::time_units::format(t, *x),
        Value::Int(x) if t.decimal().is_some() => {
            crate::decimal::format(*x, t.decimal().unwrap_or_default().1)
        }
        Value::Int(x) => x.to_string(),
        Value::Float(x) => format_float(*x),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Ip(x) if t == DataType::Interval => {
            crate::interval::format(crate::interval::Interval::unpack(*x))
        }
        Value::Ip(x) => crate::ip::format(*x),
        Value::List(items) => {
            crate::list::format(items, t.list_elem().unwrap_or(DataType::Varchar))
        }
    }
}

/// A byte count in binary units, one decimal, as DuckDB shows sizes: `12 bytes`,
/// `1.5 MiB`, `1.0 GiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Parses a byte size as DuckDB writes one: a number (decimals allowed) and a
/// unit, `B`/`bytes`, `KB`/`MB`/`GB`/`TB` (powers of 1000, also `K`, `M`, `G`,
/// `T`) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive. Returns
/// the bytes, or what is wrong with the text.
pub fn parse_byte_size(text: &str) -> std::result::Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err("Memory must have a number (e.g. 1GB)".into());
    }
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{num}' is not a number (e.g. 1GB)"))?;
    if n < 0.0 {
        return Err("Memory cannot be negative".into());
    }
    let unit = unit.trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "Unknown unit for memory: '{unit}' (expected: KB, MB, GB, TB for 1000^i units \
                 or KiB, MiB, GiB, TiB for 1024^i units)"
            ))
        }
    };
    Ok(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_in_both_unit_systems() {
        assert_eq!(parse_byte_size("1GB"), Ok(1e9));
        assert_eq!(parse_byte_size("1 gib"), Ok(1073741824.0));
        assert_eq!(parse_byte_size("2.5KiB"), Ok(2560.0));
        assert_eq!(parse_byte_size("7 bytes"), Ok(7.0));
        assert!(parse_byte_size("7").unwrap_err().contains("Unknown unit"));
        assert!(parse_byte_size("abc")
            .unwrap_err()
            .contains("must have a number"));
        assert!(parse_byte_size("-1 KB").unwrap_err().contains("negative"));
    }

    #[test]
    fn integer_casts_check_each_types_range() {
        use DataType as D;
        let int = |x: i64, from, to| cast_value(&Value::Int(x), from, to);
        assert_eq!(int(127, D::Integer, D::TinyInt), Ok(Value::Int(127)));
        assert_eq!(int(255, D::Integer, D::UTinyInt), Ok(Value::Int(255)));
        assert_eq!(
            int(128, D::Integer, D::TinyInt),
            Err(
                "Conversion Error: Type INT32 with value 128 can't be cast because the \
                 value is out of range for the destination type INT8"
                    .into()
            )
        );
        assert!(int(-1, D::BigInt, D::UBigInt)
            .unwrap_err()
            .contains("destination type UINT64"));
        assert!(int(1 << 32, D::BigInt, D::UInteger).is_err());
        assert_eq!(
            int(i64::MAX, D::BigInt, D::UBigInt),
            Ok(Value::Int(i64::MAX))
        );
        // Text and doubles that DuckDB's wider types hold are "not supported yet".
        let text = |s: &str, to| parse_str(s, to);
        assert_eq!(
            text("18446744073709551615", D::UBigInt),
            Err("not supported yet: UBIGINT values beyond BIGINT's range".into())
        );
        assert!(text("18446744073709551616", D::UBigInt)
            .unwrap_err()
            .starts_with("Conversion Error"));
        assert!(text("-9223372036854775809", D::HugeInt)
            .unwrap_err()
            .starts_with("not supported yet"));
        assert!(text("-1", D::UHugeInt)
            .unwrap_err()
            .starts_with("Conversion Error"));
        assert_eq!(text(" 200 ", D::UTinyInt), Ok(Value::Int(200)));
        assert!(text("256", D::UTinyInt).is_err());
        assert!(cast_value(&Value::Float(1e19), D::Double, D::UBigInt)
            .unwrap_err()
            .starts_with("not supported yet"));
        assert!(cast_value(&Value::Float(-1.0), D::Double, D::USmallInt)
            .unwrap_err()
            .contains("UINT16"));
    }

    #[test]
    fn time_casts_follow_duckdb() {
        use DataType as D;
        let ts = crate::time::parse_timestamp("2020-01-01 01:02:03.123456").unwrap();
        let cast = |x: i64, from, to| cast_value(&Value::Int(x), from, to);
        assert_eq!(
            cast(ts, D::Timestamp, D::Time),
            parse_str("01:02:03.123456", D::Time)
        );
        assert_eq!(
            cast(ts, D::Timestamp, D::TimestampS).map(|v| format_value(&v, D::TimestampS)),
            Ok("2020-01-01 01:02:03".into())
        );
        let ns = cast(ts, D::Timestamp, D::TimestampNs).unwrap();
        assert_eq!(ns, Value::Int(ts * 1000));
        assert_eq!(
            cast(ts * 1000 + 999, D::TimestampNs, D::Timestamp),
            Ok(Value::Int(ts))
        );
        assert!(cast(i64::MAX / 10, D::Timestamp, D::TimestampNs).is_err());
        assert!(cast(0, D::Time, D::Timestamp).is_err());
        assert_eq!(
            cast(86_400_000_000, D::Time, D::Varchar),
            Ok(Value::Str("24:00:00".into()))
        );
    }

    #[test]
    fn byte_counts_print_in_binary_units() {
        assert_eq!(format_bytes(1 << 30), "1.0 GiB");
        assert_eq!(format_bytes(3 << 19), "1.5 MiB");
        assert_eq!(format_bytes(3 << 20), "3.0 MiB");
        assert_eq!(format_bytes(2_000_000_000), "1.9 GiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
        assert_eq!(format_bytes(12), "12 bytes");
    }
}
