//! Point lookups through the database's read caches: a lookup run cold (pages and
//! blocks decompressed and decoded) and again warm (served from the caches) returns
//! the same rows, and those rows equal a full scan's. And what a fresh handle opens:
//! nothing for a plain count, and only the index directories a query uses.

use crate::common::{indexed_logs_db, run_sql as run};

const COLUMNS: &str = "ts, client_ip, uri, uid, status, bytes, request_time, user_agent, secure";

#[test]
fn cold_and_warm_lookups_agree_with_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 41, 30_000);
    let (pages0, blocks0) = db.read_cache_usage();
    assert_eq!((pages0.entries, blocks0.entries), (0, 0));
    for uid in ["u7", "u123", "u499", "nobody"] {
        let sql = format!("SELECT {COLUMNS} FROM logs WHERE uid = '{uid}' ORDER BY ts");
        let scan = run(&db, &sql, false).text_rows();
        let cold = run(&db, &sql, true).text_rows();
        let (_, blocks_cold) = db.read_cache_usage();
        let warm = run(&db, &sql, true).text_rows();
        let (_, blocks_warm) = db.read_cache_usage();
        assert_eq!(cold, scan, "{sql}: cold lookup differs from a scan");
        assert_eq!(warm, cold, "{sql}: warm lookup differs from the cold one");
        if uid != "nobody" {
            assert!(!scan.is_empty(), "{uid} should occur");
            // The warm run found every block it read in the cache.
            assert!(blocks_warm.hits > blocks_cold.hits, "{uid}: no cache hits");
            assert_eq!(blocks_warm.misses, blocks_cold.misses, "{uid}: warm misses");
        }
    }
    let (pages, blocks) = db.read_cache_usage();
    assert!(pages.entries > 0 && pages.hits > 0, "{pages:?}");
    assert!(blocks.entries > 0, "{blocks:?}");
    // A nearby lookup (another key on a cached index page) also hits the page cache.
    let before = db.read_cache_usage().0;
    run(&db, "SELECT ts FROM logs WHERE uid = 'u9'", true);
    let after = db.read_cache_usage().0;
    assert!(after.hits > before.hits, "{before:?} -> {after:?}");
}

#[test]
fn cached_entries_are_dropped_with_their_segments() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 41, 30_000);
    let sql = format!("SELECT {COLUMNS} FROM logs WHERE uid = 'u42' ORDER BY ts");
    let before = run(&db, &sql, true).text_rows();
    assert!(!before.is_empty());
    let (pages, blocks) = db.read_cache_usage();
    assert!(pages.entries > 0 && blocks.entries > 0);
    // Deleting every row removes every segment: their cached pages and blocks go, and
    // the lookup over what is left agrees with a scan.
    db.delete_time_range("logs", i64::MIN, i64::MAX).unwrap();
    let (pages, blocks) = db.read_cache_usage();
    assert_eq!((pages.entries, blocks.entries), (0, 0));
    assert_eq!((pages.bytes, blocks.bytes), (0, 0));
    let after = run(&db, &sql, true).text_rows();
    assert!(after.is_empty());
    assert_eq!(after, run(&db, &sql, false).text_rows());
}

#[test]
fn a_fresh_handle_reads_only_what_a_query_needs() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 43, 30_000);
    let total = run(&db, "SELECT count(*) FROM logs", true).text_rows();
    drop(db);

    // A plain count comes from the manifest's row counts: no segment is opened.
    let db = logdb::Db::builder()
        .read_only(true)
        .open(dir.path())
        .unwrap();
    assert_eq!(
        run(&db, "SELECT count(*) FROM logs", true).text_rows(),
        total
    );
    assert_eq!(
        db.segment_cache_usage().0,
        0,
        "a plain count opened segments"
    );

    // A count by status opens the segments and decodes the status index alone:
    // the uid and uri directories (the large ones) stay unread.
    run(
        &db,
        "SELECT status, count(*) FROM logs GROUP BY status",
        true,
    );
    let (segments, by_status) = db.segment_cache_usage();
    assert!(segments > 0);
    run(&db, "SELECT count(*) FROM logs WHERE uid = 'u7'", true);
    let (_, with_uid) = db.segment_cache_usage();
    assert!(
        with_uid > by_status,
        "reading the uid index charged nothing more ({by_status} -> {with_uid} bytes)"
    );
}
