//! Comparisons of an integer with a DECIMAL literal, rewritten as comparisons of
//! the integer with an integer literal: `bytes > 1000.5` is `bytes > 1000`,
//! `bytes >= 1000.5` is `bytes >= 1001`, `bytes = 1000.0` is `bytes = 1000`. The
//! binder casts the integer side to the literal's DECIMAL type; without the cast,
//! the conjunct is the plain `column <op> literal` that zone maps, indexes and
//! time ranges use, and no row is converted.
//!
//! The rewrite is exact for every value, NULL included. `=` and `<>` with a
//! literal that is not a whole number are left as they are, as are literals
//! outside the integer type's range.

use crate::column::Value;
use crate::error::Result;
use crate::plan::logical::{BinaryOp, Expr, LogicalPlan};
use crate::schema::DataType;

/// Rewrites every such comparison in `plan` (its inputs included).
pub fn integer_comparisons(plan: &mut LogicalPlan) -> Result<()> {
    rewrite_expressions(plan, &integer_form)
}

/// Replaces each expression of `plan` and of its inputs, bottom up, by what
/// `rewrite` makes of it (kept where it makes nothing).
pub(super) fn rewrite_expressions(
    plan: &mut LogicalPlan,
    rewrite: &impl Fn(&Expr) -> Option<Expr>,
) -> Result<()> {
    for e in plan.exprs_mut() {
        e.transform_mut(&mut |x| Ok(rewrite(&x).unwrap_or(x)))?;
    }
    plan.try_map_inputs(&mut |mut input| {
        rewrite_expressions(&mut input, rewrite)?;
        Ok(input)
    })
}

/// A comparison `e` of an expression that `side` accepts with a literal, either
/// way round: the expression, the literal, the operator as if the expression
/// stood on the left, and the comparison's type.
pub(super) fn with_literal(
    e: &Expr,
    side: impl Fn(&Expr) -> bool,
) -> Option<(&Expr, &Expr, BinaryOp, &DataType)> {
    let Expr::Binary {
        op,
        left,
        right,
        data_type,
    } = e
    else {
        return None;
    };
    if !op.is_comparison() {
        return None;
    }
    match (left.as_ref(), right.as_ref()) {
        (x, l @ Expr::Literal { .. }) if side(x) => Some((x, l, *op, data_type)),
        (l @ Expr::Literal { .. }, x) if side(x) => Some((x, l, op.flip(), data_type)),
        _ => None,
    }
}

