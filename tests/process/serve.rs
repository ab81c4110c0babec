//! `logdb serve` over real sockets: every output format, every error class with its
//! status, the token, read-only refusal, the limits (body, result, memory, time,
//! concurrency), hostile requests, a burst of new connections, 50 clients querying
//! while a followed file grows, and the dashboard in a headless browser. The client
//! is a few lines over `TcpStream`, one request per connection; the browser is
//! driven by `devtools`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::devtools::{self, Browser};
use crate::follow::{append, lines, signal};

/// A running `logdb serve` on a free loopback port.
struct Server {
    child: Option<Child>,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts the status and a JSON error of `kind`; returns the error object.
    fn error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        let v = self.json();
        assert_eq!(v["kind"], kind, "{}", self.body);
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()));
        v
    }
}

fn serve(db: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .arg("serve")
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let port = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in the first line {first:?}"));
    Server {
        child: Some(child),
        stdout,
        port,
    }
}

impl Server {
    /// Sends raw bytes and reads the answer up to the server's close.
    fn raw(&self, request: &[u8]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(request).unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        parse_reply(&bytes)
    }

    fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.raw(&[head.as_bytes(), body.as_bytes()].concat())
    }

    fn get(&self, target: &str) -> Reply {
        self.request("GET", target, &[], "")
    }

    fn post(&self, target: &str, sql: &str) -> Reply {
        self.request("POST", target, &[], sql)
    }

    /// SIGTERM, then the exit status and the rest of stdout.
    fn stop(mut self) -> (Output, String) {
        let child = self.child.take().unwrap();
        signal(&child, "-TERM");
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (child.wait_with_output().unwrap(), rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn parse_reply(bytes: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {text:?}"));
    let mut head_lines = head.lines();
    let status = head_lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = head_lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Percent-encodes a query-string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `count(*)` and `sum(bytes)` of the logs table. The test lines have `bytes = i`
/// for line i, so a committed prefix of n lines sums to n(n-1)/2.
const COUNT_SQL: &str = "SELECT count(*) AS n, sum(bytes) AS b FROM logs";

fn count_and_sum(server: &Server) -> Option<(u64, u64)> {
    let r = server.post("/query", COUNT_SQL);
    if r.status != 200 {
        return None;
    }
    let row = &r.json()["data"][0];
    Some((row["n"].as_u64()?, row["b"].as_u64().unwrap_or(0)))
}

fn wait_count(server: &Server, want: u64) {
    let start = Instant::now();
    loop {
        let n = count_and_sum(server).map_or(0, |(n, _)| n);
        if n == want {
            return;
        }
        assert!(n < want, "{n} rows, more than the {want} written");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still {n} rows of {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server following `access.log` in `dir`, which starts with `n` test lines, once
/// they are all committed; `extra` are more arguments. Returns the log's path too.
fn follow_lines(dir: &Path, n: usize, extra: &[&str]) -> (Server, PathBuf) {
    let (db, log) = (dir.join("db"), dir.join("access.log"));
    append(&log, &lines(0, n));
    let mut args = vec!["--follow", log.to_str().unwrap(), "-f", "combined"];
    args.extend_from_slice(extra);
    let server = serve(&db, &args);
    wait_count(&server, n as u64);
    (server, log)
}

#[test]
fn serve_answers_in_every_format_and_clickhouse_style() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = follow_lines(dir.path(), 300, &[]);

    // JSON: names and types, rows, statistics.
    let r = server.get(&format!("/query?sql={}", encode(COUNT_SQL)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    let v = r.json();
    assert_eq!(
        v["meta"][0],
        serde_json::json!({"name": "n", "type": "BIGINT"})
    );
    assert_eq!(v["meta"][1]["name"], "b");
    assert_eq!(v["data"][0]["n"], 300);
    assert_eq!(v["data"][0]["b"], 300 * 299 / 2);
    assert_eq!(v["rows"], 1);
    assert!(v["statistics"]["elapsed"].as_f64().unwrap() >= 0.0);
    assert!(v["statistics"]["rows_read"].as_u64().unwrap() <= 300);
    let summary: Value = serde_json::from_str(r.header("X-Logdb-Summary").unwrap()).unwrap();
    assert_eq!(summary["rows"], 1);

    // CSV with a header, quoting as RFC 4180.
    let by_uri = "SELECT uri, count(*) AS n FROM logs GROUP BY uri ORDER BY uri";
    let r = server.post("/query?format=csv", by_uri);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("Content-Type").unwrap().starts_with("text/csv"));
    let csv: Vec<&str> = r.body.lines().collect();
    assert_eq!(csv[0], "uri,n");
    assert_eq!(csv.len(), 1 + 17);
    assert_eq!(csv[1], "/p/0,18");
    let r = server.post(
        "/query?format=CSVWithNames",
        "SELECT 'a,\"b' AS s, NULL AS z",
    );
    assert_eq!(r.body, "s,z\n\"a,\"\"b\",\n");

    // An Arrow IPC stream, by name and by Accept: the schema names the columns and
    // the stream ends with the end-of-stream marker.
    for (target, headers) in [
        ("/query?format=arrow", vec![]),
        (
            "/query",
            vec![("Accept", "application/vnd.apache.arrow.stream")],
        ),
    ] {
        let r = server.request("POST", target, &headers, by_uri);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.header("Content-Type"),
            Some("application/vnd.apache.arrow.stream")
        );
        assert!(r.body.contains("uri"), "{:?}", r.body);
    }

    // TSV by the Accept header; NDJSON by name, by Accept and by a FORMAT clause.
    let r = server.request(
        "POST",
        "/query",
        &[("Accept", "text/tab-separated-values")],
        by_uri,
    );
    assert_eq!(r.body.lines().nth(1), Some("/p/0\t18"));
    for (target, headers, sql) in [
        ("/query?format=ndjson", vec![], by_uri.to_string()),
        (
            "/query",
            vec![("Accept", "application/x-ndjson")],
            by_uri.to_string(),
        ),
        ("/query", vec![], format!("{by_uri} FORMAT JSONEachRow")),
    ] {
        let r = server.request("POST", target, &headers, &sql);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.header("Content-Type").unwrap().contains("ndjson"));
        let rows: Vec<Value> = r
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 17);
        assert_eq!(rows[0], serde_json::json!({"uri": "/p/0", "n": 18}));
    }

    // ClickHouse: POST / or GET /?query=, TSV unless default_format says otherwise.
    assert_eq!(
        server.post("/", "SELECT 1 AS x, 'y' AS s").body,
        "x\ts\n1\ty\n"
    );
    let r = server.get(&format!(
        "/?query={}&default_format=JSON",
        encode("SELECT 7 AS x")
    ));
    assert_eq!(r.json()["data"][0]["x"], 7);

    // Tables and health.
    let t = server.get("/tables").json();
    let logs = &t["tables"][0];
    assert_eq!(logs["name"], "logs");
    assert_eq!(logs["rows"], 300);
    assert!(logs["bytes"].as_u64().unwrap() > 0);
    assert_eq!(logs["time_column"], "ts");
    assert!(logs["columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "uri" && c["type"] == "VARCHAR"));
    assert!(logs["oldest"]
        .as_str()
        .unwrap()
        .starts_with("2024-05-01 10:00:00"));
    assert!(logs["newest"]
        .as_str()
        .unwrap()
        .starts_with("2024-05-01 10:04:59"));
    let h = server.get("/health").json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["following"][0]["rows"], 300);
    assert_eq!(h["following"][0]["lines"], 300);

    let (out, rest) = server.stop();
    assert!(out.status.success());
    assert!(rest.contains("rows stored:    300"), "{rest}");
}

#[test]
fn serve_errors_have_a_status_a_kind_and_a_position() {
    let dir = tempfile::tempdir().unwrap();
    // All lines have status 200: a self-join on status has ROWS^2 pairs, which
    // takes seconds (and the join does not stop at its cancel flag).
    const ROWS: usize = 10_000;
    let (server, _) = follow_lines(
        dir.path(),
        ROWS,
        &[
            "--max-request-bytes",
            "2000",
            "--max-result-bytes",
            "4000",
            "--timeout-ms",
            "100",
        ],
    );

    let v = server
        .post("/query", "SELECT 1,\n  count(* FROM logs")
        .error(400, "invalid_sql");
    assert_eq!(
        (v["line"].as_u64(), v["column"].as_u64()),
        (Some(2), Some(11))
    );
    let v = server
        .post("/query", "SELECT nope FROM logs")
        .error(400, "invalid_sql");
    assert_eq!(
        (v["line"].as_u64(), v["column"].as_u64()),
        (Some(1), Some(8))
    );
    server
        .post("/query", "SELECT * FROM missing")
        .error(400, "invalid_sql");
    server
        .post("/query?format=box", "SELECT 1")
        .error(400, "bad_request");
    server.post("/query", "  ").error(400, "bad_request");
    server
        .post("/query?sql=SELECT+1", "SELECT 2")
        .error(400, "bad_request");
    server.get("/query?sql=%ZZ").error(400, "bad_request");
    let r = server
        .raw(b"POST /query HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n\xff\xfe");
    r.error(400, "bad_request");
    server.get("/nothing-here").error(404, "not_found");
    server
        .request("PUT", "/query", &[], "SELECT 1")
        .error(405, "method_not_allowed");

    // Limits: request size, result size, time.
    let long = format!("SELECT {}1", "1 + ".repeat(600));
    server.post("/query", &long).error(413, "request_too_large");
    let chunk = format!("{:x}\r\n{long}\r\n0\r\n\r\n", long.len());
    server
        .raw(format!("POST /query HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}").as_bytes())
        .error(413, "request_too_large");
    server
        .post("/query", "SELECT * FROM logs")
        .error(422, "result_too_large");
    let join = "SELECT count(*) FROM logs a JOIN logs b ON a.status = b.status";
    let start = Instant::now();
    server.post("/query", join).error(504, "timeout");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    // Read-only: every kind of change is refused, and nothing changed.
    for sql in [
        "INSERT INTO logs (status) VALUES (500)",
        "DELETE FROM logs",
        "DROP TABLE logs",
        "CREATE TABLE t (a BIGINT)",
        "CREATE TABLE t AS SELECT 1 AS a",
        "ALTER TABLE logs DROP PARTITION '2024-05-01'",
    ] {
        server.post("/query", sql).error(403, "read_only");
    }
    assert_eq!(count_and_sum(&server).map(|c| c.0), Some(ROWS as u64));

    // A second, read-only server on the same database (no LOCK taken): a memory
    // limit, and one query slot that a running query holds.
    let other = serve(
        &dir.path().join("db"),
        &[
            "--memory-limit",
            "1MB",
            "--max-queries",
            "1",
            "--queue-ms",
            "0",
        ],
    );
    other
        .post("/query", "SELECT * FROM logs ORDER BY url")
        .error(422, "resources_exhausted");
    std::thread::scope(|s| {
        let slow = s.spawn(|| other.post("/query", join));
        let start = Instant::now();
        while other.get("/health").json()["queries_running"] != 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the join never started"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = other.post("/query", "SELECT 1");
        r.error(429, "too_many_queries");
        assert_eq!(r.header("Retry-After"), Some("1"));
        assert_eq!(slow.join().unwrap().status, 200);
    });
    assert_eq!(other.post("/query", "SELECT 1").status, 200);
}

#[test]
fn serve_token_and_listen_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");

    // Any address but loopback needs a token: refused before binding.
    let out = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["serve", db.to_str().unwrap(), "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires --token"));

    let server = serve(&db, &["--token", "s3cret", "--allow-write"]);
    // The dashboard's own files need no token and load nothing from elsewhere.
    for (path, kind) in [
        ("/", "text/html"),
        ("/dashboard.js", "text/javascript"),
        ("/dashboard.css", "text/css"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("Content-Type").unwrap().starts_with(kind),
            "{path}"
        );
        assert!(r
            .header("Content-Security-Policy")
            .unwrap()
            .contains("default-src 'self'"));
        for outside in [
            "src=\"http",
            "href=\"http",
            "url(",
            "import(",
            "fetch(\"http",
            "//cdn",
        ] {
            assert!(
                !r.body.contains(outside),
                "{path} loads from elsewhere: {outside}"
            );
        }
    }
    server.get("/?query=SELECT+1").error(401, "unauthorized");
    let r = server.post("/query", "SELECT 1");
    r.error(401, "unauthorized");
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Bearer"));
    server.get("/tables").error(401, "unauthorized");
    server.get("/health").error(401, "unauthorized");
    server
        .request(
            "POST",
            "/query",
            &[("Authorization", "Bearer wrong!")],
            "SELECT 1",
        )
        .error(401, "unauthorized");
    server
        .request(
            "POST",
            "/query",
            &[("Authorization", "Basic czNjcmV0")],
            "SELECT 1",
        )
        .error(401, "unauthorized");
    let auth = [("Authorization", "Bearer s3cret")];
    let ok = |sql: &str| {
        let r = server.request("POST", "/query", &auth, sql);
        assert_eq!(r.status, 200, "{sql}: {}", r.body);
        r
    };
    // --allow-write: DDL and DML run.
    ok("CREATE TABLE t (a BIGINT)");
    ok("INSERT INTO t VALUES (1), (2), (3)");
    assert_eq!(ok("SELECT sum(a) AS s FROM t").json()["data"][0]["s"], 6);
    ok("DELETE FROM t");
    assert_eq!(ok("SELECT count(*) AS n FROM t").json()["data"][0]["n"], 0);
}

#[test]
fn serve_survives_hostile_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = follow_lines(dir.path(), 50, &[]);

    // Broken request lines and headers: the connection gets an answer or closes.
    for raw in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /query?sql=SELECT+1 HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: \xff\xfe\r\n\r\n",
        b"POST /query HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
        b"POST /query HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
    }

    // SQL soup: user errors or answers, never a server error.
    let words = [
        "SELECT", "FROM", "logs", "WHERE", "GROUP", "BY", "ORDER", "(", ")", ",", "*", "count(*)",
        "uri", "status", "=", "'x'", "1", "-", "JOIN", "ON", "LIMIT", "AS", "/*", "'", "\"", ";",
        "\u{0}", "é", "NULL", "CASE", "WHEN", "END", "::", "IN",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..300 {
        let mut sql = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for i in 0..(seed % 12 + 1) {
            sql.push_str(words[((seed >> (i * 5)) % words.len() as u64) as usize]);
            sql.push(' ');
        }
        let r = server.post("/query", &sql);
        assert!(
            matches!(r.status, 200 | 400 | 403),
            "{sql:?}: {} {}",
            r.status,
            r.body
        );
    }
    assert_eq!(server.get("/health").json()["status"], "ok");
    assert_eq!(count_and_sum(&server), Some((50, 50 * 49 / 2)));
}

#[test]
fn serve_many_clients_while_a_followed_file_grows() {
    const CLIENTS: usize = 50;
    const QUERIES: usize = 100;
    const LINES: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let (server, log) = follow_lines(dir.path(), 100, &["--commit-ms", "50"]);

    let retried = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for from in (100..LINES).step_by(50) {
                append(&log, &lines(from, 50));
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    let mut last = 0;
                    let mut answered = 0;
                    while answered < QUERIES {
                        let r = server.post("/query", COUNT_SQL);
                        if r.status == 429 {
                            retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        assert_eq!(r.status, 200, "{}", r.body);
                        let row = &r.json()["data"][0];
                        let (n, b) = (row["n"].as_u64().unwrap(), row["b"].as_u64().unwrap());
                        // A committed prefix of the file: nothing half-visible.
                        assert_eq!(b, n * n.saturating_sub(1) / 2, "{n} rows");
                        assert!(n >= last, "went back from {last} to {n} rows");
                        assert!(n <= LINES as u64);
                        last = n;
                        answered += 1;
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for c in clients {
            c.join().unwrap();
        }
    });
    // Nothing lost: every line written is there once.
    wait_count(&server, LINES as u64);
    let h = server.get("/health").json();
    assert_eq!(h["following"][0]["rejected"], 0);
    // The clients' aggregations went through the aggregate cache.
    assert!(h["aggregate_cache_bytes"].as_u64().unwrap() > 0, "{h}");
    let (out, rest) = server.stop();
    assert!(out.status.success());
    assert!(rest.contains(&format!("rows stored:    {LINES}")), "{rest}");
    eprintln!(
        "{} answers, {} retried after 429",
        CLIENTS * QUERIES,
        retried.into_inner()
    );
}

/// The dashboard in one headless Chromium, driven over the DevTools protocol: it
/// draws the panels, applies a view from the URL, refreshes itself when lines are
/// appended to the followed file (no reload), and filters on a clicked URI.
#[test]
fn serve_dashboard_in_a_browser_shows_appended_lines() {
    if devtools::chromium().is_none() {
        eprintln!(
            "SKIPPED serve_dashboard_in_a_browser: no chromium on PATH (apt-get install chromium)"
        );
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (server, log) = follow_lines(dir.path(), 300, &["--commit-ms", "100"]);
    let mut browser = Browser::launch();
    let load = Duration::from_secs(30);

    // The requests tile shows n; `filtered(k)`: k panels' SQL has the uri = '/p/3' filter.
    let requests = |n: u64| {
        format!(
            "document.getElementById('tiles').innerHTML.includes(\
             '<div class=\"value\">{n}</div><div class=\"label\">requests</div>')"
        )
    };
    let filtered = |sql: usize| {
        format!(
            "document.querySelector('main').textContent.split(\"uri = '/p/3'\").length == {}",
            sql + 1
        )
    };
    let chip = "document.getElementById('filters').textContent == 'uri = /p/3 ×'";

    let url = format!("http://127.0.0.1:{}/", server.port);
    browser.navigate(&url);
    browser.wait_for(
        &format!(
            "{} && document.getElementById('uris').textContent.includes('/p/0') \
             && document.getElementById('uris').textContent\
                .includes('GROUP BY uri ORDER BY requests DESC LIMIT 10')",
            requests(300)
        ),
        load,
    );

    // A view in the URL: one URI, over everything; every panel is filtered.
    let view = r#"{"range":"all","filters":[{"column":"uri","value":"/p/3"}]}"#;
    browser.navigate(&format!("{url}#{}", encode(view)));
    browser.wait_for(
        &format!("{} && {} && {chip}", requests(18), filtered(6)),
        load,
    );

    // Lines appended to the followed file show on the same page by its own
    // refresh (every 2 s): the mark set before the append survives.
    browser.navigate(&url);
    browser.wait_for(&format!("{} && {}", requests(300), filtered(0)), load);
    browser.eval("window.unreloaded = true");
    let appended = Instant::now();
    append(&log, &lines(300, 200));
    browser.wait_for(
        &format!("window.unreloaded && {}", requests(500)),
        Duration::from_secs(10),
    );
    eprintln!(
        "500 requests shown {:?} after the append",
        appended.elapsed()
    );

    // A click on a URI in the top URIs panel filters every panel (/p/3 is line
    // i for i % 17 == 3: 30 of 500) and puts the filter in the URL.
    let clicked = browser.eval(
        "(() => { const cell = [...document.querySelectorAll('#uris td.click')]\
           .find((td) => td.textContent == '/p/3'); cell && cell.click(); return !!cell; })()",
    );
    assert_eq!(clicked, true, "no /p/3 in the top URIs panel");
    browser.wait_for(
        &format!(
            "window.unreloaded && {chip} && {} && {} \
             && decodeURIComponent(location.hash).includes('\"value\":\"/p/3\"')",
            requests(30),
            filtered(6)
        ),
        load,
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-dashboard.png");
    browser.screenshot(&shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("dashboard screenshot: {}", shot.display());
    eprintln!("the browser test took {:?}", started.elapsed());
}

#[test]
fn serve_reports_a_followed_file_that_fails_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.log");
    let server = serve(
        &dir.path().join("db"),
        &["--follow", missing.to_str().unwrap(), "-f", "combined"],
    );
    let start = Instant::now();
    let health = loop {
        let h = server.get("/health").json();
        if h["following"][0]["running"] == false {
            break h;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{h}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(health["status"], "degraded");
    assert!(health["following"][0]["error"]
        .as_str()
        .unwrap()
        .contains("missing.log"));
    assert_eq!(
        server.post("/query", "SELECT 1 AS x").json()["data"][0]["x"],
        1
    );
    let (out, rest) = server.stop();
    assert!(
        !out.status.success(),
        "a failed follow makes the exit status 1"
    );
    assert!(rest.contains("error:"), "{rest}");
}

#[test]
fn serve_follows_two_files_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    append(&a, &lines(0, 120));
    append(&b, &lines(120, 80));
    let server = serve(
        &dir.path().join("db"),
        &[
            "--follow",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "-f",
            "combined",
        ],
    );
    wait_count(&server, 200);
    append(&b, &lines(200, 30));
    append(&a, &lines(230, 20));
    wait_count(&server, 250);
    assert_eq!(count_and_sum(&server), Some((250, 250 * 249 / 2)));
    let h = server.get("/health").json();
    let rows: Vec<u64> = (0..2)
        .map(|i| h["following"][i]["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [140, 110]);
}

#[test]
fn serve_reads_server_files_only_with_allow_file_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("some.log");
    append(&log, &lines(0, 20));
    let sql = format!("SELECT count(*) AS n FROM read_log('{}')", log.display());
    let quoted = format!("SELECT count(*) AS n FROM '{}'", log.display());

    let db = dir.path().join("db");
    drop(logdb::Db::open(&db).unwrap());
    // Off by default: refused before the file is touched, with a clear message.
    let server = serve(&db, &[]);
    for q in [
        &sql,
        &quoted,
        &"SELECT * FROM read_csv('/etc/passwd')".to_string(),
    ] {
        let e = server.post("/query", q).error(400, "invalid_sql");
        let msg = e["error"].as_str().unwrap_or_default().to_string();
        assert!(
            msg.contains("reading files is disabled") && msg.contains("--allow-file-read"),
            "{msg}"
        );
    }
    drop(server);

    // --allow-file-read: the file is read; rejected lines come as notices.
    let server = serve(&db, &["--allow-file-read"]);
    let r = server.post("/query", &sql);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"][0]["n"], 20);
    assert!(
        r.json()["statistics"].get("notices").is_none(),
        "{}",
        r.body
    );
    append(&log, "not a log line\n");
    let r = server.post("/query", &sql);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"][0]["n"], 20);
    let notice = r.json()["statistics"]["notices"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        notice.starts_with("read_log: 1 of 21 lines rejected; first: ") && notice.contains(":21:"),
        "{}",
        r.body
    );
}

/// COPY writes files only with --allow-file-write (and, being a write, only
/// with --allow-write); COPY FROM reads one only with --allow-file-read.
#[test]
fn serve_copies_files_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    logdb::Db::open(&db)
        .unwrap()
        .query("CREATE TABLE t (i BIGINT)")
        .unwrap();
    let file = dir.path().join("out.csv");
    let copy = format!("COPY (SELECT 1 AS i) TO '{}'", file.display());
    let server = serve(&db, &[]);
    assert_eq!(server.post("/query", &copy).status, 403);
    drop(server);
    let server = serve(&db, &["--allow-write"]);
    let e = server.post("/query", &copy).error(400, "invalid_sql");
    let msg = e["error"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains("writing files is disabled") && msg.contains("--allow-file-write"),
        "{msg}"
    );
    let from = format!("COPY t FROM '{}'", file.display());
    std::fs::write(&file, "i\n5\n").unwrap();
    let e = server.post("/query", &from).error(400, "invalid_sql");
    let msg = e["error"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("--allow-file-read"), "{msg}");
    std::fs::remove_file(&file).unwrap();
    drop(server);
    let server = serve(&db, &["--allow-write", "--allow-file-write"]);
    let r = server.post("/query", &copy);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "i\n1\n");
}

/// New keep-alive connections opened all at once, as a browser opens them for
/// the dashboard's panels, are all answered promptly, and stay open. tiny_http's
/// connection pool left one of them unread until another connection came, in about
/// two fresh servers in three given six at once (before `serve/nudge.rs`); so
/// four fresh servers here.
#[test]
fn serve_answers_every_connection_of_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    drop(logdb::Db::open(&db).unwrap());
    let mut slowest = Duration::ZERO;
    for _ in 0..4 {
        let server = serve(&db, &[]);
        let mut open = Vec::new();
        for round in 0..3 {
            let burst: Vec<TcpStream> = (0..6)
                .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
                .collect();
            let start = Instant::now();
            for mut c in &burst {
                c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .unwrap();
            }
            for (i, mut c) in burst.iter().enumerate() {
                c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut head = [0; 12];
                let read = c.read_exact(&mut head);
                assert!(
                    read.is_ok() && head.starts_with(b"HTTP/1.1 200"),
                    "round {round}: connection {i} of 6 got no answer in 5 s ({read:?})"
                );
            }
            slowest = slowest.max(start.elapsed());
            open.extend(burst);
        }
    }
    eprintln!("slowest burst of 6 answered in {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
}

/// A client that closes its connection while its query runs gets the query
/// cancelled: the slot is freed within a second and `/health` counts the query
/// as abandoned. Both kinds of connection: with `Connection: close` tiny_http
/// shuts down its read side of the socket as soon as the request is read (so
/// end-of-file on a read says nothing about the client), with keep-alive it reads
/// on for the next request. A client that waits gets its answer.
#[test]
fn serve_cancels_the_query_of_a_client_that_disconnects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    drop(logdb::Db::open(&db).unwrap());
    let server = serve(&db, &["--max-queries", "1"]);
    let health = || server.get("/health").json();
    // Minutes on a debug build; it checks its cancel flag at every batch.
    let slow = "SELECT count(*) FROM range(100000000000) t(a) WHERE a % 7 = 3";
    let mut latencies = Vec::new();
    for (i, connection) in ["close", "keep-alive", "close", "keep-alive"]
        .into_iter()
        .enumerate()
    {
        let mut client = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(
            client,
            "POST /query HTTP/1.1\r\nHost: localhost\r\nConnection: {connection}\r\n\
             Content-Length: {}\r\n\r\n{slow}",
            slow.len()
        )
        .unwrap();
        let start = Instant::now();
        while health()["queries_running"] != 1 {
            assert!(start.elapsed() < Duration::from_secs(10), "never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(health()["queries_running"], 1, "the query still runs");
        drop(client);
        let closed = Instant::now();
        let mut h = health();
        while h["queries_running"] != 0 {
            assert!(
                closed.elapsed() < Duration::from_secs(1),
                "the slot is still held {:?} after the client closed ({connection})",
                closed.elapsed()
            );
            std::thread::sleep(Duration::from_millis(2));
            h = health();
        }
        latencies.push(closed.elapsed());
        assert_eq!(h["queries_abandoned"], i + 1, "{h}");
    }
    eprintln!("slot freed after the client closed: {latencies:?}");

    // A client that waits is not taken for gone, on either kind of connection.
    let query = "SELECT count(*) AS n FROM range(20000000) t(a) WHERE a % 7 = 3";
    let r = server.post("/query", query);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"][0]["n"], 2857143);
    let mut client = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        client,
        "POST /query HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{query}",
        query.len()
    )
    .unwrap();
    let mut reader = BufReader::new(&client);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    drop(reader);
    client.shutdown(std::net::Shutdown::Both).unwrap();
    assert_eq!(health()["queries_abandoned"], 4);
    assert_eq!(health()["queries_running"], 0);
}
