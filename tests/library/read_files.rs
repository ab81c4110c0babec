//! Files in place: `read_log`, `read_csv`, `read_json` and `FROM 'file'` give the
//! rows `logdb import` would store from the same file, stream (a LIMIT stops the
//! reading), count and report rejected lines, read globs, directories, `.gz` and
//! `.zst`, and are refused where reading files is off.

use std::io::Write;
use std::path::{Path, PathBuf};

use logdb::import::{import, ImportOptions, Quiet, Source};
use logdb::{Db, Session};

fn real(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/real")
        .join(file)
}

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/files")
        .join(file)
}

fn sorted_rows(db: &Db, sql: &str) -> Vec<Vec<String>> {
    let mut rows = db
        .query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .text_rows();
    rows.sort();
    rows
}

fn quoted(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "''"))
}

fn combined(i: usize) -> String {
    format!(
        "10.0.0.{} - - [01/May/2024:10:{:02}:{:02} +0000] \"GET /p/{i}?uid=u{} HTTP/1.1\" {} {} \"-\" \"curl/8\"",
        i % 250,
        (i / 60) % 60,
        i % 60,
        i % 7,
        [200, 404, 500][i % 3],
        i * 10
    )
}

/// Imports each real sample (combined, ELB, ALB) into table `t<i>`; returns the
/// file names and paths.
fn import_real_samples(db: &Db) -> Vec<(&'static str, PathBuf)> {
    let files = [
        "apache_combined_2015.log",
        "elb_classic_samples.log",
        "alb_samples.log",
    ];
    let mut out = Vec::new();
    for (i, file) in files.into_iter().enumerate() {
        let path = real(file);
        let mut opts = ImportOptions::new("auto");
        opts.table = format!("t{i}");
        import(db, &[Source::Path(path.clone())], &opts, &mut Quiet).unwrap();
        out.push((file, path));
    }
    out
}

/// Every row of `read_log` over each real sample equals the rows `logdb
/// import --format auto` stores from it (compared sorted: import orders by time).
#[test]
fn read_log_gives_the_rows_import_stores() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    for (i, (file, path)) in import_real_samples(&db).into_iter().enumerate() {
        let imported = sorted_rows(&db, &format!("SELECT * FROM t{i}"));
        let read = sorted_rows(&db, &format!("SELECT * FROM read_log({})", quoted(&path)));
        assert_eq!(read.len(), imported.len(), "{file}");
        assert!(read == imported, "{file}: read_log differs from import");
        // The same through FROM 'file' and an aggregate.
        let q = |from: &str| {
            sorted_rows(
                &db,
                &format!(
                    "SELECT count(*), count(DISTINCT client_ip), sum(bytes), min(ts), max(ts), \
                     count(uid), status FROM {from} GROUP BY status"
                ),
            )
        };
        assert_eq!(q(&quoted(&path)), q(&format!("t{i}")), "{file}");
        // The schema is import's.
        let cols = |sql: &str| db.query(sql).unwrap().columns;
        assert_eq!(
            cols(&format!("SELECT * FROM {} LIMIT 0", quoted(&path))),
            cols(&format!("SELECT * FROM t{i} LIMIT 0")),
            "{file}"
        );
    }
}

/// A query that uses some columns builds only those, and each one alone is the
/// column import stores; the rows and rejected lines do not depend on the columns
/// asked for.
#[test]
fn each_column_alone_is_the_column_import_stores() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    for (i, (file, path)) in import_real_samples(&db).into_iter().enumerate() {
        let columns = db
            .query(&format!("SELECT * FROM t{i} LIMIT 0"))
            .unwrap()
            .columns;
        for (name, _) in &columns {
            let read = sorted_rows(
                &db,
                &format!("SELECT \"{name}\" FROM read_log({})", quoted(&path)),
            );
            let stored = sorted_rows(&db, &format!("SELECT \"{name}\" FROM t{i}"));
            assert!(read == stored, "{file}: column {name} differs");
        }
        let plan = db
            .query(&format!(
                "EXPLAIN SELECT uid, status FROM read_log({})",
                quoted(&path)
            ))
            .unwrap()
            .text_rows()
            .concat()
            .join("\n");
        assert!(
            plan.contains(&format!("2 of {} columns", columns.len())),
            "{plan}"
        );
    }
    // Rejects are the same whatever the query builds.
    let log = dir.path().join("mixed.log");
    let mut text = String::new();
    for i in 0..300 {
        match i % 40 {
            3 => text.push_str("not a log line"),
            9 => text.push_str(
                &combined(i)
                    .replace("GET /p", "GET \\/p")
                    .replace(" 200 ", " 2x0 "),
            ),
            _ => text.push_str(&combined(i)),
        }
        text.push('\n');
    }
    std::fs::write(&log, &text).unwrap();
    let mut notices = Vec::new();
    for select in [
        "count(*)",
        "count(uid)",
        "count(status), min(uri)",
        "count(*), max(user_agent)",
    ] {
        let mut session = Session::new(db.clone());
        let r = session
            .execute(&format!("SELECT {select} FROM read_log({})", quoted(&log)))
            .unwrap();
        assert!(!r.text_rows().is_empty());
        notices.push(session.take_notices());
    }
    assert!(notices[0][0].contains("rejected"), "{:?}", notices[0]);
    assert!(notices.iter().all(|n| *n == notices[0]), "{notices:?}");
}

