//! INTERVAL values as DuckDB has them: whole months, whole days and microseconds,
//! three independent signed parts (`1 month` is not `30 days` for arithmetic, but
//! compares equal to it).
//!
//! In memory and on disk an interval is one 128-bit value ([`Interval::pack`]):
//! months in the top 32 bits, days in the next 32, microseconds in the low 64,
//! each with its sign bit flipped, so the raw order of packed values is the order
//! of (months, days, micros). SQL comparisons, sorting and grouping use
//! [`Interval::order_key`] instead, which normalizes first (DuckDB: 24 hours carry
//! into a day, 30 days into a month).
//!
//! Text: [`parse`] reads DuckDB's input forms (`1 year 2 months 3 days 04:05:06.789`,
//! `2 hours ago`, `@ 1 day`, a bare number of seconds); [`format`] prints as DuckDB
//! does (`1 year 2 months 3 days 04:05:06.789`, `00:00:00`, `-1 day -01:00:00`).

use std::cmp::Ordering;

use crate::time::{
    civil_from_days, days_from_civil, is_valid_date, MICROS_PER_DAY, MICROS_PER_HOUR,
    MICROS_PER_MINUTE, MICROS_PER_SECOND,
};

/// Days in a month and months in a year, for normalization and conversions.
pub const DAYS_PER_MONTH: i64 = 30;
pub const MONTHS_PER_YEAR: i64 = 12;
/// Microseconds in a month of 30 days (DuckDB's `epoch` and `to_*` conversions).
pub const MICROS_PER_MONTH: i64 = DAYS_PER_MONTH * MICROS_PER_DAY;

/// One INTERVAL value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

const SIGN32: u32 = 1 << 31;
const SIGN64: u64 = 1 << 63;

