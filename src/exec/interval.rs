//! INTERVAL kernels: arithmetic with timestamps, intervals and numbers, the
//! `to_days`-style constructors, `date_part` / `epoch` / `date_trunc` on
//! intervals and `age` (the value type and its rules are `crate::interval`).
//!
//! Each kernel reads its arguments as plain slices (constants expanded once),
//! loops over the rows and skips rows where an argument is NULL; an overflow is
//! an error naming the operation, as in DuckDB.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::Bitmap;
use crate::error::{Error, Result};
use crate::interval::{self, Interval, Unit};
use crate::plan::{IntervalFunc, IntervalPart};
use crate::schema::DataType;
use crate::time::{MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

fn out_of_range(what: &str) -> Error {
    Error::InvalidInput(format!("Out of Range Error: {what}"))
}

/// `a - b` in microseconds per row, 0 in the rows `valid` clears; an infinite
/// timestamp or an overflow in a valid row is an error. One pass without
/// branches; only when it saw an infinite timestamp or an overflow somewhere are
/// the rows checked one by one (it may have been under a NULL).
fn timestamp_diffs(a: &[i64], b: &[i64], valid: Option<&Bitmap>) -> Result<Vec<i64>> {
    let mut suspect = false;
    let mut out: Vec<i64> = (a.iter().zip(b))
        .map(|(&x, &y)| {
            let (d, overflow) = x.overflowing_sub(y);
            suspect |= overflow | crate::time::is_infinite_ts(x) | crate::time::is_infinite_ts(y);
            d
        })
        .collect();
    if let Some(valid) = valid {
        for (rows, &w) in out.chunks_mut(64).zip(valid.words()) {
            for (j, d) in rows.iter_mut().enumerate() {
                *d &= -(((w >> j) & 1) as i64);
            }
        }
    }
    if suspect {
        let ok = |i: usize| valid.is_none_or(|v| v.get(i));
        for i in (0..a.len()).filter(|&i| ok(i)) {
            if crate::time::is_infinite_ts(a[i]) || crate::time::is_infinite_ts(b[i]) {
                return Err(Error::InvalidInput(
                    "Invalid Input Error: Cannot subtract infinite timestamps".into(),
                ));
            }
            if a[i].checked_sub(b[i]).is_none() {
                return Err(out_of_range("timestamp difference is out of bounds"));
            }
        }
    }
    Ok(out)
}

/// Evaluates `f` over `args` (`types` are the arguments' types); `valid` is the
/// AND of the arguments' validities.
pub fn eval(
    f: IntervalFunc,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let arg = |k: usize| {
        args.get(k)
            .ok_or_else(|| Error::Internal(format!("interval kernel: argument {k} missing")))
    };
    let ivs = |k: usize| -> Result<Vec<Interval>> {
        Ok(vector::ips(arg(k)?, len)?
            .iter()
            .map(|&x| Interval::unpack(x))
            .collect())
    };
    let mut zero_rows = Vec::new();
    let packed = |out: Vec<Interval>| VData::Ip(out.into_iter().map(Interval::pack).collect());
    let data = match f {
        IntervalFunc::AddToTimestamp { negate } => {
            let ts = vector::ints(arg(0)?, len)?;
            let iv = ivs(1)?;
            let mut out = vec![0i64; len];
            for i in (0..len).filter(|&i| ok(i)) {
                if crate::time::is_infinite_ts(ts[i]) {
                    out[i] = ts[i];
                    continue;
                }
                let d = if negate {
                    iv[i].checked_neg()
                } else {
                    Some(iv[i])
                };
                out[i] = d
                    .and_then(|d| interval::add_to_timestamp(ts[i], d))
                    .ok_or_else(|| out_of_range("timestamp out of range"))?;
            }
            VData::Int(out)
        }
        IntervalFunc::TimestampDiff | IntervalFunc::TimestampDiffMicros => {
            let (a, b) = (vector::ints(arg(0)?, len)?, vector::ints(arg(1)?, len)?);
            let out = timestamp_diffs(&a[..len], &b[..len], valid.as_ref())?;
            if f == IntervalFunc::TimestampDiffMicros {
                VData::Int(out)
            } else {
                packed(out.into_iter().map(Interval::from_micros).collect())
            }
        }
        IntervalFunc::Add { negate } => {
            let (a, b) = (ivs(0)?, ivs(1)?);
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                let r = if negate {
                    a[i].checked_sub(b[i])
                } else {
                    a[i].checked_add(b[i])
                };
                out[i] = r.ok_or_else(|| out_of_range("interval value is out of range"))?;
            }
            packed(out)
        }
        IntervalFunc::Negate => {
            let a = ivs(0)?;
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                out[i] = a[i]
                    .checked_neg()
                    .ok_or_else(|| out_of_range("interval value is out of range"))?;
            }
            packed(out)
        }
        IntervalFunc::MulInt => {
            let (a, n) = (ivs(0)?, vector::ints(arg(1)?, len)?);
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                out[i] = a[i]
                    .checked_mul_int(n[i])
                    .ok_or_else(|| out_of_range("Overflow in multiplication of INTERVAL."))?;
            }
            packed(out)
        }
        IntervalFunc::MulDouble { divide } => {
            let (a, x) = (ivs(0)?, vector::floats(arg(1)?, len)?);
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                let factor = if divide {
                    if x[i] == 0.0 {
                        // DuckDB: an interval divided by zero is NULL.
                        zero_rows.push(i);
                        continue;
                    }
                    1.0 / x[i]
                } else {
                    x[i]
                };
                out[i] = a[i]
                    .checked_mul_f64(factor)
                    .ok_or_else(|| out_of_range("Overflow in multiplication of INTERVAL."))?;
            }
            packed(out)
        }
        IntervalFunc::FromInt(unit) => {
            let n = vector::ints(arg(0)?, len)?;
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                out[i] = unit.of_int(n[i]).ok_or_else(|| {
                    out_of_range(&format!(
                        "Interval value {} {} out of range",
                        n[i],
                        unit_name(unit)
                    ))
                })?;
            }
            packed(out)
        }
        IntervalFunc::FromDouble(unit) => {
            let x = vector::floats(arg(0)?, len)?;
            let mut out = vec![Interval::ZERO; len];
            for i in (0..len).filter(|&i| ok(i)) {
                out[i] = unit.of_f64(x[i]).ok_or_else(|| {
                    out_of_range(&format!(
                        "Interval value {} {} out of range",
                        x[i],
                        unit_name(unit)
                    ))
                })?;
            }
            packed(out)
        }
        IntervalFunc::Part(part) => {
            let a = ivs(0)?;
            VData::Int(a.iter().map(|&iv| date_part(part, iv)).collect())
        }
        IntervalFunc::Epoch => {
            let a = ivs(0)?;
            VData::Float(a.iter().map(|iv| iv.epoch_seconds()).collect())
        }
        IntervalFunc::Trunc(unit) => {
            let a = ivs(0)?;
            packed(a.iter().map(|&iv| trunc(unit, iv)).collect())
        }
        IntervalFunc::Age => {
            // An infinite end point has no age: NULL (DuckDB).
            let (a, b) = (vector::ints(arg(0)?, len)?, vector::ints(arg(1)?, len)?);
            let infinite =
                |i: usize| crate::time::is_infinite_ts(a[i]) || crate::time::is_infinite_ts(b[i]);
            zero_rows.extend((0..len).filter(|&i| infinite(i)));
            packed(
                (0..len)
                    .map(|i| {
                        if infinite(i) {
                            Interval::ZERO
                        } else {
                            interval::age(a[i], b[i])
                        }
                    })
                    .collect(),
            )
        }
        IntervalFunc::OrderKey => {
            let a = vector::ips(arg(0)?, len)?;
            VData::Ip(a.iter().map(|&x| Interval::key_of(x)).collect())
        }
    };
    let _ = types;
    let mut valid = valid;
    for i in zero_rows {
        valid
            .get_or_insert_with(|| Bitmap::new(len, true))
            .set(i, false);
    }
    Ok(Vector::new(data, valid))
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Millennium => "millennia",
        Unit::Century => "centuries",
        Unit::Decade => "decades",
        Unit::Year => "years",
        Unit::Quarter => "quarters",
        Unit::Month => "months",
        Unit::Week => "weeks",
        Unit::Day => "days",
        Unit::Hour => "hours",
        Unit::Minute => "minutes",
        Unit::Second => "seconds",
        Unit::Millisecond => "milliseconds",
        Unit::Microsecond => "microseconds",
    }
}

