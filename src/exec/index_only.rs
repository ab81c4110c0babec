//! The IndexOnlyAggregate operator: `count(*)`, optionally grouped by an
//! indexed column, under index and time conjuncts, answered from index
//! cardinalities alone; segments the indexes cannot answer go through the scan
//! pipeline.

use std::sync::Arc;

use super::agg::AggBound;
use super::physical::ScanInfo;
use super::pipeline::pipeline;
use super::scan::Sink;
use super::tournament::{beats, key_ranges, Tournament};
use super::{ExecOptions, ExecStats};
use crate::column::{Batch, BatchBuilder, StringVec, Value};
use crate::error::{Error, Result};
use crate::index::bitmap;
use crate::plan::{AggExpr, Expr};
use crate::schema::{DataType, Field, TableSchema};
use crate::storage::segment::Segment;
use crate::storage::{parallel, Snapshot};

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
    top: Option<&AggBound>,
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
    // Per segment answered from its index: the rows of each key position, and the
    // column's dictionary.
    let mut per_segment: Vec<(Arc<Segment>, KeyCounts, Option<Arc<StringVec>>)> = Vec::new();
    let mut fallback = Vec::new();
    let entries = snapshot.segment_entries(info.table, info.time_range)?;
    let answer = |i: usize| -> Result<Answer> {
        let entry = &entries[i];
        let inside = entry.rows == 0 || (lo <= entry.min_ts && entry.max_ts < hi);
        if group_col.is_none() && info.index.is_empty() && (!has_time || (inside && !ts_nullable)) {
            // A plain count of a segment wholly inside the range: the manifest's row
            // count, without opening the file.
            ExecStats::add(&stats.segments, 1);
            ExecStats::add(&stats.segments_index_only, 1);
            return Ok(Answer::Rows(entry.rows));
        }
        let seg = snapshot.segment(entry.id)?;
        let meta = seg.meta();
        if has_time {
            let ts_nulls = meta
                .time_column
                .and_then(|t| meta.columns.get(t))
                .is_none_or(|c| c.blocks.iter().any(|b| b.null_count > 0));
            if meta.rows > 0 && (ts_nulls || meta.min_ts < lo || meta.max_ts >= hi) {
                return Ok(Answer::Scan(seg));
            }
        }
        if group_col.is_some_and(|c| !seg.has_index(c)) {
            return Ok(Answer::Scan(seg));
        }
        let mut rows: Option<roaring::RoaringBitmap> = None;
        for p in &info.index {
            let Some(bm) = bitmap::predicate_rows(&seg, p)? else {
                return Ok(Answer::Scan(seg));
            };
            rows = Some(match rows {
                None => bm,
                Some(r) => r & bm,
            });
        }
        ExecStats::add(&stats.segments, 1);
        ExecStats::add(&stats.segments_index_only, 1);
        Ok(match group_col {
            None => Answer::Rows(rows.as_ref().map_or(seg.num_rows(), |r| r.len())),
            Some(_) if rows.as_ref().is_some_and(|r| r.is_empty()) => Answer::Rows(0),
            Some(c) => {
                let (per_key, n) = bitmap::key_counts(&seg, c, rows.as_ref())?;
                let dict = seg.dictionary(c)?;
                Answer::Keys(seg, per_key, n, dict)
            }
        })
    };
    // Segments whose index pages and dictionaries are read go to several threads.
    let threads = if group_col.is_some() {
        opts.threads.clamp(1, entries.len().max(1))
    } else {
        1
    };
    for a in parallel::map((0..entries.len()).collect(), threads, answer)? {
        match a {
            Answer::Rows(n) => total += n,
            Answer::Scan(seg) => fallback.push(seg),
            Answer::Keys(seg, per_key, n, dict) => {
                nulls += n;
                per_segment.push((seg, per_key, dict));
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
    // Strings: every segment's keys come in dictionary order, which is string
    // order, so the lists merge like sorted runs (no hashing of strings).
    let mut runs: Vec<Run<'_>> = Vec::new();
    let mut ints: hashbrown::HashMap<i64, u64> = hashbrown::HashMap::new();
    for (seg, per_key, dict) in &per_segment {
        match dict {
            Some(d) => runs.push(Run::Dict(d, per_key)),
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
    runs.push(Run::Pairs(&scanned_strs));
    let limit = top.and_then(|t| t.unit_limit.map(|n| (n, t.descending)));
    for (s, n) in merge_sorted_runs(&runs, opts.threads.max(1), limit) {
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

/// What one segment contributes to the aggregate.
enum Answer {
    /// Rows counted without keys (from the manifest or the index).
    Rows(u64),
    /// Not answerable from its indexes: scanned.
    Scan(Arc<Segment>),
    /// Rows per key position, rows with a NULL key, and the column's dictionary.
    Keys(Arc<Segment>, KeyCounts, u64, Option<Arc<StringVec>>),
}

/// One sorted list of (string key, rows): a segment's index key positions with
/// their strings in its dictionary, or pairs from a scan.
#[derive(Clone, Copy)]
enum Run<'a> {
    Dict(&'a StringVec, &'a [(usize, u64)]),
    Pairs(&'a [(&'a str, u64)]),
}

impl<'a> Run<'a> {
    fn len(&self) -> usize {
        match self {
            Run::Dict(_, keys) => keys.len(),
            Run::Pairs(p) => p.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> (&'a str, u64) {
        match *self {
            Run::Dict(d, keys) => (d.get(keys[i].0), keys[i].1),
            Run::Pairs(p) => p[i],
        }
    }
}

/// Below this many entries in all, runs merge on one thread.
const PARALLEL_MERGE_MIN: usize = 1 << 16;

/// Each distinct key of `runs` (each sorted by key) with its counts summed, in
/// key order. The key space is cut into one range per thread at keys of the
/// longest run; each thread merges its range of every run through a heap (one
/// pass, nothing copied between rounds). With `limit` = (n, descending) only the
/// keys whose totals can be among the n largest (descending) or smallest are
/// kept, ties included: a key outside its range's first n is outside the whole
/// result's.
fn merge_sorted_runs<'a>(
    runs: &[Run<'a>],
    threads: usize,
    limit: Option<(usize, bool)>,
) -> Vec<(&'a str, u64)> {
    let runs: Vec<Run<'a>> = runs.iter().copied().filter(|r| r.len() > 0).collect();
    let total: usize = runs.iter().map(Run::len).sum();
    let parts = if total < PARALLEL_MERGE_MIN {
        1
    } else {
        threads
    };
    let lens: Vec<usize> = runs.iter().map(Run::len).collect();
    let ranges = key_ranges(&lens, |r, i| runs[r].get(i).0, parts);
    let range = |t: usize| ranges[t].clone();
    let merge = |t: usize| keep_top(merge_ranges(&runs, range(t)), limit);
    let pieces: Vec<Vec<(&'a str, u64)>> = if parts > 1 {
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..parts).map(|t| s.spawn(move || merge(t))).collect();
            let mut out = vec![merge(0)];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            out
        })
    } else {
        vec![merge(0)]
    };
    keep_top(pieces.concat(), limit)
}

/// The keys of `ranges` (one per run) in key order, with their counts summed,
/// through a tournament of losers (one string comparison per level of its tree:
/// with a couple of hundred segments this merge is most of an index-only
/// top-N's time).
fn merge_ranges<'a>(runs: &[Run<'a>], ranges: Vec<std::ops::Range<usize>>) -> Vec<(&'a str, u64)> {
    let live: Vec<(Run<'a>, std::ops::Range<usize>)> = runs
        .iter()
        .zip(ranges)
        .filter(|(_, r)| !r.is_empty())
        .map(|(run, r)| (*run, r))
        .collect();
    let k = live.len();
    let mut out: Vec<(&'a str, u64)> = Vec::new();
    if k == 0 {
        return out;
    }
    let mut pos: Vec<usize> = live.iter().map(|(_, r)| r.start).collect();
    // Each run's current key; None once it is used up (it loses every match).
    let mut key: Vec<Option<&'a str>> = live
        .iter()
        .map(|(run, r)| Some(run.get(r.start).0))
        .collect();
    let mut tree = Tournament::new(k, |a, b| beats(&key, a, b));
    loop {
        let w = tree.winner();
        let Some(k0) = key[w] else { break };
        let (run, range) = &live[w];
        let n = run.get(pos[w]).1;
        match out.last_mut() {
            Some((last, total)) if *last == k0 => *total += n,
            _ => out.push((k0, n)),
        }
        pos[w] += 1;
        key[w] = (pos[w] < range.end).then(|| run.get(pos[w]).0);
        tree.replay(|a, b| beats(&key, a, b));
    }
    out
}

/// `keys` (in key order) reduced to those whose counts can be among the first
/// `n` by count (largest when descending), ties at the n-th kept; all of them
/// without a limit.
fn keep_top(mut keys: Vec<(&str, u64)>, limit: Option<(usize, bool)>) -> Vec<(&str, u64)> {
    let Some((n, descending)) = limit.filter(|&(n, _)| n > 0 && n < keys.len()) else {
        return keys;
    };
    let mut counts: Vec<u64> = keys.iter().map(|&(_, c)| c).collect();
    let nth = if descending {
        *counts.select_nth_unstable_by(n - 1, |a, b| b.cmp(a)).1
    } else {
        *counts.select_nth_unstable(n - 1).1
    };
    keys.retain(|&(_, c)| if descending { c >= nth } else { c <= nth });
    keys
}

#[cfg(test)]
mod tests {
    use super::{merge_sorted_runs, Run, PARALLEL_MERGE_MIN};
    use crate::column::StringVec;

    fn owned(v: Vec<(&str, u64)>) -> Vec<(String, u64)> {
        v.into_iter().map(|(k, n)| (k.to_string(), n)).collect()
    }

    #[test]
    fn sorted_runs_merge_into_one_total_per_key() {
        let a = [("a", 1), ("c", 2), ("d", 1)];
        let c = [("c", 0)];
        let d = [("b", 5), ("c", 1)];
        let e = [("a", 2), ("d", 4), ("e", 1)];
        let runs = [
            Run::Pairs(&a),
            Run::Pairs(&[]),
            Run::Pairs(&c),
            Run::Pairs(&d),
            Run::Pairs(&e),
        ];
        let want = owned(vec![("a", 3), ("b", 5), ("c", 3), ("d", 5), ("e", 1)]);
        assert_eq!(owned(merge_sorted_runs(&runs, 1, None)), want);
        assert_eq!(owned(merge_sorted_runs(&runs, 2, None)), want);
        // The top 2 by count: d (5) and b (5); the bottom 1: e.
        assert_eq!(
            owned(merge_sorted_runs(&runs, 1, Some((2, true)))),
            owned(vec![("b", 5), ("d", 5)])
        );
        assert_eq!(
            owned(merge_sorted_runs(&runs, 1, Some((1, false)))),
            owned(vec![("e", 1)])
        );
        // Ties at the n-th are kept.
        assert_eq!(
            owned(merge_sorted_runs(&runs, 1, Some((3, true)))),
            owned(vec![("a", 3), ("b", 5), ("c", 3), ("d", 5)])
        );
    }

    #[test]
    fn any_number_of_runs_merges_like_a_map() {
        // Every count of runs from 1 to 40 (powers of two and not), some empty,
        // with keys shared between runs and counts of zero.
        for k in 1..=40usize {
            let runs_data: Vec<Vec<(String, u64)>> = (0..k)
                .map(|r| {
                    let len = (r * 7 + k) % 23;
                    let mut keys: Vec<String> = (0..len)
                        .map(|i| format!("k{:03}", (i * (r + 3) + k) % 61))
                        .collect();
                    keys.sort();
                    keys.dedup();
                    keys.into_iter().map(|s| (s, (r % 4) as u64)).collect()
                })
                .collect();
            let borrowed: Vec<Vec<(&str, u64)>> = runs_data
                .iter()
                .map(|v| v.iter().map(|(s, n)| (s.as_str(), *n)).collect())
                .collect();
            let runs: Vec<Run<'_>> = borrowed.iter().map(|v| Run::Pairs(v)).collect();
            let mut want = std::collections::BTreeMap::new();
            for v in &runs_data {
                for (s, n) in v {
                    *want.entry(s.clone()).or_insert(0u64) += n;
                }
            }
            let want: Vec<(String, u64)> = want.into_iter().collect();
            assert_eq!(owned(merge_sorted_runs(&runs, 1, None)), want, "{k} runs");
        }
    }

    #[test]
    fn ranges_on_threads_give_the_one_thread_result() {
        // Dictionaries of overlapping key sets, enough entries for the parallel path.
        let n = PARALLEL_MERGE_MIN;
        let dicts: Vec<StringVec> = (0..3)
            .map(|r| {
                let mut keys: Vec<String> = (0..n)
                    .filter(|i| i % (r + 2) != 0)
                    .map(|i| format!("/item/{}", i * 7 % n))
                    .collect();
                keys.sort();
                keys.dedup();
                let mut d = StringVec::default();
                for k in &keys {
                    d.push(k);
                }
                d
            })
            .collect();
        let per_key: Vec<Vec<(usize, u64)>> = dicts
            .iter()
            .enumerate()
            .map(|(r, d)| (0..d.len()).map(|i| (i, (i % 13 + r) as u64)).collect())
            .collect();
        let runs: Vec<Run<'_>> = dicts
            .iter()
            .zip(&per_key)
            .map(|(d, k)| Run::Dict(d, k))
            .collect();
        let one = merge_sorted_runs(&runs, 1, None);
        assert!(one.windows(2).all(|w| w[0].0 < w[1].0));
        let mut want = std::collections::BTreeMap::new();
        for (d, keys) in dicts.iter().zip(&per_key) {
            for &(i, c) in keys {
                *want.entry(d.get(i).to_string()).or_insert(0u64) += c;
            }
        }
        assert_eq!(owned(one.clone()), want.into_iter().collect::<Vec<_>>());
        for threads in [2, 3, 5] {
            assert_eq!(merge_sorted_runs(&runs, threads, None), one);
            let top = merge_sorted_runs(&runs, threads, Some((10, true)));
            let mut counts: Vec<u64> = one.iter().map(|&(_, c)| c).collect();
            counts.sort_unstable_by(|a, b| b.cmp(a));
            let tenth = counts[9];
            let expect: Vec<_> = one.iter().copied().filter(|&(_, c)| c >= tenth).collect();
            assert_eq!(top, expect);
        }
    }
}