impl Interval {
    pub const ZERO: Interval = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };

    pub fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// An interval of `micros` microseconds split as DuckDB's timestamp difference
    /// does: whole days and the remaining microseconds (same sign), no months.
    pub fn from_micros(micros: i64) -> Interval {
        Interval {
            months: 0,
            days: (micros / MICROS_PER_DAY) as i32,
            micros: micros % MICROS_PER_DAY,
        }
    }

    /// The 128-bit form held in vectors and segments.
    pub fn pack(self) -> u128 {
        let m = (self.months as u32 ^ SIGN32) as u128;
        let d = (self.days as u32 ^ SIGN32) as u128;
        let u = (self.micros as u64 ^ SIGN64) as u128;
        (m << 96) | (d << 64) | u
    }

    /// The inverse of [`Interval::pack`].
    pub fn unpack(x: u128) -> Interval {
        Interval {
            months: ((x >> 96) as u32 ^ SIGN32) as i32,
            days: ((x >> 64) as u32 ^ SIGN32) as i32,
            micros: (x as u64 ^ SIGN64) as i64,
        }
    }

    /// DuckDB's normalized parts: micros beyond a day carry into days, days beyond
    /// 30 into months (each remainder keeps its sign).
    pub fn normalized(self) -> (i64, i64, i64) {
        let micros = self.micros % MICROS_PER_DAY;
        let days = i64::from(self.days) + self.micros / MICROS_PER_DAY;
        let months = i64::from(self.months) + days / DAYS_PER_MONTH;
        (months, days % DAYS_PER_MONTH, micros)
    }

    /// A key whose unsigned order is DuckDB's order of intervals and whose equality
    /// is DuckDB's equality (`INTERVAL '30 days' = INTERVAL '1 month'`).
    pub fn order_key(self) -> u128 {
        let (m, d, u) = self.normalized();
        // |m| < 2^33, |d| < 30, |u| < 2^37: biased into disjoint bit ranges.
        let m = (m + (1 << 40)) as u128;
        let d = (d + 64) as u128;
        let u = (u + (1 << 40)) as u128;
        (m << 56) | (d << 48) | u
    }

    /// The order key of a packed value.
    pub fn key_of(x: u128) -> u128 {
        Interval::unpack(x).order_key()
    }

    /// DuckDB's comparison of two intervals.
    pub fn compare(self, other: Interval) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }

    /// The interval's length in microseconds with a month of 30 days, as i128
    /// (never overflows).
    pub fn total_micros(self) -> i128 {
        i128::from(self.months) * i128::from(MICROS_PER_MONTH)
            + i128::from(self.days) * i128::from(MICROS_PER_DAY)
            + i128::from(self.micros)
    }

    /// The interval's length in seconds, DuckDB's `epoch(interval)`: a year is
    /// 365.25 days, a month the twelfth of that, a day 24 hours.
    pub fn epoch_seconds(self) -> f64 {
        let years = i64::from(self.months / 12);
        let months = i64::from(self.months % 12);
        let secs_per_year = 365.25 * 86_400.0;
        years as f64 * secs_per_year
            + months as f64 * (DAYS_PER_MONTH as f64 * 86_400.0)
            + f64::from(self.days) * 86_400.0
            + self.micros as f64 / MICROS_PER_SECOND as f64
    }

    /// Negation; `None` when a part is its type's minimum.
    pub fn checked_neg(self) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_neg()?,
            days: self.days.checked_neg()?,
            micros: self.micros.checked_neg()?,
        })
    }

    /// Part-wise sum; `None` on overflow of a part.
    pub fn checked_add(self, o: Interval) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_add(o.months)?,
            days: self.days.checked_add(o.days)?,
            micros: self.micros.checked_add(o.micros)?,
        })
    }

    /// Part-wise difference; `None` on overflow of a part.
    pub fn checked_sub(self, o: Interval) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_sub(o.months)?,
            days: self.days.checked_sub(o.days)?,
            micros: self.micros.checked_sub(o.micros)?,
        })
    }

    /// Multiplication by an integer (part-wise); `None` on overflow.
    pub fn checked_mul_int(self, n: i64) -> Option<Interval> {
        let n32 = i32::try_from(n).ok()?;
        Some(Interval {
            months: self.months.checked_mul(n32)?,
            days: self.days.checked_mul(n32)?,
            micros: self.micros.checked_mul(n)?,
        })
    }

    /// Multiplication by a DOUBLE as DuckDB (and PostgreSQL) do it: whole months and
    /// days, their fractions cascaded down into days and microseconds; `None` on
    /// overflow.
    pub fn checked_mul_f64(self, f: f64) -> Option<Interval> {
        let fits32 = |d: f64| !d.is_nan() && d >= f64::from(i32::MIN) && d <= f64::from(i32::MAX);
        let m = f64::from(self.months) * f;
        if !fits32(m) {
            return None;
        }
        let months = m as i32;
        let d = f64::from(self.days) * f;
        if !fits32(d) {
            return None;
        }
        let mut days = d as i32;
        let round_micro = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let month_rem = round_micro((m - f64::from(months)) * DAYS_PER_MONTH as f64);
        let day_rem = month_rem as i32;
        let mut sec_rem =
            round_micro((d - f64::from(days) + month_rem - f64::from(day_rem)) * 86_400.0);
        if sec_rem.abs() >= 86_400.0 {
            let whole = (sec_rem / 86_400.0) as i32;
            days = days.checked_add(whole)?;
            sec_rem -= f64::from(whole) * 86_400.0;
        }
        days = days.checked_add(day_rem)?;
        let u = (self.micros as f64 * f + sec_rem * 1e6).round_ties_even();
        if u.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&u) {
            return None;
        }
        Some(Interval {
            months,
            days,
            micros: u as i64,
        })
    }
}

