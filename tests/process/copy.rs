//! `COPY ... TO` and `COPY ... FROM` through the shell: files written byte for
//! byte as DuckDB writes them (fixtures under tests/data/files/copy/ made with
//! DuckDB 1.x from the same rows), compression, the errors, no file left by a
//! failed COPY, and a file read back into a table.

use std::path::Path;
use std::process::{Command, Output};

fn logdb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(args)
        .env("LOGDB_HISTORY", "")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = logdb(args);
    assert!(
        o.status.success(),
        "{args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The answer of `sql` over database `db`, as csv.
fn answer_csv(db: &str, sql: &str) -> String {
    ok(&[db, "-o", "csv", "-c", sql])
}

fn err(args: &[&str]) -> String {
    let o = logdb(args);
    assert!(!o.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const CREATE: &str = "CREATE TABLE t (i BIGINT, s VARCHAR, d DOUBLE, ts TIMESTAMP, dt DATE, \
                      b BOOLEAN, e VARCHAR)";

/// The rows of the fixtures (DuckDB made them from the same VALUES).
const INSERT: &str = "INSERT INTO t VALUES \
    (1, 'a,b', 1.5, TIMESTAMP '2024-01-02 03:04:05.123', DATE '2024-01-02', true, NULL), \
    (2, 'he said \"hi\"', 1e20, TIMESTAMP '2024-01-02 03:04:05', NULL, false, ''), \
    (3, 'line\ntwo', 0.1, NULL, DATE '2024-01-03', NULL, 'x'), \
    (4, 'tab\tq''', 1e-7, TIMESTAMP '1969-12-31 23:59:59.5', DATE '0001-01-01', true, 'NA')";

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/files/copy")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn database(dir: &Path) -> String {
    let db = dir.join("db");
    ok(&[s(&db), "-c", CREATE, "-c", INSERT]);
    s(&db).to_string()
}

#[test]
fn copy_to_writes_the_bytes_duckdb_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = |name: &str| dir.path().join(name);
    let copies = [
        (format!("COPY t TO '{}'", s(&out("table.csv"))), "table.csv"),
        (
            format!("COPY t TO '{}'", s(&out("table.json"))),
            "table.json",
        ),
        (
            format!(
                "COPY (SELECT * FROM t ORDER BY i DESC) TO '{}' \
                 (DELIMITER '|', NULL 'NA', HEADER false, QUOTE '''')",
                s(&out("options.csv"))
            ),
            "options.csv",
        ),
        (
            format!(
                "COPY (SELECT i, d, d * 1e15 AS big, -d AS neg FROM t) TO '{}' (FORMAT json)",
                s(&out("doubles.json"))
            ),
            "doubles.json",
        ),
    ];
    for (sql, name) in &copies {
        let printed = ok(&[&db, "-o", "csv", "-c", sql]);
        assert_eq!(printed, "Count\n4\n", "{sql}");
        assert_eq!(
            String::from_utf8(std::fs::read(out(name)).unwrap()).unwrap(),
            String::from_utf8(fixture(name)).unwrap(),
            "{name}"
        );
    }
    // Compressed by the name, or by COMPRESSION.
    let gz = out("t.csv.gz");
    ok(&[&db, "-c", &format!("COPY t TO '{}'", s(&gz))]);
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, fixture("table.csv"));
    let zst = out("t.json.zst");
    ok(&[&db, "-c", &format!("COPY t TO '{}'", s(&zst))]);
    let text = zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap();
    assert_eq!(text, fixture("table.json"));
    let plain = out("plain.data");
    ok(&[
        &db,
        "-c",
        &format!("COPY t TO '{}' (FORMAT csv, COMPRESSION gzip)", s(&plain)),
    ]);
    assert_eq!(&std::fs::read(&plain).unwrap()[..2], &[0x1f, 0x8b]);
}

