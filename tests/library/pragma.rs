//! PRAGMA statements through a session: settings, the catalog pragmas, and query
//! verification, which must really run every query a second time.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use logdb::exec::Progress;
use logdb::sql::Session;
use logdb::Db;

fn logs(dir: &std::path::Path) -> Db {
    let db = Db::builder().max_segment_rows(1000).open(dir).unwrap();
    db.query(
        "CREATE TABLE logs (ts TIMESTAMP, uid VARCHAR, status SMALLINT) \
         WITH (time_column = 'ts', indexes = 'uid')",
    )
    .unwrap();
    db.query(
        "INSERT INTO logs SELECT TIMESTAMP '2024-05-01' + INTERVAL (i) MINUTE, \
         'u' || (i % 7), CASE WHEN i % 10 = 0 THEN 500 ELSE 200 END FROM range(5000) t(i)",
    )
    .unwrap();
    db
}

/// Rows decoded while `sql` runs in `s`.
fn rows_scanned(s: &mut Session, sql: &str) -> u64 {
    let progress = Arc::new(Progress::default());
    s.options_mut().progress = Some(progress.clone());
    s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    s.options_mut().progress = None;
    progress.rows_scanned.load(Ordering::Relaxed)
}

#[test]
fn verification_runs_every_query_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs(dir.path());
    let mut s = Session::new(db);
    let sql = "SELECT status, count(*) FROM logs WHERE status > 0 GROUP BY status";
    let once = rows_scanned(&mut s, sql);
    assert!(once > 0);
    s.execute("PRAGMA enable_verification").unwrap();
    assert!(s.options().verification);
    assert_eq!(rows_scanned(&mut s, sql), 2 * once);
    // The same with both kinds: three runs.
    s.execute("PRAGMA verify_parallelism").unwrap();
    assert_eq!(rows_scanned(&mut s, sql), 3 * once);
    s.execute("PRAGMA disable_verify_parallelism").unwrap();
    s.execute("PRAGMA disable_verification").unwrap();
    assert_eq!(rows_scanned(&mut s, sql), once);
    // SET spells the same switch.
    s.execute("SET verification = true").unwrap();
    assert_eq!(rows_scanned(&mut s, sql), 2 * once);
    let r = s.execute("SELECT current_setting('verification')").unwrap();
    assert!(r.iter().next().unwrap().get::<bool>(0).unwrap());
    s.execute("RESET verification").unwrap();
    assert!(!s.options().verification);

    // Verified queries of every kind still answer (a LIMIT is compared by count).
    s.execute("PRAGMA enable_verification").unwrap();
    for sql in [
        "SELECT uid, count(*) FROM logs WHERE uid = 'u3' GROUP BY uid",
        "SELECT count(*) FROM logs WHERE uid IN ('u1', 'u2')",
        "SELECT * FROM logs LIMIT 3",
        "SELECT uid, row_number() OVER (ORDER BY status) FROM logs",
        "SELECT first(uid) FROM logs GROUP BY status",
        "SELECT now()",
    ] {
        s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Streaming falls back to a verified, materialized run.
    let n: usize = s
        .query_stream("SELECT * FROM logs")
        .unwrap()
        .map(|c| c.unwrap().num_rows())
        .sum();
    assert_eq!(n, 5000);
}

#[test]
fn pragmas_set_settings_and_describe_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs(dir.path());
    let mut s = Session::new(db);
    s.execute("PRAGMA threads = 3").unwrap();
    assert_eq!(s.options().threads, 3);
    s.execute("pragma memory_limit='1GB';").unwrap();
    assert_eq!(s.options().memory_limit, 1_000_000_000);
    s.execute("PRAGMA explain_output = OPTIMIZED_ONLY").unwrap();
    let plan = s.execute("EXPLAIN SELECT count(*) FROM logs").unwrap();
    let logical = s
        .execute("EXPLAIN (LOGICAL) SELECT count(*) FROM logs")
        .unwrap();
    assert_eq!(plan.text_rows(), logical.text_rows());
    s.execute("PRAGMA explain_output = 'all'").unwrap();
    let all = s.execute("EXPLAIN SELECT count(*) FROM logs").unwrap();
    assert!(all.num_rows() > logical.num_rows());
    for ok in [
        "PRAGMA disable_verify_external",
        "PRAGMA disable_verify_fetch_row",
    ] {
        s.execute(ok).unwrap();
    }

    let r = s.execute("PRAGMA table_info('logs')").unwrap();
    let names: Vec<&str> = r.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["cid", "name", "type", "notnull", "dflt_value", "pk"]
    );
    assert_eq!(
        r.text_rows()[2],
        ["2", "status", "SMALLINT", "false", "NULL", "false"]
    );
    let r = s.execute("PRAGMA show_tables").unwrap();
    assert_eq!(r.text_rows(), [["logs"]]);

    for (sql, message) in [
        (
            "PRAGMA nope = 1",
            "line 1, column 8: unrecognized configuration parameter 'nope'",
        ),
        (
            "PRAGMA threads = 0",
            "line 1, column 18: threads must be between 1 and",
        ),
        ("PRAGMA threads", "line 1, column 8: threads is a setting"),
        (
            "PRAGMA verify_external",
            "line 1, column 8: not supported yet: PRAGMA verify_external",
        ),
        (
            "PRAGMA database_size",
            "not supported yet: PRAGMA database_size",
        ),
        (
            "PRAGMA wal_autocheckpoint = '1MB'",
            "not supported yet: PRAGMA wal_autocheckpoint",
        ),
        (
            "PRAGMA made_up",
            "line 1, column 8: not supported yet: PRAGMA made_up",
        ),
        (
            "PRAGMA show_tables(1)",
            "line 1, column 20: PRAGMA show_tables takes no arguments",
        ),
        ("PRAGMA table_info", "PRAGMA table_info takes one argument"),
        (
            "PRAGMA table_info('nope')",
            "line 1, column 19: unknown table 'nope'",
        ),
        ("PRAGMA x(", "line 1, column 9: syntax error"),
        ("PRAGMA x = (", "syntax error"),
        ("PRAGMA", "line 1, column 7: syntax error"),
    ] {
        let e = s.execute(sql).unwrap_err().to_string();
        assert!(e.contains(message), "{sql}: {e}");
    }
}
