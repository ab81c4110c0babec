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
/// Entries ahead of a bucket's next one that its read-back prefetches.
const READ_AHEAD: usize = 8;
/// Below this many rows the window runs on one thread.
const ROWS_PER_THREAD: usize = 1 << 12;
/// Bytes of value table a bucket's rows are walked against: small enough to
/// stay in the cache while they are, where one table over many partitions
/// costs a memory access (and a TLB miss) per row.
const BUCKET_TABLE_BYTES: usize = 1 << 20;
/// Bytes of the tables of one walk per thread (see [`Streamed::shift_runs`]) up to
/// which the threads walk runs of rows rather than buckets: tables this small
/// stay in the last-level cache, and the walk skips the scatter and the read-back.
const RUN_TABLES_BYTES: usize = 24 << 20;
/// At most `1 << MAX_BUCKET_BITS` buckets.
const MAX_BUCKET_BITS: u32 = 10;
/// Rows scattered to the buckets at a time (the last batch of a chunk may take
/// it past this): the buckets' tables are reused across chunks.
const CHUNK_ROWS: usize = 1 << 23;

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

    /// The value partition `p` last had (`None`: none, or NULL), and `bits`
    /// (NULL when `null`) recorded as its value from now on.
    #[inline]
    fn swap(&mut self, p: usize, bits: u64, null: bool) -> Option<u64> {
        let before = (bit(&self.seen, p) && !bit(&self.null, p)).then_some(self.values[p]);
        self.values[p] = bits;
        set_bit(&mut self.seen, p, true);
        set_bit(&mut self.null, p, null);
        before
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

/// How the partitions are cut into buckets: by the low `bits` bits of a
/// partition's number (numbers from `key_id` are spread by hash there), each
/// bucket with a table of `per_bucket` partitions.
#[derive(Clone, Copy)]
struct Buckets {
    bits: u32,
    per_bucket: usize,
}

impl Buckets {
    /// Enough buckets for each table to stay in the cache and, with more than
    /// one thread over many rows, for the threads to share the buckets out.
    fn new(parts: usize, rows: usize, threads: usize) -> Buckets {
        let mut bits = 0;
        while (parts >> bits) * 8 > BUCKET_TABLE_BYTES && bits < MAX_BUCKET_BITS {
            bits += 1;
        }
        if threads > 1 && rows >= 2 * ROWS_PER_THREAD {
            bits = bits.max((4 * threads).next_power_of_two().trailing_zeros());
        }
        while bits > 0 && parts >> bits == 0 {
            bits -= 1;
        }
        Buckets {
            bits,
            per_bucket: parts.div_ceil(1 << bits),
        }
    }

    fn count(self) -> usize {
        1 << self.bits
    }

    /// Partition `p`'s bucket and its place in the bucket's table.
    #[inline]
    fn of(self, p: usize) -> (usize, usize) {
        (p & ((1 << self.bits) - 1), p >> self.bits)
    }
}

/// A row scattered to its bucket: the argument's bits and the partition's
/// place in the bucket's table; after the bucket's walk, the result.
#[derive(Clone, Copy, Default)]
struct Entry {
    bits: u64,
    local: u32,
    flags: u32,
}

/// [`Entry::flags`]: the argument is NULL (before the walk); the result is
/// valid (after it).
const NULL_ARG: u32 = 1;
const FOUND: u32 = 2;

/// One batch's partition key and the call's argument, as the walks read them.
struct Rows<'a, T> {
    key: &'a Column,
    keys: &'a [i64],
    arg: &'a Column,
    args: &'a [T],
    n: usize,
    low: i64,
    span: usize,
    /// Walked backwards (a lead).
    forward: bool,
}

