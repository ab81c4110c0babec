//! Scan hints derived from the WHERE clause: the time range that prunes partitions
//! and segments, and the simple predicates that skip blocks by their zone maps.
//!
//! Both are conservative: the filter itself is always kept and re-evaluated, so a
//! hint only has to never exclude a row the filter would keep.

use super::plan::{BinaryOp, Expr, ZonePredicate};
use crate::column::Value;
use crate::schema::TableSchema;

/// Splits `e` into its top-level AND conjuncts.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
                ..
            } => {
                stack.push(right);
                stack.push(left);
            }
            other => out.push(other),
        }
    }
    out
}

/// `column <op> literal` (either order) with a non-NULL literal, normalized so the
/// column is on the left.
fn column_vs_literal(e: &Expr) -> Option<(usize, BinaryOp, &Value)> {
    let Expr::Binary {
        op, left, right, ..
    } = e
    else {
        return None;
    };
    if !op.is_comparison() {
        return None;
    }
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, Expr::Literal { value, .. }) if *value != Value::Null => {
            Some((*index, *op, value))
        }
        (Expr::Literal { value, .. }, Expr::Column { index, .. }) if *value != Value::Null => {
            Some((*index, op.flip(), value))
        }
        _ => None,
    }
}

/// The time range `[start, end)` and the zone-map predicates implied by `predicate`
/// (bound against the table's columns).
pub fn scan_hints(
    predicate: &Expr,
    schema: &TableSchema,
) -> (Option<(i64, i64)>, Vec<ZonePredicate>) {
    let time_col = schema.time_index();
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    let mut has_range = false;
    let mut zone = Vec::new();
    for c in conjuncts(predicate) {
        let Some((col, op, value)) = column_vs_literal(c) else {
            continue;
        };
        if Some(col) == time_col {
            if let Value::Int(v) = *value {
                let before = (lo, hi);
                match op {
                    BinaryOp::GtEq => lo = lo.max(v),
                    BinaryOp::Gt => lo = lo.max(v.saturating_add(1)),
                    BinaryOp::Lt => hi = hi.min(v),
                    BinaryOp::LtEq => hi = hi.min(v.saturating_add(1)),
                    BinaryOp::Eq => {
                        lo = lo.max(v);
                        hi = hi.min(v.saturating_add(1));
                    }
                    _ => {}
                }
                has_range |= (lo, hi) != before || op != BinaryOp::NotEq;
            }
        }
        if op != BinaryOp::NotEq {
            zone.push(ZonePredicate {
                column: col,
                op,
                value: value.clone(),
            });
        }
    }
    let range = if has_range {
        // An empty range is kept as is: it prunes everything.
        Some((lo, hi.max(lo)))
    } else {
        None
    };
    (range, zone)
}
