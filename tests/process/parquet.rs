//! The Parquet and Arrow commands end to end: `logdb export` into day
//! directories and again with nothing new, `logdb import` of the export back
//! into an equal table, and `-o arrow` decoded by arrow-rs's own reader.

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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn export_import_and_arrow_output_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    ok(&["generate", "--lines", "3000", "--days", "3", "-o", s(&log)]);
    let db = dir.path().join("db");
    ok(&["import", s(&db), s(&log), "--quiet"]);
    let out = dir.path().join("export");

    let first = ok(&["export", s(&db), "logs", s(&out)]);
    assert!(
        first.contains("3 days written (3000 rows, 3 files"),
        "{first}"
    );
    for day in ["2024-01-01", "2024-01-02", "2024-01-03"] {
        assert!(
            out.join(format!("day={day}/part-0.parquet")).is_file(),
            "{day}"
        );
    }
    let second = ok(&["export", s(&db), "logs", s(&out)]);
    assert!(
        second.contains("0 days written") && second.contains("3 unchanged"),
        "{second}"
    );

    // Imported back: the same rows in a log table (client_ip an IP again).
    let back = dir.path().join("back");
    let summary = ok(&["import", s(&back), s(&out)]);
    assert!(summary.contains("rows stored:    3000"), "{summary}");
    let q = "SELECT count(*), count(DISTINCT client_ip), sum(bytes), min(ts), max(uid), \
             typeof(min(client_ip)) FROM logs";
    assert_eq!(
        ok(&[s(&back), "-o", "csv", "-c", q]),
        ok(&[s(&db), "-o", "csv", "-c", q])
    );

    // An unknown table, a database that is not one: clear errors.
    let o = logdb(&["export", s(&db), "nope", s(&dir.path().join("x"))]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));

    // -o arrow: an IPC stream arrow-rs reads, with logdb's types.
    let o = logdb(&[
        s(&db),
        "-o",
        "arrow",
        "-c",
        "SELECT status, count(*) AS n, min(ts) AS first, min(client_ip) AS ip FROM logs \
         GROUP BY status ORDER BY status",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(o.stdout), None).unwrap();
    let schema = reader.schema();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        [
            "status Int16",
            "n Int64",
            "first Timestamp(µs, \"UTC\")",
            "ip Utf8"
        ]
    );
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    let statuses = ok(&[
        s(&db),
        "-o",
        "csv",
        "-c",
        "SELECT count(DISTINCT status) FROM logs",
    ]);
    assert_eq!(statuses.lines().nth(1).unwrap(), rows.to_string());
}
