//! The vectorized executor.
//!
//! The bottom of every plan is a *pipeline* run over segments as morsels on N
//! threads: for each block, decode the referenced columns (skipping blocks whose zone
//! maps rule the WHERE clause out), evaluate the filter into a selection vector, then
//! either gather the projected rows or update a per-thread hash aggregate. Operators
//! above the pipeline (HAVING, the projection over an aggregate, DISTINCT, ORDER BY,
//! LIMIT) work on the materialized result, which is small for analytical queries.
//!
//! [`physical::plan`] chooses every strategy once; this file runs the resulting
//! [`PhysicalPlan`], recording each operator's rows and time, and hands each
//! operator to the file that runs it:
//!
//! - the scan pipeline (`ScanProject`, `ScanAggregate`): `pipeline.rs` drives it
//!   (segments as morsels on threads, aggregation unit by unit), `scan.rs` runs
//!   one segment (index candidates, zone maps, decoding, filter, sink);
//!   `stream.rs` runs `StreamingAggregate`, `topn_agg.rs` `TwoPhaseTopN`, and
//!   `index_only.rs` `IndexOnlyAggregate`;
//! - `ParquetAggregate` (`parquet_aggregate.rs`): the same kind of pipeline over
//!   the row groups of Parquet files (`read_parquet.rs` lists them, skipping
//!   those the statistics rule out);
//! - operators over materialized batches: `materialized.rs` (Filter, Project),
//!   `hash_aggregate.rs`, `join.rs`, `nested_loop.rs`, `sort.rs` (Sort, TopN), `limit.rs`,
//!   `distinct.rs`, `window/` (Window: window functions);
//! - table functions (`TableFunction`: `range`, `generate_series`, and the file
//!   readers `read_log` / `read_csv` / `read_json` of `read_files.rs`), producing
//!   batches as they run: `table_function.rs`;
//! - below them: aggregate states in `agg/`, group keys in `group.rs`,
//!   expression evaluation in `vector.rs`, `functions.rs`, `strings.rs`,
//!   `text.rs` and `math.rs`.

pub mod agg;
pub mod agg_cache;
mod apply;
pub mod date;
pub mod date_parts;
pub(crate) mod decimal;
mod distinct;
mod extreme;
pub mod format;
pub mod functions;
mod glob_match;
pub mod group;
mod hash_aggregate;
mod index_only;
mod interval;
pub mod join;
pub mod json_path;
mod key_id;
mod limit;
pub mod list;
mod materialized;
mod math;
pub mod memory;
pub mod metrics;
mod nested_loop;
mod options;
pub mod output;
#[cfg(feature = "arrow")]
mod parquet_aggregate;
#[cfg(feature = "arrow")]
pub mod parquet_rows;
pub mod physical;
mod pipeline;
pub mod read_files;
#[cfg(feature = "arrow")]
mod read_parquet;
mod recursive;
pub mod result;
mod result_time;
mod scan;
pub mod sketch;
mod sort;
mod sort_keys;
pub mod stack;
pub mod stream;
pub mod strings;
mod subquery;
pub mod table_function;
mod text;
mod text_codes;
mod text_parts;
mod time_bucket;
mod topn_agg;
pub(crate) mod tournament;
pub(crate) mod unit_dict;
mod unnest;
pub mod vector;
mod window;
mod word_table;
pub mod write_files;
pub mod write_partitioned;
pub mod write_per_thread;
pub mod write_rotating;

use std::cell::RefCell;
use std::time::Instant;

use crate::column::{Batch, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::LogicalPlan;
use crate::storage::Snapshot;
pub use metrics::{ExecStats, OperatorStats};
pub use options::{default_memory_limit, ExecOptions, ExplainOutput, Notices, NullOrder, Progress};
pub use output::{Batches, QueryStream};
use physical::{Operator, PhysicalPlan};
pub use recursive::MAX_RECURSION;
pub use result::{ColumnIndex, FromValue, QueryResult, Row, Rows};
pub(crate) use scan::nulls_only_columns;
use scan::Sink;

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
    count_result(&batches, opts, stats)?;
    Ok(QueryResult { columns, batches })
}

