//! `kill -9` of a real `logdb import` process at random moments, bulk and `--follow`.
//!
//! Bulk: a directory of files of different lengths is imported with `--batch-rows 1`,
//! so every file (one chunk each) is one commit and the commit boundaries are the
//! cumulative file lengths. `--report-commits` prints "committed R rows, ..." after
//! each commit has returned (after the manifest's fsync). After the kill:
//! - `logdb check` passes on the files exactly as the kill left them (or finds no
//!   database or no manifest at all, only when the kill came before the database
//!   was created);
//! - the table holds exactly the first N lines of the input, each once: N rows whose
//!   `bytes` field (the line's sequence number) takes every value 0..N;
//! - N is a sum of whole batches (a cumulative file length), N >= the last reported
//!   R, and N <= the next batch boundary after R: a commit may land after the last
//!   report was written, but at most one, since the next report is written before the
//!   next commit starts;
//! - a writer reopens the database (removing leftovers) and sees the same N.
//!
//! Follow: one followed file grows while `logdb import --follow` (small batches, 20 ms
//! commit interval) runs and is killed, again and again on the same database. After
//! each kill the table holds a prefix of the file's lines, each once, at least all
//! that the killed process reported; at the end a restart catches up and, after
//! SIGTERM, every line written is stored exactly once (the follow checkpoint lives in
//! the same manifest as the rows it covers).
//!
//! Each iteration prints its seed (the delay before the kill and the amount of input
//! derive from it). Environment:
//! - `LOGDB_KILL_ITERS`: bulk iterations (default 150); follow runs 40% as many (60).
//! - `LOGDB_KILL_SEED`: the first iteration's seed (default: from the clock); iteration
//!   i uses seed + i. Replay one iteration with `LOGDB_KILL_ITERS=1
//!   LOGDB_KILL_SEED=<its seed>` (the kill lands at the same delay, though not
//!   necessarily at the same instruction).
//!
//! Longer run: `LOGDB_KILL_ITERS=2000 cargo test --release --test kill9 -- --nocapture`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_logdb");

/// A small deterministic PRNG (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn base_seed() -> u64 {
    env_u64("LOGDB_KILL_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

/// Combined-format line number `seq` (0-based): the bytes field is `seq`, times run
/// a minute apart from 2024-05-01 (over months in long runs), so the input spans days
/// (several partitions).
fn line(seq: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const MAY_1_2024: i64 = 1_714_521_600_000_000;
    // "YYYY-MM-DD HH:MM:SS"
    let ts = logdb::time::format_timestamp(MAY_1_2024 + seq as i64 * 60_000_000);
    let month = MONTHS[ts[5..7].parse::<usize>().unwrap() - 1];
    format!(
        "10.0.{}.{} - - [{}/{month}/{}:{} +0000] \"GET /p/{}?uid={} HTTP/1.1\" 200 {seq} \"-\" \"curl/8\"\n",
        seq / 250 % 250,
        seq % 250,
        &ts[8..10],
        &ts[..4],
        &ts[11..19],
        seq % 17,
        seq % 50
    )
}

fn lines(from: u64, n: u64) -> String {
    (from..from + n).map(line).collect()
}

/// What the database at `db` holds, read through a read-only handle: rows, distinct
/// sequence numbers, min and max sequence number. `None` if there is no database.
fn contents(db: &Path) -> Option<(u64, u64, Option<i64>, Option<i64>)> {
    let handle = match logdb::Db::builder().read_only(true).open(db) {
        Ok(h) => h,
        Err(logdb::Error::NotFound(_)) => return None,
        Err(e) => panic!("cannot open {} read-only: {e}", db.display()),
    };
    if handle.table_info("logs").is_err() {
        return Some((0, 0, None, None));
    }
    let r = handle
        .query("SELECT count(*), count(DISTINCT bytes), min(bytes), max(bytes) FROM logs")
        .unwrap();
    let row = &r.rows()[0];
    let int = |v: &logdb::Value| match v {
        logdb::Value::Int(i) => Some(*i),
        logdb::Value::Null => None,
        other => panic!("unexpected {other:?}"),
    };
    Some((
        int(&row[0]).unwrap() as u64,
        int(&row[1]).unwrap() as u64,
        int(&row[2]),
        int(&row[3]),
    ))
}

/// Asserts that the table holds exactly the lines 0..n, each once; returns n.
fn assert_prefix(db: &Path, ctx: &str) -> u64 {
    let Some((n, distinct, min, max)) = contents(db) else {
        return 0;
    };
    assert_eq!(
        distinct, n,
        "{ctx}: duplicate rows ({n} rows, {distinct} distinct)"
    );
    if n > 0 {
        assert_eq!(
            (min, max),
            (Some(0), Some(n as i64 - 1)),
            "{ctx}: {n} rows but not lines 0..{n}"
        );
    }
    n
}

/// Runs `logdb check`; returns whether it passed and its output.
fn check(db: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["check", db.to_str().unwrap()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The row totals of every complete "committed R rows, L lines" line in `path`
/// (a line cut short by the kill is ignored); panics if a line was rejected.
fn reported(path: &Path) -> Vec<u64> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for l in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        if let Some(rest) = l.strip_prefix("committed ") {
            // "R rows, L lines": every input line is valid, so R == L.
            let nums: Vec<u64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            assert!(
                nums.len() == 2 && nums[0] == nums[1],
                "bad report line or rejected lines: {l:?}"
            );
            out.push(nums[0]);
        }
    }
    out
}

/// Waits until `child` exits or `limit` has passed; its exit status if it exited.
fn wait_up_to(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        let left = limit.saturating_sub(t.elapsed());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(left.min(Duration::from_millis(2)));
    }
}

