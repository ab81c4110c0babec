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
use crate::column::{Batch, Bitmap, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::{Expr, SortKey, WindowExpr, WindowFunc};
use crate::schema::{DataType, PhysicalType};

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
        ColumnData::Int64(v) => monotone(v, &mut None, key.descending),
        ColumnData::Float64(v) => monotone(v, &mut None, key.descending),
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
    if steps == 1 {
        return next;
    }
    let mut out = next.clone();
    for _ in 1..steps {
        for r in out.iter_mut().filter(|r| **r != NO_ROW) {
            *r = next[*r as usize];
        }
    }
    out
}

/// A Window computed batch by batch, without concatenating its input: every
/// call is a lag or lead by at most one row (no default) of a plain integer or
/// DOUBLE column, all over one integer partition key (such as the optimizer's
/// `key_id`) whose values span fewer than twice the rows, and one ORDER BY key
/// without NULLs that never goes back across the batches. Each call keeps the
/// last value seen of every partition in a table indexed by the key.
pub(super) struct Streamed {
    key: usize,
    low: i64,
    span: usize,
    calls: Vec<Call>,
}

struct Call {
    arg: usize,
    /// `lead` (or `lag` by -1): the batches and rows are walked backwards.
    forward: bool,
    /// Offset 0: the value itself.
    itself: bool,
}

/// The column index of `e` when it is a plain column of `schema` of a physical
/// type the stream handles.
fn plain(e: &Expr, schema: &[(String, DataType)], types: &[PhysicalType]) -> Option<usize> {
    match e {
        Expr::Column { index, .. } if types.contains(&schema.get(*index)?.1.physical()) => {
            Some(*index)
        }
        _ => None,
    }
}

/// How the windows run batch by batch, or `None` when they do not qualify.
pub(super) fn streamed(
    batches: &[Batch],
    schema: &[(String, DataType)],
    windows: &[(WindowExpr, String)],
    threads: usize,
) -> Option<Streamed> {
    let (first, _) = windows.first()?;
    let ints = [PhysicalType::Int64];
    let numbers = [PhysicalType::Int64, PhysicalType::Float64];
    let key = match first.partition_by.as_slice() {
        [e] => plain(e, schema, &ints)?,
        _ => return None,
    };
    let order = match first.order_by.as_slice() {
        [k] => (plain(&k.expr, schema, &numbers)?, k.descending),
        _ => return None,
    };
    let mut calls = Vec::with_capacity(windows.len());
    for (w, _) in windows {
        if !w.same_order(first) || !crate::plan::navigates_by_links(std::iter::once(w)) {
            return None;
        }
        let offset = match w.args.get(1) {
            None => 1,
            Some(e) => literal_int(Some(e), "the lag/lead offset").ok()??,
        };
        if offset.abs() > 1 || w.args.len() > 2 {
            return None;
        }
        calls.push(Call {
            arg: plain(w.args.first()?, schema, &numbers)?,
            forward: (w.func == WindowFunc::Lead) != (offset < 0),
            itself: offset == 0,
        });
    }
    // The order key in order across the batches, the key's span: many rows
    // are checked in two halves at once, joined where they meet.
    let rows: usize = batches.iter().map(Batch::num_rows).sum();
    let halves = if threads > 1 && rows >= 2 * ROWS_PER_THREAD {
        let mut before = 0;
        let cut = batches
            .iter()
            .position(|b| {
                before += b.num_rows();
                2 * before >= rows
            })
            .map_or(batches.len(), |i| i + 1);
        let (a, b) = batches.split_at(cut);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| Stretch::of(b, order, key));
            let a = Stretch::of(a, order, key);
            (
                a,
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            )
        });
        a?.then(b?, order.1)?
    } else {
        Stretch::of(batches, order, key)?
    };
    let (low, span) = halves.span;
    if span > 2 * rows as u64 + 1 {
        return None;
    }
    Some(Streamed {
        key,
        low,
        span: span as usize,
        calls,
    })
}

/// What consecutive batches say of the order key (in order within them: their
/// first and last values) and of the partition key (its least value and span,
/// as [`super::order::int_span`]).
struct Stretch {
    first: (Option<i64>, Option<f64>),
    last: (Option<i64>, Option<f64>),
    span: (i64, u64),
}

