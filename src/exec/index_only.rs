//! The IndexOnlyAggregate operator: `count(*)`, optionally grouped by an
//! indexed column, under index and time conjuncts, answered from index
//! cardinalities alone; segments the indexes cannot answer go through the scan
//! pipeline.

use std::sync::Arc;

use super::agg::AggBound;
use super::physical::ScanInfo;
use super::pipeline::pipeline;
use super::scan::Sink;
use super::tournament::Tournament;
use super::{ExecOptions, ExecStats};
use crate::column::{Batch, BatchBuilder, StringVec, Value};
use crate::error::{Error, Result};
use crate::index::bitmap;
use crate::plan::{AggExpr, Expr};
use crate::schema::{DataType, Field, TableSchema};
use crate::storage::segment::{ColumnStorage, Segment};
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
    // Per segment answered from its index: the rows of each key position.
    let mut per_segment: Vec<(Arc<Segment>, KeyCounts)> = Vec::new();
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
                Answer::Keys(seg, per_key, n)
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
            Answer::Keys(seg, per_key, n) => {
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
    // Merge the segments' counts by value.
    let boolean = snapshot.table(info.table)?.schema.fields[col].data_type == DataType::Boolean;
    // Strings: every segment's keys come in dictionary order, which is string
    // order, so the lists merge like sorted runs (no hashing of strings).
    // Dictionaries that together fit half the open-segment cache are decoded whole
    // and kept there, for the next query; larger ones are read a page at a time
    // and not kept, so the merge holds a page per segment.
    let dict_bytes: usize = (per_segment.iter())
        .map(|(seg, _)| seg.dictionary_size_hint(col))
        .sum();
    let keep = dict_bytes <= snapshot.segment_cache_budget() / 2;
    if keep {
        // Decoded once each, on all threads, before the merge: its ranges would
        // otherwise each decode every dictionary on first use.
        let segs: Vec<&Segment> = per_segment.iter().map(|(seg, _)| &**seg).collect();
        parallel::map(segs, opts.threads, |seg| seg.dictionary(col).map(|_| ()))?;
    }
    let dicts: Vec<Option<SegmentDictionary<'_>>> = (per_segment.iter())
        .map(|(seg, _)| {
            let paged = matches!(
                seg.meta().columns.get(col).map(|c| &c.storage),
                Some(ColumnStorage::Dictionary { .. })
            );
            paged.then(|| SegmentDictionary { seg, col, keep })
        })
        .collect();
    let mut ints: hashbrown::HashMap<i64, u64> = hashbrown::HashMap::new();
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
    let (scanned_dict, scanned_keys) = sorted_pairs(scanned_strs);
    let mut runs: Vec<Run<'_>> = Vec::new();
    for ((seg, per_key), dict) in per_segment.iter().zip(&dicts) {
        match dict {
            Some(d) => runs.push(Run {
                dict: d,
                keys: per_key,
            }),
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
    runs.push(Run {
        dict: &scanned_dict,
        keys: &scanned_keys,
    });
    let limit = top.and_then(|t| t.unit_limit.map(|n| (n, t.descending)));
    let totals = merge_sorted_runs(&runs, opts.threads.max(1), limit)?;
    for (i, &n) in totals.rows.iter().enumerate() {
        b.push_str(0, totals.keys.get(i));
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
    /// Rows per key position and rows with a NULL key.
    Keys(Arc<Segment>, KeyCounts, u64),
}

/// Where a run's strings come from: a dictionary read a page at a time.
trait Entries: Sync {
    /// The entries around `code`, with the code of the first one.
    fn entries_at(&self, code: u32) -> Result<(u32, Arc<StringVec>)>;
    /// The first code whose entry is at least `s`.
    fn lower_bound(&self, s: &str) -> Result<u32>;
}

/// Column `col`'s dictionary in segment `seg`: decoded whole and kept in the
/// segment with `keep`, else read a page at a time.
struct SegmentDictionary<'a> {
    seg: &'a Segment,
    col: usize,
    keep: bool,
}

impl Entries for SegmentDictionary<'_> {
    fn entries_at(&self, code: u32) -> Result<(u32, Arc<StringVec>)> {
        let whole = match self.keep {
            true => self.seg.dictionary(self.col)?,
            false => None,
        };
        let entries = match whole {
            Some(d) if (code as usize) < d.len() => Some((0, d)),
            // Pages, or a code past the whole dictionary: the page lookup's error
            // names the file.
            _ => self.seg.dict_entries_at(self.col, code)?,
        };
        entries.ok_or_else(|| Error::Internal("index-only aggregate: no dictionary".into()))
    }

    fn lower_bound(&self, s: &str) -> Result<u32> {
        Ok(self.seg.dict_range(self.col, s)?.map_or(0, |(lo, _)| lo))
    }
}

/// The strings of a scan's groups, sorted, as one page.
struct Whole(Arc<StringVec>);

impl Entries for Whole {
    fn entries_at(&self, _code: u32) -> Result<(u32, Arc<StringVec>)> {
        Ok((0, self.0.clone()))
    }

    fn lower_bound(&self, s: &str) -> Result<u32> {
        Ok(self.0.sorted_range(s).0)
    }
}

/// `pairs` sorted, as a dictionary of their strings and (code, rows) keys.
fn sorted_pairs(mut pairs: Vec<(&str, u64)>) -> (Whole, KeyCounts) {
    pairs.sort_unstable();
    let mut dict = StringVec::new();
    let mut keys = Vec::with_capacity(pairs.len());
    for (i, (s, n)) in pairs.into_iter().enumerate() {
        dict.push(s);
        keys.push((i, n));
    }
    (Whole(Arc::new(dict)), keys)
}

/// One sorted list of (string key, rows): key positions (codes into a sorted
/// dictionary, ascending) with their rows; their strings are read from the
/// dictionary a page at a time.
#[derive(Clone, Copy)]
struct Run<'a> {
    dict: &'a dyn Entries,
    keys: &'a [(usize, u64)],
}