#[test]
fn copy_to_errors_are_positioned_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let file = dir.path().join("x.csv");
    let f = s(&file);
    std::fs::write(&file, "old").unwrap();
    let e = err(&[&db, "-c", &format!("COPY t TO '{f}'")]);
    assert!(e.contains("exists; add (OVERWRITE) to replace it"), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
    ok(&[&db, "-c", &format!("COPY t TO '{f}' (OVERWRITE)")]);
    assert_eq!(std::fs::read(&file).unwrap(), fixture("table.csv"));
    ok(&[
        &db,
        "-c",
        &format!("COPY t TO '{f}' (OVERWRITE_OR_IGNORE true)"),
    ]);
    std::fs::remove_file(&file).unwrap();

    for (sql, want) in [
        (format!("COPY t TO '{f}' (FOO 1)"), "line 1, column"),
        (
            format!("COPY t TO '{f}' (FOO 1)"),
            "unknown COPY option FOO",
        ),
        (
            format!("COPY t TO '{f}' (FORMAT parquet, COMPRESSION brotli)"),
            "unknown Parquet COMPRESSION 'brotli'",
        ),
        (
            format!("COPY t TO '{f}' (FORMAT xml)"),
            "unknown FORMAT 'xml'",
        ),
        (
            format!("COPY t TO '{f}' (PARTITION_BY (nope))"),
            "PARTITION_BY column 'nope' is not in the result",
        ),
        (
            format!("COPY t TO '{}/no/such/dir/x.csv'", s(dir.path())),
            "directory",
        ),
        (format!("COPY nope TO '{f}'"), "unknown table 'nope'"),
        (
            format!("COPY (SELECT nope FROM t) TO '{f}'"),
            "line 1, column 14",
        ),
        (format!("COPY t TO '{f}' (QUOTE 'ab')"), "one character"),
    ] {
        let e = err(&[&db, "-c", &sql]);
        assert!(e.contains(want), "{sql}: {e}");
    }
    // A query that fails while rows are written leaves neither file nor .tmp.
    let e = err(&[
        &db,
        "-c",
        "SET memory_limit = '2MB'",
        "-c",
        &format!(
            "COPY (SELECT range % 500000 AS k, count(*) AS n FROM range(2000000) GROUP BY k) \
             TO '{f}'"
        ),
    ]);
    assert!(e.contains("memory limit"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("db")]);
}

/// A million rows stream into the file under a memory limit they would pass
/// if held.
#[test]
fn copy_to_streams_under_a_small_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    let out = ok(&[
        "-o",
        "csv",
        "-c",
        "SET memory_limit = '8MB'",
        "-c",
        &format!(
            "COPY (SELECT range AS i, 'row ' || range AS s FROM range(1000000)) TO '{}'",
            s(&file)
        ),
    ]);
    assert_eq!(out, "Success\nCount\n1000000\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 1_000_001);
    assert!(text.ends_with("999999,row 999999\n"));
}

#[test]
fn copy_from_appends_a_files_rows_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "a,b\n1,x\n2,\n3,\"y,z\"\n").unwrap();
    ok(&[db, "-c", "CREATE TABLE u (n BIGINT, label VARCHAR)"]);
    let out = ok(&[db, "-o", "csv", "-c", &format!("COPY u FROM '{}'", s(&csv))]);
    assert_eq!(out, "Count\n3\n");
    let json = dir.path().join("in.json");
    std::fs::write(&json, "{\"k\":4,\"v\":\"w\"}\n").unwrap();
    let out = answer_csv(db, &format!("COPY u FROM '{}' (FORMAT json)", s(&json)));
    assert_eq!(out, "Count\n1\n");
    let rows = ok(&[db, "-o", "csv", "-c", "SELECT n, label FROM u ORDER BY n"]);
    assert_eq!(rows, "n,label\n1,x\n2,\n3,\"y,z\"\n4,w\n");

    // A round trip: COPY TO, then COPY FROM into a table of the same columns.
    let back = dir.path().join("back.csv");
    ok(&[db, "-c", &format!("COPY u TO '{}'", s(&back))]);
    ok(&[db, "-c", "CREATE TABLE v (n BIGINT, label VARCHAR)"]);
    ok(&[db, "-c", &format!("COPY v FROM '{}'", s(&back))]);
    let again = ok(&[db, "-o", "csv", "-c", "SELECT n, label FROM v ORDER BY n"]);
    assert_eq!(again, rows);

    let e = err(&[db, "-c", &format!("COPY nope FROM '{}'", s(&csv))]);
    assert!(e.contains("unknown table 'nope'"), "{e}");
    let e = err(&[db, "-c", &format!("COPY u FROM '{}' (BOGUS 1)", s(&csv))]);
    assert!(e.contains("unknown COPY option BOGUS"), "{e}");
}

