//! lag and lead without sorting: when a spec's one ORDER BY key never goes back
//! in the input's order (time-ordered log rows, scanned in time order), each
//! partition's rows already stand in order, ties included (the sort keeps
//! input order among them), so a row's neighbour `k` places away in its
//! partition is found by following links: one pass over the partition ids,
//! keeping the last row seen of each partition. No permutation, no scatter:
//! the results come out in input order. Which specs qualify is
//! [`crate::plan::navigates_by_links`]; whether the key is in order is checked
//! here, per run, and the sort runs otherwise.

use super::functions::{self, NO_ROW};
use super::{literal_int, Columns};
use crate::column::{Batch, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::{SortKey, WindowExpr, WindowFunc};

/// Whether the single ORDER BY key (`ord`, in input order) has no NULLs and
/// never goes back: non-decreasing, or non-increasing when descending.
pub(super) fn in_input_order(order_by: &[SortKey], ord: &[&Column]) -> bool {
    let ([key], [c]) = (order_by, ord) else {
        return false;
    };
    if c.null_count() > 0 {
        return false;
    }
    match &c.data {
        ColumnData::Int64(v) if key.descending => v.windows(2).all(|w| w[0] >= w[1]),
        ColumnData::Int64(v) => v.windows(2).all(|w| w[0] <= w[1]),
        ColumnData::Float64(v) if key.descending => v.windows(2).all(|w| w[0] >= w[1]),
        ColumnData::Float64(v) => v.windows(2).all(|w| w[0] <= w[1]),
        _ => false,
    }
}

/// `lag` or `lead` of `w` (a navigation [`crate::plan::navigates_by_links`]
/// accepts) over rows with partition ids `ids` that stand in order.
pub(super) fn lag_lead(w: &WindowExpr, ids: &[u32], cols: &Columns, all: &Batch) -> Result<Column> {
    let arg = |k: usize| -> Result<&Column> {
        let e = w
            .args
            .get(k)
            .ok_or_else(|| Error::Internal(format!("{} lacks argument {k}", w.func.name())))?;
        cols.get(all, e)
    };
    let values = arg(0)?;
    let offset = match w.args.get(1) {
        Some(e) => literal_int(Some(e), "the lag/lead offset")?,
        None => Some(1),
    };
    let Some(offset) = offset else {
        // A NULL offset: NULL everywhere.
        return Ok(functions::gather(values, &vec![NO_ROW; ids.len()], None));
    };
    let default = match w.args.get(2) {
        Some(_) => Some(arg(2)?),
        None => None,
    };
    let forward = (w.func == WindowFunc::Lead) != (offset < 0);
    let rows = neighbours(ids, offset.unsigned_abs() as usize, forward);
    Ok(functions::gather(values, &rows, default))
}

/// For each row, the row `steps` places before it (`forward`: after it) among
/// the rows of its partition in input order, or [`NO_ROW`].
fn neighbours(ids: &[u32], steps: usize, forward: bool) -> Vec<u32> {
    let n = ids.len();
    if steps == 0 {
        return (0..n as u32).collect();
    }
    let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
    let mut last = vec![NO_ROW; parts];
    let mut next = vec![NO_ROW; n];
    let mut link = |i: usize| next[i] = std::mem::replace(&mut last[ids[i] as usize], i as u32);
    if forward {
        (0..n).rev().for_each(&mut link);
    } else {
        (0..n).for_each(&mut link);
    }
    drop(last);
    let mut out = next.clone();
    for _ in 1..steps {
        for r in out.iter_mut().filter(|r| **r != NO_ROW) {
            *r = next[*r as usize];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_follow_each_partition_in_input_order() {
        let ids = [0, 1, 0, 0, 2, 1, 0];
        const N: u32 = NO_ROW;
        assert_eq!(neighbours(&ids, 1, false), [N, N, 0, 2, N, 1, 3]);
        assert_eq!(neighbours(&ids, 2, false), [N, N, N, 0, N, N, 2]);
        assert_eq!(neighbours(&ids, 1, true), [2, 5, 3, 6, N, N, N]);
        assert_eq!(neighbours(&ids, 3, true), [6, N, N, N, N, N, N]);
        assert_eq!(neighbours(&ids, 0, true), [0, 1, 2, 3, 4, 5, 6]);
    }
}
