//! Table functions in FROM (`range(10) t(i)`, `generate_series(a, b, step)`):
//! the registry of the names the binder knows and the binding of each call. The
//! arguments are constant expressions, evaluated here once; the result is a
//! [`LogicalPlan::TableFunction`] whose rows the executor produces batch by batch
//! (`exec/table_function.rs`). A new function (a file reader) is a new arm of
//! [`Binder::table_function`] and a variant of [`TableFunc`]; the file readers
//! are bound in `read_files.rs`.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_int, is_null_literal, Binder};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{Expr, LogicalPlan, Series, TableFunc};
use crate::schema::DataType;
use crate::time::MICROS_PER_DAY;

/// The table functions FROM accepts.
pub(super) const TABLE_FUNCTIONS: &[&str] = &["range", "generate_series", "unnest"];

/// The signatures of `range` and `generate_series`, for "no match" errors.
const SERIES_SIGNATURES: &str = "(stop BIGINT), (start BIGINT, stop BIGINT), \
     (start BIGINT, stop BIGINT, step BIGINT), (start TIMESTAMP, stop TIMESTAMP, step INTERVAL)";

/// A bound argument: its value (folded) and what it was.
struct Arg {
    value: Value,
    data_type: DataType,
    /// An `INTERVAL` (its value in micros).
    interval: bool,
    span: Span,
}

