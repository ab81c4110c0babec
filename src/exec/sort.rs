//! ORDER BY: a full sort of the materialized rows, or a bounded heap for
//! ORDER BY ... LIMIT n (top-N) that holds at most n rows however many pass
//! through it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use super::memory::MemoryPool;
use super::sort_keys::KeyWords;
use super::vector::{self, Vector};
use crate::column::{Batch, Column, ColumnData, StringVec, Value};
use crate::error::Result;
use crate::plan::{Expr, SortKey};
use crate::schema::{DataType, PhysicalType};

/// Compares row `a` of `ca` with row `b` of `cb` (same type), NULLs equal.
pub(crate) fn cmp_cell(ca: &Column, a: usize, cb: &Column, b: usize) -> Ordering {
    match (&ca.data, &cb.data) {
        (ColumnData::Int64(x), ColumnData::Int64(y)) => x[a].cmp(&y[b]),
        (ColumnData::Float64(x), ColumnData::Float64(y)) => vector::ord_f64(x[a], y[b]),
        (ColumnData::Bool(x), ColumnData::Bool(y)) => x[a].cmp(&y[b]),
        (ColumnData::Ip(x), ColumnData::Ip(y)) => x[a].cmp(&y[b]),
        (ColumnData::Utf8(x), ColumnData::Utf8(y)) => x.get(a).cmp(y.get(b)),
        _ => Ordering::Equal,
    }
}

/// The rows of `batches` as one batch of `schema`'s types: a single batch that
/// has them already is moved, otherwise the columns are allocated once at their
/// final size.
pub(crate) fn concat(mut batches: Vec<Batch>, schema: &[(String, DataType)]) -> Batch {
    let fits = |b: &Batch| {
        b.columns.len() == schema.len()
            && (b.columns.iter().zip(schema)).all(|(c, (_, t))| c.data.physical() == t.physical())
    };
    if batches.len() == 1 && fits(&batches[0]) {
        if let Some(b) = batches.pop() {
            return b;
        }
    }
    let rows: usize = batches.iter().map(Batch::num_rows).sum();
    let mut cols: Vec<Column> = schema
        .iter()
        .enumerate()
        .map(|(k, (_, t))| Column::new(with_capacity_for(&batches, k, t.physical(), rows)))
        .collect();
    for b in batches {
        let n = b.num_rows();
        for (c, src) in cols.iter_mut().zip(b.columns) {
            if c.data.physical() == src.data.physical() {
                c.append(&src);
            } else {
                Vector::from_column(&src).append_to(c, None, n);
            }
        }
    }
    Batch { columns: cols }
}

/// Empty data of physical type `p` with room for `rows` values of column `k` of
/// `batches` (for strings, also for all their bytes).
fn with_capacity_for(batches: &[Batch], k: usize, p: PhysicalType, rows: usize) -> ColumnData {
    match p {
        PhysicalType::Utf8 => {
            let text = (batches.iter())
                .filter_map(|b| match &b.columns.get(k)?.data {
                    ColumnData::Utf8(v) => Some(v.bytes().len()),
                    _ => None,
                })
                .sum();
            ColumnData::Utf8(StringVec::with_capacity(rows, text))
        }
        p => ColumnData::with_capacity(p, rows),
    }
}

/// The columns of `batches` (of `schema`) that `keep` marks, each concatenated
/// into one column; the others stay empty. The batches are left as they are.
pub(crate) fn concat_columns(
    batches: &[Batch],
    schema: &[(String, DataType)],
    keep: &[bool],
) -> Batch {
    let columns = schema
        .iter()
        .enumerate()
        .map(|(k, (_, t))| {
            let p = t.physical();
            if !keep.get(k).copied().unwrap_or(false) {
                return Column::new(ColumnData::empty(p));
            }
            let rows: usize = batches.iter().map(Batch::num_rows).sum();
            let mut c = Column::new(with_capacity_for(batches, k, p, rows));
            for b in batches {
                if let Some(src) = b.columns.get(k) {
                    if src.data.physical() == p {
                        c.append(src);
                    } else {
                        Vector::from_column(src).append_to(&mut c, None, b.num_rows());
                    }
                }
            }
            c
        })
        .collect();
    Batch { columns }
}

