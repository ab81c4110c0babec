//! The `logdb` binary, driven as a user would: every subcommand, its output and exit
//! code, and its error paths.

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub(crate) fn logdb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn real(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/real")
        .join(name)
        .display()
        .to_string()
}

pub(crate) fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no '{label}' in:\n{out}"))
}

#[test]
fn import_real_apache_log_accounts_for_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let rejects = dir.path().join("rejects.tsv");
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        &real("apache_combined_2015.log"),
        "--format",
        "combined",
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(field(&out, "lines read:"), "10000");
    assert_eq!(field(&out, "rows stored:"), "10000");
    assert_eq!(field(&out, "lines rejected:"), "0");
    let rej = std::fs::read_to_string(&rejects).unwrap_or_default();
    assert_eq!(rej, "", "every line of the real log is stored");

    let o = logdb(&["check", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("10000 rows"), "{}", stdout(&o));
    assert!(stdout(&o).trim_end().ends_with("OK"));

    let o = logdb(&["info", db.to_str().unwrap()]);
    assert!(o.status.success());
    let info = stdout(&o);
    assert!(info.contains("table logs: 10000 rows"), "{info}");
    assert!(info.contains("partition 2015-05-17"), "{info}");

    let o = logdb(&["info", db.to_str().unwrap(), "logs"]);
    assert!(stdout(&o).contains("bytes per column"), "{}", stdout(&o));
    assert!(stdout(&o).contains(".lseg"));
}

#[test]
fn import_elb_and_alb_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let o = logdb(&[
        "import",
        d,
        &real("elb_classic_samples.log"),
        "--format",
        "elb",
        "--table",
        "elb",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(field(&stdout(&o), "rows stored:"), "7");
    let o = logdb(&[
        "import",
        d,
        &real("alb_samples.log"),
        "-f",
        "alb",
        "-t",
        "alb",
        "-q",
    ]);
    assert_eq!(field(&stdout(&o), "rows stored:"), "4");

    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["import", d, "-", "--format", "combined", "--table", "piped"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let log = std::fs::read_to_string(real("apache_combined_2015.log")).unwrap();
        for l in log.lines().take(100) {
            writeln!(stdin, "{l}").unwrap();
        }
        writeln!(stdin, "garbage line").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(field(&stdout(&o), "lines read:"), "101");
    assert_eq!(field(&stdout(&o), "rows stored:"), "100");
    assert!(
        stderr(&o).contains("rejected <stdin>:101"),
        "{}",
        stderr(&o)
    );
    assert!(logdb(&["check", d]).status.success());
}

#[test]
fn import_compressed_files_and_directories_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    let text = std::fs::read(real("apache_combined_2015.log")).unwrap();
    let cut = text[..text.len() / 2]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1;
    let a = &text[..cut];
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(logs.join("a.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(a).unwrap();
    gz.finish().unwrap();
    std::fs::write(
        logs.join("sub/b.log.zst"),
        zstd::encode_all(&text[cut..], 1).unwrap(),
    )
    .unwrap();
    let db = dir.path().join("db");
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        logs.to_str().unwrap(),
        "-f",
        "combined",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(field(&out, "files:"), "2");
    assert_eq!(field(&out, "lines read:"), "10000");
    assert_eq!(field(&out, "rows stored:"), "10000");
}

#[test]
fn a_gzip_file_cut_short_keeps_what_was_read_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(real("apache_combined_2015.log")).unwrap())
        .unwrap();
    let full = gz.finish().unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let db = dir.path().join("db");
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        cut.to_str().unwrap(),
        "-f",
        "combined",
    ]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("error:") && out.contains("cut.log.gz"),
        "{out}"
    );
    let lines: u64 = field(&out, "lines read:").parse().unwrap();
    let rows: u64 = field(&out, "rows stored:").parse().unwrap();
    let rejected: u64 = field(&out, "lines rejected:").parse().unwrap();
    assert!(lines > 1000 && lines < 10000, "{out}");
    assert_eq!(lines, rows + rejected);
    assert!(logdb(&["check", db.to_str().unwrap()]).status.success());
}

