//! Bitmap-index planning: queries run with and without the index path must agree
//! (the scan path is itself checked against a naive evaluator in tests/sql.rs), and
//! EXPLAIN / EXPLAIN ANALYZE report what the indexes did.

use crate::common::{indexed_logs_db, run_sql as run, Rng};
use logdb::exec::QueryResult;
use logdb::Db;

fn sorted_rows(r: &QueryResult) -> Vec<Vec<String>> {
    let mut rows = r.text_rows();
    rows.sort();
    rows
}

fn explain(db: &Db, sql: &str) -> String {
    let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(r.columns[0].0, "explain");
    r.text_rows()
        .into_iter()
        .map(|r| r[0].clone() + "\n")
        .collect()
}

const CONJUNCTS: &[&str] = &[
    "uid = 'u7'",
    "uid = 'u1000'",
    "uid = 'nobody'",
    "uid IN ('u3', 'u4', 'u499', 'nobody')",
    "uid IN ('u5', NULL)",
    "uid <= 'u2'",
    "uid > 'u8'",
    "uid IS NULL",
    "status = 404",
    "status IN (304, 500)",
    "status >= 400",
    "status < 300",
    "status > 100000",
    "status <> 200",
    "200 = status",
    "uri = '/api/v1/item/5'",
    "uri > '/api/v2'",
    "uri < '/api/v0/item/3'",
    "ts >= '2024-05-01 01:00:00'",
    "ts < '2024-05-01 02:30:00'",
    "bytes < 20000",
    "secure",
    "(uid = 'u1' OR status = 500)",
];

const SHAPES: &[&str] = &[
    "SELECT ts, uid, status, bytes FROM logs WHERE {w}",
    "SELECT count(*) FROM logs WHERE {w}",
    "SELECT status, count(*) FROM logs WHERE {w} GROUP BY status",
    "SELECT uid, count(*) FROM logs WHERE {w} GROUP BY uid",
    "SELECT uri, count(*), sum(bytes) FROM logs WHERE {w} GROUP BY uri",
    "SELECT count(*), count(*) FROM logs WHERE {w}",
    // Columns read only by index-answered conjuncts are not decoded on this path.
    "SELECT date_trunc('hour', ts) AS h, count(*) FROM logs WHERE {w} GROUP BY h",
    "SELECT ts, bytes FROM logs WHERE {w}",
];

#[test]
fn index_path_agrees_with_scan_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 40_000);
    let mut rng = Rng(99);
    let mut checked = 0;
    for _ in 0..250 {
        let n = 1 + rng.below(3) as usize;
        let w: Vec<&str> = (0..n)
            .map(|_| CONJUNCTS[rng.below(CONJUNCTS.len() as u64) as usize])
            .collect();
        let shape = SHAPES[rng.below(SHAPES.len() as u64) as usize];
        let sql = shape.replace("{w}", &w.join(" AND "));
        let with = run(&db, &sql, true);
        let without = run(&db, &sql, false);
        assert_eq!(with.columns, without.columns, "{sql}");
        assert_eq!(sorted_rows(&with), sorted_rows(&without), "{sql}");
        checked += 1;
    }
    assert_eq!(checked, 250);
}

