//! Readers during writes: SQL queries run while an import and compactions commit, in
//! the same process and from another process, and always see one committed state.
//!
//! The input is a directory of files imported with one commit per file, so the
//! committed states are known: the first N lines for N in the cumulative file
//! lengths. Line `seq` has `bytes = seq` and `uid = u{seq % 50}`, so one query's
//! `count(*)`, `sum(bytes)`, `count(DISTINCT bytes)`, `max(bytes)` and
//! `count_if(uid = 'u7')` must all describe the same N: a query that mixed two
//! snapshots (or saw a half-written commit) would fail these checks.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use logdb::import::{import, ImportOptions, Quiet, Source};
use logdb::{Db, Value};

/// Combined-format line `seq`: bytes field `seq`, uid `u{seq % 50}`, a minute apart.
fn line(seq: u64) -> String {
    let t = seq * 60;
    let (day, h, m, s) = (1 + t / 86_400, t / 3600 % 24, t / 60 % 60, t % 60);
    format!(
        "10.0.0.{} - - [{day:02}/May/2024:{h:02}:{m:02}:{s:02} +0000] \"GET /p/{}?uid=u{} HTTP/1.1\" 200 {seq} \"-\" \"curl/8\"\n",
        seq % 250,
        seq % 17,
        seq % 50
    )
}

/// Writes `files` files of 20..80 lines under `dir/name`, continuing the line numbers
/// from `*next`; pushes each cumulative total to `bounds`.
fn write_files(
    dir: &Path,
    name: &str,
    files: u64,
    next: &mut u64,
    bounds: &mut Vec<u64>,
) -> PathBuf {
    let input = dir.join(name);
    fs::create_dir_all(&input).unwrap();
    for f in 0..files {
        let n = 20 + (*next * 7 + f * 13) % 61;
        let text: String = (*next..*next + n).map(line).collect();
        fs::write(input.join(format!("part-{f:03}.log")), text).unwrap();
        *next += n;
        bounds.push(*next);
    }
    input
}

/// Lines among the first `n` whose uid is u7.
fn u7_among(n: u64) -> u64 {
    (n + 50 - 8) / 50
}

const CONSISTENCY_SQL: &str =
    "SELECT count(*), sum(bytes), count(DISTINCT bytes), max(bytes), count_if(uid = 'u7') FROM logs";

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Null => None,
        other => panic!("unexpected {other:?}"),
    }
}

/// Checks one query result against the committed states; returns its row count.
fn check_consistent(row: &[Value], bounds: &BTreeSet<u64>) -> u64 {
    let n = int(&row[0]).unwrap() as u64;
    assert!(
        bounds.contains(&n),
        "count(*) = {n} is not a committed total"
    );
    if n > 0 {
        let sum = int(&row[1]).unwrap() as u64;
        assert_eq!(sum, n * (n - 1) / 2, "sum(bytes) of {n} rows");
        assert_eq!(int(&row[2]), Some(n as i64), "distinct rows of {n}");
        assert_eq!(int(&row[3]), Some(n as i64 - 1), "max of {n} rows");
    }
    // count_if over no rows is NULL, as in DuckDB.
    assert_eq!(
        int(&row[4]).unwrap_or(0) as u64,
        u7_among(n),
        "u7 rows of {n}"
    );
    n
}

/// Whether `e` is the documented error of a read-only handle whose snapshot lists a
/// segment the writer's compaction has since removed.
fn is_removed_segment(e: &logdb::Error) -> bool {
    let m = e.to_string();
    m.contains(".lseg") && (m.contains("No such file") || m.contains("not found"))
}

