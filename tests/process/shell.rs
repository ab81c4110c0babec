//! The SQL shell driven non-interactively (`-c`, `-f`, stdin): every output mode,
//! every dot command, every error path, and that a scripted run writes exactly the
//! results to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Six requests over two hours; the user agent of one holds a comma (CSV quoting).
const LOG: &str = "\
10.0.0.1 - - [01/May/2024:10:00:00 +0000] \"GET /a?uid=7 HTTP/1.1\" 200 5 \"-\" \"curl/8\" 0.120
10.0.0.2 - - [01/May/2024:10:05:00 +0000] \"GET /b HTTP/1.1\" 404 0 \"-\" \"curl/8\" 0.010
10.0.0.1 - - [01/May/2024:10:30:00 +0000] \"POST /a?uid=7 HTTP/1.1\" 200 15 \"-\" \"Mozilla/5.0 (X11, Linux)\" 0.300
10.0.0.3 - - [01/May/2024:11:00:00 +0000] \"GET /a HTTP/1.1\" 500 0 \"-\" \"curl/8\" 1.500
10.0.0.1 - - [01/May/2024:11:10:00 +0000] \"GET /c?uid=7 HTTP/1.1\" 200 99 \"-\" \"curl/8\" 0.050
10.0.0.2 - - [01/May/2024:11:20:00 +0000] \"GET /a HTTP/1.1\" 200 7 \"-\" \"curl/8\" 0.020
";

/// A database directory with table `logs` holding [`LOG`].
fn database(dir: &Path) -> PathBuf {
    let path = dir.join("db");
    let db = logdb::Db::open(&path).unwrap();
    let mut app =
        logdb::import::Appender::new(&db, "logs", "combined", &Default::default()).unwrap();
    app.push(LOG.as_bytes()).unwrap();
    app.flush().unwrap();
    path
}

fn logdb_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(args)
        .env("LOGDB_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn logdb(args: &[&str]) -> Output {
    logdb_with_stdin(args, "")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = logdb(args);
    assert!(o.status.success(), "{args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir` with its bytes, to show that a refused open wrote nothing.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    out.sort();
    out
}

const PER_URI: &str =
    "SELECT uri, count(*) AS n, sum(bytes) AS b FROM logs GROUP BY uri ORDER BY n DESC, uri";

#[test]
fn scripted_csv_is_exactly_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb(&[s(&db), "-c", PER_URI, "-o", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "uri,n,b\n/a,4,27\n/b,1,0\n/c,1,99\n");
    assert_eq!(stderr(&o), "");
}

#[test]
fn csv_quotes_fields_and_leaves_nulls_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        "SELECT user_agent, uid FROM logs WHERE status = 200 AND bytes > 10 ORDER BY ts",
    ]);
    assert_eq!(
        out,
        "user_agent,uid\n\"Mozilla/5.0 (X11, Linux)\",7\ncurl/8,7\n"
    );
    let out = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        "SELECT uid FROM logs WHERE uri = '/b'",
    ]);
    assert_eq!(out, "uid\n\n");
}

