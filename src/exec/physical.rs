//! The physical plan: which strategy runs each part of an optimized logical plan.
//!
//! [`plan`] is the one place in the executor that decides how a query runs (and the
//! one that consults the optimizer's shape tests). It walks the logical plan top
//! down and picks, once, an [`Operator`] per node or group of fused nodes:
//!
//! - the scan pipeline with a projection ([`Operator::ScanProject`]) or a hash
//!   aggregate ([`Operator::ScanAggregate`]) fused into it (`Filter* -> Scan`
//!   below; segments are morsels on N threads);
//! - an aggregate answered from bitmap-index counts ([`Operator::IndexOnlyAggregate`]);
//! - a partition-streaming aggregate ([`Operator::StreamingAggregate`]) that also
//!   takes over the operators above it (per unit, as a top-N across units, or on
//!   the collected rows);
//! - a two-phase top-N aggregation ([`Operator::TwoPhaseTopN`]);
//! - an aggregate over Parquet files read in place, row groups as morsels on N
//!   threads ([`Operator::ParquetAggregate`]);
//! - operators over materialized inputs: filter, projection, hash aggregate, hash
//!   join, nested-loop join, union, sort, top-N, limit, distinct, values, window.
//!
//! The executor dispatches on the operator and never re-decides. Operators that need
//! all their input (sort, hash aggregate, the build side of a join) and streaming
//! ones (the scan pipeline, limit) are nodes of the same tree; the parallelism is
//! inside the pipeline operators. EXPLAIN prints this tree ([`PhysicalPlan::name`],
//! [`PhysicalPlan::children`]), and EXPLAIN ANALYZE measures the same nodes.

use std::borrow::Cow;

use super::agg::AggBound;
use super::stream::{self, StreamPlan};
use super::ExecOptions;
use crate::error::{Error, Result};
use crate::index::{IndexPredicate, ZonePredicate};
use crate::plan::optimize::{self, ConjunctUse, TwoPhaseTopN};
use crate::plan::{AggExpr, Expr, FileRead, LogicalPlan, TableFunc};
use crate::storage::Snapshot;

/// One physical operator and its inputs. `node` is the logical node whose output
/// it produces (measurements are recorded against it).
pub struct PhysicalPlan<'a> {
    pub node: &'a LogicalPlan,
    pub op: Operator<'a>,
    pub children: Vec<PhysicalPlan<'a>>,
}

