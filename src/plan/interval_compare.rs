//! A timestamp difference compared with a constant interval, rewritten as a
//! comparison of microseconds: `ts - prev > INTERVAL 30 MINUTE` is
//! `micros(ts - prev) > 1800000000`, so no row makes an INTERVAL and the
//! comparison runs on integers (sessions: a filter over every row).
//!
//! Exact for every value: `ts1 - ts2` is the interval of `d` microseconds held
//! as whole days and the rest (both with the sign of `d`), and DuckDB's order of
//! intervals (normalized, 30 days a month) rises with `d` on such intervals. So
//! for any constant `c` the differences below `c` are those below one threshold,
//! found by binary search with the order itself. `=` and `<>` are left alone,
//! and so is a constant no difference reaches. The microsecond difference fails
//! where the interval one does (infinite timestamps, overflow).

use crate::column::Value;
use crate::error::Result;
use crate::interval::Interval;
use crate::plan::logical::{BinaryOp, Expr, LogicalPlan, ScalarFunc};
use crate::plan::IntervalFunc;
use crate::schema::DataType;

/// Rewrites every such comparison in `plan` (its inputs included).
pub fn micros_comparisons(plan: &mut LogicalPlan) -> Result<()> {
    super::compare_cast::rewrite_expressions(plan, &micros_form)
}

fn micros_form(e: &Expr) -> Option<Expr> {
    let (diff, literal, op, data_type) =
        super::compare_cast::with_literal(e, |x| matches!(x, Expr::Func { .. }))?;
    let Expr::Func {
        func: ScalarFunc::Interval(IntervalFunc::TimestampDiff),
        args,
        ..
    } = diff
    else {
        return None;
    };
    let Expr::Literal {
        value: Value::Ip(c),
        data_type: DataType::Interval,
    } = literal
    else {
        return None;
    };
    let (op, bound) = micros_bound(op, Interval::unpack(*c))?;
    let micros = Expr::Func {
        func: ScalarFunc::Interval(IntervalFunc::TimestampDiffMicros),
        args: args.clone(),
        data_type: DataType::BigInt,
    };
    Some(Expr::Binary {
        op,
        left: Box::new(micros),
        right: Box::new(Expr::literal(Value::Int(bound), DataType::BigInt)),
        data_type: *data_type,
    })
}

/// `d <op'> bound`, true for exactly the differences `d` (microseconds) whose
/// interval `<op>` `c` holds; `None` for `=`, `<>` and bounds out of range.
fn micros_bound(op: BinaryOp, c: Interval) -> Option<(BinaryOp, i64)> {
    let key = c.order_key();
    let at_least = |d: i64| Interval::from_micros(d).order_key() >= key;
    let above = |d: i64| Interval::from_micros(d).order_key() > key;
    Some(match op {
        // d < c: below the first d at least c.
        BinaryOp::Lt => (BinaryOp::Lt, first(at_least)?),
        BinaryOp::GtEq => (BinaryOp::GtEq, first(at_least)?),
        // d <= c: below the first d above c.
        BinaryOp::LtEq => (BinaryOp::Lt, first(above)?),
        BinaryOp::Gt => (BinaryOp::GtEq, first(above)?),
        _ => return None,
    })
}

/// The least `d` where the monotone `holds` is true; `None` if it never is or
/// already is at `i64::MIN` (no bound to write).
fn first(holds: impl Fn(i64) -> bool) -> Option<i64> {
    if !holds(i64::MAX) || holds(i64::MIN) {
        return None;
    }
    // holds(hi), !holds(lo).
    let (mut lo, mut hi) = (i128::from(i64::MIN), i128::from(i64::MAX));
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if holds(mid as i64) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the interval comparison itself, for constants with and without
    /// months and of mixed signs, around each threshold and far from it.
    #[test]
    fn the_bound_splits_the_differences_as_the_interval_order_does() {
        const HOUR: i64 = 3_600_000_000;
        const DAY: i64 = 24 * HOUR;
        let constants = [
            Interval {
                months: 0,
                days: 0,
                micros: 30 * 60_000_000,
            },
            Interval {
                months: 0,
                days: 1,
                micros: -HOUR,
            },
            Interval {
                months: 1,
                days: -45,
                micros: 5,
            },
            Interval {
                months: -2,
                days: 3,
                micros: -7 * HOUR,
            },
            Interval {
                months: 0,
                days: 0,
                micros: 0,
            },
            Interval {
                months: 0,
                days: -31,
                micros: 0,
            },
            Interval {
                months: 12,
                days: 0,
                micros: -1,
            },
        ];
        let ops = [BinaryOp::Lt, BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq];
        for c in constants {
            let total = c.total_micros() as i64;
            let probes = [-1, 0, 1, DAY - 1, DAY, -DAY, 29 * DAY, 30 * DAY, 31 * DAY]
                .into_iter()
                .flat_map(|x| [total + x, total - x, x, -x]);
            for op in ops {
                let (op2, bound) = micros_bound(op, c).unwrap();
                for d in probes.clone() {
                    let want = match Interval::from_micros(d).compare(c) {
                        std::cmp::Ordering::Less => matches!(op, BinaryOp::Lt | BinaryOp::LtEq),
                        std::cmp::Ordering::Equal => {
                            matches!(op, BinaryOp::LtEq | BinaryOp::GtEq)
                        }
                        std::cmp::Ordering::Greater => {
                            matches!(op, BinaryOp::Gt | BinaryOp::GtEq)
                        }
                    };
                    let got = match op2 {
                        BinaryOp::Lt => d < bound,
                        _ => d >= bound,
                    };
                    assert_eq!(got, want, "{d} {op:?} {c:?}");
                }
            }
        }
        assert!(micros_bound(BinaryOp::Eq, constants[0]).is_none());
    }
}
