//! `mad(x)`: the median absolute deviation, `median(|x - median(x)|)`, exact
//! (every value of a group kept). Numbers give a DOUBLE, a DECIMAL its own type
//! (both medians truncated to its last digit, as DuckDB's DECIMAL medians are),
//! DATE, TIMESTAMP and TIME an INTERVAL of days and microseconds.

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
    /// What one unit of the argument is worth in the result's unit
    /// (microseconds per day for a DATE, else 1).
    unit: f64,
}

impl Mad {
    /// The state for an argument of type `at`.
    pub(super) fn new(at: DataType) -> Mad {
        Mad {
            vals: Vec::new(),
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
        self.vals.resize_with(n, Vec::new);
    }

    fn empty_like(&self) -> Mad {
        Mad {
            vals: Vec::new(),
            unit: self.unit,
        }
    }

    fn group_bytes(&self) -> usize {
        24
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
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
        for (g, v) in other.vals.into_iter().enumerate() {
            self.vals[map[g] as usize].extend(v);
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let exact = t.decimal().is_some();
        let mut out = Column::new(ColumnData::empty(t.physical()));
        let mut buf = Vec::new();
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