#[test]
fn copy_from_csv_fails_on_a_bad_line_naming_it_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    ok(&[
        db,
        "-c",
        "CREATE TABLE t (i BIGINT, s VARCHAR)",
        "-c",
        "INSERT INTO t VALUES (0, 'before')",
    ]);
    let count = || ok(&[db, "-o", "csv", "-c", "SELECT count(*) AS n FROM t"]);

    // Line 4 (the header is line 1) holds a value that is not a BIGINT: the file's
    // column is inferred as VARCHAR, and DuckDB names the line too.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "i,s\n1,a\n2,b\nx,c\n4,d\n").unwrap();
    let e = err(&[db, "-c", &format!("COPY t FROM '{}'", s(&bad))]);
    let want = format!(
        "COPY t FROM '{}': line 4: column 'i': 'x' is not a BIGINT (the file's column is VARCHAR)",
        s(&bad)
    );
    assert!(e.contains(&want), "{e}");
    assert_eq!(count(), "n\n1\n");

    // A bad value past the sample (64 KiB and 1,000 lines at least), whose lines
    // made the column BIGINT: no type to add.
    let mut late = String::from("i,s\n");
    for k in 0..20_000 {
        late.push_str(&format!("{k},v\n"));
    }
    late.push_str("1e999x,w\n");
    let late_file = dir.path().join("late.csv");
    std::fs::write(&late_file, late).unwrap();
    let e = err(&[db, "-c", &format!("COPY t FROM '{}'", s(&late_file))]);
    assert!(
        e.contains(": line 20002: column 'i': '1e999x' is not a BIGINT\n"),
        "{e}"
    );
    assert_eq!(count(), "n\n1\n");

    // A line of the wrong width fails the COPY too (DuckDB: a sniffing error).
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, "i,s\n1,a\n2,b,extra\n").unwrap();
    let e = err(&[db, "-c", &format!("COPY t FROM '{}'", s(&wide))]);
    assert!(e.contains(": line 3: expected 2 fields, found 3"), "{e}");
    assert_eq!(count(), "n\n1\n");

    // Of a glob, the file with the bad line is named.
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("a.csv"), "i,s\n1,a\n").unwrap();
    std::fs::write(parts.join("b.csv"), "i,s\n2,b\n3,c\nbad,d\n").unwrap();
    let pattern = format!("{}/*.csv", s(&parts));
    let e = err(&[db, "-c", &format!("COPY t FROM '{pattern}'")]);
    let want = format!(
        "COPY t FROM '{pattern}': {}: line 4: column 'i': 'bad' is not a BIGINT",
        s(&parts.join("b.csv"))
    );
    assert!(e.contains(&want), "{e}");
    assert_eq!(count(), "n\n1\n");

    // Without HEADER, a first line whose values fit the table's types is data
    // (DuckDB's sniff); with (HEADER) it is skipped.
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "7,g\n8,h\n").unwrap();
    let out = answer_csv(db, &format!("COPY t FROM '{}'", s(&plain)));
    assert_eq!(out, "Count\n2\n");
    let out = answer_csv(db, &format!("COPY t FROM '{}' (HEADER)", s(&plain)));
    assert_eq!(out, "Count\n1\n");
    let rows = ok(&[db, "-o", "csv", "-c", "SELECT i, s FROM t ORDER BY i, s"]);
    assert_eq!(rows, "i,s\n0,before\n7,g\n8,h\n8,h\n");
}

