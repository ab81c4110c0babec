//! Query verification (`PRAGMA enable_verification`, `PRAGMA verify_parallelism`,
//! `SET verification = true`): a query's plan runs a second time through a
//! deliberately different path and the statement fails with "verification
//! failed: ..." when the two results differ.
//!
//! - `verification`: the check run has one thread, no bitmap indexes and no
//!   aggregate cache, so it takes the plain scan paths (no index candidates, no
//!   index-only counts, no cached group tables, no parallel merges).
//! - `verify_parallelism`: the query runs on one thread and the check on
//!   several (the session's threads, at least two).
//!
//! Both runs execute the same bound plan (so `now()` is the same instant). The
//! results are compared as multisets of rows (sorted first), DOUBLEs to a
//! relative tolerance of 1e-9, since a different summation order may change
//! the last bits. A plan whose rows are not determined by its input (LIMIT or
//! OFFSET, window functions that number or pick rows among ties, `first`,
//! `any_value`, `arg_min`/`arg_max`, `approx_quantile`) is compared by its row
//! count and column types only.

use std::cmp::Ordering;

use crate::column::Value;
use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions, QueryResult};
use crate::plan::window::{FrameUnits, WindowFunc};
use crate::plan::{AggFunc, Expr, LogicalPlan, ScalarFunc};
use crate::storage::Snapshot;

/// Relative difference up to which two DOUBLEs count as equal.
const FLOAT_TOLERANCE: f64 = 1e-9;

/// Runs a bound, optimized `plan`, and when `options` ask for verification
/// also the check runs, comparing their results with the one returned.
pub(super) fn execute(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    options: &ExecOptions,
) -> Result<QueryResult> {
    if !options.verification && !options.verify_parallelism {
        return exec::execute(snapshot, plan, options);
    }
    let mut first = options.clone();
    let mut checks = Vec::new();
    if options.verify_parallelism {
        first.threads = 1;
        checks.push((
            "the parallel run",
            ExecOptions {
                threads: options.threads.max(2),
                ..options.clone()
            },
        ));
    }
    if options.verification {
        checks.push((
            "the check run (one thread, no indexes, no aggregate cache)",
            ExecOptions {
                threads: 1,
                use_indexes: false,
                aggregate_cache: false,
                ..options.clone()
            },
        ));
    }
    let result = exec::execute(snapshot, plan, &first)?;
    let loose = undetermined(plan);
    for (what, check) in checks {
        let other = match exec::execute(snapshot, plan, &check) {
            Ok(r) => r,
            Err(e @ (Error::Cancelled | Error::ResourcesExhausted(_))) => return Err(e),
            Err(e) => {
                return Err(Error::Internal(format!(
                    "verification failed: the query succeeded but {what} failed: {e}"
                )))
            }
        };
        if let Some(diff) = difference(&result, &other, loose) {
            return Err(Error::Internal(format!(
                "verification failed: {what} differs from the query's result: {diff}"
            )));
        }
    }
    Ok(result)
}

/// Why `plan`'s rows are not determined by its input alone (`None` when they are).
fn undetermined(plan: &LogicalPlan) -> Option<&'static str> {
    let own = match plan {
        LogicalPlan::Limit { .. } | LogicalPlan::Sort { fetch: Some(_), .. } => {
            Some("LIMIT / OFFSET")
        }
        LogicalPlan::Aggregate { aggs, .. } => aggs
            .iter()
            .any(|(a, _)| order_sensitive(a.func))
            .then_some("an aggregate that picks a row"),
        LogicalPlan::Window { windows, .. } => windows
            .iter()
            .any(|(w, _)| match w.func {
                WindowFunc::Rank
                | WindowFunc::DenseRank
                | WindowFunc::PercentRank
                | WindowFunc::CumeDist => false,
                WindowFunc::Agg(f) => order_sensitive(f) || w.frame.units == FrameUnits::Rows,
                _ => true,
            })
            .then_some("a window function over rows in an order ties leave open"),
        LogicalPlan::Apply { subquery, .. } => undetermined(&subquery.plan),
        _ => None,
    };
    own.or_else(|| {
        plan.exprs()
            .into_iter()
            .find_map(|e| {
                let mut found = None;
                e.visit(&mut |x| match x {
                    Expr::Subquery(s) => found = found.or_else(|| undetermined(&s.plan)),
                    Expr::Func {
                        func: ScalarFunc::Random,
                        ..
                    } => found = found.or(Some("random()")),
                    _ => {}
                });
                found
            })
            .or_else(|| plan.inputs().into_iter().find_map(undetermined))
    })
}