/// The strategies the executor runs.
pub enum Operator<'a> {
    /// The parallel scan pipeline of `scan` (a `Filter* -> Scan` chain) gathering
    /// the rows of `exprs`; `streamed`: segment by segment into the TopN or
    /// HashAggregate above it, instead of collecting them.
    ScanProject {
        scan: &'a LogicalPlan,
        info: ScanInfo<'a>,
        exprs: Cow<'a, [(Expr, String)]>,
        streamed: bool,
    },
    /// The parallel scan pipeline folding rows into per-thread hash aggregates
    /// (packed keys, dense key arrays, counts from zone maps and dictionaries),
    /// merged at the end.
    ScanAggregate {
        scan: &'a LogicalPlan,
        info: ScanInfo<'a>,
        group: &'a [(Expr, String)],
        aggs: &'a [(AggExpr, String)],
        /// Under a top-N ordered first by an aggregate (with only projections
        /// between): only the groups that can enter it get their keys built.
        top: Option<AggBound>,
        /// Group keys no operator above reads (see [`mark_unread_keys`]).
        unread_keys: Vec<bool>,
    },
    /// `count(*)` (by an indexed column) answered from bitmap-index counts;
    /// segments a time range cuts through are scanned.
    IndexOnlyAggregate {
        scan: &'a LogicalPlan,
        info: ScanInfo<'a>,
        /// The indexed group column (table position), if any.
        group_col: Option<usize>,
        /// Whether time conjuncts are present: segments they cut through are
        /// scanned.
        has_time: bool,
        group: &'a [(Expr, String)],
        aggs: &'a [(AggExpr, String)],
        /// Under a top-N ordered first by a count: only the groups that can
        /// enter it are built.
        top: Option<AggBound>,
    },
    /// An aggregate over Parquet files (`Filter* -> read_parquet` below it):
    /// row groups as morsels on N threads, decoded, filtered and folded into
    /// per-thread hash aggregates (dictionary strings kept as codes), merged
    /// at the end.
    ParquetAggregate {
        read: &'a FileRead,
        /// The filters between the aggregate and the read, outermost first.
        filters: Vec<&'a Expr>,
        group: &'a [(Expr, String)],
        aggs: &'a [(AggExpr, String)],
    },
    /// An aggregate by a time bucket run partition by partition, with the
    /// operators above it.
    StreamingAggregate(Box<StreamPlan<'a>>),
    /// Top-N groups in two phases: rank with the cheap aggregates, then
    /// aggregate only the rows of the top keys.
    TwoPhaseTopN(Box<TwoPhaseTopN>),
    Filter,
    Project,
    /// A hash aggregate over another operator's output.
    HashAggregate {
        /// Group keys no operator above reads (see [`mark_unread_keys`]).
        unread_keys: Vec<bool>,
    },
    /// A hash join; `streamed`: its output goes batch by batch into the
    /// HashAggregate or TopN above it instead of being materialized.
    HashJoin {
        streamed: bool,
    },
    /// A join without equality keys: every (left row, right row) pair in
    /// chunks, the condition as a filter over them; `streamed` as for HashJoin.
    NestedLoopJoin {
        streamed: bool,
    },
    Union,
    Values,
    /// `WITH RECURSIVE`: the anchor (first child) once, then the step (second
    /// child) over the previous iteration's rows until it adds none.
    RecursiveCte,
    /// The previous iteration's rows, inside a RecursiveCte's step.
    WorkTable,
    /// A table function (`range(n)`) producing its rows batch by batch;
    /// `streamed`: they go into the HashAggregate or TopN above it (through any
    /// Filter and Project) instead of being materialized. A Parquet read takes
    /// the filters over it (outermost first) into its reader; the node is then
    /// the outermost filter's.
    TableFunction {
        streamed: bool,
        func: &'a TableFunc,
        filters: Vec<&'a Expr>,
    },
    OneRow,
    /// A full sort.
    Sort,
    /// ORDER BY .. LIMIT n: a bounded heap.
    TopN,
    Limit,
    Distinct,
    /// Window functions: rows grouped by partition and sorted by the order keys
    /// (once per distinct partition and order), each function evaluated over
    /// the sorted partitions, results in the input's row order. With `top` = k
    /// (a window top-N: the filter above keeps rankings at most k, see
    /// [`crate::plan::window_top`]) each partition's first k rows are selected,
    /// only they are sorted, and only they come out.
    Window {
        top: Option<usize>,
    },
    /// A dependent join: the correlated subquery run once per distinct tuple
    /// of the input's correlated values (bound as literals), its result joined
    /// to the rows of that tuple.
    Apply,
    /// `unnest(list)` in a select list: each row repeated once per element of
    /// its longest list, batch by batch.
    Unnest,
}

impl PhysicalPlan<'_> {
    /// The operator's name, as EXPLAIN prints it.
    pub fn name(&self) -> &'static str {
        match &self.op {
            Operator::ScanProject { .. } => "ScanProject",
            Operator::ScanAggregate { .. } => "ScanAggregate",
            Operator::IndexOnlyAggregate { .. } => "IndexOnlyAggregate",
            Operator::ParquetAggregate { .. } => "ParquetAggregate",
            Operator::StreamingAggregate(_) => "StreamingAggregate",
            Operator::TwoPhaseTopN(_) => "TwoPhaseTopN",
            Operator::Filter => "Filter",
            Operator::Project => "Project",
            Operator::HashAggregate { .. } => "HashAggregate",
            Operator::HashJoin { .. } => "HashJoin",
            Operator::NestedLoopJoin { .. } => "NestedLoopJoin",
            Operator::Union => "Union",
            Operator::Values => "Values",
            Operator::RecursiveCte => "RecursiveCte",
            Operator::WorkTable => "WorkTable",
            Operator::TableFunction { .. } => "TableFunction",
            Operator::OneRow => "OneRow",
            Operator::Sort => "Sort",
            Operator::TopN => "TopN",
            Operator::Limit => "Limit",
            Operator::Distinct => "Distinct",
            Operator::Window { top: None } => "Window",
            Operator::Window { top: Some(_) } => "WindowTopN",
            Operator::Unnest => "Unnest",
            Operator::Apply => "Apply",
        }
    }

    /// The names of this operator and every operator below it, top down (what
    /// EXPLAIN lists and the executor runs).
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            out.push(p.name());
            stack.extend(p.children.iter().rev());
        }
        out
    }
}

