//! SQL statements: parsing into a [`Statement`], running it against a [`Db`] with
//! session settings, and prepared statements with parameters.
//!
//! Queries (`SELECT`, `EXPLAIN [ANALYZE] SELECT`) go to the binder and executor;
//! everything else is handled here: `CREATE TABLE [IF NOT EXISTS] .. [WITH (..)]
//! [AS SELECT ..]`, `INSERT INTO .. VALUES | SELECT`, `DROP TABLE`, `SHOW TABLES`,
//! `DESCRIBE`, `DELETE` (whole partitions, by time), `ALTER TABLE .. DROP PARTITION`,
//! `SET` / `RESET` and `SELECT current_setting(..)`. The dialect is specified in
//! spec/sql.md ("Statements", "Settings", "Prepared statements").

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, Spanned};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use super::bind::position;
use crate::column::{Batch, Column, ColumnData, Value};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::vector::push_value;
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::{DataType, Field, TableSchema};

/// One parsed statement.
#[derive(Clone, Debug)]
pub enum Statement {
    /// A `SELECT`, possibly under `EXPLAIN` (`Some(analyze)`).
    Query {
        query: Box<ast::Query>,
        explain: Option<super::explain::ExplainMode>,
    },
    /// A non-query statement of a supported kind (checked when parsed).
    Other(Box<ast::Statement>),
    /// `ALTER TABLE t DROP PARTITION [IF EXISTS] 'key' [, 'key' ...]`, which
    /// sqlparser only accepts with the keys in parentheses.
    DropPartition {
        table: ast::Ident,
        keys: Vec<(String, Span)>,
        if_exists: bool,
    },
}

fn err_at(span: Span, fallback: Span, msg: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {msg}", position(span, fallback)))
}

/// The first word of a statement, for "not supported yet: X statements".
fn statement_word(s: &ast::Statement) -> String {
    let text = s.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_uppercase();
    match first.as_str() {
        "CREATE" | "DROP" | "ALTER" | "SHOW" => {
            format!("{first} {}", words.next().unwrap_or("").to_uppercase())
        }
        _ => first,
    }
}

/// Classifies a parsed statement, refusing the kinds logdb does not run.
pub(crate) fn from_ast(statement: ast::Statement) -> Result<Statement> {
    use ast::Statement as S;
    let unsupported = |s: &ast::Statement| {
        err_at(
            s.span(),
            s.span(),
            format!("not supported yet: {} statements", statement_word(s)),
        )
    };
    match statement {
        S::Explain {
            describe_alias: ast::DescribeAlias::Explain,
            analyze,
            statement,
            options,
            ..
        } => match *statement {
            S::Query(q) => Ok(Statement::Query {
                query: q,
                explain: Some(explain_mode(analyze, options.as_deref())?),
            }),
            other => Err(err_at(
                other.span(),
                other.span(),
                "not supported yet: EXPLAIN of anything but a SELECT",
            )),
        },
        S::Query(q) => Ok(Statement::Query {
            query: q,
            explain: None,
        }),
        s @ (S::CreateTable(_)
        | S::Insert(_)
        | S::ShowTables { .. }
        | S::Set(ast::Set::SingleAssignment { .. })
        | S::Reset(_)
        | S::Delete(_)
        | S::Drop {
            object_type: ast::ObjectType::Table,
            ..
        }
        | S::ExplainTable { .. }
        | S::AlterTable(_)) => Ok(Statement::Other(Box::new(s))),
        s => Err(unsupported(&s)),
    }
}

/// The mode of `EXPLAIN [ANALYZE] [(LOGICAL)]`.
fn explain_mode(
    analyze: bool,
    options: Option<&[ast::UtilityOption]>,
) -> Result<super::explain::ExplainMode> {
    use super::explain::ExplainMode;
    let mut logical = false;
    for o in options.unwrap_or_default() {
        if o.name.value.eq_ignore_ascii_case("logical") && o.arg.is_none() {
            logical = true;
        } else {
            return Err(err_at(
                o.name.span,
                o.name.span,
                format!(
                    "not supported yet: EXPLAIN option {} (known: LOGICAL)",
                    o.name.value
                ),
            ));
        }
    }
    Ok(match (analyze, logical) {
        (true, true) => {
            return Err(Error::InvalidInput(
                "line 1, column 1: EXPLAIN ANALYZE shows the physical plan that ran; \
                 (LOGICAL) is for EXPLAIN alone"
                    .into(),
            ))
        }
        (true, false) => ExplainMode::Analyze,
        (false, true) => ExplainMode::Logical,
        (false, false) => ExplainMode::Physical,
    })
}

