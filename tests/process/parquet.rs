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

/// A Parquet file whose footer makes arrow-rs's decoder panic (a column
/// chunk's offset or size made negative by flipping the sign bit of its
/// zigzag varint) fails the query with a clean error naming the file, and
/// nothing about the panic reaches stderr: the panic is caught quietly.
#[test]
fn a_damaged_parquet_file_fails_cleanly_without_a_panic_message() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    ok(&[
        "-c",
        &format!(
            "COPY (SELECT range AS i, 'v' || (range % 97) AS s, range * 0.5 AS d, \
             TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND AS ts FROM range(3000)) \
             TO '{}' (ROW_GROUP_SIZE 500)",
            s(&good)
        ),
    ]);
    let bytes = std::fs::read(&good).unwrap();
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let footer = n - 8 - footer_len;
    let bad = dir.path().join("bad.parquet");
    let mut caught = 0;
    // Thrift's compact protocol: a field header 0x16 / 0x26 (i64, the next
    // field or the one after) is followed by a zigzag varint, whose lowest bit
    // is the sign.
    let signs: Vec<usize> = (footer..n - 9)
        .filter(|&k| matches!(bytes[k], 0x16 | 0x26))
        .map(|k| k + 1)
        .take(24)
        .collect();
    for at in signs {
        let mut b = bytes.clone();
        b[at] ^= 1;
        std::fs::write(&bad, &b).unwrap();
        let o = logdb(&[
            "-c",
            &format!(
                "SELECT count(*), max(i), max(s), sum(d), max(ts) FROM '{}'",
                s(&bad)
            ),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "byte {at}: {stderr}");
        if o.status.success() {
            continue;
        }
        // Found damaged with the footer (bound: the error carries the SQL
        // position) or while decoding; either way, one error.
        assert!(
            stderr.starts_with("Error: ")
                && stderr.contains(&format!("{}: not a readable Parquet file: ", s(&bad)))
                && stderr.matches("Error").count() == 1,
            "byte {at}: {stderr}"
        );
        if stderr.contains("the decoder failed: ") {
            caught += 1;
        }
    }
    assert!(caught > 0, "no change of sign made the decoder panic");
}

/// `logdb export` of a table without a time column writes `DIR/part-0.parquet`
/// and says so; a second run writes nothing.
#[test]
fn export_of_a_table_without_a_time_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let out = dir.path().join("out");
    ok(&[
        s(&db),
        "-c",
        "CREATE TABLE plain (id BIGINT, name VARCHAR)",
        "-c",
        "INSERT INTO plain VALUES (1, 'a'), (2, 'b')",
    ]);
    let first = ok(&["export", s(&db), "plain", s(&out)]);
    assert!(
        first.starts_with(&format!(
            "exported plain (no time column: one set of files) to {}: written (2 rows, 1 files",
            s(&out)
        )),
        "{first}"
    );
    assert!(out.join("part-0.parquet").is_file());
    let second = ok(&["export", s(&db), "plain", s(&out)]);
    assert!(second.contains(": unchanged in "), "{second}");
}
