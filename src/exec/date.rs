//! DATE and time-zone kernels: `make_date`, `last_day` and `AT TIME ZONE`.
//!
//! Dates are days since 1970-01-01; timestamps are UTC microseconds. The zone of
//! `AT TIME ZONE` was checked at bind time; it is looked up once per batch (jiff
//! caches the parsed zone), and each row costs one offset lookup.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::Bitmap;
use crate::error::{Error, Result};
use crate::plan::ScalarFunc;
use crate::time::{
    civil_from_days, days_from_civil, is_valid_date, DATE_MAX, DATE_MIN, MICROS_PER_DAY,
    MICROS_PER_SECOND,
};

/// Evaluates a date kernel; `valid` is the AND of the arguments' validities.
pub fn eval(
    f: &ScalarFunc,
    args: &[Cow<'_, Vector>],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let out = match f {
        ScalarFunc::MakeDate => {
            let (y, m, d) = (
                vector::ints(&args[0], len)?,
                vector::ints(&args[1], len)?,
                vector::ints(&args[2], len)?,
            );
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) {
                    make_date(y[i], m[i], d[i])?
                } else {
                    0
                });
            }
            out
        }
        ScalarFunc::MakeTimestamp { ns } if args.len() == 1 => {
            // Microseconds (nanoseconds) since the epoch; the infinities are not
            // values here (DuckDB).
            let x = vector::ints(&args[0], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                let v = x[i];
                let bad = if *ns {
                    crate::time::is_infinite_ts(v)
                } else {
                    !(crate::time::TS_MIN..=crate::time::TS_MAX).contains(&v)
                };
                if ok(i) && bad {
                    return Err(Error::InvalidInput(format!(
                        "Conversion Error: Timestamp {} out of range: {v}",
                        if *ns { "nanoseconds" } else { "microseconds" }
                    )));
                }
                out.push(v);
            }
            out
        }
        ScalarFunc::MakeTimestamp { .. } => {
            let ints = (0..5)
                .map(|k| vector::ints(&args[k], len))
                .collect::<Result<Vec<_>>>()?;
            let secs = vector::floats(&args[5], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                if !ok(i) {
                    out.push(0);
                    continue;
                }
                let [y, mo, d, h, mi] = [0, 1, 2, 3, 4].map(|k| ints[k][i]);
                let day = make_date(y, mo, d)?;
                let time = time_of_day(h, mi, secs[i], true)?;
                let ts = day
                    .checked_mul(MICROS_PER_DAY)
                    .and_then(|us| us.checked_add(time))
                    .filter(|us| (crate::time::TS_MIN..=crate::time::TS_MAX).contains(us));
                out.push(ts.ok_or_else(|| {
                    Error::InvalidInput(
                        "Conversion Error: Date and time not in timestamp range".into(),
                    )
                })?);
            }
            out
        }
        ScalarFunc::MakeTime => {
            let (h, mi) = (vector::ints(&args[0], len)?, vector::ints(&args[1], len)?);
            let secs = vector::floats(&args[2], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) {
                    time_of_day(h[i], mi[i], secs[i], false)?
                } else {
                    0
                });
            }
            out
        }
        ScalarFunc::LastDay => {
            // An infinite date has no month: NULL (DuckDB).
            let x = vector::ints(&args[0], len)?;
            let mut valid = valid;
            let out = (x.iter().enumerate())
                .map(|(i, &d)| {
                    if crate::time::is_infinite_date(d) {
                        valid
                            .get_or_insert_with(|| Bitmap::new(len, true))
                            .set(i, false);
                        0
                    } else {
                        last_day(d)
                    }
                })
                .collect();
            return Ok(Vector::new(VData::Int(out), valid));
        }
        ScalarFunc::AtTimeZone(zone) => {
            let tz = time_zone(zone)?;
            let x = vector::ints(&args[0], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) { wall_clock(&tz, x[i])? } else { 0 });
            }
            out
        }
        _ => return Err(Error::Internal("not a date kernel".into())),
    };
    Ok(Vector::new(VData::Int(out), valid))
}

