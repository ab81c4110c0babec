//! DuckDB's `PRAGMA` statements, recognized from tokens before sqlparser (whose
//! PRAGMA takes only a literal as its value, where DuckDB takes a constant
//! expression or a bare word: `PRAGMA explain_output = PHYSICAL_ONLY`).
//!
//! - `PRAGMA name = value` sets a setting, exactly as `SET name = value` (a bare
//!   word is text; an unknown name gets SET's error). DuckDB's `PRAGMA name(value)`
//!   form is for pragma functions only, so `PRAGMA threads(2)` is refused as
//!   DuckDB refuses it.
//! - `PRAGMA enable_verification` / `disable_verification`, `verify_parallelism`
//!   / `disable_verify_parallelism` turn query verification on and off
//!   (`verify.rs`); `disable_verify_external` and `disable_verify_fetch_row`
//!   turn off checks logdb never runs, so they are accepted and change nothing.
//! - `PRAGMA table_info('t')` (or `= t`) and `PRAGMA show_tables` describe the
//!   catalog.
//!
//! Every other pragma of DuckDB's is "not supported yet", naming it.

use sqlparser::ast::{self, Spanned};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan};

use super::results::success;
use super::{ddl, err_at, settings, starting_with, Statement};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::vector::push_value;
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::DataType;

/// A parsed `PRAGMA` statement.
#[derive(Clone, Debug)]
pub struct Pragma {
    /// The name, lowercased.
    name: String,
    /// Where the name is.
    span: Span,
    form: Form,
}

#[derive(Clone, Debug)]
enum Form {
    /// `PRAGMA name` or `PRAGMA name(arg, ...)`: a pragma function.
    Call(Vec<ast::Expr>),
    /// `PRAGMA name = value`.
    Assign(Box<ast::Expr>),
}

/// The pragma functions logdb runs, for error messages.
const FUNCTIONS: &str = "enable_verification, disable_verification, verify_parallelism, \
     disable_verify_parallelism, disable_verify_external, disable_verify_fetch_row, \
     table_info, show_tables";

/// DuckDB's pragmas that change how DuckDB itself verifies, plans or stores, and
/// why each has no meaning here.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "verify_external",
        "logdb has no out-of-core operators to force",
    ),
    (
        "verify_fetch_row",
        "logdb hands results over in batches, never row by row",
    ),
    ("verify_serializer", "logdb does not serialize plans"),
    (
        "debug_force_external",
        "logdb has no out-of-core operators to force",
    ),
    ("debug_window_mode", "logdb has one window implementation"),
    (
        "perfect_ht_threshold",
        "logdb chooses its dense group tables from zone maps",
    ),
    (
        "disabled_optimizers",
        "logdb's optimizer passes cannot be switched off one by one",
    ),
    (
        "disable_optimizer",
        "logdb's optimizer passes cannot be switched off",
    ),
    (
        "enable_optimizer",
        "logdb's optimizer passes cannot be switched off",
    ),
    (
        "show_tables_expanded",
        "it returns LIST columns, which logdb does not have",
    ),
    ("database_size", "logdb stores no blocks to count"),
    ("enable_profiling", "use EXPLAIN ANALYZE"),
    ("disable_profiling", "use EXPLAIN ANALYZE"),
    ("profiling_output", "use EXPLAIN ANALYZE"),
    ("force_checkpoint", "every logdb commit is durable"),
    (
        "disable_checkpoint_on_shutdown",
        "every logdb commit is durable",
    ),
    ("wal_autocheckpoint", "logdb has no write-ahead log"),
    ("force_compression", "logdb picks each block's encoding"),
];

/// Recognizes `PRAGMA ...`: `None` when `sql` is another statement.
pub(crate) fn parse_pragma(sql: &str) -> Option<Result<Statement>> {
    let tokens = starting_with(crate::sql::dialect::tokens(sql).ok()?, "PRAGMA")?;
    Some(parse_tokens(tokens).map(|p| Statement::Pragma(Box::new(p))))
}

fn syntax_error(t: &TokenWithSpan) -> Error {
    let near = match &t.token {
        Token::EOF => "end of input".to_string(),
        other => format!("\"{other}\""),
    };
    err_at(
        t.span,
        t.span,
        format!("syntax error: unexpected {near} in PRAGMA"),
    )
}