/// `(FORMAT json, ARRAY true)` writes DuckDB's array layout byte for byte (no
/// rows: `[`, a tab line, `]`); `COPY ... FROM` reads an array back, detected by
/// its first byte or named by `ARRAY true`, and refuses ARRAY for other formats.
#[test]
fn copy_json_arrays_to_and_from() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = |name: &str| dir.path().join(name);
    let printed = answer_csv(
        &db,
        &format!(
            "COPY t TO '{}' (FORMAT json, ARRAY true)",
            s(&out("table_array.json"))
        ),
    );
    assert_eq!(printed, "Count\n4\n");
    assert_eq!(
        String::from_utf8(std::fs::read(out("table_array.json")).unwrap()).unwrap(),
        String::from_utf8(fixture("table_array.json")).unwrap()
    );
    ok(&[
        &db,
        "-c",
        &format!(
            "COPY (SELECT * FROM t WHERE false) TO '{}' (ARRAY)",
            s(&out("empty.json"))
        ),
    ]);
    assert_eq!(std::fs::read(out("empty.json")).unwrap(), b"[\n\t\n]\n");
    // Compressed, it is the same text inside.
    ok(&[
        &db,
        "-c",
        &format!("COPY t TO '{}' (ARRAY true)", s(&out("t.json.gz"))),
    ]);
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(out("t.json.gz")).unwrap()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, fixture("table_array.json"));

    // Read back: by detection, and with ARRAY true.
    let create = CREATE.replace("TABLE t ", "TABLE back ");
    ok(&[&db, "-c", &create]);
    let array = s(&out("table_array.json")).to_string();
    let copied = ok(&[
        &db,
        "-o",
        "csv",
        "-c",
        &format!("COPY back FROM '{array}'"),
        "-c",
        &format!("COPY back FROM '{array}' (FORMAT json, ARRAY true)"),
    ]);
    // The row without a ts is kept with a NULL ts, as DuckDB keeps it.
    assert_eq!(copied, "Count\n4\nCount\n4\n");
    let want = answer_csv(
        &db,
        "SELECT * FROM (SELECT * FROM t UNION ALL SELECT * FROM t) ORDER BY i",
    );
    let got = ok(&[&db, "-o", "csv", "-c", "SELECT * FROM back ORDER BY i"]);
    assert_eq!(got, want);

    let e = err(&[
        &db,
        "-c",
        &format!("COPY t TO '{}' (FORMAT csv, ARRAY true)", s(&out("x.csv"))),
    ]);
    assert!(e.contains("COPY: ARRAY is an option of FORMAT json"), "{e}");
    assert!(!out("x.csv").exists());
    let e = err(&[
        &db,
        "-c",
        &format!("COPY back FROM '{}' (ARRAY true)", s(&out("x.csv"))),
    ]);
    assert!(e.contains("COPY: ARRAY is an option of FORMAT json"), "{e}");
    // ARRAY true on newline-delimited records: the array's '[' is missing.
    ok(&[&db, "-c", &format!("COPY t TO '{}'", s(&out("lines.json")))]);
    let e = err(&[
        &db,
        "-c",
        &format!(
            "COPY back FROM '{}' (FORMAT json, ARRAY true)",
            s(&out("lines.json"))
        ),
    ]);
    assert!(
        e.contains("malformed JSON array at byte 0 (line 1): expected '['"),
        "{e}"
    );
}

/// The files of a directory, by name, with their sizes.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    out.sort_by_key(|(n, _)| {
        n.trim_start_matches("data_")
            .split('.')
            .next()
            .and_then(|k| k.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    });
    out
}