impl<'a, T: Bits> Rows<'a, T> {
    fn of(s: &Streamed, b: &'a Batch, call: &Call) -> Result<Rows<'a, T>> {
        let (key, arg) = (&b.columns[s.key], &b.columns[call.arg]);
        let ColumnData::Int64(keys) = &key.data else {
            return Err(Error::Internal("window stream: key not BIGINT".into()));
        };
        let args = T::values(&arg.data)
            .ok_or_else(|| Error::Internal("window stream: argument not a number".into()))?;
        Ok(Rows {
            key,
            keys,
            arg,
            args,
            n: keys.len().min(args.len()),
            low: s.low,
            span: s.span,
            forward: call.forward,
        })
    }

    /// The row walked `k`-th.
    #[inline]
    fn row(&self, k: usize) -> usize {
        if self.forward {
            self.n - 1 - k
        } else {
            k
        }
    }

    /// Row `i`'s partition (NULL keys: one partition of their own).
    #[inline]
    fn part(&self, i: usize) -> usize {
        if self.key.is_valid(i) {
            ((self.keys[i] - self.low) as usize).min(self.span)
        } else {
            self.span
        }
    }
}

/// `f` of each item, each on a thread of its own (the first on this one).
pub(super) fn on_threads<I: Send, R: Send>(items: Vec<I>, f: impl Fn(I) -> R + Sync) -> Vec<R> {
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Vec::new();
    };
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.map(|item| s.spawn(move || f(item))).collect();
        let mut out = vec![f(first)];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        out
    })
}

impl Streamed {
    /// The batches, each with its rows of every call's result appended.
    pub(super) fn run(
        &self,
        mut batches: Vec<Batch>,
        threads: usize,
        mem: &mut super::super::memory::Reservation,
    ) -> Result<Vec<Batch>> {
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
                        self.shift_all::<f64>(&batches, call, threads, mem)?
                    }
                    _ => self.shift_all::<i64>(&batches, call, threads, mem)?,
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

    /// A lag or lead by one row over all batches. Over partitions few enough
    /// for a table per thread to stay in the cache: [`Self::shift_runs`].
    /// Otherwise walked in chunks of about
    /// [`CHUNK_ROWS`] rows. Over few partitions each chunk's rows are walked
    /// against one table. Over many, a chunk's rows are first scattered to
    /// buckets of partitions (each thread its share of the rows, in order), then
    /// each bucket's rows are walked against the bucket's own table (the threads
    /// share the buckets out), and each row's result is read back from its
    /// bucket in the order of the scatter. Every table entry is then found in
    /// the cache, and no two threads touch one table.
    fn shift_all<T: Bits>(
        &self,
        batches: &[Batch],
        call: &Call,
        threads: usize,
        mem: &mut super::super::memory::Reservation,
    ) -> Result<Vec<Column>> {
        let parts = self.span + 1;
        let total: usize = batches.iter().map(Batch::num_rows).sum();
        let threads = threads.clamp(1, total / ROWS_PER_THREAD + 1);
        if threads > 1 && threads * LastValues::bytes(parts) <= RUN_TABLES_BYTES {
            return self.shift_runs::<T>(batches, call, threads, mem);
        }
        let buckets = Buckets::new(parts, total, threads);
        let mut order: Vec<usize> = (0..batches.len()).collect();
        if call.forward {
            order.reverse();
        }
        let mut chunks: Vec<&[usize]> = Vec::new();
        let (mut start, mut rows, mut widest) = (0, 0, 0);
        for (k, &b) in order.iter().enumerate() {
            rows += batches[b].num_rows();
            if rows >= CHUNK_ROWS || k + 1 == order.len() {
                chunks.push(&order[start..=k]);
                widest = widest.max(rows);
                (start, rows) = (k + 1, 0);
            }
        }
        let scattered = if buckets.bits == 0 { 0 } else { widest };
        mem.grow(
            buckets.count() * LastValues::bytes(buckets.per_bucket)
                + scattered * std::mem::size_of::<Entry>(),
        )?;
        let mut tables: Vec<LastValues> = (0..buckets.count())
            .map(|_| LastValues::new(buckets.per_bucket))
            .collect();
        let mut entries: Vec<Entry> = Vec::new();
        let mut placed = Vec::with_capacity(batches.len());
        for chunk in chunks {
            let rows: Vec<Rows<T>> = chunk
                .iter()
                .map(|&b| Rows::of(self, &batches[b], call))
                .collect::<Result<_>>()?;
            let shifted = if buckets.bits == 0 {
                rows.iter()
                    .map(|r| shift(r, &mut tables[0], None))
                    .collect()
            } else {
                scatter_walk(&rows, buckets, threads, &mut tables, &mut entries)
            };
            placed.extend(chunk.iter().copied().zip(shifted));
        }
        in_batch_order(batches.len(), placed)
    }
}