fn parse_tokens(mut tokens: Vec<TokenWithSpan>) -> Result<Pragma> {
    // Trailing semicolons end the statement; an EOF marker where it ends.
    while matches!(tokens.last().map(|t| &t.token), Some(Token::SemiColon)) {
        tokens.pop();
    }
    let end = tokens
        .last()
        .map_or(Span::empty(), |t| Span::new(t.span.end, t.span.end));
    let eof = TokenWithSpan::new(Token::EOF, end);
    let at = |i: usize| tokens.get(i).cloned().unwrap_or_else(|| eof.clone());
    let (name, span) = match at(1) {
        TokenWithSpan {
            token: Token::Word(w),
            span,
        } => (w.value.to_lowercase(), span),
        other => return Err(syntax_error(&other)),
    };
    let form = match at(2).token {
        Token::EOF => Form::Call(Vec::new()),
        Token::Eq => {
            if tokens.len() == 3 {
                return Err(syntax_error(&eof));
            }
            Form::Assign(Box::new(parse_value(tokens[3..].to_vec(), &eof)?))
        }
        Token::LParen => {
            if at(tokens.len() - 1).token != Token::RParen || tokens.len() == 4 {
                return Err(syntax_error(&at(tokens.len() - 1)));
            }
            let inner = &tokens[3..tokens.len() - 1];
            let mut args = Vec::new();
            for part in split_commas(inner) {
                let closing = &tokens[tokens.len() - 1];
                args.push(parse_value(part.to_vec(), closing)?);
            }
            Form::Call(args)
        }
        _ => return Err(syntax_error(&at(2))),
    };
    Ok(Pragma { name, span, form })
}

/// `tokens` cut at the commas outside parentheses.
fn split_commas(tokens: &[TokenWithSpan]) -> Vec<&[TokenWithSpan]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t.token {
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// One value: a bare word is its text (`PRAGMA explain_output = physical_only`),
/// anything else a constant expression.
fn parse_value(tokens: Vec<TokenWithSpan>, end: &TokenWithSpan) -> Result<ast::Expr> {
    if tokens.is_empty() {
        return Err(syntax_error(end));
    }
    if let [TokenWithSpan {
        token: Token::Word(w),
        span,
    }] = tokens.as_slice()
    {
        let literal = ["true", "false", "null"]
            .iter()
            .any(|k| w.value.eq_ignore_ascii_case(k));
        if w.quote_style.is_some() || !literal {
            return Ok(ast::Expr::Value(
                ast::Value::SingleQuotedString(w.value.clone()).with_span(*span),
            ));
        }
    }
    let dialect = crate::sql::dialect::LogdbDialect::default();
    let mut all = tokens;
    all.push(TokenWithSpan::new(Token::EOF, end.span));
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(crate::sql::MAX_DEPTH)
        .with_tokens_with_locations(all);
    let expr = parser
        .parse_expr()
        .map_err(|e| Error::InvalidInput(crate::sql::parser_message(&e.to_string())))?;
    let next = parser.next_token();
    if next.token != Token::EOF {
        return Err(syntax_error(&next));
    }
    Ok(expr)
}

/// Runs a pragma in a session whose settings are `options`.
pub(super) fn execute(db: &Db, options: &mut ExecOptions, p: &Pragma) -> Result<QueryResult> {
    let name = p.name.as_str();
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
        return Err(err_at(
            p.span,
            p.span,
            format!("not supported yet: PRAGMA {name} ({why})"),
        ));
    }
    match (&p.form, name) {
        (Form::Assign(value), "table_info") => table_info(db, value, p.span),
        (Form::Call(args), "table_info") => match args.as_slice() {
            [value] => table_info(db, value, p.span),
            _ => Err(err_at(
                p.span,
                p.span,
                "PRAGMA table_info takes one argument: the table's name",
            )),
        },
        (Form::Assign(value), _) => {
            let variable = ast::ObjectName::from(vec![ast::Ident::with_span(p.span, name)]);
            settings::set(
                options,
                &variable,
                std::slice::from_ref(value.as_ref()),
                p.span,
            )
        }
        (Form::Call(args), _) => {
            let switch: Option<fn(&mut ExecOptions)> = match name {
                "enable_verification" => Some(|o| o.verification = true),
                "disable_verification" => Some(|o| o.verification = false),
                "verify_parallelism" => Some(|o| o.verify_parallelism = true),
                "disable_verify_parallelism" => Some(|o| o.verify_parallelism = false),
                // Checks logdb never runs: off already.
                "disable_verify_external" | "disable_verify_fetch_row" => Some(|_| {}),
                "show_tables" => None,
                _ if settings::is_setting(name) => {
                    return Err(err_at(
                        p.span,
                        p.span,
                        format!(
                            "{name} is a setting: write PRAGMA {name} = value \
                             (or SET {name} = value)"
                        ),
                    ))
                }
                _ => {
                    return Err(err_at(
                        p.span,
                        p.span,
                        format!("not supported yet: PRAGMA {name} (logdb runs: {FUNCTIONS})"),
                    ))
                }
            };
            if let Some(a) = args.first() {
                return Err(err_at(
                    a.span(),
                    p.span,
                    format!("PRAGMA {name} takes no arguments"),
                ));
            }
            match switch {
                Some(f) => {
                    f(options);
                    Ok(success())
                }
                None => ddl::show_tables(db),
            }
        }
    }
}

