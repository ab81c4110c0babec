//! The IndexOnlyAggregate operator: `count(*)`, optionally grouped by an
//! indexed column, under index and time conjuncts, answered from index
//! cardinalities alone; segments the indexes cannot answer go through the scan
//! pipeline.

use std::sync::Arc;

use super::physical::ScanInfo;
use super::pipeline::pipeline;
use super::scan::Sink;
use super::{ExecOptions, ExecStats};
use crate::column::{Batch, BatchBuilder, Value};
use crate::error::{Error, Result};
use crate::index::bitmap;
use crate::plan::{AggExpr, Expr};
use crate::schema::{DataType, Field, TableSchema};
use crate::storage::segment::Segment;
use crate::storage::Snapshot;

/// Rows per key position of one segment's index.
type KeyCounts = Vec<(usize, u64)>;

/// `count(*) [GROUP BY indexed column]` from index counts and bitmap
/// cardinalities. Segments the time range cuts through (or without the needed
/// indexes) are scanned.
#[allow(clippy::too_many_arguments)]
pub(super) fn index_only_aggregate(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    group_col: Option<usize>,
    has_time: bool,
    group: &[(Expr, String)],
    aggs: &[(AggExpr, String)],
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    let schema = &snapshot.table(info.table)?.schema;
    let ts_nullable = schema
        .time_index()
        .is_none_or(|t| schema.fields[t].nullable);
    let (lo, hi) = info.time_range.unwrap_or((i64::MIN, i64::MAX));
    let mut total = 0u64;
    let mut nulls = 0u64;
    // Per segment answered from its index: the rows of each key position.
    let mut per_segment: Vec<(Arc<Segment>, KeyCounts)> = Vec::new();
    let mut fallback = Vec::new();
    'segs: for entry in snapshot.segment_entries(info.table, info.time_range)? {
        let inside = entry.rows == 0 || (lo <= entry.min_ts && entry.max_ts < hi);
        if group_col.is_none() && info.index.is_empty() && (!has_time || (inside && !ts_nullable)) {
            // A plain count of a segment wholly inside the range: the manifest's row
            // count, without opening the file.
            ExecStats::add(&stats.segments, 1);
            ExecStats::add(&stats.segments_index_only, 1);
            total += entry.rows;
            continue;
        }
        let seg = snapshot.segment(entry.id)?;
        let meta = seg.meta();
        if has_time {
            let ts_nulls = meta
                .time_column
                .and_then(|t| meta.columns.get(t))
                .is_none_or(|c| c.blocks.iter().any(|b| b.null_count > 0));
            if meta.rows > 0 && (ts_nulls || meta.min_ts < lo || meta.max_ts >= hi) {
                fallback.push(seg);
                continue;
            }
        }
        if group_col.is_some_and(|c| !seg.has_index(c)) {
            fallback.push(seg);
            continue;
        }
        let mut rows: Option<roaring::RoaringBitmap> = None;
        for p in &info.index {
            let Some(bm) = bitmap::predicate_rows(&seg, p)? else {
                fallback.push(seg);
                continue 'segs;
            };
            rows = Some(match rows {
                None => bm,
                Some(r) => r & bm,
            });
        }
        ExecStats::add(&stats.segments, 1);
        ExecStats::add(&stats.segments_index_only, 1);
        match group_col {
            None => total += rows.as_ref().map_or(seg.num_rows(), |r| r.len()),
            Some(c) => {
                if rows.as_ref().is_some_and(|r| r.is_empty()) {
                    continue;
                }
                let (per_key, n) = bitmap::key_counts(&seg, c, rows.as_ref())?;
                nulls += n;
                per_segment.push((seg, per_key));
            }
        }
    }
    stats
        .index_only
        .store(true, std::sync::atomic::Ordering::Relaxed);
    // Segments the indexes cannot answer: (group value, count) from the scan.
    let mut scanned: Vec<(Value, u64)> = Vec::new();
    if !fallback.is_empty() {
        let batches = pipeline(
            snapshot,
            info,
            Sink::Aggregate(group, aggs),
            opts,
            stats,
            None,
            Some(fallback),
            None,
        )?;
        for b in &batches {
            for r in 0..b.num_rows() {
                let n = match b.columns.get(group.len()).map(|c| c.value(r)) {
                    Some(Value::Int(n)) => n.max(0) as u64,
                    _ => 0,
                };
                if group.is_empty() {
                    total += n;
                } else {
                    scanned.push((b.columns[0].value(r), n));
                }
            }
        }
    }
    // The output: the group column (if any), then each count(*).
    let mut fields = Vec::new();
    if let Some((e, n)) = group.first() {
        fields.push(Field::new(n.clone(), e.data_type()));
    }
    for (i, (a, _)) in aggs.iter().enumerate() {
        fields.push(Field::new(format!("c{i}"), a.data_type));
    }
    let schema = TableSchema::new(fields);
    let mut b = BatchBuilder::new(&schema);
    let push_counts = |b: &mut BatchBuilder, n: u64| {
        for i in 0..aggs.len() {
            b.push_i64(i + usize::from(!group.is_empty()), n as i64);
        }
    };
    let Some(col) = group_col else {
        push_counts(&mut b, total);
        return Ok(vec![b.finish()]);
    };
    // Merge the segments' counts by value. Strings are borrowed from the segments'
    // dictionaries: no allocation per key and segment.
    let boolean = snapshot.table(info.table)?.schema.fields[col].data_type == DataType::Boolean;
    let dicts = per_segment
        .iter()
        .map(|(seg, _)| seg.dictionary(col))
        .collect::<Result<Vec<_>>>()?;
    // Strings: every segment's keys come in dictionary order, which is string
    // order, so the lists merge like sorted runs (no hashing of strings).
    let mut runs: Vec<Vec<(&str, u64)>> = Vec::new();
    let mut ints: hashbrown::HashMap<i64, u64> = hashbrown::HashMap::new();
    for ((seg, per_key), dict) in per_segment.iter().zip(&dicts) {
        match dict {
            Some(d) => runs.push(per_key.iter().map(|&(k, n)| (d.get(k), n)).collect()),
            None => {
                // `per_key` is in key order: one walk over the keys, page by page.
                let mut wanted = per_key.iter().peekable();
                seg.for_each_int_key(col, |k, v| {
                    if let Some(&(_, n)) = wanted.next_if(|&&(want, _)| want == k) {
                        *ints.entry(v).or_default() += n;
                    }
                    Ok(())
                })?;
                if wanted.next().is_some() {
                    return Err(Error::Internal("index-only aggregate keys".into()));
                }
            }
        }
    }
    let mut scanned_strs = Vec::new();
    for (v, n) in &scanned {
        match v {
            Value::Null => nulls += n,
            Value::Str(s) => scanned_strs.push((&**s, *n)),
            Value::Int(i) => *ints.entry(*i).or_default() += n,
            Value::Bool(x) => *ints.entry(*x as i64).or_default() += n,
            _ => return Err(Error::Internal("index-only aggregate key".into())),
        }
    }
    scanned_strs.sort_unstable();
    runs.push(scanned_strs);
    merge_sorted_runs(runs, opts.threads.max(1), |s, n| {
        b.push_str(0, s);
        push_counts(&mut b, n);
    });
    for (i, n) in ints {
        if boolean {
            b.push_bool(0, i != 0);
        } else {
            b.push_i64(0, i);
        }
        push_counts(&mut b, n);
    }
    if nulls > 0 {
        b.push_null(0);
        push_counts(&mut b, nulls);
    }
    Ok(vec![b.finish()])
}