impl Stretch {
    /// `None` when the order key goes back (or has NULLs, or another type) or
    /// the partition key is not BIGINT.
    fn of(batches: &[Batch], order: (usize, bool), key: usize) -> Option<Stretch> {
        let (mut last_int, mut last_float) = (None, None);
        let mut first = (None, None);
        for b in batches {
            let o = b.columns.get(order.0)?;
            if first == (None, None) {
                first = match &o.data {
                    ColumnData::Int64(v) => (v.first().copied(), None),
                    ColumnData::Float64(v) => (None, v.first().copied()),
                    _ => (None, None),
                };
            }
            let in_order = o.null_count() == 0
                && match &o.data {
                    ColumnData::Int64(v) => monotone(v, &mut last_int, order.1),
                    ColumnData::Float64(v) => monotone(v, &mut last_float, order.1),
                    _ => false,
                };
            if !in_order {
                return None;
            }
        }
        let keys: Vec<&Column> = batches
            .iter()
            .map(|b| b.columns.get(key))
            .collect::<Option<_>>()?;
        Some(Stretch {
            first,
            last: (last_int, last_float),
            span: super::order::int_span(keys.into_iter())?,
        })
    }

    /// This stretch followed by `next`: `None` when the order key goes back
    /// where they meet.
    fn then(self, next: Stretch, descending: bool) -> Option<Stretch> {
        let (mut li, mut lf) = self.last;
        let meets = next
            .first
            .0
            .is_none_or(|x| monotone(&[x], &mut li, descending))
            && next
                .first
                .1
                .is_none_or(|x| monotone(&[x], &mut lf, descending));
        if !meets {
            return None;
        }
        // Spans as (least, count); a count of 0: no value.
        let ends = |(low, n): (i64, u64)| (n > 0).then(|| (low, low + (n - 1) as i64));
        let span = match (ends(self.span), ends(next.span)) {
            (Some((a, b)), Some((c, d))) => {
                let (low, high) = (a.min(c), b.max(d));
                (low, high.checked_sub(low)? as u64 + 1)
            }
            (Some(_), None) => self.span,
            (None, _) => next.span,
        };
        Some(Stretch {
            first: if self.first == (None, None) {
                next.first
            } else {
                self.first
            },
            last: if next.last == (None, None) {
                self.last
            } else {
                next.last
            },
            span,
        })
    }
}

/// Whether `v` never goes back (up when `descending`), continuing from `last`
/// (the previous batch's last value), which it then becomes.
fn monotone<T: PartialOrd + Copy>(v: &[T], last: &mut Option<T>, descending: bool) -> bool {
    let fine = |a: T, b: T| if descending { b <= a } else { b >= a };
    let ok = last.is_none_or(|p| v.first().is_none_or(|&x| fine(p, x)))
        && v.windows(2).all(|w| fine(w[0], w[1]));
    if let Some(&x) = v.last() {
        *last = Some(x);
    }
    ok
}

/// Rows ahead whose partition's entry is prefetched.
const PREFETCH_AHEAD: usize = 16;
/// Below this many rows the window runs on one thread.
const ROWS_PER_THREAD: usize = 1 << 12;

/// The last value seen of every partition (its bits), whether there was one
/// and whether it was NULL. The flags are bits, so a row costs one miss in the
/// value table at most.
struct LastValues {
    values: Vec<u64>,
    seen: Vec<u64>,
    null: Vec<u64>,
}

impl LastValues {
    fn new(parts: usize) -> LastValues {
        LastValues {
            values: vec![0; parts],
            seen: vec![0; parts.div_ceil(64)],
            null: vec![0; parts.div_ceil(64)],
        }
    }

    fn bytes(parts: usize) -> usize {
        parts * 8 + parts.div_ceil(64) * 16
    }

    /// The value partition `p` last had: `None` when none was seen,
    /// `Some(None)` when it was NULL.
    fn get(&self, p: usize) -> Option<Option<u64>> {
        bit(&self.seen, p).then(|| (!bit(&self.null, p)).then(|| self.values[p]))
    }
}

fn bit(words: &[u64], p: usize) -> bool {
    words[p / 64] & (1 << (p % 64)) != 0
}

fn set_bit(words: &mut [u64], p: usize, on: bool) {
    let m = 1u64 << (p % 64);
    if on {
        words[p / 64] |= m;
    } else {
        words[p / 64] &= !m;
    }
}

