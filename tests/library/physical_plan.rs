//! The physical plan is what runs: for the README's questions, the benchmark's
//! queries and a query per strategy, the operators EXPLAIN prints are exactly the
//! operators the executor runs (in the same order), EXPLAIN ANALYZE measures each
//! of them, and each strategy is chosen where it should be.

use logdb::exec::physical::{self, PhysicalPlan};
use logdb::exec::{execute_physical, resolve_subqueries, ExecOptions, ExecStats};
use logdb::Db;

use crate::common::{log_batch, log_schema, T0};

/// Every physical operator name, as EXPLAIN prints it.
const OPERATORS: &[&str] = &[
    "ScanProject",
    "ScanAggregate",
    "IndexOnlyAggregate",
    "ParquetAggregate",
    "StreamingAggregate",
    "TwoPhaseTopN",
    "Filter",
    "Project",
    "HashAggregate",
    "HashJoin",
    "Union",
    "Values",
    "TableFunction",
    "OneRow",
    "Sort",
    "TopN",
    "Limit",
    "Distinct",
    "Window",
    "WindowTopN",
];

/// Ten days of log rows (30 s apart) in several segments per day.
fn db(dir: &std::path::Path) -> Db {
    let db = Db::builder().max_segment_rows(1000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 11, T0, 30_000_000, 30_000))
        .unwrap();
    db
}

/// The operator names of an EXPLAIN text, top down. Lines of operators that a
/// streaming aggregate runs itself end in `[per unit]`, `[across units]` or
/// `[after units]` and are not operators of their own; the plans of subqueries
/// (which run before the query, as plans of their own) are left out.
fn explained(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut subquery_indent: Option<usize> = None;
    for l in text.lines() {
        let indent = l.len() - l.trim_start().len();
        if subquery_indent.is_some_and(|i| indent > i) {
            continue;
        }
        subquery_indent = None;
        if l.trim_start().starts_with("Subquery:") {
            subquery_indent = Some(indent);
            continue;
        }
        if ["[per unit]", "[across units]", "[after units]"]
            .iter()
            .any(|p| l.contains(p))
        {
            continue;
        }
        if let Some(word) = l.trim_start().split([':', ' ']).next() {
            if OPERATORS.contains(&word) {
                out.push(word.to_string());
            }
        }
    }
    out
}

