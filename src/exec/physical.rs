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
//! - operators over materialized inputs: filter, projection, hash aggregate, hash
//!   join, union, sort, top-N, limit, distinct, values.
//!
//! The executor dispatches on the operator and never re-decides. Operators that need
//! all their input (sort, hash aggregate, the build side of a join) and streaming
//! ones (the scan pipeline, limit) are nodes of the same tree; the parallelism is
//! inside the pipeline operators. EXPLAIN prints this tree ([`PhysicalPlan::name`],
//! [`PhysicalPlan::children`]), and EXPLAIN ANALYZE measures the same nodes.

use std::borrow::Cow;

use super::stream::{self, StreamPlan};
use super::{index_only_shape, is_scan_chain, ExecOptions};
use crate::error::{Error, Result};
use crate::plan::optimize::{self, TwoPhaseTopN};
use crate::plan::{AggExpr, Expr, LogicalPlan};
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
    /// the rows of `exprs`.
    ScanProject {
        scan: &'a LogicalPlan,
        exprs: Cow<'a, [(Expr, String)]>,
    },
    /// The parallel scan pipeline folding rows into per-thread hash aggregates
    /// (packed keys, dense key arrays, counts from zone maps and dictionaries),
    /// merged at the end.
    ScanAggregate {
        scan: &'a LogicalPlan,
        group: &'a [(Expr, String)],
        aggs: &'a [(AggExpr, String)],
    },
    /// `count(*)` (by an indexed column) answered from bitmap-index counts;
    /// segments a time range cuts through are scanned.
    IndexOnlyAggregate {
        scan: &'a LogicalPlan,
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
    /// A hash aggregate over a materialized input.
    HashAggregate,
    HashJoin,
    Union,
    Values,
    OneRow,
    /// A full sort.
    Sort,
    /// ORDER BY .. LIMIT n: a bounded heap.
    TopN,
    Limit,
    Distinct,
}

impl PhysicalPlan<'_> {
    /// The operator's name, as EXPLAIN prints it.
    pub fn name(&self) -> &'static str {
        match &self.op {
            Operator::ScanProject { .. } => "ScanProject",
            Operator::ScanAggregate { .. } => "ScanAggregate",
            Operator::IndexOnlyAggregate { .. } => "IndexOnlyAggregate",
            Operator::StreamingAggregate(_) => "StreamingAggregate",
            Operator::TwoPhaseTopN(_) => "TwoPhaseTopN",
            Operator::Filter => "Filter",
            Operator::Project => "Project",
            Operator::HashAggregate => "HashAggregate",
            Operator::HashJoin => "HashJoin",
            Operator::Union => "Union",
            Operator::Values => "Values",
            Operator::OneRow => "OneRow",
            Operator::Sort => "Sort",
            Operator::TopN => "TopN",
            Operator::Limit => "Limit",
            Operator::Distinct => "Distinct",
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

/// Chooses the strategy of every part of `logical` (optimized, its uncorrelated
/// subqueries already folded into literals when it is to run).
pub fn plan<'a>(
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
            children: vec![plan(snapshot, input, opts)?],
        })
    };
    if let Some(sp) = stream::plan(snapshot, logical, opts)? {
        return Ok(leaf(Operator::StreamingAggregate(Box::new(sp))));
    }
    Ok(match logical {
        LogicalPlan::Project { input, exprs } if is_scan_chain(input) => {
            leaf(Operator::ScanProject {
                scan: input,
                exprs: Cow::Borrowed(exprs),
            })
        }
        LogicalPlan::Aggregate { input, group, aggs } if is_scan_chain(input) => {
            if opts.use_indexes && index_only_shape(input, group, aggs).is_some() {
                leaf(Operator::IndexOnlyAggregate {
                    scan: input,
                    group,
                    aggs,
                })
            } else {
                leaf(Operator::ScanAggregate {
                    scan: input,
                    group,
                    aggs,
                })
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
                exprs: Cow::Owned(exprs),
            })
        }
        LogicalPlan::Scan { .. } => {
            return Err(Error::Internal("a scan outside a scan chain".into()))
        }
        LogicalPlan::Filter { input, .. } => unary(Operator::Filter, input)?,
        LogicalPlan::Project { input, .. } => unary(Operator::Project, input)?,
        LogicalPlan::Aggregate { input, .. } => unary(Operator::HashAggregate, input)?,
        LogicalPlan::Join { left, right, .. } => PhysicalPlan {
            node: logical,
            op: Operator::HashJoin,
            children: vec![plan(snapshot, left, opts)?, plan(snapshot, right, opts)?],
        },
        LogicalPlan::Union { inputs } => PhysicalPlan {
            node: logical,
            op: Operator::Union,
            children: inputs
                .iter()
                .map(|i| plan(snapshot, i, opts))
                .collect::<Result<_>>()?,
        },
        LogicalPlan::Values { .. } => leaf(Operator::Values),
        LogicalPlan::OneRow => leaf(Operator::OneRow),
        LogicalPlan::Sort {
            input, fetch: None, ..
        } => unary(Operator::Sort, input)?,
        LogicalPlan::Sort { input, .. } => unary(Operator::TopN, input)?,
        LogicalPlan::Limit { input, .. } => match optimize::two_phase_top_n(logical) {
            Some(two) => leaf(Operator::TwoPhaseTopN(Box::new(two))),
            None => unary(Operator::Limit, input)?,
        },
        LogicalPlan::Distinct { input } => unary(Operator::Distinct, input)?,
    })
}

/// Phase 2 of a two-phase top-N (`limit` its LIMIT node): the original aggregation
/// with its scan filtered by `keys` (the phase-1 winners), scan hints derived anew.
/// Planned when phase 1 has run, since its keys are its input.
pub(crate) fn phase2(limit: &LogicalPlan, keys: Expr) -> Result<LogicalPlan> {
    optimize::top_n_phase2(limit, keys)
        .ok_or_else(|| Error::Internal("two-phase top-N: no phase 2 for this plan".into()))
}
