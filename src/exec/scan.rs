//! One segment of the scan pipeline: index candidates first (an empty bitmap
//! skips the segment), then per block the zone-map test, decoding of the columns
//! the filter reads, the filter conjunct by conjunct on the surviving selection,
//! decoding of the other columns used only when rows pass, and the sink (gathered rows or a per-thread aggregate). Blocks and segments whose
//! group keys are constant are counted or answered from their metadata.

use std::borrow::Cow;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;

use super::agg::AggState;
use super::hash_aggregate::update_aggregate;
use super::memory::Reservation;
use super::physical::ScanInfo;
use super::vector::{self, Vector};
use super::{stream, ExecOptions, ExecStats};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::index::bitmap;
use crate::index::zone::{block_may_match, zone_tests};
use crate::plan::{AggExpr, AggFunc, Expr};
use crate::schema::DataType;
use crate::storage::segment::{ColumnBlock, ReadBuf, Segment, Stats};

/// What the pipeline at the bottom of a plan does with surviving rows.
pub(super) enum Sink<'a> {
    Project(&'a [(Expr, String)]),
    Aggregate(&'a [(Expr, String)], &'a [(AggExpr, String)]),
}

impl Sink<'_> {
    /// Calls `f` on every expression the sink evaluates: projections, or group
    /// keys and aggregate arguments and filters.
    pub(super) fn for_each_expr(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Sink::Project(exprs) => exprs.iter().for_each(|(e, _)| f(e)),
            Sink::Aggregate(group, aggs) => {
                group.iter().for_each(|(e, _)| f(e));
                for (a, _) in aggs.iter() {
                    [&a.arg, &a.arg2, &a.filter]
                        .into_iter()
                        .flatten()
                        .for_each(&mut *f);
                }
            }
        }
    }
}

/// What one worker thread accumulates.
pub(super) enum WorkerOut {
    /// Projected rows per segment, the bytes of the finished ones, and their share
    /// of the memory pool.
    Rows(Vec<(usize, Batch)>, usize, Reservation),
    Agg(Box<AggState>),
}

/// What every segment of one scan pipeline shares.
pub(super) struct ScanCtx<'a> {
    pub(super) info: ScanInfo<'a>,
    sink: Sink<'a>,
    opts: &'a ExecOptions,
    stats: &'a ExecStats,
    /// Per scanned column: read only by index-answered conjuncts, so a segment
    /// whose indexes answered all of them need not decode it.
    index_only: Vec<bool>,
    /// Per scanned column: read only for its NULLs (`c IS [NOT] NULL`,
    /// `count(c)`), so only its validity is decoded.
    nulls_only: Vec<bool>,
    /// Set when some group keys are derived from the time column alone: in a
    /// block whose time zone map lies inside one bucket of each, they are
    /// evaluated once instead of per row (and when they are all the keys, the
    /// block has one group).
    block_keys: Option<stream::BlockKeys>,
    /// The time column is read by nothing but time keys: a block whose time keys
    /// are constant does not decode it.
    time_for_keys_only: bool,
    /// Every aggregate is `count(*)`: such a block with nothing to filter is
    /// counted whole from its metadata, without decoding.
    count_only: bool,
    /// Every aggregate is `count(*)` (`None`) or `count(DISTINCT s)` of scanned
    /// string column `Some(k)`: without a filter, a segment inside one bucket of
    /// every key (any segment, without keys) is answered from its row count and
    /// dictionaries.
    segment_aggs: Option<Vec<Option<usize>>>,
}

