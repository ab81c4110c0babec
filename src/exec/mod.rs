//! The vectorized executor.
//!
//! The bottom of every plan is a *pipeline* run over segments as morsels on N
//! threads: for each block, decode the referenced columns (skipping blocks whose zone
//! maps rule the WHERE clause out), evaluate the filter into a selection vector, then
//! either gather the projected rows or update a per-thread hash aggregate. Operators
//! above the pipeline (HAVING, the projection over an aggregate, DISTINCT, ORDER BY,
//! LIMIT) work on the materialized result, which is small for analytical queries.

pub mod agg;
pub mod functions;
pub mod group;
pub mod join;
pub mod memory;
pub mod metrics;
mod options;
pub mod physical;
pub mod result;
pub mod sketch;
mod sort;
pub mod stream;
mod subquery;
mod topn_agg;
pub mod vector;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hashbrown::HashSet;

use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::index::bitmap;
use crate::index::zone::{block_may_match, zone_tests};
use crate::plan::{AggExpr, AggFunc, Expr, LogicalPlan};
use crate::schema::DataType;
use crate::storage::segment::{ColumnBlock, Segment, Stats};
use crate::storage::Snapshot;
use agg::AggState;
use memory::Reservation;
pub use metrics::{ExecStats, OperatorStats};
pub use options::{default_memory_limit, ExecOptions, Progress};
use physical::{Operator, PhysicalPlan, ScanInfo};
pub use result::{ColumnIndex, FromValue, QueryResult, Row, Rows};
use sort::sort;
use vector::Vector;

pub use crate::value::{cast_value, format_value};

/// Runs a plan against a snapshot.
pub fn execute(snapshot: &Snapshot, plan: &LogicalPlan, opts: &ExecOptions) -> Result<QueryResult> {
    execute_with_stats(snapshot, plan, opts, &ExecStats::default())
}