impl std::fmt::Debug for PhysicalPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhysicalPlan")
            .field("op", &self.name())
            .field("children", &self.children)
            .finish()
    }
}

/// The input of an operator that folds its input batch by batch (HashAggregate,
/// TopN): a scan's rows, or a join's or a table function's output through any
/// Filter and Project over it, stream into it, so that only the groups or the top
/// rows are held, however many rows come.
fn folded_input<'a>(
    snapshot: &Snapshot,
    input: &'a LogicalPlan,
    opts: &ExecOptions,
) -> Result<PhysicalPlan<'a>> {
    let mut below = input;
    while let LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } = below {
        below = input;
    }
    if !matches!(
        below,
        LogicalPlan::Join { .. } | LogicalPlan::TableFunction { .. }
    ) {
        let mut p = build(snapshot, input, opts)?;
        if let Operator::ScanProject { streamed, .. } = &mut p.op {
            *streamed = true;
        }
        return Ok(p);
    }
    Ok(match input {
        LogicalPlan::Join {
            left, right, on, ..
        } => join(snapshot, input, left, right, on.is_empty(), true, opts)?,
        LogicalPlan::TableFunction { func, .. } => PhysicalPlan {
            node: input,
            op: Operator::TableFunction {
                streamed: true,
                func,
                filters: Vec::new(),
            },
            children: Vec::new(),
        },
        LogicalPlan::Filter { .. } if parquet_chain(input).is_some() => {
            let (func, filters) = parquet_read_with_filters(input)?;
            PhysicalPlan {
                node: input,
                op: Operator::TableFunction {
                    streamed: true,
                    func,
                    filters,
                },
                children: Vec::new(),
            }
        }
        LogicalPlan::Project { input: inner, .. } => PhysicalPlan {
            node: input,
            op: Operator::Project,
            children: vec![folded_input(snapshot, inner, opts)?],
        },
        LogicalPlan::Filter { input: inner, .. } => PhysicalPlan {
            node: input,
            op: Operator::Filter,
            children: vec![folded_input(snapshot, inner, opts)?],
        },
        _ => build(snapshot, input, opts)?,
    })
}

/// Whether `p` streams its output batch by batch into its parent: a streamed
/// HashJoin, ScanProject or TableFunction, or a Filter or Project over one.
pub fn streams_into_parent(p: &PhysicalPlan<'_>) -> bool {
    match p.op {
        Operator::HashJoin { streamed }
        | Operator::NestedLoopJoin { streamed }
        | Operator::ScanProject { streamed, .. }
        | Operator::TableFunction { streamed, .. } => streamed,
        Operator::Filter | Operator::Project => p.children.first().is_some_and(streams_into_parent),
        _ => false,
    }
}

/// A HashJoin of `join` over the plans of its sides, or a NestedLoopJoin when
/// it has no equality keys (`nested`).
fn join<'a>(
    snapshot: &Snapshot,
    join: &'a LogicalPlan,
    left: &'a LogicalPlan,
    right: &'a LogicalPlan,
    nested: bool,
    streamed: bool,
    opts: &ExecOptions,
) -> Result<PhysicalPlan<'a>> {
    Ok(PhysicalPlan {
        node: join,
        op: if nested {
            Operator::NestedLoopJoin { streamed }
        } else {
            Operator::HashJoin { streamed }
        },
        children: vec![build(snapshot, left, opts)?, build(snapshot, right, opts)?],
    })
}

/// Chooses the strategy of every part of `logical` (optimized, its uncorrelated
/// subqueries already folded into literals when it is to run).
pub fn plan<'a>(
    snapshot: &Snapshot,
    logical: &'a LogicalPlan,
    opts: &ExecOptions,
) -> Result<PhysicalPlan<'a>> {
    let mut p = build(snapshot, logical, opts)?;
    mark_unread_keys(&mut p);
    Ok(p)
}