#[test]
fn index_only_aggregates_agree_with_scan_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 40_000);
    for sql in [
        "SELECT status, count(*) FROM logs GROUP BY status",
        "SELECT uid, count(*) FROM logs GROUP BY uid",
        "SELECT uri, count(*) AS n FROM logs GROUP BY uri",
        "SELECT count(*) FROM logs",
        "SELECT count(*) FROM logs WHERE uid = 'u7'",
        "SELECT status, count(*) FROM logs WHERE uid IN ('u7', 'u1000') GROUP BY status",
        "SELECT uid, count(*) FROM logs WHERE status = 404 GROUP BY uid",
        "SELECT count(*) FROM logs WHERE ts >= '2024-05-01 01:00:00'",
        "SELECT count(*) FROM logs WHERE ts >= '2024-05-01 00:00:00' AND ts < '2024-05-02 00:00:00'",
        "SELECT status, count(*) FROM logs WHERE ts < '2024-05-01 02:00:00' AND status >= 304 GROUP BY status",
        "SELECT count(*) FROM logs WHERE ts < '2000-01-01 00:00:00'",
        "SELECT status, count(*) FROM logs WHERE uid = 'nobody' GROUP BY status",
        "SELECT status, count(*) FROM logs GROUP BY status ORDER BY count(*) DESC LIMIT 2",
        // Top-N by the count: only groups that can enter it are built (ties kept).
        "SELECT uri, count(*) AS n FROM logs GROUP BY uri ORDER BY n DESC, uri LIMIT 7",
        "SELECT uri, count(*) AS n FROM logs GROUP BY uri ORDER BY n, uri LIMIT 7",
        "SELECT uid, count(*) AS n FROM logs GROUP BY uid ORDER BY n DESC, uid LIMIT 5 OFFSET 3",
        "SELECT uid, count(*) AS n FROM logs WHERE status = 200 GROUP BY uid ORDER BY n DESC, uid NULLS FIRST LIMIT 3",
        "SELECT uid, count(*) AS n FROM logs GROUP BY uid ORDER BY n DESC, uid LIMIT 100000",
    ] {
        let with = run(&db, sql, true);
        let without = run(&db, sql, false);
        assert_eq!(with.columns, without.columns, "{sql}");
        assert_eq!(sorted_rows(&with), sorted_rows(&without), "{sql}");
    }
    let text = explain(
        &db,
        "EXPLAIN SELECT uri, count(*) AS n FROM logs GROUP BY uri ORDER BY n DESC LIMIT 3",
    );
    assert!(
        text.contains("IndexOnlyAggregate: group=[uri]")
            && text.contains("keys built only for groups that can enter the top 3 by"),
        "{text}"
    );
}

#[test]
fn explain_shows_index_predicates_and_index_only_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 40_000);
    let text = explain(
        &db,
        "EXPLAIN SELECT ts, bytes FROM logs WHERE uid = 'u7' AND status IN (404, 500) AND bytes > 10",
    );
    assert!(
        text.contains("ScanProject: ts AS ts, bytes AS bytes"),
        "{text}"
    );
    assert!(
        text.contains("index_predicates: [uid = 'u7', status IN (404, 500)]"),
        "{text}"
    );
    assert!(
        text.contains("zone_predicates: [uid = 'u7', bytes > 10]"),
        "{text}"
    );
    assert!(text.contains("columns: [ts, uid, status, bytes]"), "{text}");
    assert!(!text.contains("rows="), "{text}");

    let text = explain(
        &db,
        "EXPLAIN SELECT status, count(*) FROM logs GROUP BY status",
    );
    assert!(
        text.contains("IndexOnlyAggregate: group=[status] aggs=[count(*)]"),
        "{text}"
    );
    let text = explain(
        &db,
        "EXPLAIN SELECT status, sum(bytes) FROM logs GROUP BY status",
    );
    assert!(
        text.contains("ScanAggregate: group=[status] aggs=[sum(bytes)]"),
        "{text}"
    );
    assert!(!text.contains("IndexOnly"), "{text}");

    let text = explain(
        &db,
        "EXPLAIN SELECT count(*) FROM logs WHERE ts >= '2024-05-01 02:00:00' AND ts < '2024-05-01 03:00:00'",
    );
    assert!(
        text.contains("time_range: [2024-05-01 02:00:00, 2024-05-01 03:00:00)"),
        "{text}"
    );
    assert!(
        text.contains("partitions: 1 kept, 0 pruned by time"),
        "{text}"
    );
    assert!(
        text.contains("segments: 3 kept, 11 pruned by time"),
        "{text}"
    );
}