#[test]
fn max_rejects_stops_the_import_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, "nope\nstill nope\nand again\n").unwrap();
    let db = dir.path().join("db");
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        bad.to_str().unwrap(),
        "-f",
        "combined",
        "--max-rejects",
        "1",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--max-rejects 1"), "{}", stderr(&o));
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        bad.to_str().unwrap(),
        "-f",
        "nosuch",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown log format 'nosuch'; known formats: combined"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn generate_compact_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.log");
    let o = logdb(&[
        "generate",
        "--lines",
        "20000",
        "--days",
        "3",
        "-o",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    // Small commits leave small segments behind.
    let o = logdb(&[
        "import",
        d,
        log.to_str().unwrap(),
        "-f",
        "combined",
        "--batch-rows",
        "1000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(field(&stdout(&o), "rows stored:"), "20000");
    let o = logdb(&["compact", d, "logs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("segments -> 3"), "{}", stdout(&o));
    let o = logdb(&["retention", d, "logs", "--before", "2024-01-02"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("dropped 1 partitions"),
        "{}",
        stdout(&o)
    );
    let o = logdb(&["check", d]);
    assert!(o.status.success());
    let o = logdb(&["retention", d, "logs", "--before", "yesterday-ish"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot parse 'yesterday-ish'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn retention_dry_run_and_its_reference_points() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.log");
    let l = log.to_str().unwrap();
    // Three days of 2024 (long past by the wall clock), 1000 lines each.
    let o = logdb(&[
        "generate",
        "--profile",
        "simple",
        "--lines",
        "3000",
        "--days",
        "3",
        "-o",
        l,
    ]);
    assert!(o.status.success());
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    assert!(logdb(&["import", d, l, "-f", "combined"]).status.success());
    let rows = |d: &str| {
        let o = logdb(&[d, "-o", "csv", "-c", "SELECT count(*) AS n FROM logs"]);
        stdout(&o).lines().nth(1).unwrap().to_string()
    };

    // A dry run lists what would go, with rows and bytes, and drops nothing.
    let o = logdb(&["retention", d, "logs", "--days", "30", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("would drop 3 partitions of logs ending at or before "),
        "{out}"
    );
    assert!(out.contains("(3000 rows, "), "{out}");
    assert!(out.contains("dry run, nothing dropped"), "{out}");
    // --days counts from the wall clock, and says so with the date it used.
    assert!(out.contains("cut-off: "), "{out}");
    assert!(out.contains(", from now ("), "{out}");
    assert!(out.contains("minus 30 days"), "{out}");
    for day in ["2024-01-01", "2024-01-02", "2024-01-03"] {
        assert!(out.contains(&format!("  partition {day}: ")), "{out}");
    }
    assert_eq!(rows(d), "3000");

    // --from-latest counts from the newest row instead: one day back keeps the
    // last two days (the first partition ends before the cut-off).
    let o = logdb(&[
        "retention",
        d,
        "logs",
        "--days",
        "1",
        "--from-latest",
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("would drop 1 partitions"), "{out}");
    assert!(out.contains("from the newest data (2024-01-03 "), "{out}");
    assert!(out.contains("  partition 2024-01-01: "), "{out}");
    assert!(!out.contains("  partition 2024-01-02: "), "{out}");
    assert_eq!(rows(d), "3000");
    let o = logdb(&["retention", d, "logs", "--days", "1", "--from-latest"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("dropped 1 partitions"), "{out}");
    assert!(out.contains("  partition 2024-01-01: "), "{out}");
    assert_eq!(rows(d), "2000");

    // --from-latest needs --days; --days and --before exclude each other.
    let o = logdb(&["retention", d, "logs", "--from-latest"]);
    assert!(!o.status.success());
    let o = logdb(&[
        "retention",
        d,
        "logs",
        "--days",
        "1",
        "--before",
        "2024-01-02",
    ]);
    assert!(!o.status.success());
}

/// Regression: an OS error was printed twice ("No such file or directory (os
/// error 2): No such file or directory (os error 2)").
#[test]
fn os_errors_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let missing = dir.path().join("missing.log");
    let o = logdb(&[
        "import",
        db.to_str().unwrap(),
        missing.to_str().unwrap(),
        "-f",
        "combined",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("missing.log"), "{err}");

    // A database path below a plain file.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("db");
    let o = logdb(&[below.to_str().unwrap(), "-c", "SELECT 1"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
    let o = logdb(&["info", below.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}

#[test]
fn check_reports_damage_naming_the_file_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    assert!(
        logdb(&["import", d, &real("elb_classic_samples.log"), "-f", "elb"])
            .status
            .success()
    );
    let seg = walk(&db)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "lseg"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&seg, bytes).unwrap();
    let o = logdb(&["check", d]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("PROBLEM") && out.contains(seg.file_name().unwrap().to_str().unwrap()),
        "{out}"
    );

    let o = logdb(&["check", dir.path().join("missing").to_str().unwrap()]);
    assert!(!o.status.success());
    let o = logdb(&["info", dir.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a logdb database"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_second_writer_is_refused_while_one_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let db = logdb_lib_open(dir.path());
    let o = logdb(&[
        "import",
        dir.path().to_str().unwrap(),
        &real("alb_samples.log"),
        "-f",
        "alb",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("locked by another writer"),
        "{}",
        stderr(&o)
    );
    drop(db);
}

fn logdb_lib_open(p: &Path) -> logdb::Db {
    logdb::Db::open(p).unwrap()
}

#[test]
fn demo_runs_end_to_end_on_a_small_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = logdb(&[
        "demo",
        dir.path().to_str().unwrap(),
        "--lines",
        "50000",
        "--days",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(field(&out, "rows stored:"), "50000");
    for q in [
        "requests per day",
        "status mix",
        "top 10 uris",
        "busiest user",
        "rare user",
    ] {
        assert!(out.contains(q), "missing '{q}' in:\n{out}");
    }
    assert!(logdb(&["check", dir.path().join("db").to_str().unwrap()])
        .status
        .success());
    assert!(
        !dir.path().join("access.log").exists(),
        "the generated log is deleted once imported (only the database is left)"
    );
    assert!(
        out.contains("rm -r "),
        "the demo says how to remove it:\n{out}"
    );
}

#[test]
fn broken_pipe_exits_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["generate", "--lines", "2000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Read;
        let mut first = [0u8; 100];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
    }
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn import_jsonl_and_csv_with_inferred_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let jsonl = dir.path().join("app.jsonl");
    std::fs::write(
        &jsonl,
        concat!(
            r#"{"time":"2024-05-01T10:00:00+02:00","remote_addr":"10.0.0.1","request_uri":"/a?uid=7","status":200,"duration":0.25}"#,
            "\n",
            r#"{"time":"2024-05-01T10:00:01Z","remote_addr":"::1","request_uri":"/b","status":404,"duration":1}"#,
            "\n",
            "{not json\n",
            r#"{"time":"2024-05-01T10:00:02Z","remote_addr":"10.0.0.2","request_uri":"/a","status":500,"extra":{"k":[1,2]}}"#,
            "\n"
        ),
    )
    .unwrap();
    let o = logdb(&[
        "import",
        d,
        jsonl.to_str().unwrap(),
        "-f",
        "jsonl",
        "-t",
        "app",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(field(&out, "lines read:"), "4");
    assert_eq!(field(&out, "rows stored:"), "3");
    assert_eq!(field(&out, "lines rejected:"), "1");
    // A second import into the same table reuses its schema.
    let o = logdb(&[
        "import",
        d,
        jsonl.to_str().unwrap(),
        "-f",
        "jsonl",
        "-t",
        "app",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let csv = dir.path().join("export.csv");
    std::fs::write(
        &csv,
        "timestamp,client_ip,method,url,status,bytes\n\
         2024-05-01 10:00:00,10.0.0.1,GET,/x?uid=1,200,10\n\
         2024-05-01 10:00:01,10.0.0.2,POST,\"/y,z\",201,20\n\
         2024-05-01 10:00:02,10.0.0.3,GET,/x,oops,30\n",
    )
    .unwrap();
    let o = logdb(&[
        "import",
        d,
        csv.to_str().unwrap(),
        "-f",
        "csv",
        "-t",
        "export",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: u64 = field(&out, "lines read:").parse().unwrap();
    let rows: u64 = field(&out, "rows stored:").parse().unwrap();
    let rejected: u64 = field(&out, "lines rejected:").parse().unwrap();
    assert_eq!(lines, rows + rejected);
    assert!(rows >= 2, "{out}");
    assert!(logdb(&["check", d]).status.success());
    let o = logdb(&["info", d, "export"]);
    assert!(stdout(&o).contains("ts TIMESTAMP"), "{}", stdout(&o));

    // jsonl from stdin: the sample read for inference is not lost.
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["import", d, "-", "-f", "jsonl", "-t", "piped"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..2500 {
            writeln!(
                stdin,
                r#"{{"ts":"2024-05-01T10:00:00Z","status":{},"uid":"u{}"}}"#,
                200 + i % 3,
                i % 10
            )
            .unwrap();
        }
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(field(&stdout(&o), "rows stored:"), "2500");
}

#[test]
fn generated_records_import_with_their_own_schema() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("records.csv");
    let c = csv.to_str().unwrap();
    let o = logdb(&["generate", "--kind", "records", "--lines", "30000", "-o", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("user_id,access_time,terminal,module,content\n"));
    assert!(
        text.contains("\"\""),
        "some content needs quotes inside quotes"
    );
    // The same seed gives the same file.
    let again = logdb(&["generate", "--kind", "records", "--lines", "30000"]);
    assert_eq!(again.stdout, text.as_bytes());
    let o = logdb(&["generate", "--kind", "records", "--days", "3"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("366 days"), "{}", stderr(&o));

    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let o = logdb(&["import", d, c, "--format", "auto", "--table", "records"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(field(&stdout(&o), "rows stored:"), "30000");
    assert_eq!(field(&stdout(&o), "lines rejected:"), "0");
    let o = logdb(&[d, "-o", "csv", "-c", "DESCRIBE records"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let types: Vec<String> = stdout(&o)
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        types,
        [
            "user_id BIGINT",
            "access_time TIMESTAMP",
            "terminal VARCHAR",
            "module VARCHAR",
            "content VARCHAR"
        ]
    );
    let o = logdb(&[
        d,
        "-o",
        "csv",
        "-c",
        "SELECT count(*), count(DISTINCT access_time::DATE), min(access_time)::DATE, \
         max(access_time)::DATE FROM records",
    ]);
    assert_eq!(
        stdout(&o).lines().nth(1).unwrap(),
        "30000,366,2024-01-01,2024-12-31"
    );
    // Three user-days of about 5% of all rows each.
    let o = logdb(&[
        d,
        "-o",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM records GROUP BY access_time::DATE, user_id \
         ORDER BY n DESC LIMIT 4",
    ]);
    let top: Vec<u64> = stdout(&o)
        .lines()
        .skip(1)
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(
        top[..3].iter().all(|&n| (1300..1700).contains(&n)),
        "{top:?}"
    );
    assert!(top[3] < 300, "{top:?}");
}

#[test]
fn generate_keeps_the_simple_profile_by_name() {
    let simple = logdb(&["generate", "--profile", "simple", "--lines", "2000"]);
    assert!(simple.status.success(), "{}", stderr(&simple));
    let realistic = logdb(&["generate", "--lines", "2000"]);
    assert!(realistic.status.success(), "{}", stderr(&realistic));
    assert_ne!(simple.stdout, realistic.stdout);
    let agents = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| l.split('"').nth(5).unwrap().to_string())
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(agents(&simple.stdout) < 40);
    assert!(agents(&realistic.stdout) > 100);
    let o = logdb(&["generate", "--profile", "fancy", "--lines", "10"]);
    assert!(!o.status.success());
}

/// Every open segment holds its file open, until half of the process's limit of
/// open files is in use; the segments opened after that are memory-mapped (a map
/// holds no descriptor), so a query over more segments than the limit still runs.
#[test]
fn a_query_over_more_segments_than_the_open_files_limit_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = logdb::Db::builder()
        .max_segment_rows(10)
        .open(dir.path())
        .unwrap();
    db.query("CREATE TABLE t (x BIGINT)").unwrap();
    db.query("INSERT INTO t SELECT range FROM range(2000)")
        .unwrap();
    drop(db);
    let segments = walk(dir.path())
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "lseg"))
        .count();
    assert!(segments >= 150, "{segments} segments");
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_logdb"))
        .arg(dir.path())
        .args(["-o", "csv", "-c", "SELECT count(*), sum(x) FROM t"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2000,1999000"), "{}", stdout(&out));
}
