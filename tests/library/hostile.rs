//! Hostile inputs: work that grows with the input must not grow faster than the
//! job needs. Tests time a job against a cheaper one of the same size, or the same
//! job at sizes n and k * n (best of five runs each).

use std::time::{Duration, Instant};

use logdb::import::{import, ImportObserver, ImportOptions, Source};

use crate::common::indexed_logs_db;

/// The best of five runs of `job` (other tests run beside these: the best run is
/// the one least disturbed).
fn best_of_five(mut job: impl FnMut() -> Duration) -> Duration {
    (0..5).map(|_| job()).min().unwrap()
}

/// Fails when `job(k * n)` takes more than `max_ratio` times as long as `job(n)`.
/// A larger `k` separates growth rates by more than a loaded machine's noise.
fn assert_growth(
    what: &str,
    n: usize,
    k: usize,
    max_ratio: f64,
    mut job: impl FnMut(usize) -> Duration,
) {
    job(n); // warm up: page cache, allocator, thread pool
    let small = best_of_five(|| job(n));
    let large = best_of_five(|| job(k * n));
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    assert!(
        ratio <= max_ratio,
        "{what}: {n} took {small:?}, {} took {large:?} ({ratio:.1}x)",
        k * n
    );
}

#[derive(Default)]
struct CountRejects(u64, usize);
impl ImportObserver for CountRejects {
    fn reject(&mut self, _file: &str, _line: u64, _reason: &str, text: &[u8]) {
        self.0 += 1;
        self.1 += text.len();
    }
}

/// Imports `lines` from a file as `combined` and returns the time it took, checking
/// that every line was accounted for and every reject carried its own text.
fn timed_import(dir: &std::path::Path, lines: &[String], bad: bool) -> Duration {
    let path = dir.join("input.log");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    let db_dir = tempfile::tempdir().unwrap();
    let db = logdb::Db::open(db_dir.path()).unwrap();
    let mut seen = CountRejects::default();
    let start = Instant::now();
    let stats = import(
        &db,
        &[Source::Path(path)],
        &ImportOptions::new("combined"),
        &mut seen,
    )
    .unwrap();
    let took = start.elapsed();
    let n = lines.len() as u64;
    let rejected = if bad { n } else { 0 };
    assert_eq!((stats.lines, stats.rejected), (n, rejected));
    assert_eq!(seen.0, rejected);
    if bad {
        assert_eq!(seen.1, text.len() - lines.len());
    }
    took
}

/// Rejecting a line costs about what storing one does: 30,000 bad lines (one read
/// chunk, where finding each reject's text once rescanned the chunk) against
/// 30,000 good ones.
#[test]
fn rejecting_bad_lines_costs_no_more_than_storing_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let n = 30_000;
    let good: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "10.0.{}.{} - - [01/May/2024:10:{:02}:{:02} +0000] \"GET /p/{i} HTTP/1.1\" 200 {i} \"-\" \"curl/8\"",
                i / 250 % 250,
                i % 250,
                i / 60 % 60,
                i % 60
            )
        })
        .collect();
    let bad: Vec<String> = (0..n)
        .map(|i| format!("not a log line {i} {}", "x".repeat(i % 80)))
        .collect();
    timed_import(dir.path(), &good, false); // warm up
    let good_time = best_of_five(|| timed_import(dir.path(), &good, false));
    let bad_time = best_of_five(|| timed_import(dir.path(), &bad, true));
    assert!(
        bad_time <= good_time * 5 + Duration::from_millis(20),
        "{n} bad lines took {bad_time:?}, {n} good ones {good_time:?}"
    );
}

