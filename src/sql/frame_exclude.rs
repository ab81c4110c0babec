//! The `EXCLUDE` clause of a window frame (`ROWS BETWEEN 1 PRECEDING AND 1
//! FOLLOWING EXCLUDE CURRENT ROW`), which sqlparser 0.63 does not parse.
//!
//! Before parsing, [`strip`] removes each `EXCLUDE CURRENT ROW | GROUP | TIES |
//! NO OTHERS` that ends a frame (after `PRECEDING`, `FOLLOWING` or `CURRENT ROW`,
//! before the window's closing parenthesis) and records it in the window's
//! ORDER BY list as one more key: a quoted identifier no query can name (it
//! starts with a control character). The binder takes that key out again with
//! [`take`] before anything reads the ORDER BY, so the marker never orders rows.

use sqlparser::ast;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan};

use crate::plan::FrameExclude;

/// The start of a marker identifier; its kind follows.
const MARK: &str = "\u{1}exclude:";

/// Removes every frame EXCLUDE clause of `tokens`, recording each as a marker
/// key at the end of its window's ORDER BY (which it adds when there is none).
pub(crate) fn strip(tokens: &mut Vec<TokenWithSpan>) {
    let words: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let word = |n: usize| -> Option<String> {
        match &tokens[*words.get(n)?].token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    };
    // (insert at, tokens to insert, remove from, remove to (inclusive)), in
    // token positions, in order of appearance.
    let mut edits: Vec<(usize, Vec<TokenWithSpan>, usize, usize)> = Vec::new();
    for n in 1..words.len() {
        if word(n).as_deref() != Some("EXCLUDE")
            || !matches!(
                word(n - 1).as_deref(),
                Some("PRECEDING" | "FOLLOWING" | "ROW")
            )
        {
            continue;
        }
        let (kind, len) = match (word(n + 1).as_deref(), word(n + 2).as_deref()) {
            (Some("CURRENT"), Some("ROW")) => (FrameExclude::CurrentRow, 2),
            (Some("GROUP"), _) => (FrameExclude::Group, 1),
            (Some("TIES"), _) => (FrameExclude::Ties, 1),
            (Some("NO"), Some("OTHERS")) => (FrameExclude::NoOthers, 2),
            _ => continue,
        };
        if words.get(n + len + 1).map(|&i| &tokens[i].token) != Some(&Token::RParen) {
            continue;
        }
        // Back to the window's opening parenthesis: where the frame starts and
        // whether an ORDER BY comes before it.
        let (mut depth, mut frame_at, mut ordered) = (0usize, None, false);
        for m in (0..n).rev() {
            match &tokens[words[m]].token {
                Token::RParen => depth += 1,
                Token::LParen if depth == 0 => break,
                Token::LParen => depth -= 1,
                _ if depth > 0 => {}
                _ => match word(m).as_deref() {
                    // The nearest: a column named `range` may come before.
                    Some("ROWS" | "RANGE" | "GROUPS") if frame_at.is_none() => frame_at = Some(m),
                    Some("ORDER") if frame_at.is_some() => ordered = true,
                    _ => {}
                },
            }
        }
        let Some(frame_at) = frame_at else { continue };
        let span = tokens[words[n]].span;
        let at = |token: Token| TokenWithSpan { token, span };
        let marker = at(Token::make_word(
            &format!("{MARK}{}", kind.name()),
            Some('"'),
        ));
        let insert = if ordered {
            vec![at(Token::Comma), marker]
        } else {
            vec![
                at(Token::make_keyword("ORDER")),
                at(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
                at(Token::make_keyword("BY")),
                marker,
                at(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
            ]
        };
        edits.push((words[frame_at], insert, words[n], words[n + len]));
    }
    for (at, insert, from, to) in edits.into_iter().rev() {
        tokens.drain(from..=to);
        tokens.splice(at..at, insert);
    }
}

/// Takes the EXCLUDE marker out of a window's ORDER BY list, if it has one.
pub(crate) fn take(order_by: &mut Vec<ast::OrderByExpr>) -> Option<(FrameExclude, Span)> {
    let pos = order_by.iter().position(|o| marker(&o.expr).is_some())?;
    let o = order_by.remove(pos);
    marker(&o.expr)
}

fn marker(e: &ast::Expr) -> Option<(FrameExclude, Span)> {
    let ast::Expr::Identifier(id) = e else {
        return None;
    };
    let kind = id.value.strip_prefix(MARK)?;
    let kind = [
        FrameExclude::NoOthers,
        FrameExclude::CurrentRow,
        FrameExclude::Group,
        FrameExclude::Ties,
    ]
    .into_iter()
    .find(|k| k.name() == kind)?;
    Some((kind, id.span))
}

/// `text` (an expression printed back as SQL) with each marker put back as the
/// EXCLUDE clause it stands for, at the end of its window.
pub(crate) fn unmark(text: &str) -> String {
    let open = format!("\"{MARK}");
    let mut s = text.to_string();
    while let Some(m) = s.find(&open) {
        let Some(len) = s[m + open.len()..].find('"') else {
            break;
        };
        let kind = s[m + open.len()..m + open.len() + len].to_string();
        let end = m + open.len() + len + 1;
        let (from, to) = if s[..m].ends_with(", ") {
            (m - 2, end)
        } else if s[..m].ends_with("ORDER BY ") && s[end..].starts_with(' ') {
            (m - "ORDER BY ".len(), end + 1)
        } else {
            (m, end)
        };
        s.replace_range(from..to, "");
        // The window's closing parenthesis.
        let mut depth = 0usize;
        let close = s[from..].char_indices().find_map(|(i, c)| match c {
            '(' => {
                depth += 1;
                None
            }
            ')' if depth == 0 => Some(from + i),
            ')' => {
                depth -= 1;
                None
            }
            _ => None,
        });
        let at = close.unwrap_or(s.len());
        s.insert_str(at, &format!(" EXCLUDE {kind}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::dialect::{tokens, LogdbDialect};
    use sqlparser::parser::Parser;

    /// The window specs of `sql` after stripping: (ORDER BY keys as text, the
    /// EXCLUDE taken from them).
    fn specs(sql: &str) -> Vec<(Vec<String>, Option<FrameExclude>)> {
        let t = tokens(sql).unwrap();
        let dialect = LogdbDialect::default();
        let stmt = Parser::new(&dialect)
            .with_tokens_with_locations(t)
            .parse_statement()
            .unwrap();
        let mut out = Vec::new();
        let _ = ast::visit_expressions(&stmt, |e| {
            if let ast::Expr::Function(f) = e {
                if let Some(ast::WindowType::WindowSpec(s)) = &f.over {
                    let mut order = s.order_by.clone();
                    let ex = take(&mut order).map(|(k, _)| k);
                    out.push((order.iter().map(|o| o.expr.to_string()).collect(), ex));
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        out
    }

    #[test]
    fn exclude_clauses_become_markers_of_their_own_window() {
        let got = specs(
            "SELECT sum(x) OVER (PARTITION BY (p) ORDER BY x, f(y) ROWS BETWEEN 1 PRECEDING \
             AND 1 FOLLOWING EXCLUDE CURRENT ROW), count(*) OVER (ROWS UNBOUNDED PRECEDING \
             exclude no others), min(x) OVER (ORDER BY x RANGE BETWEEN CURRENT ROW AND \
             CURRENT ROW EXCLUDE TIES), max(x) OVER (GROUPS 2 PRECEDING EXCLUDE GROUP), \
             avg(x) OVER (ORDER BY x) FROM t",
        );
        use FrameExclude::*;
        let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (keys(&["x", "f(y)"]), Some(CurrentRow)),
                (keys(&[]), Some(NoOthers)),
                (keys(&["x"]), Some(Ties)),
                (keys(&[]), Some(Group)),
                (keys(&["x"]), None),
            ]
        );
    }

    #[test]
    fn printed_back_the_clause_is_where_it_was() {
        let sql = "SELECT sum(x) OVER (PARTITION BY p ORDER BY x ROWS BETWEEN 1 PRECEDING AND \
                   1 FOLLOWING EXCLUDE CURRENT ROW) + count(*) OVER (ROWS UNBOUNDED PRECEDING \
                   EXCLUDE TIES) FROM t";
        let dialect = LogdbDialect::default();
        let stmt = Parser::new(&dialect)
            .with_tokens_with_locations(tokens(sql).unwrap())
            .parse_statement()
            .unwrap();
        assert_eq!(
            unmark(&stmt.to_string()),
            "SELECT sum(x) OVER (PARTITION BY p ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 \
             FOLLOWING EXCLUDE CURRENT ROW) + count(*) OVER (ROWS UNBOUNDED PRECEDING \
             EXCLUDE TIES) FROM t"
        );
    }

    #[test]
    fn other_excludes_are_left_alone() {
        // The star's EXCLUDE, and a frame EXCLUDE that does not end the window
        // (a syntax error as before).
        let t = tokens("SELECT * EXCLUDE (a) FROM t").unwrap();
        assert!(t
            .iter()
            .any(|t| matches!(&t.token, Token::Word(w) if w.value == "EXCLUDE")));
        let t = tokens("SELECT sum(x) OVER (ROWS 1 PRECEDING EXCLUDE TIES x) FROM t").unwrap();
        assert!(t
            .iter()
            .any(|t| matches!(&t.token, Token::Word(w) if w.value == "EXCLUDE")));
    }
}
