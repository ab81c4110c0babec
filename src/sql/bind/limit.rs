//! LIMIT and OFFSET: constant expressions, as DuckDB takes them (`LIMIT 2 - 1`,
//! `LIMIT '5'`, `LIMIT 1.5`, `LIMIT (SELECT k FROM t)`), evaluated once while
//! the query is bound (a subquery runs then, as PIVOT's value query does) and cast
//! to BIGINT with CAST's rules. NULL means no limit (no offset); a negative value
//! is DuckDB's `LIMIT/OFFSET cannot be negative`. Column references are errors:
//! nothing of the query's rows is in scope.

use sqlparser::ast;
use sqlparser::ast::Spanned;

use super::Binder;
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::LogicalPlan;
use crate::schema::DataType;

impl Binder<'_> {
    /// The LIMIT (`None`: no limit) and OFFSET of `query`.
    pub(super) fn bind_limit(&self, query: &ast::Query) -> Result<(Option<usize>, usize)> {
        let Some(lc) = &query.limit_clause else {
            return Ok((None, 0));
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
        let limit = match limit {
            Some(e) => self.limit_count(e, "LIMIT")?,
            None => None,
        };
        let offset = match offset {
            Some(e) => self.limit_count(e, "OFFSET")?.unwrap_or(0),
            None => 0,
        };
        Ok((limit, offset))
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
        let mut b = self.child(false);
        b.outer = Vec::new();
        let x = b.bind_expr(e)?;
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

    fn pos(&self, e: &ast::Expr) -> String {
        super::position(e.span(), self.fallback)
    }
}
