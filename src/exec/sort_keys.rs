//! Normalized sort keys: every row's ORDER BY keys turned into a short tuple of
//! `u64` words that compare, as plain integers, the way the rows compare under
//! the keys (DuckDB's order: NULLs placed per key, -0.0 = 0.0, NaN above every
//! number). A sort then compares machine words instead of dispatching on each
//! column's type for every comparison.
//!
//! One key becomes:
//! - an integer, timestamp, double or boolean: its value as an order-preserving
//!   `u64` (inverted for DESC), preceded by a NULL-placement word when the
//!   column has NULLs;
//! - a string: the rank of its value among the column's distinct values (the
//!   distinct values are numbered by hashing, once per row, and only they are
//!   sorted), with NULLs as 0 or `u64::MAX`;
//! - an IP address: its two halves, preceded by a NULL-placement word when the
//!   column has NULLs.
//!
//! Rows sort by (words, position), so equal keys keep their input order.

use std::cmp::Ordering;
use std::hash::Hash;

use hashbrown::HashMap;

use super::group::norm_f64;
use crate::column::{Column, ColumnData};
use crate::plan::SortKey;

/// Up to this `k`, [`KeyWords::top`] keeps the best rows in a sorted array
/// instead of selecting.
const SMALL_TOP: usize = 64;

/// The normalized keys of `n` rows: `stride` words per row.
pub(crate) struct KeyWords {
    words: Vec<u64>,
    stride: usize,
}

/// Whether column `c` has a NULL among rows `0..n`.
fn has_nulls(c: &Column, n: usize) -> bool {
    c.validity
        .as_ref()
        .is_some_and(|v| (0..n).any(|i| !v.get(i)))
}

/// A fixed-width value as a `u64` that sorts as the value does (ascending).
fn ordered_bits(d: &ColumnData, i: usize) -> u64 {
    match d {
        ColumnData::Int64(v) => (v[i] as u64) ^ (1 << 63),
        ColumnData::Float64(v) => {
            let x = v[i];
            if x.is_nan() {
                u64::MAX
            } else {
                let b = norm_f64(x);
                if b >> 63 == 1 {
                    !b
                } else {
                    b | (1 << 63)
                }
            }
        }
        ColumnData::Bool(v) => v[i] as u64,
        _ => 0,
    }
}

impl KeyWords {
    /// The words of rows `0..n` of the key columns `cols` under `keys`.
    pub fn new(keys: &[SortKey], cols: &[&Column], n: usize) -> KeyWords {
        // Each key's words, column by column; interleaved per row below.
        let mut per_key: Vec<Vec<u64>> = Vec::new();
        for (k, c) in keys.iter().zip(cols) {
            let valid = |i: usize| c.is_valid(i);
            let flip = |b: u64| if k.descending { !b } else { b };
            // NULL placement: 0 sorts first.
            let (null_word, value_word) = if k.nulls_first { (0, 1) } else { (1, 0) };
            let nulls = has_nulls(c, n);
            match &c.data {
                ColumnData::Utf8(s) => {
                    let ranks = ranks(n, |i| valid(i).then(|| s.get(i)));
                    let d = ranks.iter().copied().filter(|&r| r != u32::MAX).max();
                    let d = d.map_or(0, |m| m as u64 + 1);
                    per_key.push(
                        ranks
                            .iter()
                            .map(|&r| match r {
                                u32::MAX if k.nulls_first => 0,
                                u32::MAX => u64::MAX,
                                r if k.descending => d - r as u64,
                                r => r as u64 + 1,
                            })
                            .collect(),
                    );
                }
                ColumnData::Ip(v) => {
                    // Intervals sort by their normalized key (30 days = 1 month).
                    let keyed: Vec<u128>;
                    let v = if k.expr.data_type() == crate::schema::DataType::Interval {
                        keyed = v
                            .iter()
                            .map(|&x| crate::interval::Interval::key_of(x))
                            .collect();
                        &keyed
                    } else {
                        v
                    };
                    if nulls {
                        per_key.push(
                            (0..n)
                                .map(|i| if valid(i) { value_word } else { null_word })
                                .collect(),
                        );
                    }
                    let half = |shift: u32| -> Vec<u64> {
                        (0..n)
                            .map(|i| {
                                if valid(i) {
                                    flip((v[i] >> shift) as u64)
                                } else {
                                    0
                                }
                            })
                            .collect()
                    };
                    per_key.push(half(64));
                    per_key.push(half(0));
                }
                d => {
                    if nulls {
                        per_key.push(
                            (0..n)
                                .map(|i| if valid(i) { value_word } else { null_word })
                                .collect(),
                        );
                    }
                    per_key.push(
                        (0..n)
                            .map(|i| {
                                if valid(i) {
                                    flip(ordered_bits(d, i))
                                } else {
                                    0
                                }
                            })
                            .collect(),
                    );
                }
            }
        }
        let stride = per_key.len();
        if stride == 1 {
            // One word per row: the key's own, no interleaving.
            let words = per_key.pop().unwrap_or_default();
            return KeyWords { words, stride };
        }
        let mut words = Vec::with_capacity(n * stride);
        for i in 0..n {
            words.extend(per_key.iter().map(|w| w[i]));
        }
        KeyWords { words, stride }
    }

