//! The SQL dialect logdb parses: DuckDB's, as sqlparser has it, plus `IGNORE
//! NULLS` / `RESPECT NULLS` inside a function's parentheses
//! (`first_value(x IGNORE NULLS) OVER (...)`, DuckDB's spelling), which
//! sqlparser's DuckDB dialect does not accept, and the inet containment
//! operators `<<=` / `>>=` (tokenized as a shift and `=`), parsed at the
//! precedence of `=` into a `PGCustomBinaryOperator`, and `[NOT] GLOB` (also at
//! the precedence of `=`, into `BinaryOperator::Glob`), and `^@` (starts with;
//! at the precedence of `=`, into a `PGCustomBinaryOperator`).
//!
//! Every method DuckDB's dialect overrides is forwarded to it, and
//! [`Dialect::dialect`] reports DuckDB's type, so the parser's per-dialect
//! branches take DuckDB's path.

use std::any::TypeId;

use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator};
use sqlparser::dialect::{Dialect, DuckDbDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// DuckDB's dialect with null treatment inside function arguments.
#[derive(Debug, Default)]
pub(crate) struct LogdbDialect(DuckDbDialect);

impl Dialect for LogdbDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<DuckDbDialect>()
    }

    fn supports_window_function_null_treatment_arg(&self) -> bool {
        true
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        // GLOB binds as tightly as `=` in DuckDB (`s GLOB p = true` compares
        // the match), tighter than sqlparser's LIKE level.
        if containment_op(parser).is_some()
            || glob_op(parser).is_some()
            || parser.peek_token_ref().token == Token::CaretAt
        {
            return Some(Ok(self.prec_value(Precedence::Eq)));
        }
        self.0.get_next_precedence(parser)
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if let Some(negated) = glob_op(parser) {
            if negated {
                parser.advance_token();
            }
            parser.advance_token();
            let right = match parser.parse_subexpr(self.prec_value(Precedence::Eq)) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            let glob = Expr::BinaryOp {
                left: Box::new(expr.clone()),
                op: BinaryOperator::Glob,
                right: Box::new(right),
            };
            return Some(Ok(if negated {
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: Box::new(Expr::Nested(Box::new(glob))),
                }
            } else {
                glob
            }));
        }
        let (op, tokens) = match containment_op(parser) {
            Some(op) => (op, 2),
            None if parser.peek_token_ref().token == Token::CaretAt => ("^@", 1),
            None => return self.0.parse_infix(parser, expr, precedence),
        };
        for _ in 0..tokens {
            parser.advance_token();
        }
        Some(
            parser
                .parse_subexpr(self.prec_value(Precedence::Eq))
                .map(|right| Expr::BinaryOp {
                    left: Box::new(expr.clone()),
                    op: BinaryOperator::PGCustomBinaryOperator(vec![op.to_string()]),
                    right: Box::new(right),
                }),
        )
    }

    fn supports_trailing_commas(&self) -> bool {
        self.0.supports_trailing_commas()
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        self.0.supports_filter_during_aggregation()
    }

    fn supports_group_by_expr(&self) -> bool {
        self.0.supports_group_by_expr()
    }

    fn supports_bitwise_shift_operators(&self) -> bool {
        self.0.supports_bitwise_shift_operators()
    }

    fn supports_named_fn_args_with_eq_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_eq_operator()
    }

    fn supports_named_fn_args_with_assignment_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_assignment_operator()
    }

    fn supports_dictionary_syntax(&self) -> bool {
        self.0.supports_dictionary_syntax()
    }

    fn support_map_literal_syntax(&self) -> bool {
        self.0.support_map_literal_syntax()
    }

    fn supports_lambda_functions(&self) -> bool {
        self.0.supports_lambda_functions()
    }

    fn allow_extract_single_quotes(&self) -> bool {
        self.0.allow_extract_single_quotes()
    }

    fn supports_explain_with_utility_options(&self) -> bool {
        self.0.supports_explain_with_utility_options()
    }

    fn supports_load_extension(&self) -> bool {
        self.0.supports_load_extension()
    }

    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.0.supports_array_typedef_with_brackets()
    }

    fn supports_from_first_select(&self) -> bool {
        self.0.supports_from_first_select()
    }

    fn supports_order_by_all(&self) -> bool {
        self.0.supports_order_by_all()
    }

    fn supports_select_wildcard_exclude(&self) -> bool {
        self.0.supports_select_wildcard_exclude()
    }

    fn supports_notnull_operator(&self) -> bool {
        self.0.supports_notnull_operator()
    }

    fn supports_install(&self) -> bool {
        self.0.supports_install()
    }

    fn supports_detach(&self) -> bool {
        self.0.supports_detach()
    }

    fn supports_select_wildcard_replace(&self) -> bool {
        self.0.supports_select_wildcard_replace()
    }

    fn supports_comma_separated_trim(&self) -> bool {
        self.0.supports_comma_separated_trim()
    }

    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }
}