fn text(db: &Db, sql: &str) -> String {
    let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()
        .into_iter()
        .map(|row| match &row[0] {
            logdb::Value::Str(s) => s.to_string(),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Plans `sql`, runs the physical plan and checks that the operators that ran are
/// the planned ones, that EXPLAIN names the same ones, and that EXPLAIN ANALYZE
/// measured the top one. Returns the planned operator names.
fn check(db: &Db, sql: &str, opts: &ExecOptions) -> Vec<&'static str> {
    let snap = db.snapshot().unwrap();
    let logical = logdb::sql::plan(&snap, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    // Uncorrelated subqueries run first and become literals, as in Db::query.
    let logical = resolve_subqueries(&snap, &logical, opts, &ExecStats::default()).unwrap();
    let plan: PhysicalPlan<'_> = physical::plan(&snap, &logical, opts).unwrap();
    let planned = plan.names();
    let stats = ExecStats::default();
    let result = execute_physical(&snap, &plan, opts, &stats).unwrap();
    let ran = stats.operators_run();
    if planned.contains(&"TwoPhaseTopN") {
        // Its phases are planned when they run: the planned operators are the
        // first ones, and both phases ran after them.
        assert_eq!(ran[..planned.len()], planned[..], "{sql}");
        assert!(ran.len() > planned.len() + 1, "{sql}: {ran:?}");
    } else {
        assert_eq!(ran, planned, "{sql}");
    }
    let sorted = |mut rows: Vec<Vec<logdb::Value>>| {
        rows.sort_by_key(|r| format!("{r:?}"));
        rows
    };
    assert_eq!(
        sorted(result.rows()),
        sorted(db.query(sql).unwrap().rows()),
        "{sql}: the same rows through Db::query"
    );
    if opts.use_indexes {
        // EXPLAIN lists the planned operators (and a two-phase top-N's phase-1
        // plan, which runs first): exactly the operators that ran, in order.
        let explain = text(db, &format!("EXPLAIN {sql}"));
        let names = explained(&explain);
        let ran_names: Vec<String> = ran.iter().map(|n| n.to_string()).collect();
        assert!(
            ran_names.starts_with(&names),
            "{sql}\n{explain}\nran: {ran:?}"
        );
        assert_eq!(names[..planned.len()], planned[..], "{sql}\n{explain}");
        let analyze = text(db, &format!("EXPLAIN ANALYZE {sql}"));
        assert_eq!(explained(&analyze), names, "{sql}\n{analyze}");
        let top = analyze
            .lines()
            .find(|l| l.trim_start().starts_with(planned[0]))
            .unwrap();
        assert!(top.contains("(rows="), "{sql}: {top}");
    }
    planned
}

#[test]
fn explain_names_what_runs_for_the_everyday_questions() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let opts = ExecOptions::default();
    // (query, the strategy it must use)
    let cases = [
        // The benchmark's questions.
        ("SELECT count(*) FROM logs", "IndexOnlyAggregate"),
        (
            "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs \
             GROUP BY hour ORDER BY hour",
            "StreamingAggregate",
        ),
        (
            "SELECT uri, count(*) AS requests FROM logs GROUP BY uri \
             ORDER BY requests DESC, uri LIMIT 10",
            "IndexOnlyAggregate",
        ),
        (
            "SELECT status, count(*) AS requests FROM logs GROUP BY status ORDER BY status",
            "IndexOnlyAggregate",
        ),
        (
            "SELECT hour(ts) AS hour, count(*) AS requests FROM logs WHERE uid = 'u7' \
             GROUP BY hour ORDER BY hour",
            "ScanAggregate",
        ),
        (
            "SELECT uri, count(*) AS requests, quantile_cont(request_time, 0.5) AS p50, \
             quantile_cont(request_time, 0.95) AS p95, quantile_cont(request_time, 0.99) AS p99 \
             FROM logs GROUP BY uri ORDER BY requests DESC, uri LIMIT 10",
            "TwoPhaseTopN",
        ),
        (
            "SELECT date_trunc('day', ts) AS day, count(DISTINCT uid) AS users FROM logs \
             GROUP BY day ORDER BY day",
            "StreamingAggregate",
        ),
        (
            "SELECT date_trunc('day', ts) AS day, hour(ts) AS hour, uid, user_agent, status, \
             count(*) AS requests FROM logs GROUP BY day, hour, uid, user_agent, status \
             ORDER BY requests DESC, day, hour, uid, user_agent, status LIMIT 10",
            "StreamingAggregate",
        ),
        (
            "SELECT ts, client_ip, uri, status, bytes, request_time FROM logs \
             WHERE uid = 'u7' ORDER BY ts, uri, status, bytes, request_time",
            "ScanProject",
        ),
        (
            "SELECT time_bucket(INTERVAL '5 minutes', ts) AS bucket, count(*) AS errors \
             FROM logs WHERE uri = '/api/v1/item/4' AND status BETWEEN 500 AND 599 \
             GROUP BY bucket ORDER BY bucket",
            "StreamingAggregate",
        ),
        // The README's questions.
        (
            "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs \
             WHERE ts >= TIMESTAMP '2024-05-02' AND ts < TIMESTAMP '2024-05-02 06:00:00' \
             GROUP BY 1 ORDER BY 1",
            "ScanAggregate",
        ),
        (
            "SELECT status, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC LIMIT 6",
            "IndexOnlyAggregate",
        ),
        (
            "SELECT uri, count(*) AS n, round(quantile_cont(request_time, 0.95), 3) AS p95 \
             FROM logs GROUP BY uri HAVING count(*) > 100 ORDER BY p95 DESC, uri LIMIT 5",
            "ScanAggregate",
        ),
        (
            "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests, min(uri) AS first_uri, \
             max(status) AS worst_status FROM logs WHERE uid = 'u7' GROUP BY 1 ORDER BY 1",
            "StreamingAggregate",
        ),
        // Operators over materialized inputs.
        (
            "SELECT a.status, count(*) FROM logs a JOIN (SELECT DISTINCT status FROM logs \
             WHERE bytes > 1000) b ON a.status = b.status GROUP BY a.status",
            "HashJoin",
        ),
        (
            "SELECT uid FROM logs WHERE status = 404 UNION ALL SELECT uid FROM logs \
             WHERE status = 500",
            "Union",
        ),
        // DISTINCT is a group-by of every column.
        (
            "SELECT DISTINCT status FROM logs WHERE uid = 'u3'",
            "ScanAggregate",
        ),
        (
            "SELECT DISTINCT s FROM (SELECT status AS s FROM logs UNION ALL SELECT 1)",
            "HashAggregate",
        ),
        // A join's output streams into the aggregate above it.
        (
            "SELECT a.status, count(*) FROM logs a JOIN logs b ON a.uid = b.uid GROUP BY 1",
            "HashJoin",
        ),
        ("SELECT 1 + 1", "OneRow"),
        // Table functions: streamed into an aggregate or a top-N, or materialized.
        (
            "SELECT i % 7, count(*) FROM range(100000) t(i) WHERE i % 2 = 0 GROUP BY 1",
            "TableFunction",
        ),
        (
            "SELECT * FROM generate_series(5, 500000, 5) ORDER BY 1 DESC LIMIT 3",
            "TableFunction",
        ),
        (
            "SELECT l.uid, count(*) FROM logs l JOIN range(1, 20) r(i) \
             ON l.uid = 'u' || CAST(r.i AS VARCHAR) GROUP BY 1",
            "TableFunction",
        ),
        ("SELECT * FROM range(10) LIMIT 3", "TableFunction"),
        ("SELECT uri FROM logs LIMIT 3", "Limit"),
        (
            "SELECT uri, bytes FROM logs WHERE bytes > (SELECT avg(bytes) FROM logs) \
             ORDER BY bytes DESC LIMIT 3",
            "TopN",
        ),
        (
            "SELECT uid, ts, lag(ts) OVER (PARTITION BY uid ORDER BY ts) AS prev FROM logs \
             WHERE uid IN ('u7', 'u8')",
            "Window",
        ),
        (
            "SELECT status, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) FROM logs \
             GROUP BY status QUALIFY rank() OVER (ORDER BY count(*) DESC) <= 2",
            "WindowTopN",
        ),
    ];
    for (sql, strategy) in cases {
        let planned = check(&db, sql, &opts);
        assert!(planned.contains(&strategy), "{sql}: {planned:?}");
    }
}

#[test]
fn aggregates_over_parquet_run_as_parquet_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("db"));
    let file = dir.path().join("logs.parquet");
    let file = file.to_str().unwrap().replace('\'', "''");
    db.query(&format!(
        "COPY logs TO '{file}' (FORMAT parquet, ROW_GROUP_SIZE 5000)"
    ))
    .unwrap();
    let opts = ExecOptions::default();
    let cases = [
        (
            format!("SELECT status, count(*) FROM '{file}' GROUP BY status ORDER BY status"),
            "ParquetAggregate",
        ),
        (
            format!(
                "SELECT uri, count(*) AS n FROM '{file}' WHERE status >= 500 \
                 GROUP BY uri ORDER BY n DESC, uri LIMIT 3"
            ),
            "ParquetAggregate",
        ),
        (
            format!("SELECT max(uri), count(*) FROM '{file}'"),
            "ParquetAggregate",
        ),
        // Rows themselves come from the table function.
        (
            format!("SELECT uri, status FROM '{file}' WHERE status = 500 ORDER BY uri LIMIT 3"),
            "TableFunction",
        ),
    ];
    for (sql, strategy) in &cases {
        let planned = check(&db, sql, &opts);
        assert!(planned.contains(strategy), "{sql}: {planned:?}");
    }
}