    /// Bytes the words hold.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    /// Bytes a sort of `rows` of these rows takes on top of the words: the
    /// `(words, row)` tuples and the merge copy.
    pub fn sort_bytes_for(&self, rows: usize) -> usize {
        2 * (self.stride + 1) * 8 * rows
    }

    /// Every row's word, when a row has exactly one.
    pub fn single(&self) -> Option<&[u64]> {
        (self.stride == 1).then_some(&self.words[..])
    }

    /// Bytes these words hold, with the buffers a sort of all their rows
    /// takes: the `(words, row)` tuples and the merge copy.
    pub fn sort_bytes(&self) -> usize {
        let n = self.words.len().checked_div(self.stride).unwrap_or(0);
        self.bytes() + self.sort_bytes_for(n)
    }

    /// Row `i`'s words.
    #[inline]
    pub fn row(&self, i: u32) -> &[u64] {
        let s = self.stride * i as usize;
        &self.words[s..s + self.stride]
    }

    /// Sorts `rows` by (words, row number) on up to `threads` threads.
    pub fn sort(&self, rows: &mut [u32], threads: usize) {
        match self.stride {
            0 => rows.sort_unstable(),
            1 => self.sort_fixed::<1>(rows, threads),
            2 => self.sort_fixed::<2>(rows, threads),
            3 => self.sort_fixed::<3>(rows, threads),
            4 => self.sort_fixed::<4>(rows, threads),
            _ => parallel_sort(rows, threads, &|a: &u32, b: &u32| {
                self.row(*a).cmp(self.row(*b)).then(a.cmp(b))
            }),
        }
    }

    /// Moves the first `k` of `rows` by (words, row number) to the front of
    /// `rows`, sorted, and with `ties` also every row whose words equal the
    /// `k`-th's (after it, in the same order); returns how many rows are in
    /// front. Linear in the rows: a small `k` keeps the best rows in a sorted
    /// array that a row enters only when it beats the worst of them (one
    /// comparison per row once it is full); a larger one selects, then sorts
    /// the front.
    pub fn top(&self, rows: &mut [u32], k: usize, ties: bool) -> usize {
        let cmp = |a: &u32, b: &u32| self.row(*a).cmp(self.row(*b)).then(a.cmp(b));
        if k == 0 {
            return 0;
        }
        if rows.len() <= k {
            self.sort(rows, 1);
            return rows.len();
        }
        if k <= SMALL_TOP {
            let mut best: Vec<u32> = Vec::with_capacity(k + 1);
            for &r in rows.iter() {
                self.offer(&mut best, r, k);
            }
            let last = best[k - 1];
            if ties {
                // The k-th's peers after it, in row order (their order by the
                // comparison, as their words are equal).
                let start = best.len();
                best.extend(
                    rows.iter()
                        .copied()
                        .filter(|&r| self.row(r) == self.row(last) && cmp(&r, &last).is_gt()),
                );
                best[start..].sort_unstable();
            }
            rows[..best.len()].copy_from_slice(&best);
            return best.len();
        }
        rows.select_nth_unstable_by(k - 1, cmp);
        let mut kept = k;
        if ties {
            let last = rows[k - 1];
            for i in k..rows.len() {
                if self.row(rows[i]) == self.row(last) {
                    rows.swap(kept, i);
                    kept += 1;
                }
            }
        }
        rows[..kept].sort_unstable_by(cmp);
        kept
    }

