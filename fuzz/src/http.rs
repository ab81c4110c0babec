//! The `http_request` target: arbitrary bytes read as an HTTP/1.1 request (request
//! line, headers, body), turned into a query request by the library's
//! `logdb::http` as `logdb serve` does, and the statement run against the fuzz
//! database ([`fuzz_db`]) with a tiny memory limit, as a read-only server runs it.
//!
//! tiny_http reads the request line, the headers and the body in the server; here a
//! lenient splitter does ([`split_request`]), so that every input reaches the
//! library.
//!
//! Checked for every input:
//! - nothing panics;
//! - a URL that decodes re-encodes to the same path and parameters;
//! - a refused request is a 400 or 413 with a message;
//! - an accepted one has at most `MAX_REQUEST_BYTES` of SQL;
//! - no failure of a statement is answered with 500 (an internal error, an I/O
//!   error of the in-memory database): parse and plan errors are 400 with a
//!   position, a query over the memory limit is 422;
//! - a query stops within the fuzzer's timeout once its cancel flag is raised at
//!   [`DEADLINE`], as the server's `--timeout-ms` raises it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use logdb::http::{error_status, reads_only, Format, QueryRequest, Target};
use logdb::sql::{parse_statement, Session};

use crate::sql::{fuzz_db, has_position};

/// The server's `--max-request-bytes`, small so that 413 is reachable.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// A query's memory: 1 MiB, as `--memory-limit 1MB`, so that hash tables, sorts and
/// results run into the limit.
const MEMORY_LIMIT: usize = 1 << 20;

/// When a running query's cancel flag is raised.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// A request as the server's HTTP library hands it over.
#[derive(Debug)]
pub struct RawRequest<'a> {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl RawRequest<'_> {
    /// The value of the first header `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `data` into a request line (`METHOD URL [VERSION]`), header lines
/// (`Name: value`, until an empty line) and the body (the rest). Lines end at `\n`
/// with an optional `\r`; text that is not UTF-8 is read lossily.
pub fn split_request(data: &[u8]) -> RawRequest<'_> {
    let mut lines = Vec::new();
    let mut rest = data;
    loop {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            lines.push(rest);
            rest = &[];
            break;
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && !lines.is_empty() {
            break;
        }
        lines.push(line);
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let first = lines.first().map_or_else(String::new, |l| text(l));
    let mut words = first.splitn(3, ' ');
    let method = words.next().unwrap_or("").to_string();
    let url = words.next().unwrap_or("").to_string();
    let headers = lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let l = text(l);
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    RawRequest {
        method,
        url,
        headers,
        body: rest,
    }
}

/// Percent-encodes every byte but the unreserved ones of RFC 3986.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The checks of the `http_request` target (see the module docs).
pub fn check_http_request(data: &[u8]) {
    let raw = split_request(data);
    let target = match Target::parse(&raw.url) {
        Ok(t) => t,
        Err(m) => {
            assert!(!m.is_empty());
            return;
        }
    };
    let query: Vec<String> = target
        .params
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect();
    let again = Target::parse(&format!("{}?{}", encode(&target.path), query.join("&")))
        .expect("an encoded target decodes");
    assert_eq!(again, target, "{:?} does not re-encode", raw.url);

    // Which requests are queries, as the server routes them.
    let asks_query = target.param(&["query", "sql"]).is_some();
    let fallback = match (target.path.as_str(), raw.method.as_str()) {
        ("/query", "GET" | "POST") => Format::Json,
        ("/", "POST") => Format::Tsv,
        ("/", "GET") if asks_query => Format::Tsv,
        _ => return,
    };
    let body = match raw.method.as_str() {
        // The server reads one byte past the limit, then stops.
        "POST" => &raw.body[..raw.body.len().min(MAX_REQUEST_BYTES + 1)],
        _ => &[],
    };
    let request = QueryRequest::parse(
        &target,
        raw.header("Accept"),
        body,
        fallback,
        MAX_REQUEST_BYTES,
    );
    let query = match request {
        Ok(q) => q,
        Err(r) => {
            assert!(matches!(r.status, 400 | 413), "{r:?}");
            assert!(!r.message.is_empty());
            return;
        }
    };
    assert!(query.sql.len() <= MAX_REQUEST_BYTES);

    let statement = match parse_statement(&query.sql) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(error_status(&e).0, 400, "{:?}: {e:?}", query.sql);
            assert!(has_position(&e.to_string()), "{:?}: {e}", query.sql);
            return;
        }
    };
    if !reads_only(&statement) {
        // 403 on a read-only server; a writable one is not fuzzed here (it would
        // change the shared database under later inputs).
        return;
    }
    let result = run(&query.sql);
    if let Err(e) = &result {
        let (status, kind) = error_status(e);
        assert_ne!(status, 500, "{kind} for {:?}: {e:?}", query.sql);
    }
    if let Ok(r) = &result {
        let _ = r.text_rows();
    }
}

/// Runs `sql` in a fresh session of the fuzz database as the server does: files
/// neither read nor written, a tiny memory limit, and a cancel flag raised at
/// [`DEADLINE`].
fn run(sql: &str) -> logdb::Result<logdb::QueryResult> {
    let mut session = Session::new(fuzz_db().clone());
    let cancel = Arc::new(AtomicBool::new(false));
    let o = session.options_mut();
    o.threads = 1;
    o.memory_limit = MEMORY_LIMIT;
    o.allow_file_read = false;
    o.allow_file_write = false;
    o.cancel = Some(cancel.clone());
    let watchdog = watchdog();
    watchdog.set(Some((Instant::now() + DEADLINE, cancel)));
    let result = session.execute(sql);
    watchdog.set(None);
    result
}

/// The cancel flag of the statement running now and when to raise it, watched by
/// one thread for the whole process. (A thread per input would be reported as a
/// leak: the memory its thread-locals hold is freed after it is joined.)
struct Watchdog {
    running: Mutex<Option<(Instant, Arc<AtomicBool>)>>,
    changed: Condvar,
}

impl Watchdog {
    fn set(&self, running: Option<(Instant, Arc<AtomicBool>)>) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = running;
        self.changed.notify_one();
    }

    fn run(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let left = running
                .as_ref()
                .map(|(at, _)| at.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                if let Some((_, flag)) = running.take() {
                    flag.store(true, Ordering::Relaxed);
                }
                continue;
            }
            running = match left {
                None => self
                    .changed
                    .wait(running)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(left) => {
                    self.changed
                        .wait_timeout(running, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            running: Mutex::new(None),
            changed: Condvar::new(),
        }));
        std::thread::spawn(move || watchdog.run());
        watchdog
    })
}
