//! Binding of the statistical and folding aggregates: variances, standard
//! deviations, skewness, kurtosis, covariances, correlation, the `regr_*`
//! family, `product`, `geomean`, the bit and boolean folds, `string_agg`,
//! `mode`, `entropy`, `weighted_avg`, `last`, and DuckDB's compensated-sum
//! spellings (`fsum`, `favg`, ...).

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_int, is_null_literal, is_number, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{AggExpr, AggFunc, CoMomentStat, Expr, FoldFunc, MomentStat};
use crate::schema::DataType;

impl Binder<'_> {
    /// Binds `name` when it is one of this file's aggregates; `None` otherwise.
    pub(super) fn bind_statistic(
        &mut self,
        name: &str,
        distinct: bool,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        if self.statistic_func(name).is_none() {
            return Ok(None);
        }
        self.check_aggregates_allowed(span)?;
        if distinct {
            return Err(self.unsupported(span, format!("DISTINCT in {name}")));
        }
        let r = self.statistic(name, args, span, true);
        r?.map(|agg| self.register_agg(agg, span)).transpose()
    }

    /// The call `name(args) OVER (...)` of one of this file's aggregates: the
    /// aggregate with its bound arguments (`None` when `name` is not one).
    pub(super) fn window_statistic(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<AggExpr>> {
        self.statistic(name, args, span, false)
    }

    /// The aggregate `name` stands for, if it is one of this file's.
    pub(super) fn statistic_func(&self, name: &str) -> Option<AggFunc> {
        if let Some(s) = MomentStat::of_name(name) {
            return Some(AggFunc::Moment(s));
        }
        if let Some(s) = CoMomentStat::of_name(name) {
            return Some(AggFunc::CoMoment(s));
        }
        if let Some(f) = FoldFunc::of_name(name) {
            return Some(AggFunc::Fold(f));
        }
        Some(match name {
            "string_agg" | "group_concat" | "listagg" => AggFunc::StringAgg,
            "list" | "array_agg" => AggFunc::List,
            "mode" => AggFunc::Mode,
            "entropy" => AggFunc::Entropy,
            "weighted_avg" | "wavg" => AggFunc::WeightedAvg,
            "last" => AggFunc::Last,
            _ => return None,
        })
    }

    /// Binds the arguments of aggregate `name` (`in_select`: as an aggregate of
    /// the SELECT, whose arguments may not hold aggregates; else as a window
    /// call's, which may).
    fn statistic(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
        in_select: bool,
    ) -> Result<Option<AggExpr>> {
        let Some(func) = self.statistic_func(name) else {
            return Ok(None);
        };
        let bind = |b: &mut Self, e: &ast::Expr| {
            if in_select {
                b.agg_arg(e)
            } else {
                b.bind_expr(e)
            }
        };
        let arity: &[usize] = match func {
            AggFunc::CoMoment(_) | AggFunc::WeightedAvg => &[2],
            AggFunc::StringAgg => &[1, 2],
            _ => &[1],
        };
        if !arity.contains(&args.len()) {
            let want = arity.iter().map(|n| n.to_string()).collect::<Vec<_>>();
            return Err(self.err(
                span,
                format!(
                    "{name} takes {} argument(s), got {}",
                    want.join(" or "),
                    args.len()
                ),
            ));
        }
        let mut agg = AggExpr {
            func,
            arg: None,
            distinct: false,
            data_type: DataType::Double,
            arg2: None,
            filter: None,
            quantile: 0.0,
        };
        let x = bind(self, args[0])?;
        let at = x.data_type();
        let x = match func {
            AggFunc::Moment(_)
            | AggFunc::CoMoment(_)
            | AggFunc::WeightedAvg
            | AggFunc::Fold(
                FoldFunc::Product | FoldFunc::GeoMean | FoldFunc::KahanSum | FoldFunc::KahanAvg,
            )
            | AggFunc::Sum
            | AggFunc::Avg => {
                let x = self.double_arg(x, name, args[0].span())?;
                if let Some(second) = args.get(1) {
                    let y = bind(self, second)?;
                    agg.arg2 = Some(self.double_arg(y, name, second.span())?);
                }
                if func == AggFunc::CoMoment(CoMomentStat::RegrCount) {
                    agg.data_type = DataType::UInteger;
                }
                x
            }
            AggFunc::Fold(FoldFunc::BoolAnd | FoldFunc::BoolOr) => {
                agg.data_type = DataType::Boolean;
                if is_null_literal(&x) {
                    Expr::literal(Value::Null, DataType::Boolean)
                } else if at == DataType::Boolean {
                    x
                } else {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a BOOLEAN argument, not {at}"),
                    ));
                }
            }
            AggFunc::Fold(_) => {
                // bit_and, bit_or, bit_xor keep the integer type.
                if is_null_literal(&x) {
                    agg.data_type = DataType::Integer;
                    Expr::literal(Value::Null, DataType::Integer)
                } else if is_int(at) {
                    agg.data_type = at;
                    x
                } else {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs an integer argument, not {at}"),
                    ));
                }
            }
            AggFunc::StringAgg => {
                agg.data_type = DataType::Varchar;
                let sep = match args.get(1) {
                    None => Value::Str(",".into()),
                    Some(s) => match bind(self, s)? {
                        Expr::Literal {
                            value: v @ (Value::Str(_) | Value::Null),
                            ..
                        } => v,
                        _ => {
                            return Err(self.err(
                                s.span(),
                                "the separator of string_agg must be a constant string",
                            ))
                        }
                    },
                };
                agg.arg2 = Some(Expr::literal(sep, DataType::Varchar));
                if is_null_literal(&x) {
                    Expr::literal(Value::Null, DataType::Varchar)
                } else if at == DataType::Varchar {
                    x
                } else {
                    self.cast(x, DataType::Varchar, args[0].span())?
                }
            }
            AggFunc::List => {
                agg.data_type = DataType::list_of(at);
                x
            }
            AggFunc::Mode | AggFunc::Last => {
                agg.data_type = at;
                x
            }
            _ => x, // entropy: any type, a DOUBLE
        };
        agg.arg = Some(x);
        Ok(Some(agg))
    }

    /// `x` as a DOUBLE argument of `name`: numbers are converted, a NULL literal
    /// typed.
    pub(super) fn double_arg(&self, x: Expr, name: &str, span: Span) -> Result<Expr> {
        let t = x.data_type();
        if is_null_literal(&x) {
            return Ok(Expr::literal(Value::Null, DataType::Double));
        }
        if !is_number(t) {
            return Err(self.err(span, format!("{name} needs a numeric argument, not {t}")));
        }
        self.coerce_to(x, DataType::Double, span)
    }
}
