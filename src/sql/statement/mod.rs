//! SQL statements: parsing into a [`Statement`] and running it against a [`Db`] with
//! session settings.
//!
//! Queries (`SELECT`, `EXPLAIN [ANALYZE] SELECT`) go to the binder and executor;
//! every other statement is classified here and handed to the file that runs its
//! kind:
//! - `ddl.rs`: `CREATE TABLE [IF NOT EXISTS] .. [WITH (..)] [AS SELECT ..]`,
//!   `DROP TABLE`, `SHOW TABLES`, `DESCRIBE`;
//! - `dml.rs`: `INSERT INTO .. VALUES | SELECT`, `DELETE` (whole partitions, by
//!   time), `ALTER TABLE .. DROP PARTITION`;
//! - `settings.rs`: `SET` / `RESET` and `SELECT current_setting(..)`;
//! - `copy.rs`: `COPY (query) | table TO 'file'` and `COPY table FROM 'file'`;
//! - `pragma.rs`: DuckDB's `PRAGMA` statements (settings, verification,
//!   `table_info`);
//! - `verify.rs`: query verification (a second, different run compared with the
//!   first);
//! - `params.rs`: prepared statements and their parameters;
//! - `constant.rs`: the constant expressions and type names these statements take;
//! - `results.rs`: the DuckDB-shaped results they return.
//!
//! The dialect is specified in spec/sql.md ("Statements", "Settings", "Prepared
//! statements").

mod constant;
mod copy;
mod ddl;
mod dml;
mod params;
mod pivot;
mod pragma;
mod prepared;
mod results;
mod rewrite_rows;
mod settings;
mod summarize;
mod verify;
mod views;
mod with_dml;

use sqlparser::ast::{self, Spanned};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Tokenizer};

use super::bind::position;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::TableSchema;

pub(crate) use copy::parse_copy;
pub use copy::Copy;
pub(crate) use params::find_params;
pub use params::PreparedStatement;
pub(crate) use pivot::parse_pivot_statement;
pub(crate) use pragma::parse_pragma;
pub use pragma::Pragma;
pub use prepared::Prepared;
pub use settings::parse_memory_limit;
pub(crate) use summarize::parse_summarize;

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
    /// `COPY (query) TO 'path'`, `COPY table TO | FROM 'path'` (DuckDB's
    /// options), recognized before sqlparser.
    Copy(Box<Copy>),
    /// `PREPARE name AS statement`: kept by the session under `name`
    /// (lowercased).
    Prepare {
        name: String,
        statement: Box<Statement>,
    },
    /// `EXECUTE name [(arg, ...)]`: the session's prepared statement with each
    /// parameter replaced by its argument.
    Execute {
        name: String,
        args: Vec<ast::Expr>,
        span: Span,
    },
    /// `DEALLOCATE [PREPARE] name`.
    Deallocate { name: String },
    /// `PRAGMA name [= value | (args)]`, recognized before sqlparser.
    Pragma(Box<Pragma>),
    /// `SUMMARIZE table | query`: the query whose columns are summarized,
    /// recognized before sqlparser.
    Summarize(Box<ast::Query>),
}

fn err_at(span: Span, fallback: Span, msg: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {msg}", position(span, fallback)))
}

/// The tokens of a statement that starts with the unquoted word `word`
/// (whitespace left out); `None` for a statement that starts otherwise.
fn starting_with(tokens: Vec<TokenWithSpan>, word: &str) -> Option<Vec<TokenWithSpan>> {
    let tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    match tokens.first().map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => {
            Some(tokens)
        }
        _ => None,
    }
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
        S::Query(q) if with_dml::is_data_modifying(&q) => {
            Ok(Statement::Other(Box::new(S::Query(q))))
        }
        S::Query(q) => Ok(Statement::Query {
            query: q,
            explain: None,
        }),
        s @ (S::CreateTable(_)
        | S::CreateView(_)
        | S::Drop {
            object_type: ast::ObjectType::View,
            ..
        }
        | S::Insert(_)
        | S::ShowTables { .. }
        | S::Set(ast::Set::SingleAssignment { .. } | ast::Set::SetTimeZone { .. })
        | S::Reset(_)
        | S::Delete(_)
        | S::Update(_)
        | S::Drop {
            object_type: ast::ObjectType::Table,
            ..
        }
        | S::ExplainTable { .. }
        | S::AlterTable(_)) => Ok(Statement::Other(Box::new(s))),
        S::Prepare {
            name,
            data_types,
            statement,
        } => prepared::prepare(name, data_types, *statement),
        s @ S::Execute { .. } => prepared::execute_args(s),
        S::Deallocate { name, .. } => Ok(Statement::Deallocate {
            name: name.value.to_lowercase(),
        }),
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
// Running statements