/// A record without a time reads with a NULL time, as DuckDB reads it; import
/// rejects it (a table's time column is NOT NULL), and so does COPY into such a
/// table, naming the column, with nothing appended.
#[test]
fn records_without_a_time_read_with_a_null_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let jsonl = dir.path().join("e.jsonl");
    std::fs::write(
        &jsonl,
        "{\"ts\": \"2024-05-01 10:00:00\", \"user\": \"a\"}\n\
         {\"user\": \"b\"}\n\
         {\"ts\": null, \"user\": \"c\"}\n\
         {\"ts\": \"2024-05-01 11:00:00\", \"user\": \"d\"}\n",
    )
    .unwrap();
    let csv = dir.path().join("e.csv");
    std::fs::write(
        &csv,
        "ts,user\n2024-05-01 10:00:00,a\n,b\n2024-05-01 11:00:00,d\n",
    )
    .unwrap();
    for (file, rows) in [(&jsonl, 4), (&csv, 3)] {
        let r = sorted_rows(
            &db,
            &format!(
                "SELECT count(*), count(ts), min(user), max(user) FROM {}",
                quoted(file)
            ),
        );
        assert_eq!(r, [[rows.to_string(), "2".into(), "a".into(), "d".into()]]);
    }
    let mut opts = ImportOptions::new("jsonl");
    opts.table = "events".into();
    let stats = import(&db, &[Source::Path(jsonl.clone())], &opts, &mut Quiet).unwrap();
    assert_eq!((stats.rows, stats.rejected), (2, 2));
    let e = db
        .query(&format!("COPY events FROM {}", quoted(&jsonl)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ts"), "{e}");
    assert_eq!(
        sorted_rows(&db, "SELECT count(*) FROM events"),
        [["2".to_string()]]
    );
}

/// read_csv and read_json make the columns and types import infers.
#[test]
fn records_files_get_imports_columns_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    for (file, format) in [("users.csv", "csv"), ("events.jsonl", "jsonl")] {
        let path = fixture(file);
        let mut opts = ImportOptions::new(format);
        opts.table = "r".into();
        import(&db, &[Source::Path(path.clone())], &opts, &mut Quiet).unwrap();
        let from_table = db.query("SELECT * FROM r").unwrap();
        let from_file = db
            .query(&format!("SELECT * FROM {}", quoted(&path)))
            .unwrap();
        assert_eq!(from_file.columns, from_table.columns, "{file}");
        let (mut a, mut b) = (from_file.text_rows(), from_table.text_rows());
        a.sort();
        b.sort();
        assert_eq!(a, b, "{file}");
        db.query("DROP TABLE r").unwrap();
    }
}