/// The operators of `logical` and its inputs (see [`plan`]).
fn build<'a>(
    snapshot: &Snapshot,
    logical: &'a LogicalPlan,
    opts: &ExecOptions,
) -> Result<PhysicalPlan<'a>> {
    let leaf = |op| PhysicalPlan {
        node: logical,
        op,
        children: Vec::new(),
    };
    let unary = |op, input: &'a LogicalPlan| -> Result<PhysicalPlan<'a>> {
        Ok(PhysicalPlan {
            node: logical,
            op,
            children: vec![build(snapshot, input, opts)?],
        })
    };
    if let Some(sp) = stream::plan(snapshot, logical, opts)? {
        return Ok(leaf(Operator::StreamingAggregate(Box::new(sp))));
    }
    Ok(match logical {
        LogicalPlan::Project { input, exprs } if is_scan_chain(input) => {
            leaf(Operator::ScanProject {
                scan: input,
                info: scan_info(input, opts.use_indexes)?,
                exprs: Cow::Borrowed(exprs),
                streamed: false,
            })
        }
        LogicalPlan::Aggregate { input, group, aggs } if is_scan_chain(input) => {
            match index_only_shape(input, group, aggs).filter(|_| opts.use_indexes) {
                Some((group_col, has_time)) => leaf(Operator::IndexOnlyAggregate {
                    scan: input,
                    info: scan_info(input, true)?,
                    group_col,
                    has_time,
                    group,
                    aggs,
                    top: None,
                }),
                None => leaf(Operator::ScanAggregate {
                    scan: input,
                    info: scan_info(input, opts.use_indexes)?,
                    group,
                    aggs,
                    top: None,
                    unread_keys: Vec::new(),
                }),
            }
        }
        LogicalPlan::Scan { .. } | LogicalPlan::Filter { .. } if is_scan_chain(logical) => {
            // A bare scan: project every scanned column.
            let exprs: Vec<(Expr, String)> = logical
                .schema()
                .into_iter()
                .enumerate()
                .map(|(i, (name, data_type))| {
                    (
                        Expr::Column {
                            index: i,
                            name: name.clone(),
                            data_type,
                        },
                        name,
                    )
                })
                .collect();
            leaf(Operator::ScanProject {
                scan: logical,
                info: scan_info(logical, opts.use_indexes)?,
                exprs: Cow::Owned(exprs),
                streamed: false,
            })
        }
        LogicalPlan::Scan { .. } => {
            return Err(Error::Internal("a scan outside a scan chain".into()))
        }
        LogicalPlan::Filter { .. } if parquet_chain(logical).is_some() => {
            let (func, filters) = parquet_read_with_filters(logical)?;
            leaf(Operator::TableFunction {
                streamed: false,
                func,
                filters,
            })
        }
        LogicalPlan::Filter { input, predicate } => {
            // Between a filter and its windows may sit the optimizer's projection
            // of plain columns that drops what only the windows read: the
            // filter's conditions on the windows are read through it.
            let (projection, window) = match input.as_ref() {
                LogicalPlan::Project {
                    input: inner,
                    exprs,
                } if exprs.iter().all(|(e, _)| matches!(e, Expr::Column { .. })) => {
                    (Some(exprs), inner.as_ref())
                }
                other => (None, other),
            };
            match window {
                LogicalPlan::Window {
                    input: below,
                    windows,
                } => {
                    let mut through = predicate.clone();
                    if let Some(exprs) = projection {
                        through.remap_columns(&|i| match exprs.get(i) {
                            Some((Expr::Column { index, .. }, _)) => *index,
                            _ => usize::MAX,
                        });
                    }
                    let top = crate::plan::window_top(&through, below.schema().len(), windows);
                    let mut child = PhysicalPlan {
                        node: window,
                        op: Operator::Window { top },
                        children: vec![build(snapshot, below, opts)?],
                    };
                    if projection.is_some() {
                        child = PhysicalPlan {
                            node: input,
                            op: Operator::Project,
                            children: vec![child],
                        };
                    }
                    PhysicalPlan {
                        node: logical,
                        op: Operator::Filter,
                        children: vec![child],
                    }
                }
                _ => unary(Operator::Filter, input)?,
            }
        }
        LogicalPlan::Project { input, .. } => unary(Operator::Project, input)?,
        LogicalPlan::Aggregate { input, group, aggs } if parquet_chain(input).is_some() => {
            let (read, filters) =
                parquet_chain(input).ok_or_else(|| Error::Internal("not a Parquet read".into()))?;
            leaf(Operator::ParquetAggregate {
                read,
                filters,
                group,
                aggs,
            })
        }
        LogicalPlan::Aggregate { input, .. } => PhysicalPlan {
            node: logical,
            op: Operator::HashAggregate {
                unread_keys: Vec::new(),
            },
            children: vec![folded_input(snapshot, input, opts)?],
        },
        LogicalPlan::Join {
            left, right, on, ..
        } => join(snapshot, logical, left, right, on.is_empty(), false, opts)?,
        LogicalPlan::Union { inputs } => PhysicalPlan {
            node: logical,
            op: Operator::Union,
            children: inputs
                .iter()
                .map(|i| build(snapshot, i, opts))
                .collect::<Result<_>>()?,
        },
        LogicalPlan::Values { .. } => leaf(Operator::Values),
        LogicalPlan::WorkTable { .. } => leaf(Operator::WorkTable),
        LogicalPlan::RecursiveCte { anchor, step, .. } => PhysicalPlan {
            node: logical,
            op: Operator::RecursiveCte,
            children: vec![build(snapshot, anchor, opts)?, build(snapshot, step, opts)?],
        },
        LogicalPlan::TableFunction { func, .. } => leaf(Operator::TableFunction {
            streamed: false,
            func,
            filters: Vec::new(),
        }),
        LogicalPlan::OneRow => leaf(Operator::OneRow),
        LogicalPlan::Sort {
            input, fetch: None, ..
        } => unary(Operator::Sort, input)?,
        LogicalPlan::Sort {
            input,
            keys,
            fetch: Some(n),
        } => {
            let mut child = folded_input(snapshot, input, opts)?;
            if let Some(first) = keys.first() {
                bound_top_aggregate(&mut child, &first.expr, first.descending, *n);
            }
            PhysicalPlan {
                node: logical,
                op: Operator::TopN,
                children: vec![child],
            }
        }
        LogicalPlan::Limit { input, .. } => match optimize::two_phase_top_n(logical) {
            Some(two) => leaf(Operator::TwoPhaseTopN(Box::new(two))),
            None => unary(Operator::Limit, input)?,
        },
        LogicalPlan::Distinct { input } => unary(Operator::Distinct, input)?,
        LogicalPlan::Window { input, .. } => unary(Operator::Window { top: None }, input)?,
        LogicalPlan::Apply { input, .. } => unary(Operator::Apply, input)?,
        LogicalPlan::Unnest { input, .. } => unary(Operator::Unnest, input)?,
    })
}

