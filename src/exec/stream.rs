//! Group-key analysis and partition-wise streaming aggregation.
//!
//! [`KeyPlan`] looks at each GROUP BY expression once per query: integer columns
//! and time functions get value ranges from zone maps (for packed keys and the
//! dense path), string columns a bound on their distinct values.
//!
//! Streaming: when a key is a time bucket of the table's time column
//! (`date_trunc`, `time_bucket`, `toStartOf*`, `ts` itself), no group spans a bucket
//! boundary. Partitions are cut into *units* whose ends are bucket boundaries (a day
//! partition under `date_trunc('hour')` is one unit; hour partitions under
//! `date_trunc('day')` join into one unit per day). Each unit is aggregated (its
//! segments in parallel), finished, passed through HAVING and the projection, and
//! folded into a top-N (ORDER BY ... LIMIT) or appended to the output; then its
//! table is freed. Memory is bounded by the groups of the units in flight.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::agg::AggBound;
use super::agg_cache::CachedAggregate;
use super::group::{KeyHint, KeyLayout, SegmentDomains};
use super::materialized::project;
use super::memory::Reservation;
use super::metrics::ExecStats;
use super::physical::{is_scan_chain, ScanInfo};
use super::pipeline::{aggregate_units, UnitSink};
use super::sort::TopN;
use super::ExecOptions;
use super::{distinct, limit};
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::plan::{AggExpr, DatePart, Expr, LogicalPlan, ScalarFunc, TruncUnit};
use crate::schema::{DataType, PhysicalType};
use crate::storage::manifest::Granularity;
use crate::storage::segment::{ColumnStorage, Segment, Stats};
use crate::storage::Snapshot;
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

/// A monotone bucket function of the time column.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TimeFn {
    Ident,
    Trunc(TruncUnit),
    /// `time_bucket` (origin 2000-01-03).
    Bucket(i64),
    /// `toStartOfInterval` (origin the epoch).
    StartOf(i64),
}

impl TimeFn {
    fn apply(self, ts: i64) -> i64 {
        match self {
            TimeFn::Ident => ts,
            TimeFn::Trunc(u) => super::date_parts::date_trunc(u, ts),
            TimeFn::Bucket(w) => super::vector::time_bucket(w, ts),
            TimeFn::StartOf(w) => ts.div_euclid(w.max(1)) * w.max(1),
        }
    }

    /// The distance between consecutive values, when fixed.
    fn step(self) -> Option<i64> {
        match self {
            TimeFn::Ident => Some(1),
            TimeFn::Trunc(u) => match u {
                TruncUnit::Second => Some(MICROS_PER_SECOND),
                TruncUnit::Minute => Some(MICROS_PER_MINUTE),
                TruncUnit::Hour => Some(MICROS_PER_HOUR),
                TruncUnit::Day => Some(MICROS_PER_DAY),
                TruncUnit::Week => Some(7 * MICROS_PER_DAY),
                TruncUnit::Microsecond => Some(1),
                TruncUnit::Millisecond => Some(1000),
                _ => None,
            },
            TimeFn::Bucket(w) | TimeFn::StartOf(w) => (w > 0).then_some(w),
        }
    }
}

/// Where one key's values come from.
#[derive(Clone, Copy, Debug)]
enum KeySource {
    /// An integer table column.
    IntColumn(usize),
    /// A string table column.
    StrColumn(usize),
    /// A bucket of the time column.
    Time(TimeFn),
    /// A fixed integer range (`hour(x)` is 0..=23); with `Some`, a date part of
    /// the time column, constant within that bucket of time.
    Fixed(i64, i64, Option<TimeFn>),
    Other,
}

/// The group keys that are functions of the time column alone, each constant
/// within the buckets of its `units` entry (see [`KeyPlan::block_constant`]).
#[derive(Clone, Debug)]
pub(crate) struct BlockKeys {
    /// The time column: in the table, and in the scanned columns.
    pub time_column: usize,
    pub time_k: usize,
    /// Per key: the bucket function within whose buckets it is constant (`None`:
    /// not a function of the time column).
    units: Vec<Option<TimeFn>>,
}

