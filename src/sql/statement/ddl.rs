//! Statements that define tables: `CREATE [OR REPLACE] TABLE` (log tables via
//! `WITH (time_column, indexes)`, and `CREATE TABLE .. AS SELECT`, each one commit), `DROP TABLE`, `SHOW TABLES` and
//! `DESCRIBE`.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::constant::{map_type, option_text};
use super::dml::check_not_null;
use super::results::{count_result, empty_count, success, text_result};
use super::{err_at, resolve_table, table_name};
use crate::column::{Batch, Column, ColumnData};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::{Field, TableSchema};

pub(super) fn create_table(
    db: &Db,
    options: &ExecOptions,
    ct: &ast::CreateTable,
) -> Result<QueryResult> {
    let fallback = ct.name.span();
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in CREATE TABLE"),
        )
    };
    if ct.or_replace && ct.if_not_exists {
        return Err(err_at(
            fallback,
            fallback,
            "CREATE OR REPLACE and IF NOT EXISTS cannot be used together",
        ));
    }
    if ct.temporary || ct.external || ct.transient || ct.volatile || ct.global.is_some() {
        return Err(unsupported(fallback, "TEMPORARY / EXTERNAL tables"));
    }
    if ct.like.is_some() || ct.clone.is_some() {
        return Err(unsupported(fallback, "LIKE / CLONE"));
    }
    if let Some(c) = ct.constraints.first() {
        return Err(unsupported(c.span(), "table constraints"));
    }
    if ct.partition_by.is_some() || ct.order_by.is_some() || ct.primary_key.is_some() {
        return Err(unsupported(
            fallback,
            "PARTITION BY / ORDER BY (use WITH (time_column = 'ts'))",
        ));
    }
    let id = table_name(&ct.name, fallback)?;
    crate::schema::validate_table_name(&id.value).map_err(|e| err_at(id.span, fallback, e))?;

    let exists = db
        .table_names()?
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&id.value));
    if exists && !ct.or_replace {
        if ct.if_not_exists {
            return Ok(empty_count());
        }
        return Err(err_at(
            id.span,
            fallback,
            format!("table '{}' already exists", id.value),
        ));
    }

    // Columns: declared, or those of the query for CREATE TABLE .. AS SELECT.
    let mut fields = Vec::new();
    let mut query_result = None;
    if let Some(q) = &ct.query {
        if !ct.columns.is_empty() {
            return Err(unsupported(
                ct.columns[0].span(),
                "a column list with AS SELECT",
            ));
        }
        let snapshot = db.snapshot()?;
        let plan = crate::sql::plan_query_with(&snapshot, q, options)?;
        let result = crate::exec::execute(&snapshot, &plan, options)?;
        for (name, t) in &result.columns {
            fields.push(Field::new(name.clone(), *t));
        }
        query_result = Some(result);
    } else {
        for c in &ct.columns {
            let t = map_type(&c.data_type, c.span(), c.span())?;
            let mut nullable = true;
            for o in &c.options {
                match &o.option {
                    ast::ColumnOption::Null => nullable = true,
                    ast::ColumnOption::NotNull => nullable = false,
                    other => {
                        return Err(err_at(
                            o.span(),
                            c.span(),
                            format!("not supported yet: column option {other}"),
                        ))
                    }
                }
            }
            fields.push(Field {
                name: c.name.value.clone(),
                data_type: t,
                nullable,
            });
        }
    }
    let mut schema = TableSchema::new(fields);

    // Table options: WITH (time_column = 'ts', indexes = 'a, b').
    let opts = match &ct.table_options {
        ast::CreateTableOptions::None => &[][..],
        ast::CreateTableOptions::With(o) => o.as_slice(),
        _ => {
            return Err(unsupported(
                fallback,
                "table options other than WITH (time_column = .., indexes = ..)",
            ))
        }
    };
    for o in opts {
        let ast::SqlOption::KeyValue { key, value } = o else {
            return Err(err_at(
                o.span(),
                fallback,
                "expected option = value in WITH (...)",
            ));
        };
        let text = option_text(value).ok_or_else(|| {
            err_at(
                value.span(),
                fallback,
                format!("option {} needs a string or a name", key.value),
            )
        })?;
        match key.value.to_ascii_lowercase().as_str() {
            "time_column" => {
                let i = schema
                    .column(&text)
                    .map_err(|e| err_at(value.span(), fallback, e))?;
                // A log table's time column never holds NULLs.
                schema.fields[i].nullable = false;
                schema.time_column = Some(schema.fields[i].name.clone());
            }
            "indexes" | "index" => {
                let mut cols = Vec::new();
                for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let i = schema
                        .column(name)
                        .map_err(|e| err_at(value.span(), fallback, e))?;
                    cols.push(schema.fields[i].name.clone());
                }
                schema.indexed = cols;
            }
            other => {
                return Err(err_at(
                    key.span,
                    fallback,
                    format!("unknown table option '{other}'; known options: time_column, indexes"),
                ))
            }
        }
    }
    schema
        .validate()
        .map_err(|e| err_at(fallback, fallback, e))?;
    // The table and its rows (and, with OR REPLACE, the old table's removal) are
    // one commit: a failure or a crash leaves the database as it was.
    let Some(result) = query_result else {
        db.create_table_with_rows(&id.value, schema, None, ct.or_replace)?;
        return Ok(empty_count());
    };
    let n = result.num_rows() as u64;
    let batch = concat_batches(&schema, &result.batches);
    check_not_null(&schema, &id.value, &batch)
        .and_then(|_| {
            db.create_table_with_rows(&id.value, schema.clone(), Some(&batch), ct.or_replace)
        })
        .map_err(|e| match e {
            Error::InvalidInput(m) => err_at(fallback, fallback, m),
            other => other,
        })?;
    Ok(count_result(n))
}

