//! The SQL front end: text -> sqlparser AST -> typed [`LogicalPlan`].
//!
//! - [`parse`] parses one statement with sqlparser's DuckDB dialect (it accepts
//!   `x::type`, `ILIKE`, `//`, both `INTERVAL '5 minutes'` and `INTERVAL 5 MINUTE`,
//!   and aggregate `FILTER`, which the binder then rejects with a clear message),
//!   plus `IGNORE NULLS` inside a call's parentheses (`dialect.rs`), and DuckDB's
//!   `PIVOT t ON col USING agg` statement (`statement/pivot.rs`).
//! - [`parse_statement`] also accepts DDL, DML and `SET` ([`statement`] runs them).
//! - [`plan`] resolves the query against a snapshot's table schema ([`bind`]) and
//!   derives scan hints ([`crate::plan::optimize`]): the time range and zone-map
//!   predicates.
//! - [`strip_format`] splits ClickHouse's trailing `FORMAT name` off a statement,
//!   for the front ends that answer in the named format (the shell, HTTP).
//!
//! Every user mistake is an [`Error::InvalidInput`] that starts with
//! "line L, column C:".

pub mod bind;
mod dialect;
pub mod explain;
mod format_clause;
mod frame_exclude;
pub mod session;
pub mod statement;

use sqlparser::parser::Parser;

use crate::error::{Error, Result};
pub use crate::plan::{
    AggExpr, AggFunc, BinaryOp, BuildSide, Expr, JoinKind, LogicalPlan, ScalarFunc, SortKey,
};
use crate::storage::Snapshot;
pub use format_clause::strip_format;
pub use session::Session;
pub use statement::{PreparedStatement, Statement};

/// Nesting deeper than this is refused by the parser (parentheses, subqueries,
/// unary operators: what its recursion counts).
const MAX_DEPTH: usize = 200;

/// The deepest expression a statement may hold, as DuckDB's default
/// `max_expression_depth`. Flat chains count too: `1 + 1 + ... + 1` with n terms
/// parses into a tree n - 1 levels deep, which every later pass walks recursively.
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// Parses exactly one `SELECT` statement.
pub fn parse(sql: &str) -> Result<sqlparser::ast::Query> {
    match parse_statement(sql)? {
        Statement::Query {
            query,
            explain: None,
        } => Ok(*query),
        Statement::Query { .. } => Err(Error::InvalidInput(
            "line 1, column 1: not supported yet: EXPLAIN here (use Db::query)".into(),
        )),
        _ => Err(Error::InvalidInput(
            "line 1, column 1: expected a SELECT statement (use Db::query or a Session \
             for other statements)"
                .into(),
        )),
    }
}

/// Parses one statement of any kind logdb runs (see [`statement`]): a query,
/// possibly under `EXPLAIN [ANALYZE]`, or DDL/DML/`SET`. Kinds logdb does not run
/// are refused here with "not supported yet".
pub fn parse_statement(sql: &str) -> Result<Statement> {
    if let Some(s) = statement::parse_drop_partition(sql) {
        return Ok(s);
    }
    // A refused tree is dropped there too, not on the caller's stack.
    crate::exec::stack::on_query_stack(sql.len(), || parse_one(sql))
}

/// Parses `sql`, which must hold one statement whose expressions nest at most
/// [`MAX_EXPRESSION_DEPTH`] deep.
fn parse_one(sql: &str) -> Result<Statement> {
    if let Some(copy) = statement::parse_copy(sql) {
        return copy;
    }
    if let Some(pragma) = statement::parse_pragma(sql) {
        return pragma;
    }
    if let Some(summarize) = statement::parse_summarize(sql) {
        return summarize;
    }
    if let Some(pivot) = statement::parse_pivot_statement(sql) {
        let pivot = pivot?;
        if let Statement::Query { query, .. } = &pivot {
            check_expression_depth(&sqlparser::ast::Statement::Query(query.clone()))?;
        }
        return Ok(pivot);
    }
    let dialect = dialect::LogdbDialect::default();
    let mut statements = dialect::tokens(sql)
        .and_then(|tokens| {
            Parser::new(&dialect)
                .with_recursion_limit(MAX_DEPTH)
                .with_tokens_with_locations(tokens)
                .parse_statements()
        })
        .map_err(|e| Error::InvalidInput(parser_message(&e.to_string())))?;
    if statements.len() != 1 {
        return Err(Error::InvalidInput(format!(
            "line 1, column 1: expected exactly one statement, found {}",
            statements.len()
        )));
    }
    check_expression_depth(&statements[0])?;
    statement::from_ast(statements.remove(0))
}

/// Refuses a statement with an expression nested deeper than
/// [`MAX_EXPRESSION_DEPTH`], naming where the too-deep part starts.
fn check_expression_depth(statement: &sqlparser::ast::Statement) -> Result<()> {
    use sqlparser::ast::{Spanned, Visit, Visitor};
    use std::ops::ControlFlow;

    struct Depth(usize);
    impl Visitor for Depth {
        type Break = sqlparser::tokenizer::Span;
        fn pre_visit_expr(&mut self, e: &sqlparser::ast::Expr) -> ControlFlow<Self::Break> {
            self.0 += 1;
            if self.0 > MAX_EXPRESSION_DEPTH {
                return ControlFlow::Break(e.span());
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &sqlparser::ast::Expr) -> ControlFlow<Self::Break> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
    }
    match statement.visit(&mut Depth(0)) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(span) => Err(Error::InvalidInput(format!(
            "line {}, column {}: expression too deep: more than {MAX_EXPRESSION_DEPTH} \
             nested levels (a chain of n operators nests n deep)",
            span.start.line.max(1),
            span.start.column.max(1)
        ))),
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
    crate::exec::stack::on_query_stack(sql.len(), || plan_query(snapshot, &parse(sql)?))
}

/// Binds a parsed query against the tables of `snapshot` (names are resolved
/// scope by scope: CTEs, FROM items, joins, subqueries) and optimizes the plan.
/// A query binding runs (the values of a `PIVOT` without `IN`) runs with default
/// settings; [`plan_query_with`] takes a session's.
pub fn plan_query(snapshot: &Snapshot, query: &sqlparser::ast::Query) -> Result<LogicalPlan> {
    plan_query_with(snapshot, query, &crate::exec::ExecOptions::default())
}

/// [`plan_query`] with the settings of the session it runs in.
pub fn plan_query_with(
    snapshot: &Snapshot,
    query: &sqlparser::ast::Query,
    options: &crate::exec::ExecOptions,
) -> Result<LogicalPlan> {
    let plan = bind::bind_query(query, snapshot, options)?;
    crate::plan::optimize::optimize(plan, snapshot)
}
