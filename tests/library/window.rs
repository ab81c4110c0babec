//! Window functions at a size where the operator's parallel paths run (partition
//! ids numbered in chunks, partitions sorted on several threads): the results do
//! not depend on the thread count and equal a naive computation. The semantics
//! on small inputs are checked against DuckDB in tests/slt/window.slt.

use std::collections::HashMap;

use crate::common::{all_rows, log_batch, log_schema, T0};
use logdb::exec::{execute, ExecOptions};
use logdb::{Db, Value};

const ROWS: usize = 300_000;

/// One result row: uid, ts, row_number, lag(bytes, 2, -1), sum of the last three
/// bytes, max(uri) of the uid, rows of the status up to the request time's peers.
type Got = (Value, i64, i64, i64, i64, String, i64);

fn run(db: &Db, sql: &str, threads: usize) -> Vec<Got> {
    let snap = db.snapshot().unwrap();
    let plan = logdb::sql::plan(&snap, sql).unwrap();
    let opts = ExecOptions {
        threads,
        ..ExecOptions::default()
    };
    let int = |v: &Value| match v {
        Value::Int(i) => *i,
        other => panic!("{other:?}"),
    };
    let mut rows: Vec<Got> = execute(&snap, &plan, &opts)
        .unwrap()
        .rows()
        .iter()
        .map(|r| {
            let uri = match &r[5] {
                Value::Str(s) => s.to_string(),
                other => panic!("{other:?}"),
            };
            (
                r[0].clone(),
                int(&r[1]),
                int(&r[2]),
                int(&r[3]),
                int(&r[4]),
                uri,
                int(&r[6]),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    rows
}

#[test]
fn window_results_do_not_depend_on_threads_and_match_a_naive_computation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::builder().open(dir.path()).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    // Timestamps one second apart: ORDER BY ts is a total order.
    db.append("logs", &log_batch(&schema, 3, T0, 1_000_000, ROWS))
        .unwrap();
    let sql = "SELECT uid, ts, row_number() OVER w, lag(bytes, 2, -1) OVER w, \
               sum(bytes) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), \
               max(uri) OVER (PARTITION BY uid), \
               count(*) OVER (PARTITION BY status ORDER BY request_time) \
               FROM logs WINDOW w AS (PARTITION BY uid ORDER BY ts)";
    let one = run(&db, sql, 1);
    assert_eq!(one.len(), ROWS);
    assert_eq!(run(&db, sql, 4), one, "4 threads against 1");

    // The naive computation: ts, uri, uid, status, bytes, request_time per row.
    let rows = all_rows(&db, "logs");
    let mut by_uid: HashMap<Option<String>, Vec<(i64, i64, String)>> = HashMap::new();
    let mut by_status: HashMap<i64, Vec<Option<i64>>> = HashMap::new();
    for r in &rows {
        let (Value::Int(ts), Value::Str(uri), Value::Int(status), Value::Int(bytes)) =
            (&r[0], &r[2], &r[4], &r[5])
        else {
            panic!("{r:?}");
        };
        let uid = match &r[3] {
            Value::Str(s) => Some(s.to_string()),
            _ => None,
        };
        by_uid
            .entry(uid)
            .or_default()
            .push((*ts, *bytes, uri.to_string()));
        // Request times in whole microseconds of a second, so they compare exactly.
        let rt = match r[6] {
            Value::Float(f) => Some((f * 1e6).round() as i64),
            _ => None,
        };
        by_status.entry(*status).or_default().push(rt);
    }
    let mut want: HashMap<i64, (i64, i64, i64, String)> = HashMap::new();
    for part in by_uid.values_mut() {
        part.sort();
        let top = part.iter().map(|p| p.2.clone()).max().unwrap();
        for (k, (ts, _, _)) in part.iter().enumerate() {
            let prev2 = if k >= 2 { part[k - 2].1 } else { -1 };
            let s3: i64 = part[k.saturating_sub(2)..=k].iter().map(|p| p.1).sum();
            want.insert(*ts, (k as i64 + 1, prev2, s3, top.clone()));
        }
    }
    let mut sorted_rt: HashMap<i64, Vec<i64>> = HashMap::new();
    for (status, rts) in &by_status {
        let mut v: Vec<i64> = rts.iter().flatten().copied().collect();
        v.sort();
        sorted_rt.insert(*status, v);
    }
    let by_ts: HashMap<i64, &Got> = one.iter().map(|g| (g.1, g)).collect();
    for r in &rows {
        let Value::Int(ts) = r[0] else { panic!() };
        let got = by_ts[&ts];
        let (rn, prev2, s3, top) = &want[&ts];
        assert_eq!(
            (&got.0, got.2, got.3, got.4, &got.5),
            (&r[3], *rn, *prev2, *s3, top),
            "row at ts {ts}"
        );
        let Value::Int(status) = r[4] else { panic!() };
        let all = &by_status[&status];
        let count = match r[6] {
            // NULL request times sort last: their frame is the whole partition.
            Value::Float(f) => {
                let rt = (f * 1e6).round() as i64;
                sorted_rt[&status].partition_point(|&x| x <= rt)
            }
            _ => all.len(),
        };
        assert_eq!(got.6, count as i64, "count at ts {ts}");
    }
}

/// Sorted result rows of `sql` as text.
/// A table `logs` of 60,000 generated rows `step` micros apart, in segments of
/// 20,000.
fn logs_in_segments(dir: &std::path::Path, step: i64) -> Db {
    let db = Db::builder().max_segment_rows(20_000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 5, T0, step, 60_000))
        .unwrap();
    db
}

fn rows_text(db: &Db, sql: &str) -> Vec<String> {
    sorted_text(db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}")))
}

/// `rows` log rows a second apart in segments of 10,000, then `late` rows
/// whose times fall between theirs (a second import: segments of their own).
fn logs_with_late_rows(dir: &std::path::Path, rows: usize, late: usize) -> Db {
    let db = Db::builder().max_segment_rows(10_000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 7, T0, 1_000_000, rows))
        .unwrap();
    if late > 0 {
        let batch = log_batch(&schema, 8, T0 + 500_000, 7_000_000, late);
        db.append("logs", &batch).unwrap();
    }
    db
}