/// The columns of `n` batches' results, given as (batch, result) pairs.
fn in_batch_order<T: Bits>(
    n: usize,
    placed: impl IntoIterator<Item = (usize, Shifted<T>)>,
) -> Result<Vec<Column>> {
    let mut out: Vec<Option<Column>> = vec![None; n];
    for (b, (values, valid)) in placed {
        out[b] = Some(Column {
            data: T::column(values),
            validity: Some(valid),
        });
    }
    out.into_iter()
        .map(|c| c.ok_or_else(|| Error::Internal("window stream: a batch was skipped".into())))
        .collect()
}

/// One batch of a lag or lead by one row, walked against `last`. With `open`
/// (a run's list and this batch's place in the run), a row whose partition
/// `last` has not seen is listed there.
fn shift<T: Bits>(
    r: &Rows<T>,
    last: &mut LastValues,
    mut open: Option<(&mut Vec<OpenRow>, u32)>,
) -> Shifted<T> {
    let mut out = vec![T::default(); r.n];
    let mut valid = Bitmap::new(r.n, false);
    for k in 0..r.n {
        let i = r.row(k);
        if k + PREFETCH_AHEAD < r.n {
            crate::storage::prefetch(&last.values[r.part(r.row(k + PREFETCH_AHEAD))]);
        }
        let p = r.part(i);
        if let Some((list, pos)) = &mut open {
            if !bit(&last.seen, p) {
                list.push((*pos, i as u32, p as u32));
            }
        }
        if let Some(v) = last.swap(p, r.args[i].to_bits(), !r.arg.is_valid(i)) {
            out[i] = T::from_bits(v);
            valid.set(i, true);
        }
    }
    (out, valid)
}

impl Streamed {
    /// A lag or lead by one row over all batches, cut into `runs` consecutive
    /// runs of about equal rows (in walking order), one per thread, each with a
    /// table of its own over the whole key space; a row whose partition did not
    /// appear earlier in its run takes the value of the nearest earlier run
    /// that saw the partition, once all runs are done. Every result is written
    /// once, by one thread.
    fn shift_runs<T: Bits>(
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
        let pieces: Vec<(usize, &[usize])> = (cuts.windows(2).enumerate())
            .map(|(k, w)| (k, &order[w[0]..w[1]]))
            .collect();
        let walk = |(k, piece): (usize, &[usize])| -> Result<Run<T>> {
            let mut run = Run {
                shifted: Vec::with_capacity(piece.len()),
                last: LastValues::new(parts),
                open: Vec::new(),
            };
            for (pos, &b) in piece.iter().enumerate() {
                let rows = Rows::of(self, &batches[b], call)?;
                let open = (k > 0).then_some((&mut run.open, pos as u32));
                run.shifted.push(shift(&rows, &mut run.last, open));
            }
            Ok(run)
        };
        let mut done: Vec<Run<T>> = on_threads(pieces.clone(), walk)
            .into_iter()
            .collect::<Result<_>>()?;
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
        let placed = (pieces.iter().zip(done))
            .flat_map(|((_, piece), run)| piece.iter().copied().zip(run.shifted));
        in_batch_order(batches.len(), placed)
    }
}