/// Recognizes `ALTER TABLE name DROP PARTITION [IF EXISTS] 'key' [, 'key']* [;]`.
pub(crate) fn parse_drop_partition(sql: &str) -> Option<Statement> {
    let dialect = DuckDbDialect {};
    let tokens: Vec<TokenWithSpan> = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |i: usize, w: &str| {
        matches!(tokens.get(i), Some(TokenWithSpan { token: Token::Word(x), .. })
            if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    };
    if !(word(0, "ALTER") && word(1, "TABLE")) {
        return None;
    }
    let table = match tokens.get(2) {
        Some(TokenWithSpan {
            token: Token::Word(w),
            span,
        }) => ast::Ident {
            value: w.value.clone(),
            quote_style: w.quote_style,
            span: *span,
        },
        _ => return None,
    };
    if !(word(3, "DROP") && word(4, "PARTITION")) {
        return None;
    }
    let mut i = 5;
    let if_exists = word(5, "IF") && word(6, "EXISTS");
    if if_exists {
        i = 7;
    }
    let mut keys = Vec::new();
    loop {
        match tokens.get(i) {
            Some(TokenWithSpan {
                token: Token::SingleQuotedString(s),
                span,
            }) => keys.push((s.clone(), *span)),
            _ => return None,
        }
        i += 1;
        match tokens.get(i).map(|t| &t.token) {
            Some(Token::Comma) => i += 1,
            Some(Token::SemiColon) | Some(Token::EOF) | None => break,
            _ => return None,
        }
    }
    let rest_empty = tokens[i..]
        .iter()
        .all(|t| matches!(t.token, Token::SemiColon | Token::EOF));
    rest_empty.then_some(Statement::DropPartition {
        table,
        keys,
        if_exists,
    })
}

// ---------------------------------------------------------------------------
// Results

fn int_column(values: &[i64]) -> Column {
    Column::new(ColumnData::Int64(values.to_vec()))
}

/// DuckDB's result for INSERT and DELETE: one BIGINT column `Count`.
fn count_result(n: u64) -> QueryResult {
    QueryResult {
        columns: vec![("Count".into(), DataType::BigInt)],
        batches: vec![Batch {
            columns: vec![int_column(&[n.min(i64::MAX as u64) as i64])],
        }],
    }
}

/// DuckDB's result for CREATE TABLE: a `Count` column and no rows.
fn empty_count() -> QueryResult {
    QueryResult {
        columns: vec![("Count".into(), DataType::BigInt)],
        batches: Vec::new(),
    }
}

/// DuckDB's result for DROP, ALTER, SET and RESET: a `Success` column and no rows.
fn success() -> QueryResult {
    QueryResult {
        columns: vec![("Success".into(), DataType::Boolean)],
        batches: Vec::new(),
    }
}

/// A result of VARCHAR columns (NULL where a cell is `None`).
fn text_result(names: &[&str], rows: &[Vec<Option<String>>]) -> QueryResult {
    let mut columns: Vec<Column> = names
        .iter()
        .map(|_| Column::new(ColumnData::empty(DataType::Varchar.physical())))
        .collect();
    for row in rows {
        for (c, cell) in columns.iter_mut().zip(row) {
            match cell {
                Some(s) => push_value(c, &Value::Str(s.as_str().into())),
                None => push_value(c, &Value::Null),
            }
        }
    }
    QueryResult {
        columns: names
            .iter()
            .map(|n| (n.to_string(), DataType::Varchar))
            .collect(),
        batches: vec![Batch { columns }],
    }
}

// ---------------------------------------------------------------------------
// Running statements

/// Runs one parsed statement (with its parameters already bound) against `db`;
/// `SET` and `RESET` change `options`.
pub fn execute(db: &Db, options: &mut ExecOptions, statement: &Statement) -> Result<QueryResult> {
    match statement {
        Statement::Query { query, explain } => {
            if explain.is_none() {
                if let Some(r) = current_setting(query, options)? {
                    return Ok(r);
                }
            }
            let snapshot = db.snapshot()?;
            super::explain::run(&snapshot, query, *explain, options)
        }
        Statement::DropPartition {
            table,
            keys,
            if_exists,
        } => drop_partitions(db, table, keys, *if_exists),
        Statement::Other(s) => execute_other(db, options, s),
    }
}

fn execute_other(db: &Db, options: &mut ExecOptions, s: &ast::Statement) -> Result<QueryResult> {
    use ast::Statement as S;
    let fallback = s.span();
    match s {
        S::CreateTable(ct) => create_table(db, options, ct),
        S::Insert(ins) => insert(db, options, ins),
        S::Drop {
            object_type: ast::ObjectType::Table,
            if_exists,
            names,
            cascade: false,
            restrict: false,
            purge: false,
            temporary: false,
            table: None,
        } => drop_tables(db, names, *if_exists, fallback),
        S::ShowTables {
            terse: false,
            history: false,
            extended: false,
            full: false,
            external: false,
            show_options,
        } if show_options.show_in.is_none()
            && show_options.starts_with.is_none()
            && show_options.limit.is_none()
            && show_options.limit_from.is_none()
            && show_options.filter_position.is_none() =>
        {
            let names = db.table_names()?;
            let rows: Vec<Vec<Option<String>>> = names.into_iter().map(|n| vec![Some(n)]).collect();
            Ok(text_result(&["name"], &rows))
        }
        S::ExplainTable {
            describe_alias: ast::DescribeAlias::Describe | ast::DescribeAlias::Desc,
            hive_format: None,
            table_name,
            ..
        } => describe(db, table_name, fallback),
        S::Set(ast::Set::SingleAssignment {
            scope,
            hivevar: false,
            variable,
            values,
        }) if !matches!(scope, Some(ast::ContextModifier::Local)) => {
            set(options, variable, values, fallback)
        }
        S::Reset(r) => {
            match &r.reset {
                ast::Reset::ALL => reset_all(options),
                ast::Reset::ConfigurationParameter(name) => {
                    let setting = setting_of(name, fallback)?;
                    reset(options, setting);
                }
                ast::Reset::SessionAuthorization => {
                    return Err(err_at(
                        fallback,
                        fallback,
                        "not supported yet: RESET SESSION AUTHORIZATION",
                    ))
                }
            }
            Ok(success())
        }
        S::Delete(d) => delete(db, d, fallback),
        S::AlterTable(at) => alter_table(db, at, fallback),
        other => Err(err_at(
            other.span(),
            fallback,
            format!("not supported yet: {} statements", statement_word(other)),
        )),
    }
}

/// A single unqualified table name.
fn table_name(name: &ast::ObjectName, fallback: Span) -> Result<ast::Ident> {
    match name.0.as_slice() {
        [ast::ObjectNamePart::Identifier(id)] => Ok(id.clone()),
        _ => Err(err_at(
            name.span(),
            fallback,
            "not supported yet: qualified table names",
        )),
    }
}

/// The table's key in the manifest (names are case-insensitive), or an error that
/// lists the known tables.
fn resolve_table(db: &Db, id: &ast::Ident, fallback: Span) -> Result<(String, TableSchema)> {
    let snapshot = db.snapshot()?;
    let tables = &snapshot.manifest().tables;
    let key = tables
        .keys()
        .find(|k| **k == id.value)
        .or_else(|| tables.keys().find(|k| k.eq_ignore_ascii_case(&id.value)));
    match key {
        Some(k) => Ok((k.clone(), tables[k].schema.clone())),
        None => {
            let known = tables.keys().cloned().collect::<Vec<_>>().join(", ");
            Err(err_at(
                id.span,
                fallback,
                format!(
                    "unknown table '{}'; known tables: {}",
                    id.value,
                    if known.is_empty() { "(none)" } else { &known }
                ),
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// CREATE TABLE

/// Maps a SQL type to a logdb type: the logdb types and the usual aliases
/// (INT, INT4, INT8, TEXT, STRING, FLOAT8, REAL, ...); a length like VARCHAR(20)
/// is accepted and ignored.
pub(crate) fn map_type(t: &ast::DataType, span: Span, fallback: Span) -> Result<DataType> {
    let text = t.to_string().to_ascii_uppercase();
    let base = text.split('(').next().unwrap_or("").trim();
    let mapped = match base {
        "DOUBLE PRECISION" => Ok(DataType::Double),
        "CHARACTER VARYING" | "CHAR VARYING" | "CHARACTER" => Ok(DataType::Varchar),
        "TIMESTAMP WITHOUT TIME ZONE" | "TIMESTAMP WITH TIME ZONE" => Ok(DataType::Timestamp),
        other => DataType::parse(other),
    };
    mapped.map_err(|e| err_at(span, fallback, e))
}

fn create_table(db: &Db, options: &ExecOptions, ct: &ast::CreateTable) -> Result<QueryResult> {
    let fallback = ct.name.span();
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in CREATE TABLE"),
        )
    };
    if ct.or_replace {
        return Err(unsupported(fallback, "OR REPLACE"));
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
    if exists {
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
        let plan = super::plan_query(&snapshot, q)?;
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
    db.create_table(&id.value, schema.clone())?;

    let Some(result) = query_result else {
        return Ok(empty_count());
    };
    let n = result.num_rows() as u64;
    let batch = concat_batches(&schema, &result.batches);
    if let Err(e) = check_not_null(&schema, &id.value, &batch)
        .and_then(|_| db.append(&id.value, &batch).map(|_| ()))
    {
        // The table was created in its own commit; take it away again.
        let _ = db.drop_table(&id.value);
        return Err(err_at(fallback, fallback, e));
    }
    Ok(count_result(n))
}

/// The text of a WITH option value: 'text', a name, or a number.
fn option_text(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                Some(s.clone())
            }
            ast::Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        _ => None,
    }
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

/// DuckDB's NOT NULL message, before the batch reaches `Db::append`.
fn check_not_null(schema: &TableSchema, table: &str, batch: &Batch) -> Result<()> {
    for (f, c) in schema.fields.iter().zip(&batch.columns) {
        if !f.nullable && c.null_count() > 0 {
            return Err(Error::InvalidInput(format!(
                "NOT NULL constraint failed: {table}.{}",
                f.name
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// INSERT

fn insert(db: &Db, options: &ExecOptions, ins: &ast::Insert) -> Result<QueryResult> {
    let fallback = ins.span();
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in INSERT"),
        )
    };
    if ins.or.is_some() || ins.ignore || ins.overwrite || ins.replace_into {
        return Err(unsupported(fallback, "OR / IGNORE / OVERWRITE / REPLACE"));
    }
    if ins.on.is_some() {
        return Err(unsupported(fallback, "ON CONFLICT"));
    }
    if ins.returning.is_some() {
        return Err(unsupported(fallback, "RETURNING"));
    }
    if !ins.assignments.is_empty() || ins.partitioned.is_some() || ins.table_alias.is_some() {
        return Err(unsupported(fallback, "this form"));
    }
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(unsupported(fallback, "table functions"));
    };
    let id = table_name(name, fallback)?;
    let (table, schema) = resolve_table(db, &id, fallback)?;

    // Target columns: the listed ones, in order, or all.
    let mut targets: Vec<usize> = Vec::new();
    for c in &ins.columns {
        let (cname, span) = match c.0.as_slice() {
            [ast::ObjectNamePart::Identifier(i)] => (i.value.as_str(), i.span),
            _ => return Err(unsupported(c.span(), "qualified column names")),
        };
        let i = schema
            .column(cname)
            .map_err(|e| err_at(span, fallback, e))?;
        if targets.contains(&i) {
            return Err(err_at(
                span,
                fallback,
                format!("duplicate column name '{cname}' in INSERT"),
            ));
        }
        targets.push(i);
    }
    let all_columns = targets.is_empty();
    if all_columns {
        targets = (0..schema.fields.len()).collect();
    }
    let arity_error = |supplied: usize, span: Span| {
        err_at(
            span,
            fallback,
            if all_columns {
                format!(
                    "table '{table}' has {} columns but {supplied} values were supplied",
                    targets.len()
                )
            } else {
                format!(
                    "INSERT names {} columns but {supplied} values were supplied",
                    targets.len()
                )
            },
        )
    };
    let Some(source) = &ins.source else {
        return Err(unsupported(fallback, "DEFAULT VALUES"));
    };

    // Build the target columns from the source.
    let mut built: Vec<Column> = Vec::with_capacity(targets.len());
    let rows;
    match source.body.as_ref() {
        ast::SetExpr::Values(values) if source.with.is_none() && source.order_by.is_none() => {
            rows = values.rows.len();
            let width = values.rows.first().map_or(0, |r| r.content.len());
            for r in &values.rows {
                if r.content.len() != width {
                    return Err(err_at(
                        r.span(),
                        fallback,
                        "VALUES lists must all be the same length",
                    ));
                }
            }
            if width != targets.len() {
                return Err(arity_error(width, values.span()));
            }
            for (k, &t) in targets.iter().enumerate() {
                let to = schema.fields[t].data_type;
                let mut col = Column::new(ColumnData::empty(to.physical()));
                for r in &values.rows {
                    let e = &r.content[k];
                    let (mut v, from) = const_value(e, fallback)?;
                    if let (Value::Float(x), true) = (&v, is_decimal_literal(e)) {
                        // DuckDB types 2.5 as DECIMAL, whose cast to an integer rounds
                        // half away from zero (a DOUBLE's rounds half to even).
                        if super::bind::is_int(to) {
                            v = Value::Float(x.round());
                        }
                    }
                    let v = cast_value(&v, from, to).map_err(|m| {
                        err_at(
                            e.span(),
                            fallback,
                            format!("{m} (column '{}')", schema.fields[t].name),
                        )
                    })?;
                    push_value(&mut col, &v);
                }
                built.push(col);
            }
        }
        _ => {
            let snapshot = db.snapshot()?;
            let plan = super::plan_query(&snapshot, source)?;
            let result = crate::exec::execute(&snapshot, &plan, options)?;
            if result.columns.len() != targets.len() {
                return Err(arity_error(result.columns.len(), source.span()));
            }
            rows = result.num_rows();
            for (k, &t) in targets.iter().enumerate() {
                let f = &schema.fields[t];
                let from = result.columns[k].1;
                let mut col = Column::new(ColumnData::empty(f.data_type.physical()));
                for b in &result.batches {
                    cast_into(&mut col, &b.columns[k], from, f.data_type).map_err(|m| {
                        err_at(
                            select_item_span(source, k),
                            fallback,
                            format!("{m} (column '{}' from select item {})", f.name, k + 1),
                        )
                    })?;
                }
                built.push(col);
            }
        }
    }

    // Columns not listed are NULL.
    let mut columns: Vec<Option<Column>> = vec![None; schema.fields.len()];
    for (c, &t) in built.into_iter().zip(&targets) {
        columns[t] = Some(c);
    }
    let columns: Vec<Column> = columns
        .into_iter()
        .zip(&schema.fields)
        .map(|(c, f)| c.unwrap_or_else(|| null_column(f.data_type, rows)))
        .collect();
    let batch = Batch { columns };
    check_not_null(&schema, &table, &batch).map_err(|e| err_at(fallback, fallback, e))?;
    if rows > 0 {
        db.append(&table, &batch).map_err(|e| match e {
            Error::InvalidInput(m) => err_at(fallback, fallback, m),
            other => other,
        })?;
    }
    Ok(count_result(rows as u64))
}

/// The span of select item `k` when the select list has no `*`.
fn select_item_span(q: &ast::Query, k: usize) -> Span {
    match q.body.as_ref() {
        ast::SetExpr::Select(s)
            if s.projection.iter().all(|p| {
                matches!(
                    p,
                    ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }
                )
            }) =>
        {
            s.projection.get(k).map_or(q.span(), |p| p.span())
        }
        _ => q.span(),
    }
}

fn null_column(t: DataType, rows: usize) -> Column {
    let mut c = Column::new(ColumnData::empty(t.physical()));
    for _ in 0..rows {
        push_value(&mut c, &Value::Null);
    }
    c
}

/// Appends `src` (of type `from`) to `out` (of type `to`) with DuckDB's cast rules:
/// same types are copied, narrower integer types are range-checked, other pairs go
/// value by value through `CAST`.
fn cast_into(
    out: &mut Column,
    src: &Column,
    from: DataType,
    to: DataType,
) -> std::result::Result<(), String> {
    let int = |t: DataType| matches!(t, DataType::SmallInt | DataType::Integer | DataType::BigInt);
    let same_ints = int(from) && int(to);
    if from == to || same_ints {
        if let (Some((lo, hi)), ColumnData::Int64(v)) = (to.int_range(), &src.data) {
            if let Some(i) = (0..v.len()).find(|&i| src.is_valid(i) && (v[i] < lo || v[i] > hi)) {
                return Err(format!(
                    "Conversion Error: value {} is out of range for {to}",
                    v[i]
                ));
            }
        }
        out.append(src);
        return Ok(());
    }
    for i in 0..src.len() {
        let v = cast_value(&src.value(i), from, to)?;
        push_value(out, &v);
    }
    Ok(())
}

/// Evaluates a constant expression of a VALUES list: literals, `-x`, `TIMESTAMP
/// '...'`, `CAST(.. AS t)` / `..::t` and parentheses.
fn const_value(e: &ast::Expr, fallback: Span) -> Result<(Value, DataType)> {
    use ast::Expr as E;
    match e {
        E::Value(v) => match &v.value {
            ast::Value::Number(n, _) => {
                number(n).ok_or_else(|| err_at(v.span, fallback, format!("invalid number {n}")))
            }
            ast::Value::SingleQuotedString(s) => {
                Ok((Value::Str(s.as_str().into()), DataType::Varchar))
            }
            ast::Value::Boolean(b) => Ok((Value::Bool(*b), DataType::Boolean)),
            ast::Value::Null => Ok((Value::Null, DataType::Integer)),
            ast::Value::Placeholder(p) => Err(err_at(
                v.span,
                fallback,
                format!("parameter {p} has no value (prepare the statement and pass parameters)"),
            )),
            other => Err(err_at(
                v.span,
                fallback,
                format!("not supported yet: literal {other}"),
            )),
        },
        E::Nested(inner) => const_value(inner, fallback),
        E::UnaryOp { op, expr } => {
            let (v, t) = const_value(expr, fallback)?;
            match (op, v) {
                (ast::UnaryOperator::Plus, v @ (Value::Int(_) | Value::Float(_))) => Ok((v, t)),
                (ast::UnaryOperator::Minus, Value::Int(x)) => match x.checked_neg() {
                    Some(n) => Ok((Value::Int(n), t)),
                    None => Err(err_at(e.span(), fallback, "Overflow in negation")),
                },
                (ast::UnaryOperator::Minus, Value::Float(x)) => Ok((Value::Float(-x), t)),
                (_, Value::Null) => Ok((Value::Null, t)),
                _ => Err(err_at(
                    e.span(),
                    fallback,
                    format!("not supported yet: expression {e} in VALUES"),
                )),
            }
        }
        E::TypedString(ts) => {
            let to = map_type(&ts.data_type, e.span(), fallback)?;
            let text = match &ts.value.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            };
            let v =
                crate::value::parse_str(&text, to).map_err(|m| err_at(e.span(), fallback, m))?;
            Ok((v, to))
        }
        E::Cast {
            kind: ast::CastKind::Cast | ast::CastKind::DoubleColon,
            expr,
            data_type,
            format: None,
        } => {
            let (v, from) = const_value(expr, fallback)?;
            let to = map_type(data_type, e.span(), fallback)?;
            let v = cast_value(&v, from, to).map_err(|m| err_at(e.span(), fallback, m))?;
            Ok((v, to))
        }
        other => Err(err_at(
            other.span(),
            fallback,
            format!(
                "not supported yet: expression {other} in VALUES (use literals, CAST, or \
                 INSERT .. SELECT)"
            ),
        )),
    }
}

/// `CAST(v AS to)` for a value of type `from`, refusing the pairs DuckDB has no
/// cast for (TIMESTAMP or IP to numbers and back).
fn cast_value(v: &Value, from: DataType, to: DataType) -> std::result::Result<Value, String> {
    if !matches!(v, Value::Null) && !super::bind::castable(from, to) {
        return Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        ));
    }
    crate::value::cast_value(v, from, to)
}

/// Whether `e` is a literal like `2.5` or `-2.5` (DuckDB: a DECIMAL).
fn is_decimal_literal(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(v) => {
            matches!(&v.value, ast::Value::Number(n, _) if n.contains('.') && !n.contains(['e', 'E']))
        }
        ast::Expr::Nested(x) | ast::Expr::UnaryOp { expr: x, .. } => is_decimal_literal(x),
        _ => false,
    }
}

/// A numeric literal: INTEGER when it fits in 32 bits, else BIGINT, else DOUBLE.
fn number(n: &str) -> Option<(Value, DataType)> {
    if let Ok(i) = n.parse::<i64>() {
        let t = if i32::try_from(i).is_ok() {
            DataType::Integer
        } else {
            DataType::BigInt
        };
        return Some((Value::Int(i), t));
    }
    n.parse::<f64>()
        .ok()
        .map(|f| (Value::Float(f), DataType::Double))
}

// ---------------------------------------------------------------------------
// DROP TABLE, DESCRIBE

fn drop_tables(
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

fn describe(db: &Db, name: &ast::ObjectName, fallback: Span) -> Result<QueryResult> {
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

// ---------------------------------------------------------------------------
// DELETE and DROP PARTITION

fn delete(db: &Db, d: &ast::Delete, fallback: Span) -> Result<QueryResult> {
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in DELETE"),
        )
    };
    if d.using.is_some() || d.returning.is_some() || !d.order_by.is_empty() || d.limit.is_some() {
        return Err(unsupported(
            fallback,
            "USING / RETURNING / ORDER BY / LIMIT",
        ));
    }
    if !d.tables.is_empty() {
        return Err(unsupported(fallback, "multi-table syntax"));
    }
    let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &d.from;
    let [twj] = from.as_slice() else {
        return Err(unsupported(fallback, "more than one table"));
    };
    let ast::TableFactor::Table { name, alias, .. } = &twj.relation else {
        return Err(unsupported(twj.relation.span(), "this table expression"));
    };
    if !twj.joins.is_empty() {
        return Err(unsupported(twj.relation.span(), "JOIN"));
    }
    let id = table_name(name, fallback)?;
    let (table, schema) = resolve_table(db, &id, fallback)?;
    let (start, end) = match &d.selection {
        None => (i64::MIN, i64::MAX),
        Some(w) => {
            let Some(tc) = schema.time_index().map(|i| schema.fields[i].name.clone()) else {
                return Err(err_at(
                    w.span(),
                    fallback,
                    format!(
                        "DELETE with WHERE needs a log table; '{table}' has no time column, so \
                         only DELETE FROM {table} (all rows) is supported"
                    ),
                ));
            };
            let alias = alias.as_ref().map(|a| a.name.value.as_str());
            let mut range = (i64::MIN, i64::MAX);
            time_bounds(w, &tc, &table, alias, &mut range, fallback)?;
            range
        }
    };
    let stats = db
        .delete_time_range(&table, start, end)
        .map_err(|e| match e {
            Error::InvalidInput(m) => {
                let span = d.selection.as_ref().map_or(fallback, |w| w.span());
                err_at(
                    span,
                    fallback,
                    format!(
                        "DELETE removes whole partitions only: {m}. Supported: time bounds on \
                         partition boundaries, e.g. WHERE ts < TIMESTAMP '2024-05-01'"
                    ),
                )
            }
            other => other,
        })?;
    Ok(count_result(stats.rows))
}

/// Narrows `range` ([start, end)) by a WHERE clause made of comparisons of the time
/// column with timestamp literals, joined by AND.
fn time_bounds(
    e: &ast::Expr,
    time_column: &str,
    table: &str,
    alias: Option<&str>,
    range: &mut (i64, i64),
    fallback: Span,
) -> Result<()> {
    use ast::BinaryOperator as B;
    use ast::Expr as E;
    let explain = || {
        err_at(
            e.span(),
            fallback,
            format!(
                "not supported yet: this DELETE condition. DELETE removes whole partitions: \
                 the condition must compare the time column '{time_column}' with timestamp \
                 literals (<, <=, >, >=, BETWEEN, joined by AND), e.g. WHERE {time_column} < \
                 TIMESTAMP '2024-05-01'"
            ),
        )
    };
    let is_time = |x: &E| match x {
        E::Identifier(i) => i.value.eq_ignore_ascii_case(time_column),
        E::CompoundIdentifier(p) if p.len() == 2 => {
            let q = &p[0].value;
            (q.eq_ignore_ascii_case(table) || alias.is_some_and(|a| q.eq_ignore_ascii_case(a)))
                && p[1].value.eq_ignore_ascii_case(time_column)
        }
        _ => false,
    };
    let lit = |x: &E| -> Result<i64> {
        let (v, t) = const_value(x, fallback).map_err(|_| explain())?;
        match cast_value(&v, t, DataType::Timestamp) {
            Ok(Value::Int(ts)) => Ok(ts),
            Ok(_) => Err(explain()),
            Err(m) => Err(err_at(x.span(), fallback, m)),
        }
    };
    let lower = |range: &mut (i64, i64), ts: i64| range.0 = range.0.max(ts);
    let upper = |range: &mut (i64, i64), ts: i64| range.1 = range.1.min(ts);
    match e {
        E::Nested(inner) => time_bounds(inner, time_column, table, alias, range, fallback),
        E::BinaryOp {
            left,
            op: B::And,
            right,
        } => {
            time_bounds(left, time_column, table, alias, range, fallback)?;
            time_bounds(right, time_column, table, alias, range, fallback)
        }
        E::BinaryOp { left, op, right } => {
            // Normalize to `ts op literal`.
            let (op, value) = if is_time(left) {
                (op.clone(), right)
            } else if is_time(right) {
                let flipped = match op {
                    B::Lt => B::Gt,
                    B::LtEq => B::GtEq,
                    B::Gt => B::Lt,
                    B::GtEq => B::LtEq,
                    _ => return Err(explain()),
                };
                (flipped, left)
            } else {
                return Err(explain());
            };
            let ts = lit(value)?;
            match op {
                B::Lt => upper(range, ts),
                B::LtEq => upper(range, ts.saturating_add(1)),
                B::Gt => lower(range, ts.saturating_add(1)),
                B::GtEq => lower(range, ts),
                _ => return Err(explain()),
            }
            Ok(())
        }
        E::Between {
            expr,
            negated: false,
            low,
            high,
        } if is_time(expr) => {
            lower(range, lit(low)?);
            upper(range, lit(high)?.saturating_add(1));
            Ok(())
        }
        _ => Err(explain()),
    }
}

fn alter_table(db: &Db, at: &ast::AlterTable, fallback: Span) -> Result<QueryResult> {
    match at.operations.as_slice() {
        [ast::AlterTableOperation::DropPartitions {
            partitions,
            if_exists,
        }] => {
            let id = table_name(&at.name, fallback)?;
            let mut keys = Vec::new();
            for p in partitions {
                match p {
                    ast::Expr::Value(v) => {
                        match &v.value {
                            ast::Value::SingleQuotedString(s) => keys.push((s.clone(), v.span)),
                            _ => return Err(err_at(
                                v.span,
                                fallback,
                                "a partition key is a string like '2024-05-01' or '2024-05-01T13'",
                            )),
                        }
                    }
                    other => {
                        return Err(err_at(
                            other.span(),
                            fallback,
                            "a partition key is a string like '2024-05-01' or '2024-05-01T13'",
                        ))
                    }
                }
            }
            drop_partitions(db, &id, &keys, *if_exists)
        }
        _ => Err(err_at(
            fallback,
            fallback,
            "not supported yet: ALTER TABLE other than DROP PARTITION 'key'",
        )),
    }
}

/// The time range of a partition key: `2024-05-01` (a day) or `2024-05-01T13` (an
/// hour).
fn partition_range(key: &str) -> Option<(i64, i64)> {
    use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR};
    let (day, hour) = match key.split_once('T') {
        Some((d, h)) => (d, Some(h)),
        None => (key, None),
    };
    if day.len() != 10 {
        return None;
    }
    let start = crate::time::parse_timestamp(day)?;
    match hour {
        None => Some((start, start.checked_add(MICROS_PER_DAY)?)),
        Some(h) if h.len() == 2 && h.bytes().all(|b| b.is_ascii_digit()) => {
            let h: i64 = h.parse().ok()?;
            if h > 23 {
                return None;
            }
            let s = start.checked_add(h * MICROS_PER_HOUR)?;
            Some((s, s.checked_add(MICROS_PER_HOUR)?))
        }
        Some(_) => None,
    }
}

fn drop_partitions(
    db: &Db,
    id: &ast::Ident,
    keys: &[(String, Span)],
    if_exists: bool,
) -> Result<QueryResult> {
    let fallback = id.span;
    let (table, schema) = resolve_table(db, id, fallback)?;
    if schema.time_column.is_none() {
        return Err(err_at(
            id.span,
            fallback,
            format!("table '{table}' has no time column, so no partitions to drop"),
        ));
    }
    let mut ranges = Vec::new();
    for (k, span) in keys {
        let r = partition_range(k).ok_or_else(|| {
            err_at(
                *span,
                fallback,
                format!("invalid partition key '{k}': expected 'YYYY-MM-DD' or 'YYYY-MM-DDTHH'"),
            )
        })?;
        ranges.push((k, *span, r));
    }
    let mut rows = 0;
    for (k, span, (start, end)) in ranges {
        let stats = db
            .delete_time_range(&table, start, end)
            .map_err(|e| match e {
                Error::InvalidInput(m) => err_at(span, fallback, m),
                other => other,
            })?;
        if stats.partitions == 0 && !if_exists {
            return Err(err_at(
                span,
                fallback,
                format!("table '{table}' has no partition '{k}'"),
            ));
        }
        rows += stats.rows;
    }
    Ok(count_result(rows))
}

// ---------------------------------------------------------------------------
// Settings

/// The session settings `SET` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Threads,
    MemoryLimit,
    UseIndexes,
}

const SETTINGS: &str = "memory_limit, threads, use_indexes";

/// Most threads `SET threads` accepts.
const MAX_THREADS: i64 = 1024;

fn setting_by_name(name: &str) -> Option<Setting> {
    match name.to_ascii_lowercase().as_str() {
        "threads" | "worker_threads" => Some(Setting::Threads),
        "memory_limit" | "max_memory" => Some(Setting::MemoryLimit),
        "use_indexes" => Some(Setting::UseIndexes),
        _ => None,
    }
}

fn setting_of(name: &ast::ObjectName, fallback: Span) -> Result<Setting> {
    let text = name.to_string();
    setting_by_name(&text).ok_or_else(|| {
        err_at(
            name.span(),
            fallback,
            format!("unrecognized configuration parameter '{text}'; known settings: {SETTINGS}"),
        )
    })
}

fn reset(options: &mut ExecOptions, s: Setting) {
    let d = ExecOptions::default();
    match s {
        Setting::Threads => options.threads = d.threads,
        Setting::MemoryLimit => options.memory_limit = d.memory_limit,
        Setting::UseIndexes => options.use_indexes = d.use_indexes,
    }
}

fn reset_all(options: &mut ExecOptions) {
    for s in [Setting::Threads, Setting::MemoryLimit, Setting::UseIndexes] {
        reset(options, s);
    }
}

fn set(
    options: &mut ExecOptions,
    variable: &ast::ObjectName,
    values: &[ast::Expr],
    fallback: Span,
) -> Result<QueryResult> {
    let setting = setting_of(variable, fallback)?;
    let [value] = values else {
        return Err(err_at(
            fallback,
            fallback,
            format!("SET {variable} takes one value"),
        ));
    };
    if matches!(value, ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default")) {
        reset(options, setting);
        return Ok(success());
    }
    let span = value.span();
    let (v, _) = const_value(value, fallback).map_err(|_| {
        err_at(
            span,
            fallback,
            format!("SET {variable} needs a literal value"),
        )
    })?;
    match setting {
        Setting::Threads => {
            let n = match &v {
                Value::Int(n) => Some(*n),
                Value::Float(f) if f.is_finite() => Some(f.round() as i64),
                Value::Str(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if (1..=MAX_THREADS).contains(&n) => options.threads = n as usize,
                Some(_) => {
                    return Err(err_at(
                        span,
                        fallback,
                        format!("threads must be between 1 and {MAX_THREADS}"),
                    ))
                }
                None => return Err(err_at(span, fallback, "threads needs an integer")),
            }
        }
        Setting::MemoryLimit => {
            let text = match &v {
                Value::Str(s) => s.to_string(),
                Value::Int(n) => n.to_string(),
                Value::Float(f) => f.to_string(),
                _ => String::new(),
            };
            options.memory_limit =
                parse_memory_limit(&text).map_err(|m| err_at(span, fallback, m))?;
        }
        Setting::UseIndexes => {
            options.use_indexes = match cast_value(&v, value_type(&v), DataType::Boolean) {
                Ok(Value::Bool(b)) => b,
                _ => return Err(err_at(span, fallback, "use_indexes needs true or false")),
            }
        }
    }
    Ok(success())
}

fn value_type(v: &Value) -> DataType {
    match v {
        Value::Null | Value::Int(_) => DataType::BigInt,
        Value::Float(_) => DataType::Double,
        Value::Bool(_) => DataType::Boolean,
        Value::Str(_) => DataType::Varchar,
        Value::Ip(_) => DataType::Ip,
    }
}

/// Parses a memory size the way DuckDB does: a number (decimals allowed) and a
/// unit, `B`, `KB`/`MB`/`GB`/`TB` (powers of 1000, also `K`, `M`, `G`, `T`) or
/// `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive; `-1` means no limit.
pub fn parse_memory_limit(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    if t == "-1" {
        return Ok(usize::MAX);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("invalid memory limit '{text}': expected a number and a unit like '2GB'")
    })?;
    let unit = unit.trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown unit for memory: '{unit}' (expected: KB, MB, GB, TB for 1000^i units \
                 or KiB, MiB, GiB, TiB for 1024^i units)"
            ))
        }
    };
    let bytes = n * mult;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(format!(
            "invalid memory limit '{text}': must be at least 1 byte"
        ));
    }
    Ok(if bytes >= usize::MAX as f64 {
        usize::MAX
    } else {
        bytes as usize
    })
}