/// `FILE_SIZE_BYTES` starts the next `data_N` file once one passes the size:
/// a million csv rows at '1MB' give the seven files DuckDB writes, byte for
/// byte the same sizes (each with its header); Parquet files pass the size by
/// less than a row group; with PARTITION_BY every partition rotates on its own;
/// an empty result is one file with its header.
#[test]
fn copy_file_size_bytes_rotates_files_as_duckdb_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    let out = |name: &str| dir.path().join(name);
    let printed = answer_csv(
        db,
        &format!(
            "COPY (SELECT range FROM range(1000000)) TO '{}' (FORMAT csv, FILE_SIZE_BYTES '1MB')",
            s(&out("csv"))
        ),
    );
    assert_eq!(printed, "Count\n1000000\n");
    // DuckDB 2.0: COPY (SELECT * FROM range(1000000)) TO 'csv' (FORMAT csv,
    // FILE_SIZE_BYTES '1MB').
    let duckdb: Vec<(String, u64)> = [1007104, 1003526, 1003526, 1003526, 1003526, 1003526, 864198]
        .iter()
        .enumerate()
        .map(|(i, &n)| (format!("data_{i}.csv"), n))
        .collect();
    assert_eq!(listing(&out("csv")), duckdb);
    let second = std::fs::read_to_string(out("csv").join("data_1.csv")).unwrap();
    assert!(second.starts_with("range\n"), "{}", &second[..20]);
    let total = answer_csv(
        db,
        &format!(
            "SELECT count(*), sum(range) FROM '{}/*.csv'",
            s(&out("csv"))
        ),
    );
    assert_eq!(total, "count(*),sum(range)\n1000000,499999500000\n");

    // Parquet: a file ends after the row group that takes it past the size.
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT range AS v, 'x' || range AS s FROM range(1000000)) TO '{}' \
             (FORMAT parquet, FILE_SIZE_BYTES 1000000)",
            s(&out("pq"))
        ),
    ]);
    let files = listing(&out("pq"));
    assert!(files.len() > 3, "{files:?}");
    for (name, size) in &files[..files.len() - 1] {
        assert!(
            (1_000_000..1_500_000).contains(size),
            "{name}: {size} bytes"
        );
    }
    let total = answer_csv(
        db,
        &format!("SELECT count(*), sum(v) FROM '{}/*.parquet'", s(&out("pq"))),
    );
    assert_eq!(total, "count(*),sum(v)\n1000000,499999500000\n");

    // Every partition rotates on its own; names restart at data_0 in each.
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT range AS v, range % 3 AS p FROM range(300000)) TO '{}' \
             (FORMAT csv, FILE_SIZE_BYTES '500kb', PARTITION_BY (p))",
            s(&out("part"))
        ),
    ]);
    for p in 0..3 {
        let names: Vec<String> = listing(&out("part").join(format!("p={p}")))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["data_0.csv", "data_1.csv"], "p={p}");
    }
    // No rows: one file, the header alone; gzip names the files .csv.gz.
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1 AS x WHERE false) TO '{}' (FILE_SIZE_BYTES 1000)",
            s(&out("empty"))
        ),
    ]);
    assert_eq!(listing(&out("empty")), [("data_0.csv".to_string(), 2)]);
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT range FROM range(100000)) TO '{}' (COMPRESSION gzip, \
             FILE_SIZE_BYTES '100kb')",
            s(&out("gz"))
        ),
    ]);
    let gz = listing(&out("gz"));
    assert!(
        gz.len() > 1 && gz.iter().all(|(n, _)| n.ends_with(".csv.gz")),
        "{gz:?}"
    );
}