/// `e` as a comparison of an integer expression with an integer literal, when it
/// is `CAST(integer AS DECIMAL) <op> decimal literal` (either side).
fn integer_form(e: &Expr) -> Option<Expr> {
    let (cast, literal, op, data_type) = with_literal(e, |x| matches!(x, Expr::Cast { .. }))?;
    let Expr::Cast {
        expr: inner,
        to: DataType::Decimal { .. },
    } = cast
    else {
        return None;
    };
    let Expr::Literal {
        value: Value::Int(scaled),
        data_type: DataType::Decimal { scale, .. },
    } = literal
    else {
        return None;
    };
    let int_type = inner.data_type();
    let (min, max) = int_type.int_range().filter(|_| int_type.is_integer())?;
    let unit = 10i64.checked_pow(u32::from(*scale))?;
    let floor = scaled.div_euclid(unit);
    let whole = scaled.rem_euclid(unit) == 0;
    let ceil = if whole { floor } else { floor + 1 };
    let bound = match op {
        // x > 7.5 is x > 7; x <= 7.5 is x <= 7.
        BinaryOp::Gt | BinaryOp::LtEq => floor,
        // x >= 7.5 is x >= 8; x < 7.5 is x < 8.
        BinaryOp::GtEq | BinaryOp::Lt => ceil,
        BinaryOp::Eq | BinaryOp::NotEq if whole => floor,
        _ => return None,
    };
    if bound < min || bound > max {
        return None;
    }
    Some(Expr::Binary {
        op,
        left: inner.clone(),
        right: Box::new(Expr::literal(Value::Int(bound), int_type)),
        data_type: *data_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(t: DataType) -> Expr {
        Expr::Column {
            index: 0,
            name: "x".into(),
            data_type: t,
        }
    }

    fn compare(op: BinaryOp, scaled: i64, scale: u8, cast_left: bool) -> Expr {
        let dec = DataType::Decimal {
            precision: 20,
            scale,
        };
        let cast = Expr::Cast {
            expr: Box::new(column(DataType::BigInt)),
            to: dec,
        };
        let lit = Expr::literal(Value::Int(scaled), dec);
        let (left, right) = if cast_left { (cast, lit) } else { (lit, cast) };
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            data_type: DataType::Boolean,
        }
    }

    fn bound_of(e: &Expr) -> Option<(BinaryOp, i64)> {
        match integer_form(e)? {
            Expr::Binary { op, right, .. } => match *right {
                Expr::Literal {
                    value: Value::Int(v),
                    ..
                } => Some((op, v)),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn bounds_round_toward_the_kept_rows() {
        use BinaryOp::*;
        assert_eq!(bound_of(&compare(Gt, 10005, 1, true)), Some((Gt, 1000)));
        assert_eq!(bound_of(&compare(GtEq, 10005, 1, true)), Some((GtEq, 1001)));
        assert_eq!(bound_of(&compare(Lt, 10005, 1, true)), Some((Lt, 1001)));
        assert_eq!(bound_of(&compare(LtEq, 10005, 1, true)), Some((LtEq, 1000)));
        assert_eq!(bound_of(&compare(Eq, 10000, 1, true)), Some((Eq, 1000)));
        assert_eq!(bound_of(&compare(Eq, 10005, 1, true)), None);
        assert_eq!(bound_of(&compare(NotEq, 10005, 1, true)), None);
        // Negative values: -7.5 lies between -8 and -7.
        assert_eq!(bound_of(&compare(Gt, -75, 1, true)), Some((Gt, -8)));
        assert_eq!(bound_of(&compare(GtEq, -75, 1, true)), Some((GtEq, -7)));
        // The literal on the left: 7.5 < x is x > 7.
        assert_eq!(bound_of(&compare(Lt, 75, 1, false)), Some((Gt, 7)));
    }

    #[test]
    fn every_integer_agrees_with_the_decimal_comparison() {
        use BinaryOp::*;
        for op in [Eq, NotEq, Lt, LtEq, Gt, GtEq] {
            for scaled in -30..=30 {
                let Some((new_op, k)) = bound_of(&compare(op, scaled, 1, true)) else {
                    continue;
                };
                for x in -5i64..=5 {
                    let want = match op {
                        Eq => x * 10 == scaled,
                        NotEq => x * 10 != scaled,
                        Lt => x * 10 < scaled,
                        LtEq => x * 10 <= scaled,
                        Gt => x * 10 > scaled,
                        _ => x * 10 >= scaled,
                    };
                    let got = match new_op {
                        Eq => x == k,
                        NotEq => x != k,
                        Lt => x < k,
                        LtEq => x <= k,
                        Gt => x > k,
                        _ => x >= k,
                    };
                    assert_eq!(got, want, "x={x} {op:?} {scaled}/10");
                }
            }
        }
    }

    #[test]
    fn out_of_range_literals_stay() {
        let dec = DataType::Decimal {
            precision: 6,
            scale: 1,
        };
        let e = Expr::Binary {
            op: BinaryOp::Gt,
            left: Box::new(Expr::Cast {
                expr: Box::new(column(DataType::TinyInt)),
                to: dec,
            }),
            right: Box::new(Expr::literal(Value::Int(30005), dec)),
            data_type: DataType::Boolean,
        };
        assert!(integer_form(&e).is_none());
    }
}