/// DuckDB's `date_part` on an interval: the year parts from the months, the day
/// from the days, the time parts from the microseconds (each keeping its sign).
pub fn date_part(part: IntervalPart, iv: Interval) -> i64 {
    let months = i64::from(iv.months);
    let u = iv.micros;
    match part {
        IntervalPart::Millennium => months / 12_000,
        IntervalPart::Century => months / 1_200,
        IntervalPart::Decade => months / 120,
        IntervalPart::Year => months / 12,
        IntervalPart::Quarter => months % 12 / 3 + 1,
        IntervalPart::Month => months % 12,
        IntervalPart::Day => i64::from(iv.days),
        IntervalPart::Hour => u / MICROS_PER_HOUR,
        IntervalPart::Minute => u % MICROS_PER_HOUR / MICROS_PER_MINUTE,
        IntervalPart::Second => u % MICROS_PER_MINUTE / MICROS_PER_SECOND,
        IntervalPart::Millisecond => u % MICROS_PER_MINUTE / 1_000,
        IntervalPart::Microsecond => u % MICROS_PER_MINUTE,
        IntervalPart::Nanosecond => u % MICROS_PER_MINUTE * 1_000,
        IntervalPart::EpochMs => clamp(iv.total_micros() / 1_000),
        IntervalPart::EpochUs => clamp(iv.total_micros()),
        IntervalPart::EpochNs => clamp(iv.total_micros() * 1_000),
    }
}

