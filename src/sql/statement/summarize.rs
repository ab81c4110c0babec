//! `SUMMARIZE table` and `SUMMARIZE query`: one row per column of the source
//! with DuckDB's columns (`column_name`, `column_type`, `min`, `max`,
//! `approx_unique`, `avg`, `std`, `q25`, `q50`, `q75`, `count`,
//! `null_percentage`), computed by one query the statement writes from the
//! source's schema: an aggregate per column over a CTE of the source, joined by
//! UNION ALL.

use sqlparser::ast;
use sqlparser::tokenizer::Token;

use super::{starting_with, Statement};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::DataType;

/// Recognizes `SUMMARIZE ...`: a table name or a query after the word.
pub(crate) fn parse_summarize(sql: &str) -> Option<Result<Statement>> {
    let tokens = starting_with(crate::sql::dialect::tokens(sql).ok()?, "SUMMARIZE")?;
    let Some(start) = tokens.get(1).filter(|t| t.token != Token::EOF) else {
        return Some(Err(Error::InvalidInput(
            "line 1, column 1: SUMMARIZE needs a table name or a query".into(),
        )));
    };
    // The text after the word, by the position of its first token; padded so
    // that errors in it point at the right place of the statement.
    let (line, column) = (start.span.start.line, start.span.start.column);
    let rest = offset_of(sql, line, column).map_or("", |at| &sql[at..]);
    let rest = rest.trim_end().trim_end_matches(';');
    let pad = |taken: usize| {
        "\n".repeat(line.saturating_sub(1) as usize)
            + &" ".repeat((column.max(1) as usize - 1).saturating_sub(taken))
    };
    let is_query = matches!(&start.token, Token::LParen)
        || matches!(&start.token, Token::Word(w)
            if w.quote_style.is_none()
                && ["select", "from", "with", "values", "pivot"]
                    .iter()
                    .any(|k| w.value.eq_ignore_ascii_case(k)));
    // A table name becomes DuckDB's FROM-first query of it.
    let text = if is_query {
        pad(0) + rest
    } else {
        pad(5) + "FROM " + rest
    };
    Some(crate::sql::parse(&text).map(|q| Statement::Summarize(Box::new(q))))
}

/// The byte offset of a 1-based line and column (in characters).
fn offset_of(sql: &str, line: u64, column: u64) -> Option<usize> {
    let mut line_start = 0;
    for _ in 1..line {
        line_start += sql[line_start..].find('\n')? + 1;
    }
    let col = (column.max(1) - 1) as usize;
    sql[line_start..]
        .char_indices()
        .nth(col)
        .map(|(b, _)| line_start + b)
        .or(Some(sql.len()))
}

/// Runs the summary of `source`.
pub(super) fn execute(db: &Db, options: &ExecOptions, source: &ast::Query) -> Result<QueryResult> {
    let snapshot = db.snapshot()?;
    let plan = crate::sql::plan_query_with(&snapshot, source, options)?;
    let schema = plan.schema();
    if schema.is_empty() {
        return Err(Error::InvalidInput(
            "line 1, column 1: SUMMARIZE of a query without columns".into(),
        ));
    }
    let branches: Vec<String> = schema
        .iter()
        .map(|(name, t)| column_summary(name, *t))
        .collect();
    let sql = format!(
        "WITH summarized AS ({source}) {}",
        branches.join(" UNION ALL ")
    );
    let query = crate::sql::parse(&sql)?;
    super::run_query(&snapshot, &query, None, options)
}

/// The SELECT that summarizes one column of `summarized`.
fn column_summary(name: &str, t: DataType) -> String {
    let c = format!("\"{}\"", name.replace('"', "\"\""));
    let text = |e: &str| format!("CAST({e} AS VARCHAR)");
    let null = "CAST(NULL AS VARCHAR)".to_string();
    let numeric = t.is_integer() || t == DataType::Double || t.decimal().is_some();
    let ordered = numeric || t.is_timestamp();
    let quantile = |q: f64| {
        if ordered {
            text(&format!("approx_quantile({c}, {q})"))
        } else {
            null.clone()
        }
    };
    format!(
        "SELECT {name_lit} AS column_name, {type_lit} AS column_type, {min} AS min, \
         {max} AS max, approx_count_distinct({c}) AS approx_unique, {avg} AS avg, \
         {std} AS std, {q25} AS q25, {q50} AS q50, {q75} AS q75, count(*) AS count, \
         CAST(CASE WHEN count(*) = 0 THEN NULL \
         ELSE round(100.0 * (count(*) - count({c})) / count(*), 2) END AS DECIMAL(9,2)) \
         AS null_percentage FROM summarized",
        name_lit = string_literal(name),
        type_lit = string_literal(&t.name()),
        min = text(&format!("min({c})")),
        max = text(&format!("max({c})")),
        avg = if numeric {
            text(&format!("avg({c})"))
        } else {
            null.clone()
        },
        std = if numeric {
            text(&format!("stddev_samp({c})"))
        } else {
            null.clone()
        },
        q25 = quantile(0.25),
        q50 = quantile(0.5),
        q75 = quantile(0.75),
    )
}

fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