impl BlockKeys {
    /// Whether every row of a block with times in `min..=max` has the same value
    /// of each time key.
    pub fn constant(&self, min: i64, max: i64) -> bool {
        self.units
            .iter()
            .flatten()
            .all(|u| u.apply(min) == u.apply(max))
    }

    /// Whether every key is a time key (so a block of constant time keys is one
    /// group).
    pub fn all(&self) -> bool {
        self.units.iter().all(Option::is_some)
    }

    /// Whether key `k` is a time key.
    pub fn is_time_key(&self, k: usize) -> bool {
        self.units.get(k).is_some_and(Option::is_some)
    }
}

/// What is known about the GROUP BY keys of one aggregation.
#[derive(Clone, Debug)]
pub(crate) struct KeyPlan {
    sources: Vec<KeySource>,
    time_column: Option<usize>,
    pub layout: KeyLayout,
}

fn source_of(e: &Expr, columns: &[usize], time_column: Option<usize>) -> KeySource {
    let table_col = |e: &Expr| match e {
        Expr::Column { index, .. } => columns.get(*index).copied(),
        _ => None,
    };
    let is_time = |e: &Expr| time_column.is_some() && table_col(e) == time_column;
    match e {
        Expr::Column { data_type, .. } => {
            let Some(c) = table_col(e) else {
                return KeySource::Other;
            };
            if Some(c) == time_column {
                KeySource::Time(TimeFn::Ident)
            } else if data_type.physical() == PhysicalType::Int64 {
                KeySource::IntColumn(c)
            } else if *data_type == DataType::Varchar {
                KeySource::StrColumn(c)
            } else {
                KeySource::Other
            }
        }
        Expr::Func { func, args, .. } => {
            let on_time = args.first().is_some_and(is_time);
            match func {
                ScalarFunc::DateTrunc(u) if on_time => KeySource::Time(TimeFn::Trunc(*u)),
                ScalarFunc::TimeBucket(w) if on_time && *w > 0 => {
                    KeySource::Time(TimeFn::Bucket(*w))
                }
                ScalarFunc::StartOfInterval(w) if on_time && *w > 0 => {
                    KeySource::Time(TimeFn::StartOf(*w))
                }
                ScalarFunc::DatePart(p) => {
                    let (lo, hi, unit) = match p {
                        DatePart::Hour => (0, 23, TruncUnit::Hour),
                        DatePart::Minute => (0, 59, TruncUnit::Minute),
                        DatePart::Second => (0, 59, TruncUnit::Second),
                        DatePart::DayOfWeek => (0, 6, TruncUnit::Day),
                        DatePart::IsoDayOfWeek => (1, 7, TruncUnit::Day),
                        DatePart::DayOfYear => (1, 366, TruncUnit::Day),
                        DatePart::Week => (1, 53, TruncUnit::Day),
                        DatePart::Quarter => (1, 4, TruncUnit::Day),
                        DatePart::Month => (1, 12, TruncUnit::Day),
                        DatePart::Day => (1, 31, TruncUnit::Day),
                        _ => return KeySource::Other,
                    };
                    KeySource::Fixed(lo, hi, on_time.then_some(TimeFn::Trunc(unit)))
                }
                _ => KeySource::Other,
            }
        }
        _ => KeySource::Other,
    }
}

fn int_range(seg: &Segment, col: usize) -> Option<(i64, i64)> {
    let meta = seg.meta().columns.get(col)?;
    let mut out: Option<(i64, i64)> = None;
    for b in &meta.blocks {
        match b.stats {
            Stats::Int { min, max } => {
                out = Some(out.map_or((min, max), |(lo, hi)| (lo.min(min), hi.max(max))));
            }
            Stats::None if b.null_count == b.rows => {}
            _ => return None,
        }
    }
    Some(out.unwrap_or((0, 0)))
}