/// The tokens of `sql` (with their positions) for the parser, with the
/// EXCLUDE clauses of window frames made markers (`frame_exclude.rs`), without
/// the `[NOT] MATERIALIZED` of a CTE (`WITH t AS MATERIALIZED (...)`): DuckDB takes it
/// as a hint on how to compute the CTE, sqlparser only in its Postgres dialect.
/// The result does not depend on it; logdb decides by itself whether a CTE is
/// computed once.
pub(crate) fn tokens(sql: &str) -> Result<Vec<TokenWithSpan>, ParserError> {
    let mut tokens = Tokenizer::new(&LogdbDialect::default(), sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| ParserError::TokenizerError(e.to_string()))?;
    let words: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let is = |i: usize, k: Keyword| matches!(&tokens[i].token, Token::Word(w) if w.keyword == k);
    let mut drop = Vec::new();
    for (n, &i) in words.iter().enumerate() {
        if !is(i, Keyword::AS) {
            continue;
        }
        let hint = match words.get(n + 1..n + 4) {
            Some(&[a, b, c]) if is(a, Keyword::NOT) && is(b, Keyword::MATERIALIZED) => {
                (tokens[c].token == Token::LParen).then_some(vec![a, b])
            }
            _ => None,
        }
        .or_else(|| match words.get(n + 1..n + 3) {
            Some(&[a, b]) if is(a, Keyword::MATERIALIZED) && tokens[b].token == Token::LParen => {
                Some(vec![a])
            }
            _ => None,
        });
        drop.extend(hint.into_iter().flatten());
    }
    for i in drop.into_iter().rev() {
        tokens.remove(i);
    }
    super::frame_exclude::strip(&mut tokens);
    parenthesize_from_values(&mut tokens);
    unwrap_insert_values(&mut tokens);
    mark_limit_percent(&mut tokens);
    Ok(tokens)
}

/// `LIMIT p%` and `LIMIT p PERCENT` (DuckDB) become `LIMIT limit_percent(p)`,
/// which the binder reads as a share of the rows (`bind/limit.rs`): the `%` or
/// PERCENT must end the LIMIT's expression (before OFFSET, the end of the
/// statement or of the enclosing parenthesis, or a set operation).
fn mark_limit_percent(tokens: &mut Vec<TokenWithSpan>) {
    let mut i = 0;
    while i < tokens.len() {
        if !is_keyword(&tokens[i], Keyword::LIMIT) {
            i += 1;
            continue;
        }
        let limit = i;
        let mut depth = 0usize;
        let mut last = None;
        let mut j = limit;
        while let Some(k) = next_solid(tokens, j) {
            let t = &tokens[k];
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::SemiColon | Token::EOF if depth == 0 => break,
                _ if depth == 0
                    && [
                        Keyword::OFFSET,
                        Keyword::UNION,
                        Keyword::EXCEPT,
                        Keyword::INTERSECT,
                    ]
                    .iter()
                    .any(|&kw| is_keyword(t, kw)) =>
                {
                    break
                }
                _ => {}
            }
            last = Some(k);
            j = k;
        }
        let marked = last.filter(|&k| {
            k > limit
                && next_solid(tokens, limit) != Some(k)
                && (tokens[k].token == Token::Mod || is_keyword(&tokens[k], Keyword::PERCENT))
        });
        if let Some(k) = marked {
            let span = tokens[k].span;
            tokens[k] = TokenWithSpan::new(Token::RParen, span);
            let at = tokens[limit].span;
            tokens.insert(limit + 1, TokenWithSpan::new(Token::LParen, at));
            tokens.insert(
                limit + 1,
                TokenWithSpan::new(Token::make_word(crate::sql::bind::LIMIT_PERCENT, None), at),
            );
        }
        i = limit + 1;
    }
}

