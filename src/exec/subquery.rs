//! Uncorrelated subqueries in expressions: each runs once before the query that
//! holds it, and its result replaces it as a literal (scalar, EXISTS) or a literal
//! IN list (`x IN (SELECT ...)` outside a top-level WHERE conjunct, which the
//! binder plans as a semi join). Scan hints are then recomputed, so a time bound
//! that came from a subquery still prunes partitions.

use std::borrow::Cow;

use hashbrown::HashSet;

use super::vector::Vector;
use super::{agg, execute_with_stats, ExecOptions, ExecStats};
use crate::column::Value;
use crate::db::Snapshot;
use crate::error::{Error, Result};
use crate::schema::DataType;
use crate::sql::optimize;
use crate::sql::plan::{Expr, LogicalPlan, Subquery, SubqueryKind};

/// `plan` with its subqueries replaced by their results (borrowed unchanged when
/// it has none).
pub(crate) fn resolve<'p>(
    snapshot: &Snapshot,
    plan: &'p LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Cow<'p, LogicalPlan>> {
    if !plan.has_subquery() {
        return Ok(Cow::Borrowed(plan));
    }
    let mut plan = plan.clone();
    resolve_node(snapshot, &mut plan, opts, stats)?;
    optimize::refresh_scan_hints(&mut plan);
    Ok(Cow::Owned(plan))
}

fn resolve_node(
    snapshot: &Snapshot,
    plan: &mut LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<()> {
    for e in plan.exprs_mut() {
        if !e.has_subquery() {
            continue;
        }
        let taken = std::mem::replace(e, Expr::literal(Value::Null, DataType::Boolean));
        *e = taken.transform(&mut |x| match x {
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
        other => {
            let mut all_literal = true;
            other.visit(&mut |x| {
                all_literal &= !matches!(x, Expr::Column { .. } | Expr::Subquery(_))
            });
            all_literal
        }
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
fn value_of(
    snapshot: &Snapshot,
    s: Subquery,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Expr> {
    let result = execute_with_stats(snapshot, &s.plan, opts, stats)?;
    let rows = result.num_rows();
    match s.kind {
        SubqueryKind::Scalar => {
            if rows > 1 {
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
            let t = expr.data_type();
            // Distinct values (one NULL at most: it only matters that there is one).
            let mut seen: HashSet<Box<[u8]>> = HashSet::new();
            let mut list = Vec::new();
            let mut buf = Vec::new();
            for b in &result.batches {
                let Some(c) = b.columns.first() else {
                    continue;
                };
                let v = Vector::from_column(c);
                for r in 0..b.num_rows() {
                    buf.clear();
                    agg::encode(&mut buf, &v, r, false);
                    if seen.insert(buf.as_slice().into()) {
                        list.push(Expr::literal(c.value(r), t));
                    }
                }
            }
            Ok(Expr::InList {
                expr: Box::new(expr),
                list,
                negated,
            })
        }
    }
}