fn ts_range(seg: &Segment) -> Option<(i64, i64)> {
    let m = seg.meta();
    (m.rows > 0 && m.min_ts <= m.max_ts).then_some((m.min_ts, m.max_ts))
}

impl KeyPlan {
    /// Analyses `group` over the scan described by `info` and the `segments` it
    /// will read.
    pub fn new(
        snapshot: &Snapshot,
        info: &ScanInfo<'_>,
        group: &[(Expr, String)],
        segments: &[Arc<Segment>],
    ) -> Result<KeyPlan> {
        let schema = &snapshot.table(info.table)?.schema;
        let time_column = schema
            .time_column
            .as_ref()
            .and_then(|t| schema.fields.iter().position(|f| &f.name == t));
        let sources: Vec<KeySource> = group
            .iter()
            .map(|(e, _)| source_of(e, info.columns, time_column))
            .collect();
        let rows: u64 = segments.iter().map(|s| s.num_rows()).sum();
        let mut hints = Vec::with_capacity(sources.len());
        for src in &sources {
            let hint = match *src {
                KeySource::IntColumn(c) => {
                    let mut acc: Option<(i64, i64)> = None;
                    let mut known = true;
                    for s in segments {
                        match int_range(s, c) {
                            Some((lo, hi)) => {
                                acc = Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
                            }
                            None => known = false,
                        }
                    }
                    match (known, acc) {
                        (true, Some((lo, hi))) => KeyHint::Range(lo, hi),
                        (true, None) => KeyHint::Range(0, 0),
                        _ => KeyHint::Unknown,
                    }
                }
                KeySource::Time(f) => {
                    let mut acc: Option<(i64, i64)> = None;
                    for s in segments {
                        if let Some((lo, hi)) = ts_range(s) {
                            let (lo, hi) = (f.apply(lo), f.apply(hi));
                            acc = Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                        }
                    }
                    let (lo, hi) = acc.unwrap_or((0, 0));
                    match f.step() {
                        Some(step) if step > 1 => KeyHint::Stepped(lo, hi, step),
                        _ => KeyHint::Range(lo, hi),
                    }
                }
                KeySource::Fixed(lo, hi, _) => KeyHint::Range(lo, hi),
                KeySource::StrColumn(c) => {
                    let mut n = 0u64;
                    for s in segments {
                        n += match s.meta().columns.get(c).map(|m| &m.storage) {
                            Some(ColumnStorage::Dictionary { len, .. }) => *len as u64,
                            _ => s.num_rows(),
                        };
                    }
                    KeyHint::Distinct(n)
                }
                KeySource::Other => KeyHint::Distinct(rows),
            };
            hints.push(hint);
        }
        let types: Vec<DataType> = group.iter().map(|(e, _)| e.data_type()).collect();
        let mut layout = KeyLayout::new(&types, &hints);
        // A date part of the time column (hour(ts)) next to other keys partitions
        // the hash table: rows arrive in time order.
        if group.len() > 1 {
            if let Some(k) = sources
                .iter()
                .position(|s| matches!(s, KeySource::Fixed(_, _, Some(_))))
            {
                layout.partition_by(k);
            }
        }
        Ok(KeyPlan {
            sources,
            time_column,
            layout,
        })
    }

    /// Integer key domains of one segment, for the dense path.
    pub fn segment_domains(&self, seg: &Segment) -> SegmentDomains {
        self.sources
            .iter()
            .map(|src| match *src {
                KeySource::IntColumn(c) => int_range(seg, c).map(|(lo, hi)| (lo, hi, 1)),
                KeySource::Fixed(lo, hi, _) => Some((lo, hi, 1)),
                KeySource::Time(f) => {
                    let step = f.step()?;
                    ts_range(seg).map(|(lo, hi)| (f.apply(lo), f.apply(hi), step))
                }
                _ => None,
            })
            .collect()
    }

