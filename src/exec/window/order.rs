//! The row order of a window spec: partitions, then the ORDER BY keys, then input
//! position.
//!
//! Partitions only have to be contiguous, not sorted (results go back to the
//! input's order), so the partition keys become dense partition ids by hashing,
//! once per row. Rows are then ordered by (partition id, order keys, position): by
//! a counting sort without ORDER BY, by sorting fixed-width tuples when the one
//! ORDER BY key is an integer, timestamp, double or boolean (its value encoded as
//! an order-preserving `u64`), otherwise by comparing the key columns. Sorts run
//! on up to `threads` threads: chunks sorted apart, then merged pairwise.

use std::borrow::Cow;
use std::cmp::Ordering;

use hashbrown::HashMap;

use super::super::group::norm_f64;
use super::super::sort;
use crate::column::{Column, ColumnData};
use crate::plan::SortKey;

/// A dense id (0, 1, ...) per distinct combination of the key columns' values,
/// for each of `n` rows (all 0 without keys). NULLs are one value.
pub(super) fn partition_ids(cols: &[&Column], n: usize) -> Vec<u32> {
    match cols {
        [] => vec![0; n],
        [c] if matches!(c.data, ColumnData::Utf8(_)) => {
            let ColumnData::Utf8(s) = &c.data else {
                return vec![0; n];
            };
            let mut ids: HashMap<Option<&str>, u32> = HashMap::new();
            (0..n)
                .map(|i| {
                    let key = c.is_valid(i).then(|| s.get(i));
                    let next = ids.len() as u32;
                    *ids.entry(key).or_insert(next)
                })
                .collect()
        }
        _ => {
            let mut ids: HashMap<Vec<u8>, u32> = HashMap::new();
            let mut buf = Vec::new();
            (0..n)
                .map(|i| {
                    buf.clear();
                    for c in cols {
                        encode(&mut buf, c, i);
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

/// Appends row `i` of `c` to `buf` so that equal values (NULLs, -0.0 and 0.0,
/// NaNs) encode equally and different ones differently.
fn encode(buf: &mut Vec<u8>, c: &Column, i: usize) {
    if !c.is_valid(i) {
        buf.push(0);
        return;
    }
    buf.push(1);
    match &c.data {
        ColumnData::Int64(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
        ColumnData::Float64(v) => buf.extend_from_slice(&norm_f64(v[i]).to_le_bytes()),
        ColumnData::Bool(v) => buf.push(v[i] as u8),
        ColumnData::Ip(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
        ColumnData::Utf8(v) => {
            let s = v.get(i);
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
    }
}

/// The value of row `i` of a fixed-width column as a `u64` that sorts as the
/// value does under `key` (DuckDB's order: -0.0 = 0.0, NaN above everything).
fn ordered_bits(c: &Column, i: usize, key: &SortKey) -> Option<u64> {
    let bits = match &c.data {
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
        _ => return None,
    };
    Some(if key.descending { !bits } else { bits })
}

/// Row numbers `0..ids.len()` ordered by (partition id, `keys` over `cols`,
/// position).
pub(super) fn sort_rows(
    ids: &[u32],
    keys: &[SortKey],
    cols: &[&Column],
    threads: usize,
) -> Vec<u32> {
    let n = ids.len();
    match (keys, cols) {
        ([], _) => {
            // Counting sort by partition id: stable, so positions stay in order.
            let parts = ids.iter().max().map_or(0, |&m| m as usize + 1);
            let mut start = vec![0u32; parts + 1];
            for &p in ids {
                start[p as usize + 1] += 1;
            }
            for p in 0..parts {
                start[p + 1] += start[p];
            }
            let mut order = vec![0u32; n];
            for (row, &p) in ids.iter().enumerate() {
                order[start[p as usize] as usize] = row as u32;
                start[p as usize] += 1;
            }
            order
        }
        ([key], [c]) if !matches!(c.data, ColumnData::Utf8(_) | ColumnData::Ip(_)) => {
            // (partition id and NULL placement, value, position).
            let mut rows: Vec<(u64, u64, u32)> = (0..n)
                .map(|i| {
                    let (rank, bits) = match ordered_bits(c, i, key).filter(|_| c.is_valid(i)) {
                        Some(b) => (1, b),
                        None if key.nulls_first => (0, 0),
                        None => (2, 0),
                    };
                    (((ids[i] as u64) << 2) | rank, bits, i as u32)
                })
                .collect();
            parallel_sort(&mut rows, threads, &|a, b| a.cmp(b));
            rows.into_iter().map(|r| r.2).collect()
        }
        _ => {
            let key_cols: Vec<Cow<'_, Column>> = cols.iter().map(|c| Cow::Borrowed(*c)).collect();
            let mut order: Vec<u32> = (0..n as u32).collect();
            parallel_sort(&mut order, threads, &|a: &u32, b: &u32| {
                ids[*a as usize]
                    .cmp(&ids[*b as usize])
                    .then_with(|| sort::compare(keys, &key_cols, *a, *b))
            });
            order
        }
    }
}

/// Sorts `v` by `cmp` (a total order): chunks on threads, then merged pairwise.
fn parallel_sort<T, F>(v: &mut [T], threads: usize, cmp: &F)
where
    T: Copy + Send + Sync + Default,
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
    let mut buf = vec![T::default(); v.len()];
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
    use super::*;
    use crate::column::Bitmap;
    use crate::plan::Expr;
    use crate::schema::DataType;

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
        let ids: Vec<u32> = (0..n).map(|i| ((i * 31) % 7) as u32).collect();
        for (desc, nf) in [(false, false), (true, false), (false, true), (true, true)] {
            let keys = [key(desc, nf)];
            let cols = [Cow::Borrowed(&col)];
            let mut want: Vec<u32> = (0..n as u32).collect();
            want.sort_by(|&a, &b| {
                ids[a as usize]
                    .cmp(&ids[b as usize])
                    .then_with(|| sort::compare(&keys, &cols, a, b))
            });
            for threads in [1, 4] {
                let got = sort_rows(&ids, &keys, &[&col], threads);
                // Equal values (NaNs, zeros) may come in any order among themselves
                // only by position, which both break the same way.
                assert_eq!(got, want, "desc {desc} nulls_first {nf} threads {threads}");
            }
        }
        let by_id = sort_rows(&ids, &[], &[], 3);
        assert!(by_id
            .windows(2)
            .all(|w| (ids[w[0] as usize], w[0]) < (ids[w[1] as usize], w[1])));
    }
}