#[test]
fn without_indexes_the_plan_scans_and_still_names_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let opts = ExecOptions {
        use_indexes: false,
        ..ExecOptions::default()
    };
    for sql in [
        "SELECT count(*) FROM logs",
        "SELECT status, count(*) FROM logs GROUP BY status",
    ] {
        let planned = check(&db, sql, &opts);
        assert!(planned.contains(&"ScanAggregate"), "{sql}: {planned:?}");
        assert!(!planned.contains(&"IndexOnlyAggregate"), "{sql}");
    }
}

#[test]
fn explain_logical_still_prints_the_logical_plan() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let logical = text(
        &db,
        "EXPLAIN (LOGICAL) SELECT status, count(*) FROM logs WHERE uid = 'u7' GROUP BY status",
    );
    assert!(
        logical.contains("Aggregate: group=[status] aggs=[count(*)] index_only=true"),
        "{logical}"
    );
    assert!(logical.contains("Filter: (uid = 'u7')"), "{logical}");
    let e = db
        .query("EXPLAIN (FORMAT JSON) SELECT 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not supported yet: EXPLAIN option"), "{e}");
}

/// HAVING runs conjunct by conjunct under every aggregation strategy: a later
/// conjunct that would fail (a division by zero) is evaluated only on the groups
/// the earlier ones kept. The partition-streaming aggregate evaluated the whole
/// predicate at once and failed.
#[test]
fn having_filters_conjunct_by_conjunct_in_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let opts = ExecOptions::default();
    for (sql, strategy) in [
        (
            "SELECT date_trunc('hour', ts) AS h, count(*) FROM logs GROUP BY h \
             HAVING count(*) > 1000000 AND 10 % (count(*) - count(*)) = 1",
            "StreamingAggregate",
        ),
        (
            "SELECT user_agent, sum(bytes) FROM logs GROUP BY user_agent \
             HAVING count(*) > 1000000 AND 10 % (count(*) - count(*)) = 1",
            "ScanAggregate",
        ),
    ] {
        let planned = check(&db, sql, &opts);
        assert!(planned.contains(&strategy), "{sql}: {planned:?}");
        assert_eq!(db.query(sql).unwrap().num_rows(), 0, "{sql}");
    }
}