impl<'a> ScanCtx<'a> {
    pub(super) fn new(
        info: ScanInfo<'a>,
        sink: Sink<'a>,
        opts: &'a ExecOptions,
        stats: &'a ExecStats,
    ) -> ScanCtx<'a> {
        let n = info.columns.len();
        let mut used = vec![false; n];
        let mut mark = |e: &Expr| {
            e.for_each_column(&mut |i| {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            })
        };
        info.residual.iter().for_each(|e| mark(e));
        sink.for_each_expr(&mut mark);
        let index_only = if info.index.is_empty() {
            vec![false; n]
        } else {
            used.iter().map(|u| !u).collect()
        };
        let nulls_only = nulls_only(&info, &sink, n);
        ScanCtx {
            info,
            sink,
            opts,
            stats,
            index_only,
            nulls_only,
            block_keys: None,
            time_for_keys_only: false,
            count_only: false,
            segment_aggs: None,
        }
    }

    /// Sets up the shortcuts of an aggregate over this scan: group keys
    /// evaluated once per block, blocks counted and segments answered from
    /// their metadata (see the fields).
    pub(super) fn with_aggregate_shortcuts(
        mut self,
        group: &[(Expr, String)],
        aggs: &[AggExpr],
        keys: &stream::KeyPlan,
    ) -> ScanCtx<'a> {
        self.block_keys = keys.block_constant(self.info.columns);
        if let Some(bk) = &self.block_keys {
            let mut read = false;
            let mut mark = |e: &Expr| e.for_each_column(&mut |i| read |= i == bk.time_k);
            self.info.filters.iter().for_each(|e| mark(e));
            for (k, (e, _)) in group.iter().enumerate() {
                if !bk.is_time_key(k) {
                    mark(e);
                }
            }
            for a in aggs {
                [&a.arg, &a.arg2, &a.filter]
                    .into_iter()
                    .flatten()
                    .for_each(&mut mark);
            }
            self.time_for_keys_only = !read;
        }
        self.count_only = aggs
            .iter()
            .all(|a| a.func == AggFunc::CountStar && a.filter.is_none());
        // Without keys, or with only time keys, a segment can be one group.
        if group.is_empty() || self.block_keys.as_ref().is_some_and(stream::BlockKeys::all) {
            self.segment_aggs = aggs
                .iter()
                .map(|a| match (&a.func, &a.arg, &a.filter) {
                    (AggFunc::CountStar, _, None) => Some(None),
                    (
                        AggFunc::Count,
                        Some(Expr::Column {
                            index, data_type, ..
                        }),
                        None,
                    ) if a.distinct && *data_type == DataType::Varchar => Some(Some(*index)),
                    _ => None,
                })
                .collect();
        }
        self
    }

    pub(super) fn check_cancel(&self) -> Result<()> {
        self.opts.check_cancel()
    }
}

/// Per-worker decoding buffers.
pub(super) struct Buffers {
    blocks: Vec<ColumnBlock>,
    scratch: ReadBuf,
    sel: Vec<u32>,
}

impl Buffers {
    pub(super) fn new(columns: usize) -> Buffers {
        Buffers {
            blocks: (0..columns).map(|_| ColumnBlock::default()).collect(),
            scratch: ReadBuf::default(),
            sel: Vec::new(),
        }
    }
}

/// The table columns a scan pipeline over `chain` (`Filter* -> Scan`) reads
/// for their NULLs only, projecting `exprs`, or grouping by them when `aggs`
/// (for EXPLAIN: their blocks' values are never decoded).
pub(crate) fn nulls_only_columns(
    chain: &crate::plan::LogicalPlan,
    exprs: &[(Expr, String)],
    aggs: Option<&[(AggExpr, String)]>,
    use_indexes: bool,
) -> Result<Vec<usize>> {
    let info = super::physical::scan_info(chain, use_indexes)?;
    let sink = match aggs {
        None => Sink::Project(exprs),
        Some(a) => Sink::Aggregate(exprs, a),
    };
    let only = nulls_only(&info, &sink, info.columns.len());
    Ok((info.columns.iter().zip(only))
        .filter_map(|(&c, o)| o.then_some(c))
        .collect())
}

