//! The SQL dialect logdb parses: DuckDB's, as sqlparser has it, plus `IGNORE
//! NULLS` / `RESPECT NULLS` inside a function's parentheses
//! (`first_value(x IGNORE NULLS) OVER (...)`, DuckDB's spelling), which
//! sqlparser's DuckDB dialect does not accept, and the inet containment
//! operators `<<=` / `>>=` (tokenized as a shift and `=`), parsed at the
//! precedence of `=` into a `PGCustomBinaryOperator`.
//!
//! Every method DuckDB's dialect overrides is forwarded to it, and
//! [`Dialect::dialect`] reports DuckDB's type, so the parser's per-dialect
//! branches take DuckDB's path.

use std::any::TypeId;

use sqlparser::ast::{BinaryOperator, Expr};
use sqlparser::dialect::{Dialect, DuckDbDialect, Precedence};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

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
        if containment_op(parser).is_some() {
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
        let Some(op) = containment_op(parser) else {
            return self.0.parse_infix(parser, expr, precedence);
        };
        parser.advance_token();
        parser.advance_token();
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
    }
}
