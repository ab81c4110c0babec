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
    // The order key in order across the batches, the key's span.
    let (mut last_int, mut last_float) = (None, None);
    let mut rows = 0usize;
    for b in batches {
        let o = b.columns.get(order.0)?;
        let in_order = o.null_count() == 0
            && match &o.data {
                ColumnData::Int64(v) => monotone(v, &mut last_int, order.1),
                ColumnData::Float64(v) => monotone(v, &mut last_float, order.1),
                _ => false,
            };
        if !in_order {
            return None;
        }
        rows += b.num_rows();
    }
    let keys: Vec<&Column> = batches
        .iter()
        .map(|b| b.columns.get(key))
        .collect::<Option<_>>()?;
    let (low, span) = super::order::int_span(keys.into_iter())?;
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
/// Batches whose rows the threads walk between two merges of their results.
const BATCHES_PER_ROUND: usize = 16;
/// Below this many rows the window runs on one thread.
const ROWS_PER_THREAD: usize = 1 << 12;

/// The last value seen of each partition of one share of the key space
/// (indexed from the share's first partition), whether there was one and
/// whether it was NULL. The flags are bits, so a row costs one miss in the
/// value table at most.
struct LastValues {
    first: usize,
    values: Vec<u64>,
    seen: Vec<u64>,
    null: Vec<u64>,
}

impl LastValues {
    fn new(parts: std::ops::Range<usize>) -> LastValues {
        let n = parts.len();
        LastValues {
            first: parts.start,
            values: vec![0; n],
            seen: vec![0; n.div_ceil(64)],
            null: vec![0; n.div_ceil(64)],
        }
    }

