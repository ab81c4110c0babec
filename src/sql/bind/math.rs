//! Binding of the numeric functions of `exec/math.rs` (`abs`, `sqrt`, `log`,
//! `gcd`, ...), `pi()` (a literal) and `mod(a, b)` (the `%` operator), with
//! DuckDB's result types.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_decimal, is_int, is_null_literal, is_numeric, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{Expr, MathFunc, ScalarFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// Binds `name` when it is one of this file's functions; `None` otherwise.
    pub(super) fn bind_math_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let arity = |want: usize| {
            if args.len() == want {
                Ok(())
            } else {
                Err(self.err(
                    span,
                    format!("{name} takes {want} argument(s), got {}", args.len()),
                ))
            }
        };
        let (func, want) = match name {
            "random" => {
                arity(0)?;
                return Ok(Some(Expr::Func {
                    func: ScalarFunc::Random,
                    args: Vec::new(),
                    data_type: DataType::Double,
                }));
            }
            "pi" => {
                arity(0)?;
                let pi = Value::Float(std::f64::consts::PI);
                return Ok(Some(Expr::literal(pi, DataType::Double)));
            }
            "mod" => {
                arity(2)?;
                let e = ast::Expr::BinaryOp {
                    left: Box::new(ast::Expr::Nested(Box::new(args[0].clone()))),
                    op: ast::BinaryOperator::Modulo,
                    right: Box::new(ast::Expr::Nested(Box::new(args[1].clone()))),
                };
                return self.bind_expr(&e).map(Some);
            }
            "log" if args.len() == 2 => (MathFunc::LogBase, 2),
            "log" => (MathFunc::Log10, 1),
            _ => match MathFunc::from_name(name) {
                Some(f) => f,
                None => return Ok(None),
            },
        };
        arity(want)?;
        let integers = matches!(
            func,
            MathFunc::Gcd | MathFunc::Lcm | MathFunc::Factorial | MathFunc::BitCount
        );
        let mut bound = Vec::with_capacity(want);
        for (k, e) in args.iter().enumerate() {
            let x = self.bind_expr(e)?;
            let t = x.data_type();
            let fits = if integers {
                is_int(t)
            } else {
                is_numeric(t) || is_decimal(t)
            };
            if !is_null_literal(&x) && !fits {
                let kind = if integers { "an integer" } else { "a numeric" };
                return Err(self.err(
                    e.span(),
                    format!("{name} needs {kind} argument {}, not {t}", k + 1),
                ));
            }
            bound.push(x);
        }
        // DECIMAL: abs and sign work on the scaled integer, floor and ceil round to
        // DECIMAL(p,0) (`exec/decimal.rs`); the other functions take a DOUBLE.
        let decimal_type = bound[0].data_type().decimal();
        let data_type = match (func, decimal_type) {
            (MathFunc::Floor | MathFunc::Ceil, Some((precision, _))) => DataType::Decimal {
                precision,
                scale: 0,
            },
            (MathFunc::Abs | MathFunc::Sign, Some(_)) => bound[0].data_type(),
            _ => DataType::Double,
        };
        if bound.iter().any(|x| is_decimal(x.data_type())) && data_type == DataType::Double {
            bound = bound
                .into_iter()
                .zip(args)
                .map(|(x, e)| self.coerce_to(x, DataType::Double, e.span()))
                .collect::<Result<_>>()?;
        }
        let data_type = match func {
            MathFunc::Floor | MathFunc::Ceil | MathFunc::Abs if decimal_type.is_some() => data_type,
            // An untyped NULL is BIGINT in DuckDB.
            MathFunc::Abs if is_null_literal(&bound[0]) => DataType::BigInt,
            MathFunc::Abs => bound[0].data_type(),
            MathFunc::Sign => DataType::SmallInt,
            MathFunc::IsNan | MathFunc::IsInf | MathFunc::IsFinite | MathFunc::SignBit => {
                DataType::Boolean
            }
            MathFunc::Gcd | MathFunc::Lcm | MathFunc::Factorial => DataType::BigInt,
            MathFunc::BitCount => DataType::TinyInt,
            _ => DataType::Double,
        };
        if bound.iter().any(is_null_literal) {
            return Ok(Some(Expr::literal(Value::Null, data_type)));
        }
        if integers && func != MathFunc::BitCount {
            bound = bound
                .into_iter()
                .zip(args)
                .map(|(x, e)| self.coerce_to(x, DataType::BigInt, e.span()))
                .collect::<Result<_>>()?;
        }
        Ok(Some(Expr::Func {
            func: ScalarFunc::Math(func),
            args: bound,
            data_type,
        }))
    }
}
