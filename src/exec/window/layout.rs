//! The shape of rows sorted by (partition keys, order keys): where partitions and
//! peer groups (rows equal on every order key) start, and each row's frame.

use std::cmp::Ordering;

use super::super::sort::cmp_cell;
use crate::column::{Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{FrameBound, FrameExclude, FrameUnits, SortKey, WindowFrame};
use crate::schema::DataType;

/// Partition and peer-group boundaries of `n` sorted rows.
pub(super) struct Layout {
    /// Start of each partition, then `n`.
    pub partitions: Vec<u32>,
    /// Start of each peer group, then `n`. Peer groups never cross partitions.
    pub peers: Vec<u32>,
}

/// Whether rows `a` and `b` of `cols` hold equal values (NULLs equal NULLs).
fn same(cols: &[Column], a: usize, b: usize) -> bool {
    cols.iter().all(|c| match (c.is_valid(a), c.is_valid(b)) {
        (true, true) => cmp_cell(c, a, c, b) == Ordering::Equal,
        (x, y) => x == y,
    })
}

impl Layout {
    /// Boundaries of sorted rows whose partitions start at `partitions` (then
    /// `n`) and whose order keys are `sorted`.
    pub fn new(partitions: Vec<u32>, sorted: &[Column]) -> Layout {
        let mut peers = Vec::new();
        for w in partitions.windows(2) {
            let (ps, pe) = (w[0] as usize, w[1] as usize);
            peers.push(ps as u32);
            for i in ps + 1..pe {
                if !same(sorted, i - 1, i) {
                    peers.push(i as u32);
                }
            }
        }
        peers.push(*partitions.last().unwrap_or(&0));
        Layout { partitions, peers }
    }

    /// Calls `f(partition start, partition end, first peer group, end peer group)`
    /// for each partition (peer groups as indexes into `peers`).
    pub fn for_each_partition(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let mut g = 0;
        for w in self.partitions.windows(2) {
            let (ps, pe) = (w[0] as usize, w[1] as usize);
            let g0 = g;
            while (self.peers[g] as usize) < pe {
                g += 1;
            }
            f(ps, pe, g0, g);
        }
    }
}

/// A frame bound's offset as a count of rows or peer groups.
fn count(v: &Value) -> Result<usize> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        other => Err(Error::Internal(format!(
            "window frame offset {other:?} is not a row count"
        ))),
    }
}

/// The values of the single ORDER BY key that RANGE offsets are measured in
/// (integers with their type, whose range a bound must not leave).
enum RangeKey<'a> {
    Int(&'a [i64], DataType),
    Float(&'a [f64]),
}

/// A row's frame: up to three runs `[start, end)` of sorted rows, in order and
/// disjoint (an EXCLUDE clause cuts a hole into the frame); unused runs are
/// empty.
pub(super) type Frame = [(u32, u32); 3];

/// The runs of a frame: its non-empty `[start, end)` pieces, in order.
pub(super) fn runs(f: &Frame) -> impl Iterator<Item = (usize, usize)> + '_ {
    f.iter()
        .filter(|&&(s, e)| e > s)
        .map(|&(s, e)| (s as usize, e as usize))
}

/// The frame `[s, e)` of sorted row `i`, whose peers are `[qs, qe)`, without
/// the rows `exclude` leaves out.
fn cut(s: usize, e: usize, i: usize, (qs, qe): (usize, usize), exclude: FrameExclude) -> Frame {
    let at = |x: usize| x.clamp(s, e) as u32;
    let (s32, e32) = (s as u32, e as u32);
    match exclude {
        FrameExclude::NoOthers => [(s32, e32), (e32, e32), (e32, e32)],
        FrameExclude::CurrentRow => [(s32, at(i)), (at(i + 1), e32), (e32, e32)],
        FrameExclude::Group => [(s32, at(qs)), (at(qe), e32), (e32, e32)],
        FrameExclude::Ties => [(s32, at(qs)), (at(i), at(i + 1)), (at(qe), e32)],
    }
}

