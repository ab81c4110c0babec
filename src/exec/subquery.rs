//! Uncorrelated subqueries in expressions: each runs once before the query that
//! holds it, and its result replaces it as a literal (scalar, EXISTS) or a literal
//! IN list (`x IN (SELECT ...)` outside a top-level WHERE conjunct, which the
//! binder plans as a semi join; a semi join whose subquery returns few values
//! becomes such a list too). Scan hints are then recomputed, so a time bound that
//! came from a subquery still prunes partitions.

use std::borrow::Cow;

use hashbrown::HashSet;

use super::memory::Reservation;
use super::vector::Vector;
use super::{agg, execute_with_stats, ExecOptions, ExecStats};
use crate::column::{Batch, Value};
use crate::error::{Error, Result};
use crate::plan::{Expr, JoinKind, LogicalPlan, Subquery, SubqueryKind};
use crate::schema::DataType;
use crate::storage::Snapshot;

/// `plan` with its subqueries replaced by their results (borrowed unchanged when
/// it has none).
pub(crate) fn resolve<'p>(
    snapshot: &Snapshot,
    plan: &'p LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Cow<'p, LogicalPlan>> {
    if !plan.has_subquery() && !has_semi_join(plan) {
        return Ok(Cow::Borrowed(plan));
    }
    let mut plan = plan.clone();
    resolve_node(snapshot, &mut plan, opts, stats)?;
    super::physical::after_subqueries(&mut plan);
    Ok(Cow::Owned(plan))
}

/// The subquery of a semi/anti join runs first; when it returns at most this many
/// distinct values the join becomes an `x [NOT] IN (literals)` filter, so the
/// probe side stays in the scan pipeline, where bitmap indexes and index-only
/// counts apply.
const SMALL_IN_LIST: usize = 64;

fn is_semi_join(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Join {
            right,
            kind: JoinKind::Semi | JoinKind::Anti,
            on,
            ..
        } => on.len() == 1 && !matches!(right.as_ref(), LogicalPlan::Values { .. }),
        _ => false,
    }
}

fn has_semi_join(plan: &LogicalPlan) -> bool {
    is_semi_join(plan) || plan.inputs().iter().any(|i| has_semi_join(i))
}