/// Per scanned column: whether every expression of the scan that reads it
/// reads only whether it is NULL (`c IS NULL`, `c IS NOT NULL`, `count(c)`).
fn nulls_only(info: &ScanInfo<'_>, sink: &Sink<'_>, n: usize) -> Vec<bool> {
    let (mut reads, mut null_reads) = (vec![0usize; n], vec![0usize; n]);
    let column = |e: &Expr| match e {
        Expr::Column { index, .. } => Some(*index).filter(|&i| i < n),
        _ => None,
    };
    let mut tally = |e: &Expr| {
        e.visit(&mut |x| {
            if let Some(i) = column(x) {
                reads[i] += 1;
            }
            if let Expr::IsNull { expr, .. } = x {
                if let Some(i) = column(expr) {
                    null_reads[i] += 1;
                }
            }
        })
    };
    info.filters.iter().for_each(|e| tally(e));
    info.residual.iter().for_each(|e| tally(e));
    sink.for_each_expr(&mut tally);
    // `count(c)`: the argument is read for its NULLs alone.
    if let Sink::Aggregate(_, aggs) = sink {
        for (a, _) in aggs.iter() {
            if let (AggFunc::Count, false, Some(Expr::Column { index, .. })) =
                (a.func, a.distinct, &a.arg)
            {
                if let Some(r) = null_reads.get_mut(*index) {
                    *r += 1;
                }
            }
        }
    }
    (0..n)
        .map(|i| reads[i] > 0 && reads[i] == null_reads[i])
        .collect()
}