    /// When some keys are functions of the time column alone: the time column's
    /// position in the scan, and per key a bucket function within whose buckets
    /// the key is constant (the key's own bucket for `date_trunc` and the like;
    /// the hour, minute, second or day for `hour(ts)` and other date parts). In a
    /// block whose minimum and maximum time share a bucket of each, those keys are
    /// evaluated once; when they are all the keys, the block has one group.
    pub(crate) fn block_constant(&self, columns: &[usize]) -> Option<BlockKeys> {
        let time_column = self.time_column?;
        let time_k = columns.iter().position(|&c| c == time_column)?;
        let units: Vec<Option<TimeFn>> = self
            .sources
            .iter()
            .map(|src| match src {
                KeySource::Time(f) | KeySource::Fixed(_, _, Some(f)) => Some(*f),
                _ => None,
            })
            .collect();
        units.iter().any(Option::is_some).then_some(BlockKeys {
            time_column,
            time_k,
            units,
        })
    }

    /// Per key, the table column of a key that is a string column (`None` for
    /// the other keys).
    pub(crate) fn string_columns(&self) -> Vec<Option<usize>> {
        (self.sources.iter())
            .map(|s| match s {
                KeySource::StrColumn(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// The time bucket function of a key that keeps groups inside partitions.
    fn aligned(&self) -> Option<TimeFn> {
        self.sources.iter().find_map(|s| match s {
            KeySource::Time(f) => Some(*f),
            _ => None,
        })
    }
}

/// The operators between the top of a plan and its aggregate.
struct Chain<'a> {
    /// Top first.
    above: Vec<&'a LogicalPlan>,
    aggregate: &'a LogicalPlan,
}

fn chain(plan: &LogicalPlan) -> Option<Chain<'_>> {
    let mut above = Vec::new();
    let mut p = plan;
    loop {
        match p {
            LogicalPlan::Aggregate { input, .. } if is_scan_chain(input) => {
                return Some(Chain {
                    above,
                    aggregate: p,
                })
            }
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::Distinct { input } => {
                above.push(p);
                p = input;
            }
            _ => return None,
        }
    }
}

/// A partition-streaming aggregation, decided by [`plan`] and run by [`run`]: the
/// aggregate over a scan, run unit by unit (runs of partitions ending on a bucket
/// boundary of a time key), with the operators above it applied per unit, as a
/// top-N across units, or on the collected rows.
pub struct StreamPlan<'a> {
    ch: Chain<'a>,
    info: ScanInfo<'a>,
    group: &'a [(Expr, String)],
    aggs: &'a [(AggExpr, String)],
    keys: KeyPlan,
    units: Vec<Vec<Arc<Segment>>>,
    /// Group keys no operator above reads (set by the physical planner when
    /// nothing runs above the aggregate in this plan): not built.
    pub(crate) unread_keys: Vec<bool>,
}

impl<'a> StreamPlan<'a> {
    /// The aggregate node the units run.
    pub fn aggregate(&self) -> &'a LogicalPlan {
        self.ch.aggregate
    }