/// `PER_THREAD_OUTPUT`: one file per writer thread, `data_0` .. `data_<n-1>`,
/// together every row once (each with its header), rotating too with
/// FILE_SIZE_BYTES.
#[test]
fn copy_per_thread_output_writes_a_file_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    let out = |name: &str| dir.path().join(name);
    let printed = answer_csv(
        db,
        &format!(
            "SET threads = 4; COPY (SELECT range AS v FROM range(3000000)) TO '{}' \
             (FORMAT csv, PER_THREAD_OUTPUT true)",
            s(&out("pt"))
        ),
    );
    assert!(printed.ends_with("Count\n3000000\n"), "{printed}");
    let files = listing(&out("pt"));
    assert!((1..=4).contains(&files.len()), "{files:?}");
    for (i, (name, _)) in files.iter().enumerate() {
        assert_eq!(name, &format!("data_{i}.csv"));
        let text = std::fs::read_to_string(out("pt").join(name)).unwrap();
        assert!(text.starts_with("v\n"), "{name}");
    }
    let total = answer_csv(
        db,
        &format!(
            "SELECT count(*), count(DISTINCT v), sum(v) FROM '{}/*.csv'",
            s(&out("pt"))
        ),
    );
    assert_eq!(
        total,
        "count(*),count(DISTINCT v),sum(v)\n3000000,3000000,4499998500000\n"
    );

    ok(&[
        db,
        "-c",
        &format!(
            "SET threads = 2; COPY (SELECT range AS v FROM range(1000000)) TO '{}' \
             (FORMAT parquet, PER_THREAD_OUTPUT, FILE_SIZE_BYTES '1MB')",
            s(&out("pq"))
        ),
    ]);
    let files = listing(&out("pq"));
    for (i, (name, _)) in files.iter().enumerate() {
        assert_eq!(name, &format!("data_{i}.parquet"), "{files:?}");
    }
    let total = answer_csv(
        db,
        &format!("SELECT count(*), sum(v) FROM '{}/*.parquet'", s(&out("pq"))),
    );
    assert_eq!(total, "count(*),sum(v)\n1000000,499999500000\n");
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1 AS x WHERE false) TO '{}' (FORMAT json, PER_THREAD_OUTPUT)",
            s(&out("empty"))
        ),
    ]);
    assert_eq!(listing(&out("empty")), [("data_0.json".to_string(), 0)]);
}

/// The refusals of directory outputs, and a COPY that fails midway leaves no
/// file and no directory of its own.
#[test]
fn copy_to_a_directory_refuses_what_it_cannot_do_and_leaves_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    let out = |name: &str| dir.path().join(name);
    let e = err(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1 AS a, 2 AS b) TO '{}' (PER_THREAD_OUTPUT, PARTITION_BY (a))",
            s(&out("x"))
        ),
    ]);
    assert!(
        e.contains("PER_THREAD_OUTPUT and PARTITION_BY cannot be combined"),
        "{e}"
    );
    for bad in ["'abc'", "'-5MB'", "-1", "'10 parsecs'"] {
        let e = err(&[
            db,
            "-c",
            &format!(
                "COPY (SELECT 1) TO '{}' (FILE_SIZE_BYTES {bad})",
                s(&out("x"))
            ),
        ]);
        assert!(
            e.contains("COPY: FILE_SIZE_BYTES takes a size in bytes"),
            "{bad}: {e}"
        );
    }
    std::fs::write(out("file"), "x").unwrap();
    let e = err(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1) TO '{}' (PER_THREAD_OUTPUT)",
            s(&out("file"))
        ),
    ]);
    assert!(
        e.contains("is a file; PER_THREAD_OUTPUT writes a directory"),
        "{e}"
    );
    std::fs::create_dir(out("full")).unwrap();
    std::fs::write(out("full").join("other.txt"), "x").unwrap();
    let e = err(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1) TO '{}' (FILE_SIZE_BYTES 10)",
            s(&out("full"))
        ),
    ]);
    assert!(e.contains("is not empty; add (OVERWRITE_OR_IGNORE)"), "{e}");
    ok(&[
        db,
        "-c",
        &format!(
            "COPY (SELECT 1 AS x) TO '{}' (FILE_SIZE_BYTES 10, OVERWRITE_OR_IGNORE)",
            s(&out("full"))
        ),
    ]);
    assert_eq!(
        listing(&out("full")),
        [("data_0.csv".to_string(), 4), ("other.txt".to_string(), 1)]
    );
    // A value that fails to convert far into the result: files were written
    // (under temporary names) before it; none is left, nor the directory.
    for options in ["FILE_SIZE_BYTES '100kb'", "PER_THREAD_OUTPUT"] {
        let e = err(&[
            db,
            "-c",
            &format!(
                "COPY (SELECT CAST(CASE WHEN range < 900000 THEN '1' ELSE 'x' END AS INTEGER) \
                 AS v FROM range(1000000)) TO '{}' ({options})",
                s(&out("failed"))
            ),
        ]);
        assert!(e.contains("'x'"), "{options}: {e}");
        assert!(!out("failed").exists(), "{options}");
    }
}
