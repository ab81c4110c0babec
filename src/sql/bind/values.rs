//! `VALUES (..), (..)` as a relation: in FROM, as a statement, as a branch of a
//! set operation, in a CTE. Columns are named `col0`, `col1`, ... (DuckDB) and
//! typed per column across the rows: NULLs take any type, string literals take
//! the type of the other rows (cast as DuckDB casts them), other types meet at
//! their common type. A list of constants is computed while binding and becomes
//! a constant relation ([`LogicalPlan::Values`]); a list with subqueries or
//! references to an enclosing query stays one projection per row.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{castable, common_type, is_null_literal, Binder};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::{Expr, LogicalPlan};
use crate::schema::DataType;

/// Whether `e` is a string literal (its type gives way to the other rows').
fn is_string_literal(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Literal {
            value: Value::Str(_),
            ..
        }
    )
}

impl Binder<'_> {
    pub(super) fn values(&mut self, v: &ast::Values) -> Result<LogicalPlan> {
        let width = v.rows.first().map_or(0, |r| r.content.len());
        if width == 0 {
            return Err(self.err(v.span(), "VALUES needs at least one column"));
        }
        let mut rows: Vec<Vec<(Expr, Span)>> = Vec::with_capacity(v.rows.len());
        for r in &v.rows {
            if r.content.len() != width {
                return Err(self.err(
                    r.span(),
                    format!(
                        "VALUES lists must all be the same length, expected {width} entries \
                         but found a list with {} {}",
                        r.content.len(),
                        if r.content.len() == 1 {
                            "entry"
                        } else {
                            "entries"
                        }
                    ),
                ));
            }
            let mut row = Vec::with_capacity(width);
            for e in &r.content {
                row.push((self.bind_expr(e)?, e.span()));
            }
            rows.push(row);
        }
        let mut types = Vec::with_capacity(width);
        for k in 0..width {
            types.push(self.values_column_type(&rows, k)?);
        }
        let names: Vec<String> = (0..width).map(|k| format!("col{k}")).collect();
        let mut constant = true;
        let mut inputs = Vec::with_capacity(rows.len());
        for row in rows {
            let mut exprs = Vec::with_capacity(width);
            for (k, (e, span)) in row.into_iter().enumerate() {
                let t = types[k];
                let e = if e.data_type() == t {
                    e
                } else if is_null_literal(&e) {
                    Expr::literal(Value::Null, t)
                } else if castable(e.data_type(), t) {
                    // Literals convert now, with the error at their position.
                    self.cast(e, t, span)?
                } else {
                    return Err(self.err(
                        span,
                        format!("cannot cast {} to {t} in VALUES", e.data_type()),
                    ));
                };
                constant &=
                    !e.exists(&mut |x| matches!(x, Expr::Column { .. } | Expr::Subquery(_)));
                exprs.push((e, names[k].clone()));
            }
            inputs.push(LogicalPlan::Project {
                input: Box::new(LogicalPlan::OneRow),
                exprs,
            });
        }
        let plan = if inputs.len() == 1 {
            inputs.pop().unwrap_or(LogicalPlan::OneRow)
        } else {
            LogicalPlan::Union { inputs }
        };
        if !constant {
            return Ok(plan);
        }
        // A conversion that fails while the rows are computed is an error at
        // the VALUES list.
        let result =
            crate::exec::execute(self.snapshot, &plan, self.options).map_err(|e| match e {
                Error::InvalidInput(m) if !m.starts_with("line ") => self.err(v.span(), m),
                other => other,
            })?;
        Ok(LogicalPlan::Values {
            columns: result.columns,
            batches: result.batches,
        })
    }

    /// The type of column `k` of a VALUES list.
    fn values_column_type(&self, rows: &[Vec<(Expr, Span)>], k: usize) -> Result<DataType> {
        let mut t: Option<DataType> = None;
        let mut strings = false;
        let mut null_type = None;
        for row in rows {
            let (e, span) = &row[k];
            if is_null_literal(e) {
                null_type.get_or_insert(e.data_type());
                continue;
            }
            if is_string_literal(e) {
                strings = true;
                continue;
            }
            let et = e.data_type();
            t = Some(match t {
                None => et,
                Some(prev) => match common_type(prev, et) {
                    Some(c) => c,
                    None if prev == DataType::Varchar || et == DataType::Varchar => {
                        DataType::Varchar
                    }
                    None => {
                        return Err(self.err(
                            *span,
                            format!(
                                "VALUES column {} has incompatible types {prev} and {et}",
                                k + 1
                            ),
                        ))
                    }
                },
            });
        }
        Ok(match t {
            Some(t) => t,
            None if strings => DataType::Varchar,
            None => null_type.unwrap_or(DataType::Integer),
        })
    }
}
