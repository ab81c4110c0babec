//! `date_part` / `extract` and `date_trunc` kernels over TIMESTAMP values (a DATE
//! arrives as midnight UTC), DuckDB's fields and units, with the field or unit
//! either fixed at bind time or read per row.
//!
//! The infinite timestamps have no parts (NULL) and truncate to themselves.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::Bitmap;
use crate::error::{Error, Result};
use crate::plan::{DatePart, ScalarFunc, TruncUnit};
use crate::time::{
    civil_from_days, days_from_civil, is_infinite_ts, MICROS_PER_DAY, MICROS_PER_HOUR,
    MICROS_PER_MINUTE, MICROS_PER_SECOND,
};

/// The Julian day number of 1970-01-01.
const JULIAN_EPOCH: i64 = 2_440_588;

/// The part of a finite timestamp as an integer; `epoch` and `julian` give their
/// whole part (see [`date_part_f64`]). `None` for an infinite timestamp; an
/// error when `epoch_ns` overflows.
pub fn date_part(part: DatePart, ts: i64) -> Result<Option<i64>> {
    if is_infinite_ts(ts) {
        return Ok(None);
    }
    let day = ts.div_euclid(MICROS_PER_DAY);
    let rem = ts.rem_euclid(MICROS_PER_DAY);
    let year = || civil_from_days(day).0;
    let v = match part {
        DatePart::Year => year(),
        DatePart::Month => civil_from_days(day).1 as i64,
        DatePart::Day => civil_from_days(day).2 as i64,
        DatePart::Hour => rem / MICROS_PER_HOUR,
        DatePart::Minute => rem / MICROS_PER_MINUTE % 60,
        DatePart::Second => rem / MICROS_PER_SECOND % 60,
        DatePart::Millisecond => rem % MICROS_PER_MINUTE / 1000,
        DatePart::Microsecond => rem % MICROS_PER_MINUTE,
        DatePart::Nanosecond => rem % MICROS_PER_MINUTE * 1000,
        DatePart::DayOfWeek => (day + 4).rem_euclid(7),
        DatePart::IsoDayOfWeek => (day + 3).rem_euclid(7) + 1,
        DatePart::DayOfYear => day - days_from_civil(year(), 1, 1) + 1,
        DatePart::Week => iso_week(day).1,
        DatePart::IsoYear => iso_week(day).0,
        DatePart::YearWeek => {
            let (y, w) = iso_week(day);
            y * 100 + if y < 0 { -w } else { w }
        }
        DatePart::Quarter => (civil_from_days(day).1 as i64 - 1) / 3 + 1,
        DatePart::Era => i64::from(year() > 0),
        DatePart::Decade => year() / 10,
        DatePart::Century => era_unit(year(), 100),
        DatePart::Millennium => era_unit(year(), 1000),
        DatePart::Epoch => ts.div_euclid(MICROS_PER_SECOND),
        DatePart::EpochMs => ts.div_euclid(1000) + i64::from(ts.rem_euclid(1000) >= 500),
        DatePart::EpochUs => ts,
        DatePart::EpochNs => ts.checked_mul(1000).ok_or_else(|| {
            Error::InvalidInput(format!(
                "Conversion Error: Could not convert {} to nanoseconds",
                crate::time::format_timestamp(ts)
            ))
        })?,
        DatePart::Julian => day + JULIAN_EPOCH,
        DatePart::Timezone | DatePart::TimezoneHour | DatePart::TimezoneMinute => 0,
    };
    Ok(Some(v))
}

/// The DOUBLE parts: `epoch` (seconds with fraction) and `julian` (the Julian day
/// with the time of day as fraction). `None` for an infinite timestamp.
pub fn date_part_f64(part: DatePart, ts: i64) -> Option<f64> {
    if is_infinite_ts(ts) {
        return None;
    }
    Some(match part {
        DatePart::Julian => {
            let day = ts.div_euclid(MICROS_PER_DAY);
            let rem = ts.rem_euclid(MICROS_PER_DAY);
            (day + JULIAN_EPOCH) as f64 + rem as f64 / MICROS_PER_DAY as f64
        }
        _ => ts as f64 / MICROS_PER_SECOND as f64,
    })
}

/// Century and millennium numbering: there is no year 0 of either, 1-100 is the
/// first century and 1 BC .. 100 BC is century -1.
fn era_unit(year: i64, size: i64) -> i64 {
    if year > 0 {
        (year - 1) / size + 1
    } else {
        year / size - 1
    }
}

/// The ISO 8601 (year, week) of `day`: weeks start on Monday and week 1 holds the
/// year's first Thursday.
fn iso_week(day: i64) -> (i64, i64) {
    // The Thursday of this ISO week decides its year.
    let thursday = day - (day + 3).rem_euclid(7) + 3;
    let year = civil_from_days(thursday).0;
    let jan1 = days_from_civil(year, 1, 1);
    (year, (thursday - jan1) / 7 + 1)
}