/// Processes one segment; returns the number of rows it produced (projection).
/// `tick` is called as the segment starts and before each block is read (see
/// [`run_workers`]), so that a scan of segments answered from their metadata
/// starts the other workers too.
pub(super) fn run_segment(
    seg: &Arc<Segment>,
    seg_idx: usize,
    ctx: &ScanCtx<'_>,
    state: &mut WorkerOut,
    bufs: &mut Buffers,
    tick: &dyn Fn(),
) -> Result<usize> {
    let (info, stats) = (&ctx.info, ctx.stats);
    tick();
    let meta = seg.meta();
    let nblocks = meta.columns.first().map_or(0, |c| c.blocks.len());
    ExecStats::add(&stats.segments, 1);
    ExecStats::add(&stats.blocks, nblocks as u64);
    let progress = ctx.opts.progress.as_deref();
    let done = || {
        if let Some(p) = progress {
            p.segments_done.fetch_add(1, AtomicOrdering::Relaxed);
        }
    };
    if let (Some(per_agg), Sink::Aggregate(group, _), WorkerOut::Agg(st)) =
        (&ctx.segment_aggs, &ctx.sink, &mut *state)
    {
        if info.filters.is_empty() && segment_from_metadata(seg, per_agg, group, ctx, st)? {
            ExecStats::add(&stats.blocks_counted, nblocks as u64);
            done();
            return Ok(0);
        }
    }
    // Index candidates first: an empty bitmap skips the segment without reading it.
    let (candidates, all_answered) = bitmap::candidates(seg, &info.index)?;
    // Every index predicate answered by this segment's bitmaps: the candidates are
    // exactly the rows passing them, so only the residual conjuncts are evaluated
    // and columns that only those predicates read are not decoded.
    let exact = all_answered && candidates.is_some();
    let filters: Vec<&Expr> = if exact {
        info.residual.clone()
    } else {
        info.filters.clone()
    };
    // The scan columns the filter reads.
    let mut filter_cols = vec![false; info.columns.len()];
    for f in &filters {
        f.visit(&mut |e| {
            if let Expr::Column { index, .. } = e {
                if let Some(x) = filter_cols.get_mut(*index) {
                    *x = true;
                }
            }
        });
    }
    if candidates.as_ref().is_some_and(|c| c.is_empty()) {
        ExecStats::add(&stats.segments_index_skipped, 1);
        ExecStats::add(&stats.blocks_index_skipped, nblocks as u64);
        done();
        return Ok(0);
    }
    let mut cand_iter = candidates.as_ref().map(|c| c.iter().peekable());
    let mut block_sel: Vec<u32> = Vec::new();
    let tests = zone_tests(seg, info.zone)?;
    let mut produced = 0usize;
    let mut out_cols: Option<Vec<Column>> = None;
    for b in 0..nblocks {
        let bm = &meta.columns[0].blocks[b];
        let len = bm.rows as usize;
        if let Some(it) = cand_iter.as_mut() {
            // The candidate rows of this block, relative to its first row.
            block_sel.clear();
            let end = bm.first_row + len as u64;
            while let Some(&r) = it.peek() {
                if r as u64 >= end {
                    break;
                }
                if r as u64 >= bm.first_row {
                    block_sel.push((r as u64 - bm.first_row) as u32);
                }
                it.next();
            }
            if block_sel.is_empty() {
                ExecStats::add(&stats.blocks_index_skipped, 1);
                continue;
            }
        }
        if !block_may_match(seg, b, &tests) {
            ExecStats::add(&stats.blocks_zone_skipped, 1);
            continue;
        }
        ctx.check_cancel()?;
        tick();
        let key_ts = ctx
            .block_keys
            .as_ref()
            .and_then(|bk| block_key_time(seg, b, bk, len));
        let one_group = ctx.block_keys.as_ref().is_some_and(stream::BlockKeys::all);
        if let (Some(ts), true, true, Sink::Aggregate(group, _), WorkerOut::Agg(st)) =
            (key_ts, one_group, ctx.count_only, &ctx.sink, &mut *state)
        {
            if filters.is_empty() && (cand_iter.is_none() || block_sel.len() == len) {
                let keys = all_block_keys_at(group, ctx, ts)?;
                let refs: Vec<&Vector> = keys.iter().collect();
                st.add_rows(&refs, len as u64)?;
                ExecStats::add(&stats.blocks_counted, 1);
                continue;
            }
        }
        ExecStats::add(&stats.blocks_read, 1);
        ExecStats::add(&stats.rows_scanned, len as u64);
        // Columns this block need not decode: read only by index-answered
        // conjuncts, or the time column when only the (here constant) time keys
        // read it.
        let skipped = |k: usize| {
            (exact && ctx.index_only[k])
                || (key_ts.is_some()
                    && ctx.time_for_keys_only
                    && ctx.block_keys.as_ref().is_some_and(|bk| bk.time_k == k))
        };
        // Late materialization: with a filter, the columns it reads are decoded
        // first; the others only when rows of the block pass, and then only
        // those rows go on.
        let late = !filters.is_empty() && (0..info.columns.len()).any(|k| !filter_cols[k]);
        let first_pass = |k: usize| !skipped(k) && (!late || filter_cols[k]);
        let mut block_bytes = 0u64;
        let mut decode = |k: usize, bufs: &mut Buffers| -> Result<()> {
            let c = info.columns[k];
            if let Some(m) = meta.columns.get(c).and_then(|m| m.blocks.get(b)) {
                block_bytes += m.values.len as u64 + m.validity.map_or(0, |v| v.len as u64);
            }
            let blk = &mut bufs.blocks[k];
            if ctx.nulls_only[k] {
                seg.read_validity(c, b, blk, &mut bufs.scratch)?;
            } else if bitmap::is_point_read(candidates.as_ref(), block_sel.len(), len) {
                seg.read_block_sparse(c, b, blk, &mut bufs.scratch, &block_sel)?;
            } else {
                seg.read_block(c, b, blk, &mut bufs.scratch)?;
            }
            if blk.len() != len {
                return Err(Error::corrupt(
                    seg.display_path(),
                    format!(
                        "block {b} of column {c} has {} rows, expected {len}",
                        blk.len()
                    ),
                ));
            }
            Ok(())
        };
        for k in (0..info.columns.len()).filter(|&k| first_pass(k)) {
            decode(k, bufs)?;
        }
        let start_sel = cand_iter
            .is_some()
            .then_some(block_sel.as_slice())
            .filter(|s| s.len() < len);
        // The rows passing the filter, found from the filter columns alone.
        let mut passing: Option<Vec<u32>> = None;
        if late {
            let vecs: Vec<Vector> = (bufs.blocks.iter_mut().enumerate())
                .map(|(k, blk)| {
                    if first_pass(k) {
                        Vector::take_block(blk)
                    } else {
                        Vector::constant(Value::Null)
                    }
                })
                .collect();
            let rows = select_rows(&vecs, len, start_sel, &filters, &mut bufs.sel, Some(stats));
            for (k, (v, blk)) in vecs.into_iter().zip(bufs.blocks.iter_mut()).enumerate() {
                if first_pass(k) {
                    v.restore(blk);
                }
            }
            match rows? {
                None => {
                    ExecStats::add(&stats.bytes_read, block_bytes);
                    if let Some(p) = progress {
                        p.rows_scanned
                            .fetch_add(len as u64, AtomicOrdering::Relaxed);
                        p.bytes_read.fetch_add(block_bytes, AtomicOrdering::Relaxed);
                    }
                    continue;
                }
                Some(rows) => passing = Some(rows),
            }
            for k in (0..info.columns.len()).filter(|&k| !skipped(k) && !first_pass(k)) {
                decode(k, bufs)?;
            }
        }
        ExecStats::add(&stats.bytes_read, block_bytes);
        if let Some(p) = progress {
            p.rows_scanned
                .fetch_add(len as u64, AtomicOrdering::Relaxed);
            p.bytes_read.fetch_add(block_bytes, AtomicOrdering::Relaxed);
        }
        let vecs: Vec<Vector> = bufs
            .blocks
            .iter_mut()
            .enumerate()
            .map(|(k, blk)| {
                if skipped(k) {
                    Vector::constant(Value::Null)
                } else {
                    Vector::take_block(blk)
                }
            })
            .collect();
        let filter = match &passing {
            // Already filtered: only the passing rows go on.
            Some(rows) => BlockFilter {
                start_sel: Some(rows.as_slice()).filter(|r| r.len() < len),
                conjuncts: &[],
                key_ts,
                counted: true,
            },
            None => BlockFilter {
                start_sel,
                conjuncts: &filters,
                key_ts,
                counted: false,
            },
        };
        let first_out = out_cols.is_none();
        let r = process_block(&vecs, len, filter, ctx, state, &mut bufs.sel, &mut out_cols);
        for (k, (v, blk)) in vecs.into_iter().zip(bufs.blocks.iter_mut()).enumerate() {
            if !skipped(k) {
                v.restore(blk);
            }
        }
        let r = r?;
        produced += r;
        if let (true, Some(cols)) = (first_out, out_cols.as_mut()) {
            // The segment's output at the first block's rate, reserved once
            // instead of grown by doubling (a copy and fresh pages each time).
            let rest = meta.rows.saturating_sub(bm.first_row + len as u64) as usize;
            let expected = (rest as u64 * r as u64 / len.max(1) as u64) as usize;
            cols.iter_mut().for_each(|c| c.reserve_rows(expected));
        }
    }
    if let WorkerOut::Rows(v, bytes, _) = state {
        if let Some(mut cols) = out_cols {
            // The segment's rows are kept: without the room their growth left.
            cols.iter_mut().for_each(Column::shrink_to_fit);
            *bytes += cols.iter().map(Column::heap_bytes).sum::<usize>();
            v.push((seg_idx, Batch { columns: cols }));
        }
    }
    done();
    Ok(produced)
}