    /// The operators between the plan's top and the aggregate, top first, each
    /// with where it runs: `per unit`, `across units` (a top-N) or `after units`.
    pub fn above(&self) -> Vec<(&'a LogicalPlan, &'static str)> {
        let (per_unit, top_n, _) = self.split();
        self.ch
            .above
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let place = if i >= self.ch.above.len() - per_unit {
                    "per unit"
                } else if top_n && i + 1 == self.ch.above.len() - per_unit {
                    "across units"
                } else {
                    "after units"
                };
                (*p, place)
            })
            .collect()
    }

    /// The scan below the aggregate.
    pub fn info(&self) -> &ScanInfo<'a> {
        &self.info
    }

    /// Units the aggregate runs in.
    pub fn units(&self) -> usize {
        self.units.len()
    }

    /// (operators run per unit, whether the next one up is a top-N across units,
    /// the index where the per-unit operators start in `ch.above`).
    fn split(&self) -> (usize, bool, usize) {
        let per_unit = self
            .ch
            .above
            .iter()
            .rev()
            .take_while(|p| matches!(p, LogicalPlan::Filter { .. } | LogicalPlan::Project { .. }))
            .count();
        let split = self.ch.above.len() - per_unit;
        let top_n = split > 0
            && matches!(
                self.ch.above[split - 1],
                LogicalPlan::Sort { fetch: Some(_), .. }
            );
        (per_unit, top_n, split)
    }
}

/// Plans `plan` to run partition by partition when its aggregate's keys allow it
/// and the table has more than one unit; `None` otherwise.
pub(crate) fn plan<'a>(
    snapshot: &Snapshot,
    plan: &'a LogicalPlan,
    opts: &ExecOptions,
) -> Result<Option<StreamPlan<'a>>> {
    let Some(ch) = chain(plan) else {
        return Ok(None);
    };
    let LogicalPlan::Aggregate { input, group, aggs } = ch.aggregate else {
        return Ok(None);
    };
    if group.is_empty()
        || (opts.use_indexes && super::physical::index_only_shape(input, group, aggs).is_some())
    {
        return Ok(None);
    }
    let info = super::physical::scan_info(input, opts.use_indexes)?;
    let entry = snapshot.table(info.table)?;
    // A cheap look at the keys before listing segments.
    let time_column = entry
        .schema
        .time_column
        .as_ref()
        .and_then(|t| entry.schema.fields.iter().position(|f| &f.name == t));
    if !group
        .iter()
        .any(|(e, _)| matches!(source_of(e, info.columns, time_column), KeySource::Time(_)))
    {
        return Ok(None);
    }
    let all = snapshot.segments(info.table, info.time_range)?;
    let keys = KeyPlan::new(snapshot, &info, group, &all)?;
    let Some(f) = keys.aligned() else {
        return Ok(None);
    };
    let time_nullable = keys
        .time_column
        .and_then(|c| entry.schema.fields.get(c))
        .is_none_or(|f| f.nullable);
    if time_nullable {
        return Ok(None);
    }
    // Units: runs of partitions ending on a bucket boundary.
    let (lo, hi) = info.time_range.unwrap_or((i64::MIN, i64::MAX));
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    let mut open: Option<i64> = None;
    for p in &entry.partitions {
        if p.granularity == Granularity::All {
            return Ok(None);
        }
        if p.end() <= lo || p.start >= hi {
            continue;
        }
        let start = *open.get_or_insert(p.start);
        if f.apply(p.end()) == p.end() {
            ranges.push((start.max(lo), p.end().min(hi)));
            open = None;
        }
    }
    if let Some(start) = open {
        ranges.push((start.max(lo), hi));
    }
    if ranges.len() < 2 {
        return Ok(None);
    }
    let mut units = Vec::with_capacity(ranges.len());
    for r in ranges {
        let segs = snapshot.segments(info.table, Some(r))?;
        if !segs.is_empty() {
            units.push(segs);
        }
    }
    Ok(Some(StreamPlan {
        ch,
        info,
        group,
        aggs,
        keys,
        units,
        unread_keys: Vec::new(),
    }))
}