/// `ts + iv` for a timestamp in microseconds: months first (the day clamped to the
/// target month's length, as DuckDB), then days, then microseconds; `None` when
/// the result leaves the timestamp range.
pub fn add_to_timestamp(ts: i64, iv: Interval) -> Option<i64> {
    let mut day = ts.div_euclid(MICROS_PER_DAY);
    let time = ts.rem_euclid(MICROS_PER_DAY);
    if iv.months != 0 {
        day = add_months_to_day(day, i64::from(iv.months))?;
    }
    day = day.checked_add(i64::from(iv.days))?;
    if !(-106_000_000..=106_000_000).contains(&day) {
        return None;
    }
    day.checked_mul(MICROS_PER_DAY)?
        .checked_add(time)?
        .checked_add(iv.micros)
        .filter(|r| (crate::time::TS_MIN..=crate::time::TS_MAX).contains(r))
}

/// The day `months` calendar months after `day` (days since the epoch), the day
/// of the month clamped to the target month's length.
pub fn add_months_to_day(day: i64, months: i64) -> Option<i64> {
    let (y, m, d) = civil_from_days(day);
    let total = y
        .checked_mul(12)?
        .checked_add(i64::from(m) - 1)?
        .checked_add(months)?;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    if !(-290_000..=290_000).contains(&ny) {
        return None;
    }
    let mut nd = d;
    while !is_valid_date(ny, nm, nd) {
        nd -= 1;
    }
    Some(days_from_civil(ny, nm, nd))
}

/// DuckDB's `age(a, b)`: the difference in years, months, days and time of day,
/// borrowing from the larger unit field by field.
pub fn age(a: i64, b: i64) -> Interval {
    let parts = |ts: i64| {
        let (y, m, d) = civil_from_days(ts.div_euclid(MICROS_PER_DAY));
        let t = ts.rem_euclid(MICROS_PER_DAY);
        (
            y,
            i64::from(m),
            i64::from(d),
            t / MICROS_PER_HOUR,
            t % MICROS_PER_HOUR / MICROS_PER_MINUTE,
            t % MICROS_PER_MINUTE / MICROS_PER_SECOND,
            t % MICROS_PER_SECOND,
        )
    };
    let (p1, p2) = (parts(a), parts(b));
    let negative = a < b;
    let sign = if negative { -1 } else { 1 };
    let mut year = sign * (p1.0 - p2.0);
    let mut month = sign * (p1.1 - p2.1);
    let mut day = sign * (p1.2 - p2.2);
    let mut hour = sign * (p1.3 - p2.3);
    let mut min = sign * (p1.4 - p2.4);
    let mut sec = sign * (p1.5 - p2.5);
    let mut micro = sign * (p1.6 - p2.6);
    while micro < 0 {
        micro += MICROS_PER_SECOND;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        day -= 1;
    }
    while day < 0 {
        // The length of the month of the earlier timestamp.
        let (y, m) = if negative { (p1.0, p1.1) } else { (p2.0, p2.1) };
        day += month_days(y, m as u32);
        month -= 1;
    }
    while month < 0 {
        month += 12;
        year -= 1;
    }
    let micros = hour * MICROS_PER_HOUR + min * MICROS_PER_MINUTE + sec * MICROS_PER_SECOND + micro;
    Interval {
        months: (sign * (year * 12 + month)) as i32,
        days: (sign * day) as i32,
        micros: sign * micros,
    }
}

fn month_days(year: i64, month: u32) -> i64 {
    (28..=31u32)
        .rev()
        .find(|&d| is_valid_date(year, month, d))
        .map_or(30, i64::from)
}

/// The units of interval text and of `INTERVAL n unit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    Millennium,
    Century,
    Decade,
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