/// The length of `unit` in microseconds when it is fixed (up to a day: no time
/// zones here, so a day is always 24 hours).
fn fixed_micros(unit: TruncUnit) -> Option<i64> {
    match unit {
        TruncUnit::Microsecond => Some(1),
        TruncUnit::Millisecond => Some(1000),
        TruncUnit::Second => Some(MICROS_PER_SECOND),
        TruncUnit::Minute => Some(MICROS_PER_MINUTE),
        TruncUnit::Hour => Some(MICROS_PER_HOUR),
        TruncUnit::Day => Some(MICROS_PER_DAY),
        _ => None,
    }
}

/// Truncates a timestamp to a unit; infinite timestamps stay themselves. `None`
/// when the result is before the first representable timestamp.
pub fn try_date_trunc(unit: TruncUnit, ts: i64) -> Option<i64> {
    if is_infinite_ts(ts) {
        return Some(ts);
    }
    if let Some(n) = fixed_micros(unit) {
        return ts.div_euclid(n).checked_mul(n);
    }
    let day = ts.div_euclid(MICROS_PER_DAY);
    let civil = |y: i64, m: u32| days_from_civil(y, m, 1).checked_mul(MICROS_PER_DAY);
    match unit {
        TruncUnit::Microsecond
        | TruncUnit::Millisecond
        | TruncUnit::Second
        | TruncUnit::Minute
        | TruncUnit::Hour
        | TruncUnit::Day => Some(ts),
        // 1970-01-01 was a Thursday; weeks start on Monday.
        TruncUnit::Week => (day - (day + 3).rem_euclid(7)).checked_mul(MICROS_PER_DAY),
        TruncUnit::Month | TruncUnit::Quarter | TruncUnit::Year => {
            let (y, m, _) = civil_from_days(day);
            let m = match unit {
                TruncUnit::Month => m,
                TruncUnit::Quarter => (m - 1) / 3 * 3 + 1,
                _ => 1,
            };
            civil(y, m)
        }
        TruncUnit::Decade | TruncUnit::Century | TruncUnit::Millennium => {
            let size = match unit {
                TruncUnit::Decade => 10,
                TruncUnit::Century => 100,
                _ => 1000,
            };
            civil(civil_from_days(day).0 / size * size, 1)
        }
        TruncUnit::IsoYear => {
            let (y, _) = iso_week(day);
            let jan4 = days_from_civil(y, 1, 4);
            (jan4 - (jan4 + 3).rem_euclid(7)).checked_mul(MICROS_PER_DAY)
        }
    }
}

/// [`try_date_trunc`] for callers whose timestamps are known to be in range (the
/// time column of a log table); out of range it returns `ts` itself.
pub fn date_trunc(unit: TruncUnit, ts: i64) -> i64 {
    try_date_trunc(unit, ts).unwrap_or(ts)
}

fn trunc_out_of_range(ts: i64) -> Error {
    Error::InvalidInput(format!(
        "Out of Range Error: date_trunc of {} is out of the TIMESTAMP range",
        crate::time::format_timestamp(ts)
    ))
}

/// `date_trunc` with a fixed unit over a vector of timestamps.
pub fn eval_trunc(
    unit: TruncUnit,
    a: &Vector,
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let x = vector::ints(a, len)?;
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let mut out = Vec::with_capacity(len);
    let mut each = |trunc: &dyn Fn(i64) -> Option<i64>| -> Result<()> {
        for (i, &ts) in x.iter().enumerate() {
            out.push(match trunc(ts) {
                Some(v) => v,
                None if !ok(i) => 0,
                None => return Err(trunc_out_of_range(ts)),
            });
        }
        Ok(())
    };
    // A unit of fixed length is matched once, not per row.
    match fixed_micros(unit) {
        Some(n) => each(&|ts| match is_infinite_ts(ts) {
            true => Some(ts),
            false => ts.div_euclid(n).checked_mul(n),
        })?,
        None => each(&|ts| try_date_trunc(unit, ts))?,
    }
    Ok(Vector::new(VData::Int(out), valid))
}

/// `date_part` with a fixed part over a vector of timestamps: BIGINT, or DOUBLE
/// for `epoch` and `julian`; infinite timestamps give NULL.
pub fn eval_part(part: DatePart, a: &Vector, len: usize, valid: Option<Bitmap>) -> Result<Vector> {
    let x = vector::ints(a, len)?;
    let mut valid = valid;
    let null_at = |valid: &mut Option<Bitmap>, i: usize| {
        valid
            .get_or_insert_with(|| Bitmap::new(len, true))
            .set(i, false)
    };
    if part.is_double() {
        let mut out = Vec::with_capacity(len);
        for (i, &ts) in x.iter().enumerate() {
            match date_part_f64(part, ts) {
                Some(v) => out.push(v),
                None => {
                    null_at(&mut valid, i);
                    out.push(0.0);
                }
            }
        }
        return Ok(Vector::new(VData::Float(out), valid));
    }
    let mut out = Vec::with_capacity(len);
    for (i, &ts) in x.iter().enumerate() {
        let ok = valid.as_ref().is_none_or(|b| b.get(i));
        match date_part(part, ts) {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {
                null_at(&mut valid, i);
                out.push(0);
            }
            Err(_) if !ok => out.push(0),
            Err(e) => return Err(e),
        }
    }
    Ok(Vector::new(VData::Int(out), valid))
}