/// When every row of block `b` has the same group keys (its time zone map lies
/// inside one bucket of every key, see [`ScanCtx::block_keys`]), the block's first
/// time, at which the keys are evaluated once.
fn block_key_time(seg: &Segment, b: usize, keys: &stream::BlockKeys, len: usize) -> Option<i64> {
    let bm = seg.meta().columns.get(keys.time_column)?.blocks.get(b)?;
    match bm.stats {
        Stats::Int { min, max }
            if bm.null_count == 0 && bm.rows as usize == len && keys.constant(min, max) =>
        {
            Some(min)
        }
        _ => None,
    }
}

/// Aggregates a segment whose time range lies inside one bucket of every group
/// key (or any segment, without keys) from its metadata (see
/// [`ScanCtx::segment_aggs`]): its row count and, for
/// `count(DISTINCT s)`, its dictionary of `s`, which holds exactly the values
/// present. False when it has to be read instead (times NULL or spanning
/// buckets, a string column not dictionary-encoded).
fn segment_from_metadata(
    seg: &Segment,
    per_agg: &[Option<usize>],
    group: &[(Expr, String)],
    ctx: &ScanCtx<'_>,
    st: &mut AggState,
) -> Result<bool> {
    let meta = seg.meta();
    let null_rows = |c: usize| -> Option<u64> {
        let m = meta.columns.get(c)?;
        Some(m.blocks.iter().map(|b| u64::from(b.null_count)).sum())
    };
    if meta.rows == 0 {
        return Ok(false);
    }
    // Time keys: the segment's times must lie inside one bucket of each.
    match &ctx.block_keys {
        _ if group.is_empty() => {}
        Some(bk)
            if meta.min_ts <= meta.max_ts
                && null_rows(bk.time_column) == Some(0)
                && bk.constant(meta.min_ts, meta.max_ts) => {}
        _ => return Ok(false),
    }
    let mut dicts = Vec::with_capacity(per_agg.len());
    for k in per_agg {
        let Some(k) = *k else {
            dicts.push(None);
            continue;
        };
        let Some(&c) = ctx.info.columns.get(k) else {
            return Ok(false);
        };
        if null_rows(c) == Some(meta.rows) {
            dicts.push(None);
            continue;
        }
        match seg.dictionary(c)? {
            Some(d) => dicts.push(Some(d)),
            None => return Ok(false),
        }
    }
    let keys = match group {
        [] => Vec::new(),
        _ => all_block_keys_at(group, ctx, meta.min_ts)?,
    };
    let refs: Vec<&Vector> = keys.iter().collect();
    st.add_segment(&refs, meta.rows, &dicts)?;
    Ok(true)
}