/// A long literal IN list costs one hash lookup per row: running the query takes
/// no longer than parsing and planning it (it compared every row with every item).
#[test]
fn a_long_in_list_is_tested_through_a_set() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 5, 20_000);
    let snap = db.snapshot().unwrap();
    let opts = logdb::exec::ExecOptions {
        threads: 2,
        ..logdb::exec::ExecOptions::default()
    };
    for (column, item) in [("bytes", "{i}"), ("user_agent", "'agent {i}'")] {
        let items: Vec<String> = (0..100_000)
            .map(|i| item.replace("{i}", &i.to_string()))
            .collect();
        let sql = format!(
            "SELECT count(*) FROM logs WHERE {column} NOT IN ({})",
            items.join(", ")
        );
        let start = Instant::now();
        let plan = logdb::sql::plan(&snap, &sql).unwrap();
        let planning = start.elapsed();
        let start = Instant::now();
        let result = logdb::exec::execute(&snap, &plan, &opts).unwrap();
        let running = start.elapsed();
        assert_eq!(result.num_rows(), 1);
        assert!(
            running <= planning * 2 + Duration::from_millis(50),
            "{column}: planning took {planning:?}, running {running:?}"
        );
    }
}

/// Each CTE of a chain is bound once and shared with the queries below it, not
/// copied into every one of them (a 400-deep chain took seconds, growing as n^3).
/// The chain's plans still hold O(n^2) nodes between them, as each CTE inlines the
/// one before it.
#[test]
fn a_deep_cte_chain_binds_in_quadratic_time_at_most() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 5, 100);
    // Four times as deep: n^2 grows 16x, the n^3 this replaced 64x. (Doubling, a
    // 6.5x bound between 4x and 8x failed in a loaded test run: 8.1x.)
    assert_growth("CTE chain", 300, 4, 32.0, |n| {
        let ctes: Vec<String> = (1..=n)
            .map(|i| format!("c{i} AS (SELECT x FROM c{})", i - 1))
            .collect();
        let sql = format!(
            "WITH c0 AS (SELECT 1 AS x), {} SELECT x FROM c{n}",
            ctes.join(", ")
        );
        let start = Instant::now();
        let result = db.query(&sql).unwrap();
        let took = start.elapsed();
        assert_eq!(result.rows(), [[logdb::Value::Int(1)]]);
        took
    });
}

/// Long flat chains (`1 + 1 + ... + 1`, thousands of ANDs or ORs) parse into trees as
/// deep as they are long; past the limit they are refused with a clear error
/// instead of overflowing a stack (the process aborted at 3,000 terms). Runs on a
/// test thread's small stack, as a library user's thread would.
#[test]
fn deep_expressions_are_refused_not_overflowing_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_logs_db(dir.path(), 5, 3000);
    let chain = |n: usize, term: &str, op: &str| vec![term; n].join(op);
    for sql in [
        format!("SELECT {} FROM logs", chain(100_000, "1", " + ")),
        format!(
            "SELECT count(*) FROM logs WHERE {}",
            chain(100_000, "status = 200", " AND ")
        ),
        format!(
            "SELECT count(*) FROM logs WHERE {}",
            chain(100_000, "status = 200", " OR ")
        ),
        format!(
            "SELECT count(*) FROM logs WHERE {}",
            chain(3_000, "bytes > 0", " OR ")
        ),
    ] {
        let err = db.query(&sql).unwrap_err().to_string();
        assert!(
            err.contains("expression too deep: more than 1000 nested levels"),
            "{err}"
        );
        assert!(err.starts_with("line 1, column "), "{err}");
    }
    // Deep nesting stops at the parser's recursion limit.
    let nested = format!(
        "SELECT {}1{} FROM logs",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let err = db.query(&nested).unwrap_err().to_string();
    assert!(err.contains("syntax error"), "{err}");
    // Just under the limit, the whole path runs: planning, the worker threads'
    // evaluation, EXPLAIN.
    let sum = format!("SELECT {} AS s FROM logs LIMIT 1", chain(1000, "1", " + "));
    assert_eq!(db.query(&sum).unwrap().rows(), [[logdb::Value::Int(1000)]]);
    let filter = format!(
        "SELECT count(*) FROM logs WHERE {}",
        chain(999, "bytes >= 0", " AND ")
    );
    let all = db
        .query("SELECT count(*) FROM logs WHERE bytes >= 0")
        .unwrap();
    assert_eq!(db.query(&filter).unwrap().rows(), all.rows());
    db.query(&format!("EXPLAIN {filter}")).unwrap();
}
