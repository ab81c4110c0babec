//! The line editor's helper: tab completion of keywords, tables, columns,
//! functions and dot commands, and multi-line input (Enter runs the input only once
//! it ends a statement with `;`).

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use logdb::db::Db;

/// SQL keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "ALL",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CREATE",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "ESCAPE",
    "EXPLAIN",
    "FALSE",
    "FILTER",
    "FIRST",
    "FORMAT",
    "FROM",
    "GROUP",
    "HAVING",
    "ILIKE",
    "IN",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "SELECT",
    "SET",
    "TABLE",
    "THEN",
    "TIMESTAMP",
    "TRUE",
    "VALUES",
    "WHEN",
    "WHERE",
    "WITH",
];

/// SQL functions offered by completion (spec/sql.md "Functions").
const FUNCTIONS: &[&str] = &[
    "approx_count_distinct",
    "approx_quantile",
    "arg_max",
    "arg_min",
    "avg",
    "concat",
    "contains",
    "count",
    "count_if",
    "current_date",
    "date_diff",
    "date_part",
    "date_trunc",
    "day",
    "dayname",
    "dayofweek",
    "domain",
    "ends_with",
    "extract",
    "hour",
    "ip_in_cidr",
    "isIPAddressInRange",
    "last_day",
    "length",
    "lower",
    "make_date",
    "max",
    "max_by",
    "median",
    "min",
    "min_by",
    "minute",
    "month",
    "monthname",
    "now",
    "path",
    "quantile_cont",
    "regexp_extract",
    "regexp_matches",
    "regexp_replace",
    "round",
    "second",
    "split_part",
    "starts_with",
    "strftime",
    "substr",
    "substring",
    "sum",
    "time_bucket",
    "timezone",
    "toDate",
    "today",
    "toStartOfDay",
    "toStartOfHour",
    "toStartOfInterval",
    "toStartOfMinute",
    "toStartOfMonth",
    "toStartOfYear",
    "toYYYYMM",
    "toYYYYMMDD",
    "typeof",
    "upper",
    "url_param",
    "url_path",
    "year",
];

/// What completion knows about the open database.
#[derive(Default)]
pub struct ShellHelper {
    /// Table names and their column names.
    tables: Vec<(String, Vec<String>)>,
}

impl ShellHelper {
    /// Re-reads table and column names (after DDL, imports or `.open`).
    pub fn refresh(&mut self, db: &Db) {
        let Ok(snap) = db.snapshot() else { return };
        self.tables = snap
            .manifest()
            .tables
            .iter()
            .map(|(name, t)| {
                let cols = t.schema.fields.iter().map(|f| f.name.clone()).collect();
                (name.clone(), cols)
            })
            .collect();
    }

    /// Candidates for the word `prefix`; `qualifier` is the `t.` before it, if any.
    fn candidates(&self, prefix: &str, qualifier: Option<&str>) -> Vec<Pair> {
        let lower = prefix.to_ascii_lowercase();
        let matches = |s: &str| s.to_ascii_lowercase().starts_with(&lower);
        let mut out: Vec<Pair> = Vec::new();
        let mut push = |display: String, replacement: String| {
            if !out.iter().any(|p| p.replacement == replacement) {
                out.push(Pair {
                    display,
                    replacement,
                });
            }
        };
        if let Some(q) = qualifier {
            for (t, cols) in &self.tables {
                if t.eq_ignore_ascii_case(q) {
                    for c in cols.iter().filter(|c| matches(c)) {
                        push(c.clone(), c.clone());
                    }
                }
            }
            return out;
        }
        for (t, cols) in &self.tables {
            if matches(t) {
                push(t.clone(), t.clone());
            }
            for c in cols.iter().filter(|c| matches(c)) {
                push(c.clone(), c.clone());
            }
        }
        for f in FUNCTIONS.iter().filter(|f| matches(f)) {
            push(format!("{f}()"), format!("{f}("));
        }
        // Keywords in the case the user is typing.
        let upper = prefix.chars().next().is_some_and(char::is_uppercase);
        for k in KEYWORDS.iter().filter(|k| matches(k)) {
            let k = if upper {
                k.to_string()
            } else {
                k.to_ascii_lowercase()
            };
            push(k.clone(), k);
        }
        out
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        // A dot command at the start of the line.
        let trimmed = before.trim_start();
        if trimmed.starts_with('.') && !trimmed.contains(char::is_whitespace) {
            let start = pos - trimmed.len();
            let pairs = super::dot::COMMANDS
                .iter()
                .filter(|(n, _, _)| n.starts_with(trimmed))
                .map(|(n, _, _)| Pair {
                    display: n.to_string(),
                    replacement: format!("{n} "),
                })
                .collect();
            return Ok((start, pairs));
        }
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_word_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let prefix = &before[start..];
        let qualifier = before[..start].strip_suffix('.').map(|q| {
            let qs = q
                .char_indices()
                .rev()
                .find(|&(_, c)| !is_word_char(c))
                .map_or(0, |(i, c)| i + c.len_utf8());
            &q[qs..]
        });
        if prefix.is_empty() && qualifier.is_none() {
            return Ok((pos, Vec::new()));
        }
        Ok((start, self.candidates(prefix, qualifier)))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if super::split::is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        ShellHelper {
            tables: vec![(
                "logs".into(),
                vec![
                    "ts".into(),
                    "uri".into(),
                    "status".into(),
                    "user_agent".into(),
                ],
            )],
        }
    }

    fn names(h: &ShellHelper, prefix: &str, q: Option<&str>) -> Vec<String> {
        h.candidates(prefix, q)
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    }

    #[test]
    fn completes_tables_columns_functions_and_keywords() {
        let h = helper();
        assert_eq!(names(&h, "lo", None), vec!["logs", "lower("]);
        assert_eq!(names(&h, "us", None), vec!["user_agent"]);
        assert_eq!(names(&h, "SEL", None), vec!["SELECT"]);
        assert_eq!(names(&h, "sel", None), vec!["select"]);
        assert_eq!(names(&h, "s", Some("logs")), vec!["status"]);
        assert!(names(&h, "s", Some("other")).is_empty());
        assert!(names(&h, "quantile", None).contains(&"quantile_cont(".to_string()));
    }
}
