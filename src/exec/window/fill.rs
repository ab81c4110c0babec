//! `fill(x [ORDER BY k])`: x with its NULLs replaced, row by row, by the line
//! through the nearest known points of the partition along k (DuckDB's
//! interpolation fill).
//!
//! The known points of a partition are its rows where x and k are both
//! non-NULL and finite, sorted by k; of several with one k the first (in row
//! order) counts. A NULL x whose k lies between two points is interpolated;
//! before the first or after the last it is extrapolated from the two nearest
//! points; with one point it takes its value; with none, or with a NULL k, it
//! stays NULL. Integer results (and DECIMAL, DATE, TIMESTAMP, TIME ones) are
//! truncated when interpolated and rounded half up when extrapolated, as
//! DuckDB's are; one outside its type's range is an error.

use crate::column::{Column, ColumnData};
use crate::error::{Error, Result};
use crate::schema::DataType;

/// `values` (input order, of type `t`) filled along `keys` (input order) within
/// each partition (sorted rows from `starts[p]` to `starts[p + 1]`), whose
/// sorted row `i` is input row `order[i]`.
pub(super) fn fill(
    starts: &[u32],
    order: &[u32],
    values: &Column,
    keys: &Column,
    t: DataType,
) -> Result<Column> {
    let value = |r: usize| number(values, r);
    let key = |r: usize| number(keys, r);
    let mut out = values.clone();
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut err = None;
    for w in starts.windows(2) {
        let rows = &order[w[0] as usize..w[1] as usize];
        // The known points, sorted by key, first row of each key kept.
        let mut known: Vec<(f64, u32)> = rows
            .iter()
            .filter_map(|&r| {
                let r = r as usize;
                match (key(r), value(r)) {
                    (Some(k), Some(_)) => Some((k, r as u32)),
                    _ => None,
                }
            })
            .collect();
        known.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        known.dedup_by(|b, a| a.0 == b.0);
        points.clear();
        points.extend(
            known
                .iter()
                .map(|&(k, r)| (k, value(r as usize).unwrap_or(0.0))),
        );
        for &r in rows {
            let r = r as usize;
            if values.is_valid(r) {
                continue;
            }
            let Some(x) = key(r) else { continue };
            let Some(y) = line_at(&points, x) else {
                continue;
            };
            if let Err(e) = set(&mut out, r, y, t) {
                err.get_or_insert(e);
            }
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Row `r` of `c` as a finite number (integers, DECIMALs as scaled integers,
/// dates and times as their counts), if it is one.
fn number(c: &Column, r: usize) -> Option<f64> {
    if !c.is_valid(r) {
        return None;
    }
    let x = match &c.data {
        ColumnData::Int64(v) => v[r] as f64,
        ColumnData::Float64(v) => v[r],
        _ => return None,
    };
    x.is_finite().then_some(x)
}

/// A point of the line `fill` draws, and whether it lies between two known
/// points (integer results of an interpolation are truncated, of an
/// extrapolation rounded half up, as DuckDB's are).
#[derive(Debug, PartialEq)]
struct Filled {
    y: f64,
    between: bool,
}

/// The value at `x` of the line through the nearest of `points` (sorted by
/// their distinct first coordinates): the two around x, else the two nearest
/// on its side, else the only one.
fn line_at(points: &[(f64, f64)], x: f64) -> Option<Filled> {
    let j = points.partition_point(|p| p.0 < x);
    if let Some(&(k, v)) = points.get(j) {
        if k == x {
            return Some(Filled {
                y: v,
                between: true,
            });
        }
    }
    let n = points.len();
    let (a, b) = match j {
        _ if n == 0 => return None,
        _ if n == 1 => {
            return Some(Filled {
                y: points[0].1,
                between: true,
            })
        }
        0 => (points[0], points[1]),
        j if j == n => (points[n - 2], points[n - 1]),
        j => (points[j - 1], points[j]),
    };
    Some(Filled {
        y: a.1 + (x - a.0) * (b.1 - a.1) / (b.0 - a.0),
        between: j > 0 && j < n,
    })
}

/// Sets row `r` of `out` (of type `t`) to `f`, made whole for an integer column.
fn set(out: &mut Column, r: usize, f: Filled, t: DataType) -> Result<()> {
    match &mut out.data {
        ColumnData::Float64(v) => v[r] = f.y,
        ColumnData::Int64(v) => {
            let (lo, hi) = int_bounds(t);
            let y = if f.between {
                f.y.trunc()
            } else {
                (f.y + 0.5).floor()
            };
            if !(y >= lo as f64 && y <= hi as f64) {
                return Err(Error::InvalidInput(format!(
                    "Out of Range Error: fill's interpolated value {y} is out of range for {t}"
                )));
            }
            v[r] = y as i64;
        }
        _ => return Err(Error::Internal(format!("fill over {t}"))),
    }
    if let Some(b) = &mut out.validity {
        b.set(r, true);
    }
    Ok(())
}

/// The smallest and largest value an integer-held column of type `t` holds.
fn int_bounds(t: DataType) -> (i64, i64) {
    if let Some((p, _)) = t.decimal() {
        let m = 10i64.checked_pow(p as u32).map_or(i64::MAX, |x| x - 1);
        return (-m, m);
    }
    if t == DataType::Time {
        return (0, 86_400_000_000);
    }
    t.int_range().unwrap_or((i64::MIN, i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::line_at;

    #[test]
    fn the_line_runs_through_the_nearest_points() {
        let p = [(2.0, 10.0), (5.0, 40.0), (6.0, 0.0)];
        let at = |p: &[(f64, f64)], x| line_at(p, x).map(|f| (f.y, f.between));
        // Interpolated between the two around x.
        assert_eq!(at(&p, 3.0), Some((20.0, true)));
        assert_eq!(at(&p, 5.5), Some((20.0, true)));
        // Extrapolated from the two nearest on one side.
        assert_eq!(at(&p, 1.0), Some((0.0, false)));
        assert_eq!(at(&p, 7.0), Some((-40.0, false)));
        // A known point's own value; the only one.
        assert_eq!(at(&p, 5.0), Some((40.0, true)));
        assert_eq!(at(&p[..1], 9.0), Some((10.0, true)));
        assert_eq!(at(&[], 9.0), None);
    }
}