impl Binder<'_> {
    /// Binds the call `name(args)` in FROM. A table alias's column list renames
    /// the output columns; a function of one column takes the name of an alias
    /// without one (DuckDB: `range(3) t` has the column `t`).
    pub(super) fn table_function(
        &mut self,
        name: &ast::ObjectName,
        args: &ast::TableFunctionArgs,
        alias: Option<&ast::TableAlias>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let fname = match name.0.as_slice() {
            [ast::ObjectNamePart::Identifier(id)] => id.value.to_ascii_lowercase(),
            _ => return Err(self.unsupported(name.span(), "qualified table function names")),
        };
        if args.settings.is_some() {
            return Err(self.unsupported(span, "SETTINGS in a table function call"));
        }
        let func = match fname.as_str() {
            "range" | "generate_series" => {
                let bound = self.constant_args(&args.args)?;
                TableFunc::Series(self.series(&fname, &bound, span)?)
            }
            f if super::read_files::READERS.contains(&f) => {
                self.file_reader_call(f, &args.args, span)?
            }
            "unnest" => return self.unnest_table(&args.args, alias, span),
            other => {
                return Err(self.unsupported(
                    name.span(),
                    format!(
                        "table function '{other}' (known table functions: {}, {})",
                        TABLE_FUNCTIONS.join(", "),
                        super::read_files::READERS.join(", ")
                    ),
                ))
            }
        };
        self.table_function_plan(&fname, func, alias, span)
    }

    /// The plan of a bound table function call, its columns renamed by `alias`.
    pub(super) fn table_function_plan(
        &self,
        fname: &str,
        func: TableFunc,
        alias: Option<&ast::TableAlias>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut schema = match &func {
            TableFunc::Series(s) => vec![(s.name().to_string(), s.data_type)],
            TableFunc::ReadFile(r) => {
                let mut cols = r.columns.clone();
                if r.filename {
                    cols.push(("filename".to_string(), DataType::Varchar));
                }
                cols.extend(r.hive.iter().cloned());
                cols
            }
        };
        let columns: Vec<String> = match alias {
            Some(a) if !a.columns.is_empty() => {
                a.columns.iter().map(|c| c.name.value.clone()).collect()
            }
            Some(a) if schema.len() == 1 => vec![a.name.value.clone()],
            _ => Vec::new(),
        };
        if columns.len() > schema.len() {
            return Err(self.err(
                span,
                format!(
                    "table function {fname} has {} columns but {} column names were given",
                    schema.len(),
                    columns.len()
                ),
            ));
        }
        for (c, n) in schema.iter_mut().zip(columns) {
            c.0 = n;
        }
        Ok(LogicalPlan::TableFunction {
            func,
            columns: schema,
        })
    }

    /// `unnest(list)` in FROM: a row per element of a constant list (none for a
    /// NULL or empty list), in one column named `unnest` or by the alias.
    fn unnest_table(
        &mut self,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let bound = self.constant_args(args)?;
        let [arg] = bound.as_slice() else {
            return Err(self.err(
                span,
                format!("unnest takes 1 argument(s), got {}", bound.len()),
            ));
        };
        let Some(elem) = arg.data_type.list_elem() else {
            return Err(self.err(
                arg.span,
                format!("unnest needs a LIST argument, not {}", arg.data_type),
            ));
        };
        let mut col = Column::new(ColumnData::empty(elem.physical()));
        if let Value::List(items) = &arg.value {
            for v in items.iter() {
                col.push(v);
            }
        }
        let name = match alias {
            Some(a) if a.columns.len() > 1 => {
                return Err(self.err(
                    span,
                    format!(
                        "table function unnest has 1 columns but {} column names were given",
                        a.columns.len()
                    ),
                ))
            }
            Some(a) => a
                .columns
                .first()
                .map_or_else(|| a.name.value.clone(), |c| c.name.value.clone()),
            None => "unnest".to_string(),
        };
        Ok(LogicalPlan::Values {
            columns: vec![(name, elem)],
            batches: vec![Batch { columns: vec![col] }],
        })
    }

    /// Binds and evaluates each argument: constant expressions and INTERVALs.
    fn constant_args(&mut self, args: &[ast::FunctionArg]) -> Result<Vec<Arg>> {
        let mut out = Vec::new();
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(
                    self.unsupported(a.span(), "named or wildcard arguments of a table function")
                );
            };
            let at = e.span();
            let (expr, interval) = match e {
                ast::Expr::Interval(iv) => (self.child(false).interval_expr(iv, at)?, true),
                _ => (self.child(false).bind_expr(e)?, false),
            };
            if expr.has_subquery() {
                return Err(self.unsupported(at, "a subquery as a table function argument"));
            }
            let data_type = expr.data_type();
            let value = if is_null_literal(&expr) {
                Value::Null
            } else {
                self.fold(&expr, at)?
            };
            out.push(Arg {
                value,
                data_type,
                interval,
                span: at,
            });
        }
        Ok(out)
    }

    /// The value of a bound constant expression (it names no column).
    pub(super) fn fold(&self, e: &Expr, at: Span) -> Result<Value> {
        let v = crate::exec::vector::eval(e, &[], 1).map_err(|err| match err {
            Error::InvalidInput(m) => self.err(at, m),
            other => other,
        })?;
        Ok(v.value(0, e.data_type()))
    }

    /// `range` / `generate_series` with DuckDB's signatures: BIGINT
    /// `(stop)`, `(start, stop)`, `(start, stop, step)`, or TIMESTAMP `(start,
    /// stop, INTERVAL step)`. A NULL argument gives no rows; a zero step is an
    /// error.
    fn series(&self, fname: &str, args: &[Arg], span: Span) -> Result<Series> {
        let no_match = || {
            let types: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.interval {
                        "INTERVAL".to_string()
                    } else {
                        a.data_type.to_string()
                    }
                })
                .collect();
            self.err(
                span,
                format!(
                    "no function matches {fname}({}); candidates: {fname}{}",
                    types.join(", "),
                    SERIES_SIGNATURES.replace(", (", &format!(", {fname}("))
                ),
            )
        };
        let null = |a: &Arg| matches!(a.value, Value::Null);
        let timestamps = args.len() == 3
            && args[2].interval
            && args[..2]
                .iter()
                .all(|a| null(a) || matches!(a.data_type, DataType::Timestamp | DataType::Date));
        let (data_type, values) = if timestamps {
            let values: Vec<Option<i64>> = args
                .iter()
                .map(|a| match (&a.value, a.data_type) {
                    (Value::Int(d), DataType::Date) => d.checked_mul(MICROS_PER_DAY),
                    (Value::Int(v), _) => Some(*v),
                    _ => None,
                })
                .collect();
            (DataType::Timestamp, values)
        } else {
            let mut values = Vec::new();
            for a in args {
                if a.interval {
                    return Err(no_match());
                }
                values.push(match (&a.value, a.data_type) {
                    (Value::Null, _) => None,
                    (Value::Int(v), t) if is_int(t) => Some(*v),
                    (Value::Str(s), DataType::Varchar) => {
                        Some(s.trim().parse::<i64>().map_err(|_| {
                            self.err(a.span, format!("Could not convert string '{s}' to INT64"))
                        })?)
                    }
                    _ => return Err(no_match()),
                });
            }
            (DataType::BigInt, values)
        };
        let (start, stop, step) = match values.as_slice() {
            [stop] => (Some(0), *stop, Some(1)),
            [start, stop] => (*start, *stop, Some(1)),
            [start, stop, step] => (*start, *stop, *step),
            _ => return Err(no_match()),
        };
        if step == Some(0) {
            return Err(self.err(span, format!("the step of {fname} cannot be 0")));
        }
        let empty = start.is_none() || stop.is_none() || step.is_none();
        Ok(Series {
            start: start.unwrap_or(0),
            stop: stop.unwrap_or(0),
            step: step.unwrap_or(1),
            inclusive: fname == "generate_series",
            data_type,
            empty,
        })
    }
}
