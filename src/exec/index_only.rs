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
use crate::schema::{Field, TableSchema};
use crate::storage::Snapshot;

/// A group key of an index-only aggregate (indexed columns are strings, integers
/// or booleans).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum IndexKey {
    Null,
    Int(i64),
    Bool(bool),
    Str(Arc<str>),
}

impl IndexKey {
    fn of(v: &Value) -> Result<IndexKey> {
        Ok(match v {
            Value::Null => IndexKey::Null,
            Value::Int(i) => IndexKey::Int(*i),
            Value::Bool(b) => IndexKey::Bool(*b),
            Value::Str(s) => IndexKey::Str(s.clone()),
            other => {
                return Err(Error::Internal(format!(
                    "index-only aggregate over a {other:?} key"
                )))
            }
        })
    }
}

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
    let mut counts: hashbrown::HashMap<IndexKey, (Value, u64)> = hashbrown::HashMap::new();
    let mut total = 0u64;
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
                let (per_key, nulls) = bitmap::key_counts(&seg, c, rows.as_ref())?;
                for (v, n) in per_key {
                    counts.entry(IndexKey::of(&v)?).or_insert((v, 0)).1 += n;
                }
                if nulls > 0 {
                    counts.entry(IndexKey::Null).or_insert((Value::Null, 0)).1 += nulls;
                }
            }
        }
    }
    stats
        .index_only
        .store(true, std::sync::atomic::Ordering::Relaxed);
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
                    let v = b.columns[0].value(r);
                    counts.entry(IndexKey::of(&v)?).or_insert((v, 0)).1 += n;
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
    if group.is_empty() {
        push_counts(&mut b, total);
    } else {
        for (_, (v, n)) in counts {
            match v {
                Value::Null => b.push_null(0),
                Value::Int(i) => b.push_i64(0, i),
                Value::Bool(x) => b.push_bool(0, x),
                Value::Str(s) => b.push_str(0, &s),
                _ => return Err(Error::Internal("index-only aggregate key".into())),
            }
            push_counts(&mut b, n);
        }
    }
    Ok(vec![b.finish()])
}
