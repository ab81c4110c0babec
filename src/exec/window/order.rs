//! The row order of a window spec: partitions, then the ORDER BY keys, then input
//! position.
//!
//! Partitions only have to be contiguous, not sorted (results go back to the
//! input's order), so the partition keys become dense partition ids by hashing,
//! once per row, and a counting sort groups the rows by partition id keeping
//! their input order. Each partition is then sorted by (order keys, position),
//! the keys normalized to tuples of order-preserving words once per row
//! (`sort_keys.rs`), so comparisons are integer compares. Many partitions are shared out to up to
//! `threads` threads in runs of whole partitions; a partition holding most rows
//! is sorted in chunks on the threads, then merged pairwise. Log rows arrive in
//! time order, so a partition ordered by time is often sorted already, which
//! the sort notices in one pass.

use std::ops::Range;

use hashbrown::HashMap;

use super::super::agg;
use super::super::group::{norm_f64, StrInterner, MISSING};
use super::super::memory::Reservation;
use super::super::sort_keys::{dense_ids, KeyWords};
use super::super::vector::Vector;
use super::links::on_threads;
use crate::column::{Bitmap, Column, ColumnData, StringVec};
use crate::error::Result;
use crate::plan::SortKey;

/// A dense id (0, 1, ...) per distinct combination of the key columns' values,
/// for each of `n` rows (all 0 without keys), in order of first appearance (one
/// string column: NULL last). NULLs are one value; so are -0.0 and 0.0, and all
/// NaNs. One key column of another type is hashed on up to `threads` threads.
pub(super) fn partition_ids(cols: &[&Column], n: usize, threads: usize) -> Vec<u32> {
    let valid = |c: &Column, i: usize| c.is_valid(i);
    let t = threads;
    match cols {
        [] => vec![0; n],
        [c] => match &c.data {
            ColumnData::Utf8(_) => string_ids(&[c], n, t).0,
            ColumnData::Int64(v) => narrow_int_ids(c, v, n)
                .unwrap_or_else(|| dense_ids(n, t, |i| valid(c, i).then(|| v[i]))),
            ColumnData::Float64(v) => dense_ids(n, t, |i| valid(c, i).then(|| norm_f64(v[i]))),
            ColumnData::Bool(v) => dense_ids(n, t, |i| valid(c, i).then(|| v[i])),
            ColumnData::Ip(v) => dense_ids(n, t, |i| valid(c, i).then(|| v[i])),
            ColumnData::List(v) => {
                dense_ids(n, t, |i| valid(c, i).then(|| crate::list::key(&v.get(i))))
            }
        },
        _ => {
            // Several keys: their row encoding (the one joins and DISTINCT use).
            let vecs: Vec<Vector> = cols.iter().map(|c| Vector::from_column(c)).collect();
            let mut ids: HashMap<Vec<u8>, u32> = HashMap::new();
            let mut buf = Vec::new();
            (0..n)
                .map(|i| {
                    buf.clear();
                    for v in &vecs {
                        agg::encode(&mut buf, v, i, false);
                    }
                    match ids.get(buf.as_slice()) {
                        Some(&id) => id,
                        None => {
                            let id = ids.len() as u32;
                            ids.insert(buf.clone(), id);
                            id
                        }
                    }
                })
                .collect()
        }
    }
}

/// [`partition_ids`] of one integer column whose values span fewer than twice
/// its rows (numbered keys such as `key_id`'s, small codes): a flat array from
/// value to id instead of a hash table, one pass on one thread. `None` for a
/// wider span.
fn narrow_int_ids(c: &Column, v: &[i64], n: usize) -> Option<Vec<u32>> {
    let v = &v[..n.min(v.len())];
    let (lo, span) = int_span(std::iter::once(c))?;
    if span > 2 * n as u64 || v.len() != n {
        return None;
    }
    let mut id_of = vec![u32::MAX; span as usize];
    let (mut next, mut null_id) = (0u32, u32::MAX);
    let mut fresh = |slot: &mut u32| {
        if *slot == u32::MAX {
            *slot = next;
            next += 1;
        }
        *slot
    };
    let ids = v
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if c.is_valid(i) {
                fresh(&mut id_of[(x - lo) as usize])
            } else {
                fresh(&mut null_id)
            }
        })
        .collect();
    Some(ids)
}