/// Every row's frame.
pub(super) fn frames(
    layout: &Layout,
    frame: &WindowFrame,
    order_keys: &[SortKey],
    order: &[Column],
) -> Result<Vec<Frame>> {
    let n = *layout.partitions.last().unwrap_or(&0) as usize;
    let mut out = vec![[(0u32, 0u32); 3]; n];
    let range_key = match (frame.units, order) {
        (FrameUnits::Range, [c]) => match &c.data {
            ColumnData::Int64(v) => {
                let t = order_keys
                    .first()
                    .map_or(DataType::BigInt, |k| k.expr.data_type());
                Some((RangeKey::Int(v, t), c))
            }
            ColumnData::Float64(v) => Some((RangeKey::Float(v), c)),
            _ => None,
        },
        _ => None,
    };
    let offset_range = frame.units == FrameUnits::Range
        && [&frame.start, &frame.end]
            .iter()
            .any(|b| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_)));
    if offset_range && range_key.is_none() {
        return Err(Error::Internal(
            "RANGE with an offset needs one numeric ORDER BY key".into(),
        ));
    }
    let descending = order_keys.first().is_some_and(|k| k.descending);
    let mut err = None;
    layout.for_each_partition(|ps, pe, g0, g1| {
        // The rows of the partition whose range key is not NULL.
        let (ns, ne) = match &range_key {
            Some((_, c)) if offset_range => {
                let mut ns = ps;
                while ns < pe && !c.is_valid(ns) {
                    ns += 1;
                }
                let mut ne = pe;
                while ne > ns && !c.is_valid(ne - 1) {
                    ne -= 1;
                }
                (ns, ne)
            }
            _ => (ps, pe),
        };
        for g in g0..g1 {
            let (qs, qe) = (layout.peers[g] as usize, layout.peers[g + 1] as usize);
            for (i, slot) in out.iter_mut().enumerate().take(qe).skip(qs) {
                let bound = |b: &FrameBound, is_end: bool| -> Result<usize> {
                    let at = match (b, frame.units) {
                        (FrameBound::UnboundedPreceding, _) => ps,
                        (FrameBound::UnboundedFollowing, _) => pe,
                        (FrameBound::CurrentRow, FrameUnits::Rows) => i + is_end as usize,
                        (FrameBound::CurrentRow, _) => {
                            if is_end {
                                qe
                            } else {
                                qs
                            }
                        }
                        (FrameBound::Preceding(v), FrameUnits::Rows) => {
                            (i + is_end as usize).saturating_sub(count(v)?).max(ps)
                        }
                        (FrameBound::Following(v), FrameUnits::Rows) => {
                            (i + is_end as usize).saturating_add(count(v)?).min(pe)
                        }
                        (FrameBound::Preceding(v), FrameUnits::Groups) => {
                            let k = count(v)?;
                            if g < g0 + k {
                                ps
                            } else {
                                layout.peers[g - k + is_end as usize] as usize
                            }
                        }
                        (FrameBound::Following(v), FrameUnits::Groups) => {
                            let k = count(v)?;
                            if g.saturating_add(k) >= g1 {
                                pe
                            } else {
                                layout.peers[g + k + is_end as usize] as usize
                            }
                        }
                        (
                            FrameBound::Preceding(v) | FrameBound::Following(v),
                            FrameUnits::Range,
                        ) => {
                            let preceding = matches!(b, FrameBound::Preceding(_));
                            match &range_key {
                                // A NULL key's offsets reach its peers (the NULLs).
                                Some((_, c)) if !c.is_valid(i) => {
                                    if is_end {
                                        qe
                                    } else {
                                        qs
                                    }
                                }
                                Some((key, _)) => {
                                    // Towards smaller values when preceding in an
                                    // ascending order or following in a descending one.
                                    let down = preceding != descending;
                                    ns + range_search(key, ns, ne, i, v, down, is_end, descending)?
                                }
                                None => ps,
                            }
                        }
                    };
                    Ok(at)
                };
                match (bound(&frame.start, false), bound(&frame.end, true)) {
                    (Ok(s), Ok(e)) => *slot = cut(s, e.max(s), i, (qs, qe), frame.exclude),
                    (Err(e), _) | (_, Err(e)) => {
                        err.get_or_insert(e);
                    }
                }
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The position (relative to `ns`) in the sorted non-NULL keys `ns..ne` where a
/// RANGE bound lands: the first row at or past `key[i] -/+ offset` for a start,
/// the first row past it for an end.
#[allow(clippy::too_many_arguments)]
fn range_search(
    key: &RangeKey<'_>,
    ns: usize,
    ne: usize,
    i: usize,
    offset: &Value,
    down: bool,
    is_end: bool,
    descending: bool,
) -> Result<usize> {
    // `before(x, target)`: row value x sorts before the bound.
    fn search<T: PartialOrd + Copy>(
        keys: &[T],
        target: T,
        is_end: bool,
        descending: bool,
    ) -> usize {
        keys.partition_point(|&x| match (is_end, descending) {
            (false, false) => x < target,
            (true, false) => x <= target,
            (false, true) => x > target,
            (true, true) => x >= target,
        })
    }
    Ok(match (key, offset) {
        (RangeKey::Int(k, t), Value::Int(o)) => {
            // DuckDB computes the bound in the key's type: leaving it is an error.
            let (lo, hi) = t.int_range().unwrap_or((i64::MIN, i64::MAX));
            let target = if down {
                k[i].checked_sub(*o)
            } else {
                k[i].checked_add(*o)
            }
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| {
                let (what, op) = if down {
                    ("subtraction", '-')
                } else {
                    ("addition", '+')
                };
                Error::InvalidInput(format!(
                    "Out of Range Error: Overflow in {what} of {t} ({} {op} {o}) in a RANGE frame",
                    k[i]
                ))
            })?;
            search(&k[ns..ne], target, is_end, descending)
        }
        (RangeKey::Float(k), Value::Float(_) | Value::Int(_)) => {
            let o = match offset {
                Value::Float(f) => *f,
                Value::Int(x) => *x as f64,
                _ => 0.0,
            };
            let target = if down { k[i] - o } else { k[i] + o };
            search(&k[ns..ne], target, is_end, descending)
        }
        _ => {
            return Err(Error::Internal(
                "RANGE offset does not match the ORDER BY key's type".into(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Bitmap;
    use crate::plan::Expr;

    /// Sorted rows of a few partitions: an integer key with ties and NULLs,
    /// ordered as `key` says within each partition.
    fn rows(key: &SortKey) -> (Vec<u32>, Column) {
        let mut seed = 7u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let mut partitions = vec![0u32];
        let mut values: Vec<Option<i64>> = Vec::new();
        for size in [1, 0, 9, 30, 2, 17] {
            let mut part: Vec<Option<i64>> = (0..size)
                .map(|_| (next(5) > 0).then(|| next(12) as i64 - 4))
                .collect();
            part.sort_by(|a, b| match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) if key.nulls_first => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) if key.nulls_first => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) if key.descending => y.cmp(x),
                (Some(x), Some(y)) => x.cmp(y),
            });
            if size > 0 {
                values.extend(part);
                partitions.push(values.len() as u32);
            }
        }
        let mut validity = Bitmap::new(0, true);
        for v in &values {
            validity.push(v.is_some());
        }
        let col = Column {
            data: ColumnData::Int64(values.iter().map(|v| v.unwrap_or(0)).collect()),
            validity: Some(validity),
        };
        (partitions, col)
    }

    /// Every frame `frames` computes is exactly the set of rows of the partition
    /// that satisfy the bounds' definitions, checked row by row.
    #[test]
    fn frames_hold_exactly_the_rows_their_bounds_define() {
        use FrameBound::*;
        let starts = [
            UnboundedPreceding,
            Preceding(Value::Int(0)),
            Preceding(Value::Int(1)),
            Preceding(Value::Int(3)),
            CurrentRow,
            Following(Value::Int(0)),
            Following(Value::Int(2)),
        ];
        let ends = [
            Preceding(Value::Int(0)),
            Preceding(Value::Int(2)),
            CurrentRow,
            Following(Value::Int(1)),
            Following(Value::Int(3)),
            UnboundedFollowing,
        ];
        for (descending, nulls_first) in
            [(false, false), (false, true), (true, false), (true, true)]
        {
            let key = SortKey {
                expr: Expr::Column {
                    index: 0,
                    name: "k".into(),
                    data_type: DataType::BigInt,
                },
                descending,
                nulls_first,
            };
            let (partitions, col) = rows(&key);
            let layout = Layout::new(partitions.clone(), std::slice::from_ref(&col));
            let n = col.len();
            let mut part_of = vec![0usize; n];
            let mut group_of = vec![0usize; n];
            for (p, w) in partitions.windows(2).enumerate() {
                part_of[w[0] as usize..w[1] as usize].fill(p);
            }
            for (g, w) in layout.peers.windows(2).enumerate() {
                group_of[w[0] as usize..w[1] as usize].fill(g);
            }
            // The key as a position in sort order (NULLs at their end).
            let pos = |j: usize| -> f64 {
                match (col.is_valid(j), &col.data) {
                    (true, ColumnData::Int64(v)) if descending => -(v[j] as f64),
                    (true, ColumnData::Int64(v)) => v[j] as f64,
                    _ if nulls_first => f64::NEG_INFINITY,
                    _ => f64::INFINITY,
                }
            };
            for units in [FrameUnits::Rows, FrameUnits::Range, FrameUnits::Groups] {
                for (start, end, exclude) in starts.iter().flat_map(|s| {
                    ends.iter().flat_map(move |e| {
                        [
                            FrameExclude::NoOthers,
                            FrameExclude::CurrentRow,
                            FrameExclude::Group,
                            FrameExclude::Ties,
                        ]
                        .map(|x| (s, e, x))
                    })
                }) {
                    {
                        let frame = WindowFrame {
                            units,
                            start: start.clone(),
                            end: end.clone(),
                            exclude,
                        };
                        let got = frames(
                            &layout,
                            &frame,
                            std::slice::from_ref(&key),
                            std::slice::from_ref(&col),
                        )
                        .unwrap();
                        for i in 0..n {
                            // Distance of row j from row i in the frame's units, and
                            // whether a bound at offset `off` (signed) admits it.
                            let admits = |j: usize, b: &FrameBound, is_end: bool| -> bool {
                                let off = match b {
                                    UnboundedPreceding | UnboundedFollowing => return true,
                                    CurrentRow => 0.0,
                                    Preceding(Value::Int(k)) => -(*k as f64),
                                    Following(Value::Int(k)) => *k as f64,
                                    _ => unreachable!(),
                                };
                                let (dj, di) = match units {
                                    FrameUnits::Rows => (j as f64, i as f64),
                                    FrameUnits::Groups => (group_of[j] as f64, group_of[i] as f64),
                                    FrameUnits::Range
                                        if matches!(b, CurrentRow) || !col.is_valid(i) =>
                                    {
                                        // Peers; a NULL key's offsets reach its NULL peers.
                                        let (gj, gi) = (group_of[j] as f64, group_of[i] as f64);
                                        return if is_end { gj <= gi } else { gj >= gi };
                                    }
                                    FrameUnits::Range => (pos(j), pos(i)),
                                };
                                if is_end {
                                    dj <= di + off
                                } else {
                                    dj >= di + off
                                }
                            };
                            let want: Vec<usize> = (0..n)
                                .filter(|&j| part_of[j] == part_of[i])
                                .filter(|&j| admits(j, start, false) && admits(j, end, true))
                                .filter(|&j| match exclude {
                                    FrameExclude::NoOthers => true,
                                    FrameExclude::CurrentRow => j != i,
                                    FrameExclude::Group => group_of[j] != group_of[i],
                                    FrameExclude::Ties => j == i || group_of[j] != group_of[i],
                                })
                                .collect();
                            assert_eq!(
                                runs(&got[i]).flat_map(|(s, e)| s..e).collect::<Vec<_>>(),
                                want,
                                "{frame} desc={descending} nulls_first={nulls_first} row {i}"
                            );
                        }
                    }
                }
            }
        }
    }
}
