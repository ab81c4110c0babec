//! The INTERVAL operations a [`ScalarFunc::Interval`] names (arithmetic with
//! timestamps and numbers, `to_days`-style constructors, `date_part`,
//! `date_trunc`, `age`), with DuckDB's meaning; their kernels are in
//! `exec/interval.rs`, the value type in `crate::interval`.
//!
//! [`ScalarFunc::Interval`]: super::ScalarFunc::Interval

use crate::interval::Unit;

/// One interval operation. Arguments are listed in order; a TIMESTAMP is
/// microseconds, an INTERVAL a packed 128-bit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntervalFunc {
    /// `ts + iv` (`negate`: `ts - iv`) -> TIMESTAMP; months clamp the day.
    AddToTimestamp { negate: bool },
    /// `ts1 - ts2` -> INTERVAL of days and micros.
    TimestampDiff,
    /// `ts1 - ts2` in microseconds -> BIGINT, failing where `TimestampDiff`
    /// does (not SQL-visible: comparisons with a constant interval,
    /// `plan/interval_compare.rs`).
    TimestampDiffMicros,
    /// `a + b` / `a - b` (`negate`) -> INTERVAL, part by part.
    Add { negate: bool },
    /// `-iv`.
    Negate,
    /// `iv * n` for a BIGINT n.
    MulInt,
    /// `iv * x` (`divide`: `iv / x`) for a DOUBLE x, fractions cascading down.
    MulDouble { divide: bool },
    /// `to_<unit>(n)` / `INTERVAL (n) unit` for a BIGINT n.
    FromInt(Unit),
    /// `to_seconds(x)` and the like for a DOUBLE x.
    FromDouble(Unit),
    /// `date_part(part, iv)` -> BIGINT.
    Part(IntervalPart),
    /// `epoch(iv)` / `date_part('epoch', iv)` -> DOUBLE seconds.
    Epoch,
    /// `date_trunc(unit, iv)` -> INTERVAL.
    Trunc(Unit),
    /// `age(ts1, ts2)` -> INTERVAL in years, months, days and time.
    Age,
    /// A comparison key whose order is the normalized order (not SQL-visible;
    /// used by sorting and grouping helpers).
    OrderKey,
}

/// The fields `date_part` reads from an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntervalPart {
    Millennium,
    Century,
    Decade,
    Year,
    Quarter,
    Month,
    Day,
    Hour,
    Minute,
    /// Whole seconds within the minute.
    Second,
    /// Milliseconds within the minute (seconds * 1000 + ms).
    Millisecond,
    /// Microseconds within the minute.
    Microsecond,
    /// Nanoseconds within the minute.
    Nanosecond,
    /// The whole interval in milliseconds, microseconds or nanoseconds (a month
    /// is 30 days).
    EpochMs,
    EpochUs,
    EpochNs,
}

impl IntervalPart {
    /// The interval field a date-part name selects; `None` for names DuckDB
    /// refuses on intervals (`dow`, `week`, ...).
    pub fn parse(name: &str) -> Option<IntervalPart> {
        use IntervalPart as P;
        Some(match name.to_ascii_lowercase().as_str() {
            "millennium" | "millennia" | "millenium" | "mil" | "mils" => P::Millennium,
            "century" | "centuries" | "c" | "cent" => P::Century,
            "decade" | "decades" | "dec" | "decs" => P::Decade,
            "year" | "years" | "y" | "yr" | "yrs" => P::Year,
            "quarter" | "quarters" => P::Quarter,
            "month" | "months" | "mon" | "mons" => P::Month,
            "day" | "days" | "d" | "dayofmonth" => P::Day,
            "hour" | "hours" | "h" | "hr" | "hrs" => P::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => P::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => P::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => P::Millisecond,
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => P::Microsecond,
            _ => return None,
        })
    }
}
