//! Quantified comparisons with a subquery: `x <op> ANY (SELECT ...)` (or SOME)
//! and `x <op> ALL (SELECT ...)`, with DuckDB's NULL rules.
//!
//! `= ANY` is `IN` and `<> ALL` is `NOT IN` (semi and anti joins). The other
//! forms read four numbers of the subquery's column, each an uncorrelated scalar
//! subquery over one aggregate: its minimum, its maximum, its row count and its
//! non-NULL count. `x > ANY (s)` is TRUE when `x > min(s)`; when no comparison
//! is TRUE, it is NULL if `x` is NULL or `s` holds a NULL (and has rows), else
//! FALSE. `x > ALL (s)` is FALSE as soon as `x > max(s)` is FALSE; otherwise
//! NULL in the same cases, else TRUE; over no rows it is TRUE.

use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::from::ast_kind::Kind;
use super::Binder;
use crate::column::Value;
use crate::error::Result;
use crate::plan::{AggExpr, AggFunc, BinaryOp, Expr, LogicalPlan, Subquery, SubqueryKind};
use crate::schema::DataType;

/// The statistics of the subquery's column that the comparison reads.
struct Stats {
    min: Expr,
    max: Expr,
    rows: Expr,
    non_null: Expr,
}

/// The BOOLEAN `l op r` (a comparison or AND/OR of conditions).
pub(super) fn binary(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
        data_type: DataType::Boolean,
    }
}

/// A BOOLEAN literal (`None`: NULL).
pub(super) fn boolean(v: Option<bool>) -> Expr {
    Expr::literal(v.map_or(Value::Null, Value::Bool), DataType::Boolean)
}

impl Binder<'_> {
    /// `left <compare_op> ANY|ALL (right)`.
    pub(super) fn quantified(
        &mut self,
        left: &ast::Expr,
        compare_op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
        span: Span,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let ast::Expr::Subquery(q) = right else {
            return Err(self.unsupported(span, "ANY / ALL over something else than a subquery"));
        };
        let op = match compare_op {
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            other => return Err(self.unsupported(span, format!("operator {other} with ANY / ALL"))),
        };
        if let Some(row) = super::rows::row_items(left) {
            return self.row_subquery(&row, op, all, q, span);
        }
        match (op, all) {
            (BinaryOp::Eq, false) => return self.subquery_expr(q, Kind::In(left, false), span),
            (BinaryOp::NotEq, true) => return self.subquery_expr(q, Kind::In(left, true), span),
            _ => {}
        }
        let x = self.bind_expr(left)?;
        let s = self.column_stats(q, span)?;
        let cmp = |b: &Binder<'_>, op: BinaryOp, m: &Expr| {
            b.comparison(op, x.clone(), m.clone(), span, span)
        };
        let empty = binary(
            BinaryOp::Eq,
            s.rows.clone(),
            Expr::literal(Value::Int(0), DataType::BigInt),
        );
        // NULL unless decided: `x` is NULL, or the subquery holds a NULL.
        let unknown = binary(
            BinaryOp::Or,
            Expr::IsNull {
                expr: Box::new(x.clone()),
                negated: false,
            },
            binary(BinaryOp::Lt, s.non_null.clone(), s.rows.clone()),
        );
        let case = |decided: Expr, value: bool| Expr::Case {
            whens: vec![
                (empty.clone(), boolean(Some(!value))),
                (decided, boolean(Some(value))),
                (unknown.clone(), boolean(None)),
            ],
            else_expr: Some(Box::new(boolean(Some(!value)))),
            data_type: DataType::Boolean,
        };
        let high = matches!(op, BinaryOp::Gt | BinaryOp::GtEq);
        Ok(match (op, all) {
            (BinaryOp::Eq, true) | (BinaryOp::NotEq, false) => {
                // `x = ALL (s)` is FALSE as soon as one value differs.
                let differs = binary(
                    BinaryOp::Or,
                    cmp(self, BinaryOp::NotEq, &s.min)?,
                    cmp(self, BinaryOp::NotEq, &s.max)?,
                );
                let eq_all = case(differs, false);
                if all {
                    eq_all
                } else {
                    Expr::Not(Box::new(eq_all))
                }
            }
            (_, false) => {
                // TRUE as soon as one comparison is: against the extreme value.
                let m = if high { &s.min } else { &s.max };
                case(cmp(self, op, m)?, true)
            }
            (_, true) => {
                // FALSE as soon as one comparison is: against the other extreme.
                let m = if high { &s.max } else { &s.min };
                case(Expr::Not(Box::new(cmp(self, op, m)?)), false)
            }
        })
    }

    /// min, max, count(*) and count of the single column of subquery `q`, as
    /// scalar subqueries.
    fn column_stats(&mut self, q: &ast::Query, span: Span) -> Result<Stats> {
        let (plan, correlated) = self.correlated_query(q)?;
        let schema = plan.schema();
        if schema.len() != 1 {
            return Err(self.err(
                span,
                format!(
                    "the subquery of ANY / ALL must return exactly one column, not {}",
                    schema.len()
                ),
            ));
        }
        let t = schema[0].1;
        let c = Expr::columns(&schema).remove(0).0;
        let agg = |func, arg: Option<&Expr>, data_type| AggExpr {
            func,
            arg: arg.cloned(),
            distinct: false,
            data_type,
            arg2: None,
            filter: None,
            quantile: 0.0,
        };
        let aggs = vec![
            (agg(AggFunc::Min, Some(&c), t), "min".to_string()),
            (agg(AggFunc::Max, Some(&c), t), "max".to_string()),
            (
                agg(AggFunc::CountStar, None, DataType::BigInt),
                "rows".into(),
            ),
            (agg(AggFunc::Count, Some(&c), DataType::BigInt), "n".into()),
        ];
        let stats = LogicalPlan::Aggregate {
            input: Box::new(plan),
            group: Vec::new(),
            aggs,
        };
        let out = stats.schema();
        let scalar = |i: usize| {
            let e = Expr::columns(&out).remove(i);
            Expr::Subquery(Box::new(Subquery {
                plan: LogicalPlan::Project {
                    input: Box::new(stats.clone()),
                    exprs: vec![e],
                },
                kind: SubqueryKind::Scalar,
                data_type: out[i].1,
                correlated: correlated.clone(),
            }))
        };
        Ok(Stats {
            min: scalar(0),
            max: scalar(1),
            rows: scalar(2),
            non_null: scalar(3),
        })
    }
}
