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
use crate::storage::segment::{IndexKeys, Segment};
use crate::storage::Snapshot;

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
    let mut per_segment: Vec<(Arc<Segment>, Vec<(usize, u64)>)> = Vec::new();
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
    let mut strs: hashbrown::HashMap<&str, u64> = hashbrown::HashMap::new();
    let mut ints: hashbrown::HashMap<i64, u64> = hashbrown::HashMap::new();
    for ((seg, per_key), dict) in per_segment.iter().zip(&dicts) {
        match dict {
            Some(d) => {
                for &(k, n) in per_key {
                    *strs.entry(d.get(k)).or_default() += n;
                }
            }
            None => {
                let keys = match seg.index(col)?.map(|ix| &ix.keys) {
                    Some(IndexKeys::Ints(v)) => v,
                    _ => return Err(Error::Internal("index-only aggregate keys".into())),
                };
                for &(k, n) in per_key {
                    *ints.entry(keys[k]).or_default() += n;
                }
            }
        }
    }
    for (v, n) in &scanned {
        match v {
            Value::Null => nulls += n,
            Value::Str(s) => *strs.entry(s).or_default() += n,
            Value::Int(i) => *ints.entry(*i).or_default() += n,
            Value::Bool(x) => *ints.entry(*x as i64).or_default() += n,
            _ => return Err(Error::Internal("index-only aggregate key".into())),
        }
    }
    for (s, n) in strs {
        b.push_str(0, s);
        push_counts(&mut b, n);
    }
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