/// `SELECT current_setting('name')` (the whole query): the setting's value.
fn current_setting(query: &ast::Query, options: &ExecOptions) -> Result<Option<QueryResult>> {
    let ast::SetExpr::Select(s) = query.body.as_ref() else {
        return Ok(None);
    };
    if !s.from.is_empty() || s.selection.is_some() || query.with.is_some() {
        return Ok(None);
    }
    let [item] = s.projection.as_slice() else {
        return Ok(None);
    };
    let (e, alias) = match item {
        ast::SelectItem::UnnamedExpr(e) => (e, None),
        ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        _ => return Ok(None),
    };
    let ast::Expr::Function(f) = e else {
        return Ok(None);
    };
    if !f.name.to_string().eq_ignore_ascii_case("current_setting") {
        return Ok(None);
    }
    let arg = match &f.args {
        ast::FunctionArguments::List(l) if l.args.len() == 1 => match &l.args[0] {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)) => option_text(a),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = arg else {
        return Err(err_at(
            e.span(),
            query.span(),
            "current_setting needs one string literal argument",
        ));
    };
    let setting = setting_by_name(&name).ok_or_else(|| {
        err_at(
            e.span(),
            query.span(),
            format!("unrecognized configuration parameter '{name}'; known settings: {SETTINGS}"),
        )
    })?;
    let col_name = alias.unwrap_or_else(|| format!("current_setting('{name}')"));
    let (t, v) = match setting {
        Setting::Threads => (DataType::BigInt, Value::Int(options.threads as i64)),
        Setting::MemoryLimit => (
            DataType::Varchar,
            Value::Str(crate::value::format_bytes(options.memory_limit as u64).into()),
        ),
        Setting::UseIndexes => (DataType::Boolean, Value::Bool(options.use_indexes)),
    };
    let mut c = Column::new(ColumnData::empty(t.physical()));
    push_value(&mut c, &v);
    Ok(Some(QueryResult {
        columns: vec![(col_name, t)],
        batches: vec![Batch { columns: vec![c] }],
    }))
}

