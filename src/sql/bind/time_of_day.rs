//! Date parts of a TIME: `extract(hour FROM t)`, `date_part('minute', t)`,
//! `second(t)`. A TIME is microseconds since midnight (`24:00:00` included), so
//! its parts are integer divisions of that number, not a timestamp's calendar
//! fields; the parts a time of day does not have are refused.

use sqlparser::tokenizer::Span;

use super::Binder;
use crate::column::Value;
use crate::error::Result;
use crate::plan::{BinaryOp, DatePart, Expr, ScalarFunc};
use crate::schema::DataType;
use crate::time::{MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

impl Binder<'_> {
    /// Date part `part` of `x`: a TIMESTAMP (or what `expect_timestamp` takes), or
    /// a TIME for its hour, minute and second.
    pub(super) fn date_part_call(
        &self,
        part: DatePart,
        x: Expr,
        span: Span,
        what: &str,
    ) -> Result<Expr> {
        if x.data_type() != DataType::Time {
            if x.data_type() == DataType::Date && !part.applies_to_date() {
                return Err(self.err(
                    span,
                    format!(
                        "Not implemented Error: \"date\" units \"{}\" not recognized",
                        format!("{part:?}").to_ascii_lowercase()
                    ),
                ));
            }
            let x = self.expect_timestamp(x, span, what)?;
            let data_type = if part.is_double() {
                DataType::Double
            } else {
                DataType::BigInt
            };
            return Ok(Expr::Func {
                func: ScalarFunc::DatePart(part),
                args: vec![x],
                data_type,
            });
        }
        let (unit, modulo) = match part {
            DatePart::Hour => (MICROS_PER_HOUR, None),
            DatePart::Minute => (MICROS_PER_MINUTE, Some(60)),
            DatePart::Second => (MICROS_PER_SECOND, Some(60)),
            _ => {
                return Err(self.unsupported(
                    span,
                    format!("{what} of a TIME (a TIME has an hour, minute and second)"),
                ))
            }
        };
        // The same microseconds as a BIGINT (`exec`'s cast relabels them).
        let micros = match x {
            Expr::Literal { value, .. } => Expr::literal(value, DataType::BigInt),
            other => Expr::Cast {
                expr: Box::new(other),
                to: DataType::BigInt,
            },
        };
        let int = |v: i64| Expr::literal(Value::Int(v), DataType::BigInt);
        let op = |op, l: Expr, r: Expr| Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
            data_type: DataType::BigInt,
        };
        let whole = op(BinaryOp::IntDiv, micros, int(unit));
        Ok(match modulo {
            Some(m) => op(BinaryOp::Mod, whole, int(m)),
            None => whole,
        })
    }
}