/// The rows of `sql` run on `threads` threads over `snap`, as text, sorted.
fn rows_on(snap: &logdb::storage::Snapshot, sql: &str, threads: usize) -> Vec<String> {
    let plan = logdb::sql::plan(snap, sql).unwrap();
    let opts = ExecOptions {
        threads,
        ..ExecOptions::default()
    };
    sorted_text(execute(snap, &plan, &opts).unwrap())
}

/// EXPLAIN's lines for `sql`, one text.
fn explain_text(db: &Db, sql: &str) -> String {
    rows_text(db, &format!("EXPLAIN {sql}")).join("\n")
}

/// A result's rows as text, sorted.
fn sorted_text(result: logdb::QueryResult) -> Vec<String> {
    let mut rows: Vec<String> = result.rows().iter().map(|r| format!("{r:?}")).collect();
    rows.sort();
    rows
}

/// A filter keeping rankings at most k runs as a window top-N (each partition's
/// first k rows selected, only they sorted): the rows equal those of the full
/// window with the same filter written so that it is not recognized (`+ 0`), for
/// row_number and rank, ties at the cut, NULL keys, several partition keys,
/// strings, and bounds written every way.
#[test]
fn window_top_n_keeps_the_rows_the_full_window_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_in_segments(dir.path(), 1_000_000);
    let specs = [
        "row_number() OVER (PARTITION BY uid ORDER BY status DESC, ts)",
        "rank() OVER (PARTITION BY uid ORDER BY status DESC)",
        "rank() OVER (PARTITION BY status ORDER BY request_time NULLS FIRST)",
        "row_number() OVER (PARTITION BY status, uid ORDER BY uri, ts DESC)",
        "rank() OVER (PARTITION BY uid % 1 ORDER BY bytes // 1000 DESC NULLS LAST)",
        "rank() OVER (PARTITION BY status)",
        "row_number() OVER (ORDER BY uri DESC, ts)",
    ];
    let bounds = [
        ("r <= 3", "r + 0 <= 3"),
        ("r < 2", "r + 0 < 2"),
        ("r = 1", "r + 0 = 1"),
        ("5 >= r", "5 >= r + 0"),
        ("r BETWEEN 2 AND 4", "r + 0 BETWEEN 2 AND 4"),
        ("r <= 0", "r + 0 <= 0"),
        ("r <= 2 AND status = 200", "r + 0 <= 2 AND status = 200"),
    ];
    for spec in specs {
        // `uid % 1` is not valid for strings: a constant partition instead.
        let spec = spec.replace("uid % 1", "length(uid) * 0");
        for (fast, full) in bounds {
            let q = |pred: &str| {
                format!(
                    "SELECT uid, status, ts, r FROM (SELECT uid, status, ts, {spec} AS r \
                     FROM logs) WHERE {pred}"
                )
            };
            let plan = rows_text(&db, &format!("EXPLAIN {}", q(fast)));
            assert!(
                plan.iter().any(|l| l.contains("WindowTopN")),
                "{}: {plan:?}",
                q(fast)
            );
            let got = rows_text(&db, &q(fast));
            let want = rows_text(&db, &q(full));
            assert_eq!(got.len(), want.len(), "{}", q(fast));
            assert_eq!(got, want, "{}", q(fast));
        }
    }
    // Not a top-N: a different spec in the node, or a ranking with no bound.
    for sql in [
        "SELECT * FROM (SELECT uid, row_number() OVER (PARTITION BY uid ORDER BY ts) AS r, \
         lag(ts) OVER (PARTITION BY uid ORDER BY ts) AS p FROM logs) WHERE r <= 2",
        "SELECT * FROM (SELECT uid, dense_rank() OVER (PARTITION BY uid ORDER BY status) AS r \
         FROM logs) WHERE r <= 2",
        "SELECT * FROM (SELECT uid, row_number() OVER (PARTITION BY uid ORDER BY ts) AS r \
         FROM logs) WHERE r >= 2",
    ] {
        let plan = rows_text(&db, &format!("EXPLAIN {sql}"));
        assert!(
            !plan.iter().any(|l| l.contains("WindowTopN")),
            "{sql}: {plan:?}"
        );
    }
}