/// Gives the ScanAggregate or IndexOnlyAggregate at the bottom of `p` (through
/// projections that pass columns on) the bound of a top-`n` whose first sort key
/// is `key`, when that key is one of its aggregates: a group beaten by `n` others
/// there cannot enter the top-N, so its keys are never built.
fn bound_top_aggregate(p: &mut PhysicalPlan<'_>, key: &Expr, descending: bool, n: usize) {
    let Expr::Column { index, .. } = key else {
        return;
    };
    let mut i = *index;
    let mut p = p;
    loop {
        match (&mut p.op, p.node) {
            (Operator::Project, LogicalPlan::Project { exprs, .. }) => {
                match exprs.get(i) {
                    Some((Expr::Column { index, .. }, _)) => i = *index,
                    _ => return,
                }
                match p.children.first_mut() {
                    Some(c) => p = c,
                    None => return,
                }
            }
            (
                Operator::ScanAggregate {
                    group, aggs, top, ..
                }
                | Operator::IndexOnlyAggregate {
                    group, aggs, top, ..
                },
                _,
            ) => {
                if let Some(agg) = i.checked_sub(group.len()).filter(|a| *a < aggs.len()) {
                    *top = Some(AggBound {
                        agg,
                        value: None,
                        descending,
                        unit_limit: Some(n),
                    });
                }
                return;
            }
            _ => return,
        }
    }
}