fn kill9(child: &mut Child) {
    // SIGKILL; an already exited child is fine.
    let _ = child.kill();
    child.wait().unwrap();
}

/// Bulk input: 30 files of 5..60 lines; returns the directory and the commit
/// boundaries (cumulative line counts, starting with 0).
fn bulk_input(dir: &Path) -> (PathBuf, Vec<u64>) {
    let input = dir.join("input");
    fs::create_dir_all(&input).unwrap();
    let mut rng = Rng(0xb01c);
    let mut bounds = vec![0u64];
    let mut next = 0;
    for f in 0..30 {
        let n = 5 + rng.below(56);
        fs::write(input.join(format!("part-{f:03}.log")), lines(next, n)).unwrap();
        next += n;
        bounds.push(next);
    }
    (input, bounds)
}

fn start_bulk(db: &Path, input: &Path, report: &Path) -> Child {
    Command::new(BIN)
        .args(["import", db.to_str().unwrap(), input.to_str().unwrap()])
        .args(["-f", "combined", "-q", "--report-commits", "--threads", "1"])
        .args(["--batch-rows", "1", "--segment-rows", "50"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(report).unwrap())
        .spawn()
        .unwrap()
}

/// One bulk iteration: import, kill after `delay`, verify. Returns (reported, stored).
fn bulk_iteration(
    dir: &Path,
    input: &Path,
    bounds: &[u64],
    delay: Duration,
    ctx: &str,
) -> (u64, u64) {
    let db = dir.join("db");
    let report = dir.join("report.txt");
    let _ = fs::remove_dir_all(&db);
    let mut child = start_bulk(&db, input, &report);
    let finished = wait_up_to(&mut child, delay);
    kill9(&mut child);
    let reports = reported(&report);
    let last = reports.last().copied().unwrap_or(0);
    for r in &reports {
        assert!(
            bounds.contains(r),
            "{ctx}: reported {r}, not a batch boundary"
        );
    }
    if let Some(status) = finished {
        let text = fs::read_to_string(&report).unwrap_or_default();
        assert!(status.success(), "{ctx}: import failed: {text}");
        assert_eq!(last, *bounds.last().unwrap(), "{ctx}: finished early");
    }

    // The files exactly as the kill left them.
    let (ok, text) = check(&db);
    let stored = if ok {
        assert_prefix(&db, ctx)
    } else {
        // Only a kill before the database's first manifest leaves none.
        let early = text.contains("no manifest") || text.contains("is not a directory");
        assert!(
            early && last == 0,
            "{ctx}: check failed after kill -9:\n{text}"
        );
        0
    };
    assert!(
        bounds.contains(&stored),
        "{ctx}: {stored} rows is not a whole number of batches"
    );
    let next = bounds.iter().copied().find(|&b| b > last).unwrap_or(last);
    assert!(
        (last..=next).contains(&stored),
        "{ctx}: {stored} rows stored, last report {last}, next boundary {next}"
    );

    // A writer reopens it (removing what the kill left behind) and sees the same.
    let writer = logdb::Db::open(&db).unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    let report = writer.check().unwrap();
    assert!(
        report.is_ok(),
        "{ctx}: check failed after reopen: {report:?}"
    );
    drop(writer);
    assert_eq!(
        assert_prefix(&db, ctx),
        stored,
        "{ctx}: reopen changed the rows"
    );
    (last, stored)
}

#[test]
fn kill9_during_bulk_import_keeps_exactly_the_reported_batches() {
    let iters = env_u64("LOGDB_KILL_ITERS").unwrap_or(150);
    let seed = base_seed();
    let dir = tempfile::tempdir().unwrap();
    let (input, bounds) = bulk_input(dir.path());

    // Calibrate: uninterrupted imports give the range of kill delays. The fastest
    // of three is used: a first, cold run can take several times longer, and
    // delays drawn from it would mostly land after the import finished.
    let mut full = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let (reported, stored) = bulk_iteration(
            dir.path(),
            &input,
            &bounds,
            Duration::from_secs(600),
            "full run",
        );
        full = full.min(t.elapsed());
        assert_eq!((reported, stored), (bounds[bounds.len() - 1], reported));
    }
    println!(
        "bulk: {} lines in {} commits, full import {full:?}",
        bounds[bounds.len() - 1],
        bounds.len() - 1
    );

    let mut partial = 0;
    for i in 0..iters {
        let s = seed.wrapping_add(i);
        let delay = Duration::from_micros(Rng(s).below(full.as_micros() as u64 * 11 / 10));
        let ctx = format!("bulk iteration {i} (seed {s}, kill after {delay:?})");
        let (last, stored) = bulk_iteration(dir.path(), &input, &bounds, delay, &ctx);
        println!("{ctx}: last reported {last}, stored {stored}");
        partial += u64::from(stored > 0 && stored < *bounds.last().unwrap());
    }
    println!("bulk: {iters} kills, {partial} in the middle of the import, 0 rows lost");
    // The delays must reach into the import, or the test checks nothing.
    assert!(
        iters < 20 || partial * 5 >= iters,
        "only {partial} of {iters} kills landed mid-import"
    );
}