/// A filter over a Window passes below it only when it reads nothing but columns
/// every window expression partitions by (it then removes whole partitions);
/// any other filter stays above, where it sees the windows' results.
#[test]
fn filters_pass_below_a_window_only_on_its_partition_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let opts = ExecOptions::default();
    let sql = "SELECT * FROM (SELECT uid, status, ts, row_number() OVER (PARTITION BY uid \
               ORDER BY ts) AS rn FROM logs) WHERE uid = 'u7' AND status = 404 AND rn > 1";
    let planned = check(&db, sql, &opts);
    assert!(planned.contains(&"Window"), "{planned:?}");
    let explain = text(&db, &format!("EXPLAIN {sql}"));
    let line = |needle: &str| {
        explain
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{explain}"))
    };
    let window = line("Window: row_number()");
    assert!(line("(uid = 'u7')") > window, "{explain}");
    assert!(line("(status = 404)") < window, "{explain}");
    assert!(line("(win0 > 1)") < window, "{explain}");
    // The row numbers count every row of u7, not only its 404s.
    let r = db.query(sql).unwrap();
    let all = db
        .query("SELECT count(*) FROM logs WHERE uid = 'u7' AND status = 404")
        .unwrap();
    let first_is_404 = db
        .query(
            "SELECT count(*) FROM (SELECT status, row_number() OVER (ORDER BY ts) AS rn \
             FROM logs WHERE uid = 'u7') WHERE rn = 1 AND status = 404",
        )
        .unwrap();
    let n = |q: &logdb::QueryResult| q.rows()[0][0].clone();
    assert_eq!(
        logdb::Value::Int(r.num_rows() as i64),
        match (n(&all), n(&first_is_404)) {
            (logdb::Value::Int(a), logdb::Value::Int(b)) => logdb::Value::Int(a - b),
            other => panic!("{other:?}"),
        }
    );
}

