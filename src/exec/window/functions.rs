//! Ranking and value window functions over sorted rows: row_number, rank,
//! dense_rank, percent_rank, cume_dist, ntile (partition and peers only), lag and
//! lead (rows around the current one in its partition), first_value, last_value
//! and nth_value (rows of the frame). Inputs and outputs are in sorted order.

use super::layout::{runs, Frame, Layout};
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

/// The positions of the rows that count (with IGNORE NULLS, those whose value is
/// not NULL), and for each row how many of them come before it (`n + 1`
/// entries).
struct Counted {
    positions: Vec<u32>,
    before: Vec<u32>,
}

impl Counted {
    fn new(valid: &Bitmap) -> Counted {
        let n = valid.len();
        let mut positions = Vec::new();
        let mut before = Vec::with_capacity(n + 1);
        for i in 0..n {
            before.push(positions.len() as u32);
            if valid.get(i) {
                positions.push(i as u32);
            }
        }
        before.push(positions.len() as u32);
        Counted { positions, before }
    }

    /// The `k`-th (0-based) counted row in `[s, e)`.
    fn nth_in(&self, s: usize, e: usize, k: usize) -> Option<u32> {
        let j = (self.before[s] as usize).checked_add(k)?;
        (j < self.before[e] as usize).then(|| self.positions[j])
    }

    /// The last counted row in `[s, e)`.
    fn last_in(&self, s: usize, e: usize) -> Option<u32> {
        let (a, b) = (self.before[s] as usize, self.before[e] as usize);
        (b > a).then(|| self.positions[b - 1])
    }
}

/// `lag` (`forward` false) or `lead` over rows sorted as `order` says (input
/// row of each sorted position) in partitions starting at `starts` (then `n`):
/// for each input row, the input row `offset` rows before (after) it in its
/// partition, or [`NO_ROW`]. With `valid` (IGNORE NULLS, by sorted position)
/// only the rows it marks count. Read straight off the permutation: no list
/// of sorted positions in between.
pub(super) fn lag_lead(
    starts: &[u32],
    order: &[u32],
    valid: &Option<Bitmap>,
    offset: i64,
    forward: bool,
) -> Vec<u32> {
    let counted = valid.as_ref().map(Counted::new);
    // A negative offset looks the other way.
    let (forward, k) = (forward != (offset < 0), offset.unsigned_abs() as usize);
    let mut by_input = vec![NO_ROW; order.len()];
    for w in starts.windows(2) {
        let (ps, pe) = (w[0] as usize, w[1] as usize);
        match (&counted, forward) {
            (None, false) => {
                for i in ps.saturating_add(k).min(pe)..pe {
                    by_input[order[i] as usize] = order[i - k];
                }
            }
            (None, true) => {
                for i in ps..pe.saturating_sub(k).max(ps) {
                    by_input[order[i] as usize] = order[i + k];
                }
            }
            (Some(c), _) => {
                for i in ps..pe {
                    let j = match forward {
                        _ if k == 0 => Some(i as u32),
                        false => (c.before[i] as usize)
                            .checked_sub(k)
                            .map(|j| c.positions[j])
                            .filter(|&j| j as usize >= ps),
                        true => c.nth_in(i + 1, pe, k - 1),
                    };
                    if let Some(j) = j {
                        by_input[order[i] as usize] = order[j as usize];
                    }
                }
            }
        }
    }
    by_input
}

/// `first_value`, `last_value` and `nth_value` (the `nth`, 1-based): for each
/// sorted row, the row of its frame whose value it takes, if any. With `valid`
/// (IGNORE NULLS) only the rows it marks count.
pub(super) fn frame_value(
    func: WindowFunc,
    valid: &Option<Bitmap>,
    frames: &[Frame],
    nth: usize,
) -> Vec<Option<u32>> {
    let counted = valid.as_ref().map(Counted::new);
    // How many rows of `[s, e)` count, and the `k`-th (0-based) of them.
    let count_in = |s: usize, e: usize| match &counted {
        None => e - s,
        Some(c) => (c.before[e] - c.before[s]) as usize,
    };
    let nth_in = |s: usize, e: usize, k: usize| match &counted {
        None => s.checked_add(k).filter(|&j| j < e).map(|j| j as u32),
        Some(c) => c.nth_in(s, e, k),
    };
    frames
        .iter()
        .map(|f| {
            if func == WindowFunc::LastValue {
                let (s, e) = runs(f).filter(|&(s, e)| count_in(s, e) > 0).last()?;
                return match &counted {
                    None => Some((e - 1) as u32),
                    Some(c) => c.last_in(s, e),
                };
            }
            let mut k = if func == WindowFunc::FirstValue {
                0
            } else {
                nth - 1
            };
            for (s, e) in runs(f) {
                let c = count_in(s, e);
                if k < c {
                    return nth_in(s, e, k);
                }
                k -= c;
            }
            None
        })
        .collect()
}

/// In a list of chosen rows: no row (the value is the default, or NULL).
pub(super) const NO_ROW: u32 = u32::MAX;

/// Row `rows[i]` of `src` for each `i`; where that is [`NO_ROW`], row `i` of
/// `default`, or NULL.
pub(super) fn gather(src: &Column, rows: &[u32], default: Option<&Column>) -> Column {
    let missing = rows.contains(&NO_ROW);
    if let (Some(d), true) = (default, missing) {
        // Rows of the default follow the source's.
        let n = src.len() as u32;
        let mut both = src.clone();
        both.append(d);
        let take: Vec<u32> = rows
            .iter()
            .enumerate()
            .map(|(i, &r)| if r == NO_ROW { n + i as u32 } else { r })
            .collect();
        return both.take(&take);
    }
    if src.is_empty() {
        let mut out = Column::new(ColumnData::empty(src.data.physical()));
        for _ in rows {
            out.data.push_default();
        }
        out.validity = (!rows.is_empty()).then(|| Bitmap::new(rows.len(), false));
        return out;
    }
    if !missing {
        return src.take(rows);
    }
    if let (ColumnData::Int64(v), None) = (&src.data, &src.validity) {
        // Integers and timestamps without NULLs (lag(ts)): one pass.
        let mut valid = Bitmap::new(rows.len(), true);
        let mut out = Vec::with_capacity(rows.len());
        for (i, &r) in rows.iter().enumerate() {
            match v.get(r as usize) {
                Some(&x) => out.push(x),
                None => {
                    out.push(0);
                    valid.set(i, false);
                }
            }
        }
        return Column {
            data: ColumnData::Int64(out),
            validity: Some(valid),
        };
    }
    // A missing row takes row 0 (any row) and is then marked NULL.
    let take: Vec<u32> = rows
        .iter()
        .map(|&r| if r == NO_ROW { 0 } else { r })
        .collect();
    let mut out = src.take(&take);
    let v = out
        .validity
        .get_or_insert_with(|| Bitmap::new(rows.len(), true));
    for (i, &r) in rows.iter().enumerate() {
        if r == NO_ROW {
            v.set(i, false);
        }
    }
    out
}