impl Unit {
    /// DuckDB's spellings of an interval unit (case-insensitive); `None` otherwise.
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s.to_ascii_lowercase().as_str() {
            "millennium" | "millennia" | "millenium" | "mil" | "mils" | "millenniums" => {
                Unit::Millennium
            }
            "century" | "centuries" | "c" | "cent" => Unit::Century,
            "decade" | "decades" | "dec" | "decs" => Unit::Decade,
            "year" | "years" | "y" | "yr" | "yrs" => Unit::Year,
            "quarter" | "quarters" => Unit::Quarter,
            "month" | "months" | "mon" | "mons" => Unit::Month,
            "week" | "weeks" | "w" => Unit::Week,
            "day" | "days" | "d" => Unit::Day,
            "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => Unit::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => Unit::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => {
                Unit::Millisecond
            }
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => {
                Unit::Microsecond
            }
            _ => return None,
        })
    }

    /// Months in one unit, for the month-based units.
    pub fn months(self) -> Option<i64> {
        Some(match self {
            Unit::Millennium => 12_000,
            Unit::Century => 1_200,
            Unit::Decade => 120,
            Unit::Year => 12,
            Unit::Quarter => 3,
            Unit::Month => 1,
            _ => return None,
        })
    }

    /// Microseconds in one unit, for the units below a day.
    pub fn micros(self) -> Option<i64> {
        Some(match self {
            Unit::Hour => MICROS_PER_HOUR,
            Unit::Minute => MICROS_PER_MINUTE,
            Unit::Second => MICROS_PER_SECOND,
            Unit::Millisecond => 1_000,
            Unit::Microsecond => 1,
            _ => return None,
        })
    }

    /// `n` of this unit (`to_days(n)`, `INTERVAL n DAY`); `None` when a part
    /// overflows.
    pub fn of_int(self, n: i64) -> Option<Interval> {
        if let Some(m) = self.months() {
            return Some(Interval::new(i32::try_from(n.checked_mul(m)?).ok()?, 0, 0));
        }
        match self {
            Unit::Week => Some(Interval::new(0, i32::try_from(n.checked_mul(7)?).ok()?, 0)),
            Unit::Day => Some(Interval::new(0, i32::try_from(n).ok()?, 0)),
            _ => Some(Interval::new(0, 0, n.checked_mul(self.micros()?)?)),
        }
    }

    /// `x` of this unit for a DOUBLE `x` (`to_seconds(1.5)`): DuckDB takes only
    /// the units of at most a day fractional; the micros are rounded.
    pub fn of_f64(self, x: f64) -> Option<Interval> {
        let per = match self {
            Unit::Week => 7 * MICROS_PER_DAY,
            Unit::Day => MICROS_PER_DAY,
            other => other.micros()?,
        };
        let u = (x * per as f64).round_ties_even();
        if u.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&u) {
            return None;
        }
        Some(Interval::new(0, 0, u as i64))
    }
}

/// Parses interval text as DuckDB's cast from VARCHAR does; the error is DuckDB's
/// conversion message.
pub fn parse(text: &str) -> Result<Interval, String> {
    parse_inner(text)
        .ok_or_else(|| format!("Conversion Error: could not convert string '{text}' to INTERVAL"))
}