#[test]
fn every_output_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let q = "SELECT uri, count(*) AS n FROM logs GROUP BY uri ORDER BY n DESC, uri LIMIT 2";
    let run = |mode: &str| ok(&[s(&db), "-o", mode, "-c", q]);
    assert_eq!(
        run("box"),
        "\
┌─────────┬───────┐
│   uri   │   n   │
│ varchar │ int64 │
├─────────┼───────┤
│ /a      │     4 │
│ /b      │     1 │
└─────────┴───────┘
"
    );
    assert_eq!(run("tsv"), "uri\tn\n/a\t4\n/b\t1\n");
    assert_eq!(
        run("json"),
        "[{\"uri\":\"/a\",\"n\":4},\n{\"uri\":\"/b\",\"n\":1}]\n"
    );
    assert_eq!(
        run("jsonl"),
        "{\"uri\":\"/a\",\"n\":4}\n{\"uri\":\"/b\",\"n\":1}\n"
    );
    assert_eq!(
        run("markdown"),
        "| uri | n |\n|---|---:|\n| /a | 4 |\n| /b | 1 |\n"
    );
    assert_eq!(run("line"), "uri = /a\n  n = 4\n\nuri = /b\n  n = 1\n");
    let bar = run("bar");
    let lines: Vec<&str> = bar.lines().collect();
    assert_eq!(lines.len(), 2, "{bar}");
    assert!(
        lines[0].starts_with("/a │") && lines[0].ends_with(" 4"),
        "{bar}"
    );
    let full = lines[0].matches('█').count();
    let quarter = lines[1].matches('█').count();
    assert!(
        full > 0 && quarter * 4 <= full + 4 && quarter * 4 + 4 >= full,
        "{bar}"
    );
    // Every mode also through `.mode` and a trailing FORMAT.
    assert_eq!(ok(&[s(&db), "-c", ".mode jsonl", "-c", q]), run("jsonl"));
    assert_eq!(
        ok(&[s(&db), "-c", &format!("{q} FORMAT markdown")]),
        run("markdown")
    );
    let o = logdb(&[s(&db), "-o", "xml", "-c", q]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown output mode 'xml'; known modes: box, csv"),
        "{}",
        stderr(&o)
    );
}

/// DATE prints as `YYYY-MM-DD` in every mode (a string in JSON), next to a
/// TIMESTAMP.
#[test]
fn dates_in_every_output_mode() {
    let q = "SELECT DATE '2024-05-01' + 1 AS d, TIMESTAMP '2024-05-01 10:00' AS t";
    let run = |mode: &str| ok(&["-o", mode, "-c", q]);
    assert_eq!(
        run("box"),
        "\
┌────────────┬─────────────────────┐
│     d      │          t          │
│    date    │      timestamp      │
├────────────┼─────────────────────┤
│ 2024-05-02 │ 2024-05-01 10:00:00 │
└────────────┴─────────────────────┘
"
    );
    assert_eq!(run("csv"), "d,t\n2024-05-02,2024-05-01 10:00:00\n");
    assert_eq!(
        run("json"),
        "[{\"d\":\"2024-05-02\",\"t\":\"2024-05-01 10:00:00\"}]\n"
    );
    assert_eq!(run("line"), "d = 2024-05-02\nt = 2024-05-01 10:00:00\n");
    assert_eq!(
        run("markdown"),
        "| d | t |\n|---|---|\n| 2024-05-02 | 2024-05-01 10:00:00 |\n"
    );
}

/// TIME, an unsigned integer and a TIMESTAMP_MS print as DuckDB's shell prints
/// them (box type labels included); JSON writes NaN and infinities as DuckDB does.
#[test]
fn time_and_unsigned_types_in_box_and_json() {
    let q = "SELECT TIME '12:34:56.5' AS t, 1::UTINYINT AS u, \
             TIMESTAMP '2024-05-01 10:00:00.123'::TIMESTAMP_MS AS ms";
    let run = |mode: &str, q: &str| ok(&["-o", mode, "-c", q]);
    assert_eq!(
        run("box", q),
        "\
┌────────────┬───────┬─────────────────────────┐
│     t      │   u   │           ms            │
│    time    │ uint8 │      timestamp_ms       │
├────────────┼───────┼─────────────────────────┤
│ 12:34:56.5 │     1 │ 2024-05-01 10:00:00.123 │
└────────────┴───────┴─────────────────────────┘
"
    );
    assert_eq!(
        run("json", q),
        "[{\"t\":\"12:34:56.5\",\"u\":1,\"ms\":\"2024-05-01 10:00:00.123\"}]\n"
    );
    assert_eq!(
        run("json", "SELECT 'nan'::DOUBLE AS n, '-inf'::DOUBLE AS i"),
        "[{\"n\":NaN,\"i\":-Infinity}]\n"
    );
}

