//! `UPDATE t SET col = expr, ... [WHERE cond]`, and `DELETE FROM t WHERE cond`
//! on a plain table (one without a time column): the table's new rows are
//! computed by a query over a snapshot (so the expressions and the condition
//! may be anything a query allows, correlated subqueries included) and replace
//! the old rows in one commit (`Db::replace_table_rows`): a crash leaves the
//! old rows or the new ones, never a mix. Rows keep their order.
//!
//! DELETE keeps the rows whose condition is not TRUE (`SELECT * FROM t WHERE
//! CASE WHEN cond THEN FALSE ELSE TRUE END`). UPDATE reads each row, whether
//! its condition is TRUE, and the assigned values where it is (`SELECT *, CASE
//! WHEN cond THEN TRUE ELSE FALSE END, CASE WHEN cond THEN expr END, ...`);
//! the values are cast to the column types as INSERT casts them. The CTEs of a
//! `WITH ... UPDATE | DELETE` (`with_dml.rs`) are the query's.

use sqlparser::ast::{self, helpers::attached_token::AttachedToken, Spanned};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

use super::constant::cast_value;
use super::dml::check_not_null;
use super::results::count_result;
use super::{err_at, resolve_table, table_name};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::vector::push_value;
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::TableSchema;
use crate::storage::Snapshot;

/// `SELECT * FROM <relation>`, to be completed.
fn select_from(relation: &ast::TableFactor) -> Result<(ast::Query, ast::Select)> {
    let mut statements = Parser::parse_sql(&DuckDbDialect {}, "SELECT * FROM t")
        .map_err(|e| Error::Internal(format!("the rewrite template: {e}")))?;
    let Some(ast::Statement::Query(q)) = statements.pop() else {
        return Err(Error::Internal("the rewrite template is no query".into()));
    };
    let ast::SetExpr::Select(s) = q.body.as_ref() else {
        return Err(Error::Internal("the rewrite template is no SELECT".into()));
    };
    let mut select = (**s).clone();
    select.from[0].relation = relation.clone();
    Ok((*q, select))
}

fn with_select(mut q: ast::Query, select: ast::Select) -> ast::Query {
    q.body = Box::new(ast::SetExpr::Select(Box::new(select)));
    q
}

fn boolean(b: bool) -> ast::Expr {
    ast::Expr::value(ast::Value::Boolean(b))
}

/// `CASE WHEN cond THEN then ELSE else_result END`.
fn case_when(cond: &ast::Expr, then: ast::Expr, else_result: Option<ast::Expr>) -> ast::Expr {
    ast::Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![ast::CaseWhen {
            condition: ast::Expr::Nested(Box::new(cond.clone())),
            result: then,
        }],
        else_result: else_result.map(Box::new),
    }
}

/// The single table a DELETE or UPDATE names, its key and schema; a log table
/// is refused with `log_table`.
fn plain_table<'a>(
    db: &Db,
    twj: &'a ast::TableWithJoins,
    statement: &str,
    fallback: Span,
) -> Result<(&'a ast::TableFactor, String, TableSchema)> {
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in {statement}"),
        )
    };
    let ast::TableFactor::Table { name, .. } = &twj.relation else {
        return Err(unsupported(twj.relation.span(), "this table expression"));
    };
    if !twj.joins.is_empty() {
        return Err(unsupported(twj.relation.span(), "JOIN"));
    }
    let id = table_name(name, fallback)?;
    let (table, schema) = resolve_table(db, &id, fallback)?;
    Ok((&twj.relation, table, schema))
}

/// Runs `q` over `snapshot`.
fn run(snapshot: &Snapshot, q: &ast::Query, options: &ExecOptions) -> Result<QueryResult> {
    let plan = crate::sql::plan_query_with(snapshot, q, options)?;
    crate::exec::execute(snapshot, &plan, options)
}

/// Replaces the rows of `table` by `batch` (read from `snapshot`).
fn replace(
    db: &Db,
    snapshot: &Snapshot,
    table: &str,
    schema: &TableSchema,
    batch: &Batch,
    fallback: Span,
) -> Result<()> {
    check_not_null(schema, table, batch).map_err(|e| err_at(fallback, fallback, e))?;
    db.replace_table_rows(snapshot, table, batch)
        .map_err(|e| match e {
            Error::InvalidInput(m) => err_at(fallback, fallback, m),
            other => other,
        })?;
    Ok(())
}

fn empty_columns(schema: &TableSchema) -> Vec<Column> {
    schema
        .fields
        .iter()
        .map(|f| Column::new(ColumnData::empty(f.data_type.physical())))
        .collect()
}