    /// Whether `k` is small enough for [`KeyWords::offer`]: a sorted array of
    /// the best rows that a row enters by binary search.
    pub fn small_top(k: usize) -> bool {
        k <= SMALL_TOP
    }

    /// Offers row `r` to `best`, the (at most `k`) best rows seen so far sorted
    /// by (words, row number): it enters when there is room or it beats the
    /// worst of them, which then leaves.
    #[inline]
    pub fn offer(&self, best: &mut Vec<u32>, r: u32, k: usize) {
        let cmp = |a: u32, b: u32| self.row(a).cmp(self.row(b)).then(a.cmp(&b));
        if best.len() == k {
            match best.last() {
                Some(&worst) if cmp(r, worst).is_lt() => {
                    best.pop();
                }
                _ => return,
            }
        }
        let at = best.partition_point(|&b| cmp(b, r).is_lt());
        best.insert(at, r);
    }

    /// The sort for `S` words per row: (words, row) tuples, compared as
    /// integers, then the rows read back.
    fn sort_fixed<const S: usize>(&self, rows: &mut [u32], threads: usize) {
        let mut buf: Vec<([u64; S], u32)> = rows
            .iter()
            .map(|&r| {
                let mut w = [0u64; S];
                w.copy_from_slice(self.row(r));
                (w, r)
            })
            .collect();
        parallel_sort(&mut buf, threads, &|a, b| a.cmp(b));
        for (r, t) in rows.iter_mut().zip(&buf) {
            *r = t.1;
        }
    }
}

/// Each row's rank among the distinct values `key(i)` (`u32::MAX` for `None`):
/// the distinct values are numbered by hashing, sorted, and the numbers
/// translated to ranks.
fn ranks<'a, F>(n: usize, key: F) -> Vec<u32>
where
    F: Fn(usize) -> Option<&'a str>,
{
    let mut ids: HashMap<&'a str, u32> = HashMap::new();
    let mut distinct: Vec<&'a str> = Vec::new();
    let mut out: Vec<u32> = (0..n)
        .map(|i| match key(i) {
            None => u32::MAX,
            Some(s) => *ids.entry(s).or_insert_with(|| {
                distinct.push(s);
                distinct.len() as u32 - 1
            }),
        })
        .collect();
    let mut by_value: Vec<u32> = (0..distinct.len() as u32).collect();
    by_value.sort_unstable_by(|&a, &b| distinct[a as usize].cmp(distinct[b as usize]));
    let mut rank = vec![0u32; distinct.len()];
    for (r, &id) in by_value.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    for x in &mut out {
        if *x != u32::MAX {
            *x = rank[*x as usize];
        }
    }
    out
}