#[test]
fn bar_mode_needs_a_label_and_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb(&[s(&db), "-o", "bar", "-c", "SELECT uri, method FROM logs"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bar mode needs two columns"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn box_mode_shows_head_and_tail_past_maxrows() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = ok(&[
        s(&db),
        "-c",
        ".maxrows 4",
        "-c",
        "SELECT bytes FROM logs ORDER BY ts",
    ]);
    // bytes in time order: 5 0 15 0 99 7; shown: 5 0 ... 99 7.
    let values: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("│"))
        .map(|l| l.trim_end_matches('│').trim())
        .collect();
    assert_eq!(
        values,
        ["bytes", "int64", "5", "0", "·", "·", "·", "99", "7"],
        "{out}"
    );
    assert!(out.ends_with("… 6 rows (4 shown)\n"), "{out}");
    // Not on a terminal and no .maxrows: every row.
    let all = ok(&[s(&db), "-c", "SELECT bytes FROM logs"]);
    assert!(!all.contains('·') && all.contains("│    15 │"), "{all}");
}

#[test]
fn commands_run_in_order_then_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let script = dir.path().join("q.sql");
    std::fs::write(
        &script,
        "-- a comment; with a semicolon\nSELECT count(*) AS n\n  FROM logs;\n.mode csv\nSELECT 'x;y' AS s FROM logs LIMIT 1; SELECT max(bytes) AS m FROM logs",
    )
    .unwrap();
    let out = ok(&[
        s(&db),
        "-f",
        s(&script),
        "-o",
        "csv",
        "-c",
        "SELECT 1 AS one FROM logs LIMIT 1",
        "-c",
        ".mode tsv",
    ]);
    assert_eq!(out, "one\n1\nn\n6\ns\nx;y\nm\n99\n");
}

/// `-c` takes any text, even one that starts with a dash: a comment alone runs
/// nothing and succeeds, as in the DuckDB CLI (clap read `-- nothing` as an
/// argument and refused it).
#[test]
fn a_command_may_start_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    assert_eq!(ok(&[s(&db), "-c", "-- nothing"]), "");
    assert_eq!(
        ok(&[
            s(&db),
            "-o",
            "csv",
            "-c",
            "-- first a comment",
            "-c",
            "SELECT -1 AS x"
        ]),
        "x\n-1\n"
    );
}

#[test]
fn stdin_is_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb_with_stdin(
        &[s(&db), "-o", "csv"],
        "SELECT count(*) AS n FROM logs;\n.mode jsonl\nSELECT uri FROM logs\n WHERE status = 500",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n6\n{\"uri\":\"/a\"}\n");
    assert_eq!(stderr(&o), "", "no banner, prompt or footer");
}