/// Marks, in every aggregate whose parent is a HashAggregate or a Project, the
/// group keys that parent does not read: the aggregate still groups by them
/// but does not build their values (`SELECT count(*) FROM (SELECT .. GROUP BY
/// ..)`, or the average of per-user counts, read only the aggregates). Other
/// parents count as reading every column.
fn mark_unread_keys(p: &mut PhysicalPlan<'_>) {
    for c in &mut p.children {
        mark_unread_keys(c);
    }
    let (exprs, input): (Vec<&Expr>, &LogicalPlan) = match (&p.op, p.node) {
        (Operator::HashAggregate { .. }, LogicalPlan::Aggregate { input, group, aggs }) => {
            let args = aggs
                .iter()
                .flat_map(|(a, _)| [&a.arg, &a.arg2, &a.filter].into_iter().flatten());
            (group.iter().map(|(e, _)| e).chain(args).collect(), input)
        }
        (Operator::Project, LogicalPlan::Project { input, exprs }) => {
            (exprs.iter().map(|(e, _)| e).collect(), input)
        }
        _ => return,
    };
    let mut read = vec![false; input.schema().len()];
    for e in exprs {
        e.for_each_column(&mut |i| {
            if let Some(r) = read.get_mut(i) {
                *r = true;
            }
        });
    }
    // The child must produce exactly the parent's input (its columns are the
    // ones `read` numbers).
    let Some(child) = p
        .children
        .first_mut()
        .filter(|c| std::ptr::eq(c.node, input))
    else {
        return;
    };
    let LogicalPlan::Aggregate { group, .. } = child.node else {
        return;
    };
    let unread: Vec<bool> = (0..group.len())
        .map(|k| !read.get(k).copied().unwrap_or(true))
        .collect();
    if !unread.contains(&true) {
        return;
    }
    match &mut child.op {
        Operator::ScanAggregate { unread_keys, .. } | Operator::HashAggregate { unread_keys } => {
            *unread_keys = unread
        }
        Operator::StreamingAggregate(sp) if std::ptr::eq(sp.aggregate(), child.node) => {
            sp.unread_keys = unread
        }
        _ => {}
    }
}

/// Derives the scan hints of `plan` anew once its subqueries became literals (a
/// literal time bound then prunes partitions like any other).
pub(crate) fn after_subqueries(plan: &mut LogicalPlan) {
    optimize::refresh_scan_hints(plan);
}

/// Phase 2 of a two-phase top-N (`limit` its LIMIT node): the original aggregation
/// with its scan filtered by `keys` (the phase-1 winners), scan hints derived anew.
/// Planned when phase 1 has run, since its keys are its input.
pub(crate) fn phase2(limit: &LogicalPlan, keys: Expr) -> Result<LogicalPlan> {
    optimize::top_n_phase2(limit, keys)
        .ok_or_else(|| Error::Internal("two-phase top-N: no phase 2 for this plan".into()))
}

/// What a scan pipeline reads: the scan at the bottom of a `Filter* -> Scan` chain,
/// its filters split into index predicates and the rest.
#[derive(Clone, Debug)]
pub struct ScanInfo<'a> {
    pub(crate) table: &'a str,
    pub(crate) columns: &'a [usize],
    pub(crate) time_range: Option<(i64, i64)>,
    pub(crate) zone: &'a [ZonePredicate],
    pub(crate) filters: Vec<&'a Expr>,
    /// Conjuncts answered by bitmap indexes (empty when indexes are off).
    pub(crate) index: Vec<IndexPredicate>,
    /// The conjuncts of `filters` that are not in `index`: all a segment whose
    /// indexes answered every index predicate still has to evaluate.
    pub(crate) residual: Vec<&'a Expr>,
}

