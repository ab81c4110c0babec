//! LIMIT and OFFSET: constant expressions, as DuckDB takes them (`LIMIT 2 - 1`,
//! `LIMIT '5'`, `LIMIT 1.5`, `LIMIT (SELECT k FROM t)`), evaluated once while
//! the query is bound (a subquery runs then, as PIVOT's value query does) and cast
//! to BIGINT with CAST's rules. NULL means no limit (no offset); a negative value
//! is DuckDB's `LIMIT/OFFSET cannot be negative`. Column references are errors:
//! nothing of the query's rows is in scope. `LIMIT p%` / `LIMIT p PERCENT`
//! (DuckDB) keeps that share of the rows, rounded down; p is a constant from 0
//! to 100.

use sqlparser::ast;
use sqlparser::ast::Spanned;

use super::Binder;
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::window::{
    FrameBound, FrameExclude, FrameUnits, WindowExpr, WindowFrame, WindowFunc,
};
use crate::plan::{AggFunc, BinaryOp, Expr, LogicalPlan};
use crate::schema::DataType;

/// The name the parser's token pass gives the argument of `LIMIT p%` /
/// `LIMIT p PERCENT` (`LIMIT limit_percent(p)`; see `sql/dialect.rs`).
pub(crate) const LIMIT_PERCENT: &str = "limit_percent";

/// What LIMIT and OFFSET of a query ask for.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Limits {
    /// At most this many rows (`None`: no limit).
    pub fetch: Option<usize>,
    /// Rows skipped first.
    pub skip: usize,
    /// `LIMIT p%`: this fraction (p / 100) of the input's rows instead of `fetch`.
    pub fraction: Option<f64>,
}

impl Limits {
    /// Where a sort below may stop: after the rows the limit keeps.
    pub fn sort_fetch(&self) -> Option<usize> {
        match self.fraction {
            Some(_) => None,
            None => self.fetch.map(|l| l.saturating_add(self.skip)),
        }
    }
}

/// The argument of `limit_percent(p)`, the parser's spelling of `LIMIT p%`.
fn percent_arg(e: &ast::Expr) -> Option<&ast::Expr> {
    let ast::Expr::Function(f) = e else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case(LIMIT_PERCENT) {
        return None;
    }
    match &f.args {
        ast::FunctionArguments::List(l) => match l.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))] => Some(x),
            _ => None,
        },
        _ => None,
    }
}

