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
            Some((lo, hi)) if x < lo || x > hi => Err(format!(
                "Conversion Error: value {x} is out of range for {to}"
            )),
            _ => Ok(Value::Int(x)),
        }
    };
    match v {
        Value::Null => Ok(Value::Null),
        Value::Int(x) if from.decimal().is_some() => decimal_cast(*x, from, to),
        Value::Int(x) if from == D::Date || to == D::Date => date_cast(*x, from, to),
        Value::Int(x) if to.decimal().is_some() && from != D::Timestamp => {
            let (w, s) = to.decimal().unwrap_or_default();
            crate::decimal::from_int(*x, w, s).map(Value::Int)
        }
        Value::Int(x) => match to {
            D::SmallInt | D::Integer | D::BigInt => int_in_range(*x),
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
            D::SmallInt | D::Integer | D::BigInt => {
                let r = x.round_ties_even();
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                    return Err(format!(
                        "Conversion Error: value {x} is out of range for {to}"
                    ));
                }
                int_in_range(r as i64)
            }
            D::Boolean => Ok(Value::Bool(*x != 0.0)),
            D::Varchar => Ok(Value::Str(format_float(*x).into())),
            _ => fail(&format!("DOUBLE {x}")),
        },
        Value::Bool(b) => match to {
            D::Boolean => Ok(Value::Bool(*b)),
            D::SmallInt | D::Integer | D::BigInt => Ok(Value::Int(*b as i64)),
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
        DataType::SmallInt | DataType::Integer | DataType::BigInt => {
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
        DataType::SmallInt => "INT16",
        DataType::Integer => "INT32",
        _ => "INT64",
    }
}

/// Casts between DATE and TIMESTAMP / VARCHAR (a date is midnight UTC; a timestamp
/// becomes its UTC date).
fn date_cast(x: i64, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    use crate::time::MICROS_PER_DAY;
    match (from, to) {
        (DataType::Date, DataType::Date) => Ok(Value::Int(x)),
        (DataType::Date, DataType::Timestamp) => Ok(Value::Int(x * MICROS_PER_DAY)),
        (DataType::Date, DataType::Varchar) => Ok(Value::Str(crate::time::format_day(x).into())),
        (DataType::Timestamp, DataType::Date) => Ok(Value::Int(x.div_euclid(MICROS_PER_DAY))),
        _ => Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        )),
    }
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
        D::SmallInt | D::Integer | D::BigInt => match t.parse::<i64>() {
            Ok(x) => match to.int_range() {
                Some((lo, hi)) if x < lo || x > hi => bad(),
                _ => Ok(Value::Int(x)),
            },
            Err(_) => bad(),
        },
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
        D::Timestamp => crate::time::parse_timestamp(t)
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

#[cfg(test)]
mod tests {
    use super::*;

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