#[test]
fn a_script_stops_at_the_first_error_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let script = "SELECT 1 AS a FROM logs LIMIT 1;\nSELECT nope FROM logs;\nSELECT 2 AS b FROM logs LIMIT 1;";
    let o = logdb_with_stdin(&[s(&db), "-o", "csv"], script);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "a\n1\n");
    let o = logdb_with_stdin(&[s(&db), "-o", "csv", "--no-bail"], script);
    assert_eq!(o.status.code(), Some(1), "still a failure");
    assert_eq!(stdout(&o), "a\n1\nb\n2\n");
    let o = logdb(&[s(&db), "-o", "csv", "-c", ".bail off", "-c", script]);
    assert_eq!(stdout(&o), "a\n1\nb\n2\n");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn sql_errors_show_the_line_with_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb(&[
        s(&db),
        "-c",
        "SELECT uri,\n       count(*)\nFROM logz GROUP BY 1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "Error: line 3, column 6: unknown table 'logz'; known tables: logs\n  FROM logz GROUP BY 1\n       ^\n"
    );
    let o = logdb(&[s(&db), "-c", "SELECT count(*) FROM logs WHERE stauts = 200"]);
    let err = stderr(&o);
    assert!(err.contains("unknown column 'stauts'"), "{err}");
    assert!(err.contains("known columns: ts, client_ip"), "{err}");
    let caret = err.lines().nth(2).unwrap();
    let line = err.lines().nth(1).unwrap();
    assert_eq!(&line[caret.len() - 1..caret.len() + 5], "stauts", "{err}");
    let o = logdb(&[s(&db), "-c", "SELEC 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("Error: line 1, column 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_tables_schema_help() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    assert_eq!(ok(&[s(&db), "-c", ".tables"]), "logs\n");
    let schema = ok(&[s(&db), "-c", ".schema logs"]);
    assert!(
        schema.starts_with("CREATE TABLE logs (\n    ts TIMESTAMP NOT NULL,\n"),
        "{schema}"
    );
    assert!(schema.contains("    status SMALLINT,\n"), "{schema}");
    assert!(
        schema.contains("); -- time column: ts; indexed: uid, uri, status\n"),
        "{schema}"
    );
    assert_eq!(ok(&[s(&db), "-c", ".schema"]), schema);
    let o = logdb(&[s(&db), "-c", ".schema nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown table 'nope'; known tables: logs"),
        "{}",
        stderr(&o)
    );
    let help = ok(&[s(&db), "-c", ".help"]);
    for cmd in [
        ".tables", ".schema", ".mode", ".timer", ".read", ".output", ".once", ".maxrows",
        ".import", ".open", ".quit", ".exit", ".bail", ".chart",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from .help:\n{help}");
    }
    assert_eq!(ok(&[s(&db), "-c", ".mode", "-o", "json"]), "json\n");
    let o = logdb(&[s(&db), "-c", ".frobnicate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown command .frobnicate; known commands: .bail"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_timer_writes_to_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        ".timer on",
        "-c",
        "SELECT count(*) AS n FROM logs",
    ]);
    assert_eq!(stdout(&o), "n\n6\n");
    assert!(stderr(&o).starts_with("Run Time: "), "{}", stderr(&o));
    let o = logdb(&[s(&db), "-c", ".timer maybe"]);
    assert!(
        stderr(&o).contains("usage: .timer on|off"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_output_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let out = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        &format!(".output {}", s(&a)),
        "-c",
        "SELECT count(*) AS n FROM logs",
        "-c",
        ".tables",
        "-c",
        ".output",
        "-c",
        &format!(".once '{}'", s(&b)),
        "-c",
        "SELECT max(bytes) AS m FROM logs",
        "-c",
        "SELECT min(bytes) AS m FROM logs",
    ]);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "n\n6\nlogs\n");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "m\n99\n");
    assert_eq!(out, "m\n0\n");
    let o = logdb(&[s(&db), "-c", ".output /nonexistent-dir/x.csv"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot create /nonexistent-dir/x.csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_read_runs_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let inner = dir.path().join("inner.sql");
    std::fs::write(&inner, ".mode csv\nSELECT count(*) AS n FROM logs;\n").unwrap();
    let out = ok(&[
        s(&db),
        "-c",
        &format!(".read {}", s(&inner)),
        "-c",
        "SELECT 2 AS two FROM logs LIMIT 1",
    ]);
    assert_eq!(out, "n\n6\ntwo\n2\n");
    let o = logdb(&[
        s(&db),
        "-c",
        ".read /no/such/file.sql",
        "-c",
        "SELECT 1 AS x FROM logs",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("cannot read /no/such/file.sql"),
        "{}",
        stderr(&o)
    );
    // A file that reads itself stops instead of recursing forever.
    let looped = dir.path().join("loop.sql");
    std::fs::write(&looped, format!(".read {}\n", s(&looped))).unwrap();
    let o = logdb(&[s(&db), "-f", s(&looped)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nested more than"), "{}", stderr(&o));
}

#[test]
fn missing_script_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb(&[s(&db), "-f", "/no/such/script.sql"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read /no/such/script.sql"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_quit_stops_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let o = logdb_with_stdin(
        &[s(&db), "-o", "csv"],
        "SELECT 1 AS a FROM logs LIMIT 1;\n.quit\nSELECT 2 AS b FROM logs LIMIT 1;\n",
    );
    assert!(o.status.success());
    assert_eq!(stdout(&o), "a\n1\n");
    assert_eq!(ok(&[s(&db), "-c", ".exit", "-c", ".tables"]), "");
}

#[test]
fn dot_chart_draws_the_last_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        "SELECT status::VARCHAR AS s, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC",
        "-c",
        ".chart",
    ]);
    let (csv, chart) = out.split_at(out.find("200 │").expect(&out));
    assert_eq!(csv, "s,n\n200,4\n404,1\n500,1\n");
    assert_eq!(chart.lines().count(), 3, "{chart}");
    let o = logdb(&[s(&db), "-c", ".chart"]);
    assert!(
        stderr(&o).contains("no result to chart yet"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_import_uses_the_import_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("more.log");
    std::fs::write(&log, format!("{LOG}this line is not a log line\n")).unwrap();
    // In memory (no DB argument): import, then query.
    let o = logdb(&[
        "-o",
        "csv",
        "-c",
        &format!(".import {} --table web", s(&log)),
        "-c",
        "SELECT count(*) AS n FROM web",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n6\n", "the summary is not a result");
    let err = stderr(&o);
    assert!(
        err.contains("lines read:     7") && err.contains("lines rejected: 1"),
        "{err}"
    );
    // Into a database on disk, with an explicit format; it persists.
    let db = dir.path().join("new");
    ok(&[
        s(&db),
        "-c",
        &format!(".import --format combined {}", s(&log)),
    ]);
    assert_eq!(
        ok(&[s(&db), "-o", "csv", "-c", "SELECT count(*) AS n FROM logs"]),
        "n\n6\n"
    );
    let o = logdb(&[s(&db), "-c", ".import /no/such.log"]);
    assert_eq!(o.status.code(), Some(1));
    let o = logdb(&[
        s(&db),
        "-c",
        &format!(".import {} --format klingon", s(&log)),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("klingon"), "{}", stderr(&o));
}

#[test]
fn dot_open_switches_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = ok(&[
        "-c",
        ".tables",
        "-c",
        &format!(".open {}", s(&db)),
        "-c",
        ".tables",
        "-c",
        ".open",
        "-c",
        ".tables",
    ]);
    assert_eq!(out, "logs\n");
    // A failed .open keeps the current database.
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let o = logdb(&[
        s(&db),
        "-c",
        ".bail off",
        "-c",
        &format!(".open {}", s(&file)),
        "-c",
        ".tables",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not a directory"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "logs\n");
}

#[test]
fn a_directory_that_is_not_a_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("photos");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("cat.jpg"), b"meow").unwrap();
    let before = tree(&foreign);
    let o = logdb(&[s(&foreign), "-c", ".tables"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a logdb database"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        tree(&foreign),
        before,
        "nothing written, not even a LOCK file"
    );
}

#[test]
fn a_newer_format_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("MANIFEST-")
        })
        .collect();
    manifests.sort();
    let latest = manifests.last().unwrap();
    let mut bytes = std::fs::read(latest).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(latest, &bytes).unwrap();
    let before = tree(&db);
    let o = logdb(&[s(&db), "-c", "SELECT count(*) FROM logs"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("file is v99, this build reads up to v2"),
        "{err}"
    );
    assert_eq!(tree(&db), before);
}

#[test]
fn a_new_path_becomes_a_database_unless_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    let o = logdb(&[s(&ro), "--read-only", "-c", ".tables"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no database at"), "{}", stderr(&o));
    assert!(!ro.exists());
    let fresh = dir.path().join("fresh");
    assert_eq!(ok(&[s(&fresh), "-c", ".tables"]), "");
    assert!(fresh.join("MANIFEST-00000000000000000001").exists());
    // An empty directory is a new database too.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ok(&[s(&empty), "-c", ".tables"]);
    assert!(ok(&["info", s(&empty)]).contains("no tables"));
}

#[test]
fn queries_run_while_another_process_writes_and_a_write_says_it_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    let lock = path.join("LOCK");
    let _ = std::fs::remove_file(&lock);
    // A query takes no lock: not even the lock file is created.
    let o = logdb(&[
        s(&path),
        "-o",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM logs",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n6\n");
    assert!(!lock.exists(), "a read-only query created the lock file");

    let writer = logdb::Db::open(&path).unwrap();
    let o = logdb(&[
        s(&path),
        "-o",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM logs",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n6\n");
    assert_eq!(stderr(&o), "");
    let o = logdb(&[s(&path), "-c", "CREATE TABLE t (a BIGINT)"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("locked by another writer"),
        "{}",
        stderr(&o)
    );
    // Once the other writer is gone, the write goes through.
    drop(writer);
    let o = logdb(&[
        s(&path),
        "-c",
        "CREATE TABLE t (a BIGINT)",
        "-c",
        "INSERT INTO t VALUES (1)",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn subcommands_still_route_and_a_path_named_like_one_opens_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    assert!(ok(&["info", s(&db)]).contains("table logs: 6 rows"));
    // A database directory called `info`, reached as ./info.
    std::fs::rename(&db, dir.path().join("info")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .current_dir(dir.path())
        .args([
            "./info",
            "-o",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM logs",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n6\n");
}

#[test]
fn mission_questions_answer_from_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let script = dir.path().join("mission.sql");
    std::fs::write(
        &script,
        "\
.mode csv
SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs GROUP BY 1 ORDER BY 1;
SELECT status, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT uri, quantile_cont(request_time, 0.95) AS p95 FROM logs WHERE uri = '/a' GROUP BY 1;
SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs WHERE uid = '7' GROUP BY 1 ORDER BY 1;
",
    )
    .unwrap();
    let out = ok(&[s(&db), "-f", s(&script)]);
    assert_eq!(
        out,
        "\
hour,requests
2024-05-01 10:00:00,3
2024-05-01 11:00:00,3
status,n
200,4
404,1
500,1
uri,p95
/a,1.3199999999999996
hour,requests
2024-05-01 10:00:00,2
2024-05-01 11:00:00,1
"
    );
}

/// A CSV result streams to stdout batch by batch: a million rows pass a memory
/// limit that the same result held whole (box mode) exceeds, which fails cleanly.
#[test]
fn csv_output_streams_under_a_memory_limit_that_box_mode_exceeds() {
    let q = "SELECT range AS i, 'row ' || range AS s FROM range(1000000)";
    let limit = "SET memory_limit = '8MB'";
    let o = logdb(&["-o", "csv", "-c", limit, "-c", q]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Success"));
    assert_eq!(lines.next(), Some("i,s"));
    assert_eq!(lines.next(), Some("0,row 0"));
    assert_eq!(lines.clone().count(), 999_999);
    assert_eq!(lines.last(), Some("999999,row 999999"));

    let o = logdb(&["-c", limit, "-c", q]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("resources exhausted: query needs more than the memory limit"),
        "{}",
        stderr(&o)
    );
}

/// A streamed result (a scan, handed over per segment) is written with the same
/// bytes as a materialized one (the same rows through ORDER BY) in every
/// streaming mode, and `.output` receives the stream too.
#[test]
fn streamed_output_matches_the_materialized_result_in_every_streaming_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let cols = "ts, client_ip, uri, status, user_agent, uid, request_time";
    for mode in ["csv", "tsv", "json", "jsonl", "markdown", "line"] {
        let streamed = ok(&[
            s(&db),
            "-o",
            mode,
            "-c",
            &format!("SELECT {cols} FROM logs"),
        ]);
        let sorted = ok(&[
            s(&db),
            "-o",
            mode,
            "-c",
            &format!("SELECT {cols} FROM logs ORDER BY ts"),
        ]);
        assert_eq!(streamed, sorted, "{mode}");
        assert!(streamed.contains("Mozilla/5.0 (X11, Linux)"), "{mode}");
    }
    let file = dir.path().join("out.csv");
    let script = format!(".output {}\nSELECT {cols} FROM logs;\n", s(&file));
    let o = logdb_with_stdin(&[s(&db), "-o", "csv"], &script);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let expected = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        &format!("SELECT {cols} FROM logs"),
    ]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
}
