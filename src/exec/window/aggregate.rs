//! Aggregates over window frames: `count(*)`, `count`, `sum`, `avg`, `min` and
//! `max` of each row's frame, through a segment tree over the sorted rows (frames
//! never cross partitions, so one tree serves every partition). Building it is
//! linear; each frame is answered in O(log n) combining steps, whatever its shape.

use std::cmp::Ordering;

use super::super::sort::cmp_cell;
use super::layout::{runs, Frame};
use crate::column::{Bitmap, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::AggFunc;

/// A segment tree over `n` leaves: node `k` holds the combination of its two
/// children `2k` and `2k + 1`; the leaves are nodes `n..2n`.
struct SegmentTree<T, F> {
    nodes: Vec<T>,
    identity: T,
    combine: F,
}

impl<T: Copy, F: Fn(T, T) -> T> SegmentTree<T, F> {
    fn new(leaves: Vec<T>, identity: T, combine: F) -> Self {
        let n = leaves.len();
        let mut nodes = Vec::with_capacity(2 * n);
        nodes.resize(n, identity);
        nodes.extend(leaves);
        for k in (1..n).rev() {
            nodes[k] = combine(nodes[2 * k], nodes[2 * k + 1]);
        }
        SegmentTree {
            nodes,
            identity,
            combine,
        }
    }

    /// The combination of leaves `[l, r)`, left to right.
    fn query(&self, l: usize, r: usize) -> T {
        let n = self.nodes.len() / 2;
        let (mut l, mut r) = (l + n, r + n);
        let (mut left, mut right) = (self.identity, self.identity);
        while l < r {
            if l & 1 == 1 {
                left = (self.combine)(left, self.nodes[l]);
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                right = (self.combine)(self.nodes[r], right);
            }
            l /= 2;
            r /= 2;
        }
        (self.combine)(left, right)
    }

    /// The combination of the leaves of a frame's runs, left to right.
    fn query_frame(&self, f: &Frame) -> T {
        runs(f).fold(self.identity, |acc, (s, e)| {
            (self.combine)(acc, self.query(s, e))
        })
    }
}

/// Approximate bytes the tree of an aggregate over `n` rows takes.
pub(super) fn tree_bytes(n: usize) -> usize {
    // Two nodes per row of at most 32 bytes (an i128 sum and a count), the
    // frames (three runs) and the result.
    n * (2 * 32 + 24 + 16)
}

/// An aggregate's result per sorted row: values, or (min and max) the sorted
/// row whose value it is.
pub(super) enum Output {
    Sorted(Column),
    Rows(Vec<Option<u32>>),
}

/// Whether `func` runs on a segment tree here (else `agg::over_frames` runs it).
pub(super) fn has_tree(func: AggFunc) -> bool {
    matches!(
        func,
        AggFunc::CountStar
            | AggFunc::Count
            | AggFunc::Sum
            | AggFunc::Avg
            | AggFunc::Min
            | AggFunc::Max
    )
}

/// `func` of `arg` (in input order; `None` for `count(*)`) over each frame of the
/// rows `order` (input positions). `counted` marks the sorted rows an aggregate
/// takes (FILTER TRUE, argument not NULL).
pub(super) fn aggregate(
    func: AggFunc,
    arg: Option<&Column>,
    order: &[u32],
    counted: &Bitmap,
    frames: &[Frame],
) -> Result<Output> {
    let n = frames.len();
    let counted = |i: usize| counted.get(i);
    let row = |i: usize| order[i] as usize;
    match (func, arg.map(|c| &c.data)) {
        (AggFunc::CountStar | AggFunc::Count, _) => {
            let tree =
                SegmentTree::new((0..n).map(|i| counted(i) as i64).collect(), 0, |a, b| a + b);
            let out = frames.iter().map(|f| tree.query_frame(f)).collect();
            Ok(Output::Sorted(Column::new(ColumnData::Int64(out))))
        }
        (AggFunc::Sum | AggFunc::Avg, Some(ColumnData::Int64(v))) => {
            let leaves = (0..n)
                .map(|i| {
                    if counted(i) {
                        (v[row(i)] as i128, 1i64)
                    } else {
                        (0, 0)
                    }
                })
                .collect();
            let tree = SegmentTree::new(leaves, (0i128, 0i64), |a, b| (a.0 + b.0, a.1 + b.1));
            let sums = frames.iter().map(|f| tree.query_frame(f));
            if func == AggFunc::Avg {
                let avg = sums.map(|(s, c)| (c > 0).then(|| s as f64 / c as f64));
                return Ok(Output::Sorted(floats(avg)));
            }
            let mut out = Vec::with_capacity(n);
            for (s, c) in sums {
                out.push(if c > 0 {
                    Some(i64::try_from(s).map_err(|_| overflow())?)
                } else {
                    None
                });
            }
            Ok(Output::Sorted(with_nulls(out, ColumnData::Int64)))
        }
        (AggFunc::Sum | AggFunc::Avg, Some(ColumnData::Float64(v))) => {
            let leaves = (0..n)
                .map(|i| {
                    if counted(i) {
                        (v[row(i)], 1i64)
                    } else {
                        (0.0, 0)
                    }
                })
                .collect();
            let tree = SegmentTree::new(leaves, (0.0f64, 0i64), |a, b| (a.0 + b.0, a.1 + b.1));
            let avg = func == AggFunc::Avg;
            Ok(Output::Sorted(floats(frames.iter().map(|f| {
                let (sum, c) = tree.query_frame(f);
                (c > 0).then(|| if avg { sum / c as f64 } else { sum })
            }))))
        }
        (AggFunc::Min | AggFunc::Max, Some(_)) => {
            let Some(c) = arg else {
                return Err(Error::Internal("min/max without an argument".into()));
            };
            let want = if func == AggFunc::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            // Leaves are row numbers; a node keeps the row of the extreme value.
            let pick = |a: Option<u32>, b: Option<u32>| match (a, b) {
                (Some(x), Some(y)) => {
                    if cmp_cell(c, row(y as usize), c, row(x as usize)) == want {
                        Some(y)
                    } else {
                        Some(x)
                    }
                }
                (x, None) => x,
                (None, y) => y,
            };
            let leaves = (0..n).map(|i| counted(i).then_some(i as u32)).collect();
            let tree = SegmentTree::new(leaves, None, pick);
            let rows: Vec<Option<u32>> = frames.iter().map(|f| tree.query_frame(f)).collect();
            Ok(Output::Rows(rows))
        }
        _ => Err(Error::Internal(format!(
            "window aggregate {func:?} over this argument type"
        ))),
    }
}

fn overflow() -> Error {
    Error::InvalidInput(
        "Out of Range Error: Overflow in SUM: the result does not fit in 64 bits \
         (logdb sums integers as BIGINT and DECIMALs as 64-bit DECIMAL(38,s); DuckDB \
         would use 128 bits)"
            .into(),
    )
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> Column {
    with_nulls(values.collect(), ColumnData::Float64)
}

/// A column from optional values (the slot under a NULL holds the default).
fn with_nulls<T: Default + Copy>(values: Vec<Option<T>>, make: fn(Vec<T>) -> ColumnData) -> Column {
    let any_null = values.iter().any(Option::is_none);
    let validity = any_null.then(|| {
        let mut b = Bitmap::new(0, true);
        for v in &values {
            b.push(v.is_some());
        }
        b
    });
    Column {
        data: make(values.iter().map(|v| v.unwrap_or_default()).collect()),
        validity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_tree_answers_every_range_like_a_loop() {
        let vals: Vec<i64> = (0..37).map(|i| (i * 7919) % 101 - 50).collect();
        let sum = SegmentTree::new(vals.clone(), 0, |a, b| a + b);
        let min = SegmentTree::new(vals.clone(), i64::MAX, |a: i64, b: i64| a.min(b));
        for l in 0..=vals.len() {
            for r in l..=vals.len() {
                assert_eq!(sum.query(l, r), vals[l..r].iter().sum::<i64>());
                assert_eq!(
                    min.query(l, r),
                    vals[l..r].iter().copied().min().unwrap_or(i64::MAX)
                );
            }
        }
    }
}
