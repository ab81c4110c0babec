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

use hashbrown::HashMap;

use super::super::agg;
use super::super::group::{norm_f64, StrInterner, MISSING};
use super::super::memory::Reservation;
use super::super::sort_keys::{dense_ids, KeyWords};
use super::super::vector::Vector;
use crate::column::{Column, ColumnData};
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
            ColumnData::Utf8(s) => {
                // Strings are interned a block at a time with table slots prefetched
                // (many distinct strings make this bound by memory latency); NULL
                // gets the id after every string's.
                let mut strs = StrInterner::default();
                let mut ids = Vec::new();
                strs.intern_all(s, n, c.validity.as_ref(), &mut ids);
                let null = strs.len() as u32;
                ids.iter_mut()
                    .filter(|id| **id == MISSING)
                    .for_each(|id| *id = null);
                ids.resize(n, null);
                ids
            }
            ColumnData::Int64(v) => dense_ids(n, t, |i| valid(c, i).then(|| v[i])),
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

/// Row numbers `0..ids.len()` ordered by (partition id, `keys` over `cols`,
/// position), and where each partition starts in that order (then `n`).
pub(super) fn sort_rows(
    ids: &[u32],
    keys: &[SortKey],
    cols: &[&Column],
    threads: usize,
    mem: &mut Reservation,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let (mut order, starts) = by_partition(ids);
    if keys.is_empty() {
        return Ok((order, starts));
    }
    let words = KeyWords::new(keys, cols, ids.len());
    mem.grow(words.sort_bytes())?;
    // Sorts one partition's rows (in position order) by the keys.
    let sort_part = |rows: &mut [u32], threads: usize| words.sort(rows, threads);
    let n = order.len();
    let largest = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    if threads <= 1 || largest as usize * 2 > n {
        // Few partitions: each sorted on every thread, one after the other.
        for w in starts.windows(2) {
            sort_part(&mut order[w[0] as usize..w[1] as usize], threads);
        }
        return Ok((order, starts));
    }
    // Many partitions: each thread sorts a run of whole partitions.
    let mut runs: Vec<&mut [u32]> = Vec::with_capacity(threads);
    let mut rest: &mut [u32] = &mut order;
    let mut taken = 0usize;
    let mut cut = 0;
    for k in 1..threads {
        let goal = n * k / threads;
        while cut + 1 < starts.len() && (starts[cut] as usize) < goal {
            cut += 1;
        }
        let (run, tail) = rest.split_at_mut(starts[cut] as usize - taken);
        taken = starts[cut] as usize;
        runs.push(run);
        rest = tail;
    }
    runs.push(rest);
    std::thread::scope(|s| {
        let mut offset = 0usize;
        for run in runs {
            let first = offset;
            offset += run.len();
            let starts = &starts;
            let sort_part = &sort_part;
            s.spawn(move || {
                let lo = starts.partition_point(|&x| (x as usize) < first);
                let hi = starts.partition_point(|&x| (x as usize) <= first + run.len());
                for w in starts[lo..hi].windows(2) {
                    let (a, b) = (w[0] as usize - first, w[1] as usize - first);
                    sort_part(&mut run[a..b], 1);
                }
            });
        }
    });
    Ok((order, starts))
}

/// The rows of [`sort_rows`]'s order that a ranking at most `k` keeps: in each
/// partition the first `k` by (`keys`, position), and with `ties` the rows whose
/// keys equal the `k`-th's (rank and its peers). Returns the kept rows in that
/// order and where each partition starts among them (then their count). Each
/// partition is a selection plus a sort of its first `k`, not a full sort.
pub(super) fn top_rows(
    ids: &[u32],
    keys: &[SortKey],
    cols: &[&Column],
    k: usize,
    ties: bool,
    mem: &mut Reservation,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let (mut order, starts) = by_partition(ids);
    let words = KeyWords::new(keys, cols, ids.len());
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

/// Row numbers grouped by partition id (a counting sort, so each partition's
/// rows stay in position order), and where each partition starts (then `n`).
fn by_partition(ids: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
    let mut starts = vec![0u32; parts + 1];
    for &p in ids {
        starts[p as usize + 1] += 1;
    }
    for p in 0..parts {
        starts[p + 1] += starts[p];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; ids.len()];
    for (row, &p) in ids.iter().enumerate() {
        order[next[p as usize] as usize] = row as u32;
        next[p as usize] += 1;
    }
    (order, starts)
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
                    let (got, _) = sort_rows(ids, &keys, &refs, threads, &mut mem()).unwrap();
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
        let (by_id, starts) = sort_rows(&many, &[], &[], 3, &mut mem()).unwrap();
        assert_eq!(starts.len(), 8);
        assert!(by_id
            .windows(2)
            .all(|w| (many[w[0] as usize], w[0]) < (many[w[1] as usize], w[1])));
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
