//! `/query`: one SQL statement per request, run under the server's limits (a slot
//! among `--max-queries`, `--timeout-ms`, the per-query memory limit) and answered
//! as JSON, NDJSON, CSV, TSV or an Arrow IPC stream.

use std::io::{self, Write};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logdb::exec::stack::on_query_stack;
use logdb::exec::Progress;
use logdb::sql::Statement;
use logdb::{Error, QueryResult};
use serde_json::json;
use tiny_http::{Method, Request};

use super::http::{read_body, Reply, Target};
use super::limits::Slot;
use super::State;
use crate::shell::render::{self, Layout, Mode};
use crate::shell::split::strip_format;

/// The formats an HTTP client can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"meta": [...], "data": [...], "rows": n, "statistics": {...}}`, as
    /// ClickHouse's JSON format.
    Json,
    /// One JSON object per row and line.
    Ndjson,
    /// RFC 4180 with a header line.
    Csv,
    /// Tab-separated with a header line.
    Tsv,
    /// An Arrow IPC stream (`application/vnd.apache.arrow.stream`).
    Arrow,
}

impl Format {
    /// A format by name; ClickHouse's names (`JSONEachRow`, `CSVWithNames`,
    /// `TabSeparated`, ...) as the shell's output modes accept them.
    fn from_name(name: &str) -> Result<Format, String> {
        match Mode::parse(name) {
            Ok(Mode::Json) => Ok(Format::Json),
            Ok(Mode::Jsonl) => Ok(Format::Ndjson),
            Ok(Mode::Csv) => Ok(Format::Csv),
            Ok(Mode::Tsv) => Ok(Format::Tsv),
            Ok(Mode::Arrow) => Ok(Format::Arrow),
            _ => Err(format!(
                "unknown format '{name}'; over HTTP: json, ndjson (jsonl, JSONEachRow), \
                 csv (CSVWithNames), tsv (TabSeparated) or arrow (ArrowStream)"
            )),
        }
    }

    /// The first media type of an Accept header that names a format.
    fn from_accept(accept: &str) -> Option<Format> {
        accept.split(',').find_map(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            match media.to_ascii_lowercase().as_str() {
                "application/json" => Some(Format::Json),
                "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                    Some(Format::Ndjson)
                }
                "text/csv" => Some(Format::Csv),
                "text/tab-separated-values" => Some(Format::Tsv),
                "application/vnd.apache.arrow.stream" => Some(Format::Arrow),
                _ => None,
            }
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Ndjson => "application/x-ndjson; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Tsv => "text/tab-separated-values; charset=utf-8",
            Format::Arrow => "application/vnd.apache.arrow.stream",
        }
    }

    fn mode(self) -> Mode {
        match self {
            Format::Json => Mode::Json,
            Format::Ndjson => Mode::Jsonl,
            Format::Csv => Mode::Csv,
            Format::Tsv => Mode::Tsv,
            Format::Arrow => Mode::Arrow,
        }
    }
}

/// Answers a query request. `fallback` is the format when the request names none
/// (JSON at `/query`, TSV at `/` as ClickHouse does).
pub fn answer(state: &State, request: &mut Request, target: &Target, fallback: Format) -> Reply {
    run(state, request, target, fallback).unwrap_or_else(|reply| reply)
}

fn bad_request(message: &str) -> Reply {
    Reply::error(400, "bad_request", message)
}

fn run(
    state: &State,
    request: &mut Request,
    target: &Target,
    fallback: Format,
) -> Result<Reply, Reply> {
    let body = match request.method() {
        Method::Post => read_body(request, state.limits.max_request_bytes)?,
        _ => String::new(),
    };
    let text = sql_text(target, &body, state.limits.max_request_bytes)?;
    let (sql, in_sql) = strip_format(text);
    let format = choose_format(request, target, in_sql, fallback)?;

    let sql_owned = sql.to_string();
    let reads_only = on_query_stack(sql.len(), move || {
        logdb::sql::parse_statement(&sql_owned).map(|s| reads_only(&s))
    })
    .map_err(|e| error_reply(&e, state))?;
    if !reads_only && !state.allow_write {
        return Err(Reply::error(
            403,
            "read_only",
            "this server is read-only: only queries, EXPLAIN, SHOW TABLES, DESCRIBE and \
             SET run here (start it with --allow-write to allow changes)",
        ));
    }

    let Some(slot) = state.slots.acquire(state.limits.queue_wait) else {
        return Err(Reply::error(
            429,
            "too_many_queries",
            &format!(
                "{} queries are running, the limit (--max-queries); try again shortly",
                state.slots.in_use()
            ),
        )
        .with_header("Retry-After", "1"));
    };
    let progress = Arc::new(Progress::default());
    let notices = logdb::exec::Notices::default();
    let (result, elapsed) = execute(state, sql, slot, &progress, &notices)?;
    render_reply(&result, format, elapsed, &progress, &notices.take(), state)
}