/// Calls `emit(key, total)` once per distinct key of `runs` (each sorted by key),
/// in key order, with the key's counts summed. Runs merge pairwise, round by round
/// (one comparison per entry and round), the pairs of a round on `threads` threads.
fn merge_sorted_runs<'a>(
    runs: Vec<Vec<(&'a str, u64)>>,
    threads: usize,
    mut emit: impl FnMut(&str, u64),
) {
    let mut runs: Vec<Vec<(&'a str, u64)>> = runs.into_iter().filter(|r| !r.is_empty()).collect();
    while runs.len() > 1 {
        let mut pairs = Vec::new();
        let mut it = runs.into_iter();
        while let Some(a) = it.next() {
            pairs.push((a, it.next().unwrap_or_default()));
        }
        runs = if threads > 1 && pairs.len() > 1 {
            let chunk = pairs.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = pairs
                    .chunks(chunk)
                    .map(|ps| {
                        s.spawn(move || ps.iter().map(|(a, b)| merge_two(a, b)).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect::<Vec<Vec<_>>>()
            })
        } else {
            pairs.iter().map(|(a, b)| merge_two(a, b)).collect()
        };
    }
    let mut last: Option<(&str, u64)> = None;
    for &(k, n) in runs.first().map_or(&[][..], |r| &r[..]) {
        match &mut last {
            Some((key, total)) if *key == k => *total += n,
            _ => {
                if let Some((key, total)) = last.take() {
                    emit(key, total);
                }
                last = Some((k, n));
            }
        }
    }
    if let Some((key, total)) = last {
        emit(key, total);
    }
}

/// Two sorted runs as one, equal keys of the two summed.
fn merge_two<'a>(a: &[(&'a str, u64)], b: &[(&'a str, u64)]) -> Vec<(&'a str, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::merge_sorted_runs;

    #[test]
    fn sorted_runs_merge_into_one_total_per_key() {
        let runs = vec![
            vec![("a", 1), ("c", 2), ("d", 1)],
            vec![],
            vec![("c", 0)],
            vec![("b", 5), ("c", 1)],
            vec![("a", 2), ("d", 4), ("e", 1)],
        ];
        let mut out = Vec::new();
        merge_sorted_runs(runs.clone(), 1, |k, n| out.push((k.to_string(), n)));
        let mut two = Vec::new();
        merge_sorted_runs(runs, 2, |k, n| two.push((k.to_string(), n)));
        assert_eq!(two, out);
        let want = [("a", 3), ("b", 5), ("c", 3), ("d", 5), ("e", 1)];
        assert_eq!(
            out,
            want.iter()
                .map(|&(k, n)| (k.to_string(), n))
                .collect::<Vec<_>>()
        );
    }
}