impl Run<'_> {
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key at position `i`.
    fn key(&self, i: usize) -> Result<String> {
        let c = Cursor::new(*self, i..i + 1)?;
        Ok(c.key().unwrap_or_default().to_string())
    }

    /// The first position whose key is at least `s`.
    fn lower_bound(&self, s: &str) -> Result<usize> {
        let code = self.dict.lower_bound(s)? as usize;
        Ok(self.keys.partition_point(|&(k, _)| k < code))
    }
}

/// A run's position in the merge, with the dictionary entries holding its
/// current key.
struct Cursor<'a> {
    run: Run<'a>,
    pos: usize,
    end: usize,
    /// The code of `page`'s first entry, and the entries.
    first: u32,
    page: Arc<StringVec>,
    /// The current key's place in `page`, and its bytes' range there; `None`
    /// once the range is used up.
    at: Option<(usize, u32, u32)>,
}

impl<'a> Cursor<'a> {
    fn new(run: Run<'a>, range: std::ops::Range<usize>) -> Result<Cursor<'a>> {
        let mut c = Cursor {
            run,
            pos: range.start,
            end: range.end,
            first: 0,
            page: Arc::default(),
            at: None,
        };
        c.load()?;
        Ok(c)
    }

    /// The current key.
    fn key(&self) -> Option<&str> {
        self.at.map(|(i, _, _)| self.page.get(i))
    }

    /// The current key's bytes, for comparisons (string order is byte order).
    #[inline]
    fn key_bytes(&self) -> Option<&[u8]> {
        self.at
            .map(|(_, start, end)| &self.page.bytes()[start as usize..end as usize])
    }

    fn rows(&self) -> u64 {
        self.run.keys[self.pos].1
    }

    /// Moves to the next key, reading the dictionary page that holds it when the
    /// current one does not.
    fn advance(&mut self) -> Result<()> {
        self.pos += 1;
        self.load()
    }

    fn load(&mut self) -> Result<()> {
        if self.pos >= self.end {
            self.at = None;
            return Ok(());
        }
        let code = u32::try_from(self.run.keys[self.pos].0)
            .map_err(|_| Error::Internal("index-only aggregate: key position".into()))?;
        let mut at = code.wrapping_sub(self.first) as usize;
        if code < self.first || at >= self.page.len() {
            (self.first, self.page) = self.run.dict.entries_at(code)?;
            at = code.wrapping_sub(self.first) as usize;
            if code < self.first || at >= self.page.len() {
                return Err(Error::Internal(
                    "index-only aggregate: dictionary page".into(),
                ));
            }
        }
        let offsets = self.page.offsets();
        self.at = Some((at, offsets[at], offsets[at + 1]));
        Ok(())
    }
}

/// Whether cursor `a`'s key comes before cursor `b`'s (a used-up one beats
/// none).
#[inline]
fn cursor_beats(cursors: &[Cursor<'_>], a: usize, b: usize) -> bool {
    match (cursors[a].key_bytes(), cursors[b].key_bytes()) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Distinct keys in key order with their summed rows. With a limit (n,
/// descending), keys that cannot be among the n largest (or smallest) totals
/// are dropped as the list grows, so it stays a few times n long.
struct Totals {
    keys: StringVec,
    rows: Vec<u64>,
    limit: Option<(usize, bool)>,
    /// The length at which the list is cut down to its possible top n.
    cut_at: usize,
    /// The key being summed, and its rows: complete once a greater key comes.
    pending: Option<(String, u64)>,
    /// Once the list was cut: the n-th total then. A complete key whose total
    /// is below it (above it, ascending) cannot enter the top n and is not kept.
    bar: Option<u64>,
}

/// A limited list is cut down once it holds this many keys (or four times its
/// limit, if more).
const TOTALS_CUT_MIN: usize = 1 << 16;

impl Totals {
    fn new(limit: Option<(usize, bool)>) -> Totals {
        let limit = limit.filter(|&(n, _)| n > 0);
        Totals {
            keys: StringVec::new(),
            rows: Vec::new(),
            limit,
            cut_at: limit.map_or(usize::MAX, |(n, _)| n.saturating_mul(4).max(TOTALS_CUT_MIN)),
            pending: None,
            bar: None,
        }
    }

    /// Adds `n` rows of `key`, which is the last key added or comes after it.
    #[inline]
    fn add(&mut self, key: &str, n: u64) {
        if let Some((last, rows)) = &mut self.pending {
            if last == key {
                *rows += n;
                return;
            }
        }
        let next = match self.pending.take() {
            Some((mut last, rows)) => {
                self.keep(&last, rows);
                last.clear();
                last.push_str(key);
                last
            }
            None => key.to_string(),
        };
        self.pending = Some((next, n));
    }

    /// Keeps complete key `key` with its `rows`, unless it is below the bar.
    fn keep(&mut self, key: &str, rows: u64) {
        let admitted = match (self.bar, self.limit) {
            (Some(bar), Some((_, true))) => rows >= bar,
            (Some(bar), Some((_, false))) => rows <= bar,
            _ => true,
        };
        if !admitted {
            return;
        }
        if self.rows.len() >= self.cut_at {
            self.keep_top();
            self.cut_at = self.cut_at.max(self.rows.len().saturating_mul(2));
        }
        self.keys.push(key);
        self.rows.push(rows);
    }

    /// The list with the key being summed kept too.
    fn finish(mut self) -> Totals {
        if let Some((key, rows)) = self.pending.take() {
            self.keep(&key, rows);
        }
        self
    }

    /// Appends `other` (finished), whose keys all come after this one's.
    fn append(&mut self, other: Totals) {
        self.keys.extend(&other.keys);
        self.rows.extend(other.rows);
    }

    /// Keeps the keys whose rows can be among the first n by rows (largest when
    /// descending), ties at the n-th kept; all of them without a limit. A key
    /// outside a list's first n is outside the whole result's.
    fn keep_top(&mut self) {
        let Some((n, descending)) = self.limit.filter(|&(n, _)| n < self.rows.len()) else {
            return;
        };
        let mut counts = self.rows.clone();
        let nth = if descending {
            *counts.select_nth_unstable_by(n - 1, |a, b| b.cmp(a)).1
        } else {
            *counts.select_nth_unstable(n - 1).1
        };
        self.bar = Some(nth);
        let keep = |c: u64| if descending { c >= nth } else { c <= nth };
        let mut keys = StringVec::new();
        let mut rows = Vec::new();
        for (i, &c) in self.rows.iter().enumerate() {
            if keep(c) {
                keys.push(self.keys.get(i));
                rows.push(c);
            }
        }
        self.keys = keys;
        self.rows = rows;
    }
}

/// Below this many entries in all, runs merge on one thread.
const PARALLEL_MERGE_MIN: usize = 1 << 16;

/// Each distinct key of `runs` (each sorted by key) with its rows summed, in key
/// order. The key space is cut into one range per thread at keys of the longest
/// run; each thread merges its range of every run through a tournament (one
/// pass, nothing copied between rounds), reading each dictionary a page at a
/// time. With `limit` = (n, descending) only the keys whose totals can be among
/// the n largest (descending) or smallest are kept, ties included.
fn merge_sorted_runs(
    runs: &[Run<'_>],
    threads: usize,
    limit: Option<(usize, bool)>,
) -> Result<Totals> {
    let runs: Vec<Run<'_>> = runs.iter().copied().filter(|r| r.len() > 0).collect();
    let total: usize = runs.iter().map(Run::len).sum();
    let parts = if total < PARALLEL_MERGE_MIN {
        1
    } else {
        threads.max(1)
    };
    // Split keys from the longest run; per run, where each part starts.
    let mut splits = Vec::new();
    if let Some(l) = (0..runs.len()).max_by_key(|&r| runs[r].len()) {
        for t in 1..parts {
            splits.push(runs[l].key(runs[l].len() * t / parts)?);
        }
    }
    let mut bounds = Vec::with_capacity(runs.len());
    for r in &runs {
        let mut b = vec![0];
        for s in &splits {
            b.push(r.lower_bound(s)?);
        }
        b.push(r.len());
        bounds.push(b);
    }
    let ranges = |t: usize| -> Vec<std::ops::Range<usize>> {
        bounds.iter().map(|b| b[t]..b[t + 1].max(b[t])).collect()
    };
    let merge = |t: usize| -> Result<Totals> {
        let mut part = merge_ranges(&runs, ranges(t), limit)?;
        part.keep_top();
        Ok(part)
    };
    let pieces: Vec<Result<Totals>> = if parts > 1 {
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
    let mut all = Totals::new(limit);
    for piece in pieces {
        all.append(piece?);
    }
    all.keep_top();
    Ok(all)
}

/// The keys of `ranges` (one per run) in key order, with their rows summed,
/// through a tournament of losers (one string comparison per level of its tree:
/// with a couple of hundred segments this merge is most of an index-only
/// top-N's time).
fn merge_ranges(
    runs: &[Run<'_>],
    ranges: Vec<std::ops::Range<usize>>,
    limit: Option<(usize, bool)>,
) -> Result<Totals> {
    let mut out = Totals::new(limit);
    let mut cursors = Vec::new();
    for (run, range) in runs.iter().zip(ranges) {
        if !range.is_empty() {
            cursors.push(Cursor::new(*run, range)?);
        }
    }
    if cursors.is_empty() {
        return Ok(out);
    }
    let mut tree = Tournament::new(cursors.len(), |a, b| cursor_beats(&cursors, a, b));
    loop {
        let w = tree.winner();
        let Some(key) = cursors[w].key() else { break };
        out.add(key, cursors[w].rows());
        cursors[w].advance()?;
        tree.replay(|a, b| cursor_beats(&cursors, a, b));
    }
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{
        merge_sorted_runs, sorted_pairs, Entries, KeyCounts, Run, Totals, PARALLEL_MERGE_MIN,
        TOTALS_CUT_MIN,
    };
    use crate::column::StringVec;
    use crate::error::Result;

    fn owned(t: Totals) -> Vec<(String, u64)> {
        (t.rows.iter().enumerate())
            .map(|(i, &n)| (t.keys.get(i).to_string(), n))
            .collect()
    }

    fn merged(
        runs: &[Run<'_>],
        threads: usize,
        limit: Option<(usize, bool)>,
    ) -> Vec<(String, u64)> {
        owned(merge_sorted_runs(runs, threads, limit).unwrap())
    }

    /// A sorted dictionary handed out in pages of `page` entries.
    struct Paged {
        whole: StringVec,
        page: usize,
    }

    impl Entries for Paged {
        fn entries_at(&self, code: u32) -> Result<(u32, Arc<StringVec>)> {
            let first = code as usize / self.page * self.page;
            let end = (first + self.page).min(self.whole.len());
            Ok((first as u32, Arc::new(self.whole.slice(first..end))))
        }

        fn lower_bound(&self, s: &str) -> Result<u32> {
            Ok(self.whole.sorted_range(s).0)
        }
    }

    #[test]
    fn sorted_runs_merge_into_one_total_per_key() {
        let a = [("a", 1), ("c", 2), ("d", 1)];
        let c = [("c", 0)];
        let d = [("b", 5), ("c", 1)];
        let e = [("a", 2), ("d", 4), ("e", 1)];
        let lists: Vec<_> = [&a[..], &[], &c, &d, &e]
            .into_iter()
            .map(|p| sorted_pairs(p.to_vec()))
            .collect();
        let runs: Vec<Run<'_>> = lists
            .iter()
            .map(|(dict, keys)| Run { dict, keys })
            .collect();
        let want = vec![("a", 3), ("b", 5), ("c", 3), ("d", 5), ("e", 1)];
        let want: Vec<(String, u64)> = want.into_iter().map(|(k, n)| (k.into(), n)).collect();
        assert_eq!(merged(&runs, 1, None), want);
        assert_eq!(merged(&runs, 2, None), want);
        let pick = |keys: &[&str]| -> Vec<(String, u64)> {
            (want.iter())
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .cloned()
                .collect()
        };
        // The top 2 by count: d (5) and b (5); the bottom 1: e.
        assert_eq!(merged(&runs, 1, Some((2, true))), pick(&["b", "d"]));
        assert_eq!(merged(&runs, 1, Some((1, false))), pick(&["e"]));
        // Ties at the n-th are kept.
        assert_eq!(
            merged(&runs, 1, Some((3, true))),
            pick(&["a", "b", "c", "d"])
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
            let lists: Vec<_> = (runs_data.iter())
                .map(|v| sorted_pairs(v.iter().map(|(s, n)| (s.as_str(), *n)).collect()))
                .collect();
            let runs: Vec<Run<'_>> = lists
                .iter()
                .map(|(dict, keys)| Run { dict, keys })
                .collect();
            let mut want = std::collections::BTreeMap::new();
            for v in &runs_data {
                for (s, n) in v {
                    *want.entry(s.clone()).or_insert(0u64) += n;
                }
            }
            let want: Vec<(String, u64)> = want.into_iter().collect();
            assert_eq!(merged(&runs, 1, None), want, "{k} runs");
        }
    }

    /// Dictionaries of overlapping key sets read in pages of `page` entries, each
    /// run using some of its dictionary's codes, with the map-built totals.
    fn paged_runs(n: usize, page: usize) -> (Vec<Paged>, Vec<KeyCounts>, Vec<(String, u64)>) {
        let dicts: Vec<Paged> = (0..3)
            .map(|r| {
                let mut keys: Vec<String> = (0..n)
                    .filter(|i| i % (r + 2) != 0)
                    .map(|i| format!("/item/{}", i * 7 % n))
                    .collect();
                keys.sort();
                keys.dedup();
                let mut whole = StringVec::default();
                for k in &keys {
                    whole.push(k);
                }
                Paged { whole, page }
            })
            .collect();
        // Runs skip some codes (a filtered index), whole pages of them included.
        let per_key: Vec<KeyCounts> = dicts
            .iter()
            .enumerate()
            .map(|(r, d)| {
                (0..d.whole.len())
                    .filter(|i| i % 5 != r && (i / 40) % 3 != r)
                    .map(|i| (i, (i % 13 + r) as u64))
                    .collect()
            })
            .collect();
        let mut want = std::collections::BTreeMap::new();
        for (d, keys) in dicts.iter().zip(&per_key) {
            for &(i, c) in keys {
                *want.entry(d.whole.get(i).to_string()).or_insert(0u64) += c;
            }
        }
        (dicts, per_key, want.into_iter().collect())
    }

    #[test]
    fn paged_dictionaries_on_threads_give_the_one_thread_result() {
        for page in [1, 7, 1000, usize::MAX / 2] {
            let (dicts, per_key, want) = paged_runs(PARALLEL_MERGE_MIN, page);
            let runs: Vec<Run<'_>> = dicts
                .iter()
                .zip(&per_key)
                .map(|(dict, keys)| Run { dict, keys })
                .collect();
            let one = merged(&runs, 1, None);
            assert_eq!(one, want, "page {page}");
            for threads in [2, 3, 5] {
                assert_eq!(merged(&runs, threads, None), one);
                let top = merged(&runs, threads, Some((10, true)));
                let mut counts: Vec<u64> = one.iter().map(|&(_, c)| c).collect();
                counts.sort_unstable_by(|a, b| b.cmp(a));
                let tenth = counts[9];
                let expect: Vec<_> = one.iter().filter(|&(_, c)| *c >= tenth).cloned().collect();
                assert_eq!(top, expect);
            }
        }
    }

    #[test]
    fn a_limited_merge_holds_a_few_times_its_limit() {
        // Far more distinct keys than the cut length: the list is cut as it
        // grows, and the result is the top of the whole.
        let keys: Vec<String> = (0..TOTALS_CUT_MIN * 5)
            .map(|i| format!("k{i:08}"))
            .collect();
        let pairs: Vec<(&str, u64)> = (keys.iter().enumerate())
            .map(|(i, k)| (k.as_str(), (i * 7919 % 100_003) as u64))
            .collect();
        let mut totals = Totals::new(Some((3, true)));
        let mut longest = 0;
        for &(k, n) in &pairs {
            totals.add(k, n);
            longest = longest.max(totals.rows.len());
        }
        assert!(longest <= TOTALS_CUT_MIN + 1, "{longest}");
        totals.keep_top();
        let mut want: Vec<(String, u64)> = pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let nth = want[2].1;
        want.retain(|&(_, n)| n >= nth);
        want.sort();
        assert_eq!(owned(totals), want);
    }
}