fn order_sensitive(f: AggFunc) -> bool {
    matches!(
        f,
        AggFunc::AnyValue
            | AggFunc::First
            | AggFunc::Last
            | AggFunc::StringAgg
            | AggFunc::List
            | AggFunc::Mode
            | AggFunc::ArgMax
            | AggFunc::ArgMin
            | AggFunc::ArgBestNulls { .. }
            | AggFunc::ApproxQuantile
    )
}

/// How `b` differs from `a` (`None`: they agree). With `loose` set only the
/// row counts and column types are compared.
fn difference(a: &QueryResult, b: &QueryResult, loose: Option<&str>) -> Option<String> {
    let types = |r: &QueryResult| r.columns.iter().map(|(_, t)| *t).collect::<Vec<_>>();
    if types(a) != types(b) {
        return Some(format!(
            "column types {:?} instead of {:?}",
            types(b),
            types(a)
        ));
    }
    let (mut ra, mut rb) = (a.rows(), b.rows());
    if ra.len() != rb.len() {
        let why = loose.map_or(String::new(), |w| format!(" (rows compared by count: {w})"));
        return Some(format!("{} rows instead of {}{why}", rb.len(), ra.len()));
    }
    if loose.is_some() {
        return None;
    }
    ra.sort_by(|x, y| cmp_rows(x, y));
    rb.sort_by(|x, y| cmp_rows(x, y));
    let (i, (x, y)) = ra
        .iter()
        .zip(&rb)
        .enumerate()
        .find(|(_, (x, y))| !rows_equal(x, y))?;
    Some(format!(
        "row {} in sorted order is {} instead of {}",
        i + 1,
        show(y),
        show(x)
    ))
}

fn show(row: &[Value]) -> String {
    let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
    format!("({})", cells.join(", "))
}

fn cmp_rows(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_values(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// A total order over values: NULL first, then by kind, then by value.
fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Ip(x), Value::Ip(y)) => x.cmp(y),
        _ => kind(a)
            .cmp(&kind(b))
            .then_with(|| format!("{a:?}").cmp(&format!("{b:?}"))),
    }
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) => 2,
        Value::Float(_) => 3,
        Value::Str(_) => 4,
        Value::Ip(_) => 5,
        #[allow(unreachable_patterns)]
        _ => 6,
    }
}

fn rows_equal(a: &[Value], b: &[Value]) -> bool {
    a.iter().zip(b).all(|(x, y)| match (x, y) {
        (Value::Float(x), Value::Float(y)) => floats_equal(*x, *y),
        _ => cmp_values(x, y).is_eq(),
    })
}

fn floats_equal(x: f64, y: f64) -> bool {
    if x == y || (x.is_nan() && y.is_nan()) {
        return true;
    }
    if x.is_infinite() || y.is_infinite() {
        return false;
    }
    (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_agree_to_a_relative_tolerance() {
        assert!(floats_equal(0.1 + 0.2, 0.3));
        assert!(floats_equal(f64::NAN, f64::NAN));
        assert!(floats_equal(f64::INFINITY, f64::INFINITY));
        assert!(!floats_equal(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!floats_equal(1.0, 1.0001));
        assert!(!floats_equal(0.0, 1e-300));
    }

    #[test]
    fn rows_compare_as_multisets() {
        let rows = |v: &[(i64, f64)]| {
            let mut c0 = crate::column::Column::new(crate::column::ColumnData::Int64(Vec::new()));
            let mut c1 = crate::column::Column::new(crate::column::ColumnData::Float64(Vec::new()));
            for (i, f) in v {
                crate::exec::vector::push_value(&mut c0, &Value::Int(*i));
                crate::exec::vector::push_value(&mut c1, &Value::Float(*f));
            }
            QueryResult {
                columns: vec![
                    ("i".into(), crate::schema::DataType::BigInt),
                    ("f".into(), crate::schema::DataType::Double),
                ],
                batches: vec![crate::column::Batch {
                    columns: vec![c0, c1],
                }],
            }
        };
        let a = rows(&[(1, 0.5), (2, 0.3)]);
        assert_eq!(
            difference(&a, &rows(&[(2, 0.1 + 0.2), (1, 0.5)]), None),
            None
        );
        let d = difference(&a, &rows(&[(2, 0.4), (1, 0.5)]), None).unwrap();
        assert!(d.contains("row 2") && d.contains("0.4"), "{d}");
        assert!(difference(&a, &rows(&[(1, 0.5)]), None).is_some());
        assert_eq!(
            difference(&a, &rows(&[(3, 9.0), (4, 9.0)]), Some("LIMIT")),
            None
        );
    }
}
