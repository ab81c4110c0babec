//! TIME (a time of day) and the TIMESTAMP unit variants (TIMESTAMP_S, TIMESTAMP_MS,
//! TIMESTAMP_NS): parsing, printing and conversion to and from TIMESTAMP's
//! microseconds, as DuckDB does them.
//!
//! Representations (all `i64`): TIME is microseconds since midnight,
//! `0..=MICROS_PER_DAY` (`24:00:00` is a valid TIME); TIMESTAMP_S and TIMESTAMP_MS
//! are microseconds since the epoch that are whole seconds / milliseconds (so every
//! TIMESTAMP function reads them unchanged); TIMESTAMP_NS is nanoseconds since the
//! epoch (years 1677 to 2262).

use crate::schema::DataType;
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

const NANOS_PER_MICRO: i64 = 1_000;
const MICROS_PER_MILLI: i64 = 1_000;

/// Parses a TIME as DuckDB does: `H[H]:MM[:SS[.fraction]]`, optionally after a
/// `YYYY-MM-DD ` date (dropped) and before a `+HH[:MM]` / `-HH[:MM]` / `Z` offset
/// (ignored, as DuckDB ignores it). Digits past microseconds are truncated.
pub fn parse_time(s: &str) -> Option<i64> {
    let mut t = s.trim();
    // A leading date: `2020-01-01 12:00:00` or `2020-01-01T12:00:00`.
    if t.len() > 10 && t.as_bytes()[4] == b'-' && crate::time::parse_date(&t[..10]).is_some() {
        t = t[10..].trim_start_matches([' ', 'T']);
    }
    let b = t.as_bytes();
    let hour_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&hour_len) || b.get(hour_len) != Some(&b':') {
        return None;
    }
    let hour = number(&b[..hour_len])?;
    let minute = number(b.get(hour_len + 1..hour_len + 3)?)?;
    let mut rest = &b[hour_len + 3..];
    let (mut second, mut micros) = (0, 0);
    if rest.first() == Some(&b':') {
        second = number(rest.get(1..3)?)?;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            micros = (0..6).fold(0, |v, i| {
                v * 10
                    + rest
                        .get(1 + i)
                        .filter(|_| i < n)
                        .map_or(0, |c| i64::from(c - b'0'))
            });
            rest = &rest[1 + n..];
        }
    }
    let offset_ok = match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', tz @ ..] => {
            matches!(tz.len(), 2 | 4 | 5) && tz.iter().all(|c| c.is_ascii_digit() || *c == b':')
        }
        _ => false,
    };
    if !offset_ok || minute > 59 || second > 59 || hour > 24 {
        return None;
    }
    let v =
        hour * MICROS_PER_HOUR + minute * MICROS_PER_MINUTE + second * MICROS_PER_SECOND + micros;
    (v <= MICROS_PER_DAY).then_some(v)
}

fn number(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |v, c| v * 10 + i64::from(c - b'0')))
}

/// Appends a TIME as DuckDB prints it: `HH:MM:SS`, then the fraction without
/// trailing zeros when it is not zero.
pub fn write_time(out: &mut String, micros: i64) {
    use std::fmt::Write;
    let secs = micros.div_euclid(MICROS_PER_SECOND);
    let frac = micros.rem_euclid(MICROS_PER_SECOND);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    write_fraction(out, frac, 6);
}

/// A TIME as text.
pub fn format_time(micros: i64) -> String {
    let mut s = String::with_capacity(15);
    write_time(&mut s, micros);
    s
}

/// Appends `.fraction` (`digits` wide, trailing zeros dropped) unless it is zero.
fn write_fraction(out: &mut String, frac: i64, digits: usize) {
    if frac != 0 {
        let mut f = format!("{frac:0digits$}");
        while f.ends_with('0') {
            f.pop();
        }
        out.push('.');
        out.push_str(&f);
    }
}

/// The time of day (UTC) of a TIMESTAMP.
pub fn time_of_timestamp(ts: i64) -> i64 {
    ts.rem_euclid(MICROS_PER_DAY)
}

/// The unit of a TIMESTAMP type in microseconds (`None` for TIMESTAMP_NS, which is
/// finer, and for other types).
fn coarse_unit(t: DataType) -> Option<i64> {
    match t {
        DataType::TimestampS => Some(MICROS_PER_SECOND),
        DataType::TimestampMs => Some(MICROS_PER_MILLI),
        DataType::Timestamp | DataType::TimestampTz => Some(1),
        _ => None,
    }
}

/// A value of TIMESTAMP type `t` as TIMESTAMP microseconds (TIMESTAMP_NS drops its
/// nanoseconds toward zero, as DuckDB's cast does).
pub fn to_micros(t: DataType, v: i64) -> i64 {
    if t == DataType::TimestampNs {
        v / NANOS_PER_MICRO
    } else {
        v
    }
}

/// TIMESTAMP microseconds as a value of TIMESTAMP type `t`: TIMESTAMP_S and
/// TIMESTAMP_MS truncate toward zero (DuckDB's cast); `None` if a TIMESTAMP_NS
/// would not fit in 64 bits.
pub fn from_micros(t: DataType, us: i64) -> Option<i64> {
    match coarse_unit(t) {
        Some(unit) => Some(us / unit * unit),
        None => us.checked_mul(NANOS_PER_MICRO),
    }
}

