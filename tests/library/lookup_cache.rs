//! Point lookups through the database's read caches: a lookup run cold (pages and
//! blocks decompressed and decoded) and again warm (served from the caches) returns
//! the same rows, and those rows equal a full scan's. And what a fresh handle opens:
//! nothing for a plain count, and only the index directories a query uses.

use crate::common::{indexed_logs_db, run_sql as run, Rng};
use logdb::{BatchBuilder, DataType, Field, TableSchema};

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

/// A lookup decodes only the dictionary pages holding the values of the rows
/// it reads, and renumbers their codes: the rows, filters, orders and groups
/// over columns whose dictionaries span many pages (long distinct paths, some
/// NULL) equal a scan's, cold and warm.
#[test]
fn lookups_over_paged_dictionaries_agree_with_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = logdb::Db::builder()
        .max_segment_rows(20_000)
        .block_rows(4096)
        .open(dir.path())
        .unwrap();
    let schema = TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("uid", DataType::Varchar),
        Field::new("path", DataType::Varchar),
        Field::new("kind", DataType::Varchar),
    ])
    .with_time_column("ts")
    .with_indexes(["uid", "path"]);
    db.create_table("t", schema.clone()).unwrap();
    let mut rng = Rng(7);
    let mut b = BatchBuilder::new(&schema);
    for i in 0..40_000i64 {
        b.push_i64(0, 1_700_000_000_000_000 + i * 1_000_000);
        b.push_str(1, &format!("u{}", rng.below(4000)));
        if i % 7 == 3 {
            b.push_null(2);
        } else {
            let n = rng.below(30_000);
            b.push_str(
                2,
                &format!("/catalog/{:04}/items/{n:08}/detail-page", n % 1000),
            );
        }
        b.push_str(3, ["view", "cart", "buy"][rng.below(3) as usize]);
    }
    db.append("t", &b.finish()).unwrap();
    drop(db);
    let queries = [
        "SELECT ts, uid, path, kind FROM t WHERE uid = 'u17' ORDER BY ts",
        "SELECT ts, path FROM t WHERE uid IN ('u5', 'u3999', 'u250') AND path > '/catalog/05' ORDER BY path, ts",
        "SELECT kind, count(path), min(path), max(path) FROM t WHERE uid = 'u42' OR uid = 'u43' GROUP BY kind ORDER BY kind",
        "SELECT path, count(*) FROM t WHERE uid = 'u8' GROUP BY path ORDER BY path NULLS FIRST",
        "SELECT uid, path FROM t WHERE path = '/catalog/0123/items/00020123/detail-page' ORDER BY ts",
    ];
    for sql in queries {
        // A fresh handle for each query: a scan decodes whole dictionaries,
        // which lookups would then use.
        let db = logdb::Db::open(dir.path()).unwrap();
        let cold = run(&db, sql, true).text_rows();
        let warm = run(&db, sql, true).text_rows();
        let scan = run(&db, sql, false).text_rows();
        assert!(!scan.is_empty(), "{sql}: no rows");
        assert_eq!(cold, scan, "{sql}: cold lookup");
        assert_eq!(warm, scan, "{sql}: warm lookup");
    }
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

/// Integer index keys are stored in pages (segment format v4): a look-up decodes
/// the one key page whose range holds the value and, when the value occurs, the one
/// bitmap page of its key; the rest of a many-key index stays unread.
#[test]
fn integer_key_lookup_reads_one_key_page_and_one_bitmap_page() {
    use logdb::{BatchBuilder, DataType, Field, TableSchema, Value};
    let dir = tempfile::tempdir().unwrap();
    let db = logdb::Db::builder()
        .max_segment_rows(100_000)
        .open(dir.path())
        .unwrap();
    let schema = TableSchema::new(vec![
        Field::new("user_id", DataType::BigInt),
        Field::new("n", DataType::BigInt),
    ])
    .with_indexes(["user_id"]);
    db.create_table("t", schema.clone()).unwrap();
    let mut b = BatchBuilder::new(&schema);
    for i in 0..60_000i64 {
        // 30,000 distinct ids, each on two rows far apart.
        b.push_i64(0, (i % 30_000) * 7 + 1_000_000);
        b.push_i64(1, i);
    }
    db.append("t", &b.finish()).unwrap();
    let pages_before = db.read_cache_usage().0;
    assert_eq!((pages_before.entries, pages_before.misses), (0, 0));

    let sql = "SELECT n FROM t WHERE user_id = 1084007 ORDER BY n";
    let rows = run(&db, sql, true).text_rows();
    assert_eq!(rows, [["12001"], ["42001"]]);
    assert_eq!(rows, run(&db, sql, false).text_rows());
    let pages = db.read_cache_usage().0;
    assert_eq!((pages.entries, pages.misses), (2, 2), "{pages:?}");

    // A value between two keys: its key page (another one) is read, no bitmap page.
    let rows = run(&db, "SELECT n FROM t WHERE user_id = 1190002", true).text_rows();
    assert!(rows.is_empty());
    let after = db.read_cache_usage().0;
    assert_eq!((after.entries, after.misses), (3, 3), "{after:?}");

    // Out of every page's range: nothing read at all.
    run(&db, "SELECT n FROM t WHERE user_id = 5", true);
    assert_eq!(db.read_cache_usage().0.misses, 3);

    let snap = db.snapshot().unwrap();
    let hits = snap.lookup("t", "user_id", &Value::Int(1_084_007)).unwrap();
    let ix_pages = hits[0].0.index(0).unwrap().unwrap().pages.len();
    assert!(
        ix_pages >= 10,
        "only {ix_pages} pages: the test needs a many-page index"
    );
}
