//! `mad(x)`: the median absolute deviation, `median(|x - median(x)|)`, exact
//! (every value of a group kept). Numbers give a DOUBLE, a DECIMAL its own type
//! (both medians truncated to its last digit, as DuckDB's DECIMAL medians are),
//! DATE, TIMESTAMP and TIME an INTERVAL of days and microseconds, computed on
//! the exact microseconds (a median between two values is the upper one's side
//! of their midpoint, as DuckDB rounds it).

use super::quantile::quantile_sorted;
use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::vector;
use crate::interval::Interval;
use crate::schema::DataType;

const MICROS_PER_DAY: f64 = 86_400_000_000.0;

#[derive(Clone, Debug)]
pub(super) struct Mad {
    vals: Vec<Vec<f64>>,
    /// DATE, TIMESTAMP and TIME: the values in microseconds (`vals` stays empty).
    micros: Option<Vec<Vec<i64>>>,
    /// What one unit of the argument is worth in the result's unit
    /// (microseconds per day for a DATE, else 1).
    unit: f64,
}

impl Mad {
    /// The state for an argument of type `at`.
    pub(super) fn new(at: DataType) -> Mad {
        Mad {
            vals: Vec::new(),
            micros: matches!(at, DataType::Date | DataType::Timestamp | DataType::Time)
                .then(Vec::new),
            unit: if at == DataType::Date {
                MICROS_PER_DAY
            } else {
                1.0
            },
        }
    }
}

impl GroupStates for Mad {
    fn resize(&mut self, n: usize) {
        match &mut self.micros {
            Some(m) => m.resize_with(n, Vec::new),
            None => self.vals.resize_with(n, Vec::new),
        }
    }

    fn empty_like(&self) -> Mad {
        Mad {
            vals: Vec::new(),
            micros: self.micros.as_ref().map(|_| Vec::new()),
            unit: self.unit,
        }
    }

    fn group_bytes(&self) -> usize {
        24
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        if let Some(micros) = &mut self.micros {
            let x = vector::ints(v, b.len)?;
            let unit = self.unit as i64;
            let mut added = 0usize;
            for (r, g) in b.pairs() {
                if v.is_valid(r) {
                    micros[g].push(x[r].saturating_mul(unit));
                    added += 1;
                }
            }
            *grown += added * 8;
            return Ok(());
        }
        let x = vector::floats(v, b.len)?;
        let mut added = 0usize;
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                self.vals[g].push(x[r] * self.unit);
                added += 1;
            }
        }
        *grown += added * 8;
        Ok(())
    }

    fn merge(&mut self, other: Mad, map: &[u32]) -> Result<()> {
        if let (Some(mine), Some(theirs)) = (&mut self.micros, other.micros) {
            for (g, v) in theirs.into_iter().enumerate() {
                mine[map[g] as usize].extend(v);
            }
            return Ok(());
        }
        for (g, v) in other.vals.into_iter().enumerate() {
            self.vals[map[g] as usize].extend(v);
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let exact = t.decimal().is_some();
        let mut out = Column::new(ColumnData::empty(t.physical()));
        let mut buf = Vec::new();
        if let Some(micros) = &self.micros {
            let mut scratch = Vec::new();
            for v in micros {
                let value = match mad_micros(v, &mut scratch) {
                    None => Value::Null,
                    Some(d) => Value::Ip(Interval::from_micros(d).pack()),
                };
                vector::push_value(&mut out, &value);
            }
            return Ok(out);
        }
        for v in &self.vals {
            let value = match mad(v, exact, &mut buf) {
                None => Value::Null,
                Some(d) if t == DataType::Interval => {
                    Value::Ip(Interval::from_micros(d.round() as i64).pack())
                }
                Some(d) if exact => Value::Int(d as i64),
                Some(d) => Value::Float(d),
            };
            vector::push_value(&mut out, &value);
        }
        Ok(out)
    }
}

/// The median absolute deviation of `v` (`exact`: medians truncated toward
/// zero, for DECIMALs as scaled integers); `buf` is scratch.
fn mad(v: &[f64], exact: bool, buf: &mut Vec<f64>) -> Option<f64> {
    let median = |s: &mut Vec<f64>| {
        s.sort_unstable_by(f64::total_cmp);
        quantile_sorted(s, 0.5).map(|m| if exact { m.trunc() } else { m })
    };
    buf.clear();
    buf.extend_from_slice(v);
    let m = median(buf)?;
    for x in buf.iter_mut() {
        *x = (*x - m).abs();
    }
    median(buf)
}

/// The median absolute deviation of microsecond values, exact: a median between
/// two values is `lo + ceil((hi - lo) / 2)`, as DuckDB's.
fn mad_micros(v: &[i64], buf: &mut Vec<i128>) -> Option<i64> {
    let median = |s: &mut Vec<i128>| -> Option<i128> {
        s.sort_unstable();
        let n = s.len();
        if n == 0 {
            return None;
        }
        let (lo, hi) = (s[(n - 1) / 2], s[n / 2]);
        Some(lo + (hi - lo + 1) / 2)
    };
    buf.clear();
    buf.extend(v.iter().map(|&x| i128::from(x)));
    let m = median(buf)?;
    for x in buf.iter_mut() {
        *x = (*x - m).abs();
    }
    median(buf).map(|d| i64::try_from(d).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::mad;

    #[test]
    fn mad_is_the_median_of_the_distances_to_the_median() {
        let mut buf = Vec::new();
        assert_eq!(mad(&[], false, &mut buf), None);
        assert_eq!(mad(&[7.0], false, &mut buf), Some(0.0));
        // Median 3; distances 2, 1, 1, 5.
        assert_eq!(mad(&[8.0, 1.0, 4.0, 2.0], false, &mut buf), Some(1.5));
        // Median 3; distances 2, 1, 1, 6: 1.5 truncated.
        assert_eq!(mad(&[1.0, 2.0, 4.0, 9.0], true, &mut buf), Some(1.0));
        assert_eq!(mad(&[-1e308, 1e308], false, &mut buf), Some(1e308));
    }
}
