//! `WITH ctes INSERT | UPDATE | DELETE ...`: common table expressions before a
//! data-modifying statement, visible (as in DuckDB) to the statement's source
//! query, conditions and assigned values. INSERT takes them into its source
//! query; UPDATE and DELETE into the query that computes the table's new rows
//! (`rewrite_rows.rs`). A CTE named like the target table, and clauses after the
//! statement (ORDER BY, LIMIT, ...), are "not supported yet".

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::err_at;
use crate::db::Db;
use crate::error::Result;
use crate::exec::{ExecOptions, QueryResult};

/// Whether `q` is a data-modifying statement under WITH (sqlparser reads it as a
/// query whose body is the statement).
pub(super) fn is_data_modifying(q: &ast::Query) -> bool {
    matches!(
        q.body.as_ref(),
        ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_)
    )
}

/// Runs the data-modifying statement `q` (see `is_data_modifying`).
pub(super) fn execute(
    db: &Db,
    options: &ExecOptions,
    q: &ast::Query,
    fallback: Span,
) -> Result<QueryResult> {
    let unsupported =
        |span: Span, what: &str| err_at(span, fallback, format!("not supported yet: {what}"));
    if q.order_by.is_some()
        || q.limit_clause.is_some()
        || q.fetch.is_some()
        || !q.locks.is_empty()
        || q.for_clause.is_some()
        || q.settings.is_some()
        || q.format_clause.is_some()
        || !q.pipe_operators.is_empty()
    {
        return Err(unsupported(
            fallback,
            "clauses after an INSERT, UPDATE or DELETE",
        ));
    }
    let with = q.with.as_ref();
    let shadowed = |target: &ast::ObjectName| -> Result<()> {
        let Some(with) = with else { return Ok(()) };
        let name = target.0.last().and_then(|p| p.as_ident());
        match with
            .cte_tables
            .iter()
            .find(|c| name.is_some_and(|n| c.alias.name.value.eq_ignore_ascii_case(&n.value)))
        {
            Some(c) => Err(unsupported(
                c.alias.name.span,
                "a common table expression named like the table the statement changes",
            )),
            None => Ok(()),
        }
    };
    match q.body.as_ref() {
        ast::SetExpr::Insert(ast::Statement::Insert(ins)) => {
            if let ast::TableObject::TableName(name) = &ins.table {
                shadowed(name)?;
            }
            let mut ins = ins.clone();
            if let (Some(with), Some(source)) = (with, ins.source.as_mut()) {
                source.with = Some(merged(with, source.with.take(), fallback)?);
            }
            super::dml::insert(db, options, &ins)
        }
        ast::SetExpr::Update(ast::Statement::Update(u)) => {
            if let ast::TableFactor::Table { name, .. } = &u.table.relation {
                shadowed(name)?;
            }
            super::rewrite_rows::update(db, options, u, with, fallback)
        }
        ast::SetExpr::Delete(ast::Statement::Delete(d)) => {
            let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) =
                &d.from;
            for twj in from {
                if let ast::TableFactor::Table { name, .. } = &twj.relation {
                    shadowed(name)?;
                }
            }
            super::dml::delete(db, options, d, with, fallback)
        }
        other => Err(unsupported(other.span(), "this statement under WITH")),
    }
}

/// The CTEs of `outer` followed by those of `inner` (the source query's own WITH),
/// so that the inner ones see the outer ones.
fn merged(outer: &ast::With, inner: Option<ast::With>, fallback: Span) -> Result<ast::With> {
    let Some(inner) = inner else {
        return Ok(outer.clone());
    };
    if let Some(c) = inner.cte_tables.iter().find(|c| {
        outer
            .cte_tables
            .iter()
            .any(|o| o.alias.name.value.eq_ignore_ascii_case(&c.alias.name.value))
    }) {
        return Err(err_at(
            c.alias.name.span,
            fallback,
            "not supported yet: a common table expression of the INSERT's query named like \
             one of the statement's",
        ));
    }
    let mut with = outer.clone();
    with.recursive |= inner.recursive;
    with.cte_tables.extend(inner.cte_tables);
    Ok(with)
}
