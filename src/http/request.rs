//! A query request: the SQL and the answer format it asks for, whether its
//! statement only reads, and the HTTP status each error is answered with.

use crate::error::Error;
use crate::sql::{strip_format, Statement};

use super::{Format, Refusal, Target};

/// What a query request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryRequest {
    /// The statement, without a trailing `FORMAT name`.
    pub sql: String,
    pub format: Format,
}

impl QueryRequest {
    /// The query of a request to `target` with the `Accept` header `accept` and
    /// the body `body` (empty when the method has none; the server reads at most
    /// `max_bytes + 1` bytes of it).
    ///
    /// The SQL is the URL's `sql=` (or ClickHouse's `query=`) parameter or the
    /// body, not both, of at most `max_bytes` bytes (413 beyond). The format is
    /// the first of: a trailing `FORMAT name` in the SQL, `?format=`, ClickHouse's
    /// `?default_format=`, the `Accept` header, `fallback`.
    pub fn parse(
        target: &Target,
        accept: Option<&str>,
        body: &[u8],
        fallback: Format,
        max_bytes: usize,
    ) -> Result<QueryRequest, Refusal> {
        let body = body_text(body, max_bytes)?;
        let text = sql_text(target, body, max_bytes)?;
        let (sql, in_sql) = strip_format(text);
        let named = in_sql
            .or(target.param(&["format"]))
            .or(target.param(&["default_format"]));
        let format = match named {
            Some(name) => Format::from_name(name).map_err(Refusal::bad_request)?,
            None => accept.and_then(Format::from_accept).unwrap_or(fallback),
        };
        Ok(QueryRequest {
            sql: sql.to_string(),
            format,
        })
    }
}

/// The 413 refusal of a request whose SQL or body has `size` bytes.
pub fn too_large(what: &str, size: &str, max_bytes: usize) -> Refusal {
    Refusal::new(
        413,
        "request_too_large",
        format!("the {what} has {size} bytes; the limit is {max_bytes} (--max-request-bytes)"),
    )
}