/// Runs a plan, recording what it did in `stats` (EXPLAIN ANALYZE).
pub fn execute_with_stats(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<QueryResult> {
    let columns = plan.schema();
    // Uncorrelated subqueries run first; their results become literals.
    let plan = subquery::resolve(snapshot, plan, opts, stats)?;
    let batches = run(snapshot, &plan, opts, stats, None)?;
    Ok(QueryResult { columns, batches })
}

/// Runs a physical plan made by [`physical::plan`] (from a plan whose subqueries
/// were resolved), recording what it did in `stats`: what EXPLAIN ANALYZE shows is
/// what ran.
pub fn execute_physical(
    snapshot: &Snapshot,
    plan: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<QueryResult> {
    let columns = plan.node.schema();
    let batches = run_plan(snapshot, plan, opts, stats, None)?;
    Ok(QueryResult { columns, batches })
}

/// `plan` with its uncorrelated subqueries run and replaced by their results
/// (EXPLAIN ANALYZE shows this plan).
pub fn resolve_subqueries<'p>(
    snapshot: &Snapshot,
    plan: &'p LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<std::borrow::Cow<'p, LogicalPlan>> {
    subquery::resolve(snapshot, plan, opts, stats)
}

/// What the pipeline at the bottom of a plan does with surviving rows.
enum Sink<'a> {
    Project(&'a [(Expr, String)]),
    Aggregate(&'a [(Expr, String)], &'a [(AggExpr, String)]),
}

/// Plans `plan` physically and runs it; `row_budget` lets a LIMIT without ORDER
/// BY stop a scan early.
fn run(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
) -> Result<Vec<Batch>> {
    let p = physical::plan(snapshot, plan, opts)?;
    run_plan(snapshot, &p, opts, stats, row_budget)
}

/// Runs one physical operator (and its inputs), recording rows and time against
/// its logical node and its name as run.
fn run_plan(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
) -> Result<Vec<Batch>> {
    let start = Instant::now();
    if opts
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(AtomicOrdering::Relaxed))
    {
        return Err(Error::Cancelled);
    }
    stats.ran(p.name());
    let out = run_operator(snapshot, p, opts, stats, row_budget)?;
    let rows: usize = out.iter().map(Batch::num_rows).sum();
    stats.record(p.node, rows as u64, start.elapsed());
    Ok(out)
}

fn run_operator(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
) -> Result<Vec<Batch>> {
    let input = |i: usize, budget: Option<usize>| -> Result<Vec<Batch>> {
        let child = p
            .children
            .get(i)
            .ok_or_else(|| Error::Internal(format!("{} has no input {i}", p.name())))?;
        run_plan(snapshot, child, opts, stats, budget)
    };
    match (&p.op, p.node) {
        (Operator::ScanProject { info, exprs, .. }, _) => pipeline(
            snapshot,
            info,
            Sink::Project(exprs),
            opts,
            stats,
            row_budget,
            None,
        ),
        (
            Operator::ScanAggregate {
                info, group, aggs, ..
            },
            _,
        ) => pipeline(
            snapshot,
            info,
            Sink::Aggregate(group, aggs),
            opts,
            stats,
            None,
            None,
        ),
        (
            Operator::IndexOnlyAggregate {
                info,
                group_col,
                has_time,
                group,
                aggs,
                ..
            },
            _,
        ) => index_only_aggregate(
            snapshot, info, *group_col, *has_time, group, aggs, opts, stats,
        ),
        (Operator::StreamingAggregate(sp), _) => stream::run(snapshot, sp, opts, stats),
        (Operator::TwoPhaseTopN(two), node) => topn_agg::run(snapshot, node, two, opts, stats),
        (Operator::Filter, LogicalPlan::Filter { predicate, .. }) => {
            let batches = input(0, None)?;
            let parts = Expr::conjuncts(predicate);
            let used: Vec<Vec<bool>> = parts
                .iter()
                .map(|c| {
                    let mut u = Vec::new();
                    c.for_each_column(&mut |i| {
                        if u.len() <= i {
                            u.resize(i + 1, false);
                        }
                        u[i] = true;
                    });
                    u
                })
                .collect();
            let mut out = Vec::with_capacity(batches.len());
            let mut sel = Vec::new();
            for mut b in batches {
                // Conjunct by conjunct on the rows still in, as in the scan pipeline.
                for (c, u) in parts.iter().zip(&used) {
                    let n = b.num_rows();
                    if n == 0 {
                        break;
                    }
                    with_vectors(&mut b, u, |vecs, n| {
                        let v = vector::eval(c, vecs, n)?;
                        vector::selection(&v, n, &mut sel)
                    })?;
                    if sel.len() < n {
                        b = b.take(&sel);
                    }
                }
                out.push(b);
            }
            Ok(out)
        }
        (Operator::Project, LogicalPlan::Project { exprs, .. }) => {
            let batches = input(0, row_budget)?;
            let mut out = Vec::with_capacity(batches.len());
            for b in batches {
                let cols: Vec<Vector> = b.columns.iter().map(Vector::from_column).collect();
                out.push(project(exprs, &cols, b.num_rows(), None)?);
            }
            Ok(out)
        }
        (Operator::HashAggregate, LogicalPlan::Aggregate { group, aggs, .. }) => {
            let batches = input(0, None)?;
            let pool = stats.memory(opts.memory_limit);
            aggregate_batches(batches, group, aggs, pool.reservation("hash aggregate"))
        }
        (
            Operator::HashJoin,
            LogicalPlan::Join {
                left,
                right,
                kind,
                on,
                filter,
                build,
            },
        ) => {
            let (ls, rs) = (left.schema(), right.schema());
            let inputs = join::JoinInputs {
                left: input(0, None)?,
                left_schema: &ls,
                right: input(1, None)?,
                right_schema: &rs,
            };
            join::hash_join(inputs, *kind, on, filter.as_ref(), *build, opts)
        }
        (Operator::Union, LogicalPlan::Union { inputs }) => {
            let mut out = Vec::new();
            for i in 0..inputs.len() {
                out.extend(input(i, row_budget)?);
            }
            Ok(out)
        }
        (Operator::Values, LogicalPlan::Values { batches, .. }) => Ok(batches.clone()),
        (Operator::OneRow, _) => {
            let mut c = Column::new(ColumnData::Bool(vec![true]));
            c.validity = None;
            Ok(vec![Batch { columns: vec![c] }])
        }
        (
            Operator::Sort | Operator::TopN,
            LogicalPlan::Sort {
                input: child,
                keys,
                fetch,
            },
        ) => {
            let batches = input(0, None)?;
            sort(
                batches,
                keys,
                *fetch,
                &child.schema(),
                stats.memory(opts.memory_limit),
            )
        }
        (Operator::Limit, LogicalPlan::Limit { skip, fetch, .. }) => {
            let budget = fetch.map(|f| f.saturating_add(*skip));
            let batches = input(0, budget)?;
            Ok(limit(batches, *skip, *fetch))
        }
        (Operator::Distinct, _) => distinct(input(0, None)?),
        _ => Err(Error::Internal(format!(
            "physical operator {} does not match its logical node",
            p.name()
        ))),
    }
}

/// Moves a column's buffers into a vector (no copy).
fn into_vector(c: Column) -> Vector {
    let data = match c.data {
        ColumnData::Int64(v) => vector::VData::Int(v),
        ColumnData::Float64(v) => vector::VData::Float(v),
        ColumnData::Bool(v) => vector::VData::Bool(v),
        ColumnData::Ip(v) => vector::VData::Ip(v),
        ColumnData::Utf8(v) => vector::VData::Str(v),
    };
    Vector::new(data, c.validity)
}

/// Moves a vector made by [`into_vector`] back into a column.
fn into_column(v: Vector) -> Result<Column> {
    let data = match v.data {
        vector::VData::Int(v) => ColumnData::Int64(v),
        vector::VData::Float(v) => ColumnData::Float64(v),
        vector::VData::Bool(v) => ColumnData::Bool(v),
        vector::VData::Ip(v) => ColumnData::Ip(v),
        vector::VData::Str(v) => ColumnData::Utf8(v),
        _ => return Err(Error::Internal("into_column: not a plain vector".into())),
    };
    Ok(Column {
        data,
        validity: v.validity,
    })
}

/// Lends the columns of `b` that `used` marks to `f` as vectors (the others are
/// NULL placeholders), without copying them.
fn with_vectors<R>(
    b: &mut Batch,
    used: &[bool],
    f: impl FnOnce(&[Vector], usize) -> Result<R>,
) -> Result<R> {
    let n = b.num_rows();
    let vecs: Vec<Vector> = b
        .columns
        .iter_mut()
        .enumerate()
        .map(|(i, c)| {
            if used.get(i).copied().unwrap_or(false) {
                let taken = std::mem::replace(c, Column::new(ColumnData::Bool(Vec::new())));
                into_vector(taken)
            } else {
                Vector::constant(Value::Null)
            }
        })
        .collect();
    let r = f(&vecs, n);
    for (i, v) in vecs.into_iter().enumerate() {
        if used.get(i).copied().unwrap_or(false) {
            b.columns[i] = into_column(v)?;
        }
    }
    r
}

/// Hash aggregation over materialized batches (an aggregate whose input is not a
/// scan: a join, a subquery, a union), with the same group table as the pipeline.
fn aggregate_batches(
    batches: Vec<Batch>,
    group: &[(Expr, String)],
    aggs: &[(AggExpr, String)],
    reservation: Reservation,
) -> Result<Vec<Batch>> {
    let agg_exprs: Vec<AggExpr> = aggs.iter().map(|(a, _)| a.clone()).collect();
    let key_types: Vec<DataType> = group.iter().map(|(e, _)| e.data_type()).collect();
    let layout = group::KeyLayout::new(&key_types, &[]);
    let mut st = AggState::new(layout, &agg_exprs, Some(reservation));
    for b in batches {
        let len = b.num_rows();
        if len == 0 {
            continue;
        }
        let vecs: Vec<Vector> = b.columns.into_iter().map(into_vector).collect();
        update_aggregate(&mut st, group, None, aggs, &vecs, len)?;
    }
    let cols = st.finish(&agg_exprs, group.is_empty(), None)?;
    Ok(vec![Batch { columns: cols }])
}

/// Evaluates the group keys and aggregate arguments over `len` rows of `vecs` and
/// folds them into `st`. Keys given in `fixed` (one-row vectors) have that value
/// in every row; when all are, the rows are one group.
fn update_aggregate(
    st: &mut AggState,
    group: &[(Expr, String)],
    fixed: Option<&[Option<Vector>]>,
    aggs: &[(AggExpr, String)],
    vecs: &[Vector],
    len: usize,
) -> Result<()> {
    use std::borrow::Cow;
    let one = fixed.is_some_and(|f| f.iter().all(Option::is_some));
    let keys: Vec<Cow<'_, Vector>> = group
        .iter()
        .enumerate()
        .map(
            |(k, (e, _))| match fixed.and_then(|f| f.get(k)).and_then(Option::as_ref) {
                Some(v) if one => Ok(Cow::Borrowed(v)),
                Some(v) => Ok(Cow::Owned(Vector::constant(v.value(0, e.data_type())))),
                None => vector::eval(e, vecs, len),
            },
        )
        .collect::<Result<_>>()?;
    let opt = |e: &Option<Expr>| e.as_ref().map(|e| vector::eval(e, vecs, len)).transpose();
    let args: Vec<[Option<_>; 3]> = aggs
        .iter()
        .map(|(a, _)| Ok([opt(&a.arg)?, opt(&a.arg2)?, opt(&a.filter)?]))
        .collect::<Result<_>>()?;
    let key_refs: Vec<&Vector> = keys.iter().map(|k| k.as_ref()).collect();
    let inputs: Vec<agg::AggInput<'_>> = aggs
        .iter()
        .zip(&args)
        .map(|((a, _), [x, y, f])| agg::AggInput::new(a, x.as_deref(), y.as_deref(), f.as_deref()))
        .collect();
    if one {
        st.update_one_group(&key_refs, &inputs, len)
    } else {
        st.update(&key_refs, &inputs, len)
    }
}

/// Whether `plan` is `Filter* -> Scan`.
fn is_scan_chain(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Scan { .. } => true,
        LogicalPlan::Filter { input, .. } => is_scan_chain(input),
        _ => false,
    }
}