#[test]
fn queries_see_one_committed_state_during_import_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let (mut next, mut bounds) = (0, vec![0]);
    let first = write_files(dir.path(), "a", 25, &mut next, &mut bounds);
    let second = write_files(dir.path(), "b", 25, &mut next, &mut bounds);
    let total = next;
    let committed: BTreeSet<u64> = bounds.iter().copied().collect();

    let path = dir.path().join("db");
    let db = Db::builder().max_segment_rows(40).open(&path).unwrap();
    let reader = Db::builder().read_only(true).open(&path).unwrap();
    let done = AtomicBool::new(false);
    let (queries, mid, removed) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));

    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut opts = ImportOptions::new("combined");
            opts.batch_rows = Some(1);
            opts.threads = Some(1);
            let a = import(&db, &[Source::Path(first.clone())], &opts, &mut Quiet).unwrap();
            let c1 = db.compact("logs").unwrap();
            let b = import(&db, &[Source::Path(second.clone())], &opts, &mut Quiet).unwrap();
            let c2 = db.compact("logs").unwrap();
            done.store(true, Ordering::SeqCst);
            (a.rows + b.rows, c1.segments_before + c2.segments_before)
        });
        // Two readers on the writer's handle: never an error.
        for _ in 0..2 {
            s.spawn(|| {
                let mut seen = 0;
                while !done.load(Ordering::SeqCst) {
                    let r = match db.query(CONSISTENCY_SQL) {
                        Ok(r) => r,
                        // Before the import has created the table.
                        Err(e) if seen == 0 && e.to_string().contains("unknown table") => continue,
                        Err(e) => panic!("query failed during import: {e}"),
                    };
                    let n = check_consistent(&r.rows()[0], &committed);
                    assert!(n >= seen, "went back from {seen} to {n} rows");
                    seen = n;
                    queries.fetch_add(1, Ordering::Relaxed);
                    mid.fetch_add(u64::from(n > 0 && n < total), Ordering::Relaxed);
                    // An index-only count in its own snapshot.
                    let u7 = db
                        .query("SELECT count(*) FROM logs WHERE uid = 'u7'")
                        .unwrap()
                        .rows()[0][0]
                        .clone();
                    let u7 = int(&u7).unwrap() as u64;
                    assert!(
                        committed.iter().any(|&b| u7_among(b) == u7),
                        "index count {u7} matches no committed state"
                    );
                }
            });
        }
        // One reader on a separate read-only handle, as another process would have.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                match reader.query(CONSISTENCY_SQL) {
                    Ok(r) => {
                        check_consistent(&r.rows()[0], &committed);
                        queries.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if is_removed_segment(&e) => {
                        removed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.to_string().contains("unknown table") => {}
                    Err(e) => panic!("read-only query failed during import: {e}"),
                }
            }
        });
        // The writer finishes while the readers hammer.
        let (rows, compacted) = writer.join().unwrap();
        assert_eq!(rows, total);
        assert!(compacted > 2, "compaction had nothing to merge");
    });
    let final_row = &db.query(CONSISTENCY_SQL).unwrap().rows()[0];
    assert_eq!(check_consistent(final_row, &committed), total);
    assert_eq!(
        check_consistent(
            &reader.query(CONSISTENCY_SQL).unwrap().rows()[0],
            &committed
        ),
        total
    );
    let q = queries.load(Ordering::Relaxed);
    println!(
        "{q} consistent queries, {} of them mid-import, {} read-only queries met a compacted-away segment",
        mid.load(Ordering::Relaxed),
        removed.load(Ordering::Relaxed)
    );
    assert!(q > 0, "no query ran during the import");
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn another_process_reads_while_the_binary_imports() {
    let dir = tempfile::tempdir().unwrap();
    let (mut next, mut bounds) = (0, vec![0]);
    let input = write_files(dir.path(), "in", 60, &mut next, &mut bounds);
    let committed: BTreeSet<u64> = bounds.iter().copied().collect();
    let db = dir.path().join("db");

    let bin = env!("CARGO_BIN_EXE_logdb");
    let mut child = Command::new(bin)
        .args(["import", db.to_str().unwrap(), input.to_str().unwrap()])
        .args(["-f", "combined", "-q", "--threads", "1"])
        .args(["--batch-rows", "1", "--segment-rows", "40"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut infos, mut reads, mut mid) = (0, 0, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // `logdb info` opens the database read-only in a third process.
        let out = Command::new(bin)
            .args(["info", db.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            infos += 1;
            if let Some(rows) = text
                .lines()
                .find_map(|l| l.strip_prefix("table logs: "))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
            {
                assert!(
                    committed.contains(&rows),
                    "info shows {rows} rows: not a committed total"
                );
            }
        } else {
            // Only before the importer has created the database.
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("no database"), "logdb info failed: {err}");
        }
        // And this process, read-only, with SQL.
        match Db::builder().read_only(true).open(&db) {
            Ok(handle) => match handle.query(CONSISTENCY_SQL) {
                Ok(r) => {
                    let n = check_consistent(&r.rows()[0], &committed);
                    reads += 1;
                    mid += u64::from(n > 0 && n < next);
                }
                Err(e) => assert!(e.to_string().contains("unknown table"), "{e}"),
            },
            Err(e) => assert!(e.to_string().contains("no database"), "{e}"),
        }
    };
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "import failed: {err}");
    let handle = Db::builder().read_only(true).open(&db).unwrap();
    let n = check_consistent(
        &handle.query(CONSISTENCY_SQL).unwrap().rows()[0],
        &committed,
    );
    assert_eq!(n, next);
    println!(
        "{infos} `logdb info` runs and {reads} SQL reads ({mid} mid-import) during the import"
    );
    assert!(infos + reads > 0, "nothing read during the import");
}
