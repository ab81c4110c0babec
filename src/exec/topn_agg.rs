//! Two-phase top-N aggregation: `GROUP BY .. ORDER BY <cheap> LIMIT n` with
//! expensive aggregates (exact quantiles, DISTINCT, sketches, arg_max/arg_min).
//!
//! Phase 1 ranks the groups with the cheap aggregates only (a `count(*)` grouped
//! by an indexed column is then answered from bitmap cardinalities) and keeps the
//! top `OFFSET + LIMIT` keys; phase 2 runs the original aggregation on the rows
//! of those keys only (`key IN (..)`, which the bitmap index answers), then the
//! original sort and limit on exact values. The shape is recognized by
//! [`crate::plan::optimize::two_phase_top_n`] and chosen by the physical planner;
//! group keys are deterministic (no subqueries).

use hashbrown::HashSet;

use super::vector::Vector;
use super::{agg, ExecOptions, ExecStats};
use crate::column::{Batch, Value};
use crate::error::{Error, Result};
use crate::plan::optimize::TwoPhaseTopN;
use crate::plan::{BinaryOp, Expr, LogicalPlan};
use crate::schema::DataType;
use crate::storage::Snapshot;

/// Runs `plan` (a LIMIT over a top-N aggregation, `two` its split) in two phases:
/// phase 1 ranks the groups, phase 2 aggregates the rows of the kept keys.
pub(crate) fn run(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    two: &TwoPhaseTopN,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    let LogicalPlan::Limit { skip, fetch, .. } = plan else {
        return Err(Error::Internal(
            "two-phase top-N over a non-LIMIT node".into(),
        ));
    };
    let top = super::run(snapshot, &two.phase1, opts, stats, None)?;
    let phase2 = super::physical::phase2(plan, key_filter(&top, &two.keys))?;
    let budget = fetch.map(|f| f.saturating_add(*skip));
    let batches = super::run(snapshot, &phase2, opts, stats, budget)?;
    Ok(super::limit::limit(batches, *skip, *fetch))
}

/// The conjunction over the group keys of "key is one of the values phase 1
/// kept" (column `i` of `top` holds key `i`). A NULL key matches with IS NULL.
fn key_filter(top: &[Batch], keys: &[Expr]) -> Expr {
    let mut parts = Vec::with_capacity(keys.len());
    let mut buf = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let t = key.data_type();
        let mut seen: HashSet<Box<[u8]>> = HashSet::new();
        let mut list = Vec::new();
        let mut has_null = false;
        for b in top {
            let Some(c) = b.columns.get(k) else {
                continue;
            };
            let v = Vector::from_column(c);
            for r in 0..b.num_rows() {
                let value = c.value(r);
                if value == Value::Null {
                    has_null = true;
                    continue;
                }
                buf.clear();
                agg::encode(&mut buf, &v, r, false);
                if seen.insert(buf.as_slice().into()) {
                    list.push(Expr::literal(value, t));
                }
            }
        }
        let in_list = Expr::InList {
            expr: Box::new(key.clone()),
            list,
            negated: false,
            set: Default::default(),
        };
        let is_null = Expr::IsNull {
            expr: Box::new(key.clone()),
            negated: false,
        };
        parts.push(match (&in_list, has_null) {
            (Expr::InList { list, .. }, true) if list.is_empty() => is_null,
            (Expr::InList { list, .. }, false) if list.is_empty() => {
                Expr::literal(Value::Bool(false), DataType::Boolean)
            }
            (_, true) => or(in_list, is_null),
            (_, false) => in_list,
        });
    }
    parts
        .into_iter()
        .reduce(|a, b| Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(a),
            right: Box::new(b),
            data_type: DataType::Boolean,
        })
        .unwrap_or_else(|| Expr::literal(Value::Bool(true), DataType::Boolean))
}

fn or(a: Expr, b: Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::Or,
        left: Box::new(a),
        right: Box::new(b),
        data_type: DataType::Boolean,
    }
}