/// Appends to a file in the background: `lines` lines in small groups at random
/// intervals, until told to stop. Returns the number of the next line.
fn grow(path: &Path, from: u64, rng: &mut Rng, stop: &AtomicBool, max: u64) -> u64 {
    let mut next = from;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    while !stop.load(Ordering::Relaxed) && next < from + max {
        let n = 1 + rng.below(20);
        f.write_all(lines(next, n).as_bytes()).unwrap();
        next += n;
        std::thread::sleep(Duration::from_millis(rng.below(15)));
    }
    next
}

fn start_follow(db: &Path, file: &Path, report: &Path) -> Child {
    Command::new(BIN)
        .args([
            "import",
            db.to_str().unwrap(),
            "--follow",
            file.to_str().unwrap(),
        ])
        .args(["-f", "combined", "-q", "--report-commits"])
        .args([
            "--batch-rows",
            "16",
            "--segment-rows",
            "64",
            "--commit-ms",
            "20",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(report).unwrap())
        .spawn()
        .unwrap()
}

#[test]
fn kill9_during_follow_then_restart_stores_every_line_once() {
    let iters = env_u64("LOGDB_KILL_ITERS").map_or(60, |n| n.div_ceil(5) * 2);
    let seed = base_seed();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let log = dir.path().join("access.log");
    let report = dir.path().join("report.txt");
    let mut written = 0u64;
    fs::write(&log, lines(0, 50)).unwrap();
    written += 50;

    let mut stored = 0;
    let mut mid_batch = 0;
    for i in 0..iters {
        let s = seed.wrapping_add(i);
        let mut rng = Rng(s);
        let before = stored;
        let mut child = start_follow(&db, &log, &report);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (log, stop, mut rng) = (log.clone(), stop.clone(), Rng(rng.next()));
            std::thread::spawn(move || grow(&log, written, &mut rng, &stop, 400))
        };
        let delay = Duration::from_millis(30 + rng.below(500));
        std::thread::sleep(delay);
        kill9(&mut child);
        stop.store(true, Ordering::Relaxed);
        written = writer.join().unwrap();
        let ctx = format!("follow iteration {i} (seed {s}, kill after {delay:?})");

        let (ok, text) = check(&db);
        // The first process may die before creating the database.
        let early = text.contains("no manifest") || text.contains("is not a directory");
        assert!(
            ok || (i == 0 && early),
            "{ctx}: check failed after kill -9:\n{text}"
        );
        let last = reported(&report).last().copied().unwrap_or(0);
        stored = assert_prefix(&db, &ctx);
        assert!(
            stored >= before + last,
            "{ctx}: {stored} rows stored, but {before} before and {last} reported since"
        );
        assert!(stored <= written, "{ctx}: {stored} rows of {written} lines");
        mid_batch += u64::from(stored < written);
        println!("{ctx}: {before} rows before, reported {last} more, stored {stored} of {written}");
    }

    // Restart, catch up, stop cleanly: every line exactly once.
    let mut child = start_follow(&db, &log, &report);
    let t = Instant::now();
    while assert_prefix(&db, "catching up") < written {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the restarted follower did not catch up to {written} lines"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert!(child.wait().unwrap().success());
    assert_eq!(assert_prefix(&db, "after catching up"), written);
    let (ok, text) = check(&db);
    assert!(ok, "check failed at the end:\n{text}");
    println!(
        "follow: {iters} kills, {mid_batch} left lines to catch up, {written} lines stored once"
    );
    assert!(iters < 10 || mid_batch > 0, "no kill left lines behind");
}