/// Runs a partition-streaming aggregation planned by [`plan`].
pub(crate) fn run(
    snapshot: &Snapshot,
    sp: &StreamPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    let StreamPlan {
        ch,
        info,
        group,
        aggs,
        keys,
        units,
        unread_keys,
    } = sp;
    let (group, aggs) = (*group, *aggs);
    let start = Instant::now();
    // Split the operators above the aggregate: per-row ones run on each unit's
    // result; a Sort with a fetch becomes a top-N across units; the rest run on
    // the collected rows.
    let per_unit_len = ch
        .above
        .iter()
        .rev()
        .take_while(|p| matches!(p, LogicalPlan::Filter { .. } | LogicalPlan::Project { .. }))
        .count();
    let split = ch.above.len() - per_unit_len;
    let per_unit: Vec<&LogicalPlan> = ch.above[split..].iter().rev().copied().collect();
    let mut rest: Vec<&LogicalPlan> = ch.above[..split].iter().rev().copied().collect();
    let top_n = match rest.first() {
        Some(LogicalPlan::Sort {
            input,
            keys,
            fetch: Some(n),
        }) => {
            let t = TopN::new(keys.clone(), *n, input.schema());
            Some((rest.remove(0), t))
        }
        _ => None,
    };
    let pool = stats.memory(opts.memory_limit);
    struct Down {
        top: Option<TopN>,
        rows: Vec<(usize, Batch)>,
        mem: Reservation,
        bytes: usize,
        unit_rows: Vec<u64>,
    }
    let (top_node, top) = match top_n {
        Some((n, t)) => (Some(n), Some(t)),
        None => (None, None),
    };
    let down = Mutex::new(Down {
        top,
        rows: Vec::new(),
        mem: pool.reservation("aggregate results"),
        bytes: 0,
        unit_rows: vec![0; per_unit.len() + 1],
    });
    let aggs_only: Vec<AggExpr> = aggs.iter().map(|(a, _)| a.clone()).collect();
    // When the top-N's first sort key is an aggregate passed up unchanged, a
    // unit's groups that sort after the top-N's worst row there are dropped
    // before their keys are materialized.
    let bound_agg = top_node.and_then(|n| match n {
        LogicalPlan::Sort { keys, .. } => {
            let first = keys.first()?;
            let Expr::Column { index, .. } = &first.expr else {
                return None;
            };
            let mut i = *index;
            for op in per_unit.iter().rev() {
                if let LogicalPlan::Project { exprs, .. } = op {
                    match exprs.get(i) {
                        Some((Expr::Column { index, .. }, _)) => i = *index,
                        _ => return None,
                    }
                }
            }
            let agg = i.checked_sub(group.len()).filter(|a| *a < aggs.len())?;
            Some((agg, first.descending))
        }
        _ => None,
    });
    // Only projections between the aggregate and the top-N: a unit's own n-th
    // best value bounds what can enter too.
    let unit_limit = match top_node {
        Some(LogicalPlan::Sort { fetch, .. })
            if per_unit
                .iter()
                .all(|op| matches!(op, LogicalPlan::Project { .. })) =>
        {
            *fetch
        }
        _ => None,
    };
    let bound = || -> Option<AggBound> {
        let (agg, descending) = bound_agg?;
        let d = down.lock().unwrap_or_else(|p| p.into_inner());
        let value = d.top.as_ref().and_then(TopN::first_key_bound);
        (value.is_some() || unit_limit.is_some()).then_some(AggBound {
            agg,
            value,
            descending,
            unit_limit,
        })
    };
    let on_unit = |u: usize, b: Batch| -> Result<()> {
        let mut counts = Vec::with_capacity(per_unit.len() + 1);
        counts.push(b.num_rows() as u64);
        let mut batches = vec![b];
        for op in &per_unit {
            batches = apply(op, batches, opts, stats)?;
            counts.push(batches.iter().map(|b| b.num_rows() as u64).sum());
        }
        let mut d = down.lock().unwrap_or_else(|p| p.into_inner());
        for (t, c) in d.unit_rows.iter_mut().zip(counts) {
            *t += c;
        }
        if let Some(top) = &mut d.top {
            for b in batches {
                top.push(b)?;
            }
            let bytes = top.bytes();
            d.mem.resize(bytes)?;
        } else {
            d.bytes += batches.iter().map(Batch::heap_bytes).sum::<usize>();
            let bytes = d.bytes;
            d.mem.resize(bytes)?;
            d.rows.extend(batches.into_iter().map(|b| (u, b)));
        }
        Ok(())
    };
    let cache = CachedAggregate::new(snapshot, info, group, &aggs_only, keys, opts)?;
    aggregate_units(
        snapshot,
        info,
        group,
        &aggs_only,
        keys,
        units.clone(),
        opts,
        stats,
        UnitSink {
            on_unit: &on_unit,
            bound: &bound,
            cache: cache.as_ref(),
            unread_keys,
        },
    )?;
    let d = down.into_inner().unwrap_or_else(|p| p.into_inner());
    let elapsed = start.elapsed();
    stats.record(ch.aggregate, d.unit_rows[0], elapsed);
    for (op, rows) in per_unit.iter().zip(&d.unit_rows[1..]) {
        stats.record(op, *rows, elapsed);
    }
    let mut batches = match d.top {
        Some(t) => {
            let out = t.finish()?;
            if let Some(n) = top_node {
                stats.record(n, out.iter().map(|b| b.num_rows() as u64).sum(), elapsed);
            }
            out
        }
        None => {
            let mut rows = d.rows;
            rows.sort_by_key(|(u, _)| *u);
            rows.into_iter().map(|(_, b)| b).collect()
        }
    };
    for op in rest {
        let t = Instant::now();
        batches = apply(op, batches, opts, stats)?;
        let n = batches.iter().map(|b| b.num_rows() as u64).sum();
        stats.record(op, n, elapsed + t.elapsed());
    }
    Ok(batches)
}