/// A column read only for its NULLs (`IS [NOT] NULL`, `count(c)`) has only its
/// validity decoded, which EXPLAIN names; answers equal those of queries that
/// read the same columns' values too, for every physical type (strings with a
/// dictionary, integers, doubles, booleans, IPs).
#[test]
fn columns_read_for_nulls_only_decode_validity() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let cases = [
        (
            "SELECT count(uid), count(request_time), count(client_ip) FROM logs",
            "SELECT count(uid) FILTER (WHERE length(uid) >= 0), \
             count(request_time) FILTER (WHERE request_time + 1 > request_time - 1), \
             count(client_ip) FILTER (WHERE client_ip::VARCHAR <> '') FROM logs",
            "[client_ip, uid, request_time]",
        ),
        (
            "SELECT status, count(*) FROM logs WHERE uid IS NULL AND request_time IS NOT NULL \
             GROUP BY status ORDER BY status",
            "SELECT status, count(*) FROM logs WHERE coalesce(uid, '~null') = '~null' \
             AND coalesce(request_time, -1.0) >= 0 GROUP BY status ORDER BY status",
            "[uid, request_time]",
        ),
        (
            "SELECT ts, status FROM logs WHERE secure IS NULL OR bytes IS NOT NULL ORDER BY ts LIMIT 5",
            "SELECT ts, status FROM logs WHERE coalesce(secure::VARCHAR, 'n') = 'n' \
             OR coalesce(bytes, -1) >= 0 ORDER BY ts LIMIT 5",
            "[bytes, secure]",
        ),
    ];
    for (fast, slow, columns) in cases {
        let run = |sql: &str| {
            db.query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .rows()
        };
        let (a, b) = (run(fast), run(slow));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{fast}");
        let line = "read for NULLs only (validity decoded, values not)";
        let explained = text(&db, &format!("EXPLAIN {fast}"));
        assert!(
            explained.contains(&format!("{line}: {columns}")),
            "{explained}"
        );
        assert!(!text(&db, &format!("EXPLAIN {slow}")).contains(line));
    }
    // A column also read for its values decodes them.
    let both = text(&db, "EXPLAIN SELECT count(uid), min(uid) FROM logs");
    assert!(!both.contains("NULLs only"), "{both}");
}

#[test]
fn string_keys_read_whole_are_numbered_by_merged_dictionaries() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let line = "string keys numbered by their dictionaries merged per unit";
    let run = |sql: &str, merged: bool| {
        let snap = db.snapshot().unwrap();
        let plan = logdb::sql::plan(&snap, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        // Asking for the aggregate cache (here without a store, so nothing is
        // cached) turns the merge off: strings are interned one by one.
        let opts = ExecOptions {
            threads: 2,
            aggregate_cache: !merged,
            ..ExecOptions::default()
        };
        let mut rows = logdb::exec::execute(&snap, &plan, &opts)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows();
        rows.sort_by_key(|r| format!("{r:?}"));
        rows
    };
    for (sql, keys) in [
        (
            "SELECT uid, user_agent, sum(bytes) AS b FROM logs GROUP BY uid, user_agent",
            Some("[uid, user_agent]"),
        ),
        (
            "SELECT date_trunc('day', ts) AS d, hour(ts) AS h, uid, uri, status, count(*) AS n \
             FROM logs GROUP BY ALL ORDER BY n DESC, d, h, uid, uri, status LIMIT 20",
            Some("[uid, uri]"),
        ),
        (
            "SELECT uri, max(request_time) FROM logs GROUP BY uri ORDER BY uri",
            Some("[uri]"),
        ),
        // A time range reads every row of the segments inside it.
        (
            "SELECT uid, count(*) AS n FROM logs WHERE ts >= '2024-05-02 07:00:00' \
             AND ts < '2024-05-05 00:00:00' AND hour(ts) < 20 GROUP BY uid ORDER BY n DESC, uid LIMIT 30",
            Some("[uid]"),
        ),
        // A filter on another column may leave few rows: their strings are
        // interned as met.
        (
            "SELECT uid, sum(bytes) FROM logs WHERE status = 404 GROUP BY uid",
            None,
        ),
    ] {
        let merged = run(sql, true);
        assert!(merged.len() > 3, "{sql}");
        assert_eq!(merged, run(sql, false), "{sql}");
        let explain = text(&db, &format!("EXPLAIN {sql}"));
        match keys {
            Some(keys) => assert!(explain.contains(&format!("{line}: {keys}")), "{explain}"),
            None => assert!(!explain.contains(line), "{explain}"),
        }
    }
}