/// All rows of `batches` as one batch laid out by `schema` (empty columns when
/// there are none).
fn concat_batches(schema: &TableSchema, batches: &[Batch]) -> Batch {
    if batches.len() == 1 {
        return batches[0].clone();
    }
    let mut columns: Vec<Column> = schema
        .fields
        .iter()
        .map(|f| Column::new(ColumnData::empty(f.data_type.physical())))
        .collect();
    for b in batches {
        for (out, c) in columns.iter_mut().zip(&b.columns) {
            out.append(c);
        }
    }
    Batch { columns }
}

pub(super) fn drop_tables(
    db: &Db,
    names: &[ast::ObjectName],
    if_exists: bool,
    fallback: Span,
) -> Result<QueryResult> {
    let mut keys = Vec::new();
    for n in names {
        let id = table_name(n, fallback)?;
        match resolve_table(db, &id, fallback) {
            Ok((key, _)) => keys.push(key),
            Err(_) if if_exists => {}
            Err(e) => return Err(e),
        }
    }
    for k in keys {
        db.drop_table(&k)?;
    }
    Ok(success())
}

/// `SHOW TABLES`: the table names.
pub(super) fn show_tables(db: &Db) -> Result<QueryResult> {
    let mut names = db.table_names()?;
    names.extend(db.view_names()?);
    names.sort();
    let rows: Vec<Vec<Option<String>>> = names.into_iter().map(|n| vec![Some(n)]).collect();
    Ok(text_result(&["name"], &rows))
}

pub(super) fn describe(db: &Db, name: &ast::ObjectName, fallback: Span) -> Result<QueryResult> {
    let id = table_name(name, fallback)?;
    let (_, schema) = resolve_table(db, &id, fallback)?;
    let rows: Vec<Vec<Option<String>>> = schema
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut extra = Vec::new();
            if schema.time_index() == Some(i) {
                extra.push("time column");
            }
            if schema.is_indexed(i) {
                extra.push("indexed");
            }
            vec![
                Some(f.name.clone()),
                Some(f.data_type.name().to_string()),
                Some(if f.nullable { "YES" } else { "NO" }.to_string()),
                None,
                None,
                (!extra.is_empty()).then(|| extra.join(", ")),
            ]
        })
        .collect();
    Ok(text_result(
        &[
            "column_name",
            "column_type",
            "null",
            "key",
            "default",
            "extra",
        ],
        &rows,
    ))
}