#[test]
fn explain_analyze_reports_what_the_index_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 40_000);
    // u7 is rare: most segments and blocks hold none of its rows.
    let text = explain(
        &db,
        "EXPLAIN ANALYZE SELECT ts, uid FROM logs WHERE uid = 'u7'",
    );
    let want = run(&db, "SELECT ts, uid FROM logs WHERE uid = 'u7'", false).num_rows();
    assert!(text.contains(&format!("Total: rows={want} ")), "{text}");
    assert!(text.contains("skipped by index"), "{text}");
    let blocks = text
        .lines()
        .find(|l| l.trim_start().starts_with("blocks: "))
        .unwrap();
    let nums: Vec<u64> = blocks
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    // read of total, by zone map, by index.
    assert!(nums[0] < nums[1] && nums[3] > 0, "{text}");

    let text = explain(
        &db,
        "EXPLAIN ANALYZE SELECT status, count(*) FROM logs GROUP BY status",
    );
    assert!(text.contains("blocks: 0 read of 0"), "{text}");
    assert!(text.contains("bytes_read: 0"), "{text}");
    assert!(text.contains("Total: rows=4 "), "{text}");
    assert!(text.contains("answered from index"), "{text}");
}

#[test]
fn plain_select_still_rejects_explain_in_plan() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 100);
    let snap = db.snapshot().unwrap();
    assert!(logdb::sql::plan(&snap, "EXPLAIN SELECT count(*) FROM logs").is_err());
    let e = db.query("EXPLAIN INSERT INTO logs VALUES (1)").unwrap_err();
    assert!(e.to_string().contains("not supported yet"), "{e}");
}

#[test]
fn regression_count_star_with_filter_is_not_answered_from_index_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 23, 20_000);
    for sql in [
        "SELECT status, count(*) FILTER (WHERE bytes > 50000) FROM logs GROUP BY status",
        "SELECT count(*), count(*) FILTER (WHERE bytes > 50000) FROM logs",
        "SELECT count(*) FILTER (WHERE bytes > 50000) FROM logs WHERE uid = 'u1000'",
    ] {
        let with = sorted_rows(&run(&db, sql, true));
        let without = sorted_rows(&run(&db, sql, false));
        assert_eq!(with, without, "{sql}");
    }
    let r = run(
        &db,
        "SELECT count(*), count(*) FILTER (WHERE bytes > 50000) FROM logs",
        true,
    );
    let row = &r.text_rows()[0];
    assert_ne!(row[0], row[1], "the FILTER was ignored");
}

/// Late materialization: a scan decodes the columns its filter reads first and the
/// others only in blocks where rows pass. A filter no row passes reads only its own
/// column; one every row passes reads them all; the rows agree with the scan that
/// uses no index either way.
#[test]
fn columns_outside_the_filter_are_read_only_where_rows_pass() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 29, 30_000);
    let bytes_read = |sql: &str| -> u64 {
        let text = explain(&db, &format!("EXPLAIN ANALYZE {sql}"));
        let line = text
            .lines()
            .find(|l| l.contains("bytes_read:"))
            .unwrap_or_else(|| panic!("{text}"));
        let digits: String = line
            .split("bytes_read:")
            .nth(1)
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    // Not a zone-map predicate: every block reads `bytes`.
    let none = bytes_read("SELECT * FROM logs WHERE bytes + 1 = 0");
    let all = bytes_read("SELECT * FROM logs WHERE bytes >= 0");
    let only = bytes_read("SELECT bytes FROM logs WHERE bytes + 1 = 0");
    assert!(none > 0 && none == only, "{none} vs {only}");
    assert!(all > 3 * none, "{all} vs {none}");
    use crate::common::{batch_rows, log_batch, log_schema, T0};
    let rows = batch_rows(&log_batch(&log_schema(), 29, T0, 500_000, 30_000));
    let v = rows[1234][5].clone();
    let logdb::Value::Int(x) = v else {
        panic!("bytes is an integer")
    };
    for sql in [
        format!("SELECT * FROM logs WHERE bytes = {x}"),
        "SELECT * FROM logs WHERE bytes < 900 AND request_time > 0.5".to_string(),
        "SELECT uri, user_agent FROM logs WHERE secure AND bytes % 7 = 3".to_string(),
    ] {
        let a = run(&db, &sql, true);
        let b = run(&db, &sql, false);
        assert!(a.num_rows() > 0, "{sql}");
        assert_eq!(sorted_rows(&a), sorted_rows(&b), "{sql}");
    }
    // And against the rows as they were appended.
    let want = rows.iter().filter(|r| r[5] == v).count();
    let got = run(&db, &format!("SELECT * FROM logs WHERE bytes = {x}"), false);
    assert_eq!(got.num_rows(), want);
}