/// Fails when a materialized result alone passes the memory limit. Operators
/// count what they build while they build it, but a result made over
/// materialized rows (a projection of a table function's output) is only known
/// whole, so the whole result is checked before it is handed over; a result
/// larger than memory then fails with the limit's error instead of growing on.
fn count_result(batches: &[Batch], opts: &ExecOptions, stats: &ExecStats) -> Result<()> {
    let mut held = stats.memory(opts.memory_limit).reservation("query result");
    held.resize(batches.iter().map(Batch::heap_bytes).sum())
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
    count_result(&batches, opts, stats)?;
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
    opts.check_cancel()?;
    stats.ran(p.name());
    let out = run_operator(snapshot, p, opts, stats, row_budget)?;
    let rows: usize = out.iter().map(Batch::num_rows).sum();
    stats.record(p.node, rows as u64, start.elapsed());
    Ok(out)
}

/// Runs input `i` of `p`; the rows come with a reservation that counts them.
fn run_input(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    i: usize,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
) -> Result<(Vec<Batch>, memory::Reservation)> {
    let child = p
        .children
        .get(i)
        .ok_or_else(|| Error::Internal(format!("{} has no input {i}", p.name())))?;
    let batches = run_plan(snapshot, child, opts, stats, row_budget)?;
    let mut mem = stats
        .memory(opts.memory_limit)
        .reservation("materialized rows");
    mem.resize(batches.iter().map(Batch::heap_bytes).sum())?;
    Ok((batches, mem))
}

/// Runs `p`, which [`physical::streams_into_parent`], handing its output to
/// `emit` batch by batch, and records it as run.
fn run_streamed(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    emit: &mut (dyn FnMut(Batch) -> Result<()> + Send),
) -> Result<()> {
    let start = Instant::now();
    stats.ran(p.name());
    let mut rows = 0u64;
    let mut counted = |b: Batch| {
        rows += b.num_rows() as u64;
        emit(b)
    };
    let child = || {
        p.children
            .first()
            .ok_or_else(|| Error::Internal(format!("{} has no input", p.name())))
    };
    match (&p.op, p.node) {
        (Operator::HashJoin { .. } | Operator::NestedLoopJoin { .. }, _) => {
            run_join(snapshot, p, opts, stats, None, &mut counted)?
        }
        (Operator::TableFunction { func, filters, .. }, _) => {
            table_function::run(func, filters, opts, None, &mut counted)?
        }
        (Operator::ScanProject { info, exprs, .. }, _) => {
            // The scan's worker threads hand over each segment's rows in turn.
            let emit = std::sync::Mutex::new(&mut counted);
            let fold = |b: Batch| (emit.lock().unwrap_or_else(|p| p.into_inner()))(b);
            pipeline::pipeline(
                snapshot,
                info,
                Sink::Project(exprs),
                opts,
                stats,
                None,
                None,
                Some(&fold),
            )?;
        }
        (Operator::Filter, LogicalPlan::Filter { predicate, .. }) => {
            run_streamed(snapshot, child()?, opts, stats, &mut |b| {
                materialized::filter(vec![b], predicate)?
                    .into_iter()
                    .try_for_each(&mut counted)
            })?
        }
        (Operator::Project, LogicalPlan::Project { exprs, .. }) => {
            run_streamed(snapshot, child()?, opts, stats, &mut |b| {
                materialized::project_batches(vec![b], exprs)?
                    .into_iter()
                    .try_for_each(&mut counted)
            })?
        }
        _ => {
            return Err(Error::Internal(format!(
                "{} does not stream into its parent",
                p.name()
            )))
        }
    }
    stats.record(p.node, rows, start.elapsed());
    Ok(())
}

/// Runs the HashJoin or NestedLoopJoin `p` (its inputs first), handing its output to `emit` and
/// stopping once `row_budget` rows are out.
fn run_join(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let LogicalPlan::Join {
        left,
        right,
        kind,
        on,
        filter,
        build,
    } = p.node
    else {
        return Err(Error::Internal(format!("{} is not a join", p.name())));
    };
    let (ls, rs) = (left.schema(), right.schema());
    let (left, left_mem) = run_input(snapshot, p, 0, opts, stats, None)?;
    let (right, right_mem) = run_input(snapshot, p, 1, opts, stats, None)?;
    let inputs = join::JoinInputs {
        left,
        left_schema: &ls,
        left_mem,
        right,
        right_schema: &rs,
        right_mem,
    };
    if let Operator::NestedLoopJoin { .. } = p.op {
        return nested_loop::nested_loop_join(
            inputs,
            *kind,
            filter.as_ref(),
            opts,
            row_budget,
            emit,
        );
    }
    let spec = join::JoinSpec {
        kind: *kind,
        on,
        filter: filter.as_ref(),
        build: *build,
    };
    join::hash_join(inputs, &spec, opts, row_budget, emit)
}