/// A number type a call shifts, moved through the tables as its bits.
trait Bits: Copy + Default + Send + Sync {
    fn to_bits(self) -> u64;
    fn from_bits(b: u64) -> Self;
    /// The values of a column of this type.
    fn values(data: &ColumnData) -> Option<&[Self]>;
    fn column(values: Vec<Self>) -> ColumnData;
}

impl Bits for i64 {
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn from_bits(b: u64) -> i64 {
        b as i64
    }
    fn values(data: &ColumnData) -> Option<&[i64]> {
        match data {
            ColumnData::Int64(v) => Some(v),
            _ => None,
        }
    }
    fn column(values: Vec<i64>) -> ColumnData {
        ColumnData::Int64(values)
    }
}

impl Bits for f64 {
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn from_bits(b: u64) -> f64 {
        f64::from_bits(b)
    }
    fn values(data: &ColumnData) -> Option<&[f64]> {
        match data {
            ColumnData::Float64(v) => Some(v),
            _ => None,
        }
    }
    fn column(values: Vec<f64>) -> ColumnData {
        ColumnData::Float64(values)
    }
}

/// One batch's result of a call: the values and which are valid.
type Shifted<T> = (Vec<T>, Bitmap);

/// What one thread made of its run of batches: each batch's result, its
/// table after the run, and the rows (batch in the run, row, partition) whose
/// partition had not appeared earlier in the run, left NULL for now.
struct Run<T> {
    shifted: Vec<Shifted<T>>,
    last: LastValues,
    open: Vec<OpenRow>,
}

/// A row left open by a run: its batch's place in the run, the row, and its
/// partition.
type OpenRow = (u32, u32, u32);

impl Streamed {
    /// The batches, each with its rows of every call's result appended.
    pub(super) fn run(
        &self,
        mut batches: Vec<Batch>,
        threads: usize,
        mem: &mut super::super::memory::Reservation,
    ) -> Result<Vec<Batch>> {
        let rows: usize = batches.iter().map(Batch::num_rows).sum();
        let runs = threads.clamp(1, rows / ROWS_PER_THREAD + 1);
        let mut results: Vec<Vec<Column>> = Vec::with_capacity(self.calls.len());
        for call in &self.calls {
            let out = if call.itself {
                batches
                    .iter()
                    .map(|b| b.columns[call.arg].clone())
                    .collect()
            } else {
                match batches.first().map(|b| &b.columns[call.arg].data) {
                    Some(ColumnData::Float64(_)) => {
                        self.shift_all::<f64>(&batches, call, runs, mem)?
                    }
                    _ => self.shift_all::<i64>(&batches, call, runs, mem)?,
                }
            };
            mem.grow(out.iter().map(Column::heap_bytes).sum())?;
            results.push(out);
        }
        for r in results {
            for (b, c) in batches.iter_mut().zip(r) {
                b.columns.push(c);
            }
        }
        Ok(batches)
    }

