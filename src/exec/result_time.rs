//! Reading time-typed cells of a [`QueryResult`](super::QueryResult): as the text
//! the shell prints (`String`) and as `jiff::Timestamp` (an instant) or
//! `jiff::civil::DateTime` (the UTC wall time, like chrono's `NaiveDateTime`).
//!
//! [`time_cell`] is the one place that knows how each time type (TIMESTAMP, DATE) is
//! stored; every getter of a time type converts from the [`TimeCell`] it returns.

use crate::column::{Column, ColumnData};
use crate::schema::DataType;
use crate::time::{format_date, format_timestamp, MICROS_PER_DAY};

/// A cell of a time type, as the getters of time types see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TimeCell {
    /// Microseconds since 1970-01-01 00:00:00 UTC (a date: its midnight).
    pub micros: i64,
    /// A date without a time of day (text `YYYY-MM-DD`).
    pub date_only: bool,
}

/// The cell as a time, when its column is of a time type.
pub(super) fn time_cell(c: &Column, row: usize, t: DataType) -> Option<TimeCell> {
    match (&c.data, t) {
        (ColumnData::Int64(v), DataType::Timestamp | DataType::TimestampTz) => Some(TimeCell {
            micros: v[row],
            date_only: false,
        }),
        // Days since the epoch (bounded so that every DATE is a TIMESTAMP too).
        (ColumnData::Int64(v), DataType::Date) => Some(TimeCell {
            micros: v[row].saturating_mul(MICROS_PER_DAY),
            date_only: true,
        }),
        _ => None,
    }
}

impl TimeCell {
    /// The text DuckDB (and the shell) prints: `2024-01-01 00:00:00[.ffffff]`, or
    /// `2024-01-01` for a date.
    pub fn text(self) -> String {
        if self.date_only {
            format_date(self.micros)
        } else {
            format_timestamp(self.micros)
        }
    }
}

fn time_of(c: &Column, row: usize, t: DataType, want: &str) -> Result<TimeCell, String> {
    time_cell(c, row, t).ok_or_else(|| format!("is {t} and cannot be read as {want}"))
}

impl<'a> super::FromValue<'a> for jiff::Timestamp {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> Result<Self, String> {
        let cell = time_of(c, row, t, "jiff::Timestamp")?;
        jiff::Timestamp::from_microsecond(cell.micros)
            .map_err(|e| format!("holds {}, outside jiff's range: {e}", cell.text()))
    }
}

impl<'a> super::FromValue<'a> for jiff::civil::DateTime {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> Result<Self, String> {
        let ts = <jiff::Timestamp as super::FromValue>::from_cell(c, row, t)?;
        Ok(jiff::tz::Offset::UTC.to_datetime(ts))
    }
}

/// Reads a time cell as its text; `None` when the column is not of a time type.
pub(super) fn time_text(c: &Column, row: usize, t: DataType) -> Option<String> {
    time_cell(c, row, t).map(TimeCell::text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_duckdb_text() {
        let c = Column::new(ColumnData::Int64(vec![1_704_067_200_000_000, 1_500_000]));
        assert_eq!(
            time_text(&c, 0, DataType::Timestamp).as_deref(),
            Some("2024-01-01 00:00:00")
        );
        assert_eq!(
            time_text(&c, 1, DataType::Timestamp).as_deref(),
            Some("1970-01-01 00:00:01.5")
        );
        assert_eq!(time_text(&c, 0, DataType::BigInt), None);
    }
}