/// The time keys of a row at time `ts`, as one-row vectors (`None` for the
/// other keys).
fn block_keys_at(
    group: &[(Expr, String)],
    ctx: &ScanCtx<'_>,
    ts: i64,
) -> Result<Vec<Option<Vector>>> {
    let Some(bk) = &ctx.block_keys else {
        return Err(Error::Internal("block keys without a time key".into()));
    };
    let mut vecs = vec![Vector::constant(Value::Null); ctx.info.columns.len()];
    vecs[bk.time_k] = Vector::new(vector::VData::Int(vec![ts]), None);
    group
        .iter()
        .enumerate()
        .map(|(k, (e, _))| {
            bk.is_time_key(k)
                .then(|| vector::eval(e, &vecs, 1).map(|v| v.into_owned()))
                .transpose()
        })
        .collect()
}

/// The group keys of a row at time `ts` when they are all time keys.
fn all_block_keys_at(group: &[(Expr, String)], ctx: &ScanCtx<'_>, ts: i64) -> Result<Vec<Vector>> {
    block_keys_at(group, ctx, ts)?
        .into_iter()
        .collect::<Option<Vec<Vector>>>()
        .ok_or_else(|| Error::Internal("a group key is not a time key".into()))
}

/// What filtering one block starts from and evaluates.
struct BlockFilter<'a> {
    /// The block's index candidate rows (`None`: all rows).
    start_sel: Option<&'a [u32]>,
    /// The conjuncts to evaluate.
    conjuncts: &'a [&'a Expr],
    /// The time at which to evaluate the group keys once for the whole block
    /// (see [`block_key_time`]).
    key_ts: Option<i64>,
    /// The rows were filtered and counted already (late materialization).
    counted: bool,
}