/// Runs one operator above an aggregate on its materialized input.
fn apply(
    op: &LogicalPlan,
    batches: Vec<Batch>,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    use super::vector::Vector;
    match op {
        // Conjunct by conjunct, as the Filter operator does everywhere else.
        LogicalPlan::Filter { predicate, .. } => super::materialized::filter(batches, predicate),
        LogicalPlan::Project { exprs, .. } => {
            let mut out = Vec::with_capacity(batches.len());
            for b in batches {
                // Plain column references move (or copy) columns without evaluation.
                let direct: Option<Vec<usize>> = exprs
                    .iter()
                    .map(|(e, _)| match e {
                        Expr::Column { index, .. } if *index < b.columns.len() => Some(*index),
                        _ => None,
                    })
                    .collect();
                if let Some(idx) = direct {
                    let mut cols: Vec<Option<crate::column::Column>> =
                        b.columns.into_iter().map(Some).collect();
                    let mut uses = vec![0usize; cols.len()];
                    for &i in &idx {
                        uses[i] += 1;
                    }
                    let mut proj = Vec::with_capacity(idx.len());
                    for &i in &idx {
                        uses[i] -= 1;
                        let c = if uses[i] == 0 {
                            cols[i].take()
                        } else {
                            cols[i].clone()
                        };
                        proj.push(c.ok_or_else(|| Error::Internal("projection column".into()))?);
                    }
                    out.push(Batch { columns: proj });
                    continue;
                }
                let cols: Vec<Vector> = b.columns.iter().map(Vector::from_column).collect();
                out.push(project(exprs, &cols, b.num_rows(), None)?);
            }
            Ok(out)
        }
        LogicalPlan::Sort { input, keys, fetch } => super::sort::sort(
            batches,
            keys,
            *fetch,
            &input.schema(),
            stats.memory(opts.memory_limit),
            opts.threads,
        ),
        LogicalPlan::Limit { skip, fetch, .. } => Ok(limit::limit(batches, *skip, *fetch)),
        LogicalPlan::Distinct { input } => distinct::distinct(
            batches,
            &input.schema(),
            stats.memory(opts.memory_limit).reservation("distinct"),
        ),
        _ => Err(Error::Internal(
            "streaming over an unexpected operator".into(),
        )),
    }
}