/// Evaluates `exprs` and gathers rows `sel` (or all) into a batch.
fn project(
    exprs: &[(Expr, String)],
    cols: &[Vector],
    len: usize,
    sel: Option<&[u32]>,
) -> Result<Batch> {
    let mut out = Vec::with_capacity(exprs.len());
    for (e, _) in exprs {
        let v = vector::eval(e, cols, len)?;
        let mut c = Column::new(ColumnData::empty(e.data_type().physical()));
        v.append_to(&mut c, sel, len);
        out.push(c);
    }
    Ok(Batch { columns: out })
}

/// What one worker thread accumulates.
enum WorkerOut {
    /// Projected rows per segment, the bytes of the finished ones, and their share
    /// of the memory pool.
    Rows(Vec<(usize, Batch)>, usize, Reservation),
    Agg(Box<AggState>),
}

/// What every segment of one scan pipeline shares.
struct ScanCtx<'a> {
    info: ScanInfo<'a>,
    sink: Sink<'a>,
    opts: &'a ExecOptions,
    stats: &'a ExecStats,
    /// Per scanned column: read only by index-answered conjuncts, so a segment
    /// whose indexes answered all of them need not decode it.
    index_only: Vec<bool>,
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
    /// every key is answered from its row count and dictionaries.
    segment_aggs: Option<Vec<Option<usize>>>,
}