/// Rejected lines: the query succeeds, a notice gives the count and the first
/// one's file:line, `reject_file` gets their text, and lines = rows + rejects.
#[test]
fn rejected_lines_are_counted_reported_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let log = dir.path().join("mixed.log");
    let mut text = String::new();
    let mut bad = Vec::new();
    for i in 0..500 {
        if i % 50 == 7 {
            let line = format!("garbage line {i}");
            text.push_str(&line);
            bad.push(line);
        } else {
            text.push_str(&combined(i));
        }
        text.push('\n');
    }
    std::fs::write(&log, &text).unwrap();
    let rejects = dir.path().join("rejects.txt");
    let mut session = Session::new(db.clone());
    let r = session
        .execute(&format!(
            "SELECT count(*) FROM read_log({}, reject_file := {})",
            quoted(&log),
            quoted(&rejects)
        ))
        .unwrap();
    let rows: usize = r.text_rows()[0][0].parse().unwrap();
    assert_eq!(rows + bad.len(), 500, "lines = rows + rejects");
    let notices = session.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let want = format!(
        "read_log: {} of 500 lines rejected; first: {}:8:",
        bad.len(),
        log.display()
    );
    assert!(notices[0].starts_with(&want), "{}", notices[0]);
    let saved = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(saved.lines().collect::<Vec<_>>(), bad);
    // No rejects, no notice.
    session
        .execute(&format!(
            "SELECT count(*) FROM {}",
            quoted(&real("alb_samples.log"))
        ))
        .unwrap();
    assert!(session.take_notices().is_empty());
}

/// .gz and .zst are read through; a glob reads every file it matches, a
/// directory every file below it, and `filename` names each row's file.
#[test]
fn compressed_files_globs_directories_and_the_filename_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("old")).unwrap();
    let lines = |from: usize, n: usize| -> String {
        (from..from + n).map(|i| combined(i) + "\n").collect()
    };
    std::fs::write(logs.join("a.log"), lines(0, 100)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(lines(100, 200).as_bytes()).unwrap();
    std::fs::write(logs.join("b.log.gz"), gz.finish().unwrap()).unwrap();
    let zst = zstd::stream::encode_all(lines(300, 300).as_bytes(), 3).unwrap();
    std::fs::write(logs.join("old/c.log.zst"), zst).unwrap();

    let count = |from: &str| -> String {
        db.query(&format!("SELECT count(*) FROM {from}"))
            .unwrap()
            .text_rows()[0][0]
            .clone()
    };
    assert_eq!(count(&quoted(&logs.join("b.log.gz"))), "200");
    assert_eq!(count(&quoted(&logs.join("old/c.log.zst"))), "300");
    assert_eq!(
        count(&format!("read_log({})", quoted(&logs.join("*.log*")))),
        "300"
    );
    assert_eq!(
        count(&format!("read_log({})", quoted(&logs.join("**/*.zst")))),
        "300"
    );
    assert_eq!(count(&format!("read_log({})", quoted(&logs))), "600");
    let per_file = sorted_rows(
        &db,
        &format!(
            "SELECT filename, count(*), min(bytes) FROM read_log({}, filename := true) GROUP BY filename",
            quoted(&logs)
        ),
    );
    let name = |f: &str| logs.join(f).display().to_string();
    assert_eq!(
        per_file,
        vec![
            vec![name("a.log"), "100".into(), "0".into()],
            vec![name("b.log.gz"), "200".into(), "1000".into()],
            vec![name("old/c.log.zst"), "300".into(), "3000".into()],
        ]
    );
}