/// `PRAGMA table_info('t')`: DuckDB's columns `cid`, `name`, `type`, `notnull`,
/// `dflt_value` and `pk`, a row per column of the table (logdb has no column
/// defaults or primary keys).
fn table_info(db: &Db, value: &ast::Expr, span: Span) -> Result<QueryResult> {
    let text = match value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    };
    let Some(text) = text else {
        return Err(err_at(
            value.span(),
            span,
            "PRAGMA table_info takes a table name as text: table_info('t')",
        ));
    };
    let bare = text.strip_prefix("main.").unwrap_or(text);
    let id = ast::Ident::with_span(value.span(), bare);
    let (_, schema) = super::resolve_table(db, &id, span)?;
    let types = [
        ("cid", DataType::Integer),
        ("name", DataType::Varchar),
        ("type", DataType::Varchar),
        ("notnull", DataType::Boolean),
        ("dflt_value", DataType::Varchar),
        ("pk", DataType::Boolean),
    ];
    let mut columns: Vec<Column> = types
        .iter()
        .map(|(_, t)| Column::new(ColumnData::empty(t.physical())))
        .collect();
    for (i, f) in schema.fields.iter().enumerate() {
        let row = [
            Value::Int(i as i64),
            Value::Str(f.name.as_str().into()),
            Value::Str(f.data_type.name().into()),
            Value::Bool(!f.nullable),
            Value::Null,
            Value::Bool(false),
        ];
        for (c, v) in columns.iter_mut().zip(&row) {
            push_value(c, v);
        }
    }
    Ok(QueryResult {
        columns: types.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
        batches: vec![Batch { columns }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<Pragma> {
        match parse_pragma(sql).expect("a pragma") {
            Ok(Statement::Pragma(p)) => Ok(*p),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    }

    #[test]
    fn pragmas_parse_in_duckdbs_forms() {
        assert!(parse_pragma("SELECT 1").is_none());
        let p = parse("PRAGMA enable_verification;").unwrap();
        assert_eq!(p.name, "enable_verification");
        assert!(matches!(&p.form, Form::Call(a) if a.is_empty()));
        let p = parse("pragma Explain_Output = PHYSICAL_ONLY").unwrap();
        assert_eq!(p.name, "explain_output");
        assert!(matches!(&p.form, Form::Assign(e) if e.to_string() == "'PHYSICAL_ONLY'"));
        let p = parse("PRAGMA threads = 1 + 1").unwrap();
        assert!(matches!(&p.form, Form::Assign(e) if e.to_string() == "1 + 1"));
        let p = parse("PRAGMA table_info(t)").unwrap();
        assert!(matches!(&p.form, Form::Call(a) if a.len() == 1));
        let p = parse("PRAGMA f('a', (1, 2))").unwrap();
        assert!(matches!(&p.form, Form::Call(a) if a.len() == 2));
        for bad in [
            "PRAGMA",
            "PRAGMA default_order()",
            "PRAGMA x =",
            "PRAGMA x = 1 2",
            "PRAGMA main.x",
            "PRAGMA x(1",
            "PRAGMA x(1,)",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("line 1, column"), "{bad}: {e}");
        }
    }
}