impl<'a> ScanCtx<'a> {
    fn new(
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
        match &sink {
            Sink::Project(exprs) => exprs.iter().for_each(|(e, _)| mark(e)),
            Sink::Aggregate(group, aggs) => {
                group.iter().for_each(|(e, _)| mark(e));
                for (a, _) in aggs.iter() {
                    [&a.arg, &a.arg2, &a.filter]
                        .into_iter()
                        .flatten()
                        .for_each(&mut mark);
                }
            }
        }
        let index_only = if info.index.is_empty() {
            vec![false; n]
        } else {
            used.iter().map(|u| !u).collect()
        };
        ScanCtx {
            info,
            sink,
            opts,
            stats,
            index_only,
            block_keys: None,
            time_for_keys_only: false,
            count_only: false,
            segment_aggs: None,
        }
    }

    fn check_cancel(&self) -> Result<()> {
        match &self.opts.cancel {
            Some(c) if c.load(AtomicOrdering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }
}

/// Approximate bytes of a batch.
pub(crate) fn batch_bytes(b: &Batch) -> usize {
    b.columns.iter().map(sort::column_bytes).sum()
}

fn check_columns(snapshot: &Snapshot, table: &str, segments: &[Arc<Segment>]) -> Result<()> {
    let nfields = snapshot.table(table)?.schema.fields.len();
    for s in segments {
        if s.meta().columns.len() != nfields {
            return Err(Error::InvalidInput(format!(
                "not supported yet: segment {} has {} columns, table '{table}' has {nfields}",
                s.meta().segment_id,
                s.meta().columns.len(),
            )));
        }
    }
    Ok(())
}

/// Runs the scan pipeline over the segments of `input`'s scan (or over `only`, a
/// subset of them).
#[allow(clippy::too_many_arguments)]
fn pipeline(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    sink: Sink<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
    only: Option<Vec<Arc<Segment>>>,
) -> Result<Vec<Batch>> {
    let segments = match only {
        Some(s) => s,
        None => snapshot.segments(info.table, info.time_range)?,
    };
    if let Sink::Aggregate(group, aggs) = sink {
        let keys = stream::KeyPlan::new(snapshot, info, group, &segments)?;
        let aggs: Vec<AggExpr> = aggs.iter().map(|(a, _)| a.clone()).collect();
        let out: Mutex<Vec<Batch>> = Mutex::new(Vec::new());
        aggregate_units(
            snapshot,
            info,
            group,
            &aggs,
            &keys,
            vec![segments],
            opts,
            stats,
            UnitSink {
                on_unit: &|_, b| {
                    out.lock().unwrap_or_else(|p| p.into_inner()).push(b);
                    Ok(())
                },
                bound: &|| None,
            },
        )?;
        return Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    check_columns(snapshot, info.table, &segments)?;
    if let Some(p) = &opts.progress {
        p.segments_total
            .fetch_add(segments.len() as u64, AtomicOrdering::Relaxed);
    }
    let pool = stats.memory(opts.memory_limit);
    let ctx = ScanCtx::new(info.clone(), sink, opts, stats);
    let threads = opts.threads.max(1).min(segments.len().max(1));
    let next = AtomicUsize::new(0);
    let rows_done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let results: Mutex<Vec<WorkerOut>> = Mutex::new(Vec::new());
    let worker = |tick: &dyn Fn()| {
        let mut state = WorkerOut::Rows(Vec::new(), 0, pool.reservation("materialized rows"));
        let r = (|| -> Result<()> {
            let mut bufs = Buffers::new(ctx.info.columns.len());
            loop {
                if failed.load(AtomicOrdering::Relaxed) {
                    return Ok(());
                }
                ctx.check_cancel()?;
                if row_budget.is_some_and(|b| rows_done.load(AtomicOrdering::Relaxed) >= b) {
                    return Ok(());
                }
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(seg) = segments.get(i) else {
                    return Ok(());
                };
                let produced = run_segment(seg, i, &ctx, &mut state, &mut bufs, tick)?;
                rows_done.fetch_add(produced, AtomicOrdering::Relaxed);
            }
        })();
        if let Err(e) = r {
            failed.store(true, AtomicOrdering::Relaxed);
            let mut fe = first_error.lock().unwrap_or_else(|p| p.into_inner());
            fe.get_or_insert(e);
        }
        results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(state);
    };
    run_workers(threads, worker);
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut all: Vec<(usize, Batch)> = Vec::new();
    for r in results {
        if let WorkerOut::Rows(v, _, _) = r {
            all.extend(v);
        }
    }
    // Segment order (stable within a segment) keeps table order.
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, b)| b).collect())
}