/// `DELETE FROM t [alias] WHERE cond` on a plain table.
pub(super) fn delete_where(
    db: &Db,
    options: &ExecOptions,
    twj: &ast::TableWithJoins,
    cond: &ast::Expr,
    with: Option<&ast::With>,
    fallback: Span,
) -> Result<QueryResult> {
    let (relation, table, schema) = plain_table(db, twj, "DELETE", fallback)?;
    let snapshot = db.snapshot()?;
    let (mut q, mut select) = select_from(relation)?;
    q.with = with.cloned();
    select.selection = Some(case_when(cond, boolean(false), Some(boolean(true))));
    let result = run(&snapshot, &with_select(q, select), options)?;
    let mut columns = empty_columns(&schema);
    for b in &result.batches {
        for (out, c) in columns.iter_mut().zip(&b.columns) {
            out.append(c);
        }
    }
    let kept = result.num_rows() as u64;
    let before = snapshot.manifest().tables[&table].rows();
    replace(db, &snapshot, &table, &schema, &Batch { columns }, fallback)?;
    Ok(count_result(before.saturating_sub(kept)))
}

/// `UPDATE t [alias] SET col = expr, ... [WHERE cond]` on a plain table.
pub(super) fn update(
    db: &Db,
    options: &ExecOptions,
    u: &ast::Update,
    with: Option<&ast::With>,
    fallback: Span,
) -> Result<QueryResult> {
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in UPDATE"),
        )
    };
    if u.from.is_some() {
        return Err(unsupported(fallback, "FROM"));
    }
    if u.returning.is_some() || u.output.is_some() {
        return Err(unsupported(fallback, "RETURNING"));
    }
    if u.or.is_some() || !u.order_by.is_empty() || u.limit.is_some() {
        return Err(unsupported(fallback, "OR / ORDER BY / LIMIT"));
    }
    let (relation, table, schema) = plain_table(db, &u.table, "UPDATE", fallback)?;
    if schema.time_index().is_some() {
        return Err(unsupported(
            fallback,
            "a log table (its rows are written a partition at a time)",
        ));
    }
    // The assigned column of each assignment, in order.
    let mut assigned: Vec<Option<usize>> = vec![None; schema.fields.len()];
    let mut values = Vec::with_capacity(u.assignments.len());
    for a in &u.assignments {
        let ast::AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(unsupported(a.span(), "a tuple of columns"));
        };
        let (cname, span) = match name.0.as_slice() {
            [ast::ObjectNamePart::Identifier(i)] => (i.value.as_str(), i.span),
            _ => return Err(unsupported(name.span(), "qualified column names")),
        };
        let j = schema
            .column(cname)
            .map_err(|e| err_at(span, fallback, e))?;
        if assigned[j].is_some() {
            return Err(err_at(
                span,
                fallback,
                format!("column '{cname}' is assigned more than once"),
            ));
        }
        assigned[j] = Some(values.len());
        // No column has a default but NULL.
        let value = match &a.value {
            ast::Expr::Identifier(id)
                if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") =>
            {
                ast::Expr::value(ast::Value::Null)
            }
            v => v.clone(),
        };
        values.push((value, a.value.span()));
    }
    let snapshot = db.snapshot()?;
    let (mut q, mut select) = select_from(relation)?;
    q.with = with.cloned();
    let cond = u.selection.clone().unwrap_or_else(|| boolean(true));
    select
        .projection
        .push(ast::SelectItem::UnnamedExpr(case_when(
            &cond,
            boolean(true),
            Some(boolean(false)),
        )));
    for (v, _) in &values {
        select
            .projection
            .push(ast::SelectItem::UnnamedExpr(case_when(
                &cond,
                v.clone(),
                None,
            )));
    }
    let result = run(&snapshot, &with_select(q, select), options)?;
    let n = schema.fields.len();
    let mut columns = empty_columns(&schema);
    let mut updated = 0u64;
    for b in &result.batches {
        let hit = &b.columns[n];
        let hits: Vec<bool> = (0..b.num_rows())
            .map(|i| hit.value(i) == Value::Bool(true))
            .collect();
        updated += hits.iter().filter(|&&h| h).count() as u64;
        for (j, out) in columns.iter_mut().enumerate() {
            let Some(k) = assigned[j] else {
                out.append(&b.columns[j]);
                continue;
            };
            let (src, from) = (&b.columns[n + 1 + k], result.columns[n + 1 + k].1);
            let f = &schema.fields[j];
            for (i, &h) in hits.iter().enumerate() {
                let v = if h {
                    cast_value(&src.value(i), from, f.data_type).map_err(|m| {
                        err_at(values[k].1, fallback, format!("{m} (column '{}')", f.name))
                    })?
                } else {
                    b.columns[j].value(i)
                };
                push_value(out, &v);
            }
        }
    }
    if updated > 0 {
        replace(db, &snapshot, &table, &schema, &Batch { columns }, fallback)?;
    }
    Ok(count_result(updated))
}
