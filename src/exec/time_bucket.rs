//! `time_bucket(width, ts[, offset | origin])` with the width (and the offset or
//! origin) as values: DuckDB's month buckets (counted from 2000-01-01) and fixed
//! buckets of days and microseconds (counted from 2000-01-03, a Monday). The
//! constant-width form without a third argument is `ScalarFunc::TimeBucket`.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::Bitmap;
use crate::error::{Error, Result};
use crate::interval::{add_to_timestamp, Interval};
use crate::plan::BucketShift;
use crate::time::{
    civil_from_days, days_from_civil, is_infinite_ts, MICROS_PER_DAY, TS_MAX, TS_MIN,
};

/// DuckDB's origin for buckets of days and microseconds: 2000-01-03 00:00:00.
pub const FIXED_ORIGIN: i64 = 946_857_600_000_000;
/// DuckDB's origin for month buckets: 2000-01-01 (in months since year 0).
const MONTH_ORIGIN: i64 = 2000 * 12;

fn invalid(msg: &str) -> Error {
    Error::InvalidInput(format!("Not implemented Error: {msg}"))
}

fn out_of_range() -> Error {
    Error::InvalidInput(
        "Out of Range Error: time_bucket result is out of the TIMESTAMP range".into(),
    )
}

/// Evaluates `time_bucket` over `args` = [width, ts] or [width, ts, shift].
pub fn eval(
    shift: BucketShift,
    args: &[Cow<'_, Vector>],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let widths = vector::ips(&args[0], len)?;
    let ts = vector::ints(&args[1], len)?;
    let offsets = match shift {
        BucketShift::Offset => Some(vector::ips(&args[2], len)?),
        _ => None,
    };
    let origins = match shift {
        BucketShift::Origin => Some(vector::ints(&args[2], len)?),
        _ => None,
    };
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        if !ok(i) {
            out.push(0);
            continue;
        }
        let width = Interval::unpack(widths[i]);
        let r = match (&offsets, &origins) {
            (Some(o), _) => bucket_with_offset(width, ts[i], Interval::unpack(o[i]))?,
            (_, Some(o)) => bucket(width, ts[i], Some(o[i]))?,
            _ => bucket(width, ts[i], None)?,
        };
        out.push(r);
    }
    Ok(Vector::new(VData::Int(out), valid))
}

/// Checks a bucket width as DuckDB does.
fn check_width(width: Interval) -> Result<()> {
    let fixed = i128::from(width.days) * i128::from(MICROS_PER_DAY) + i128::from(width.micros);
    if width.months < 0 || (width.months == 0 && fixed <= 0) {
        return Err(invalid("Period must be greater than 0"));
    }
    if width.months != 0 && (width.days != 0 || width.micros != 0) {
        return Err(invalid("Month intervals cannot have day or time component"));
    }
    Ok(())
}

/// The start of the bucket holding `ts`, counted from `origin` (or DuckDB's
/// default); the infinities stay themselves.
pub fn bucket(width: Interval, ts: i64, origin: Option<i64>) -> Result<i64> {
    check_width(width)?;
    if is_infinite_ts(ts) {
        return Ok(ts);
    }
    if origin.is_some_and(is_infinite_ts) {
        return Err(Error::InvalidInput(
            "not supported yet: time_bucket with an infinite origin".into(),
        ));
    }
    if width.months > 0 {
        let months_of = |t: i64| {
            let (y, m, _) = civil_from_days(t.div_euclid(MICROS_PER_DAY));
            y * 12 + i64::from(m) - 1
        };
        let origin = origin.map_or(MONTH_ORIGIN, months_of);
        let w = i64::from(width.months);
        let start = origin + (months_of(ts) - origin).div_euclid(w) * w;
        let day = days_from_civil(start.div_euclid(12), start.rem_euclid(12) as u32 + 1, 1);
        return day
            .checked_mul(MICROS_PER_DAY)
            .filter(|r| (TS_MIN..=TS_MAX).contains(r))
            .ok_or_else(out_of_range);
    }
    let w = i128::from(width.days) * i128::from(MICROS_PER_DAY) + i128::from(width.micros);
    let o = origin.unwrap_or(FIXED_ORIGIN);
    // DuckDB computes the distance to the origin in 64 bits and fails past them.
    let dist = ts.checked_sub(o).ok_or_else(out_of_range)?;
    let o = i128::from(o);
    let r = o + i128::from(dist).div_euclid(w) * w;
    i64::try_from(r)
        .ok()
        .filter(|r| (TS_MIN..=TS_MAX).contains(r))
        .ok_or_else(out_of_range)
}

/// `time_bucket(width, ts, offset)`: the buckets shifted by `offset`.
pub fn bucket_with_offset(width: Interval, ts: i64, offset: Interval) -> Result<i64> {
    check_width(width)?;
    if is_infinite_ts(ts) {
        return Ok(ts);
    }
    let back = offset
        .checked_neg()
        .and_then(|neg| add_to_timestamp(ts, neg))
        .ok_or_else(out_of_range)?;
    let b = bucket(width, back, None)?;
    add_to_timestamp(b, offset)
        .filter(|r| (TS_MIN..=TS_MAX).contains(r))
        .ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_timestamp, parse_timestamp_sql};

    fn iv(text: &str) -> Interval {
        crate::interval::parse(text).unwrap()
    }

    #[test]
    fn month_and_fixed_buckets() {
        let ts = parse_timestamp_sql("2022-12-22 10:11:12").unwrap();
        let origin = parse_timestamp_sql("1990-01-06 08:08:10").unwrap();
        let f = |r: Result<i64>| format_timestamp(r.unwrap());
        assert_eq!(
            f(bucket(iv("3 months"), ts, Some(origin))),
            "2022-10-01 00:00:00"
        );
        assert_eq!(f(bucket(iv("3 days"), ts, None)), "2022-12-21 00:00:00");
        assert_eq!(
            f(bucket_with_offset(
                iv("3 months"),
                ts,
                iv("6 days 11 hours")
            )),
            "2022-10-07 11:00:00"
        );
        assert!(bucket(iv("1 month 1 day"), ts, None).is_err());
        assert!(bucket(iv("-1 month"), ts, None).is_err());
        assert_eq!(bucket(iv("1 day"), i64::MAX, None).unwrap(), i64::MAX);
    }
}