/// One chunk's batches (`rows`, in walking order) shifted through buckets, as
/// [`Streamed::shift_all`] describes: the rows are cut into one group of
/// consecutive batches per thread; `entries` is reused from chunk to chunk.
fn scatter_walk<T: Bits>(
    rows: &[Rows<T>],
    buckets: Buckets,
    threads: usize,
    tables: &mut [LastValues],
    entries: &mut Vec<Entry>,
) -> Vec<Shifted<T>> {
    let nb = buckets.count();
    let total: usize = rows.iter().map(|r| r.n).sum();
    if total == 0 {
        return rows
            .iter()
            .map(|_| (Vec::new(), Bitmap::new(0, false)))
            .collect();
    }
    let mut groups: Vec<&[Rows<T>]> = Vec::with_capacity(threads);
    let (mut start, mut walked) = (0, 0);
    for (k, r) in rows.iter().enumerate() {
        walked += r.n;
        if walked * threads >= total * (groups.len() + 1) || k + 1 == rows.len() {
            groups.push(&rows[start..=k]);
            start = k + 1;
        }
    }
    // How many rows each group sends to each bucket.
    let counts: Vec<Vec<usize>> = on_threads(groups.clone(), |group| {
        let mut c = vec![0usize; nb];
        for r in group {
            for i in 0..r.n {
                c[buckets.of(r.part(i)).0] += 1;
            }
        }
        c
    });
    // Each bucket's rows, group by group (so in walking order), in one array
    // (the scatter writes every entry of its first `total`: no clearing).
    if entries.len() < total {
        entries.resize(total, Entry::default());
    }
    let entries = &mut entries[..total];
    let mut starts = vec![vec![0usize; nb]; groups.len()];
    let mut regions: Vec<Vec<&mut [Entry]>> = groups.iter().map(|_| Vec::new()).collect();
    let mut rest = &mut *entries;
    let mut at = 0;
    for b in 0..nb {
        for (g, c) in counts.iter().enumerate() {
            let (region, tail) = rest.split_at_mut(c[b]);
            starts[g][b] = at;
            at += c[b];
            regions[g].push(region);
            rest = tail;
        }
    }
    on_threads(
        groups.iter().zip(regions).collect(),
        |(group, mut regions)| {
            let mut filled = vec![0usize; nb];
            for r in group.iter() {
                for k in 0..r.n {
                    let i = r.row(k);
                    let (b, local) = buckets.of(r.part(i));
                    regions[b][filled[b]] = Entry {
                        bits: r.args[i].to_bits(),
                        local: local as u32,
                        flags: if r.arg.is_valid(i) { 0 } else { NULL_ARG },
                    };
                    filled[b] += 1;
                }
            }
        },
    );
    // Each bucket's rows walked against its table.
    let mut work = Vec::with_capacity(nb);
    let mut rest = &mut *entries;
    for (b, table) in tables.iter_mut().enumerate() {
        let (bucket, tail) = rest.split_at_mut(counts.iter().map(|c| c[b]).sum());
        work.push((bucket, table));
        rest = tail;
    }
    let work = std::sync::Mutex::new(work.into_iter());
    on_threads(vec![(); threads], |()| loop {
        let next = work.lock().map(|mut w| w.next());
        let Ok(Some((bucket, table))) = next else {
            break;
        };
        walk_bucket(bucket, table);
    });
    // Each row's result read back in the scatter's order.
    let entries: &[Entry] = entries;
    let shifted: Vec<Vec<Shifted<T>>> = on_threads(
        groups.into_iter().zip(starts).collect(),
        |(group, mut next)| {
            group
                .iter()
                .map(|r| {
                    let mut out = vec![T::default(); r.n];
                    let mut valid = Bitmap::new(r.n, false);
                    for k in 0..r.n {
                        let i = r.row(k);
                        let b = buckets.of(r.part(i)).0;
                        let e = entries[next[b]];
                        // The buckets are read as that many streams at
                        // once, more than the hardware's prefetcher follows:
                        // each stream's next line is asked for ahead (half
                        // the read-back's time at 128 buckets).
                        let ahead = entries.as_ptr().wrapping_add(next[b] + READ_AHEAD);
                        crate::storage::prefetch(ahead);
                        next[b] += 1;
                        if e.flags & FOUND != 0 {
                            out[i] = T::from_bits(e.bits);
                            valid.set(i, true);
                        }
                    }
                    (out, valid)
                })
                .collect()
        },
    );
    shifted.into_iter().flatten().collect()
}

