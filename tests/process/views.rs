//! Views live in the database's catalog: each `logdb DB -c` runs in a new
//! process, so a view created by one is read by the next.

use crate::cli::{logdb, stderr, stdout};

fn run(d: &str, sql: &str) -> String {
    let o = logdb(&[d, "-o", "csv", "-c", sql]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn a_view_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    run(d, "CREATE TABLE t (k VARCHAR, v INTEGER)");
    run(d, "INSERT INTO t VALUES ('a', 1), ('b', 2), ('b', 3)");
    run(
        d,
        "CREATE VIEW per_key (key, total) AS SELECT k, sum(v) FROM t GROUP BY k",
    );
    // A new process reads the stored view, over the rows as they are now.
    run(d, "INSERT INTO t VALUES ('a', 10)");
    let out = run(d, "SELECT key, total FROM main.per_key ORDER BY key");
    assert_eq!(out, "key,total\na,11\nb,5\n");
    assert_eq!(run(d, "SHOW TABLES"), "name\nper_key\nt\n");
    run(d, "DROP VIEW per_key");
    let o = logdb(&[d, "-c", "SELECT * FROM per_key"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown table 'per_key'"),
        "{}",
        stderr(&o)
    );
    assert_eq!(run(d, "SHOW TABLES"), "name\nt\n");
}