/// Parses text as a value of TIMESTAMP type `t`. TIMESTAMP_S and TIMESTAMP_MS round
/// the fraction to the unit (half away from zero, as DuckDB's string cast);
/// TIMESTAMP_NS keeps nine digits.
pub fn parse(t: DataType, s: &str) -> Option<i64> {
    if t == DataType::TimestampNs {
        return parse_nanos(s);
    }
    let unit = coarse_unit(t)?;
    let us = crate::time::parse_timestamp(s)?;
    let half = unit / 2;
    let r = if us >= 0 {
        us.checked_add(half)? / unit
    } else {
        us.checked_sub(half)? / unit
    };
    r.checked_mul(unit)
}

/// Parses a timestamp with up to nine fraction digits as nanoseconds since the epoch.
fn parse_nanos(s: &str) -> Option<i64> {
    let t = s.trim();
    // Split the digits past the sixth of the fraction off; the rest parses as a
    // TIMESTAMP.
    let mut extra = 0i64;
    let mut micros_text = t.to_string();
    if let Some(dot) = t.find('.').filter(|&d| d > 10) {
        let n = t[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if n > 6 {
            let sub = &t[dot + 7..dot + 1 + n];
            extra = (0..3).fold(0, |v, i| {
                v * 10 + sub.as_bytes().get(i).map_or(0, |c| i64::from(c - b'0'))
            });
            micros_text = format!("{}{}", &t[..dot + 7], &t[dot + 1 + n..]);
        }
    }
    let us = crate::time::parse_timestamp(&micros_text)?;
    us.checked_mul(NANOS_PER_MICRO)?.checked_add(extra)
}

/// Appends a value of TIMESTAMP type `t` as DuckDB prints it (TIMESTAMP_NS with up
/// to nine fraction digits).
pub fn write(out: &mut String, t: DataType, v: i64) {
    if t == DataType::TimestampTz {
        crate::time::write_timestamp(out, v);
        // UTC's offset; the infinities have none.
        if !crate::time::is_infinite_ts(v) {
            out.push_str("+00");
        }
        return;
    }
    if t != DataType::TimestampNs {
        crate::time::write_timestamp(out, v);
        return;
    }
    let secs = v.div_euclid(1_000_000_000);
    let nanos = v.rem_euclid(1_000_000_000);
    crate::time::write_timestamp(out, secs * MICROS_PER_SECOND);
    write_fraction(out, nanos, 9);
}

/// A value of TIMESTAMP type `t` as text.
pub fn format(t: DataType, v: i64) -> String {
    let mut s = String::with_capacity(29);
    write(&mut s, t, v);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_print_as_duckdb() {
        let t = |s: &str| parse_time(s).map(format_time);
        assert_eq!(t("12:34:56.789").as_deref(), Some("12:34:56.789"));
        assert_eq!(t("12:34").as_deref(), Some("12:34:00"));
        assert_eq!(t("1:02:03").as_deref(), Some("01:02:03"));
        assert_eq!(t("24:00:00").as_deref(), Some("24:00:00"));
        assert_eq!(t("12:00:00.000001").as_deref(), Some("12:00:00.000001"));
        assert_eq!(t("2020-01-01 12:00:00").as_deref(), Some("12:00:00"));
        assert_eq!(t("12:00:00+02").as_deref(), Some("12:00:00"));
        assert_eq!(t("25:00"), None);
        assert_eq!(t("24:00:01"), None);
        assert_eq!(t("12:60"), None);
        assert_eq!(t("noon"), None);
        assert_eq!(t(""), None);
    }

    #[test]
    fn coarse_timestamps_truncate_on_cast_and_round_from_text() {
        let us = crate::time::parse_timestamp("2020-01-01 01:02:03.123456").unwrap();
        let s = from_micros(DataType::TimestampS, us).unwrap();
        assert_eq!(format(DataType::TimestampS, s), "2020-01-01 01:02:03");
        let ms = from_micros(DataType::TimestampMs, us).unwrap();
        assert_eq!(format(DataType::TimestampMs, ms), "2020-01-01 01:02:03.123");
        // Toward zero before 1970, as DuckDB.
        assert_eq!(from_micros(DataType::TimestampS, -1), Some(0));
        let p = |t, s| parse(t, s).map(|v| format(t, v));
        assert_eq!(
            p(DataType::TimestampS, "2020-01-01 01:02:03.5").as_deref(),
            Some("2020-01-01 01:02:04")
        );
        assert_eq!(
            p(DataType::TimestampMs, "2020-01-01 01:02:03.5555").as_deref(),
            Some("2020-01-01 01:02:03.556")
        );
    }

    #[test]
    fn nanosecond_timestamps_keep_nine_digits_and_their_range() {
        let p = |s| parse(DataType::TimestampNs, s).map(|v| format(DataType::TimestampNs, v));
        assert_eq!(
            p("2020-01-01 01:02:03.123456789").as_deref(),
            Some("2020-01-01 01:02:03.123456789")
        );
        assert_eq!(
            p("2020-01-01 01:02:03.1").as_deref(),
            Some("2020-01-01 01:02:03.1")
        );
        assert_eq!(p("2020-01-01").as_deref(), Some("2020-01-01 00:00:00"));
        assert_eq!(
            p("1969-12-31 23:59:59.999999999").as_deref(),
            Some("1969-12-31 23:59:59.999999999")
        );
        assert_eq!(p("2263-04-12"), None);
        let ns = parse(DataType::TimestampNs, "1969-12-31 23:59:59.9999999").unwrap();
        assert_eq!(to_micros(DataType::TimestampNs, ns), 0);
        assert_eq!(from_micros(DataType::TimestampNs, i64::MAX), None);
    }
}
