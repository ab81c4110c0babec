//! Hostile inputs: work that grows with the input must grow linearly. Each test
//! times the same job at size n and 2n (best of three runs each) and fails when
//! doubling the input more than triples the time (linear doubles it, quadratic
//! quadruples it).

use std::time::{Duration, Instant};

use logdb::import::{import, ImportObserver, ImportOptions, Source};

/// The best of three runs of `job`.
fn best_of_three(mut job: impl FnMut() -> Duration) -> Duration {
    (0..3).map(|_| job()).min().unwrap()
}

/// Fails unless `job(2n)` takes at most three times as long as `job(n)`.
fn assert_linear(what: &str, n: usize, mut job: impl FnMut(usize) -> Duration) {
    job(n); // warm up: page cache, allocator, thread pool
    let small = best_of_three(|| job(n));
    let large = best_of_three(|| job(2 * n));
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    assert!(
        ratio <= 3.0,
        "{what}: {n} took {small:?}, {} took {large:?} ({ratio:.1}x)",
        2 * n
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
    let good_time = best_of_three(|| timed_import(dir.path(), &good, false));
    let bad_time = best_of_three(|| timed_import(dir.path(), &bad, true));
    assert!(
        bad_time <= good_time * 5 + Duration::from_millis(20),
        "{n} bad lines took {bad_time:?}, {n} good ones {good_time:?}"
    );
}