/// The DATE `year-month-day`; an impossible date is an error (DuckDB's words).
pub fn make_date(year: i64, month: i64, day: i64) -> Result<i64> {
    let fits = |m: i64, d: i64| u32::try_from(m).ok().zip(u32::try_from(d).ok());
    match fits(month, day) {
        Some((m, d)) if (-6_000_000..=6_000_000).contains(&year) && is_valid_date(year, m, d) => {
            let days = days_from_civil(year, m, d);
            if (DATE_MIN..=DATE_MAX).contains(&days) {
                return Ok(days);
            }
        }
        _ => {}
    }
    Err(Error::InvalidInput(format!(
        "Conversion Error: Date out of range: {year}-{month}-{day}"
    )))
}

/// Microseconds since midnight of `h:mi:secs` as DuckDB's `make_time` and
/// `make_timestamp` read them: the seconds rounded to microseconds, up to 60
/// of them (a leap second carries into the minute); hour 24 only for a
/// timestamp (`day_carry`), where it is the next midnight.
fn time_of_day(h: i64, mi: i64, secs: f64, day_carry: bool) -> Result<i64> {
    let micros = (secs * 1e6).round();
    let max_hour = if day_carry { 24 } else { 23 };
    let valid = (0..=max_hour).contains(&h)
        && (0..=59).contains(&mi)
        && (0.0..=60.0 * 1e6).contains(&micros)
        && (h < 24 || (mi == 0 && micros == 0.0));
    if !valid {
        return Err(Error::InvalidInput(format!(
            "Conversion Error: Time out of range: {h}:{mi}:{secs:.6}"
        )));
    }
    Ok((h * 60 + mi) * 60 * MICROS_PER_SECOND + micros as i64)
}

/// The last day of the month holding `days`.
pub fn last_day(days: i64) -> i64 {
    let (y, m, _) = civil_from_days(days);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - 1
}

/// A time zone from the tz database by name (`Europe/Berlin`, `UTC`, ...).
pub fn time_zone(name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        Error::InvalidInput(format!(
            "unknown time zone '{name}': use a tz database name such as 'Europe/Berlin' \
             or 'UTC'"
        ))
    })
}

/// The local wall-clock time in `tz` of the UTC instant `ts` (micros), as
/// microseconds of a zone-less TIMESTAMP.
pub fn wall_clock(tz: &jiff::tz::TimeZone, ts: i64) -> Result<i64> {
    let instant = jiff::Timestamp::from_microsecond(ts).map_err(|_| {
        Error::InvalidInput(format!(
            "Out of Range Error: timestamp {} is outside the range of time zone \
             conversion (years -9999 to 9999)",
            crate::time::format_timestamp(ts)
        ))
    })?;
    let offset = tz.to_offset(instant).seconds() as i64;
    ts.checked_add(offset * MICROS_PER_SECOND)
        .ok_or_else(|| Error::InvalidInput("Out of Range Error: timestamp out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_day, format_timestamp, parse_timestamp};

    #[test]
    fn dates_from_parts_and_month_ends() {
        assert_eq!(format_day(make_date(2024, 2, 29).unwrap()), "2024-02-29");
        assert!(make_date(2023, 2, 29).is_err());
        assert!(make_date(2024, -1, 1).is_err());
        assert!(make_date(i64::MAX, 1, 1).is_err());
        let d = make_date(2024, 2, 3).unwrap();
        assert_eq!(format_day(last_day(d)), "2024-02-29");
        assert_eq!(
            format_day(last_day(make_date(2023, 12, 5).unwrap())),
            "2023-12-31"
        );
    }

    #[test]
    fn wall_clock_follows_daylight_saving() {
        let tz = time_zone("Europe/Berlin").unwrap();
        let at = |s: &str| format_timestamp(wall_clock(&tz, parse_timestamp(s).unwrap()).unwrap());
        assert_eq!(at("2024-07-01 12:00:00"), "2024-07-01 14:00:00");
        assert_eq!(at("2024-01-01 12:00:00"), "2024-01-01 13:00:00");
        // The spring-forward instant: 01:00 UTC is 03:00 CEST.
        assert_eq!(at("2024-03-31 00:59:59"), "2024-03-31 01:59:59");
        assert_eq!(at("2024-03-31 01:00:00"), "2024-03-31 03:00:00");
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(wall_clock(&tz, i64::MAX).is_err());
    }
}