/// Per-worker decoding buffers.
struct Buffers {
    blocks: Vec<ColumnBlock>,
    scratch: Vec<u8>,
    sel: Vec<u32>,
}

impl Buffers {
    fn new(columns: usize) -> Buffers {
        Buffers {
            blocks: (0..columns).map(|_| ColumnBlock::default()).collect(),
            scratch: Vec::new(),
            sel: Vec::new(),
        }
    }
}

/// Where [`aggregate_units`] hands each unit's result.
pub(crate) struct UnitSink<'a> {
    /// Called with a unit's index and result as soon as the unit is done.
    pub on_unit: &'a (dyn Fn(usize, Batch) -> Result<()> + Sync),
    /// What a top-N above has kept so far: groups that cannot enter it are
    /// dropped before their keys are materialized.
    pub bound: &'a (dyn Fn() -> Option<agg::AggBound> + Sync),
}

/// Aggregates `units` (lists of segments whose groups are disjoint) and hands
/// each unit's finished result to `sink` as soon as its last segment is done.
/// Segments are claimed in order by the worker threads; a worker's table covers
/// the segments it ran of one unit, and the tables of a unit are merged by the
/// worker that hands in its last one.
#[allow(clippy::too_many_arguments)]
fn aggregate_units(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    group: &[(Expr, String)],
    aggs: &[AggExpr],
    keys: &stream::KeyPlan,
    units: Vec<Vec<Arc<Segment>>>,
    opts: &ExecOptions,
    stats: &ExecStats,
    sink: UnitSink<'_>,
) -> Result<()> {
    let flat: Vec<(usize, Arc<Segment>)> = units
        .iter()
        .enumerate()
        .flat_map(|(u, segs)| segs.iter().map(move |s| (u, s.clone())))
        .collect();
    let all: Vec<Arc<Segment>> = flat.iter().map(|(_, s)| s.clone()).collect();
    check_columns(snapshot, info.table, &all)?;
    if let Some(p) = &opts.progress {
        p.segments_total
            .fetch_add(flat.len() as u64, AtomicOrdering::Relaxed);
    }
    let pool = stats.memory(opts.memory_limit);
    let threads = opts.threads.max(1).min(flat.len().max(1));
    // Finished states are emptied and reused by later units: their hash tables,
    // key arenas and interners keep their size instead of growing (rehashing,
    // faulting in fresh pages) again for every unit. At most one per thread is
    // kept; units are alike in size, so this holds no more than the peak.
    let spare: Mutex<Vec<AggState>> = Mutex::new(Vec::new());
    let new_state = || {
        let reused = spare.lock().unwrap_or_else(|p| p.into_inner()).pop();
        Box::new(reused.unwrap_or_else(|| {
            AggState::new(
                keys.layout.clone(),
                aggs,
                Some(pool.reservation("hash aggregate")),
            )
        }))
    };
    let recycle = |mut st: AggState| -> Result<()> {
        st.clear()?;
        let mut sp = spare.lock().unwrap_or_else(|p| p.into_inner());
        if sp.len() < threads {
            sp.push(st);
        }
        Ok(())
    };
    let finish = |u: usize, states: Vec<AggState>| -> Result<()> {
        let mut it = states.into_iter();
        let mut m = it.next().unwrap_or_else(|| *new_state());
        for mut s in it {
            m.merge(&mut s)?;
            recycle(s)?;
        }
        let bound = (sink.bound)();
        let cols = m.finish(aggs, group.is_empty(), bound.as_ref())?;
        recycle(m)?;
        (sink.on_unit)(u, Batch { columns: cols })
    };
    // Units without segments are finished at once (an aggregate without GROUP BY
    // over nothing still has its row).
    for (u, segs) in units.iter().enumerate() {
        if segs.is_empty() {
            finish(u, Vec::new())?;
        }
    }
    struct Slot {
        done: usize,
        states: Vec<AggState>,
    }
    let totals: Vec<usize> = units.iter().map(Vec::len).collect();
    let slots: Mutex<Vec<Slot>> = Mutex::new(
        units
            .iter()
            .map(|_| Slot {
                done: 0,
                states: Vec::new(),
            })
            .collect(),
    );
    let hand_in = |u: usize, state: Box<AggState>, segs: usize| -> Result<()> {
        let ready = {
            let mut sl = slots.lock().unwrap_or_else(|p| p.into_inner());
            let s = &mut sl[u];
            s.done += segs;
            s.states.push(*state);
            (s.done == totals[u]).then(|| std::mem::take(&mut s.states))
        };
        match ready {
            Some(states) => finish(u, states),
            None => Ok(()),
        }
    };
    // The sink needs named aggregates; the names are not used.
    let aggs_named: Vec<(AggExpr, String)> =
        aggs.iter().map(|a| (a.clone(), String::new())).collect();
    let mut ctx = ScanCtx::new(
        info.clone(),
        Sink::Aggregate(group, &aggs_named),
        opts,
        stats,
    );
    ctx.block_keys = keys.block_constant(info.columns);
    if let Some(bk) = &ctx.block_keys {
        let mut read = false;
        let mut mark = |e: &Expr| e.for_each_column(&mut |i| read |= i == bk.time_k);
        info.filters.iter().for_each(|e| mark(e));
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
        ctx.time_for_keys_only = !read;
    }
    ctx.count_only = aggs
        .iter()
        .all(|a| a.func == AggFunc::CountStar && a.filter.is_none());
    if ctx.block_keys.as_ref().is_some_and(stream::BlockKeys::all) {
        ctx.segment_aggs = aggs
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
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let worker = |tick: &dyn Fn()| {
        let mut cur: Option<(usize, WorkerOut, usize)> = None;
        let r = (|| -> Result<()> {
            let mut bufs = Buffers::new(ctx.info.columns.len());
            loop {
                if failed.load(AtomicOrdering::Relaxed) {
                    return Ok(());
                }
                ctx.check_cancel()?;
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some((u, seg)) = flat.get(i) else {
                    break;
                };
                if cur.as_ref().is_some_and(|c| c.0 != *u) {
                    if let Some((cu, WorkerOut::Agg(st), n)) = cur.take() {
                        hand_in(cu, st, n)?;
                    }
                }
                let c = cur.get_or_insert_with(|| (*u, WorkerOut::Agg(new_state()), 0));
                if let WorkerOut::Agg(st) = &mut c.1 {
                    st.begin_segment(keys.segment_domains(seg));
                }
                run_segment(seg, i, &ctx, &mut c.1, &mut bufs, tick)?;
                c.2 += 1;
            }
            if let Some((cu, WorkerOut::Agg(st), n)) = cur.take() {
                hand_in(cu, st, n)?;
            }
            Ok(())
        })();
        if let Err(e) = r {
            failed.store(true, AtomicOrdering::Relaxed);
            let mut fe = first_error.lock().unwrap_or_else(|p| p.into_inner());
            fe.get_or_insert(e);
        }
    };
    run_workers(threads, worker);
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How long the calling thread scans alone before the other workers start: a
/// query that is done sooner (a lookup touching a few blocks) never pays for
/// starting threads.
const SPAWN_AFTER: std::time::Duration = std::time::Duration::from_micros(200);

/// Runs `worker` on the calling thread and, once that has been busy for
/// [`SPAWN_AFTER`], on `threads - 1` more threads. A worker calls the function it
/// is given between units of work (the calling thread's starts the others when due;
/// theirs do nothing).
fn run_workers<F: Fn(&dyn Fn()) + Sync>(threads: usize, worker: F) {
    if threads <= 1 {
        worker(&|| {});
        return;
    }
    let start = Instant::now();
    let spawned = std::cell::Cell::new(false);
    std::thread::scope(|s| {
        let worker = &worker;
        let tick = || {
            if !spawned.get() && start.elapsed() >= SPAWN_AFTER {
                spawned.set(true);
                for _ in 1..threads {
                    s.spawn(move || worker(&|| {}));
                }
            }
        };
        worker(&tick);
    });
}

/// Processes one segment; returns the number of rows it produced (projection).
/// `tick` is called before each block is read (see [`run_workers`]).
fn run_segment(
    seg: &Arc<Segment>,
    seg_idx: usize,
    ctx: &ScanCtx<'_>,
    state: &mut WorkerOut,
    bufs: &mut Buffers,
    tick: &dyn Fn(),
) -> Result<usize> {
    let (info, stats) = (&ctx.info, ctx.stats);
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
        let mut block_bytes = 0u64;
        for (k, &c) in info.columns.iter().enumerate() {
            if skipped(k) {
                continue;
            }
            if let Some(m) = meta.columns.get(c).and_then(|m| m.blocks.get(b)) {
                block_bytes += m.values.len as u64 + m.validity.map_or(0, |v| v.len as u64);
            }
            let blk = &mut bufs.blocks[k];
            if bitmap::is_point_read(candidates.as_ref(), block_sel.len(), len) {
                seg.read_block_sparse(c, b, blk, &mut bufs.scratch)?;
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
        let start_sel = cand_iter
            .is_some()
            .then_some(block_sel.as_slice())
            .filter(|s| s.len() < len);
        let r = process_block(
            &vecs,
            len,
            BlockFilter {
                start_sel,
                conjuncts: &filters,
                key_ts,
            },
            ctx,
            state,
            &mut bufs.sel,
            &mut out_cols,
        );
        for (k, (v, blk)) in vecs.into_iter().zip(bufs.blocks.iter_mut()).enumerate() {
            if !skipped(k) {
                v.restore(blk);
            }
        }
        produced += r?;
    }
    if let WorkerOut::Rows(v, bytes, _) = state {
        if let Some(cols) = out_cols {
            *bytes += cols.iter().map(sort::column_bytes).sum::<usize>();
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
/// key from its metadata (see [`ScanCtx::segment_aggs`]): its row count and, for
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
    let Some(bk) = &ctx.block_keys else {
        return Ok(false);
    };
    let meta = seg.meta();
    let null_rows = |c: usize| -> Option<u64> {
        let m = meta.columns.get(c)?;
        Some(m.blocks.iter().map(|b| u64::from(b.null_count)).sum())
    };
    if meta.rows == 0
        || meta.min_ts > meta.max_ts
        || null_rows(bk.time_column) != Some(0)
        || !bk.constant(meta.min_ts, meta.max_ts)
    {
        return Ok(false);
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
    let keys = all_block_keys_at(group, ctx, meta.min_ts)?;
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
    let stats = ctx.stats;
    // Conjunct by conjunct, each evaluated only on the rows that passed the ones
    // before (so `x <> 0 AND 10 % x = 1` never divides by zero), compacting the
    // vectors whenever rows drop out.
    let BlockFilter {
        start_sel,
        conjuncts: filters,
        key_ts,
    } = filter;
    let mut compacted: Option<Vec<Vector>> = None;
    let mut n = len;
    if let Some(s) = start_sel {
        compacted = Some(vecs.iter().map(|x| x.gather(s)).collect());
        n = s.len();
    }
    ExecStats::add(&stats.rows_filtered_in, n as u64);
    for f in filters {
        for c in Expr::conjuncts(f) {
            let cur: &[Vector] = compacted.as_deref().unwrap_or(vecs);
            let v = vector::eval(c, cur, n)?;
            vector::selection(&v, n, sel)?;
            drop(v);
            if sel.is_empty() {
                return Ok(0);
            }
            if sel.len() < n {
                let next: Vec<Vector> = cur.iter().map(|x| x.gather(sel)).collect();
                n = sel.len();
                compacted = Some(next);
            }
        }
    }
    let vecs: &[Vector] = compacted.as_deref().unwrap_or(vecs);
    let len = n;
    ExecStats::add(&stats.rows_passed, n as u64);
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
            let bytes: usize = cols.iter().map(sort::column_bytes).sum();
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

fn limit(batches: Vec<Batch>, skip: usize, fetch: Option<usize>) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut to_skip = skip;
    let mut left = fetch.unwrap_or(usize::MAX);
    for b in batches {
        if left == 0 {
            break;
        }
        let n = b.num_rows();
        if to_skip >= n {
            to_skip -= n;
            continue;
        }
        let take = (n - to_skip).min(left);
        let rows: Vec<u32> = (to_skip as u32..(to_skip + take) as u32).collect();
        out.push(b.take(&rows));
        left -= take;
        to_skip = 0;
    }
    out
}

fn distinct(batches: Vec<Batch>) -> Result<Vec<Batch>> {
    let mut seen: HashSet<Box<[u8]>> = HashSet::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for b in batches {
        let vecs: Vec<Vector> = b.columns.iter().map(Vector::from_column).collect();
        let mut keep = Vec::new();
        for r in 0..b.num_rows() {
            buf.clear();
            for v in &vecs {
                agg::encode(&mut buf, v, r, false);
            }
            if !seen.contains(buf.as_slice()) {
                seen.insert(buf.as_slice().into());
                keep.push(r as u32);
            }
        }
        out.push(b.take(&keep));
    }
    Ok(out)
}

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
/// indexes) are scanned; `None` if the query does not have the shape.
#[allow(clippy::too_many_arguments)]
fn index_only_aggregate(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    group_col: Option<usize>,
    has_time: bool,
    group: &[(Expr, String)],
    aggs: &[(AggExpr, String)],
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    let segments = snapshot.segments(info.table, info.time_range)?;
    let mut counts: hashbrown::HashMap<IndexKey, (Value, u64)> = hashbrown::HashMap::new();
    let mut total = 0u64;
    let mut fallback = Vec::new();
    'segs: for seg in segments {
        let meta = seg.meta();
        if has_time {
            let (lo, hi) = info.time_range.unwrap_or((i64::MIN, i64::MAX));
            let ts_nulls = meta
                .time_column
                .and_then(|t| meta.columns.get(t))
                .is_none_or(|c| c.blocks.iter().any(|b| b.null_count > 0));
            if meta.rows > 0 && (ts_nulls || meta.min_ts < lo || meta.max_ts >= hi) {
                fallback.push(seg);
                continue;
            }
        }
        if group_col.is_some_and(|c| seg.index(c).is_none()) {
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
        fields.push(crate::schema::Field::new(n.clone(), e.data_type()));
    }
    for (i, (a, _)) in aggs.iter().enumerate() {
        fields.push(crate::schema::Field::new(format!("c{i}"), a.data_type));
    }
    let schema = crate::schema::TableSchema::new(fields);
    let mut b = crate::column::BatchBuilder::new(&schema);
    let push_counts = |b: &mut crate::column::BatchBuilder, n: u64| {
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