/// The index of the next token after `i` that is not whitespace.
fn next_solid(tokens: &[TokenWithSpan], i: usize) -> Option<usize> {
    (i + 1..tokens.len()).find(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
}

/// The index of the `)` that closes the `(` at `open`.
fn closing_paren(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_keyword(t: &TokenWithSpan, k: Keyword) -> bool {
    matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// `FROM VALUES (1, 2), (3, 4) t(a, b)` (DuckDB) becomes `FROM (VALUES (1, 2),
/// (3, 4)) t(a, b)`, which sqlparser reads: the rows are the parenthesized
/// groups after VALUES joined by commas.
fn parenthesize_from_values(tokens: &mut Vec<TokenWithSpan>) {
    let mut i = 0;
    while i < tokens.len() {
        let start = (is_keyword(&tokens[i], Keyword::FROM)
            || is_keyword(&tokens[i], Keyword::JOIN))
        .then(|| next_solid(tokens, i))
        .flatten()
        .filter(|&v| is_keyword(&tokens[v], Keyword::VALUES));
        let Some(values) = start else {
            i += 1;
            continue;
        };
        let mut end = None;
        let mut open = next_solid(tokens, values).filter(|&o| tokens[o].token == Token::LParen);
        while let Some(o) = open {
            let Some(close) = closing_paren(tokens, o) else {
                break;
            };
            end = Some(close);
            open = next_solid(tokens, close)
                .filter(|&c| tokens[c].token == Token::Comma)
                .and_then(|c| next_solid(tokens, c))
                .filter(|&o| tokens[o].token == Token::LParen);
        }
        let Some(end) = end else {
            i += 1;
            continue;
        };
        let (open_span, close_span) = (tokens[values].span, tokens[end].span);
        tokens.insert(end + 1, TokenWithSpan::new(Token::RParen, close_span));
        tokens.insert(values, TokenWithSpan::new(Token::LParen, open_span));
        i = end + 2;
    }
}

/// `INSERT INTO t (VALUES ...)` (DuckDB) becomes `INSERT INTO t VALUES ...`:
/// sqlparser takes the parenthesis for a column list.
fn unwrap_insert_values(tokens: &mut Vec<TokenWithSpan>) {
    let Some(first) = next_solid_from(tokens, 0) else {
        return;
    };
    if !is_keyword(&tokens[first], Keyword::INSERT) {
        return;
    }
    let Some(into) = next_solid(tokens, first).filter(|&j| is_keyword(&tokens[j], Keyword::INTO))
    else {
        return;
    };
    // The table name: words joined by periods.
    let mut j = into;
    loop {
        let Some(name) =
            next_solid(tokens, j).filter(|&n| matches!(tokens[n].token, Token::Word(_)))
        else {
            return;
        };
        match next_solid(tokens, name) {
            Some(d) if tokens[d].token == Token::Period => j = d,
            _ => {
                j = name;
                break;
            }
        }
    }
    let Some(open) = next_solid(tokens, j).filter(|&o| tokens[o].token == Token::LParen) else {
        return;
    };
    if !next_solid(tokens, open).is_some_and(|v| is_keyword(&tokens[v], Keyword::VALUES)) {
        return;
    }
    if let Some(close) = closing_paren(tokens, open) {
        tokens.remove(close);
        tokens.remove(open);
    }
}

/// The index of the first token at or after `i` that is not whitespace.
fn next_solid_from(tokens: &[TokenWithSpan], i: usize) -> Option<usize> {
    (i..tokens.len()).find(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
}

/// `Some(negated)` when the next tokens are `GLOB` or `NOT GLOB` (sqlparser
/// gives GLOB a precedence but parses it only in SQLite's dialect).
fn glob_op(parser: &Parser) -> Option<bool> {
    let is_word = |n: usize, k: Keyword| matches!(&parser.peek_nth_token_ref(n).token, Token::Word(w) if w.keyword == k);
    if is_word(0, Keyword::GLOB) {
        Some(false)
    } else if is_word(0, Keyword::NOT) && is_word(1, Keyword::GLOB) {
        Some(true)
    } else {
        None
    }
}

/// `<<=` or `>>=` when the next tokens are a shift and an `=` right after it.
fn containment_op(parser: &Parser) -> Option<&'static str> {
    let a = parser.peek_nth_token_ref(0);
    let b = parser.peek_nth_token_ref(1);
    if b.token != Token::Eq || a.span.end != b.span.start {
        return None;
    }
    match a.token {
        Token::ShiftLeft => Some("<<="),
        Token::ShiftRight => Some(">>="),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::parser::Parser;

    /// Statements whose parse must not change from DuckDB's dialect.
    const SAME: &[&str] = &[
        "SELECT a, b AS c, * EXCLUDE (d) FROM t WHERE x::INT > 1 ORDER BY ALL",
        "SELECT count(*) FILTER (WHERE a = 1), {'k': 1}, [1, 2], 1_000 FROM t GROUP BY ALL",
        "FROM t SELECT a",
        "SELECT f(x := 1), f(y = 2), extract('hour' FROM ts), a // b, a << 1 FROM t,",
        "SELECT lag(x) OVER (PARTITION BY g ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
        "SELECT $1, \"quoted id\", a_b$ FROM t QUALIFY row_number() OVER w = 1 WINDOW w AS ()",
    ];

    #[test]
    fn a_ctes_materialization_hint_is_dropped() {
        let parse = |sql: &str| {
            let tokens = tokens(sql).unwrap();
            Parser::new(&LogdbDialect::default())
                .with_tokens_with_locations(tokens)
                .parse_statements()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let plain = parse("WITH t AS (SELECT 1 AS x) SELECT * FROM t").unwrap();
        for hinted in [
            "WITH t AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM t",
            "with t as not materialized (SELECT 1 AS x) SELECT * FROM t",
        ] {
            assert_eq!(parse(hinted).unwrap(), plain, "{hinted}");
        }
        // Not a CTE's hint: kept, and an error as before.
        assert!(parse("SELECT 1 AS materialized").is_ok());
        assert!(parse("SELECT x AS materialized (1)").is_err());
    }

    #[test]
    fn duckdb_spellings_are_rewritten_into_forms_sqlparser_reads() {
        let parse = |sql: &str| {
            Parser::new(&LogdbDialect::default())
                .with_tokens_with_locations(tokens(sql).unwrap())
                .parse_statements()
                .map(|s| {
                    s.iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .map_err(|e| e.to_string())
        };
        for (duck, plain) in [
            (
                "SELECT * FROM VALUES (1, 2), (3, (4)) t(a, b) WHERE a > 0",
                "SELECT * FROM (VALUES (1, 2), (3, (4))) t(a, b) WHERE a > 0",
            ),
            (
                "CREATE TABLE x AS FROM VALUES ('a') AS v(c)",
                "CREATE TABLE x AS FROM (VALUES ('a')) AS v(c)",
            ),
            (
                "INSERT INTO main.t (VALUES (1), (2))",
                "INSERT INTO main.t VALUES (1), (2)",
            ),
            (
                "SELECT * FROM t LIMIT (30 - 10) % OFFSET 2",
                "SELECT * FROM t LIMIT limit_percent((30 - 10)) OFFSET 2",
            ),
            (
                "SELECT (SELECT 1 FROM t LIMIT 5 PERCENT)",
                "SELECT (SELECT 1 FROM t LIMIT limit_percent(5))",
            ),
        ] {
            assert_eq!(parse(duck), parse(plain), "{duck}");
        }
        // Left alone: a modulo, a column list, an unclosed list.
        assert!(parse("SELECT * FROM t LIMIT 10 % 3")
            .unwrap()
            .contains("10 % 3"));
        assert!(parse("INSERT INTO t (a) VALUES (1)").is_ok());
        assert!(parse("SELECT * FROM VALUES (1").is_err());
    }

    #[test]
    fn parses_as_duckdb_does_and_takes_null_treatment_in_arguments() {
        for sql in SAME {
            let duck = Parser::parse_sql(&DuckDbDialect {}, sql).map(|s| format!("{s:?}"));
            let ours = Parser::parse_sql(&LogdbDialect::default(), sql).map(|s| format!("{s:?}"));
            assert_eq!(
                duck.map_err(|e| e.to_string()),
                ours.map_err(|e| e.to_string()),
                "{sql}"
            );
        }
        let sql = "SELECT first_value(x IGNORE NULLS) OVER () FROM t";
        assert!(Parser::parse_sql(&DuckDbDialect {}, sql).is_err());
        assert!(Parser::parse_sql(&LogdbDialect::default(), sql).is_ok());
        let sql = "SELECT ip <<= '10.0.0.0/8' AND '::/0' >>= ip, a << 1 FROM t";
        let s = Parser::parse_sql(&LogdbDialect::default(), sql).unwrap();
        assert!(format!("{s:?}").contains("PGCustomBinaryOperator([\"<<=\"])"));
        assert!(format!("{s:?}").contains("PGCustomBinaryOperator([\">>=\"])"));
        let sql = "SELECT a GLOB 'x*' = true, b NOT GLOB 'y' || 'z', a LIKE 'q'";
        let s = Parser::parse_sql(&LogdbDialect::default(), sql).unwrap();
        assert_eq!(
            s[0].to_string(),
            "SELECT a GLOB 'x*' = true, NOT (b GLOB 'y' || 'z'), a LIKE 'q'"
        );
        let tree = format!("{s:?}");
        assert_eq!(tree.matches("op: Glob").count(), 2, "{tree}");
    }
}