/// An i128 count as BIGINT, saturated (only the nanoseconds of intervals longer
/// than 292 years leave the range).
fn clamp(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// DuckDB's `date_trunc` on an interval: the parts below `unit` become zero
/// (weeks: whole weeks of the days; month-based units: whole units of the
/// months).
pub fn trunc(unit: Unit, iv: Interval) -> Interval {
    let keep_months = |per: i32| Interval::new(iv.months / per * per, 0, 0);
    match unit {
        Unit::Millennium => keep_months(12_000),
        Unit::Century => keep_months(1_200),
        Unit::Decade => keep_months(120),
        Unit::Year => keep_months(12),
        Unit::Quarter => keep_months(3),
        Unit::Month => keep_months(1),
        Unit::Week => Interval::new(iv.months, iv.days / 7 * 7, 0),
        Unit::Day => Interval::new(iv.months, iv.days, 0),
        _ => {
            let per = unit.micros().unwrap_or(1);
            Interval::new(iv.months, iv.days, iv.micros / per * per)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp_diffs;
    use crate::column::Bitmap;
    use crate::time::TS_INFINITY;

    #[test]
    fn timestamp_differences_skip_what_is_under_a_null() {
        let (a, b) = ([10, i64::MIN, TS_INFINITY, 7], [3, 1, 0, 9]);
        // Rows 1 (an overflow) and 2 (infinity) are NULL: no error, and 0 there.
        let valid = Bitmap::from_bools([true, false, false, true]);
        assert_eq!(
            timestamp_diffs(&a, &b, Some(&valid)).unwrap(),
            [7, 0, 0, -2]
        );
        let overflow = timestamp_diffs(&a[..2], &b[..2], None).unwrap_err();
        assert!(overflow.to_string().contains("out of bounds"), "{overflow}");
        let valid = Bitmap::from_bools([false, false, true, true]);
        let infinite = timestamp_diffs(&a, &b, Some(&valid)).unwrap_err();
        assert!(infinite.to_string().contains("infinite"), "{infinite}");
    }
}