/// A records table: a time column, an id-like BIGINT with many distinct values and
/// a few hot ones (indexed, its keys in several pages per segment), a module.
fn records_db(dir: &std::path::Path) -> Db {
    use logdb::{BatchBuilder, DataType, Field, TableSchema};
    let db = Db::builder()
        .max_segment_rows(20_000)
        .block_rows(2048)
        .open(dir)
        .unwrap();
    let schema = TableSchema::new(vec![
        Field::not_null("access_time", DataType::Timestamp),
        Field::new("user_id", DataType::BigInt),
        Field::new("module", DataType::Varchar),
    ])
    .with_time_column("access_time")
    .with_indexes(["user_id", "module"]);
    db.create_table("records", schema.clone()).unwrap();
    let mut rng = Rng(7);
    let mut b = BatchBuilder::new(&schema);
    for i in 0..60_000i64 {
        b.push_i64(0, 1_714_521_600_000_000 + i * 2_000_000);
        match rng.below(100) {
            0 => b.push_null(1),
            1..=20 => b.push_i64(1, 782_341 + rng.below(3) as i64),
            _ => b.push_i64(1, rng.below(40_000) as i64 * 31 - 100_000),
        }
        b.push_str(
            2,
            ["admin", "portal", "support", "billing"][rng.below(4) as usize],
        );
    }
    db.append("records", &b.finish()).unwrap();
    db
}

#[test]
fn integer_key_index_agrees_with_scan_path_and_is_planned() {
    let dir = tempfile::tempdir().unwrap();
    let db = records_db(dir.path());
    let filters = [
        "user_id = 782341",
        "user_id = CAST('782342' AS BIGINT)",
        "782343 = user_id",
        "user_id = 5",
        "user_id = -100000",
        "user_id = 1139969",
        "user_id IN (782341, 31, -99938, 12345678)",
        "user_id IN (782342, NULL)",
        "user_id < -99000",
        "user_id >= 1139000",
        "user_id > 0 AND user_id <= 62",
        "user_id IS NULL",
        "user_id = 782341 AND module = 'portal'",
    ];
    let shapes = [
        "SELECT module, hour(access_time) AS hour, count(*) AS n FROM records WHERE {w} GROUP BY module, hour",
        "SELECT access_time, user_id, module FROM records WHERE {w}",
        "SELECT count(*) FROM records WHERE {w}",
        "SELECT user_id, count(*) FROM records WHERE {w} GROUP BY user_id",
    ];
    for w in filters {
        for shape in shapes {
            let sql = shape.replace("{w}", w);
            let with = run(&db, &sql, true);
            let without = run(&db, &sql, false);
            assert_eq!(with.columns, without.columns, "{sql}");
            assert_eq!(sorted_rows(&with), sorted_rows(&without), "{sql}");
        }
    }
    // Counts by value answered from the index alone.
    for sql in [
        "SELECT user_id, count(*) FROM records GROUP BY user_id",
        "SELECT user_id, count(*) FROM records WHERE module = 'admin' GROUP BY user_id",
    ] {
        let with = run(&db, sql, true);
        assert_eq!(
            sorted_rows(&with),
            sorted_rows(&run(&db, sql, false)),
            "{sql}"
        );
    }
    let text = explain(
        &db,
        "EXPLAIN SELECT user_id, count(*) FROM records GROUP BY user_id",
    );
    assert!(text.contains("IndexOnlyAggregate"), "{text}");
    for (w, shown) in [
        ("user_id = CAST('782341' AS BIGINT)", "user_id = 782341"),
        ("user_id IN (782341, 782342)", "user_id IN (782341, 782342)"),
    ] {
        let text = explain(
            &db,
            &format!("EXPLAIN SELECT module, count(*) FROM records WHERE {w} GROUP BY module"),
        );
        assert!(
            text.contains(&format!("index_predicates: [{shown}]")),
            "{w}: {text}"
        );
    }
}