/// The sort key columns of `all` (borrowed when the keys are plain columns, as
/// the binder makes them).
fn key_columns<'a>(all: &'a Batch, keys: &[SortKey]) -> Result<Vec<Cow<'a, Column>>> {
    let direct: Option<Vec<Cow<'a, Column>>> = keys
        .iter()
        .map(|k| match &k.expr {
            Expr::Column { index, .. } => all.columns.get(*index).map(Cow::Borrowed),
            _ => None,
        })
        .collect();
    if let Some(d) = direct {
        return Ok(d);
    }
    let n = all.num_rows();
    let vecs: Vec<Vector> = all.columns.iter().map(Vector::from_column).collect();
    let mut key_cols = Vec::with_capacity(keys.len());
    for k in keys {
        let v = vector::eval(&k.expr, &vecs, n)?;
        let mut c = Column::new(ColumnData::empty(k.expr.data_type().physical()));
        v.append_to(&mut c, None, n);
        key_cols.push(Cow::Owned(c));
    }
    Ok(key_cols)
}

/// Row order under `keys` (NULLs placed per key), ties by row number.
pub(crate) fn compare(keys: &[SortKey], key_cols: &[Cow<'_, Column>], a: u32, b: u32) -> Ordering {
    let (a, b) = (a as usize, b as usize);
    for (k, c) in keys.iter().zip(key_cols) {
        let o = match (c.is_valid(a), c.is_valid(b)) {
            (false, false) => Ordering::Equal,
            (false, true) if k.nulls_first => Ordering::Less,
            (false, true) => Ordering::Greater,
            (true, false) if k.nulls_first => Ordering::Greater,
            (true, false) => Ordering::Less,
            (true, true) => {
                let o = match &c.data {
                    ColumnData::Ip(v) if k.expr.data_type() == DataType::Interval => {
                        let key = crate::interval::Interval::key_of;
                        key(v[a]).cmp(&key(v[b]))
                    }
                    _ => cmp_cell(c, a, c, b),
                };
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.cmp(&b)
}

/// The first `n` of rows `0..len` in order, through a bounded max-heap.
fn top_rows(len: usize, n: usize, cmp: impl Fn(u32, u32) -> Ordering) -> Vec<u32> {
    let mut heap: Vec<u32> = Vec::with_capacity(n.min(len));
    if n == 0 {
        return heap;
    }
    let sift_down = |heap: &mut Vec<u32>, mut i: usize| loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut big = i;
        if l < heap.len() && cmp(heap[l], heap[big]) == Ordering::Greater {
            big = l;
        }
        if r < heap.len() && cmp(heap[r], heap[big]) == Ordering::Greater {
            big = r;
        }
        if big == i {
            break;
        }
        heap.swap(i, big);
        i = big;
    };
    for row in 0..len as u32 {
        if heap.len() < n {
            heap.push(row);
            let mut i = heap.len() - 1;
            while i > 0 {
                let p = (i - 1) / 2;
                if cmp(heap[i], heap[p]) != Ordering::Greater {
                    break;
                }
                heap.swap(i, p);
                i = p;
            }
        } else if cmp(row, heap[0]) == Ordering::Less {
            heap[0] = row;
            sift_down(&mut heap, 0);
        }
    }
    heap.sort_unstable_by(|&a, &b| cmp(a, b));
    heap
}

/// ORDER BY: sorts the rows on up to `threads` threads, by their normalized
/// keys (`sort_keys.rs`); with `fetch`, keeps only the first rows (a bounded
/// heap, not a full sort). The sort buffer counts against `pool`.
pub(crate) fn sort(
    batches: Vec<Batch>,
    keys: &[SortKey],
    fetch: Option<usize>,
    schema: &[(String, DataType)],
    pool: &Arc<MemoryPool>,
    threads: usize,
) -> Result<Vec<Batch>> {
    let mut mem = pool.reservation("sort");
    let input: usize = batches.iter().map(Batch::heap_bytes).sum();
    let n: usize = batches.iter().map(Batch::num_rows).sum();
    // The input's concatenation, the sorted copy and the row order (the input
    // itself is counted by the operator that produced it).
    let sorted_copy = if fetch.is_some_and(|f| f < n) {
        0
    } else {
        input
    };
    mem.resize(input + sorted_copy + n * 4)?;
    let all = concat(batches, schema);
    let key_cols = key_columns(&all, keys)?;
    let order = match fetch {
        Some(f) if f < n => top_rows(n, f, |a, b| compare(keys, &key_cols, a, b)),
        _ => {
            let cols: Vec<&Column> = key_cols.iter().map(|c| c.as_ref()).collect();
            let words = KeyWords::new(keys, &cols, n);
            mem.grow(words.sort_bytes())?;
            let mut order: Vec<u32> = (0..n as u32).collect();
            words.sort(&mut order, threads);
            order
        }
    };
    Ok(vec![all.take(&order)])
}

/// ORDER BY ... LIMIT n over batches that arrive one at a time: keeps the first
/// n rows seen so far.
pub(crate) struct TopN {
    keys: Vec<SortKey>,
    n: usize,
    schema: Vec<(String, DataType)>,
    kept: Option<Batch>,
}

impl TopN {
    pub fn new(keys: Vec<SortKey>, n: usize, schema: Vec<(String, DataType)>) -> TopN {
        TopN {
            keys,
            n,
            schema,
            kept: None,
        }
    }

    /// Folds a batch in. Earlier rows win ties.
    pub fn push(&mut self, b: Batch) -> Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        // The batch's own first n rows, then those against the rows kept so far.
        let best = {
            let key_cols = key_columns(&b, &self.keys)?;
            let rows = top_rows(b.num_rows(), self.n, |x, y| {
                compare(&self.keys, &key_cols, x, y)
            });
            b.take(&rows)
        };
        let mut parts = Vec::with_capacity(2);
        parts.extend(self.kept.take());
        parts.push(best);
        let all = concat(parts, &self.schema);
        let key_cols = key_columns(&all, &self.keys)?;
        let rows = top_rows(all.num_rows(), self.n, |a, b| {
            compare(&self.keys, &key_cols, a, b)
        });
        self.kept = Some(all.take(&rows));
        Ok(())
    }

    /// Once n rows are kept: the first sort key's value in the worst of them (a
    /// row that sorts after it there cannot enter). `None` before, or when that
    /// value is NULL.
    pub fn first_key_bound(&self) -> Option<Value> {
        let kept = self.kept.as_ref()?;
        let last = kept.num_rows().checked_sub(1)?;
        if kept.num_rows() < self.n {
            return None;
        }
        let cols = key_columns(kept, self.keys.get(..1)?).ok()?;
        let v = cols.first()?.value(last);
        (v != Value::Null).then_some(v)
    }

    pub fn bytes(&self) -> usize {
        self.kept.as_ref().map_or(0, Batch::heap_bytes)
    }

    pub fn finish(self) -> Result<Vec<Batch>> {
        Ok(vec![self
            .kept
            .unwrap_or_else(|| concat(Vec::new(), &self.schema))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_keeps_the_first_rows_in_order() {
        let vals: Vec<i64> = (0..500).map(|i| (i * 7919) % 503).collect();
        for n in [0, 1, 5, 499, 500, 600] {
            let got = top_rows(vals.len(), n, |a, b| {
                vals[a as usize].cmp(&vals[b as usize]).then(a.cmp(&b))
            });
            let mut want: Vec<u32> = (0..vals.len() as u32).collect();
            want.sort_by_key(|&i| (vals[i as usize], i));
            want.truncate(n);
            assert_eq!(got, want, "n = {n}");
        }
    }
}
