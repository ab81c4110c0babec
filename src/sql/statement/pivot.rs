//! DuckDB's PIVOT statement, which sqlparser does not parse:
//!
//! ```sql
//! PIVOT source ON col [IN (v, ...)] [, col2 ...] [USING agg [AS a], ...]
//!     [GROUP BY g, ...] [ORDER BY ...] [LIMIT n] [OFFSET m]
//! ```
//!
//! It is read here with sqlparser's own pieces (so errors keep their positions)
//! and becomes `SELECT * FROM source PIVOT (agg FOR col IN (...)) ORDER BY ...`,
//! which `sql/bind/pivot.rs` binds: an ON column without IN pivots on its distinct
//! values (`IN (ANY)`), found when the query is bound; several ON columns, or an
//! IN list beside them, travel as the FOR columns themselves; `GROUP BY` travels in
//! the DEFAULT ON NULL slot under a marker name. Without USING the aggregate is
//! `count(*)`. The UNPIVOT statement is refused with a position.

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use super::Statement;
use crate::error::{Error, Result};
use crate::sql::bind::GROUP_BY_MARK;
use crate::sql::dialect::LogdbDialect;

/// The statement when `sql` starts with the word PIVOT (or UNPIVOT: an error);
/// `None` for every other statement.
pub(crate) fn parse_pivot_statement(sql: &str) -> Option<Result<Statement>> {
    let dialect = LogdbDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let first = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))?;
    let Token::Word(w) = &first.token else {
        return None;
    };
    if w.quote_style.is_some() {
        return None;
    }
    match w.value.to_ascii_uppercase().as_str() {
        "PIVOT" => Some(
            pivot(sql).map_err(|e| Error::InvalidInput(crate::sql::parser_message(&e.to_string()))),
        ),
        "UNPIVOT" => Some(Err(Error::InvalidInput(format!(
            "line {}, column {}: not supported yet: UNPIVOT; write one SELECT per column \
             joined by UNION ALL",
            first.span.start.line, first.span.start.column
        )))),
        _ => None,
    }
}

fn pivot(sql: &str) -> std::result::Result<Statement, ParserError> {
    let dialect = LogdbDialect::default();
    let mut p = Parser::new(&dialect)
        .with_recursion_limit(crate::sql::MAX_DEPTH)
        .try_with_sql(sql)?;
    p.expect_keyword_is(Keyword::PIVOT)?;
    let source = p.parse_table_factor()?;
    p.expect_keyword_is(Keyword::ON)?;
    let on = p.parse_comma_separated(Parser::parse_expr)?;
    let aggregates = if p.parse_keyword(Keyword::USING) {
        p.parse_comma_separated(Parser::parse_expr_with_alias)?
    } else {
        let count = Parser::new(&dialect)
            .try_with_sql("count(*)")?
            .parse_expr()?;
        vec![ast::ExprWithAlias {
            expr: count,
            alias: None,
        }]
    };
    let groups = if p.parse_keywords(&[Keyword::GROUP, Keyword::BY]) {
        Some(p.parse_comma_separated(|p| p.parse_identifier())?)
    } else {
        None
    };
    let order_by = p.parse_optional_order_by()?;
    let (mut limit, mut offset) = (None, None);
    loop {
        if limit.is_none() && p.parse_keyword(Keyword::LIMIT) {
            limit = Some(p.parse_limit()?);
        } else if offset.is_none() && p.parse_keyword(Keyword::OFFSET) {
            offset = Some(p.parse_offset()?);
        } else {
            break;
        }
    }
    while p.consume_token(&Token::SemiColon) {}
    if p.peek_token_ref().token != Token::EOF {
        let next = p.peek_token_ref().clone();
        return p.expected("end of the PIVOT statement", next);
    }

    // One ON column with an IN list is the standard form; otherwise the FOR
    // columns carry their own lists (if any) and the values are found later.
    let (value_column, value_source) = match on.as_slice() {
        [ast::Expr::InList {
            expr,
            list,
            negated: false,
        }] => (
            vec![(**expr).clone()],
            ast::PivotValueSource::List(
                list.iter()
                    .map(|e| ast::ExprWithAlias {
                        expr: e.clone(),
                        alias: None,
                    })
                    .collect(),
            ),
        ),
        _ => (on, ast::PivotValueSource::Any(Vec::new())),
    };
    let default_on_null = groups.map(|g| {
        ast::Expr::Function(ast::Function {
            name: ast::ObjectName::from(vec![ast::Ident::new(GROUP_BY_MARK)]),
            uses_odbc_syntax: false,
            parameters: ast::FunctionArguments::None,
            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: g
                    .into_iter()
                    .map(|id| {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            ast::Expr::Identifier(id),
                        ))
                    })
                    .collect(),
                clauses: Vec::new(),
            }),
            within_group: Vec::new(),
            filter: None,
            null_treatment: None,
            over: None,
        })
    });
    let relation = ast::TableFactor::Pivot {
        table: Box::new(source),
        aggregate_functions: aggregates,
        value_column,
        value_source,
        default_on_null,
        alias: None,
    };

    let mut query = Parser::new(&dialect)
        .try_with_sql("SELECT * FROM pivoted")?
        .parse_query()?;
    if let ast::SetExpr::Select(s) = query.body.as_mut() {
        s.from[0].relation = relation;
    }
    query.order_by = order_by;
    if limit.is_some() || offset.is_some() {
        query.limit_clause = Some(ast::LimitClause::LimitOffset {
            limit: limit.flatten(),
            offset,
            limit_by: Vec::new(),
        });
    }
    Ok(Statement::Query {
        query,
        explain: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(sql: &str) -> ast::TableFactor {
        let Some(Ok(Statement::Query { query, .. })) = parse_pivot_statement(sql) else {
            panic!("{sql} did not parse");
        };
        let ast::SetExpr::Select(s) = *query.body else {
            panic!("not a select")
        };
        s.from[0].relation.clone()
    }

    #[test]
    fn the_statement_becomes_a_pivot_in_from() {
        let r = relation("PIVOT logs ON status USING count(*) AS n GROUP BY method");
        let ast::TableFactor::Pivot {
            value_source,
            default_on_null,
            aggregate_functions,
            ..
        } = r
        else {
            panic!("not a pivot")
        };
        assert!(matches!(value_source, ast::PivotValueSource::Any(ref o) if o.is_empty()));
        assert!(default_on_null.unwrap().to_string().contains("method"));
        assert_eq!(aggregate_functions[0].alias.as_ref().unwrap().value, "n");

        let r = relation("pivot logs on status in (200, 404)");
        let ast::TableFactor::Pivot { value_source, .. } = r else {
            panic!("not a pivot")
        };
        assert!(matches!(value_source, ast::PivotValueSource::List(ref l) if l.len() == 2));
    }

    #[test]
    fn other_statements_are_left_alone_and_errors_have_positions() {
        assert!(parse_pivot_statement("SELECT 1").is_none());
        assert!(parse_pivot_statement("\"pivot\"").is_none());
        let e = parse_pivot_statement("PIVOT logs USING count(*)").unwrap();
        assert!(e.unwrap_err().to_string().contains("line 1, column 12"));
        let e = parse_pivot_statement("  UNPIVOT t ON a, b INTO NAME k VALUE v").unwrap();
        assert!(e.unwrap_err().to_string().contains("line 1, column 3"));
    }
}