/// Columns only a window reads (its partition and order keys) end at the window:
/// a projection of plain columns drops them before the filter above. A top-N bound
/// is still read through that projection, and the answers equal those of the same
/// queries where the outer query reads those columns too (no projection).
#[test]
fn columns_only_the_window_reads_end_at_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_in_segments(dir.path(), 200_000);
    let top = "SELECT status, r FROM (SELECT status, row_number() OVER (PARTITION BY uid \
               ORDER BY ts) AS r FROM logs) WHERE r <= 2";
    let plan = rows_text(&db, &format!("EXPLAIN {top}"));
    // (The rows come sorted: a node's depth is its indentation.)
    let depth = |needle: &str| {
        let line = plan
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {plan:?}"));
        let text = line.split("Str(\"").nth(1).unwrap_or_default();
        text.len() - text.trim_start().len()
    };
    let project = depth("Project: status AS status, win0 AS win0");
    assert!(depth("Filter: (win0 <= 2)") < project, "{plan:?}");
    assert!(project < depth("WindowTopN"), "{plan:?}");
    // The whole window, the bound not recognized as one.
    let kept = "SELECT status, r FROM (SELECT status, row_number() OVER (PARTITION BY uid \
                ORDER BY ts) AS r FROM logs) WHERE r + 0 <= 2";
    let mut got = rows_text(&db, top);
    let mut want = rows_text(&db, kept);
    got.sort();
    want.sort();
    assert!(!got.is_empty());
    assert_eq!(got, want);

    let sessions = "SELECT count(*) FROM (SELECT ts, lag(ts) OVER (PARTITION BY uid ORDER BY ts) \
                    AS p FROM logs) WHERE p IS NULL OR ts - p > INTERVAL 30 MINUTE";
    let plan = rows_text(&db, &format!("EXPLAIN {sessions}"));
    assert!(
        plan.iter()
            .any(|l| l.contains("Project: ts AS ts, win0 AS win0")),
        "{plan:?}"
    );
    // The aggregate reads uid too: no projection.
    let with_uid = "SELECT count(coalesce(uid, '')) FROM (SELECT uid, ts, lag(ts) OVER \
                    (PARTITION BY uid ORDER BY ts) AS p FROM logs) \
                    WHERE p IS NULL OR ts - p > INTERVAL 30 MINUTE";
    let plan = rows_text(&db, &format!("EXPLAIN {with_uid}"));
    assert!(
        !plan
            .iter()
            .any(|l| l.contains("Project: ts AS ts, win0 AS win0")),
        "{plan:?}"
    );
    assert_eq!(rows_text(&db, sessions), rows_text(&db, with_uid));
}

