//! The scan pipeline's driver: the segments of a scan are morsels claimed in
//! order by N worker threads, each running them through [`run_segment`]. A
//! projection gathers each segment's rows and restores table order at the end
//! (handed on segment by segment, a worker waits for the segments before its
//! own, so a streamed scan keeps table order too: DuckDB's insertion order);
//! an aggregation runs unit by unit (lists of segments whose groups are
//! disjoint: one unit for a plain GROUP BY, a partition each when streaming),
//! merging a unit's per-thread tables as soon as its last segment is done.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::agg::{AggBound, AggState};
use super::agg_cache::{CachedAggregate, CachedUnit};
use super::physical::ScanInfo;
use super::scan::{run_segment, Buffers, ScanCtx, Sink, WorkerOut};
use super::unit_dict::{self, UnitDict};
use super::{stream, ExecOptions, ExecStats};
use crate::column::{Batch, StringVec};
use crate::error::{Error, Result};
use crate::plan::{AggExpr, Expr};
use crate::storage::segment::Segment;
use crate::storage::Snapshot;

/// Runs the scan pipeline over the segments of `input`'s scan (or over `only`, a
/// subset of them). With `fold`, projected rows are handed to it segment by
/// segment (from the worker threads) instead of being collected.
#[allow(clippy::too_many_arguments)]
pub(super) fn pipeline(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    sink: Sink<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
    only: Option<Vec<Arc<Segment>>>,
    fold: Option<&(dyn Fn(Batch) -> Result<()> + Sync)>,
) -> Result<Vec<Batch>> {
    let segments = match only {
        Some(s) => s,
        None => snapshot.segments(info.table, info.time_range)?,
    };
    if let Sink::Aggregate(group, aggs) = sink {
        return aggregate(
            snapshot,
            info,
            group,
            aggs,
            segments,
            None,
            &[],
            opts,
            stats,
        );
    }
    start_segments(snapshot, info.table, &segments, opts)?;
    let pool = stats.memory(opts.memory_limit);
    let projected = match sink {
        Sink::Project(exprs) => exprs,
        Sink::Aggregate(..) => &[],
    };
    super::key_id::count_in(projected, pool);
    let indexed = !info.index.is_empty();
    let (dicts, entries) = super::key_id::prepare(
        projected,
        &segments,
        info.columns,
        indexed,
        opts.threads,
        pool,
    )?;
    ExecStats::add(&stats.key_id_dictionaries, dicts);
    ExecStats::add(&stats.key_id_entries, entries);
    let ctx = ScanCtx::new(info.clone(), sink, opts, stats);
    let threads = opts.threads.max(1).min(segments.len().max(1));
    let next = AtomicUsize::new(0);
    let rows_done = AtomicUsize::new(0);
    let first_error = FirstError::default();
    let results: Mutex<Vec<WorkerOut>> = Mutex::new(Vec::new());
    // With `fold`: the segment whose rows are handed on next.
    let turn = Mutex::new(0usize);
    let turn_passed = Condvar::new();
    let worker = |tick: &dyn Fn()| {
        let mut state = WorkerOut::Rows(Vec::new(), 0, pool.reservation("materialized rows"));
        let r = (|| -> Result<()> {
            let mut bufs = Buffers::new(ctx.info.columns.len());
            loop {
                if first_error.is_set() {
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
                if let (Some(fold), WorkerOut::Rows(rows, bytes, mem)) = (fold, &mut state) {
                    // Table order: the segments before this one go first. The
                    // worker holding the lowest segment never waits, and a failed
                    // worker sets `first_error`, which ends every wait.
                    let mut next_turn = turn.lock().unwrap_or_else(|p| p.into_inner());
                    while *next_turn != i {
                        if first_error.is_set() {
                            return Ok(());
                        }
                        next_turn = turn_passed
                            .wait_timeout(next_turn, Duration::from_millis(5))
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    drop(next_turn);
                    // The rows are `fold`'s to count from here (it may wait
                    // before it takes them).
                    let handed = std::mem::take(rows);
                    *bytes = 0;
                    mem.resize(0)?;
                    for (_, b) in handed {
                        fold(b)?;
                    }
                    *turn.lock().unwrap_or_else(|p| p.into_inner()) = i + 1;
                    turn_passed.notify_all();
                }
            }
        })();
        if let Err(e) = r {
            first_error.set(e);
            turn_passed.notify_all();
        }
        results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(state);
    };
    run_workers(threads, worker);
    first_error.into_result()?;
    super::key_id::release(projected)?;
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

/// Aggregates `segments` of `info`'s scan in one unit; with `top`, only the
/// groups that can enter the top-N above get their keys built.
#[allow(clippy::too_many_arguments)]
pub(super) fn aggregate(
    snapshot: &Snapshot,
    info: &ScanInfo<'_>,
    group: &[(Expr, String)],
    aggs: &[(AggExpr, String)],
    segments: Vec<Arc<Segment>>,
    top: Option<&AggBound>,
    unread_keys: &[bool],
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    let keys = stream::KeyPlan::new(snapshot, info, group, &segments)?;
    let aggs: Vec<AggExpr> = aggs.iter().map(|(a, _)| a.clone()).collect();
    let cache = CachedAggregate::new(snapshot, info, group, &aggs, &keys, opts)?;
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
            bound: &|| top.cloned(),
            cache: cache.as_ref(),
            unread_keys,
        },
    )?;
    Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Where [`aggregate_units`] hands each unit's result.
pub(super) struct UnitSink<'a> {
    /// Called with a unit's index and result as soon as the unit is done.
    pub on_unit: &'a (dyn Fn(usize, Batch) -> Result<()> + Sync),
    /// What a top-N above has kept so far: groups that cannot enter it are
    /// dropped before their keys are materialized.
    pub bound: &'a (dyn Fn() -> Option<AggBound> + Sync),
    /// The aggregate cache, when the session uses it and the aggregation can be
    /// cached.
    pub cache: Option<&'a CachedAggregate>,
    /// Group keys no operator above reads: not built (zero values instead).
    pub unread_keys: &'a [bool],
}

/// Aggregates `units` (lists of segments whose groups are disjoint) and hands
/// each unit's finished result to `sink` as soon as its last segment is done.
/// Segments are claimed in order by the worker threads; a worker's table covers
/// the segments it ran of one part of a unit, and the tables of a unit are
/// merged by the worker that hands in its last one. A unit is one part, or two
/// with the aggregate cache: its whole segments the cache does not cover yet,
/// and its partly covered segments (kept apart, since only the whole ones'
/// groups go back to the cache).
#[allow(clippy::too_many_arguments)]
pub(super) fn aggregate_units(
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
    let mut cached: Vec<Mutex<Option<CachedUnit>>> = Vec::new();
    let parts: Vec<Vec<Arc<Segment>>> = match sink.cache {
        Some(c) => units
            .iter()
            .flat_map(|segs| {
                let (unit, parts) = c.prepare(segs, stats);
                cached.push(Mutex::new(Some(unit)));
                parts
            })
            .collect(),
        None => units,
    };
    let per_unit = if sink.cache.is_some() { 2 } else { 1 };
    let nunits = parts.len() / per_unit;
    let flat: Vec<(usize, Arc<Segment>)> = parts
        .iter()
        .enumerate()
        .flat_map(|(p, segs)| segs.iter().map(move |s| (p, s.clone())))
        .collect();
    let all: Vec<Arc<Segment>> = flat.iter().map(|(_, s)| s.clone()).collect();
    start_segments(snapshot, info.table, &all, opts)?;
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
    // One unit's states are merged once every worker is done with it, so the
    // merge may take all threads; with several units, the other workers are
    // still scanning theirs.
    let merge_threads = if nunits == 1 { threads } else { 1 };
    let merged = |states: Vec<AggState>| -> Result<AggState> {
        let mut it = states.into_iter();
        let mut m = it.next().unwrap_or_else(|| *new_state());
        for mut s in it {
            m.merge_on(&mut s, merge_threads)?;
            recycle(s)?;
        }
        Ok(m)
    };
    let finish_state = |u: usize, m: &mut AggState| -> Result<()> {
        let bound = (sink.bound)();
        let cols = m.finish_keys(aggs, group.is_empty(), bound.as_ref(), sink.unread_keys)?;
        (sink.on_unit)(u, Batch { columns: cols })
    };
    // A unit's states by part (whole segments, then partly covered ones).
    let finish = |u: usize, mut by_part: Vec<Vec<AggState>>| -> Result<()> {
        match sink.cache {
            Some(c) => {
                let unit = cached[u].lock().unwrap_or_else(|p| p.into_inner()).take();
                let Some(unit) = unit else {
                    return Err(Error::Internal("a cached unit finished twice".into()));
                };
                let partial = by_part.pop().unwrap_or_default();
                let fresh = by_part.pop().unwrap_or_default();
                c.finish_unit(unit, fresh, partial, &|| *new_state(), &mut |m| {
                    finish_state(u, m)
                })
            }
            None => {
                let mut m = merged(by_part.into_iter().flatten().collect())?;
                finish_state(u, &mut m)?;
                recycle(m)
            }
        }
    };
    struct Slot {
        done: usize,
        states: Vec<Vec<AggState>>,
    }
    let totals: Vec<usize> = parts
        .chunks(per_unit)
        .map(|c| c.iter().map(Vec::len).sum())
        .collect();
    // Units without segments to scan are finished at once (an aggregate without
    // GROUP BY over nothing still has its row).
    for (u, total) in totals.iter().enumerate() {
        if *total == 0 {
            finish(u, (0..per_unit).map(|_| Vec::new()).collect())?;
        }
    }
    let slots: Mutex<Vec<Slot>> = Mutex::new(
        (0..nunits)
            .map(|_| Slot {
                done: 0,
                states: (0..per_unit).map(|_| Vec::new()).collect(),
            })
            .collect(),
    );
    let hand_in = |p: usize, state: Box<AggState>, segs: usize| -> Result<()> {
        let u = p / per_unit;
        let ready = {
            let mut sl = slots.lock().unwrap_or_else(|p| p.into_inner());
            let s = &mut sl[u];
            s.done += segs;
            s.states[p % per_unit].push(*state);
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
    let ctx = ScanCtx::new(
        info.clone(),
        Sink::Aggregate(group, &aggs_named),
        opts,
        stats,
    )
    .with_aggregate_shortcuts(group, aggs, keys);
    let next = AtomicUsize::new(0);
    let first_error = FirstError::default();
    // String keys read whole (no filter, no cached part) are numbered by each
    // unit's merged dictionaries, merged by the first worker to reach the unit.
    let string_columns = keys.string_columns();
    let merge_dicts = sink.cache.is_none()
        && unit_dict::merges_dictionaries(
            info,
            snapshot.table(info.table)?.schema.time_index(),
            opts,
        )
        && string_columns.iter().any(Option::is_some);
    let unit_dicts: Vec<OnceLock<UnitDicts>> = (0..parts.len()).map(|_| OnceLock::new()).collect();
    let dicts_of = |p: usize| -> &UnitDicts {
        unit_dicts[p].get_or_init(|| match unit_dicts_of(&parts[p], &string_columns, opts) {
            Ok(d) => d,
            Err(e) => {
                first_error.set(e);
                Vec::new()
            }
        })
    };
    let worker = |tick: &dyn Fn()| {
        let mut cur: Option<(usize, WorkerOut, usize)> = None;
        let r = (|| -> Result<()> {
            let mut bufs = Buffers::new(ctx.info.columns.len());
            loop {
                if first_error.is_set() {
                    return Ok(());
                }
                ctx.check_cancel()?;
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some((p, seg)) = flat.get(i) else {
                    break;
                };
                if cur.as_ref().is_some_and(|c| c.0 != *p) {
                    if let Some((cp, WorkerOut::Agg(st), n)) = cur.take() {
                        hand_in(cp, st, n)?;
                    }
                }
                let c = cur.get_or_insert_with(|| {
                    let mut st = new_state();
                    if merge_dicts {
                        st.use_unit_dicts(dicts_of(*p));
                    }
                    (*p, WorkerOut::Agg(st), 0)
                });
                if let WorkerOut::Agg(st) = &mut c.1 {
                    st.begin_segment(keys.segment_domains(seg));
                }
                run_segment(seg, i, &ctx, &mut c.1, &mut bufs, tick)?;
                c.2 += 1;
            }
            if let Some((cp, WorkerOut::Agg(st), n)) = cur.take() {
                hand_in(cp, st, n)?;
            }
            Ok(())
        })();
        if let Err(e) = r {
            first_error.set(e);
        }
    };
    run_workers(threads, worker);
    first_error.into_result()
}

/// Per group key, the merge of its column's dictionaries over one unit's
/// segments (`None`: not a string column key).
type UnitDicts = Vec<Option<Arc<UnitDict>>>;

/// The merged dictionaries of each string column key (`columns[k]`) over
/// `segments`; a key whose column lacks a dictionary in some segment gets none.
fn unit_dicts_of(
    segments: &[Arc<Segment>],
    columns: &[Option<usize>],
    opts: &ExecOptions,
) -> Result<UnitDicts> {
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
        let Some(c) = *c else {
            out.push(None);
            continue;
        };
        let dicts: Option<Vec<Arc<StringVec>>> = (segments.iter())
            .map(|s| s.dictionary(c))
            .collect::<Result<_>>()?;
        out.push(match dicts {
            Some(d) if !d.is_empty() => Some(Arc::new(UnitDict::merge(d, opts.threads)?)),
            _ => None,
        });
    }
    Ok(out)
}

/// How long the calling thread scans alone before the other workers start: a
/// query that is done sooner (a lookup touching a few blocks) never pays for
/// starting threads.
const SPAWN_AFTER: Duration = Duration::from_micros(200);

/// Runs `worker` on the calling thread and, once that has been busy for
/// [`SPAWN_AFTER`], on `threads - 1` more threads. A worker calls the function it
/// is given between units of work (the calling thread's starts the others when due;
/// theirs do nothing).
pub(super) fn run_workers<F: Fn(&dyn Fn()) + Sync>(threads: usize, worker: F) {
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
                    // Expressions may nest as deep as on the statement's thread.
                    // (A smaller one where the system will not reserve that much;
                    // without another thread, the calling one does all the work.)
                    let spawn = |size| {
                        std::thread::Builder::new()
                            .stack_size(size)
                            .spawn_scoped(s, move || worker(&|| {}))
                    };
                    use super::stack::{FALLBACK_STACK, QUERY_STACK};
                    if spawn(QUERY_STACK)
                        .or_else(|_| spawn(FALLBACK_STACK))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        };
        worker(&tick);
    });
}

/// Checks that `segments` have the columns of `table` and adds them to the
/// progress counters' total.
fn start_segments(
    snapshot: &Snapshot,
    table: &str,
    segments: &[Arc<Segment>],
    opts: &ExecOptions,
) -> Result<()> {
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
    if let Some(p) = &opts.progress {
        p.segments_total
            .fetch_add(segments.len() as u64, AtomicOrdering::Relaxed);
    }
    Ok(())
}

/// The first error of a scan's workers; once there is one, the other workers
/// stop before their next segment.
#[derive(Default)]
pub(super) struct FirstError {
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
}

impl FirstError {
    pub(super) fn is_set(&self) -> bool {
        self.failed.load(AtomicOrdering::Relaxed)
    }

    pub(super) fn set(&self, e: Error) {
        self.failed.store(true, AtomicOrdering::Relaxed);
        let mut first = self.error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
    }

    pub(super) fn into_result(self) -> Result<()> {
        match self.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