/// The body as UTF-8 text of at most `max_bytes` bytes.
fn body_text(body: &[u8], max_bytes: usize) -> Result<&str, Refusal> {
    if body.len() > max_bytes {
        return Err(too_large(
            "request body",
            &format!("more than {max_bytes}"),
            max_bytes,
        ));
    }
    std::str::from_utf8(body).map_err(|e| {
        Refusal::bad_request(format!(
            "the request body is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// The SQL of a request: from the URL or the body, not both.
fn sql_text<'a>(target: &'a Target, body: &'a str, max_bytes: usize) -> Result<&'a str, Refusal> {
    let text = match (target.param(&["sql", "query"]), body.trim().is_empty()) {
        (Some(_), false) => {
            return Err(Refusal::bad_request(
                "the SQL is both in the URL (sql= or query=) and in the body; send it once",
            ))
        }
        (Some(sql), true) => sql,
        (None, false) => body,
        (None, true) => {
            return Err(Refusal::bad_request(
                "no SQL: POST it as the request body or pass it as ?sql= (or ?query=)",
            ))
        }
    };
    if text.len() > max_bytes {
        return Err(too_large("SQL", &text.len().to_string(), max_bytes));
    }
    Ok(text)
}

/// Whether a statement only reads: queries (under EXPLAIN [ANALYZE] too), SHOW
/// TABLES, DESCRIBE, and SET/RESET, whose settings last for the request's own
/// session only. Everything else (INSERT, DELETE, CREATE, DROP, ALTER, COPY, and
/// any kind added later) counts as a write.
pub fn reads_only(statement: &Statement) -> bool {
    use sqlparser::ast::Statement as S;
    match statement {
        Statement::Query { .. } | Statement::Summarize(_) => true,
        Statement::Other(s) => matches!(
            **s,
            S::ShowTables { .. } | S::ExplainTable { .. } | S::Set(_) | S::Reset(_)
        ),
        Statement::DropPartition { .. } | Statement::Copy(_) => false,
        // A request's session starts empty, so EXECUTE finds nothing a request
        // prepared before; counted as a write, whatever it would run.
        Statement::Prepare { statement, .. } => reads_only(statement),
        // Settings, verification and catalog reads.
        Statement::Deallocate { .. } | Statement::Pragma(_) => true,
        Statement::Execute { .. } => false,
    }
}

/// The status and `kind` that answer a failed statement, by who must act: the
/// client (400, 422), nobody (503: the server cancelled the query while stopping;
/// a query cancelled at its deadline is the server's 504, decided where the
/// deadline is known), or logdb's operator (500).
pub fn error_status(e: &Error) -> (u16, &'static str) {
    match e {
        Error::InvalidInput(_) => (400, "invalid_sql"),
        Error::NotFound(_) => (400, "not_found"),
        Error::ResourcesExhausted(_) => (422, "resources_exhausted"),
        Error::Cancelled => (503, "shutting_down"),
        Error::Locked { .. } => (503, "locked"),
        _ => (500, "server_error"),
    }
}

/// The position at the start of a logdb SQL error: "line 3, column 14: ...".
pub fn sql_position(message: &str) -> Option<(u64, u64)> {
    let rest = message.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(", column ")?;
    let (column, _) = rest.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str, accept: Option<&str>, body: &str) -> Result<QueryRequest, Refusal> {
        let target = Target::parse(url).unwrap();
        QueryRequest::parse(&target, accept, body.as_bytes(), Format::Json, 100)
    }

    #[test]
    fn the_sql_comes_from_the_url_or_the_body_once() {
        let q = parse("/query?sql=SELECT+1", None, "").unwrap();
        assert_eq!((q.sql.as_str(), q.format), ("SELECT 1", Format::Json));
        let q = parse("/?query=SELECT+1", None, "  \n").unwrap();
        assert_eq!(q.sql, "SELECT 1");
        assert_eq!(parse("/query", None, "SELECT 2").unwrap().sql, "SELECT 2");
        assert_eq!(
            parse("/query?sql=SELECT+1", None, "SELECT 2")
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(parse("/query", None, " ").unwrap_err().kind, "bad_request");
        let long = format!("SELECT {}", "1".repeat(100));
        assert_eq!(parse("/query", None, &long).unwrap_err().status, 413);
        let url = format!("/query?sql={}", long.replace(' ', "+"));
        assert_eq!(parse(&url, None, "").unwrap_err().status, 413);
        let target = Target::parse("/query").unwrap();
        let refused = QueryRequest::parse(&target, None, b"\xff\xfe", Format::Json, 100);
        assert_eq!(refused.unwrap_err().status, 400);
    }

    #[test]
    fn the_format_comes_from_the_sql_the_url_the_accept_header_or_the_default() {
        let format = |url: &str, accept: Option<&str>, body: &str| {
            parse(url, accept, body).map(|q| q.format)
        };
        assert_eq!(
            format(
                "/query?format=csv",
                Some("text/tab-separated-values"),
                "SELECT 1 FORMAT JSONEachRow"
            ),
            Ok(Format::Ndjson)
        );
        assert_eq!(
            format("/query?default_format=tsv&format=csv", None, "SELECT 1"),
            Ok(Format::Csv)
        );
        assert_eq!(
            format("/query?default_format=tsv", None, "SELECT 1"),
            Ok(Format::Tsv)
        );
        assert_eq!(
            format("/query", Some("text/csv"), "SELECT 1"),
            Ok(Format::Csv)
        );
        assert_eq!(format("/query", Some("*/*"), "SELECT 1"), Ok(Format::Json));
        assert_eq!(
            format("/query?format=box", None, "SELECT 1")
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn only_reading_statements_count_as_reads() {
        let read = |sql: &str| reads_only(&crate::sql::parse_statement(sql).unwrap());
        for sql in [
            "SELECT 1",
            "EXPLAIN ANALYZE SELECT 1",
            "SHOW TABLES",
            "DESCRIBE logs",
            "SET threads = 1",
        ] {
            assert!(read(sql), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "DELETE FROM t",
            "CREATE TABLE t (a BIGINT)",
            "CREATE TABLE t AS SELECT 1 AS a",
            "DROP TABLE t",
            "ALTER TABLE t DROP PARTITION '2024-01-01'",
            "COPY t TO 'x.csv'",
        ] {
            assert!(!read(sql), "{sql}");
        }
    }

    #[test]
    fn positions_come_from_the_message_prefix() {
        assert_eq!(
            sql_position("line 2, column 17: syntax error: x"),
            Some((2, 17))
        );
        assert_eq!(sql_position("table 'x' not found"), None);
        assert_eq!(sql_position("line x, column 1: y"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_message_gives_a_position_or_none(message in "\\PC*") {
            let _ = sql_position(&message);
        }

        /// Any URL, Accept header and body give a query or a 400/413 refusal.
        #[test]
        fn any_request_parses_or_is_refused(url in "\\PC*", accept in "\\PC*", body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(target) = Target::parse(&url) {
                match QueryRequest::parse(&target, Some(&accept), &body, Format::Tsv, 100) {
                    Ok(q) => proptest::prop_assert!(q.sql.len() <= 100),
                    Err(r) => proptest::prop_assert!(matches!(r.status, 400 | 413), "{r:?}"),
                }
            }
        }
    }
}