/// A VARCHAR column that only partition keys read is numbered in the scan
/// (`key_id`, once per dictionary entry; EXPLAIN shows it) and the window
/// partitions by the numbers: the answers equal those of the same windows with
/// the column also read above them (no numbering), on one thread and on two,
/// with NULL keys, two string keys, a key that is also an argument (not
/// numbered) and segments with dictionaries of their own (numbered before the
/// scan, EXPLAIN ANALYZE says how many).
#[test]
fn string_partition_keys_numbered_in_the_scan_partition_as_the_strings_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_in_segments(dir.path(), 200_000);
    let windows = "row_number() OVER (PARTITION BY uid ORDER BY ts, status) AS r, \
                   count(*) OVER (PARTITION BY uid, uri) AS c, \
                   lag(ts) OVER (PARTITION BY uri ORDER BY ts, status) AS p, \
                   first_value(uri) OVER (PARTITION BY uri, status ORDER BY ts) AS f";
    let numbered =
        format!("SELECT ts, status, r, c, p, f FROM (SELECT ts, status, {windows} FROM logs)");
    let plain = format!(
        "SELECT ts, status, r, c, p, f FROM (SELECT uid, uri, ts, status, {windows} FROM logs) \
         WHERE length(coalesce(uid, '') || uri) >= 0"
    );
    let explain = |sql: &str| explain_text(&db, sql);
    let plan = explain(&numbered);
    // uid only partitions: numbered; uri is also an argument.
    assert!(plan.contains("key_id(uid) AS uid"), "{plan}");
    assert!(!plan.contains("key_id(uri)"), "{plan}");
    assert!(!explain(&plain).contains("key_id"));
    // The segments' uid dictionaries are numbered before the scan.
    let analyzed = rows_text(&db, &format!("EXPLAIN ANALYZE {numbered}")).join("\n");
    let line = analyzed
        .lines()
        .find(|l| l.contains("key_id: "))
        .unwrap_or_default();
    let dicts: u64 = line
        .split("key_id: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dicts >= 2, "{analyzed}");
    let snap = db.snapshot().unwrap();
    let rows = |sql: &str, threads: usize| rows_on(&snap, sql, threads);
    let want = rows(&plain, 1);
    assert_eq!(want.len(), 60_000);
    assert_eq!(rows(&numbered, 1), want);
    assert_eq!(rows(&numbered, 2), want);
    // Run again, the plan's numbering starts over: the same rows.
    assert_eq!(rows(&numbered, 2), want);
}

/// lag and lead alone over one ORDER BY key are read off links when the key
/// never goes back in input order (EXPLAIN says when), and computed batch by
/// batch when each moves by at most one row over a number and the partition
/// key is numbered in the scan: the same answers as the sorting path (forced
/// by a row_number of the same spec that the query reads), with offsets 0, 1,
/// 2, 3, -1, a default, NULL values, BIGINT, DOUBLE, SMALLINT and string
/// arguments, ties of an hour key (input order among them), a descending key,
/// and rows in order or with late rows among them (where the sort runs
/// anyway), on one thread, two and three (runs of rows per thread whose first
/// rows of a partition take their values from runs before them).
#[test]
fn lag_and_lead_read_off_links_match_the_sorted_rows() {
    let call_lists = [
        // Links.
        "lag(ts) OVER w AS a, lead(ts, 2) OVER w AS b, lag(status, -1, 0) OVER w AS c, \
         lag(uri, 3) OVER w AS d, lead(bytes, 0) OVER w AS e",
        // Batch by batch.
        "lag(ts) OVER w AS a, lead(ts) OVER w AS b, lag(request_time, -1) OVER w AS c, \
         lead(status, 0) OVER w AS d, lag(bytes) OVER w AS e",
    ];
    for late in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = logs_with_late_rows(dir.path(), 40_000, if late { 5_000 } else { 0 });
        let snap = db.snapshot().unwrap();
        for (key, calls) in ["ts", "date_trunc('hour', ts)", "ts DESC"]
            .into_iter()
            .flat_map(|k| call_lists.iter().map(move |c| (k, c)))
        {
            let window = format!("WINDOW w AS (PARTITION BY uid ORDER BY {key})");
            let links =
                format!("SELECT ts, a, b, c, d, e FROM (SELECT ts, {calls} FROM logs {window})");
            let sorted = format!(
                "SELECT ts, a, b, c, d, e FROM (SELECT ts, {calls}, row_number() OVER w AS r \
                 FROM logs {window}) WHERE r > 0"
            );
            let explain = |sql: &str| explain_text(&db, sql);
            assert!(explain(&links).contains("read off one pass"), "{key}");
            assert!(!explain(&sorted).contains("read off one pass"), "{key}");
            let rows = |sql: &str, threads: usize| rows_on(&snap, sql, threads);
            let want = rows(&sorted, 1);
            assert_eq!(want.len(), if late { 45_000 } else { 40_000 });
            for threads in [1, 2, 3] {
                assert_eq!(
                    rows(&links, threads),
                    want,
                    "{key}, {calls}, late rows {late}, {threads} threads"
                );
            }
        }
    }
}