/// Group keys that no operator above an aggregate reads (an aggregate or a
/// projection over it that reads only its aggregates) are grouped by but not
/// built: EXPLAIN names them under the aggregate, and the answers equal those
/// of the same query with an ORDER BY on the keys between, which reads them.
#[test]
fn keys_nothing_above_reads_are_not_built() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let line = "keys no operator above reads, not built";
    let opts = ExecOptions {
        threads: 2,
        ..ExecOptions::default()
    };
    let inner = "SELECT uid, status, count(*) AS n FROM logs GROUP BY uid, status";
    for (sql, keys) in [
        // By day: a streaming aggregate, unit by unit.
        (
            "SELECT count(*), sum(n) FROM (SELECT date_trunc('day', ts) AS d, uid, status, \
             count(*) AS n FROM logs GROUP BY ALL{order})"
                .to_string(),
            Some("[DateTrunc(Day)(ts), uid, status]"),
        ),
        (
            format!("SELECT avg(n), max(n), count(*) FROM ({inner}{{order}})"),
            Some("[uid, status]"),
        ),
        (
            format!("SELECT max(uid), sum(n) FROM ({inner}{{order}})"),
            Some("[status]"),
        ),
        (
            format!("SELECT n * 2 AS m, status FROM ({inner}{{order}})"),
            Some("[uid]"),
        ),
        // Three levels: the middle aggregate's key is read by nothing, and it
        // reads only the inner one's count.
        (
            format!(
                "SELECT count(*), sum(c) FROM (SELECT n, count(*) AS c FROM ({inner}{{order}}) \
                 GROUP BY n)"
            ),
            Some("[uid, status]"),
        ),
        // A filter above reads its columns (and is not analysed).
        (
            format!("SELECT count(*) FROM ({inner}{{order}}) WHERE n > 1"),
            None,
        ),
    ] {
        let fast = sql.replace("{order}", "");
        let order = if sql.contains(" d, ") {
            " ORDER BY d, uid, status LIMIT 1000000000"
        } else {
            " ORDER BY uid, status LIMIT 1000000000"
        };
        let slow = sql.replace("{order}", order);
        check(&db, &fast, &opts);
        let mut got = db.query(&fast).unwrap().rows();
        let mut want = db.query(&slow).unwrap().rows();
        got.sort_by_key(|r| format!("{r:?}"));
        want.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(got, want, "{fast}");
        let explain = text(&db, &format!("EXPLAIN {fast}"));
        let ordered = text(&db, &format!("EXPLAIN {slow}"));
        match keys {
            Some(keys) => {
                let keys = format!("{line}: {keys}");
                assert!(explain.contains(&keys), "{explain}");
                assert!(!ordered.contains(&keys), "{ordered}");
            }
            None => assert!(!explain.contains(line), "{explain}"),
        }
        if sql.contains("GROUP BY n") {
            // The middle aggregate's key, in both (named by the column it
            // reads: the inner count, or the projection's name for it).
            assert!(explain.contains(&format!("{line}: [agg0]")), "{explain}");
            assert!(ordered.contains(&format!("{line}: [n]")), "{ordered}");
        }
    }
}