    /// A lag or lead by one row over all batches. The batches are cut into
    /// `runs` consecutive runs of about equal rows (in walking order: backwards
    /// for a lead), one per thread, each with a table of its own over the whole
    /// key space; a row whose partition did not appear earlier in its run takes
    /// the value of the nearest earlier run that saw the partition, once all
    /// runs are done. Every result is written once, by one thread.
    fn shift_all<T: Bits>(
        &self,
        batches: &[Batch],
        call: &Call,
        runs: usize,
        mem: &mut super::super::memory::Reservation,
    ) -> Result<Vec<Column>> {
        let parts = self.span + 1;
        // The tables, and at most one open row per partition in each later run.
        mem.grow(runs * LastValues::bytes(parts) + (runs - 1) * parts * 12)?;
        let mut order: Vec<usize> = (0..batches.len()).collect();
        if call.forward {
            order.reverse();
        }
        let total: usize = batches.iter().map(Batch::num_rows).sum();
        let mut cuts = vec![0usize];
        let mut walked = 0;
        for (k, &b) in order.iter().enumerate() {
            walked += batches[b].num_rows();
            if walked * runs >= total * cuts.len() && cuts.len() < runs {
                cuts.push(k + 1);
            }
        }
        cuts.push(order.len());
        cuts.dedup();
        let pieces: Vec<&[usize]> = cuts.windows(2).map(|w| &order[w[0]..w[1]]).collect();
        let walk = |(k, piece): (usize, &&[usize])| -> Result<Run<T>> {
            let mut run = Run {
                shifted: Vec::with_capacity(piece.len()),
                last: LastValues::new(parts),
                open: Vec::new(),
            };
            for (pos, &b) in piece.iter().enumerate() {
                let open = (k > 0).then_some((&mut run.open, pos as u32));
                let shifted = self.shift(&batches[b], call, &mut run.last, open)?;
                run.shifted.push(shifted);
            }
            Ok(run)
        };
        let mut done: Vec<Run<T>> = if pieces.len() == 1 {
            pieces.iter().enumerate().map(walk).collect::<Result<_>>()?
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = pieces
                    .iter()
                    .enumerate()
                    .map(|piece| s.spawn(move || walk(piece)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect::<Result<_>>()
            })?
        };
        // Settle each run's open rows from the runs before it, nearest first.
        for k in 1..done.len() {
            let (before, rest) = done.split_at_mut(k);
            let run = &mut rest[0];
            let nearest = &before[k - 1].last;
            for (j, &(pos, i, p)) in run.open.iter().enumerate() {
                // The nearest run's entry of a row ahead is fetched meanwhile.
                if let Some(&(_, _, q)) = run.open.get(j + PREFETCH_AHEAD) {
                    crate::storage::prefetch(&nearest.values[q as usize]);
                }
                let (i, p) = (i as usize, p as usize);
                let found = before.iter().rev().find_map(|r| r.last.get(p));
                if let Some(Some(v)) = found {
                    let (values, valid) = &mut run.shifted[pos as usize];
                    values[i] = T::from_bits(v);
                    valid.set(i, true);
                }
            }
        }
        let mut out: Vec<Option<Column>> = vec![None; batches.len()];
        for (piece, run) in pieces.iter().zip(done) {
            for (&b, (values, valid)) in piece.iter().zip(run.shifted) {
                out[b] = Some(Column {
                    data: T::column(values),
                    validity: Some(valid),
                });
            }
        }
        out.into_iter()
            .map(|c| c.ok_or_else(|| Error::Internal("window stream: a batch was skipped".into())))
            .collect()
    }

    /// One batch of a lag or lead by one row, walked against `last`. With
    /// `open` (the run's list and this batch's place in the run), a row whose
    /// partition `last` has not seen is listed there.
    fn shift<T: Bits>(
        &self,
        b: &Batch,
        call: &Call,
        last: &mut LastValues,
        mut open: Option<(&mut Vec<OpenRow>, u32)>,
    ) -> Result<Shifted<T>> {
        let (k, x) = (&b.columns[self.key], &b.columns[call.arg]);
        let ColumnData::Int64(keys) = &k.data else {
            return Err(Error::Internal("window stream: key not BIGINT".into()));
        };
        let args = T::values(&x.data)
            .ok_or_else(|| Error::Internal("window stream: argument not a number".into()))?;
        let n = keys.len().min(args.len());
        let (low, span) = (self.low, self.span);
        let part = |i: usize| {
            if k.is_valid(i) {
                ((keys[i] - low) as usize).min(span)
            } else {
                span
            }
        };
        let mut out = vec![T::default(); n];
        let mut valid = Bitmap::new(n, false);
        let mut step = |i: usize, ahead: Option<usize>| {
            if let Some(a) = ahead.filter(|&a| a < n) {
                crate::storage::prefetch(&last.values[part(a)]);
            }
            let p = part(i);
            if bit(&last.seen, p) {
                if !bit(&last.null, p) {
                    out[i] = T::from_bits(last.values[p]);
                    valid.set(i, true);
                }
            } else if let Some((list, pos)) = &mut open {
                list.push((*pos, i as u32, p as u32));
            }
            last.values[p] = args[i].to_bits();
            set_bit(&mut last.seen, p, true);
            set_bit(&mut last.null, p, !x.is_valid(i));
        };
        if call.forward {
            (0..n)
                .rev()
                .for_each(|i| step(i, i.checked_sub(PREFETCH_AHEAD)));
        } else {
            (0..n).for_each(|i| step(i, Some(i + PREFETCH_AHEAD)));
        }
        Ok((out, valid))
    }
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
