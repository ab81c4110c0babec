//! Parameters: the placeholders of a statement (`$1`, `$2`, ... or `?`) found and
//! numbered once, values substituted as typed literals into a copy of the AST
//! (sqlparser's `VisitorMut`) before planning, and the [`PreparedStatement`] that
//! does both.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast;
use sqlparser::tokenizer::{Location, Span};

use super::{err_at, execute, Statement};
use crate::column::Value;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};

/// Where each parameter occurs: `$n` by number, `?` in order of appearance.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    /// (line, column) of each placeholder -> its 1-based parameter number.
    at: BTreeMap<(u64, u64), usize>,
    count: usize,
}

impl Params {
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

fn key(l: Location) -> (u64, u64) {
    (l.line, l.column)
}

/// Finds the placeholders of a statement and numbers them.
pub(crate) fn find_params(statement: &mut Statement) -> Result<Params> {
    let mut found: Vec<(String, Span)> = Vec::new();
    let _ = visit(statement, &mut |e| {
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Placeholder(p) = &v.value {
                found.push((p.clone(), v.span));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found.sort_by_key(|(_, s)| key(s.start));
    let mut params = Params::default();
    let (mut positional, mut numbered) = (0usize, false);
    for (p, span) in &found {
        let n = if p == "?" {
            positional += 1;
            positional
        } else if let Some(n) = p.strip_prefix('$').and_then(|d| d.parse::<usize>().ok()) {
            numbered = true;
            if n == 0 || n > 65535 {
                return Err(err_at(*span, *span, format!("invalid parameter {p}")));
            }
            n
        } else {
            return Err(err_at(
                *span,
                *span,
                format!("not supported yet: named parameter {p}; use $1, $2, ... or ?"),
            ));
        };
        if positional > 0 && numbered {
            return Err(err_at(
                *span,
                *span,
                "mixing ? and $n parameters in one statement is not supported",
            ));
        }
        params.at.insert(key(span.start), n);
        params.count = params.count.max(n);
    }
    Ok(params)
}

fn visit<F>(statement: &mut Statement, f: &mut F) -> ControlFlow<()>
where
    F: FnMut(&mut ast::Expr) -> ControlFlow<()>,
{
    match statement {
        Statement::Query { query, .. } => ast::visit_expressions_mut(query.as_mut(), f),
        Statement::Other(s) => ast::visit_expressions_mut(s.as_mut(), f),
        Statement::Summarize(q) => ast::visit_expressions_mut(q.as_mut(), f),
        // The parameters of a PREPAREd statement are its own (found when it runs).
        Statement::DropPartition { .. }
        | Statement::Copy(_)
        | Statement::Pragma(_)
        | Statement::Prepare { .. }
        | Statement::Execute { .. }
        | Statement::Deallocate { .. } => ControlFlow::Continue(()),
    }
}

/// Replaces each placeholder by its parameter as a typed literal (keeping the
/// placeholder's position for error messages).
pub(crate) fn bind_params(
    statement: &mut Statement,
    params: &Params,
    values: &[Value],
) -> Result<()> {
    check_count(params, values.len())?;
    substitute(statement, params, &mut |n, span| {
        literal(&values[n - 1], span)
    })
}

/// Replaces each placeholder by its argument expression (SQL `EXECUTE name(args)`),
/// in parentheses.
pub(crate) fn bind_param_exprs(
    statement: &mut Statement,
    params: &Params,
    args: &[ast::Expr],
) -> Result<()> {
    check_count(params, args.len())?;
    substitute(statement, params, &mut |n, _| {
        ast::Expr::Nested(Box::new(args[n - 1].clone()))
    })
}

fn check_count(params: &Params, given: usize) -> Result<()> {
    if given != params.count {
        return Err(Error::InvalidInput(format!(
            "line 1, column 1: the statement has {} parameter{}, {} value{} given",
            params.count,
            if params.count == 1 { "" } else { "s" },
            given,
            if given == 1 { " was" } else { "s were" }
        )));
    }
    Ok(())
}

/// Replaces placeholder `$n` (at `span`) by `value(n, span)`.
fn substitute(
    statement: &mut Statement,
    params: &Params,
    value: &mut dyn FnMut(usize, Span) -> ast::Expr,
) -> Result<()> {
    if params.count == 0 {
        return Ok(());
    }
    let _ = visit(statement, &mut |e| {
        let span = match e {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => v.span,
            _ => return ControlFlow::Continue(()),
        };
        if let Some(&n) = params.at.get(&key(span.start)) {
            *e = value(n, span);
        }
        ControlFlow::Continue(())
    });
    Ok(())
}

/// A parameter value as a SQL literal.
fn literal(v: &Value, span: Span) -> ast::Expr {
    let value = |value: ast::Value| ast::Expr::Value(ast::ValueWithSpan { value, span });
    match v {
        Value::Null => value(ast::Value::Null),
        Value::Int(i) => value(ast::Value::Number(i.to_string(), false)),
        Value::Float(f) if f.is_finite() => {
            let mut s = format!("{f:?}");
            if !s.contains(['.', 'e', 'E']) {
                s.push_str(".0");
            }
            value(ast::Value::Number(s, false))
        }
        Value::Float(f) => ast::Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(value(ast::Value::SingleQuotedString(
                if f.is_nan() {
                    "nan"
                } else if *f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                }
                .into(),
            ))),
            data_type: ast::DataType::Double(ast::ExactNumberInfo::None),
            format: None,
        },
        Value::Bool(b) => value(ast::Value::Boolean(*b)),
        Value::Str(s) => value(ast::Value::SingleQuotedString(s.to_string())),
        Value::Ip(x) => value(ast::Value::SingleQuotedString(crate::ip::format(*x))),
        Value::List(items) => ast::Expr::Array(ast::Array {
            elem: items.iter().map(|v| literal(v, span)).collect(),
            named: false,
        }),
    }
}

/// A statement parsed once, run many times with different parameter values
/// (`$1`, `$2`, ... or `?`, numbered in order of appearance). Parameters are
/// substituted as typed literals before planning, so a parameter in `WHERE` prunes
/// partitions, zone maps and uses indexes like a literal does.
///
/// ```no_run
/// # use logdb::{Db, Value};
/// # let db = Db::open("/tmp/db")?;
/// let stmt = db.prepare("SELECT count(*) FROM logs WHERE uid = $1 AND ts >= $2")?;
/// let r = stmt.query(&[Value::from("u42"), Value::from("2024-05-01")])?;
/// # Ok::<(), logdb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    pub(crate) db: Db,
    pub(crate) options: ExecOptions,
    pub(crate) sql: String,
    pub(crate) statement: Statement,
    pub(crate) params: Params,
}

impl PreparedStatement {
    /// The SQL text it was prepared from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// How many parameter values `query` takes.
    pub fn parameter_count(&self) -> usize {
        self.params.count
    }

    /// Runs the statement with `params` (one per parameter, `params[0]` for `$1`)
    /// and the settings of the session it was prepared in. Timestamps are passed as
    /// text (`Value::from("2024-05-01 10:00:00")`); a value of the wrong type fails
    /// like the same literal would, at the parameter's position.
    pub fn query(&self, params: &[Value]) -> Result<QueryResult> {
        let mut options = self.options.clone();
        self.run(&mut options, params)
    }

    pub(crate) fn run(&self, options: &mut ExecOptions, params: &[Value]) -> Result<QueryResult> {
        crate::exec::stack::on_query_stack(self.sql.len(), || {
            let mut statement = self.statement.clone();
            bind_params(&mut statement, &self.params, params)?;
            execute(&self.db, options, &statement)
        })
    }
}