/// The rows of a block (`len` rows of `vecs`, or those of `start_sel`) passing
/// every conjunct of `filters`, and their number; `None` when none does.
/// Conjunct by conjunct, each evaluated only on the rows that passed the ones
/// before (so `x <> 0 AND 10 % x = 1` never divides by zero), compacting the
/// vectors whenever rows drop out.
pub(super) fn filter_block<'v>(
    vecs: &'v [Vector],
    len: usize,
    start_sel: Option<&[u32]>,
    filters: &[&Expr],
    sel: &mut Vec<u32>,
    stats: Option<&ExecStats>,
) -> Result<Option<(Cow<'v, [Vector]>, usize)>> {
    let mut compacted: Option<Vec<Vector>> = None;
    let mut n = len;
    if let Some(s) = start_sel {
        compacted = Some(vecs.iter().map(|x| x.gather(s)).collect());
        n = s.len();
    }
    if let Some(stats) = stats {
        ExecStats::add(&stats.rows_filtered_in, n as u64);
    }
    for f in filters {
        for c in Expr::conjuncts(f) {
            let cur: &[Vector] = compacted.as_deref().unwrap_or(vecs);
            vector::select(c, cur, n, sel)?;
            if sel.is_empty() {
                return Ok(None);
            }
            if sel.len() < n {
                let next: Vec<Vector> = cur.iter().map(|x| x.gather(sel)).collect();
                n = sel.len();
                compacted = Some(next);
            }
        }
    }
    if let Some(stats) = stats {
        ExecStats::add(&stats.rows_passed, n as u64);
    }
    Ok(Some((compacted.map_or(Cow::Borrowed(vecs), Cow::Owned), n)))
}

/// The positions (in `0..len`) of the rows of `vecs` passing every conjunct of
/// `filters`, starting from `start_sel`; `None` when none pass. Between
/// conjuncts the columns are gathered down to the rows still passing, as
/// [`filter_block`] does; after the last one nothing is gathered, since only the
/// positions are wanted (late materialization reads the other columns at them).
fn select_rows(
    vecs: &[Vector],
    len: usize,
    start_sel: Option<&[u32]>,
    filters: &[&Expr],
    sel: &mut Vec<u32>,
    stats: Option<&ExecStats>,
) -> Result<Option<Vec<u32>>> {
    let conjuncts: Vec<&Expr> = filters.iter().flat_map(|f| Expr::conjuncts(f)).collect();
    let mut rows: Option<Vec<u32>> = start_sel.map(<[u32]>::to_vec);
    let mut compacted: Option<Vec<Vector>> =
        start_sel.map(|s| vecs.iter().map(|x| x.gather(s)).collect());
    let mut n = start_sel.map_or(len, <[u32]>::len);
    if let Some(stats) = stats {
        ExecStats::add(&stats.rows_filtered_in, n as u64);
    }
    for (i, c) in conjuncts.iter().enumerate() {
        let cur: &[Vector] = compacted.as_deref().unwrap_or(vecs);
        vector::select(c, cur, n, sel)?;
        if sel.is_empty() {
            return Ok(None);
        }
        if sel.len() < n {
            rows = Some(match rows {
                Some(r) => sel.iter().map(|&j| r[j as usize]).collect(),
                None => sel.clone(),
            });
            n = sel.len();
            if i + 1 < conjuncts.len() {
                compacted = Some(cur.iter().map(|x| x.gather(sel)).collect());
            }
        }
    }
    if let Some(stats) = stats {
        ExecStats::add(&stats.rows_passed, n as u64);
    }
    Ok(Some(rows.unwrap_or_else(|| (0..len as u32).collect())))
}