impl Binder<'_> {
    /// The LIMIT and OFFSET of `query`.
    pub(super) fn bind_limit(&self, query: &ast::Query) -> Result<Limits> {
        let Some(lc) = &query.limit_clause else {
            return Ok(Limits::default());
        };
        let (limit, offset) = match lc {
            ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                if !limit_by.is_empty() {
                    return Err(self.unsupported(query.span(), "LIMIT BY"));
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            ast::LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
        };
        let mut out = Limits::default();
        if let Some(e) = limit {
            match percent_arg(e) {
                Some(p) => out.fraction = self.limit_fraction(p)?,
                None => out.fetch = self.limit_count(e, "LIMIT")?,
            }
        }
        out.skip = match offset {
            Some(e) => self.limit_count(e, "OFFSET")?.unwrap_or(0),
            None => 0,
        };
        Ok(out)
    }

    /// `plan` under its LIMIT and OFFSET. `LIMIT p%` keeps rows `skip + 1` to
    /// `skip + floor(n * p / 100)` of the n input rows (DuckDB counts all rows,
    /// the skipped ones too): a Window numbers the rows and counts them, a
    /// filter keeps the range.
    pub(super) fn apply_limits(&self, plan: LogicalPlan, limits: Limits) -> LogicalPlan {
        let Some(fraction) = limits.fraction else {
            if limits.fetch.is_none() && limits.skip == 0 {
                return plan;
            }
            return LogicalPlan::Limit {
                input: Box::new(plan),
                skip: limits.skip,
                fetch: limits.fetch,
            };
        };
        let schema = plan.schema();
        let n = schema.len();
        let window = |func| WindowExpr {
            func,
            args: Vec::new(),
            partition_by: Vec::new(),
            order_by: Vec::new(),
            frame: WindowFrame {
                units: FrameUnits::Rows,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::UnboundedFollowing,
                exclude: FrameExclude::NoOthers,
            },
            arg_order: Vec::new(),
            filter: None,
            ignore_nulls: false,
            data_type: DataType::BigInt,
        };
        let numbered = LogicalPlan::Window {
            input: Box::new(plan),
            windows: vec![
                (window(WindowFunc::RowNumber), "limit_row".into()),
                (
                    window(WindowFunc::Agg(AggFunc::CountStar)),
                    "limit_rows".into(),
                ),
            ],
        };
        let column = |index: usize, name: &str| Expr::Column {
            index,
            name: name.into(),
            data_type: DataType::BigInt,
        };
        let double = |e: Expr| Expr::Cast {
            expr: Box::new(e),
            to: DataType::Double,
        };
        let binary = |op, l: Expr, r: Expr, data_type| Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
            data_type,
        };
        let skip = Expr::literal(Value::Int(limits.skip as i64), DataType::BigInt);
        // row > skip AND row - skip <= n * fraction (the same as <= its floor,
        // the left side being an integer).
        let after_skip = binary(
            BinaryOp::Gt,
            column(n, "limit_row"),
            skip.clone(),
            DataType::Boolean,
        );
        let within = binary(
            BinaryOp::LtEq,
            double(binary(
                BinaryOp::Sub,
                column(n, "limit_row"),
                skip,
                DataType::BigInt,
            )),
            binary(
                BinaryOp::Mul,
                double(column(n + 1, "limit_rows")),
                Expr::literal(Value::Float(fraction), DataType::Double),
                DataType::Double,
            ),
            DataType::Boolean,
        );
        let kept = LogicalPlan::Filter {
            input: Box::new(numbered),
            predicate: binary(BinaryOp::And, after_skip, within, DataType::Boolean),
        };
        LogicalPlan::Project {
            input: Box::new(kept),
            exprs: Expr::columns(&schema),
        }
    }

    /// The value of a LIMIT or OFFSET expression (`None` for NULL).
    fn limit_count(&self, e: &ast::Expr, what: &str) -> Result<Option<usize>> {
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Number(n, _) = &v.value {
                if let Ok(n) = n.parse::<usize>() {
                    return Ok(Some(n));
                }
            }
        }
        let Some((value, from)) = self.limit_constant(e, what)? else {
            return Ok(None);
        };
        let n = match crate::value::cast_value(&value, from, DataType::BigInt) {
            Ok(Value::Int(n)) => n,
            Ok(_) => return Ok(None),
            Err(m) => return Err(Error::InvalidInput(format!("{}: {m}", self.pos(e)))),
        };
        if n < 0 {
            return Err(self.err(e.span(), "LIMIT/OFFSET cannot be negative"));
        }
        Ok(Some(n as usize))
    }

    /// The fraction of `LIMIT p%` (`None` for NULL: no limit), p from 0 to 100.
    fn limit_fraction(&self, e: &ast::Expr) -> Result<Option<f64>> {
        let Some((value, from)) = self.limit_constant(e, "LIMIT")? else {
            return Ok(None);
        };
        let p = match crate::value::cast_value(&value, from, DataType::Double) {
            Ok(Value::Float(p)) => p,
            Ok(_) => return Ok(None),
            Err(m) => return Err(Error::InvalidInput(format!("{}: {m}", self.pos(e)))),
        };
        if !(0.0..=100.0).contains(&p) {
            return Err(self.err(
                e.span(),
                "Out of Range Error: Limit percent out of range, should be between 0% and 100%",
            ));
        }
        Ok(Some(p / 100.0))
    }

    /// The value of the constant expression `e` of a LIMIT or OFFSET and its
    /// type (`None` for NULL).
    fn limit_constant(&self, e: &ast::Expr, what: &str) -> Result<Option<(Value, DataType)>> {
        let mut b = self.child(false);
        b.outer = Vec::new();
        let mut x = b.bind_expr(e)?;
        // DuckDB reads a subquery's DECIMAL through DOUBLE (`OFFSET (SELECT 6.5)`
        // skips 6 rows, `OFFSET 6.5` skips 7).
        if matches!(e, ast::Expr::Subquery(_)) && x.data_type().decimal().is_some() {
            x = crate::plan::Expr::Cast {
                expr: Box::new(x),
                to: DataType::Double,
            };
        }
        let from = x.data_type();
        let value = match x {
            crate::plan::Expr::Literal { value, .. } => value,
            x => {
                let plan = LogicalPlan::Project {
                    input: Box::new(LogicalPlan::OneRow),
                    exprs: vec![(x, what.to_ascii_lowercase())],
                };
                let plan = crate::plan::optimize::optimize(plan, self.snapshot)?;
                let result =
                    crate::exec::execute(self.snapshot, &plan, self.options).map_err(|err| {
                        match err {
                            Error::InvalidInput(m) if !m.starts_with("line ") => {
                                Error::InvalidInput(format!("{}: {m}", self.pos(e)))
                            }
                            other => other,
                        }
                    })?;
                result
                    .rows()
                    .into_iter()
                    .next()
                    .and_then(|mut row| row.pop())
                    .unwrap_or(Value::Null)
            }
        };
        if matches!(value, Value::Null) {
            return Ok(None);
        }
        if matches!(from, DataType::Date | DataType::Ip | DataType::Time) || from.is_timestamp() {
            return Err(self.err(e.span(), format!("{what} must be a number, not {from}")));
        }
        Ok(Some((value, from)))
    }

    fn pos(&self, e: &ast::Expr) -> String {
        super::position(e.span(), self.fallback)
    }
}
