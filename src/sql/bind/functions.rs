//! Binding of the aggregates beyond count/sum/avg/min/max, and of FILTER clauses.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_null_literal, is_numeric, Binder, AGG_MARK};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::schema::DataType;
use crate::sql::plan::{AggExpr, AggFunc, Expr};

impl Binder<'_> {
    /// Binds an aggregate argument in table scope (no nested aggregates).
    fn agg_arg(&mut self, e: &ast::Expr) -> Result<Expr> {
        let saved = self.allow_aggs;
        self.allow_aggs = false;
        let r = self.bind_expr(e);
        self.allow_aggs = saved;
        r.map_err(|err| match err {
            Error::InvalidInput(m) if m.contains("aggregate functions are not allowed") => {
                self.err(e.span(), "aggregate calls cannot be nested")
            }
            other => other,
        })
    }

    /// A quantile argument: a numeric literal between 0 and 1.
    fn quantile_arg(&mut self, e: &ast::Expr, name: &str) -> Result<f64> {
        let q = match self.agg_arg(e)? {
            Expr::Literal {
                value: Value::Int(i),
                ..
            } => i as f64,
            Expr::Literal {
                value: Value::Float(f),
                ..
            } => f,
            _ => {
                return Err(self.err(
                    e.span(),
                    format!("the quantile of {name} must be a number literal"),
                ))
            }
        };
        if !(0.0..=1.0).contains(&q) {
            return Err(self.err(
                e.span(),
                format!("the quantile of {name} must be between 0 and 1, not {q}"),
            ));
        }
        Ok(q)
    }

    /// Binds the aggregates added after the first slice; `None` when `name` is
    /// not one of them.
    pub(super) fn bind_aggregate2(
        &mut self,
        name: &str,
        distinct: bool,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let func = match name {
            "count_if" | "countif" => AggFunc::CountIf,
            "approx_count_distinct" | "uniq" => AggFunc::ApproxCountDistinct,
            "median" | "quantile_cont" => AggFunc::QuantileCont,
            "approx_quantile" => AggFunc::ApproxQuantile,
            "arg_max" | "argmax" | "max_by" => AggFunc::ArgMax,
            "arg_min" | "argmin" | "min_by" => AggFunc::ArgMin,
            _ => return Ok(None),
        };
        if !self.allow_aggs {
            return Err(self.err(
                span,
                "aggregate functions are not allowed in WHERE or GROUP BY",
            ));
        }
        if distinct && func != AggFunc::ApproxCountDistinct {
            return Err(self.unsupported(span, format!("DISTINCT in {name}")));
        }
        let want = match (func, name) {
            (AggFunc::CountIf | AggFunc::ApproxCountDistinct, _) | (_, "median") => 1,
            _ => 2,
        };
        if args.len() != want {
            return Err(self.err(
                span,
                format!("{name} takes {want} argument(s), got {}", args.len()),
            ));
        }
        let mut x = self.agg_arg(args[0])?;
        let at = x.data_type();
        let mut agg = AggExpr {
            func,
            arg: None,
            distinct: false,
            data_type: DataType::BigInt,
            arg2: None,
            filter: None,
            quantile: 0.0,
        };
        match func {
            AggFunc::CountIf => {
                if is_null_literal(&x) {
                    x = Expr::literal(Value::Null, DataType::Boolean);
                } else if at != DataType::Boolean {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a BOOLEAN argument, not {at}"),
                    ));
                }
            }
            AggFunc::ApproxCountDistinct => {}
            AggFunc::QuantileCont | AggFunc::ApproxQuantile => {
                if is_null_literal(&x) {
                    x = Expr::literal(Value::Null, DataType::Double);
                } else if !is_numeric(at) && at != DataType::Timestamp {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a numeric or TIMESTAMP argument, not {at}"),
                    ));
                }
                agg.quantile = if name == "median" {
                    0.5
                } else {
                    self.quantile_arg(args[1], name)?
                };
                agg.data_type = match (func, x.data_type()) {
                    (_, DataType::Timestamp) => DataType::Timestamp,
                    (AggFunc::QuantileCont, _) => DataType::Double,
                    (_, t) => t,
                };
            }
            _ => {
                // arg_max / arg_min
                agg.arg2 = Some(self.agg_arg(args[1])?);
                agg.data_type = at;
            }
        }
        agg.arg = Some(x);
        Ok(Some(self.register_agg(agg)))
    }

    /// Applies `FILTER (WHERE cond)` to the aggregate call `e` just bound.
    pub(super) fn attach_filter(
        &mut self,
        e: Expr,
        filter: Option<&ast::Expr>,
        before: usize,
    ) -> Result<Expr> {
        let Some(f) = filter else {
            return Ok(e);
        };
        let Expr::Column { index, .. } = e else {
            return Err(Error::Internal("an aggregate call is not a column".into()));
        };
        let j = index - AGG_MARK;
        let cond = self.agg_arg(f)?;
        if !is_null_literal(&cond) && cond.data_type() != DataType::Boolean {
            return Err(self.err(
                f.span(),
                format!("FILTER needs a BOOLEAN condition, not {}", cond.data_type()),
            ));
        }
        let mut agg = if j >= before && j + 1 == self.aggs.len() {
            // Newly added for this call: replace it.
            self.aggs.pop()
        } else {
            self.aggs.get(j).cloned()
        }
        .ok_or_else(|| Error::Internal("aggregate index out of range".into()))?;
        agg.filter = Some(if is_null_literal(&cond) {
            Expr::literal(Value::Null, DataType::Boolean)
        } else {
            cond
        });
        Ok(self.register_agg(agg))
    }
}

/// `name = expr` parsed as a named function argument, as the comparison it is.
pub(super) fn named_eq(a: &ast::FunctionArg) -> Option<ast::Expr> {
    let (left, arg) = match a {
        ast::FunctionArg::Named {
            name,
            arg: ast::FunctionArgExpr::Expr(e),
            operator: ast::FunctionArgOperator::Equals,
        } => (ast::Expr::Identifier(name.clone()), e),
        ast::FunctionArg::ExprNamed {
            name,
            arg: ast::FunctionArgExpr::Expr(e),
            operator: ast::FunctionArgOperator::Equals,
        } => (name.clone(), e),
        _ => return None,
    };
    Some(ast::Expr::BinaryOp {
        left: Box::new(left),
        op: ast::BinaryOperator::Eq,
        right: Box::new(arg.clone()),
    })
}
