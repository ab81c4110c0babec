//! Heavy queries under `SET memory_limit`, measured from outside: the process's
//! peak resident memory (the kernel's count, from `wait4`) stays within 1.2x of
//! the limit above what a trivial query takes (the binary, its threads, mapped
//! segment pages), and no query is killed: each finishes or fails with a
//! resources-exhausted error. A big JSON array file is read in the memory of a
//! small one.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: u64 = 48 << 20;

/// How a run ended.
#[derive(Debug, PartialEq)]
enum End {
    Exit(i32),
    /// Still running at the deadline, then killed by the test.
    Stopped,
}

/// Runs `logdb db -c sql`, stopping it at `deadline`; returns how it ended, its
/// peak RSS in bytes and its stderr.
fn run(db: &Path, sql: &str, deadline: Duration) -> (End, u64, String) {
    let err_path = db.with_extension(format!("{}.err", sql.len()));
    // Reaped below by wait4, which also reports its peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .arg(db)
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut stopped = false;
    loop {
        // SAFETY: `pid` is our child, not yet waited for; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "wait4 failed");
        if start.elapsed() > deadline && !stopped {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            stopped = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let end = if stopped {
        End::Stopped
    } else {
        assert!(
            libc::WIFEXITED(status),
            "{sql}: killed by signal {}",
            libc::WTERMSIG(status)
        );
        End::Exit(libc::WEXITSTATUS(status))
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    (end, usage.ru_maxrss as u64 * 1024, stderr)
}

#[test]
fn heavy_queries_finish_or_fail_cleanly_within_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let db = dir.path().join("db");
    let gen = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["generate", "--lines", "400000", "-o"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(gen.status.success());
    let imp = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .arg("import")
        .arg(&db)
        .arg(&log)
        .args(["--format", "combined"])
        .output()
        .unwrap();
    assert!(imp.status.success(), "{imp:?}");
    let with_limit = |q: &str| format!("SET memory_limit = '{LIMIT}B'; {q}");
    // What the process takes besides operator state: the binary, its threads and
    // every column's pages mapped.
    let (end, base, err) = run(
        &db,
        &with_limit(
            "SELECT max(url), max(user_agent), max(client_ip), max(uid), max(ts), \
             max(status), max(bytes) FROM logs",
        ),
        Duration::from_secs(60),
    );
    assert_eq!(end, End::Exit(0), "{err}");
    let cases = [
        // A self-join on status: ~2*10^10 pairs streamed into the count; it runs
        // far longer than the deadline with its memory flat.
        "SELECT count(*) FROM logs a JOIN logs b ON a.status = b.status",
        // The same pairs materialized for a full sort: over the limit.
        "SELECT a.url, b.ts FROM logs a JOIN logs b ON a.status = b.status ORDER BY 1, 2",
        "SELECT count(*) FROM (SELECT client_ip, url, user_agent, count(*) \
         FROM logs GROUP BY client_ip, url, user_agent)",
        "SELECT count(*) FROM (SELECT url, uid, ts, count(*) FROM logs GROUP BY url, uid, ts)",
        "SELECT count(*) FROM (SELECT DISTINCT url, uid, ts FROM logs)",
        "SELECT * FROM logs ORDER BY url",
    ];
    for sql in cases {
        let (end, rss, err) = run(&db, &with_limit(sql), Duration::from_secs(5));
        match end {
            End::Exit(0) | End::Stopped => {}
            End::Exit(_) => assert!(
                err.contains("resources exhausted: query needs more than the memory limit"),
                "{sql}: {err}"
            ),
        }
        assert!(
            rss <= base + LIMIT * 6 / 5,
            "{sql}: peak RSS {} MiB, {} MiB above a trivial query's, limit {} MiB",
            rss >> 20,
            (rss.saturating_sub(base)) >> 20,
            LIMIT >> 20
        );
    }
}

/// A JSON array is split into its elements as it is read, never parsed whole:
/// counting a 130 MB array takes about the memory of counting a tiny one (a
/// few chunks of 4 MiB per thread), not the file's size.
#[test]
fn a_big_json_array_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let write = |name: &str, n: usize| {
        let path = dir.path().join(name);
        let mut out = std::io::BufWriter::new(File::create(&path).unwrap());
        out.write_all(b"[\n").unwrap();
        for i in 0..n {
            let sep = if i + 1 < n { "," } else { "" };
            writeln!(
                out,
                "  {{\"id\": {i}, \"user\": \"u{}\", \"path\": \"/p/{}?x=[1,2]\",\n   \
                 \"ms\": {}.5, \"ok\": {}}}{sep}",
                i % 977,
                i % 5000,
                i % 1000,
                i % 3 == 0
            )
            .unwrap();
        }
        out.write_all(b"]\n").unwrap();
        out.flush().unwrap();
        path
    };
    let small = write("small.json", 1000);
    let big = write("big.json", 1_500_000);
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 120 << 20, "{size}");
    let count = |file: &Path| {
        format!(
            "SET threads = 2; SELECT count(*), sum(ms), count(DISTINCT user) FROM '{}'",
            file.display()
        )
    };
    let (end, base, err) = run(&db, &count(&small), Duration::from_secs(60));
    assert_eq!(end, End::Exit(0), "{err}");
    let (end, rss, err) = run(&db, &count(&big), Duration::from_secs(300));
    assert_eq!(end, End::Exit(0), "{err}");
    assert!(
        rss < base + (64 << 20),
        "peak RSS {} MiB reading a {} MiB array, {} MiB for a tiny one",
        rss >> 20,
        size >> 20,
        base >> 20
    );
}