/// One bucket's rows, in walking order, against its table: each entry's
/// argument is swapped for the result.
fn walk_bucket(bucket: &mut [Entry], table: &mut LastValues) {
    for k in 0..bucket.len() {
        if let Some(ahead) = bucket.get(k + PREFETCH_AHEAD) {
            crate::storage::prefetch(&table.values[ahead.local as usize]);
        }
        let e = &mut bucket[k];
        let found = table.swap(e.local as usize, e.bits, e.flags & NULL_ARG != 0);
        *e = Entry {
            bits: found.unwrap_or(0),
            local: e.local,
            flags: if found.is_some() { FOUND } else { 0 },
        };
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

    /// A column of `n` pseudo-random numbers below `below`, about one in
    /// `nulls` NULL.
    fn column(n: usize, below: u64, nulls: u64, seed: &mut u64) -> Column {
        let mut next = || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *seed >> 33
        };
        let mut validity = Bitmap::new(n, true);
        let values = (0..n)
            .map(|i| {
                validity.set(i, next() % nulls != 0);
                (next() % below) as i64
            })
            .collect();
        Column {
            data: ColumnData::Int64(values),
            validity: Some(validity),
        }
    }

    /// The results as options, NULL where not valid.
    fn options(shifted: &[Shifted<i64>]) -> Vec<Option<i64>> {
        (shifted.iter())
            .flat_map(|(v, valid)| (0..v.len()).map(|i| valid.get(i).then_some(v[i])))
            .collect()
    }

    #[test]
    fn buckets_walk_as_one_table_does() {
        let mut seed = 11;
        let batches: Vec<Batch> = [700, 1, 0, 2_300, 900]
            .iter()
            .map(|&n| Batch {
                columns: vec![
                    column(n, 301, 9, &mut seed),
                    column(n, 1 << 40, 5, &mut seed),
                ],
            })
            .collect();
        let s = Streamed {
            key: 0,
            low: 0,
            span: 300,
            calls: Vec::new(),
        };
        let parts = s.span + 1;
        for forward in [false, true] {
            let call = Call {
                arg: 1,
                forward,
                itself: false,
            };
            let mut walked: Vec<&Batch> = batches.iter().collect();
            if forward {
                walked.reverse();
            }
            let rows: Vec<Rows<i64>> = (walked.iter())
                .map(|b| Rows::of(&s, b, &call).unwrap())
                .collect();
            let mut one = LastValues::new(parts);
            let expected: Vec<Shifted<i64>> =
                rows.iter().map(|r| shift(r, &mut one, None)).collect();
            let expected = options(&expected);
            assert!(expected.iter().any(Option::is_some) && expected.iter().any(Option::is_none));
            for bits in [1, 3, 6] {
                for threads in 1..=3 {
                    let buckets = Buckets {
                        bits,
                        per_bucket: parts.div_ceil(1 << bits),
                    };
                    let mut tables: Vec<LastValues> = (0..buckets.count())
                        .map(|_| LastValues::new(buckets.per_bucket))
                        .collect();
                    let mut entries = Vec::new();
                    // In chunks (one of them without rows): the tables carry over.
                    let mut got = Vec::new();
                    for chunk in [&rows[..2], &rows[2..3], &rows[3..]] {
                        let walked =
                            scatter_walk(chunk, buckets, threads, &mut tables, &mut entries);
                        got.extend(walked);
                    }
                    assert_eq!(options(&got), expected, "{bits} bits, {threads} threads");
                }
            }
            // Runs of batches, one per thread, settled from the runs before.
            for threads in 2..=4 {
                let pool = crate::exec::memory::MemoryPool::new(1 << 30);
                let mut mem = pool.reservation("window");
                let runs = s
                    .shift_runs::<i64>(&batches, &call, threads, &mut mem)
                    .unwrap();
                let mut got: Vec<Shifted<i64>> = (runs.into_iter())
                    .map(|c| match c.data {
                        ColumnData::Int64(v) => (v, c.validity.unwrap()),
                        _ => unreachable!(),
                    })
                    .collect();
                if forward {
                    got.reverse();
                }
                assert_eq!(options(&got), expected, "runs on {threads} threads");
            }
        }
    }

    #[test]
    fn buckets_keep_tables_in_the_cache() {
        let b = Buckets::new(13_000_000, 80_000_000, 2);
        assert!(b.per_bucket * 8 <= BUCKET_TABLE_BYTES && b.count() * b.per_bucket >= 13_000_000);
        assert_eq!(Buckets::new(100, 1_000, 2).bits, 0);
        assert_eq!(Buckets::new(100, 1_000_000, 2).count(), 8);
        assert_eq!(Buckets::new(3, 1_000_000, 2).count(), 2);
    }
}
