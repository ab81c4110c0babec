//! `CREATE [OR REPLACE] VIEW name [(columns)] AS query` and `DROP VIEW [IF
//! EXISTS]`. A view is stored in the catalog as its query's SQL text (one
//! commit); the binder reads it in place of a table (`sql/bind/views.rs`).
//! The query is bound once at creation, so a view that cannot be read is
//! refused there.

use sqlparser::ast::{self, Spanned};

use super::results::{empty_count, success};
use super::{err_at, table_name};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};
use crate::storage::manifest::ViewEntry;

pub(super) fn create_view(
    db: &Db,
    options: &ExecOptions,
    cv: &ast::CreateView,
) -> Result<QueryResult> {
    let fallback = cv.name.span();
    if cv.materialized || cv.temporary || cv.or_alter || cv.secure || cv.to.is_some() {
        return Err(err_at(
            fallback,
            fallback,
            "not supported yet: MATERIALIZED / TEMPORARY views",
        ));
    }
    if cv.or_replace && cv.if_not_exists {
        return Err(err_at(
            fallback,
            fallback,
            "CREATE OR REPLACE and IF NOT EXISTS cannot be used together",
        ));
    }
    let id = table_name(&cv.name, fallback)?;
    let snapshot = db.snapshot()?;
    let exists = (snapshot.manifest().views.keys()).any(|v| v.eq_ignore_ascii_case(&id.value));
    if exists && cv.if_not_exists {
        return Ok(empty_count());
    }
    let plan = crate::sql::plan_query_with(&snapshot, &cv.query, options)?;
    let width = plan.schema().len();
    if cv.columns.len() > width {
        return Err(err_at(
            cv.columns[width].name.span,
            fallback,
            format!(
                "view '{}' names {} columns but its query has {width}",
                id.value,
                cv.columns.len()
            ),
        ));
    }
    let view = ViewEntry {
        sql: cv.query.to_string(),
        columns: cv.columns.iter().map(|c| c.name.value.clone()).collect(),
    };
    db.create_view(&id.value, view, cv.or_replace)
        .map_err(|e| match e {
            Error::InvalidInput(m) => err_at(id.span, fallback, m),
            other => other,
        })?;
    Ok(empty_count())
}

pub(super) fn drop_views(
    db: &Db,
    names: &[ast::ObjectName],
    if_exists: bool,
    fallback: sqlparser::tokenizer::Span,
) -> Result<QueryResult> {
    for n in names {
        let id = table_name(n, fallback)?;
        if !db.drop_view(&id.value)? && !if_exists {
            return Err(err_at(
                id.span,
                fallback,
                format!("Catalog Error: View with name {} does not exist!", id.value),
            ));
        }
    }
    Ok(success())
}