/// Runs one parsed statement (with its parameters already bound) against `db`;
/// `SET` and `RESET` change `options`.
pub fn execute(db: &Db, options: &mut ExecOptions, statement: &Statement) -> Result<QueryResult> {
    match statement {
        Statement::Query { query, explain } => {
            if explain.is_none() {
                if let Some(r) = settings::current_setting(query, options)? {
                    return Ok(r);
                }
            }
            let snapshot = db.snapshot()?;
            run_query(&snapshot, query, *explain, options)
        }
        Statement::DropPartition {
            table,
            keys,
            if_exists,
        } => dml::drop_partitions(db, table, keys, *if_exists),
        Statement::Other(s) => execute_other(db, options, s),
        Statement::Copy(c) => copy::execute(db, options, c),
        Statement::Pragma(p) => pragma::execute(db, options, p),
        Statement::Summarize(q) => summarize::execute(db, options, q),
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => {
            Err(Error::InvalidInput(
                "line 1, column 1: PREPARE, EXECUTE and DEALLOCATE run in a session \
                 (Session::execute), not in a prepared statement"
                    .into(),
            ))
        }
    }
}

/// Runs a query, or explains it as `explain_output` says (a plain `EXPLAIN`),
/// verified when the session asks for it (`verify.rs`).
fn run_query(
    snapshot: &crate::storage::Snapshot,
    query: &ast::Query,
    explain: Option<super::explain::ExplainMode>,
    options: &ExecOptions,
) -> Result<QueryResult> {
    use super::explain::{run, ExplainMode};
    use crate::exec::ExplainOutput;
    match (explain, options.explain_output) {
        (None, _) => {
            let plan = super::plan_query_with(snapshot, query, options)?;
            verify::execute(snapshot, &plan, options)
        }
        (Some(ExplainMode::Physical), ExplainOutput::OptimizedOnly) => {
            run(snapshot, query, Some(ExplainMode::Logical), options)
        }
        (Some(ExplainMode::Physical), ExplainOutput::All) => {
            let mut both = run(snapshot, query, Some(ExplainMode::Logical), options)?;
            let physical = run(snapshot, query, Some(ExplainMode::Physical), options)?;
            both.batches.extend(physical.batches);
            Ok(both)
        }
        (Some(mode), _) => run(snapshot, query, Some(mode), options),
    }
}

/// The snapshot and optimized plan of `statement` when it is a plain query (no
/// EXPLAIN, not a settings read, not verified), for running it as a stream.
pub fn streamable_query(
    db: &Db,
    options: &ExecOptions,
    statement: &Statement,
) -> Result<Option<(crate::storage::Snapshot, crate::plan::LogicalPlan)>> {
    let Statement::Query {
        query,
        explain: None,
    } = statement
    else {
        return Ok(None);
    };
    if options.verification
        || options.verify_parallelism
        || settings::current_setting(query, options)?.is_some()
    {
        return Ok(None);
    }
    let snapshot = db.snapshot()?;
    let plan = super::plan_query_with(&snapshot, query, options)?;
    Ok(Some((snapshot, plan)))
}

fn execute_other(db: &Db, options: &mut ExecOptions, s: &ast::Statement) -> Result<QueryResult> {
    use ast::Statement as S;
    let fallback = s.span();
    match s {
        S::CreateTable(ct) => ddl::create_table(db, options, ct),
        S::CreateView(cv) => views::create_view(db, options, cv),
        S::Drop {
            object_type: ast::ObjectType::View,
            if_exists,
            names,
            cascade: false,
            restrict: false,
            purge: false,
            temporary: false,
            table: None,
        } => views::drop_views(db, names, *if_exists, fallback),
        S::Insert(ins) => dml::insert(db, options, ins),
        S::Drop {
            object_type: ast::ObjectType::Table,
            if_exists,
            names,
            cascade: false,
            restrict: false,
            purge: false,
            temporary: false,
            table: None,
        } => ddl::drop_tables(db, names, *if_exists, fallback),
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
            ddl::show_tables(db)
        }
        S::ExplainTable {
            describe_alias: ast::DescribeAlias::Describe | ast::DescribeAlias::Desc,
            hive_format: None,
            table_name,
            ..
        } => ddl::describe(db, table_name, fallback),
        S::Set(ast::Set::SingleAssignment {
            scope,
            hivevar: false,
            variable,
            values,
        }) if !matches!(scope, Some(ast::ContextModifier::Local)) => {
            settings::set(options, variable, values, fallback)
        }
        // Postgres' `SET TIME ZONE 'zone'` is `SET TimeZone = 'zone'`.
        S::Set(ast::Set::SetTimeZone {
            local: false,
            value,
        }) => {
            let name = ast::ObjectName::from(vec![ast::Ident::new("TimeZone")]);
            settings::set(options, &name, std::slice::from_ref(value), fallback)
        }
        S::Reset(r) => settings::reset(options, &r.reset, fallback),
        S::Delete(d) => dml::delete(db, options, d, None, fallback),
        S::Update(u) => rewrite_rows::update(db, options, u, None, fallback),
        S::Query(q) => with_dml::execute(db, options, q, fallback),
        S::AlterTable(at) => dml::alter_table(db, at, fallback),
        other => Err(err_at(
            other.span(),
            fallback,
            format!("not supported yet: {} statements", statement_word(other)),
        )),
    }
}

// ---------------------------------------------------------------------------
// Table names (DDL and DML)

/// A single table name, possibly qualified by the one schema (`main.t`,
/// `memory.main.t`).
fn table_name(name: &ast::ObjectName, fallback: Span) -> Result<ast::Ident> {
    match crate::sql::bind::unqualified(name) {
        Some(id) => Ok(id.clone()),
        None => Err(err_at(
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

#[cfg(test)]
mod tests {
    use super::*;

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
