//! The SQL front end: text -> sqlparser AST -> typed [`LogicalPlan`].
//!
//! - [`parse`] parses one statement with sqlparser's DuckDB dialect (it accepts
//!   `x::type`, `ILIKE`, `//`, both `INTERVAL '5 minutes'` and `INTERVAL 5 MINUTE`,
//!   and aggregate `FILTER`, which the binder then rejects with a clear message).
//! - [`plan`] resolves the query against a snapshot's table schema ([`bind`]) and
//!   derives scan hints ([`optimize`]): the time range and zone-map predicates.
//!
//! Every user mistake is an [`Error::InvalidInput`] that starts with
//! "line L, column C:".

pub mod bind;
pub mod explain;
pub mod optimize;
pub mod plan;
pub mod session;

use sqlparser::ast::{Spanned, Statement};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use crate::db::Snapshot;
use crate::error::{Error, Result};
pub use plan::{
    AggExpr, AggFunc, BinaryOp, BuildSide, Expr, JoinKind, LogicalPlan, ScalarFunc, SortKey,
};
pub use session::Session;

/// Nesting deeper than this is refused (the parser and binder recurse).
const MAX_DEPTH: usize = 200;

/// Parses exactly one `SELECT` statement.
pub fn parse(sql: &str) -> Result<sqlparser::ast::Query> {
    match parse_statement(sql)? {
        (q, None) => Ok(q),
        (_, Some(_)) => Err(Error::InvalidInput(
            "line 1, column 1: not supported yet: EXPLAIN here (use Db::query)".into(),
        )),
    }
}

/// Parses one `SELECT` statement, possibly under `EXPLAIN [ANALYZE]`: the query and
/// `Some(analyze)` for an EXPLAIN.
pub fn parse_statement(sql: &str) -> Result<(sqlparser::ast::Query, Option<bool>)> {
    let dialect = DuckDbDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| Error::InvalidInput(parser_message(&e.to_string())))?;
    if statements.len() != 1 {
        return Err(Error::InvalidInput(format!(
            "line 1, column 1: expected exactly one statement, found {}",
            statements.len()
        )));
    }
    let (statement, explain) = match statements.remove(0) {
        Statement::Explain {
            describe_alias: sqlparser::ast::DescribeAlias::Explain,
            analyze,
            statement,
            ..
        } => (*statement, Some(analyze)),
        other => (other, None),
    };
    match statement {
        Statement::Query(q) => Ok((*q, explain)),
        other => {
            let pos = bind::position(other.span(), other.span());
            let word = other.to_string();
            let word = word.split_whitespace().next().unwrap_or("").to_uppercase();
            Err(Error::InvalidInput(format!(
                "{pos}: not supported yet: {word} statements (only SELECT)"
            )))
        }
    }
}

/// Rewrites sqlparser's "sql parser error: X at Line: L, Column: C" as
/// "line L, column C: syntax error: X".
fn parser_message(msg: &str) -> String {
    let msg = msg.strip_prefix("sql parser error: ").unwrap_or(msg);
    if let Some(p) = msg.rfind(" at Line: ") {
        let (text, pos) = msg.split_at(p);
        let pos = pos.trim_start_matches(" at Line: ");
        if let Some((line, col)) = pos.split_once(", Column: ") {
            return format!("line {line}, column {col}: syntax error: {text}");
        }
    }
    format!("line 1, column 1: syntax error: {msg}")
}

/// Parses and binds `sql` against the tables of `snapshot`.
pub fn plan(snapshot: &Snapshot, sql: &str) -> Result<LogicalPlan> {
    plan_query(snapshot, &parse(sql)?)
}

/// Binds a parsed query against the tables of `snapshot` (names are resolved
/// scope by scope: CTEs, FROM items, joins, subqueries) and optimizes the plan.
pub fn plan_query(snapshot: &Snapshot, query: &sqlparser::ast::Query) -> Result<LogicalPlan> {
    let plan = bind::bind_query(query, snapshot)?;
    optimize::optimize(plan, snapshot)
}