    fn bytes(parts: usize) -> usize {
        parts * 8 + parts.div_ceil(64) * 16
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

/// One batch's rows as a call reads them: each row's partition, the argument's
/// bits and validity.
struct Rows<'a> {
    parts: Vec<u32>,
    bits: Vec<u64>,
    arg: &'a Column,
}

impl Streamed {
    /// The batches, each with its rows of every call's result appended. The
    /// key space is cut into one share per thread: every thread walks all rows
    /// in order and moves those of its partitions, so each keeps a table of
    /// its own; their results are merged every few batches.
    pub(super) fn run(
        &self,
        mut batches: Vec<Batch>,
        threads: usize,
        mem: &mut super::super::memory::Reservation,
    ) -> Result<Vec<Batch>> {
        let parts = self.span + 1;
        let rows: usize = batches.iter().map(Batch::num_rows).sum();
        let shares = threads.clamp(1, rows / ROWS_PER_THREAD + 1);
        mem.grow(LastValues::bytes(parts))?;
        let mut results: Vec<Vec<Column>> = Vec::with_capacity(self.calls.len());
        for call in &self.calls {
            let out = if call.itself {
                batches
                    .iter()
                    .map(|b| b.columns[call.arg].clone())
                    .collect()
            } else {
                self.shift_all(&batches, call, shares)?
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

    /// A lag or lead by one row over all batches, on `shares` threads.
    fn shift_all(&self, batches: &[Batch], call: &Call, shares: usize) -> Result<Vec<Column>> {
        let parts = self.span + 1;
        let mut lasts: Vec<LastValues> = (0..shares)
            .map(|t| LastValues::new(t * parts / shares..(t + 1) * parts / shares))
            .collect();
        let mut order: Vec<usize> = (0..batches.len()).collect();
        if call.forward {
            order.reverse();
        }
        let mut out: Vec<Option<Column>> = vec![None; batches.len()];
        for round in order.chunks(BATCHES_PER_ROUND) {
            let rows: Vec<Rows<'_>> = round
                .iter()
                .map(|&b| self.rows(&batches[b], call))
                .collect::<Result<_>>()?;
            let shifted: Vec<Vec<(Vec<u64>, Bitmap)>> = if shares == 1 {
                vec![rows
                    .iter()
                    .map(|r| shift(r, call.forward, &mut lasts[0]))
                    .collect()]
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = lasts
                        .iter_mut()
                        .map(|last| {
                            let rows = &rows;
                            s.spawn(move || {
                                rows.iter().map(|r| shift(r, call.forward, last)).collect()
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                        .collect()
                })
            };
            let mut shares: Vec<_> = shifted.into_iter().map(Vec::into_iter).collect();
            for (k, &b) in round.iter().enumerate() {
                let mut pieces = shares.iter_mut().filter_map(Iterator::next);
                let Some((mut values, valid)) = pieces.next() else {
                    continue;
                };
                let mut words = valid.words().to_vec();
                for (v, m) in pieces {
                    values.iter_mut().zip(v).for_each(|(a, b)| *a |= b);
                    words.iter_mut().zip(m.words()).for_each(|(a, b)| *a |= b);
                }
                let data = match &rows[k].arg.data {
                    ColumnData::Float64(_) => {
                        ColumnData::Float64(values.into_iter().map(f64::from_bits).collect())
                    }
                    _ => ColumnData::Int64(values.into_iter().map(|v| v as i64).collect()),
                };
                out[b] = Some(Column {
                    data,
                    validity: Some(Bitmap::from_words(words, valid.len())),
                });
            }
        }
        out.into_iter()
            .map(|c| c.ok_or_else(|| Error::Internal("window stream: a batch was skipped".into())))
            .collect()
    }

    /// What a call reads of batch `b`.
    fn rows<'a>(&self, b: &'a Batch, call: &Call) -> Result<Rows<'a>> {
        let (k, x) = (&b.columns[self.key], &b.columns[call.arg]);
        let ColumnData::Int64(keys) = &k.data else {
            return Err(Error::Internal("window stream: key not BIGINT".into()));
        };
        let bits: Vec<u64> = match &x.data {
            ColumnData::Int64(v) => v.iter().map(|&v| v as u64).collect(),
            ColumnData::Float64(v) => v.iter().map(|v| v.to_bits()).collect(),
            _ => {
                return Err(Error::Internal(
                    "window stream: argument not a number".into(),
                ))
            }
        };
        let parts = (0..keys.len())
            .map(|i| {
                if k.is_valid(i) {
                    (keys[i] - self.low) as u32
                } else {
                    self.span as u32
                }
            })
            .collect();
        Ok(Rows {
            parts,
            bits,
            arg: x,
        })
    }
}

/// One batch of a lag or lead by one row, for the rows of the partitions
/// `last` holds: their values (0 elsewhere) and which are valid (none
/// elsewhere).
fn shift(rows: &Rows<'_>, forward: bool, last: &mut LastValues) -> (Vec<u64>, Bitmap) {
    let n = rows.parts.len();
    let mut out = vec![0u64; n];
    let mut valid = Bitmap::new(n, false);
    let range = last.first..last.first + last.values.len();
    let mut step = |i: usize, ahead: Option<usize>| {
        if let Some(&q) = ahead.and_then(|a| rows.parts.get(a)) {
            if range.contains(&(q as usize)) {
                crate::exec::group::prefetch(&last.values[q as usize - last.first]);
            }
        }
        let p = rows.parts[i] as usize;
        if !range.contains(&p) {
            return;
        }
        let p = p - last.first;
        if bit(&last.seen, p) && !bit(&last.null, p) {
            out[i] = last.values[p];
            valid.set(i, true);
        }
        last.values[p] = rows.bits[i];
        set_bit(&mut last.seen, p, true);
        set_bit(&mut last.null, p, !rows.arg.is_valid(i));
    };
    if forward {
        (0..n)
            .rev()
            .for_each(|i| step(i, i.checked_sub(PREFETCH_AHEAD)));
    } else {
        (0..n).for_each(|i| step(i, Some(i + PREFETCH_AHEAD)));
    }
    (out, valid)
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