fn parse_inner(text: &str) -> Option<Interval> {
    let b = text.as_bytes();
    let mut pos = 0;
    let mut iv = Interval::ZERO;
    let mut found = false;
    if b.first() == Some(&b'@') {
        pos = 1;
    }
    let space = |c: u8| c == b' ' || c == b'\t' || c == b'\n';
    loop {
        while pos < b.len() && space(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            return found.then_some(iv);
        }
        let c = b[pos];
        let negative = c == b'-';
        if negative {
            pos += 1;
        } else if c == b'a' || c == b'A' {
            // `ago`: the end, negating everything.
            let rest = &text[pos..];
            if rest.len() < 3 || !rest[..3].eq_ignore_ascii_case("ago") {
                return None;
            }
            if !rest[3..].bytes().all(space) || !found {
                return None;
            }
            return iv.checked_neg();
        } else if !c.is_ascii_digit() {
            return None;
        }
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos < b.len() && b[pos] == b':' {
            // A time `h:m[:s[.f]]` ends the text.
            let t = parse_time(&text[start..])?;
            let t = if negative { -t } else { t };
            iv.micros = iv.micros.checked_add(t)?;
            return Some(iv);
        }
        if pos == start {
            return None;
        }
        let number: i64 = text[start..pos].parse().ok()?;
        let mut frac = 0.0;
        if pos < b.len() && b[pos] == b'.' {
            let fs = pos;
            pos += 1;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            // DuckDB reads at most six digits of a fraction.
            if pos > fs + 1 {
                frac = text[fs..pos.min(fs + 7)].parse::<f64>().ok()?;
            }
        }
        let (number, frac) = if negative {
            (-number, -frac)
        } else {
            (number, frac)
        };
        while pos < b.len() && space(b[pos]) {
            pos += 1;
        }
        let us = pos;
        while pos < b.len() && b[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit_text = &text[us..pos];
        if unit_text.is_empty() {
            // A bare number is seconds, and must be the whole text.
            if found || !text[pos..].bytes().all(space) {
                return None;
            }
            let micros = number.checked_mul(MICROS_PER_SECOND)?;
            let micros = micros.checked_add(round_frac(frac, MICROS_PER_SECOND)?)?;
            iv.micros = iv.micros.checked_add(micros)?;
            return Some(iv);
        }
        let unit = Unit::parse(unit_text)?;
        add_unit(&mut iv, unit, number, frac)?;
        found = true;
    }
}

/// `frac * multiplier` rounded, if it is not negligible.
fn round_frac(frac: f64, multiplier: i64) -> Option<i64> {
    if frac.abs() <= 1e-10 {
        return Some(0);
    }
    let x = (frac * multiplier as f64).round();
    (x.abs() < 9.2e18).then_some(x as i64)
}

fn add32(target: &mut i32, n: i64) -> Option<()> {
    *target = target.checked_add(i32::try_from(n).ok()?)?;
    Some(())
}

fn add64(target: &mut i64, n: i64) -> Option<()> {
    *target = target.checked_add(n)?;
    Some(())
}

/// Adds `number.frac` of `unit` to `iv` as DuckDB's parser does: month-based
/// units keep a fraction of a month as days (and a fraction of a day as
/// microseconds), weeks and days keep a fraction of a day as microseconds.
fn add_unit(iv: &mut Interval, unit: Unit, number: i64, frac: f64) -> Option<()> {
    match unit {
        Unit::Millennium | Unit::Century | Unit::Decade | Unit::Year => {
            let per = unit.months().unwrap_or(12);
            add32(&mut iv.months, number.checked_mul(per)?)?;
            add32(&mut iv.months, round_frac(frac, per)?)
        }
        Unit::Quarter | Unit::Month => {
            let per = unit.months().unwrap_or(1);
            add32(&mut iv.months, number.checked_mul(per)?)?;
            let months = frac * per as f64;
            let whole_months = months as i64;
            add32(&mut iv.months, whole_months)?;
            let days = (months - whole_months as f64) * DAYS_PER_MONTH as f64;
            let whole_days = days as i64;
            add32(&mut iv.days, whole_days)?;
            add64(
                &mut iv.micros,
                round_frac(days - whole_days as f64, MICROS_PER_DAY)?,
            )
        }
        Unit::Week | Unit::Day => {
            let per = if unit == Unit::Week { 7 } else { 1 };
            add32(&mut iv.days, number.checked_mul(per)?)?;
            let days = frac * per as f64;
            let whole_days = days as i64;
            add32(&mut iv.days, whole_days)?;
            add64(
                &mut iv.micros,
                round_frac(days - whole_days as f64, MICROS_PER_DAY)?,
            )
        }
        Unit::Microsecond => {
            add64(&mut iv.micros, number)?;
            add64(&mut iv.micros, round_frac(frac, 1)?)
        }
        _ => {
            let per = unit.micros().unwrap_or(1);
            add64(&mut iv.micros, number.checked_mul(per)?)?;
            add64(&mut iv.micros, round_frac(frac, per)?)
        }
    }
}

/// `h:m[:s[.ffffff]]` (hours may be large; minutes and seconds below 60), as
/// microseconds; trailing spaces are allowed.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim_end_matches([' ', '\t', '\n']);
    let mut parts = s.splitn(3, ':');
    let num = |p: &str| -> Option<i64> {
        (!p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let h = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    if m > 59 {
        return None;
    }
    let mut micros = h
        .checked_mul(MICROS_PER_HOUR)?
        .checked_add(m * MICROS_PER_MINUTE)?;
    // An empty seconds field (`00:00:`) is zero seconds, as in DuckDB.
    if let Some(sec) = parts.next().filter(|s| !s.is_empty()) {
        let (whole, frac) = match sec.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (sec, None),
        };
        let sec = num(whole)?;
        if sec > 59 {
            return None;
        }
        micros = micros.checked_add(sec * MICROS_PER_SECOND)?;
        if let Some(f) = frac {
            if !f.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let digits: String = f.chars().take(6).collect();
            let mut x: i64 = if digits.is_empty() {
                0
            } else {
                digits.parse().ok()?
            };
            for _ in digits.len()..6 {
                x *= 10;
            }
            micros = micros.checked_add(x)?;
        }
    }
    Some(micros)
}

/// The interval as DuckDB prints it.
pub fn format(iv: Interval) -> String {
    let mut out = String::new();
    write(&mut out, iv);
    out
}

/// Appends the interval as DuckDB prints it.
pub fn write(out: &mut String, iv: Interval) {
    use std::fmt::Write;
    let start = out.len();
    let part = |out: &mut String, n: i64, unit: &str| {
        if out.len() > start {
            out.push(' ');
        }
        let _ = write!(out, "{n} {unit}");
        if n != 1 && n != -1 {
            out.push('s');
        }
    };
    if iv.months != 0 {
        let years = iv.months / 12;
        let months = iv.months - years * 12;
        if years != 0 {
            part(out, i64::from(years), "year");
        }
        if months != 0 {
            part(out, i64::from(months), "month");
        }
    }
    if iv.days != 0 {
        part(out, i64::from(iv.days), "day");
    }
    if iv.micros != 0 {
        if out.len() > start {
            out.push(' ');
        }
        if iv.micros < 0 {
            out.push('-');
        }
        let u = iv.micros.unsigned_abs();
        let (h, rest) = (u / MICROS_PER_HOUR as u64, u % MICROS_PER_HOUR as u64);
        let (m, rest) = (
            rest / MICROS_PER_MINUTE as u64,
            rest % MICROS_PER_MINUTE as u64,
        );
        let (s, f) = (
            rest / MICROS_PER_SECOND as u64,
            rest % MICROS_PER_SECOND as u64,
        );
        let _ = write!(out, "{h:02}:{m:02}:{s:02}");
        if f != 0 {
            let digits = format!("{f:06}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
    } else if out.len() == start {
        out.push_str("00:00:00");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Interval {
        parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_duckdb_forms() {
        let cases = [
            (
                "1 year 2 months 3 days 04:05:06.789",
                "1 year 2 months 3 days 04:05:06.789",
            ),
            ("-1 year -2 days -00:00:01", "-1 year -2 days -00:00:01"),
            ("0 days", "00:00:00"),
            ("-1 day 01:00:00", "-1 day 01:00:00"),
            ("48:00:00", "48:00:00"),
            ("1 microsecond", "00:00:00.000001"),
            ("1.5 days", "1 day 12:00:00"),
            ("1.5 months", "1 month 15 days"),
            ("1.5 years", "1 year 6 months"),
            ("1.5 weeks", "10 days 12:00:00"),
            ("1:2", "01:02:00"),
            ("1:2:3.5", "01:02:03.5"),
            ("-1:2:3", "-01:02:03"),
            ("100", "00:01:40"),
            ("1 decade 1 century 1 millennium", "1110 years"),
            ("2 quarters", "6 months"),
            ("5 ms 3 us", "00:00:00.005003"),
            ("1 day 2 day", "3 days"),
            ("1day", "1 day"),
            ("  1   day  ", "1 day"),
            ("1 year 2 months ago", "-1 year -2 months"),
            ("@ 1 day", "1 day"),
            ("1.7 months", "1 month 21 days"),
            ("1.01 months", "1 month 07:12:00"),
            ("-1.5 days", "-1 day -12:00:00"),
            ("0.5 hours", "00:30:00"),
            ("25 hours", "25:00:00"),
            ("1000000 seconds", "277:46:40"),
            ("31.123456789", "00:00:31.123456"),
            ("00:00:", "00:00:00"),
            ("1.5 microsecond", "00:00:00.000002"),
            ("-1.5 microsecond", "-00:00:00.000002"),
            (
                "2147483647 months 2147483647 days 9223372036854775807 microseconds",
                "178956970 years 7 months 2147483647 days 2562047788:00:54.775807",
            ),
        ];
        for (text, printed) in cases {
            assert_eq!(format(p(text)), printed, "{text}");
        }
        for bad in [
            "",
            "hello",
            "-",
            "1 dow",
            "+1 month",
            "P1Y",
            "10:70:00",
            "2147483648 months",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compares_normalized() {
        assert_eq!(p("30 days").compare(p("1 month")), Ordering::Equal);
        assert_eq!(p("1 year").compare(p("12 months")), Ordering::Equal);
        assert_eq!(
            p("28 days 432000 seconds").compare(p("1 month 3 days")),
            Ordering::Equal
        );
        assert_eq!(p("31 days").compare(p("1 month")), Ordering::Greater);
        assert_eq!(p("30 hours").compare(p("1 day")), Ordering::Greater);
        assert_eq!(
            p("29 days 700 hours").compare(p("2 months")),
            Ordering::Less
        );
        assert_eq!(
            p("59 days").compare(p("29 days 700 hours")),
            Ordering::Greater
        );
        assert_eq!(p("-1734799452 days").compare(p("2 days")), Ordering::Less);
    }

    #[test]
    fn month_arithmetic_clamps_the_day() {
        let ts = crate::time::parse_timestamp("2020-01-31 10:00:00").unwrap();
        let r = add_to_timestamp(ts, p("1 month")).unwrap();
        assert_eq!(crate::time::format_timestamp(r), "2020-02-29 10:00:00");
        let r = add_to_timestamp(ts, p("-1 month")).unwrap();
        assert_eq!(crate::time::format_timestamp(r), "2019-12-31 10:00:00");
    }

    #[test]
    fn age_borrows_like_duckdb() {
        let t = |s: &str| crate::time::parse_timestamp(s).unwrap();
        assert_eq!(
            format(age(t("2001-04-10"), t("1957-06-13"))),
            "43 years 9 months 27 days"
        );
        assert_eq!(
            format(age(t("2001-04-10 12:00:00"), t("2001-04-10 13:00:00"))),
            "-01:00:00"
        );
    }

    #[test]
    fn multiplies_by_fractions() {
        let x = p("1 month 1 day 1 hour");
        assert_eq!(format(x.checked_mul_f64(0.7).unwrap()), "21 days 17:30:00");
        assert_eq!(
            format(p("1 month").checked_mul_f64(1.0 / 3.0).unwrap()),
            "10 days"
        );
        assert_eq!(
            format(p("-5 months").checked_mul_f64(0.5).unwrap()),
            "-2 months -15 days"
        );
        assert_eq!(
            format(p("1 year").checked_mul_f64(0.333).unwrap()),
            "3 months 29 days 21:07:12"
        );
    }

    fn any_interval() -> impl Strategy<Value = Interval> {
        (any::<i32>(), any::<i32>(), (i64::MIN + 1)..=i64::MAX)
            .prop_map(|(m, d, u)| Interval::new(m, d, u))
    }

    proptest! {
        #[test]
        fn pack_round_trips(iv in any_interval()) {
            prop_assert_eq!(Interval::unpack(iv.pack()), iv);
        }

        #[test]
        fn printed_text_parses_back(iv in any_interval()) {
            prop_assert_eq!(parse(&format(iv)), Ok(iv));
        }

        #[test]
        fn key_order_is_normalized_order(a in any_interval(), b in any_interval()) {
            let (x, y) = (a.normalized(), b.normalized());
            prop_assert_eq!(a.order_key().cmp(&b.order_key()), x.cmp(&y));
        }
    }
}