/// The SQL of a request: from the URL (`sql=` or ClickHouse's `query=`) or the body,
/// not both, within `limit` bytes.
fn sql_text<'a>(target: &'a Target, body: &'a str, limit: usize) -> Result<&'a str, Reply> {
    let text = match (target.param(&["sql", "query"]), body.trim().is_empty()) {
        (Some(_), false) => {
            return Err(bad_request(
                "the SQL is both in the URL (sql= or query=) and in the body; send it once",
            ))
        }
        (Some(sql), true) => sql,
        (None, false) => body,
        (None, true) => {
            return Err(bad_request(
                "no SQL: POST it as the request body or pass it as ?sql= (or ?query=)",
            ))
        }
    };
    if text.len() > limit {
        return Err(Reply::error(
            413,
            "request_too_large",
            &format!(
                "the SQL has {} bytes; the limit is {limit} (--max-request-bytes)",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// The answer's format: a trailing `FORMAT name` in the SQL, else `?format=`, else
/// ClickHouse's `?default_format=`, else the Accept header, else `fallback`.
fn choose_format(
    request: &Request,
    target: &Target,
    in_sql: Option<&str>,
    fallback: Format,
) -> Result<Format, Reply> {
    let named = in_sql
        .or(target.param(&["format"]))
        .or(target.param(&["default_format"]));
    Ok(match named {
        Some(name) => Format::from_name(name).map_err(|m| bad_request(&m))?,
        None => super::http::header(request, "Accept")
            .and_then(Format::from_accept)
            .unwrap_or(fallback),
    })
}

/// How long past its deadline a cancelled query may take to stop before the
/// client is answered without it.
const CANCEL_GRACE: Duration = Duration::from_millis(250);

/// Runs `sql` on a thread of its own that holds `slot`, and waits for it until the
/// deadline. A query that has not stopped shortly after its cancel flag was raised
/// (an operator that checks the flag rarely) gets a 504 all the same; its thread
/// finishes in the background and only then frees the slot, so such queries still
/// count against `--max-queries`.
fn execute(
    state: &State,
    sql: &str,
    slot: Slot,
    progress: &Arc<Progress>,
    notices: &logdb::exec::Notices,
) -> Result<(QueryResult, Duration), Reply> {
    let watched = state.watchdog.watch(state.limits.timeout);
    let mut session = state.session.clone();
    session.options_mut().cancel = Some(watched.flag.clone());
    session.options_mut().progress = Some(progress.clone());
    // Notices of this request only (clones of the options share them).
    session.options_mut().notices = notices.clone();
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    let sql = sql.to_string();
    std::thread::Builder::new()
        .name("logdb-query".into())
        .stack_size(super::WORKER_STACK)
        .spawn(move || {
            let start = Instant::now();
            let result = session.execute(&sql);
            let elapsed = start.elapsed();
            // Freed before the answer goes out, so the client's next query finds it.
            drop(slot);
            // The receiver is gone when the request was answered without waiting.
            let _ = send.send((result, elapsed));
        })
        .map_err(|e| {
            Reply::error(
                503,
                "server_busy",
                &format!("cannot start a query thread: {e}"),
            )
        })?;
    let wait = watched.deadline().saturating_duration_since(Instant::now()) + CANCEL_GRACE;
    let timeout = || {
        Reply::error(
            504,
            "timeout",
            &format!(
                "the query ran longer than {} ms (--timeout-ms) and was cancelled",
                state.limits.timeout.as_millis()
            ),
        )
    };
    match receive.recv_timeout(wait) {
        Ok((Err(Error::Cancelled), _)) if watched.timed_out() => Err(timeout()),
        Ok((result, elapsed)) => result
            .map(|r| (r, elapsed))
            .map_err(|e| error_reply(&e, state)),
        Err(RecvTimeoutError::Timeout) => Err(timeout()),
        Err(RecvTimeoutError::Disconnected) => Err(Reply::error(
            500,
            "server_error",
            "the query stopped without an answer (a bug in logdb; the server goes on)",
        )),
    }
}

/// Whether a statement only reads: queries (under EXPLAIN [ANALYZE] too), SHOW
/// TABLES, DESCRIBE, and SET/RESET, whose settings last for the request's own
/// session only. Everything else (INSERT, DELETE, CREATE, DROP, ALTER, and any
/// kind added later) counts as a write.
fn reads_only(statement: &Statement) -> bool {
    use sqlparser::ast::Statement as S;
    match statement {
        Statement::Query { .. } => true,
        Statement::Other(s) => matches!(
            **s,
            S::ShowTables { .. } | S::ExplainTable { .. } | S::Set(_) | S::Reset(_)
        ),
        Statement::DropPartition { .. } | Statement::Copy(_) => false,
    }
}

/// The reply for a failed statement, its status by who must act.
fn error_reply(e: &Error, state: &State) -> Reply {
    let message = e.to_string();
    match e {
        Error::InvalidInput(_) => Reply::error(400, "invalid_sql", &message),
        Error::NotFound(_) => Reply::error(400, "not_found", &message),
        Error::ResourcesExhausted(_) => Reply::error(
            422,
            "resources_exhausted",
            &format!(
                "{message} (the per-query memory limit is {}; --memory-limit)",
                logdb::value::format_bytes(state.session.options().memory_limit as u64)
            ),
        ),
        Error::Cancelled => Reply::error(
            503,
            "shutting_down",
            "the server is stopping; the query was cancelled",
        ),
        Error::Locked { .. } => Reply::error(503, "locked", &message),
        _ => Reply::error(500, "server_error", &message),
    }
}

/// A buffer that refuses to grow past `limit` bytes.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "result too large",
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render_reply(
    result: &QueryResult,
    format: Format,
    elapsed: Duration,
    progress: &Progress,
    notices: &[String],
    state: &State,
) -> Result<Reply, Reply> {
    use std::sync::atomic::Ordering::Relaxed;
    let limit = state.limits.max_result_bytes;
    let mut statistics = json!({
        "elapsed": elapsed.as_secs_f64(),
        "rows_read": progress.rows_scanned.load(Relaxed),
        "bytes_read": progress.bytes_read.load(Relaxed),
    });
    if !notices.is_empty() {
        // Rejected lines of a file reader: the query succeeded, with these.
        statistics["notices"] = json!(notices);
    }
    let mut out = Capped {
        buf: Vec::new(),
        limit,
    };
    let written = write_result(&mut out, result, format, &statistics);
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(Reply::error(
                422,
                "result_too_large",
                &format!(
                    "the result ({} rows) is larger than {limit} bytes (--max-result-bytes); \
                     add a LIMIT or aggregate",
                    result.num_rows()
                ),
            ))
        }
        Err(e) => return Err(Reply::error(500, "server_error", &e.to_string())),
    }
    let mut summary = statistics;
    summary["rows"] = json!(result.num_rows());
    Ok(Reply::new(200, format.content_type(), out.buf)
        .with_header("X-Logdb-Summary", summary.to_string()))
}

fn write_result(
    out: &mut Capped,
    result: &QueryResult,
    format: Format,
    statistics: &serde_json::Value,
) -> io::Result<()> {
    let layout = Layout {
        max_rows: None,
        width: None,
    };
    if format != Format::Json {
        return render::render(out, result, format.mode(), layout);
    }
    let meta: Vec<serde_json::Value> = result
        .columns
        .iter()
        .map(|(name, t)| json!({ "name": name, "type": t.to_string() }))
        .collect();
    write!(
        out,
        "{{\"meta\":{},\n\"data\":",
        serde_json::Value::from(meta)
    )?;
    render::render(out, result, Mode::Json, layout)?;
    writeln!(
        out,
        ",\"rows\":{},\n\"statistics\":{statistics}}}",
        result.num_rows()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_and_accept_header() {
        assert_eq!(Format::from_name("JSONEachRow"), Ok(Format::Ndjson));
        assert_eq!(Format::from_name("CSVWithNames"), Ok(Format::Csv));
        assert_eq!(Format::from_name("TabSeparated"), Ok(Format::Tsv));
        assert!(Format::from_name("box").is_err());
        assert_eq!(
            Format::from_accept("text/html;q=0.9, text/csv;q=0.8"),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_accept("*/*"), None);
        assert_eq!(Format::from_name("ArrowStream"), Ok(Format::Arrow));
        assert_eq!(
            Format::from_accept("application/vnd.apache.arrow.stream"),
            Some(Format::Arrow)
        );
        assert_eq!(
            Format::from_accept("application/x-ndjson"),
            Some(Format::Ndjson)
        );
    }

    #[test]
    fn only_reading_statements_count_as_reads() {
        let read = |sql: &str| reads_only(&logdb::sql::parse_statement(sql).unwrap());
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
        ] {
            assert!(!read(sql), "{sql}");
        }
    }
}