/// Filters one block and feeds the surviving rows to the sink.
fn process_block(
    vecs: &[Vector],
    len: usize,
    filter: BlockFilter<'_>,
    ctx: &ScanCtx<'_>,
    state: &mut WorkerOut,
    sel: &mut Vec<u32>,
    out_cols: &mut Option<Vec<Column>>,
) -> Result<usize> {
    let BlockFilter {
        start_sel,
        conjuncts: filters,
        key_ts,
        counted,
    } = filter;
    let stats = (!counted).then_some(ctx.stats);
    let Some((vecs, len)) = filter_block(vecs, len, start_sel, filters, sel, stats)? else {
        return Ok(0);
    };
    let vecs: &[Vector] = &vecs;
    match (&ctx.sink, state) {
        (Sink::Project(exprs), WorkerOut::Rows(_, done_bytes, mem)) => {
            let cols = out_cols.get_or_insert_with(|| {
                exprs
                    .iter()
                    .map(|(e, _)| Column::new(ColumnData::empty(e.data_type().physical())))
                    .collect()
            });
            for ((e, _), c) in exprs.iter().zip(cols.iter_mut()) {
                let v = vector::eval(e, vecs, len)?;
                v.append_to(c, None, len);
            }
            let bytes: usize = cols.iter().map(Column::heap_bytes).sum();
            mem.resize(*done_bytes + bytes)?;
            Ok(len)
        }
        (Sink::Aggregate(group, aggs), WorkerOut::Agg(st)) => {
            let fixed = key_ts.map(|ts| block_keys_at(group, ctx, ts)).transpose()?;
            update_aggregate(st, group, fixed.as_deref(), aggs, vecs, len)?;
            Ok(0)
        }
        _ => Err(Error::Internal("sink and state disagree".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BinaryOp;
    use crate::schema::DataType;

    /// The positions `select_rows` keeps are the rows every conjunct keeps, from
    /// the whole block or a starting selection, over one conjunct, an AND of two,
    /// and two filters; `None` when no row passes.
    #[test]
    fn selected_positions_are_the_rows_every_conjunct_keeps() {
        let len = 1000usize;
        let x: Vec<i64> = (0..len as i64).map(|i| (i * 37) % 101).collect();
        let y: Vec<i64> = (0..len as i64).map(|i| (i * 13) % 17).collect();
        let vecs = vec![
            Vector::new(vector::VData::Int(x.clone()), None),
            Vector::new(vector::VData::Int(y.clone()), None),
        ];
        let cmp = |op: BinaryOp, index: usize, v: i64| Expr::Binary {
            op,
            left: Box::new(Expr::Column {
                index,
                name: format!("c{index}"),
                data_type: DataType::BigInt,
            }),
            right: Box::new(Expr::Literal {
                value: Value::Int(v),
                data_type: DataType::BigInt,
            }),
            data_type: DataType::Boolean,
        };
        let x_gt = cmp(BinaryOp::Gt, 0, 30);
        let y_lt = cmp(BinaryOp::Lt, 1, 9);
        let both = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(x_gt.clone()),
            right: Box::new(y_lt.clone()),
            data_type: DataType::Boolean,
        };
        let start: Vec<u32> = (0..len as u32).filter(|i| i % 3 != 0).collect();
        type Keep = fn(i64, i64) -> bool;
        let cases: [(Vec<&Expr>, bool, Keep); 5] = [
            (vec![&x_gt], false, |x, _| x > 30),
            (vec![&both], false, |x, y| x > 30 && y < 9),
            (vec![&x_gt, &y_lt], true, |x, y| x > 30 && y < 9),
            (vec![&both], true, |x, y| x > 30 && y < 9),
            (vec![&y_lt], true, |_, y| y < 9),
        ];
        for (filters, from_start, keep) in cases {
            let start_sel = from_start.then_some(start.as_slice());
            let mut sel = Vec::new();
            let got = select_rows(&vecs, len, start_sel, &filters, &mut sel, None).unwrap();
            let want: Vec<u32> = (start_sel.map_or((0..len as u32).collect(), <[u32]>::to_vec))
                .into_iter()
                .filter(|&i| keep(x[i as usize], y[i as usize]))
                .collect();
            assert_eq!(got, Some(want), "{filters:?} from_start={from_start}");
        }
        let none = cmp(BinaryOp::Gt, 0, 1000);
        let mut sel = Vec::new();
        assert_eq!(
            select_rows(&vecs, len, None, &[&none], &mut sel, None).unwrap(),
            None
        );
    }
}