/// The scan at the bottom of a `Filter* -> Scan` chain, with the filter's index
/// predicates when `use_indexes`.
pub(crate) fn scan_info(plan: &LogicalPlan, use_indexes: bool) -> Result<ScanInfo<'_>> {
    let mut filters = Vec::new();
    let mut p = plan;
    loop {
        match p {
            LogicalPlan::Filter { input, predicate } => {
                filters.push(predicate);
                p = input;
            }
            LogicalPlan::Scan {
                table,
                schema,
                columns,
                time_range,
                zone_predicates,
            } => {
                let mut index = Vec::new();
                let mut residual = Vec::new();
                for f in &filters {
                    for c in Expr::conjuncts(f) {
                        match optimize::classify_conjunct(c, columns, schema) {
                            ConjunctUse::Index(p) if use_indexes => index.push(p),
                            _ => residual.push(c),
                        }
                    }
                }
                return Ok(ScanInfo {
                    table,
                    columns,
                    time_range: *time_range,
                    zone: zone_predicates,
                    filters,
                    index,
                    residual,
                });
            }
            _ => return Err(Error::Internal("not a scan chain".into())),
        }
    }
}

/// Whether an aggregate over `input` can be answered from index cardinalities:
/// only `count(*)`, grouped by nothing or by one indexed column, under a filter made
/// only of index predicates and time comparisons. Returns the group column (table
/// position) and whether time conjuncts are present.
pub fn index_only_shape(
    input: &LogicalPlan,
    group: &[(Expr, String)],
    aggs: &[(AggExpr, String)],
) -> Option<(Option<usize>, bool)> {
    use crate::plan::AggFunc;
    if aggs.is_empty()
        || aggs
            .iter()
            .any(|(a, _)| a.func != AggFunc::CountStar || a.distinct || a.filter.is_some())
    {
        // Only a plain count(*) is a sum of index cardinalities (a FILTER needs rows).
        return None;
    }
    let info = scan_info(input, true).ok()?;
    let LogicalPlan::Scan { schema, .. } = scan_of(input) else {
        return None;
    };
    let group_col = match group {
        [] => None,
        [(Expr::Column { index, .. }, _)] => {
            let c = *info.columns.get(*index)?;
            if !schema.is_indexed(c) {
                return None;
            }
            Some(c)
        }
        _ => return None,
    };
    let mut has_time = false;
    for f in &info.filters {
        for c in Expr::conjuncts(f) {
            match optimize::classify_conjunct(c, info.columns, schema) {
                ConjunctUse::Index(_) => {}
                ConjunctUse::Time => has_time = true,
                ConjunctUse::Other => return None,
            }
        }
    }
    if has_time && info.time_range.is_none() {
        return None;
    }
    Some((group_col, has_time))
}

fn scan_of(plan: &LogicalPlan) -> &LogicalPlan {
    match plan {
        LogicalPlan::Filter { input, .. } => scan_of(input),
        other => other,
    }
}

/// The plan under a chain of filters, and the chain's predicates (outermost
/// first).
fn under_filters(plan: &LogicalPlan) -> (&LogicalPlan, Vec<&Expr>) {
    let mut filters = Vec::new();
    let mut p = plan;
    while let LogicalPlan::Filter { input, predicate } = p {
        filters.push(predicate);
        p = input;
    }
    (p, filters)
}

/// The Parquet read at the bottom of a `Filter* -> read_parquet` chain and the
/// chain's filter predicates (outermost first); `None` for any other plan, and
/// always without the `arrow` feature (the read fails as a table function).
pub(crate) fn parquet_chain(plan: &LogicalPlan) -> Option<(&FileRead, Vec<&Expr>)> {
    let (p, filters) = under_filters(plan);
    match p {
        LogicalPlan::TableFunction {
            func: TableFunc::ReadFile(read),
            ..
        } if read.format == "parquet" && cfg!(feature = "arrow") => Some((read, filters)),
        _ => None,
    }
}

/// The table function and filters of a `Filter+ -> read_parquet` chain.
fn parquet_read_with_filters(plan: &LogicalPlan) -> Result<(&TableFunc, Vec<&Expr>)> {
    let (p, filters) = under_filters(plan);
    match p {
        LogicalPlan::TableFunction { func, .. } => Ok((func, filters)),
        _ => Err(Error::Internal("not a table function under filters".into())),
    }
}

/// Whether `plan` is `Filter* -> Scan`.
pub(super) fn is_scan_chain(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Scan { .. } => true,
        LogicalPlan::Filter { input, .. } => is_scan_chain(input),
        _ => false,
    }
}