/// Turns a semi/anti join with few values into a filter with a literal IN list
/// (same NULL semantics); otherwise the join keeps the subquery's rows.
fn semi_join_to_in_list(
    snapshot: &Snapshot,
    plan: &mut LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<()> {
    let LogicalPlan::Join {
        left,
        right,
        kind,
        on,
        ..
    } = plan
    else {
        return Ok(());
    };
    let result = execute_with_stats(snapshot, right, opts, stats)?;
    let key = on[0].0.clone();
    let pool = stats.memory(opts.memory_limit);
    let mut rows = pool.reservation("subquery results");
    rows.resize(result.batches.iter().map(Batch::heap_bytes).sum())?;
    let mut mem = pool.reservation("subquery results");
    let Some(list) = distinct_literals(&result, key.data_type(), SMALL_IN_LIST, &mut mem)? else {
        // The rows stay in the plan (as the join's input) until the query ends.
        stats.hold(rows);
        **right = LogicalPlan::Values {
            columns: result.columns,
            batches: result.batches,
        };
        return Ok(());
    };
    let in_list = Expr::InList {
        expr: Box::new(key),
        list,
        negated: *kind == JoinKind::Anti,
        set: Default::default(),
    };
    let input = left.take();
    *plan = match input {
        // One filter above the scan, so that the list also becomes scan hints.
        LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter {
            input,
            predicate: Expr::Binary {
                op: crate::plan::BinaryOp::And,
                left: Box::new(predicate),
                right: Box::new(in_list),
                data_type: DataType::Boolean,
            },
        },
        other => LogicalPlan::Filter {
            input: Box::new(other),
            predicate: in_list,
        },
    };
    Ok(())
}

/// The distinct values of the first column of `result` as literals of type `t`,
/// or `None` when there are more than `most`. The set and the list count
/// against `mem`.
fn distinct_literals(
    result: &super::QueryResult,
    t: DataType,
    most: usize,
    mem: &mut Reservation,
) -> Result<Option<Vec<Expr>>> {
    // A set entry's box and table slot, and a literal's node, besides the bytes.
    const PER_VALUE: usize = 48 + std::mem::size_of::<Expr>();
    let mut seen: HashSet<Box<[u8]>> = HashSet::new();
    let mut list = Vec::new();
    let mut buf = Vec::new();
    let mut bytes = 0;
    for b in &result.batches {
        let Some(c) = b.columns.first() else {
            continue;
        };
        let v = Vector::from_column(c);
        for r in 0..b.num_rows() {
            buf.clear();
            agg::encode(&mut buf, &v, r, false);
            if seen.insert(buf.as_slice().into()) {
                if list.len() == most {
                    return Ok(None);
                }
                list.push(Expr::literal(c.value(r), t));
                bytes += PER_VALUE + 2 * buf.len();
                mem.resize(bytes)?;
            }
        }
    }
    Ok(Some(list))
}

fn resolve_node(
    snapshot: &Snapshot,
    plan: &mut LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<()> {
    if is_semi_join(plan) {
        semi_join_to_in_list(snapshot, plan, opts, stats)?;
    }
    for e in plan.exprs_mut() {
        if !e.has_subquery() {
            continue;
        }
        e.transform_mut(&mut |x| match x {
            Expr::Subquery(s) => value_of(snapshot, *s, opts, stats),
            other => Ok(fold(other)),
        })?;
    }
    for i in plan.inputs_mut() {
        resolve_node(snapshot, i, opts, stats)?;
    }
    Ok(())
}

/// `e` as a literal when it is an operation on literals only (so that
/// `ts > (SELECT max(ts) ...) - INTERVAL 1 HOUR` becomes a time range). An
/// operation that fails is left as it is: it fails only if some row reaches it.
fn fold(e: Expr) -> Expr {
    let foldable = match &e {
        Expr::Literal { .. } | Expr::Column { .. } | Expr::Subquery(_) => false,
        other => !other.exists(&mut |x| matches!(x, Expr::Column { .. } | Expr::Subquery(_))),
    };
    if !foldable {
        return e;
    }
    let t = e.data_type();
    match super::vector::eval(&e, &[], 1) {
        Ok(v) => Expr::literal(v.value(0, t), t),
        Err(_) => e,
    }
}

/// Runs one subquery and returns the expression that replaces it.
pub(super) fn value_of(
    snapshot: &Snapshot,
    s: Subquery,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Expr> {
    let result = execute_with_stats(snapshot, &s.plan, opts, stats)?;
    let rows = result.num_rows();
    match s.kind {
        SubqueryKind::Scalar => {
            if rows > 1 && opts.scalar_subquery_error_on_multiple_rows {
                return Err(Error::InvalidInput(
                    "More than one row returned by a subquery used as an expression - scalar \
                     subqueries can only return a single row"
                        .into(),
                ));
            }
            let v = result
                .batches
                .iter()
                .find(|b| b.num_rows() > 0)
                .and_then(|b| b.columns.first().map(|c| c.value(0)))
                .unwrap_or(Value::Null);
            Ok(Expr::literal(v, s.data_type))
        }
        SubqueryKind::Exists { negated } => Ok(Expr::literal(
            Value::Bool((rows > 0) != negated),
            DataType::Boolean,
        )),
        SubqueryKind::In { expr, negated } => {
            // Distinct values (one NULL at most: it only matters that there is one),
            // held by the plan until the query ends.
            let pool = stats.memory(opts.memory_limit);
            // The rows, while their values are taken out.
            let mut rows = pool.reservation("subquery results");
            rows.resize(result.batches.iter().map(Batch::heap_bytes).sum())?;
            let mut mem = pool.reservation("subquery results");
            let list = distinct_literals(&result, expr.data_type(), usize::MAX, &mut mem)?
                .unwrap_or_default();
            stats.hold(mem);
            Ok(Expr::InList {
                expr: Box::new(expr),
                list,
                negated,
                set: Default::default(),
            })
        }
    }
}
