//! `logdb import` for a newcomer: the format detected from the content (also when
//! compressed on stdin), a wrong `--format` stopped before it stores anything, a
//! second format in its own table, and records files that keep their own schema.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::cli::{field, logdb, real, stderr, stdout};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `logdb import DB ARGS...`, asserting it succeeds.
fn import_ok(db: &Path, args: &[&str]) -> Output {
    let mut all = vec!["import", s(db)];
    all.extend_from_slice(args);
    let o = logdb(&all);
    assert!(o.status.success(), "{all:?}\n{}{}", stdout(&o), stderr(&o));
    o
}

/// The rows of `sql` as CSV without the header.
fn query(db: &Path, sql: &str) -> String {
    let o = logdb(&[s(db), "-c", sql, "-o", "csv"]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    let out = stdout(&o);
    out.split_once('\n')
        .map_or("", |(_, rows)| rows)
        .to_string()
}

/// `logdb info DB [TABLE]` (all tables for an empty name).
fn info(db: &Path, table: &str) -> String {
    let mut args = vec!["info", s(db)];
    if !table.is_empty() {
        args.push(table);
    }
    stdout(&logdb(&args))
}

#[test]
fn every_real_sample_is_detected_and_each_format_gets_its_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // (file, format detected, table used, rows stored)
    for (file, format, table, rows) in [
        ("apache_combined_2015.log", "combined", "logs", 10000),
        ("elb_classic_samples.log", "elb", "elb", 7),
        ("alb_samples.log", "alb", "alb", 4),
    ] {
        let o = import_ok(&db, &[&real(file)]);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("format: {format} (detected from ")) && err.contains(file),
            "{file}: {err}"
        );
        if table != "logs" {
            assert!(err.contains(&format!("table: {table} (")), "{err}");
        }
        assert_eq!(field(&stdout(&o), "rows stored:"), rows.to_string());
        assert_eq!(
            query(&db, &format!("SELECT count(*) FROM {table}")).trim(),
            rows.to_string()
        );
    }
    // Importing the same file again goes where it went the first time.
    let o = import_ok(&db, &[&real("elb_classic_samples.log")]);
    assert!(stderr(&o).contains("table: elb"), "{}", stderr(&o));
    assert_eq!(query(&db, "SELECT count(*) FROM elb").trim(), "14");

    // A table named by the user is used as named: a mismatch says what to type.
    let o = logdb(&[
        "import",
        s(&db),
        &real("alb_samples.log"),
        "--table",
        "logs",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("table 'logs' exists with a different schema than format 'alb'")
            && stderr(&o).contains("--table alb"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn elb_imported_as_combined_stops_with_a_suggestion_and_leaves_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let o = logdb(&[
        "import",
        s(&db),
        &real("elb_classic_samples.log"),
        "--format",
        "combined",
    ]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("rejected 7 of the first 7 lines") && err.contains("--format elb"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(!info(&db, "").contains("table logs"), "{}", info(&db, ""));
    let o = logdb(&[s(&db), "-c", "SELECT count(*) FROM logs"]);
    assert!(!o.status.success());

    // An existing table with rows is never dropped: the wrong import leaves it as
    // it was.
    import_ok(&db, &[&real("apache_combined_2015.log"), "-f", "combined"]);
    let o = logdb(&["import", s(&db), &real("alb_samples.log"), "-f", "combined"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--format alb"), "{}", stderr(&o));
    assert_eq!(query(&db, "SELECT count(*) FROM logs").trim(), "10000");

    // The threshold can be raised: every line is then accounted for.
    let o = import_ok(
        &db,
        &[
            &real("elb_classic_samples.log"),
            "-f",
            "combined",
            "--table",
            "anyway",
            "--max-reject-ratio",
            "1",
        ],
    );
    let out = stdout(&o);
    assert_eq!(field(&out, "lines read:"), "7");
    assert_eq!(field(&out, "rows stored:"), "0");
    assert_eq!(field(&out, "lines rejected:"), "7");
    // --max-rejects alone replaces the ratio.
    let o = import_ok(
        &db,
        &[
            &real("elb_classic_samples.log"),
            "-f",
            "combined",
            "--table",
            "anyway",
            "--max-rejects",
            "10",
        ],
    );
    assert_eq!(field(&stdout(&o), "lines rejected:"), "7");
}

#[test]
fn gzip_on_stdin_is_decompressed_and_detected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(real("apache_combined_2015.log")).unwrap())
        .unwrap();
    let gz = gz.finish().unwrap();
    for format in [None, Some("combined")] {
        let mut args = vec!["import", s(&db), "-", "-q"];
        if let Some(f) = format {
            args.extend(["-f", f, "-t", "explicit"]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = gz.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let o = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        if format.is_none() {
            assert!(
                stderr(&o).contains("format: combined (detected from <stdin>, gzip-compressed)"),
                "{}",
                stderr(&o)
            );
        }
        assert_eq!(field(&stdout(&o), "lines read:"), "10000");
        assert_eq!(field(&stdout(&o), "rows stored:"), "10000");
    }
}

#[test]
fn csv_records_keep_their_own_columns_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let csv = dir.path().join("user_access.csv");
    let mut text = String::from("user_id,access_time,terminal,module,content\n");
    // Types are inferred from the first 1000 lines; a later value that does not fit
    // its column's type rejects its line.
    for i in 0..1200 {
        text.push_str(&format!(
            "{},2024-05-{:02} 10:{:02}:00,{},{},\"note {i}, with a comma\"\n",
            1000 + i % 7,
            1 + i % 3,
            i % 60,
            ["pc", "phone"][i % 2],
            ["login", "search", "cart"][i % 3],
        ));
    }
    text.push_str("oops,2024-05-01 10:00:00,pc,login,bad id\n");
    std::fs::write(&csv, &text).unwrap();
    let o = import_ok(&db, &[s(&csv)]);
    let err = stderr(&o);
    assert!(err.contains("format: csv (detected from"), "{err}");
    assert!(err.contains("table: user_access ("), "{err}");
    assert!(
        err.contains("field 'user_id': 'oops' is not an integer"),
        "{err}"
    );
    let out = stdout(&o);
    assert_eq!(field(&out, "lines read:"), "1201");
    assert_eq!(field(&out, "rows stored:"), "1200");
    assert_eq!(field(&out, "lines rejected:"), "1");
    let i = info(&db, "user_access");
    assert!(
        i.contains(
            "columns: user_id BIGINT, access_time TIMESTAMP, terminal VARCHAR, module VARCHAR, content VARCHAR"
        ),
        "{i}"
    );
    assert!(
        i.contains("time column: access_time; indexed: user_id, terminal, module"),
        "{i}"
    );
    assert_eq!(
        query(
            &db,
            "SELECT module, count(*) FROM user_access WHERE user_id = 1000 GROUP BY module ORDER BY module"
        ),
        "cart,57\nlogin,58\nsearch,57\n"
    );
    assert_eq!(
        query(&db, "SELECT min(access_time) FROM user_access").trim(),
        "2024-05-01 10:00:00"
    );

    // The time column named, or none: a plain table.
    let o = import_ok(
        &db,
        &[
            s(&csv),
            "--time-column",
            "none",
            "-t",
            "plain",
            "--index",
            "module",
        ],
    );
    assert_eq!(field(&stdout(&o), "rows stored:"), "1200");
    let i = info(&db, "plain");
    assert!(i.contains("no time column; indexed: module"), "{i}");
    let o = logdb(&[
        "import",
        s(&db),
        s(&csv),
        "--time-column",
        "module",
        "-t",
        "x",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("field 'module' cannot be the time column"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn records_without_a_time_column_import_as_a_plain_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let csv = dir.path().join("Scores 2024.csv");
    std::fs::write(
        &csv,
        "id,name,score,passed\n1,ann,9.5,true\n2,bob,7,false\n3,cy,8.25,true\n",
    )
    .unwrap();
    let o = import_ok(&db, &[s(&csv)]);
    assert_eq!(field(&stdout(&o), "rows stored:"), "3");
    let i = info(&db, "scores_2024");
    assert!(
        i.contains("columns: id BIGINT, name VARCHAR, score DOUBLE, passed BOOLEAN"),
        "{i}"
    );
    assert!(i.contains("no time column"), "{i}");
    assert_eq!(
        query(
            &db,
            "SELECT sum(score), sum(CASE WHEN passed THEN 1 ELSE 0 END) FROM scores_2024"
        ),
        "24.75,2\n"
    );

    // jsonl records too: `user_id` stays `user_id`.
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(
        &jsonl,
        "{\"user_id\":7,\"event\":\"open\",\"at\":\"2024-05-01T10:00:00Z\"}\n\
         {\"user_id\":8,\"event\":\"close\",\"at\":\"2024-05-01T10:00:05Z\"}\n",
    )
    .unwrap();
    let o = import_ok(&db, &[s(&jsonl)]);
    assert!(stderr(&o).contains("format: jsonl"), "{}", stderr(&o));
    let i = info(&db, "events");
    assert!(
        i.contains("columns: user_id BIGINT, event VARCHAR, at TIMESTAMP")
            && i.contains("time column: at"),
        "{i}"
    );
}