/// Runs one physical operator: hands it to the code that runs its strategy.
fn run_operator(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
    row_budget: Option<usize>,
) -> Result<Vec<Batch>> {
    let pool = stats.memory(opts.memory_limit);
    // An input's rows count against the memory limit until this operator is done
    // with them.
    let held = RefCell::new(Vec::new());
    let input = |i: usize, budget: Option<usize>| -> Result<Vec<Batch>> {
        let (batches, mem) = run_input(snapshot, p, i, opts, stats, budget)?;
        held.borrow_mut().push(mem);
        Ok(batches)
    };
    match (&p.op, p.node) {
        (Operator::ScanProject { info, exprs, .. }, _) => pipeline::pipeline(
            snapshot,
            info,
            Sink::Project(exprs),
            opts,
            stats,
            row_budget,
            None,
            None,
        ),
        (
            Operator::ScanAggregate {
                info,
                group,
                aggs,
                top,
                unread_keys,
                ..
            },
            _,
        ) => {
            let segments = snapshot.segments(info.table, info.time_range)?;
            pipeline::aggregate(
                snapshot,
                info,
                group,
                aggs,
                segments,
                top.as_ref(),
                unread_keys,
                opts,
                stats,
            )
        }
        (
            Operator::IndexOnlyAggregate {
                info,
                group_col,
                has_time,
                group,
                aggs,
                top,
                ..
            },
            _,
        ) => index_only::index_only_aggregate(
            snapshot,
            info,
            *group_col,
            *has_time,
            group,
            aggs,
            top.as_ref(),
            opts,
            stats,
        ),
        (Operator::StreamingAggregate(sp), _) => stream::run(snapshot, sp, opts, stats),
        #[cfg(feature = "arrow")]
        (
            Operator::ParquetAggregate {
                read,
                filters,
                group,
                aggs,
            },
            _,
        ) => parquet_aggregate::run(
            &parquet_aggregate::ParquetAggregate {
                read,
                filters,
                group,
                aggs,
            },
            opts,
            stats,
        ),
        (Operator::TwoPhaseTopN(two), node) => topn_agg::run(snapshot, node, two, opts, stats),
        (Operator::Filter, LogicalPlan::Filter { predicate, .. }) => {
            match p.children.first() {
                // Over a table function (a file reader): filtered batch by batch, so
                // the unfiltered rows are never all held and a LIMIT stops the
                // reading.
                Some(
                    child @ PhysicalPlan {
                        op:
                            Operator::TableFunction {
                                func,
                                filters: inner,
                                ..
                            },
                        ..
                    },
                ) => {
                    let start = Instant::now();
                    stats.ran(child.name());
                    let mut out = Vec::new();
                    let mut mem = pool.reservation("filter output");
                    let (mut read, mut left) = (0u64, row_budget.unwrap_or(usize::MAX));
                    table_function::run_until(func, inner, opts, &mut |b| {
                        read += b.num_rows() as u64;
                        for f in materialized::filter(vec![b], predicate)? {
                            left = left.saturating_sub(f.num_rows());
                            mem.grow(f.heap_bytes())?;
                            out.push(f);
                        }
                        Ok(left)
                    })?;
                    stats.record(child.node, read, start.elapsed());
                    Ok(out)
                }
                _ => materialized::filter_on(input(0, None)?, predicate, opts.threads),
            }
        }
        (Operator::Project, LogicalPlan::Project { exprs, .. }) => {
            materialized::project_batches(input(0, row_budget)?, exprs)
        }
        (Operator::HashAggregate { unread_keys }, LogicalPlan::Aggregate { group, aggs, .. }) => {
            let mut agg =
                hash_aggregate::HashAggregate::new(group, aggs, pool.reservation("hash aggregate"));
            if p.children
                .first()
                .is_some_and(physical::streams_into_parent)
            {
                run_streamed(snapshot, &p.children[0], opts, stats, &mut |b| agg.push(b))?;
            } else {
                let batches = input(0, None)?;
                agg.push_all(batches, opts.threads, &|| {
                    pool.reservation("hash aggregate")
                })?;
            }
            agg.finish(unread_keys)
        }
        (Operator::HashJoin { .. } | Operator::NestedLoopJoin { .. }, LogicalPlan::Join { .. }) => {
            let mut out = Vec::new();
            let mut mem = pool.reservation(match p.op {
                Operator::NestedLoopJoin { .. } => "nested loop join output",
                _ => "hash join output",
            });
            run_join(snapshot, p, opts, stats, row_budget, &mut |b| {
                mem.grow(b.heap_bytes())?;
                out.push(b);
                Ok(())
            })?;
            Ok(out)
        }
        (Operator::Union, LogicalPlan::Union { inputs }) => {
            let mut out = Vec::new();
            for i in 0..inputs.len() {
                out.extend(input(i, row_budget)?);
            }
            Ok(out)
        }
        (
            Operator::RecursiveCte,
            LogicalPlan::RecursiveCte {
                name,
                slot,
                distinct,
                ..
            },
        ) => {
            let mut mem = pool.reservation("recursive CTE rows");
            recursive::run(
                name,
                slot,
                *distinct,
                row_budget,
                &mut mem,
                &|| opts.check_cancel(),
                // Each iteration's rows are counted once, in the result.
                &mut |i| run_input(snapshot, p, i, opts, stats, None).map(|(rows, _)| rows),
            )
        }
        (Operator::WorkTable, LogicalPlan::WorkTable { slot, .. }) => {
            let rows = slot.rows();
            let mut copy = pool.reservation("materialized rows");
            copy.resize(rows.iter().map(Batch::heap_bytes).sum())?;
            Ok(rows)
        }
        (Operator::Values, LogicalPlan::Values { batches, .. }) => {
            // The copy must fit before it is made (the plan keeps the original).
            let mut copy = pool.reservation("materialized rows");
            copy.resize(batches.iter().map(Batch::heap_bytes).sum())?;
            Ok(batches.clone())
        }
        (Operator::TableFunction { func, filters, .. }, _) => {
            // Materialized (no folding operator above): every batch is counted.
            let mut out = Vec::new();
            let mut mem = pool.reservation("table function output");
            table_function::run(func, filters, opts, row_budget, &mut |b| {
                mem.grow(b.heap_bytes())?;
                out.push(b);
                Ok(())
            })?;
            Ok(out)
        }
        (Operator::OneRow, _) => {
            let mut c = Column::new(ColumnData::Bool(vec![true]));
            c.validity = None;
            Ok(vec![Batch { columns: vec![c] }])
        }
        (
            Operator::TopN,
            LogicalPlan::Sort {
                input: child,
                keys,
                fetch: Some(n),
            },
        ) if p
            .children
            .first()
            .is_some_and(physical::streams_into_parent) =>
        {
            let mut top = sort::TopN::new(keys.clone(), *n, child.schema());
            let mut mem = pool.reservation("top-n");
            run_streamed(snapshot, &p.children[0], opts, stats, &mut |b| {
                top.push(b)?;
                mem.resize(top.bytes())
            })?;
            top.finish()
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
            sort::sort(batches, keys, *fetch, &child.schema(), pool, opts.threads)
        }
        (Operator::Limit, LogicalPlan::Limit { skip, fetch, .. }) => {
            let budget = fetch.map(|f| f.saturating_add(*skip));
            let batches = input(0, budget)?;
            Ok(limit::limit(batches, *skip, *fetch))
        }
        (Operator::Distinct, LogicalPlan::Distinct { input: child }) => distinct::distinct(
            input(0, None)?,
            &child.schema(),
            pool.reservation("distinct"),
        ),
        (
            Operator::Apply,
            LogicalPlan::Apply {
                subquery, lateral, ..
            },
        ) => {
            let mut mem = pool.reservation("dependent join output");
            apply::run(
                snapshot,
                input(0, None)?,
                subquery,
                *lateral,
                opts,
                stats,
                &mut mem,
            )
        }
        (Operator::Unnest, LogicalPlan::Unnest { lists, .. }) => {
            let mut mem = pool.reservation("unnest output");
            unnest::unnest(input(0, None)?, lists, &mut mem)
        }
        (
            Operator::Window { top },
            LogicalPlan::Window {
                input: child,
                windows,
            },
        ) => window::window(input(0, None)?, &child.schema(), windows, *top, opts, pool),
        _ => Err(Error::Internal(format!(
            "physical operator {} does not match its logical node",
            p.name()
        ))),
    }
}
