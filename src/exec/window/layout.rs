//! The shape of rows sorted by (partition keys, order keys): where partitions and
//! peer groups (rows equal on every order key) start, and each row's frame.

use std::cmp::Ordering;

use super::super::sort::cmp_cell;
use crate::column::{Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{FrameBound, FrameUnits, SortKey, WindowFrame};
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

/// `[start, end)` of every row's frame.
pub(super) fn frames(
    layout: &Layout,
    frame: &WindowFrame,
    order_keys: &[SortKey],
    order: &[Column],
) -> Result<Vec<(u32, u32)>> {
    let n = *layout.partitions.last().unwrap_or(&0) as usize;
    let mut out = vec![(0u32, 0u32); n];
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
            for i in qs..qe {
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
                    (Ok(s), Ok(e)) => out[i] = (s as u32, e.max(s) as u32),
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