/// An aggregate over a window's rows (a HashAggregate over materialized batches)
/// folds shares of the rows on several threads and merges them in row order: the
/// groups come out in the same order with the same `first()` and `string_agg`
/// as on one thread.
#[test]
fn an_aggregate_over_window_rows_does_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::builder().open(dir.path()).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 5, T0, 1_000_000, ROWS))
        .unwrap();
    let sql = "SELECT uid, count(*), sum(CASE WHEN rn = 1 THEN 1 ELSE 0 END), first(uri), \
               string_agg(CAST(bytes AS VARCHAR), ','), max(rn) \
               FROM (SELECT uid, uri, bytes, row_number() OVER (PARTITION BY uid ORDER BY ts) AS rn \
                     FROM logs) GROUP BY uid";
    let snap = db.snapshot().unwrap();
    let plan = logdb::sql::plan(&snap, sql).unwrap();
    let rows = |threads: usize| {
        let opts = ExecOptions {
            threads,
            ..ExecOptions::default()
        };
        execute(&snap, &plan, &opts).unwrap().rows()
    };
    let one = rows(1);
    assert!(one.len() > 10, "{}", one.len());
    let total: i64 = one
        .iter()
        .map(|r| match r[1] {
            Value::Int(n) => n,
            _ => panic!("{r:?}"),
        })
        .sum();
    assert_eq!(total, ROWS as i64);
    assert_eq!(rows(2), one, "2 threads against 1");
    assert_eq!(rows(3), one, "3 threads against 1");
}

/// Partitions whose rows arrive in time order and partitions with late rows
/// (a second import whose timestamps fall between the first's), ties in the
/// order key and a NULL partition key: lag, lead, row_number and rank equal a
/// naive computation on one thread and on two, whether the partition key is
/// numbered from the input's batches (a plain string column) or computed.
#[test]
fn partitions_sorted_only_where_out_of_order_match_a_naive_computation() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_with_late_rows(dir.path(), 120_000, 15_000);
    // uid, ts, status of every row.
    let rows = all_rows(&db, "logs");
    let mut parts: HashMap<Option<String>, Vec<(i64, i64)>> = HashMap::new();
    for r in &rows {
        let (Value::Int(ts), Value::Int(status)) = (&r[0], &r[4]) else {
            panic!("{r:?}");
        };
        let uid = match &r[3] {
            Value::Str(s) => Some(s.to_string()),
            _ => None,
        };
        parts.entry(uid).or_default().push((*ts, *status));
    }
    // By ts: lag(ts), lead(ts, 2), row_number, rank by status.
    let mut want: HashMap<i64, (i64, i64, i64, i64)> = HashMap::new();
    for p in parts.values_mut() {
        p.sort();
        for (i, &(ts, status)) in p.iter().enumerate() {
            let lag = if i > 0 { p[i - 1].0 } else { -1 };
            let lead = p.get(i + 2).map_or(-1, |x| x.0);
            let rank = 1 + p.iter().filter(|x| x.1 < status).count() as i64;
            want.insert(ts, (lag, lead, i as i64 + 1, rank));
        }
    }
    for key in ["uid", "uid || ''"] {
        let sql = format!(
            "SELECT ts, coalesce(epoch_us(lag(ts) OVER w), -1), \
             coalesce(epoch_us(lead(ts, 2) OVER w), -1), row_number() OVER w, \
             rank() OVER (PARTITION BY {key} ORDER BY status) \
             FROM logs WINDOW w AS (PARTITION BY {key} ORDER BY ts)"
        );
        let snap = db.snapshot().unwrap();
        let plan = logdb::sql::plan(&snap, &sql).unwrap();
        for threads in [1, 2] {
            let opts = ExecOptions {
                threads,
                ..ExecOptions::default()
            };
            let got = execute(&snap, &plan, &opts).unwrap().rows();
            assert_eq!(got.len(), rows.len());
            for r in got {
                let v: Vec<i64> = r
                    .iter()
                    .map(|v| match v {
                        Value::Int(i) => *i,
                        other => panic!("{other:?}"),
                    })
                    .collect();
                assert_eq!(
                    (v[1], v[2], v[3], v[4]),
                    want[&v[0]],
                    "{key}, {threads} threads, ts {}",
                    v[0]
                );
            }
        }
    }
}
