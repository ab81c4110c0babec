//! SQL-level prepared statements: `PREPARE name AS statement`, `EXECUTE name
//! [(arg, ...)]` and `DEALLOCATE [PREPARE] name`, kept by name in a session
//! ([`Prepared`]) as DuckDB keeps them per connection.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, Spanned};

use super::params::{bind_param_exprs, find_params, Params};
use super::results::success;
use super::{err_at, execute, from_ast, Statement};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};

/// A session's statements prepared by SQL `PREPARE`, by lowercased name.
#[derive(Clone, Debug, Default)]
pub struct Prepared(HashMap<String, (Statement, Params)>);

impl Prepared {
    /// Runs `statement` in the session these belong to: PREPARE, EXECUTE and
    /// DEALLOCATE use them, anything else runs as [`execute`] runs it.
    pub(crate) fn run(
        &mut self,
        db: &Db,
        options: &mut ExecOptions,
        statement: Statement,
    ) -> Result<QueryResult> {
        match statement {
            Statement::Prepare { name, statement } => {
                let mut statement = *statement;
                let params = find_params(&mut statement)?;
                self.0.insert(name, (statement, params));
                Ok(success())
            }
            Statement::Execute { name, args, span } => {
                let Some((statement, params)) = self.0.get(&name) else {
                    return Err(err_at(
                        span,
                        span,
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                };
                let mut statement = statement.clone();
                bind_param_exprs(&mut statement, params, &args)?;
                execute(db, options, &statement)
            }
            Statement::Deallocate { name } => {
                // DuckDB: deallocating an unknown name is no error.
                self.0.remove(&name);
                Ok(success())
            }
            other => execute(db, options, &other),
        }
    }
}

/// Whether `statement` is one [`Prepared::run`] handles itself.
pub(crate) fn is_session_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. }
    )
}

/// `PREPARE name [(types)] AS statement`.
pub(super) fn prepare(
    name: ast::Ident,
    data_types: Vec<ast::DataType>,
    statement: ast::Statement,
) -> Result<Statement> {
    let span = statement.span();
    if !data_types.is_empty() {
        return Err(err_at(
            name.span,
            span,
            "not supported yet: parameter types in PREPARE (DuckDB has none either); \
             cast the parameters in the statement, e.g. $1::INTEGER",
        ));
    }
    let inner = from_ast(statement)?;
    let preparable = match &inner {
        Statement::Other(s) => !matches!(
            s.as_ref(),
            ast::Statement::Set(_) | ast::Statement::Reset(_)
        ),
        s => !is_session_statement(s),
    };
    if !preparable {
        return Err(err_at(
            span,
            span,
            "SET, RESET, PREPARE, EXECUTE and DEALLOCATE cannot be prepared",
        ));
    }
    Ok(Statement::Prepare {
        name: name.value.to_lowercase(),
        statement: Box::new(inner),
    })
}

/// `EXECUTE name [(arg, ...)]`: arguments are constant expressions (no columns,
/// no subqueries), as in DuckDB.
pub(super) fn execute_args(statement: ast::Statement) -> Result<Statement> {
    let span = statement.span();
    let ast::Statement::Execute {
        name: Some(name),
        parameters,
        immediate: false,
        into,
        using,
        output: false,
        default: false,
        ..
    } = statement
    else {
        return Err(err_at(
            span,
            span,
            "not supported yet: this form of EXECUTE; use EXECUTE name(arg, ...)",
        ));
    };
    if !into.is_empty() || !using.is_empty() {
        return Err(err_at(
            span,
            span,
            "not supported yet: EXECUTE ... INTO / USING",
        ));
    }
    for p in &parameters {
        let mut bad = None;
        let _ = ast::visit_expressions(p, |e| {
            if matches!(
                e,
                ast::Expr::Identifier(_)
                    | ast::Expr::CompoundIdentifier(_)
                    | ast::Expr::Subquery(_)
                    | ast::Expr::Exists { .. }
                    | ast::Expr::InSubquery { .. }
            ) {
                bad = Some(e.span());
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(at) = bad {
            return Err(err_at(
                at,
                span,
                "EXECUTE takes constant values as parameters (no columns or subqueries)",
            ));
        }
    }
    let name = name.to_string().to_lowercase();
    if name.contains('.') {
        return Err(Error::InvalidInput(format!(
            "{}: a prepared statement's name has no schema: {name}",
            super::position(span, span)
        )));
    }
    Ok(Statement::Execute {
        name,
        args: parameters,
        span,
    })
}
