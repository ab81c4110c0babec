//! `/query`: one SQL statement per request, run under the server's limits (a slot
//! among `--max-queries`, `--timeout-ms`, the per-query memory limit) and answered
//! as JSON, NDJSON, CSV, TSV or an Arrow IPC stream.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logdb::exec::stack::on_query_stack;
use logdb::exec::Progress;
use logdb::http::{error_status, reads_only, Format, QueryRequest, Target};
use logdb::{Error, QueryResult};
use serde_json::json;
use tiny_http::{Method, Request};

use super::http::{header, read_body, Reply};
use super::limits::{Slot, Watched};
use super::peer::Connection;
use super::State;
use crate::shell::render::{self, Layout, Mode};

/// The shell's output mode that writes `format`.
fn mode(format: Format) -> Mode {
    match format {
        Format::Json => Mode::Json,
        Format::Ndjson => Mode::Jsonl,
        Format::Csv => Mode::Csv,
        Format::Tsv => Mode::Tsv,
        Format::Arrow => Mode::Arrow,
    }
}

/// Answers a query request. `fallback` is the format when the request names none
/// (JSON at `/query`, TSV at `/` as ClickHouse does).
pub fn answer(state: &State, request: &mut Request, target: &Target, fallback: Format) -> Reply {
    run(state, request, target, fallback).unwrap_or_else(|reply| reply)
}

fn run(
    state: &State,
    request: &mut Request,
    target: &Target,
    fallback: Format,
) -> Result<Reply, Reply> {
    let body = match request.method() {
        Method::Post => read_body(request, state.limits.max_request_bytes)?,
        _ => Vec::new(),
    };
    let accept = header(request, "Accept");
    let query = QueryRequest::parse(
        target,
        accept,
        &body,
        fallback,
        state.limits.max_request_bytes,
    )?;
    let sql = query.sql.clone();
    // The statement is dropped on the query stack the parser used too.
    let reads = on_query_stack(sql.len(), move || {
        logdb::sql::parse_statement(&sql).map(|s| reads_only(&s))
    })
    .map_err(|e| error_reply(&e, state))?;
    if !reads && !state.allow_write {
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
    let client = request.remote_addr().copied();
    let (result, elapsed) = execute(state, &query.sql, client, slot, &progress, &notices)?;
    render_reply(
        &result,
        query.format,
        elapsed,
        &progress,
        &notices.take(),
        state,
    )
}

/// How long past its deadline a cancelled query may take to stop before the
/// client is answered without it.
const CANCEL_GRACE: Duration = Duration::from_millis(250);

/// How often a running query's client is checked (spec/http.md).
const CLIENT_CHECK: Duration = Duration::from_millis(50);

/// Runs `sql` on a thread of its own that holds `slot`, and waits for it until the
/// deadline, checking every [`CLIENT_CHECK`] whether `client` is still connected.
/// A query whose deadline passed or whose client closed the connection has its
/// cancel flag raised; one that has not stopped [`CANCEL_GRACE`] later (an operator
/// that checks the flag rarely) is answered all the same, and its thread finishes
/// in the background and only then frees the slot, so such queries still count
/// against `--max-queries`.
fn execute(
    state: &State,
    sql: &str,
    client: Option<SocketAddr>,
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
    let mut watch = ClientWatch::new(client, state.port);
    let mut give_up = watched.deadline() + CANCEL_GRACE;
    loop {
        let wait = give_up
            .saturating_duration_since(Instant::now())
            .min(CLIENT_CHECK);
        match receive.recv_timeout(wait) {
            Ok(_) | Err(RecvTimeoutError::Timeout) if watch.abandoned => {
                return Err(client_closed())
            }
            Ok((Err(Error::Cancelled), _)) if watched.timed_out() => return Err(timeout(state)),
            Ok((result, elapsed)) => {
                return result
                    .map(|r| (r, elapsed))
                    .map_err(|e| error_reply(&e, state))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Reply::error(
                    500,
                    "server_error",
                    "the query stopped without an answer (a bug in logdb; the server goes on)",
                ))
            }
            Err(RecvTimeoutError::Timeout) if Instant::now() >= give_up => {
                return Err(timeout(state))
            }
            Err(RecvTimeoutError::Timeout) => {
                if watch.client_gone() {
                    cancel_abandoned(state, &watched);
                    watch.abandoned = true;
                    give_up = Instant::now() + CANCEL_GRACE;
                }
            }
        }
    }
}

/// The client's connection, looked up at the first check (a query that ends
/// within [`CLIENT_CHECK`] never pays for the lookup).
struct ClientWatch {
    client: Option<SocketAddr>,
    port: u16,
    connection: Option<Option<Connection>>,
    /// The client went away and the query was cancelled.
    abandoned: bool,
}

impl ClientWatch {
    fn new(client: Option<SocketAddr>, port: u16) -> ClientWatch {
        ClientWatch {
            client,
            port,
            connection: None,
            abandoned: false,
        }
    }

    fn client_gone(&mut self) -> bool {
        let (client, port) = (self.client, self.port);
        self.connection
            .get_or_insert_with(|| client.and_then(|c| Connection::find(c, port)))
            .as_ref()
            .is_some_and(Connection::closed)
    }
}

/// Raises the cancel flag of a query whose client went away, and counts it.
fn cancel_abandoned(state: &State, watched: &Watched<'_>) {
    watched
        .flag
        .store(true, std::sync::atomic::Ordering::Relaxed);
    state
        .queries_abandoned
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The answer to a client that is gone: nobody reads it (ClientClosedRequest, as
/// nginx logs it).
fn client_closed() -> Reply {
    Reply::error(
        499,
        "client_closed",
        "the client closed the connection; the query was cancelled",
    )
}

fn timeout(state: &State) -> Reply {
    Reply::error(
        504,
        "timeout",
        &format!(
            "the query ran longer than {} ms (--timeout-ms) and was cancelled",
            state.limits.timeout.as_millis()
        ),
    )
}

/// The reply for a failed statement, its status by who must act.
fn error_reply(e: &Error, state: &State) -> Reply {
    let message = e.to_string();
    match (e, error_status(e)) {
        (Error::ResourcesExhausted(_), (status, kind)) => Reply::error(
            status,
            kind,
            &format!(
                "{message} (the per-query memory limit is {}; --memory-limit)",
                logdb::value::format_bytes(state.session.options().memory_limit as u64)
            ),
        ),
        (Error::Cancelled, (status, kind)) => Reply::error(
            status,
            kind,
            "the server is stopping; the query was cancelled",
        ),
        (_, (status, kind)) => Reply::error(status, kind, &message),
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
        return render::render(out, result, mode(format), layout);
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