/// A LIMIT stops the reading: a second file that cannot be read is never
/// reached, while the same query without LIMIT fails naming it.
#[test]
fn a_limit_stops_reading_early() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let text: String = (0..2000).map(|i| combined(i) + "\n").collect();
    std::fs::write(dir.path().join("a.log"), text).unwrap();
    // Not gzip at all, but named so: reading it fails.
    std::fs::write(dir.path().join("b.log.gz"), b"this is not gzip data\n").unwrap();
    let glob = quoted(&dir.path().join("*.log*"));
    for sql in [
        format!("SELECT * FROM read_log({glob}) LIMIT 5"),
        format!("SELECT ts, status FROM read_log({glob}) WHERE status = 404 LIMIT 3"),
    ] {
        let r = db.query(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(r.num_rows() > 0 && r.num_rows() <= 5, "{sql}");
    }
    let err = db
        .query(&format!("SELECT count(*) FROM read_log({glob})"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("b.log.gz"), "{err}");
}

/// Errors name the file; EXPLAIN names the reader and its format.
#[test]
fn errors_name_the_file_and_explain_names_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let missing = dir.path().join("missing.log");
    let err = db
        .query(&format!("SELECT * FROM read_log({})", quoted(&missing)))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = db
        .query(&format!("SELECT * FROM {}", quoted(&empty)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no files in"), "{err}");
    let plan = db
        .query(&format!(
            "EXPLAIN SELECT status, count(*) FROM read_log({}) GROUP BY 1",
            quoted(&real("elb_classic_samples.log"))
        ))
        .unwrap()
        .text_rows()
        .concat()
        .join("\n");
    assert!(
        plan.contains("TableFunction: read_log(") && plan.contains("format=elb"),
        "{plan}"
    );
}

/// With file reading off (as `logdb serve` runs without --allow-file-read) the
/// readers are refused before any file is touched.
#[test]
fn file_reading_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let mut session = Session::new(db);
    session.options_mut().allow_file_read = false;
    for sql in [
        format!(
            "SELECT * FROM read_log({})",
            quoted(&real("alb_samples.log"))
        ),
        format!("SELECT * FROM {}", quoted(&fixture("users.csv"))),
        "SELECT * FROM read_csv('/etc/passwd')".to_string(),
    ] {
        let err = session.execute(&sql).unwrap_err().to_string();
        assert!(err.contains("reading files is disabled"), "{sql}: {err}");
    }
}

/// `log_format` reads an nginx layout, as `logdb import --format nginx
/// --log-format` does.
#[test]
fn nginx_log_format_matches_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let log = dir.path().join("n.log");
    let layout = "$remote_addr [$time_local] \"$request\" $status $request_time";
    let text: String = (0..50)
        .map(|i| {
            format!(
                "10.1.0.{i} [01/May/2024:10:00:{:02} +0000] \"GET /x/{i}?uid=u{i} HTTP/1.1\" {} 0.{i:03}\n",
                i % 60,
                [200, 301, 502][i % 3]
            )
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let mut opts = ImportOptions::new("nginx");
    opts.parser.log_format = Some(layout.to_string());
    opts.table = "n".into();
    import(&db, &[Source::Path(log.clone())], &opts, &mut Quiet).unwrap();
    let read = sorted_rows(
        &db,
        &format!(
            "SELECT * FROM read_log({}, log_format := '{}')",
            quoted(&log),
            layout.replace('\'', "''")
        ),
    );
    assert_eq!(read.len(), 50);
    assert_eq!(read, sorted_rows(&db, "SELECT * FROM n"));
}

/// A JSON array of records (`format := 'array'`, or detected by `auto`): every
/// element is one row or one reject (elements = rows + rejects), rejects are
/// named by element number and saved as the element's text on one line, nested
/// values with commas and brackets stay inside their element, and a file whose
/// array breaks after the sample fails naming the file and the byte offset.
#[test]
fn json_arrays_count_elements_and_name_broken_structure() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let file = dir.path().join("events.json");
    let mut text = String::from("[\n");
    let mut bad = Vec::new();
    let n = 3000;
    for i in 0..n {
        if i > 0 {
            text.push_str(",\n");
        }
        if i % 500 == 3 {
            // Not an object: rejected, counted as one element.
            let e = format!("[{i}, \"not a record\"]");
            text.push_str(&e);
            bad.push(e);
        } else {
            text.push_str(&format!(
                "  {{\"id\": {i},\n    \"tags\": [\"a,b\", {{\"x\": \"]}}\"}}],\n    \"s\": \"r{i}\"}}"
            ));
        }
    }
    text.push_str("\n]\n");
    std::fs::write(&file, &text).unwrap();
    let rejects = dir.path().join("rejects.txt");
    for format in ["auto", "array"] {
        let mut session = Session::new(db.clone());
        let r = session
            .execute(&format!(
                "SELECT count(*), count(DISTINCT tags), max(id) FROM read_json({}, format := '{format}', \
                 reject_file := {})",
                quoted(&file),
                quoted(&rejects)
            ))
            .unwrap();
        let row = &r.text_rows()[0];
        let rows: usize = row[0].parse().unwrap();
        assert_eq!(rows + bad.len(), n, "elements = rows + rejects");
        assert_eq!(row[1], "1", "{row:?}");
        assert_eq!(row[2], (n - 1).to_string());
        let notices = session.take_notices();
        let want = format!(
            "read_json: {} of {n} elements rejected; first: {}: element 4: not a JSON object",
            bad.len(),
            file.display()
        );
        assert!(notices[0].starts_with(&want), "{notices:?}");
        let saved = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(saved.lines().collect::<Vec<_>>(), bad);
    }
    let tags = db
        .query(&format!("SELECT tags FROM {} WHERE id = 1", quoted(&file)))
        .unwrap()
        .text_rows();
    assert_eq!(tags, [["[\"a,b\", {\"x\": \"]}\"}]"]]);
    let err = db
        .query(&format!(
            "SELECT count(*) FROM read_json({}, ignore_errors := false)",
            quoted(&file)
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{}: element 4: not a JSON object", file.display())),
        "{err}"
    );

    // Broken far past the sample: the query fails naming the file and where.
    let broken = dir.path().join("broken.json");
    let cut = text.rfind("},").unwrap() + 1;
    let mut b = text[..cut].to_string();
    let offset = b.len();
    b.push_str(" {\"id\": -1}\n]");
    std::fs::write(&broken, &b).unwrap();
    let line = b[..offset].matches('\n').count() + 1;
    let err = db
        .query(&format!("SELECT count(*) FROM {}", quoted(&broken)))
        .unwrap_err()
        .to_string();
    let want = format!(
        "read_json: {}: malformed JSON array at byte {} (line {line}): missing ',' after element {}",
        broken.display(),
        offset + 1,
        n - 1
    );
    assert!(err.contains(&want), "{err}\nwant {want}");
    // Cut short, and with junk after the array.
    std::fs::write(&broken, &text[..text.len() - 3]).unwrap();
    let err = db
        .query(&format!("SELECT count(*) FROM {}", quoted(&broken)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the input ends inside the array"), "{err}");
    std::fs::write(&broken, format!("{text}x")).unwrap();
    let err = db
        .query(&format!("SELECT count(*) FROM {}", quoted(&broken)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("'x' after the array's closing ']'"), "{err}");
    // Newline-delimited files are still read as lines under auto, and a glob
    // mixes both layouts, each file detected by its first byte.
    let lines = dir.path().join("others.json");
    std::fs::write(&lines, "{\"id\": 9000, \"tags\": null, \"s\": \"x\"}\n").unwrap();
    let count = db
        .query(&format!(
            "SELECT count(*) FROM read_json({})",
            quoted(&dir.path().join("*s.json"))
        ))
        .unwrap()
        .text_rows();
    assert_eq!(count, [[(n - bad.len() + 1).to_string()]]);
}

/// `types := ...` on an access log in csv keeps the file's own columns (no
/// mapping to the canonical ones) with the types set and the rest inferred; a
/// value that does not convert is a rejected line, counted in the notice.
#[test]
fn csv_types_keep_the_files_columns_and_reject_what_does_not_cast() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let file = dir.path().join("access.csv");
    std::fs::write(
        &file,
        "time,ip,method,path,status,bytes\n\
         2024-05-01 10:00:00,10.0.0.1,GET,/a,200,512\n\
         2024-05-01 10:00:01,10.0.0.2,POST,/b,404,0\n\
         2024-05-01 10:00:02,10.0.0.3,GET,/c,oops,12\n",
    )
    .unwrap();
    let columns = |sql: &str| -> Vec<String> {
        let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        r.columns.iter().map(|(n, t)| format!("{n} {t}")).collect()
    };
    // Inferred, it is an access log: the canonical columns.
    let plain = columns(&format!(
        "SELECT * FROM read_csv({}) LIMIT 0",
        quoted(&file)
    ));
    assert!(plain.contains(&"client_ip IP".to_string()), "{plain:?}");
    let typed = columns(&format!(
        "SELECT * FROM read_csv({}, types := {{'status': 'SMALLINT', 'ip': 'VARCHAR'}}) LIMIT 0",
        quoted(&file)
    ));
    assert_eq!(
        typed,
        [
            "time TIMESTAMP",
            "ip VARCHAR",
            "method VARCHAR",
            "path VARCHAR",
            "status SMALLINT",
            "bytes BIGINT"
        ]
    );
    let mut session = Session::new(db.clone());
    let r = session
        .execute(&format!(
            "SELECT ip, status FROM read_csv({}, types := {{'status': 'SMALLINT'}}) ORDER BY ip",
            quoted(&file)
        ))
        .unwrap();
    assert_eq!(r.text_rows(), [["10.0.0.1", "200"], ["10.0.0.2", "404"]]);
    let notices = session.take_notices();
    assert!(
        notices[0].starts_with(&format!(
            "read_csv: 1 of 3 lines rejected; first: {}:4: field 'status': 'oops' is not a SMALLINT",
            file.display()
        )),
        "{notices:?}"
    );
}