/// The least non-NULL value of the BIGINT columns `pieces` and how many values
/// from it to the greatest (0 and 0 when all are NULL); `None` for another
/// type or a span past `u64`.
pub(super) fn int_span<'a>(pieces: impl Iterator<Item = &'a Column>) -> Option<(i64, u64)> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for c in pieces {
        let ColumnData::Int64(v) = &c.data else {
            return None;
        };
        for (i, &x) in v.iter().enumerate() {
            if c.is_valid(i) {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
    }
    if lo > hi {
        return Some((0, 0));
    }
    Some((lo, hi.checked_sub(lo)? as u64 + 1))
}

/// Dense ids of the rows of one string column given in `pieces` (one column
/// cut in consecutive parts, such as the input's batches), numbered as
/// [`partition_ids`] numbers them (NULL the id after every string's; rows
/// past the pieces' up to `rows` too). Up to
/// `threads` contiguous shares of the rows are interned on their own, a block
/// at a time (so a table grows with the distinct strings, not the rows); the
/// later shares' strings are then interned into the first's table, in order,
/// and their ids translated, which keeps the order of first appearance.
/// Also returns the bytes the tables held at most.
pub(super) fn string_ids(pieces: &[&Column], rows: usize, threads: usize) -> (Vec<u32>, usize) {
    /// Rows interned per call.
    const BLOCK: usize = 1 << 14;
    /// Below this many rows per thread, one thread numbers everything.
    const MIN_SHARE: usize = 1 << 16;
    let strs: Vec<(&StringVec, Option<&Bitmap>)> = pieces
        .iter()
        .filter_map(|c| match &c.data {
            ColumnData::Utf8(s) => Some((s, c.validity.as_ref())),
            _ => None,
        })
        .collect();
    let n: usize = strs.iter().map(|(s, _)| s.len()).sum();
    // The shares: runs of (piece, rows of it).
    let shares = threads.min(n / MIN_SHARE).max(1);
    let mut runs: Vec<Vec<(usize, Range<usize>)>> = vec![Vec::new(); shares];
    let mut before = 0usize;
    for (k, (s, _)) in strs.iter().enumerate() {
        let mut at = 0;
        while at < s.len() {
            let share = ((before + at) * shares / n.max(1)).min(shares - 1);
            let share_end = ((share + 1) * n).div_ceil(shares);
            let end = s.len().min(share_end.saturating_sub(before)).max(at + 1);
            runs[share].push((k, at..end));
            at = end;
        }
        before += s.len();
    }
    let number = |run: &[(usize, Range<usize>)]| -> (StrInterner, Vec<u32>) {
        let mut table = StrInterner::default();
        let mut ids = Vec::with_capacity(run.iter().map(|(_, r)| r.len()).sum());
        for (k, rows) in run {
            let (s, valid) = strs[*k];
            let mut at = rows.start;
            while at < rows.end {
                let end = (at + BLOCK).min(rows.end);
                table.intern_rows(s, at..end, valid, &mut ids);
                at = end;
            }
        }
        (table, ids)
    };
    let mut numbered: Vec<(StrInterner, Vec<u32>)> = if shares == 1 {
        vec![number(&runs[0])]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter()
                .map(|run| {
                    let number = &number;
                    scope.spawn(move || number(run))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut tables: usize = numbered.iter().map(|(t, _)| t.bytes()).sum();
    let rest = numbered.split_off(1.min(numbered.len()));
    let (mut global, mut ids) = numbered.pop().unwrap_or_default();
    ids.reserve(n.saturating_sub(ids.len()));
    let mut map = Vec::new();
    for (local, local_ids) in rest {
        global.intern_strings_of(&local, &mut map);
        ids.extend(local_ids.iter().map(|&id| match id {
            MISSING => MISSING,
            id => map[id as usize],
        }));
    }
    tables = tables.max(global.bytes());
    let null = global.len() as u32;
    ids.iter_mut()
        .filter(|id| **id == MISSING)
        .for_each(|id| *id = null);
    ids.resize(rows, null);
    (ids, tables)
}

/// Rows in a window spec's order, and how they got there.
pub(super) struct RowOrder {
    /// Input row of each position: partitions contiguous, each ordered by
    /// (order keys, input row).
    pub order: Vec<u32>,
    /// Where each partition starts in `order`, then `n`.
    pub starts: Vec<u32>,
}

/// Row numbers `0..ids.len()` ordered by (partition id, `keys` over `cols`,
/// position), and where each partition starts in that order (then `n`).
///
/// A counting sort groups the rows by partition id, keeping each partition's
/// rows in input order, and notes on the way each partition where a row's
/// keys come before its predecessor's. Only those partitions are sorted (ties
/// stay in input order either way): many on up to `threads` threads, a few
/// shares of whole partitions each, or one that holds most of their rows
/// sorted in chunks on all threads and merged.
pub(super) fn sort_rows(
    ids: &[u32],
    keys: &[SortKey],
    cols: &[&Column],
    threads: usize,
    mem: &mut Reservation,
) -> Result<RowOrder> {
    if keys.is_empty() {
        let (order, starts) = by_partition(ids);
        return Ok(RowOrder { order, starts });
    }
    let words = KeyWords::new(keys, cols, ids.len());
    mem.grow(words.bytes())?;
    let (mut order, starts, unsorted) = by_partition_checked(ids, &words);
    let spans: Vec<(usize, usize)> = unsorted
        .iter()
        .map(|&p| (starts[p as usize] as usize, starts[p as usize + 1] as usize))
        .collect();
    drop(unsorted);
    let rows: usize = spans.iter().map(|(a, b)| b - a).sum();
    mem.grow(words.sort_bytes_for(rows))?;
    let largest = spans.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    if threads <= 1 || largest * 2 > rows {
        // Few rows out of order, or mostly in one partition: each sorted on
        // every thread, one after the other.
        for &(a, b) in &spans {
            words.sort(&mut order[a..b], threads);
        }
    } else {
        // Many partitions: each thread sorts a share of whole partitions.
        let mut parts: Vec<&mut [u32]> = Vec::with_capacity(spans.len());
        let mut rest: &mut [u32] = &mut order;
        let mut taken = 0;
        for &(a, b) in &spans {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(a - taken);
            let (part, tail) = tail.split_at_mut(b - a);
            parts.push(part);
            rest = tail;
            taken = b;
        }
        let mut shares: Vec<Vec<&mut [u32]>> = (0..threads).map(|_| Vec::new()).collect();
        let mut done = 0usize;
        for part in parts {
            let k = (done * threads / rows.max(1)).min(threads - 1);
            done += part.len();
            shares[k].push(part);
        }
        let words = &words;
        std::thread::scope(|s| {
            for share in shares {
                s.spawn(move || {
                    for part in share {
                        words.sort(part, 1);
                    }
                });
            }
        });
    }
    Ok(RowOrder { order, starts })
}

/// The rows of [`sort_rows`]'s order that a ranking at most `k` keeps: in each
/// partition the first `k` by (`keys`, position), and with `ties` the rows whose
/// keys equal the `k`-th's (rank and its peers). Returns the kept rows in that
/// order and where each partition starts among them (then their count). Each
/// partition is a selection plus a sort of its first `k`, not a full sort.
///
/// With a small `k` and partitions of many rows each (the top users of each of
/// a few dozen modules), the rows are read once in input order, on up to
/// `threads` threads, each keeping the best `k` of every partition; the
/// threads' bests are merged per partition. The rows and their words are read
/// in sequence instead of gathered partition by partition.
pub(super) fn top_rows(
    ids: &[u32],
    keys: &[SortKey],
    cols: &[&Column],
    k: usize,
    ties: bool,
    threads: usize,
    mem: &mut Reservation,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let words = KeyWords::new(keys, cols, ids.len());
    let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
    if KeyWords::small_top(k) && parts.saturating_mul(ROWS_PER_PARTITION_FOR_ONE_PASS) <= ids.len()
    {
        let chunks = threads.clamp(1, ids.len().div_ceil(MIN_ROWS_PER_THREAD).max(1));
        mem.grow(words.bytes() + chunks * parts * k * 4)?;
        return Ok(top_rows_in_one_pass(ids, &words, parts, k, ties, chunks));
    }
    let (mut order, starts) = by_partition(ids);
    mem.grow(words.sort_bytes())?;
    let mut kept_starts = Vec::with_capacity(starts.len());
    let mut kept = 0usize;
    for w in starts.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        let front = words.top(&mut order[a..b], k, ties);
        if front > 0 {
            kept_starts.push(kept as u32);
            order.copy_within(a..a + front, kept);
            kept += front;
        }
    }
    kept_starts.push(kept as u32);
    order.truncate(kept);
    order.shrink_to_fit();
    Ok((order, kept_starts))
}

/// Below this many rows per partition on average, [`top_rows`] groups the rows
/// by partition first: a partition's rows are then read together.
const ROWS_PER_PARTITION_FOR_ONE_PASS: usize = 64;

/// Rows a thread of [`top_rows_in_one_pass`] reads at least.
const MIN_ROWS_PER_THREAD: usize = 1 << 16;

/// [`top_rows`] in one pass over the rows in input order: `chunks` runs of
/// rows, each on its own thread, keep the best `k` rows of every partition;
/// the runs' bests are merged per partition; with `ties`, a second pass adds
/// the rows whose words equal the `k`-th's of their partition.
fn top_rows_in_one_pass(
    ids: &[u32],
    words: &KeyWords,
    parts: usize,
    k: usize,
    ties: bool,
    chunks: usize,
) -> (Vec<u32>, Vec<u32>) {
    let n = ids.len();
    let spans: Vec<Range<usize>> = (0..chunks)
        .map(|c| c * n / chunks..(c + 1) * n / chunks)
        .collect();
    let on_chunks = |f: &(dyn Fn(Range<usize>) -> Vec<Vec<u32>> + Sync)| -> Vec<Vec<Vec<u32>>> {
        on_threads(spans.clone(), f)
    };
    let bests = on_chunks(&|rows: Range<usize>| {
        let mut best: Vec<Vec<u32>> = vec![Vec::new(); parts];
        for r in rows {
            words.offer(&mut best[ids[r] as usize], r as u32, k);
        }
        best
    });
    let mut bests = bests.into_iter();
    let mut best = bests.next().unwrap_or_else(|| vec![Vec::new(); parts]);
    for other in bests {
        for (b, o) in best.iter_mut().zip(other) {
            for r in o {
                words.offer(b, r, k);
            }
        }
    }
    if ties {
        // Rows tied with a full partition's k-th and after it (the rows before
        // it with its words are among the best already), in row order.
        let last: Vec<Option<u32>> = best
            .iter()
            .map(|b| (b.len() == k).then(|| b.last().copied()).flatten())
            .collect();
        let peers = on_chunks(&|rows: Range<usize>| {
            let mut peers: Vec<Vec<u32>> = vec![Vec::new(); parts];
            for r in rows {
                let p = ids[r] as usize;
                if let Some(l) = last[p] {
                    if r as u32 > l && words.row(r as u32) == words.row(l) {
                        peers[p].push(r as u32);
                    }
                }
            }
            peers
        });
        for chunk in peers {
            for (b, p) in best.iter_mut().zip(chunk) {
                b.extend(p);
            }
        }
    }
    let mut order = Vec::with_capacity(best.iter().map(Vec::len).sum());
    let mut starts = Vec::with_capacity(parts + 1);
    for b in best.into_iter().filter(|b| !b.is_empty()) {
        starts.push(order.len() as u32);
        order.extend(b);
    }
    starts.push(order.len() as u32);
    (order, starts)
}

/// The number of partitions of `ids` and where each starts in a counting sort by
/// id (then the row count).
fn partition_starts(ids: &[u32]) -> (usize, Vec<u32>) {
    let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
    let mut starts = vec![0u32; parts + 1];
    for &p in ids {
        starts[p as usize + 1] += 1;
    }
    for p in 0..parts {
        starts[p + 1] += starts[p];
    }
    (parts, starts)
}

/// Row numbers grouped by partition id (a counting sort, so each partition's
/// rows stay in position order), and where each partition starts (then `n`).
fn by_partition(ids: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (_, starts) = partition_starts(ids);
    let mut next = starts.clone();
    let mut order = vec![0u32; ids.len()];
    for (row, &p) in ids.iter().enumerate() {
        order[next[p as usize] as usize] = row as u32;
        next[p as usize] += 1;
    }
    (order, starts)
}

/// [`by_partition`] over rows with normalized keys `words`, and the partitions
/// (ascending) where some row's words are smaller than those of the row before
/// it in the partition: the only ones a sort by (words, row) changes.
fn by_partition_checked(ids: &[u32], words: &KeyWords) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let (parts, starts) = partition_starts(ids);
    let mut order = vec![0u32; ids.len()];
    let mut out_of_order = vec![false; parts];
    if let Some(single) = words.single() {
        // One word per row: each partition's next slot beside its last word
        // (0 before the first row, which nothing sorts below).
        let mut next: Vec<(u32, u64)> = starts[..parts].iter().map(|&s| (s, 0)).collect();
        for (row, &p) in ids.iter().enumerate() {
            let (at, last) = &mut next[p as usize];
            let w = single[row];
            if w < *last {
                out_of_order[p as usize] = true;
            }
            *last = w;
            order[*at as usize] = row as u32;
            *at += 1;
        }
    } else {
        let mut next = starts.clone();
        for (row, &p) in ids.iter().enumerate() {
            let p = p as usize;
            let at = next[p] as usize;
            if at > starts[p] as usize && words.row(row as u32) < words.row(order[at - 1]) {
                out_of_order[p] = true;
            }
            order[at] = row as u32;
            next[p] += 1;
        }
    }
    let unsorted = (0..parts as u32)
        .filter(|&p| out_of_order[p as usize])
        .collect();
    (order, starts, unsorted)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::super::sort;
    use super::*;
    use crate::column::Bitmap;
    use crate::plan::Expr;
    use crate::schema::DataType;

    fn mem() -> Reservation {
        super::super::super::memory::MemoryPool::new(usize::MAX).reservation("test")
    }

    fn key(descending: bool, nulls_first: bool) -> SortKey {
        SortKey {
            expr: Expr::Column {
                index: 0,
                name: "k".into(),
                data_type: DataType::Double,
            },
            descending,
            nulls_first,
        }
    }

    /// Every path orders rows as the comparison of `sort::compare` does, on one
    /// thread and on several.
    #[test]
    fn every_path_agrees_with_the_plain_comparison() {
        let n = 200_000;
        let vals: Vec<f64> = (0..n)
            .map(|i| match i % 97 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                k => ((i * 7919) % 1013) as f64 - 500.0 + k as f64 / 8.0,
            })
            .collect();
        let mut validity = Bitmap::new(n, true);
        for i in (0..n).step_by(89) {
            validity.set(i, false);
        }
        let col = Column {
            data: ColumnData::Float64(vals),
            validity: Some(validity),
        };
        let many: Vec<u32> = (0..n).map(|i| ((i * 31) % 7) as u32).collect();
        let one = vec![0u32; n];
        for ((desc, nf), ids) in [(false, false), (true, false), (false, true), (true, true)]
            .into_iter()
            .flat_map(|o| [(o, &many), (o, &one)])
        {
            // One key takes the tuple path, two keys the path that compares
            // columns.
            for keys in [vec![key(desc, nf)], vec![key(desc, nf), key(!desc, !nf)]] {
                let refs: Vec<&Column> = keys.iter().map(|_| &col).collect();
                let cols: Vec<Cow<'_, Column>> = refs.iter().map(|c| Cow::Borrowed(*c)).collect();
                let mut want: Vec<u32> = (0..n as u32).collect();
                want.sort_by(|&a, &b| {
                    ids[a as usize]
                        .cmp(&ids[b as usize])
                        .then_with(|| sort::compare(&keys, &cols, a, b))
                });
                for threads in [1, 4] {
                    let got = sort_rows(ids, &keys, &refs, threads, &mut mem())
                        .unwrap()
                        .order;
                    // Equal values (NaNs, zeros) come in position order in both.
                    assert_eq!(
                        got,
                        want,
                        "{} keys desc {desc} nulls_first {nf} threads {threads}",
                        keys.len()
                    );
                }
            }
        }
        let RowOrder {
            order: by_id,
            starts,
            ..
        } = sort_rows(&many, &[], &[], 3, &mut mem()).unwrap();
        assert_eq!(starts.len(), 8);
        assert!(by_id
            .windows(2)
            .all(|w| (many[w[0] as usize], w[0]) < (many[w[1] as usize], w[1])));
    }

    /// The counting sort flags exactly the partitions whose rows come out of
    /// key order (ties and NULLs in input order are in order), and the order
    /// sorting only those gives equals a full sort, on one thread and on two.
    #[test]
    fn only_partitions_out_of_order_are_sorted() {
        let n = 300_000;
        // Partition p = i % 1000; keys rising with i, except in partitions
        // 7 and 400 (one late row each) and 999 (falling); ties in 5; NULLs
        // (last) in partitions 3 and, out of place, 11.
        let ids: Vec<u32> = (0..n).map(|i| (i % 1000) as u32).collect();
        let mut vals: Vec<i64> = (0..n as i64).collect();
        let mut validity = Bitmap::new(n, true);
        vals[5_007] = -1;
        vals[200_400] = 3;
        for i in (999..n).step_by(1000) {
            vals[i] = -(i as i64);
        }
        for i in (5..n).step_by(1000) {
            vals[i] = 42;
        }
        for i in (3..n).step_by(1000).skip(150) {
            validity.set(i, false);
        }
        validity.set(11 + 1000 * 20, false);
        let col = Column {
            data: ColumnData::Int64(vals),
            validity: Some(validity),
        };
        let key = SortKey {
            expr: Expr::Column {
                index: 0,
                name: "k".into(),
                data_type: DataType::BigInt,
            },
            descending: false,
            nulls_first: false,
        };
        let words = KeyWords::new(std::slice::from_ref(&key), &[&col], n);
        let (_, _, unsorted) = by_partition_checked(&ids, &words);
        assert_eq!(unsorted, [7, 11, 400, 999]);
        let cols = [Cow::Borrowed(&col)];
        let mut want: Vec<u32> = (0..n as u32).collect();
        want.sort_by(|&a, &b| {
            ids[a as usize]
                .cmp(&ids[b as usize])
                .then_with(|| sort::compare(std::slice::from_ref(&key), &cols, a, b))
        });
        for threads in [1, 2] {
            let got = sort_rows(
                &ids,
                std::slice::from_ref(&key),
                &[&col],
                threads,
                &mut mem(),
            )
            .unwrap();
            assert_eq!(got.order, want, "{threads} threads");
            assert_eq!(got.starts.len(), 1001);
        }
        // One partition (no PARTITION BY) in order, then with one late row.
        let one = vec![0u32; n];
        let (_, _, unsorted) = by_partition_checked(&one, &KeyWords::new(&[], &[], n));
        assert!(unsorted.is_empty());
        let rising = Column::new(ColumnData::Int64((0..n as i64).collect()));
        let words = KeyWords::new(std::slice::from_ref(&key), &[&rising], n);
        assert!(by_partition_checked(&one, &words).2.is_empty());
        let got = sort_rows(&one, std::slice::from_ref(&key), &[&col], 2, &mut mem()).unwrap();
        let mut want: Vec<u32> = (0..n as u32).collect();
        want.sort_by(|&a, &b| sort::compare(std::slice::from_ref(&key), &cols, a, b));
        assert_eq!(got.order, want);
    }

    /// The first `k` rows of each partition, with and without the rows tied
    /// with the `k`-th, are the front of each partition in the full order, by
    /// both paths of `top_rows` and from one pass on 1 to 5 threads. Keys have
    /// many ties (so the ties add rows) and a partition may hold fewer than `k`
    /// rows.
    #[test]
    fn first_rows_of_each_partition_agree_with_the_full_order() {
        let n = 300_000;
        // Partition 7 has 3 rows; the others thousands.
        let ids: Vec<u32> = (0..n)
            .map(|i| match i % 100_000 {
                0..=2 => 7,
                _ => [0, 1, 2, 3, 4, 5, 6, 8][(i * 13) % 8],
            })
            .collect();
        let col = Column::new(ColumnData::Int64(
            (0..n).map(|i| ((i * 7919) % 251) as i64).collect(),
        ));
        let desc = SortKey {
            expr: Expr::Column {
                index: 0,
                name: "k".into(),
                data_type: DataType::BigInt,
            },
            descending: true,
            nulls_first: false,
        };
        let order = sort_rows(&ids, std::slice::from_ref(&desc), &[&col], 1, &mut mem()).unwrap();
        let value = |r: u32| ((r as usize * 7919) % 251) as i64;
        let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
        let words = KeyWords::new(std::slice::from_ref(&desc), &[&col], n);
        for k in [1, 3, 10, 64] {
            for ties in [false, true] {
                let mut want = Vec::new();
                let mut want_starts = Vec::new();
                for w in order.starts.windows(2) {
                    let part = &order.order[w[0] as usize..w[1] as usize];
                    let mut front = part.len().min(k);
                    if ties && front == k {
                        let last = value(part[k - 1]);
                        front += part[k..].iter().take_while(|&&r| value(r) == last).count();
                    }
                    want_starts.push(want.len() as u32);
                    want.extend_from_slice(&part[..front]);
                }
                want_starts.push(want.len() as u32);
                let got = top_rows(
                    &ids,
                    std::slice::from_ref(&desc),
                    &[&col],
                    k,
                    ties,
                    2,
                    &mut mem(),
                )
                .unwrap();
                assert_eq!(
                    got,
                    (want.clone(), want_starts.clone()),
                    "k {k} ties {ties}"
                );
                for chunks in 1..=5 {
                    let got = top_rows_in_one_pass(&ids, &words, parts, k, ties, chunks);
                    assert_eq!(
                        got,
                        (want.clone(), want_starts.clone()),
                        "k {k} ties {ties} {chunks}"
                    );
                }
            }
        }
        // Partitions of a few rows each: the rows grouped by partition first.
        let small: Vec<u32> = (0..n as u32).map(|i| i / 4).collect();
        let got = top_rows(
            &small,
            std::slice::from_ref(&desc),
            &[&col],
            2,
            false,
            2,
            &mut mem(),
        )
        .unwrap();
        assert_eq!(got.0.len(), n / 2);
        assert!(got.0.chunks(2).all(|p| value(p[0]) >= value(p[1])));
    }

    /// A string key numbered from several pieces (the input's batches) on one
    /// thread or several gets the ids one pass over the whole column gives.
    #[test]
    fn string_ids_of_pieces_equal_one_pass() {
        let n = 200_000;
        let mut pieces = Vec::new();
        let mut whole = crate::column::StringVec::new();
        let mut whole_valid = Bitmap::new(0, true);
        let mut at = 0;
        for len in [1, 70_000, 0, 3, 50_000, 79_996] {
            let mut s = crate::column::StringVec::new();
            let mut valid = Bitmap::new(0, true);
            for i in at..at + len {
                let v = format!("u{}", (i * 7919) % 30_011);
                s.push(&v);
                whole.push(&v);
                valid.push(i % 13 != 0);
                whole_valid.push(i % 13 != 0);
            }
            at += len;
            pieces.push(Column {
                data: ColumnData::Utf8(s),
                validity: Some(valid),
            });
        }
        assert_eq!(at, n);
        let whole = Column {
            data: ColumnData::Utf8(whole),
            validity: Some(whole_valid),
        };
        let want = partition_ids(&[&whole], n, 1);
        assert_eq!(want.iter().max(), Some(&30_011));
        let refs: Vec<&Column> = pieces.iter().collect();
        for threads in [1, 2, 3] {
            assert_eq!(string_ids(&refs, n, threads).0, want, "{threads} threads");
            assert_eq!(
                partition_ids(&[&whole], n, threads),
                want,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn equal_keys_share_an_id_in_order_of_first_appearance() {
        let mut nulls = Bitmap::new(6, true);
        nulls.set(2, false);
        nulls.set(4, false);
        let f = Column {
            data: ColumnData::Float64(vec![0.0, -0.0, 1.0, f64::NAN, 5.0, -f64::NAN]),
            validity: Some(nulls),
        };
        assert_eq!(partition_ids(&[&f], 6, 1), [0, 0, 1, 2, 1, 2]);
        let mut s = crate::column::StringVec::new();
        for x in ["a", "b", "a", "b", "a", "a"] {
            s.push(x);
        }
        let s = Column::new(ColumnData::Utf8(s));
        assert_eq!(partition_ids(&[&s], 6, 1), [0, 1, 0, 1, 0, 0]);
        assert_eq!(partition_ids(&[&s, &f], 6, 1), [0, 1, 2, 3, 2, 4]);
        assert_eq!(partition_ids(&[], 3, 1), [0, 0, 0]);
        // One string column: NULLs share the id after every string's.
        let mut strs = crate::column::StringVec::new();
        for x in ["x", "", "y", "x", "", "z"] {
            strs.push(x);
        }
        let mut valid = Bitmap::new(6, true);
        valid.set(1, false);
        valid.set(4, false);
        let s = Column {
            data: ColumnData::Utf8(strs),
            validity: Some(valid),
        };
        assert_eq!(partition_ids(&[&s], 6, 2), [0, 3, 1, 0, 3, 2]);
    }
}
