//! Ranking and value window functions over sorted rows: row_number, rank,
//! dense_rank, percent_rank, cume_dist, ntile (partition and peers only), lag and
//! lead (rows around the current one in its partition), first_value, last_value
//! and nth_value (rows of the frame). Inputs and outputs are in sorted order.

use super::layout::Layout;
use crate::column::{Bitmap, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::WindowFunc;

/// The ranking functions (`ntile` with its bucket count; a NULL count gives NULLs).
pub(super) fn ranking(
    func: WindowFunc,
    layout: &Layout,
    n: usize,
    buckets: Option<i64>,
) -> Result<Column> {
    if func == WindowFunc::Ntile && buckets.is_none() {
        let mut c = Column::new(ColumnData::Int64(vec![0; n]));
        c.validity = Some(Bitmap::new(n, false));
        return Ok(c);
    }
    if buckets.is_some_and(|b| b <= 0) {
        return Err(Error::InvalidInput(
            "Invalid Input Error: Argument for ntile must be greater than zero".into(),
        ));
    }
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    layout.for_each_partition(|ps, pe, g0, g1| {
        let size = (pe - ps) as i64;
        for g in g0..g1 {
            let (qs, qe) = (layout.peers[g] as usize, layout.peers[g + 1] as usize);
            for i in qs..qe {
                let row = (i - ps) as i64;
                match func {
                    WindowFunc::RowNumber => ints.push(row + 1),
                    WindowFunc::Rank => ints.push((qs - ps) as i64 + 1),
                    WindowFunc::DenseRank => ints.push((g - g0) as i64 + 1),
                    WindowFunc::PercentRank => floats.push(if size > 1 {
                        (qs - ps) as f64 / (size - 1) as f64
                    } else {
                        0.0
                    }),
                    WindowFunc::CumeDist => floats.push((qe - ps) as f64 / size as f64),
                    _ => ints.push(ntile(row, size, buckets.unwrap_or(1))),
                }
            }
        }
    });
    Ok(Column::new(match func {
        WindowFunc::PercentRank | WindowFunc::CumeDist => ColumnData::Float64(floats),
        _ => ColumnData::Int64(ints),
    }))
}

/// The bucket (1-based) of row `row` of a partition of `size` rows cut into
/// `buckets` buckets whose sizes differ by at most one, the larger ones first.
fn ntile(row: i64, size: i64, buckets: i64) -> i64 {
    let buckets = buckets.min(size).max(1);
    let small = size / buckets;
    let large = size % buckets;
    let in_large = large * (small + 1);
    if row < in_large {
        1 + row / (small + 1)
    } else {
        1 + large + (row - in_large) / small
    }
}

/// The positions of the non-NULL rows of `c`, and for each row how many of them
/// come before it (`n + 1` entries): what IGNORE NULLS counts in.
pub(super) struct NonNull {
    positions: Vec<u32>,
    before: Vec<u32>,
}

impl NonNull {
    pub fn new(c: &Column) -> NonNull {
        let n = c.len();
        let mut positions = Vec::new();
        let mut before = Vec::with_capacity(n + 1);
        for i in 0..n {
            before.push(positions.len() as u32);
            if c.is_valid(i) {
                positions.push(i as u32);
            }
        }
        before.push(positions.len() as u32);
        NonNull { positions, before }
    }

    /// The `k`-th (0-based) non-NULL row in `[s, e)`.
    fn nth_in(&self, s: usize, e: usize, k: usize) -> Option<u32> {
        let first = self.before[s] as usize;
        let j = first.checked_add(k)?;
        (j < self.before[e] as usize).then(|| self.positions[j])
    }

    /// The last non-NULL row in `[s, e)`.
    fn last_in(&self, s: usize, e: usize) -> Option<u32> {
        let (a, b) = (self.before[s] as usize, self.before[e] as usize);
        (b > a).then(|| self.positions[b - 1])
    }
}

/// `lag` (`forward` false) or `lead`: the value `offset` rows before (after) the
/// current one in its partition, or `default` (in sorted order) when there is no
/// such row. With IGNORE NULLS, rows whose value is NULL are not counted.
pub(super) fn lag_lead(
    layout: &Layout,
    values: &Column,
    offset: i64,
    forward: bool,
    default: Option<&Column>,
    ignore_nulls: bool,
) -> Column {
    let n = values.len();
    let non_null = ignore_nulls.then(|| NonNull::new(values));
    // A negative offset looks the other way.
    let (forward, k) = (forward != (offset < 0), offset.unsigned_abs() as usize);
    let mut rows: Vec<Option<u32>> = Vec::with_capacity(n);
    layout.for_each_partition(|ps, pe, _, _| {
        for i in ps..pe {
            rows.push(match (&non_null, forward) {
                (None, false) => i.checked_sub(k).filter(|&j| j >= ps).map(|j| j as u32),
                (None, true) => i.checked_add(k).filter(|&j| j < pe).map(|j| j as u32),
                (Some(_), _) if k == 0 => Some(i as u32),
                (Some(nn), false) => {
                    let before = nn.before[i] as usize;
                    before
                        .checked_sub(k)
                        .map(|j| nn.positions[j])
                        .filter(|&j| j as usize >= ps)
                }
                (Some(nn), true) => nn.nth_in(i + 1, pe, k - 1),
            });
        }
    });
    gather(values, &rows, default)
}

/// `first_value`, `last_value` and `nth_value` (the `nth`, 1-based) over each
/// row's frame.
pub(super) fn frame_value(
    func: WindowFunc,
    values: &Column,
    frames: &[(u32, u32)],
    nth: usize,
    ignore_nulls: bool,
) -> Column {
    let non_null = ignore_nulls.then(|| NonNull::new(values));
    let rows: Vec<Option<u32>> = frames
        .iter()
        .map(|&(s, e)| {
            let (s, e) = (s as usize, e as usize);
            match (func, &non_null) {
                (WindowFunc::LastValue, None) => (e > s).then(|| (e - 1) as u32),
                (WindowFunc::LastValue, Some(nn)) => nn.last_in(s, e),
                (WindowFunc::FirstValue, None) => (e > s).then_some(s as u32),
                (WindowFunc::FirstValue, Some(nn)) => nn.nth_in(s, e, 0),
                (_, None) => s.checked_add(nth - 1).filter(|&j| j < e).map(|j| j as u32),
                (_, Some(nn)) => nn.nth_in(s, e, nth - 1),
            }
        })
        .collect();
    gather(values, &rows, None)
}

/// Row `rows[i]` of `src` for each `i`; where that is `None`, row `i` of
/// `default`, or NULL.
pub(super) fn gather(src: &Column, rows: &[Option<u32>], default: Option<&Column>) -> Column {
    let n = src.len() as u32;
    let mut all = src.clone();
    if let Some(d) = default {
        all.append(d);
    }
    // One NULL row at the end stands for "no value".
    let null_row = all.len() as u32;
    all.data.push_default();
    let len = all.len();
    all.validity
        .get_or_insert_with(|| Bitmap::new(len - 1, true))
        .push(false);
    let take: Vec<u32> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match (r, default) {
            (Some(j), _) => *j,
            (None, Some(_)) => n + i as u32,
            (None, None) => null_row,
        })
        .collect();
    let mut out = all.take(&take);
    if out
        .validity
        .as_ref()
        .is_some_and(|v| v.count_ones() == v.len())
    {
        out.validity = None;
    }
    out
}