/// `date_part(field, ts)` / `date_trunc(unit, ts)` with the field or unit read per
/// row (`args[0]`, VARCHAR); the part is a DOUBLE as in DuckDB.
pub fn eval_dynamic(
    f: &ScalarFunc,
    args: &[Cow<'_, Vector>],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let (names, x) = (&args[0], vector::ints(&args[1], len)?);
    let mut valid = valid;
    let not_recognized = |name: &str| {
        Error::InvalidInput(format!(
            "Conversion Error: extract specifier \"{name}\" not recognized"
        ))
    };
    let is_ok = |valid: &Option<Bitmap>, i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    match f {
        ScalarFunc::DatePartDynamic(of_date) => {
            let mut out = Vec::with_capacity(len);
            for (i, &ts) in x.iter().enumerate() {
                if !is_ok(&valid, i) {
                    out.push(0.0);
                    continue;
                }
                let name = names.str_at(i);
                let part = DatePart::from_name(name)
                    .filter(|p| !*of_date || p.applies_to_date())
                    .ok_or_else(|| not_recognized(name))?;
                let v = if part.is_double() {
                    date_part_f64(part, ts)
                } else {
                    date_part(part, ts)?.map(|v| v as f64)
                };
                match v {
                    Some(v) => out.push(v),
                    None => {
                        valid
                            .get_or_insert_with(|| Bitmap::new(len, true))
                            .set(i, false);
                        out.push(0.0);
                    }
                }
            }
            Ok(Vector::new(VData::Float(out), valid))
        }
        ScalarFunc::DateTruncDynamic => {
            let mut out = Vec::with_capacity(len);
            for (i, &ts) in x.iter().enumerate() {
                if !is_ok(&valid, i) {
                    out.push(0);
                    continue;
                }
                let name = names.str_at(i);
                let unit = TruncUnit::from_name(name).ok_or_else(|| not_recognized(name))?;
                out.push(try_date_trunc(unit, ts).ok_or_else(|| trunc_out_of_range(ts))?);
            }
            Ok(Vector::new(VData::Int(out), valid))
        }
        _ => Err(Error::Internal("not a dynamic date kernel".into())),
    }
}

/// `dayname` / `monthname` (`month`) of a vector of timestamps; NULL for the
/// infinite ones.
pub fn eval_name(month: bool, a: &Vector, len: usize, valid: Option<Bitmap>) -> Result<Vector> {
    let items =
        crate::time::parse_format(if month { "%B" } else { "%A" }).map_err(Error::Internal)?;
    let x = vector::ints(a, len)?;
    let mut valid = valid;
    let mut out = crate::column::StringVec::with_capacity(len, len * 8);
    let mut buf = String::new();
    for (i, &ts) in x.iter().enumerate() {
        buf.clear();
        if is_infinite_ts(ts) {
            valid
                .get_or_insert_with(|| Bitmap::new(len, true))
                .set(i, false);
        } else {
            crate::time::strftime(&mut buf, ts, &items);
        }
        out.push(&buf);
    }
    Ok(Vector::new(VData::Str(out), valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp_sql;

    fn ts(s: &str) -> i64 {
        parse_timestamp_sql(s).unwrap()
    }

    #[test]
    fn parts_of_bc_and_iso_years() {
        let bc = ts("0044-03-15 (BC) 00:00:00");
        let p = |part| date_part(part, bc).unwrap().unwrap();
        assert_eq!(p(DatePart::Year), -43);
        assert_eq!(p(DatePart::Era), 0);
        assert_eq!(p(DatePart::Century), -1);
        assert_eq!(p(DatePart::Millennium), -1);
        assert_eq!(p(DatePart::Decade), -4);
        assert_eq!(p(DatePart::YearWeek), -4311);
        assert_eq!(p(DatePart::Julian), 1_705_428);
        let d = ts("2021-01-01");
        assert_eq!(date_part(DatePart::IsoYear, d).unwrap(), Some(2020));
        assert_eq!(date_part(DatePart::YearWeek, d).unwrap(), Some(202053));
        assert_eq!(date_part(DatePart::Year, i64::MAX).unwrap(), None);
    }

    #[test]
    fn truncation_units() {
        let t = |u, s| crate::time::format_timestamp(try_date_trunc(u, ts(s)).unwrap());
        assert_eq!(
            t(TruncUnit::Millennium, "1992-02-02 02:02:03"),
            "1000-01-01 00:00:00"
        );
        assert_eq!(
            t(TruncUnit::Decade, "0044-03-15 (BC)"),
            "0041-01-01 (BC) 00:00:00"
        );
        assert_eq!(t(TruncUnit::IsoYear, "2022-08-15"), "2022-01-03 00:00:00");
        assert_eq!(t(TruncUnit::Quarter, "2022-08-15"), "2022-07-01 00:00:00");
        assert_eq!(try_date_trunc(TruncUnit::Year, i64::MAX), Some(i64::MAX));
    }
}