/// Dense ids of the values `key(i)` of rows `0..n`, in order of first
/// appearance. With several threads, each numbers a chunk of rows on its own;
/// the chunks' keys then get their global ids in chunk order (which keeps the
/// order of first appearance) and each chunk's ids are translated.
pub(crate) fn dense_ids<K, F>(n: usize, threads: usize, key: F) -> Vec<u32>
where
    K: Hash + Eq + Clone + Send,
    F: Fn(usize) -> K + Sync,
{
    /// Below this many rows per thread, one thread numbers everything.
    const MIN_CHUNK: usize = 1 << 16;
    // Local ids of `rows`, and the keys in order of their local id.
    let number = |rows: std::ops::Range<usize>, out: &mut [u32]| -> Vec<K> {
        let mut ids: HashMap<K, u32> = HashMap::new();
        let mut keys = Vec::new();
        for (slot, i) in out.iter_mut().zip(rows) {
            let k = key(i);
            *slot = match ids.get(&k) {
                Some(&id) => id,
                None => {
                    let id = keys.len() as u32;
                    keys.push(k.clone());
                    ids.insert(k, id);
                    id
                }
            };
        }
        keys
    };
    let mut out = vec![0u32; n];
    let parts = threads.min(n / MIN_CHUNK).max(1);
    if parts == 1 {
        number(0..n, &mut out);
        return out;
    }
    let chunk = n.div_ceil(parts);
    let chunk_keys: Vec<Vec<K>> = std::thread::scope(|s| {
        let handles: Vec<_> = out
            .chunks_mut(chunk)
            .enumerate()
            .map(|(c, slice)| {
                let number = &number;
                s.spawn(move || {
                    let start = c * chunk;
                    number(start..start + slice.len(), slice)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut global: HashMap<K, u32> = HashMap::new();
    let maps: Vec<Vec<u32>> = chunk_keys
        .into_iter()
        .map(|keys| {
            keys.into_iter()
                .map(|k| {
                    let next = global.len() as u32;
                    *global.entry(k).or_insert(next)
                })
                .collect()
        })
        .collect();
    std::thread::scope(|s| {
        for (slice, map) in out.chunks_mut(chunk).zip(&maps) {
            s.spawn(move || slice.iter_mut().for_each(|id| *id = map[*id as usize]));
        }
    });
    out
}

/// Sorts `v` by `cmp` (a total order): chunks on threads, then merged pairwise.
pub(crate) fn parallel_sort<T, F>(v: &mut [T], threads: usize, cmp: &F)
where
    T: Copy + Send + Sync,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    /// Below this many rows per thread, one thread sorts everything.
    const MIN_CHUNK: usize = 1 << 16;
    let parts = threads.min(v.len() / MIN_CHUNK).max(1);
    if parts == 1 {
        v.sort_unstable_by(cmp);
        return;
    }
    let chunk = v.len().div_ceil(parts);
    std::thread::scope(|s| {
        for c in v.chunks_mut(chunk) {
            s.spawn(move || c.sort_unstable_by(cmp));
        }
    });
    let mut width = chunk;
    let mut buf = v.to_vec();
    while width < v.len() {
        std::thread::scope(|s| {
            for (src, dst) in v.chunks(2 * width).zip(buf.chunks_mut(2 * width)) {
                s.spawn(move || merge(src, width.min(src.len()), dst, cmp));
            }
        });
        v.copy_from_slice(&buf);
        width *= 2;
    }
}

/// Merges the sorted runs `src[..mid]` and `src[mid..]` into `dst`.
fn merge<T: Copy, F: Fn(&T, &T) -> Ordering>(src: &[T], mid: usize, dst: &mut [T], cmp: &F) {
    let (a, b) = src.split_at(mid);
    let (mut i, mut j) = (0, 0);
    for d in dst.iter_mut() {
        let take_a = j == b.len() || (i < a.len() && cmp(&a[i], &b[j]) != Ordering::Greater);
        if take_a {
            *d = a[i];
            i += 1;
        } else {
            *d = b[j];
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::sort;
    use super::*;
    use crate::column::{Bitmap, StringVec};
    use crate::plan::Expr;
    use crate::schema::DataType;

    fn key(index: usize, descending: bool, nulls_first: bool) -> SortKey {
        SortKey {
            expr: Expr::Column {
                index,
                name: "k".into(),
                data_type: DataType::BigInt,
            },
            descending,
            nulls_first,
        }
    }

    fn with_nulls(data: ColumnData, n: usize, every: usize) -> Column {
        let mut validity = Bitmap::new(n, true);
        for i in (0..n).step_by(every) {
            validity.set(i, false);
        }
        Column {
            data,
            validity: Some(validity),
        }
    }

    /// `top` keeps the first k rows of a full sort (and with ties the k-th's
    /// peers), on the small-k path and the selection path.
    #[test]
    fn top_keeps_the_first_rows_of_the_sort_and_the_peers_of_the_last() {
        let n = 5000;
        let col = with_nulls(
            ColumnData::Int64((0..n).map(|i| ((i * 7919) % 97) as i64).collect()),
            n,
            13,
        );
        for desc in [false, true] {
            let keys = [key(0, desc, false)];
            let words = KeyWords::new(&keys, &[&col], n);
            let mut sorted: Vec<u32> = (0..n as u32).collect();
            words.sort(&mut sorted, 1);
            for k in [1, 2, 10, 64, 65, 300, n - 1, n, n + 5] {
                for ties in [false, true] {
                    let mut rows: Vec<u32> = (0..n as u32).rev().collect();
                    let kept = words.top(&mut rows, k, ties);
                    let mut want = sorted[..k.min(n)].to_vec();
                    if ties && k < n {
                        let last = words.row(sorted[k - 1]).to_vec();
                        want.extend(sorted[k..].iter().filter(|&&r| words.row(r) == last));
                    }
                    assert_eq!(&rows[..kept], &want[..], "k {k} ties {ties} desc {desc}");
                }
            }
            assert_eq!(words.top(&mut sorted.clone(), 0, true), 0);
        }
    }

    /// Sorting by the words orders rows as the column comparison of
    /// `sort::compare` does, for every type, with and without NULLs, in every
    /// direction and NULL placement, on one thread and on several.
    #[test]
    fn words_order_rows_as_the_column_comparison() {
        let n = 150_000;
        let h = |i: usize, m: usize| (i.wrapping_mul(2654435761) >> 7) % m;
        let mut s = StringVec::new();
        for i in 0..n {
            s.push(&format!("v{}", h(i, 5000)));
        }
        let cols = [
            Column::new(ColumnData::Int64(
                (0..n).map(|i| h(i, 300) as i64 - 150).collect(),
            )),
            with_nulls(
                ColumnData::Float64(
                    (0..n)
                        .map(|i| match i % 101 {
                            0 => f64::NAN,
                            1 => -0.0,
                            2 => 0.0,
                            _ => h(i, 700) as f64 / 4.0 - 80.0,
                        })
                        .collect(),
                ),
                n,
                53,
            ),
            with_nulls(ColumnData::Utf8(s), n, 37),
            with_nulls(
                ColumnData::Ip(
                    (0..n)
                        .map(|i| (h(i, 90) as u128) << 70 | h(i, 3) as u128)
                        .collect(),
                ),
                n,
                41,
            ),
            with_nulls(
                ColumnData::Bool((0..n).map(|i| h(i, 2) == 1).collect()),
                n,
                29,
            ),
        ];
        for (a, b) in [(0, 2), (2, 1), (3, 0), (1, 4), (4, 3)] {
            for (desc, nf) in [(false, false), (true, false), (false, true), (true, true)] {
                let keys = [key(0, desc, nf), key(1, !desc, nf)];
                let refs = [&cols[a], &cols[b]];
                let cow: Vec<Cow<'_, Column>> = refs.iter().map(|c| Cow::Borrowed(*c)).collect();
                let mut want: Vec<u32> = (0..n as u32).collect();
                want.sort_by(|&x, &y| sort::compare(&keys, &cow, x, y));
                let words = KeyWords::new(&keys, &refs, n);
                for threads in [1, 3] {
                    let mut got: Vec<u32> = (0..n as u32).collect();
                    words.sort(&mut got, threads);
                    assert_eq!(got, want, "columns {a}, {b} desc {desc} nulls first {nf}");
                }
            }
        }
    }

    #[test]
    fn ids_numbered_in_chunks_on_threads_equal_one_pass() {
        let n = 400_000;
        let key = |i: usize| (!i.is_multiple_of(3)).then_some((i * 7919 / 13) % 5003);
        let one = dense_ids(n, 1, key);
        assert_eq!(one.iter().max(), Some(&5003));
        for threads in [2, 3, 8] {
            assert_eq!(dense_ids(n, threads, key), one, "{threads} threads");
        }
    }
}