// ---------------------------------------------------------------------------
// Parameters

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
        Statement::DropPartition { .. } => ControlFlow::Continue(()),
    }
}

/// Replaces each placeholder by its parameter as a typed literal (keeping the
/// placeholder's position for error messages).
pub(crate) fn bind_params(
    statement: &mut Statement,
    params: &Params,
    values: &[Value],
) -> Result<()> {
    if values.len() != params.count {
        return Err(Error::InvalidInput(format!(
            "line 1, column 1: the statement has {} parameter{}, {} value{} given",
            params.count,
            if params.count == 1 { "" } else { "s" },
            values.len(),
            if values.len() == 1 { " was" } else { "s were" }
        )));
    }
    if params.count == 0 {
        return Ok(());
    }
    let _ = visit(statement, &mut |e| {
        let span = match e {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => v.span,
            _ => return ControlFlow::Continue(()),
        };
        if let Some(&n) = params.at.get(&key(span.start)) {
            *e = literal(&values[n - 1], span);
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
        let mut statement = self.statement.clone();
        bind_params(&mut statement, &self.params, params)?;
        execute(&self.db, options, &statement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_parse_like_duckdb() {
        assert_eq!(parse_memory_limit("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_memory_limit(" 1.5 gib "), Ok(3 << 29));
        assert_eq!(parse_memory_limit("10K"), Ok(10_000));
        assert_eq!(parse_memory_limit("7 bytes"), Ok(7));
        assert_eq!(parse_memory_limit("-1"), Ok(usize::MAX));
        assert_eq!(parse_memory_limit("99999999TiB"), Ok(usize::MAX));
        for bad in [
            "", "GB", "100", "0GB", "0.1B", "1.2.3GB", "-5GB", "5 XB", "1e3GB",
        ] {
            assert!(parse_memory_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partition_keys() {
        let day = crate::time::parse_timestamp("2024-05-01").unwrap();
        let h = crate::time::MICROS_PER_HOUR;
        assert_eq!(partition_range("2024-05-01"), Some((day, day + 24 * h)));
        assert_eq!(
            partition_range("2024-05-01T13"),
            Some((day + 13 * h, day + 14 * h))
        );
        for bad in [
            "2024-05-01T24",
            "2024-05-01T1",
            "2024-5-1",
            "May 1",
            "2024-05-01 13",
            "é",
        ] {
            assert_eq!(partition_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn drop_partition_is_recognized_before_sqlparser() {
        let Some(Statement::DropPartition {
            table,
            keys,
            if_exists,
        }) = parse_drop_partition(
            "alter table Logs drop partition if exists '2024-05-01', '2024-05-02T03';",
        )
        else {
            panic!("not recognized");
        };
        assert_eq!(table.value, "Logs");
        assert!(if_exists);
        let keys: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["2024-05-01", "2024-05-02T03"]);
        for other in [
            "ALTER TABLE logs DROP PARTITION ('2024-05-01')",
            "ALTER TABLE logs DROP COLUMN x",
            "ALTER TABLE logs DROP PARTITION '2024-05-01' x",
            "SELECT 1",
        ] {
            assert!(parse_drop_partition(other).is_none(), "{other}");
        }
    }
}
