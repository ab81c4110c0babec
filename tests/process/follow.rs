//! `logdb import --follow`: new lines become queryable within about a second, rotation
//! and truncation are followed, and a restart (after SIGTERM or kill -9) resumes after
//! the last committed line without importing anything twice.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn lines(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "10.0.0.{} - - [01/May/2024:10:{:02}:{:02} +0000] \"GET /p/{} HTTP/1.1\" 200 {} \"-\" \"curl/8\"\n",
                i % 250,
                (i / 60) % 60,
                i % 60,
                i % 17,
                i
            )
        })
        .collect()
}

pub(crate) fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn start(db: &Path, file: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args([
            "import",
            db.to_str().unwrap(),
            "--follow",
            file.to_str().unwrap(),
            "-f",
            "combined",
            "-q",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the table holds `want` rows; returns how long that took.
fn wait_rows(db: &Path, want: u64) -> Duration {
    let t = Instant::now();
    loop {
        let rows = logdb::Db::builder()
            .read_only(true)
            .open(db)
            .ok()
            .and_then(|d| d.table_info("logs").ok())
            .map_or(0, |i| i.rows);
        if rows == want {
            return t.elapsed();
        }
        assert!(
            rows < want,
            "{rows} rows, more than the {want} expected: a line was imported twice"
        );
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "still {rows} rows, expected {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn signal(child: &Child, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

#[test]
fn follow_growth_rotation_truncation_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let log = dir.path().join("access.log");
    append(&log, &lines(0, 100));
    let mut child = start(&db, &log);
    wait_rows(&db, 100);

    // New lines become queryable within about a second (the commit interval).
    append(&log, &lines(100, 50));
    let latency = wait_rows(&db, 150);
    assert!(latency < Duration::from_secs(5), "took {latency:?}");

    // Rotation: lines written to the old file just before the rename still count.
    append(&log, &lines(150, 5));
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines(155, 30));
    wait_rows(&db, 185);

    // Truncation in place (copytruncate).
    std::fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &lines(185, 10));
    wait_rows(&db, 195);

    // SIGTERM: commits and exits cleanly with a summary.
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rows stored:"));

    // A restart resumes after the last committed line.
    append(&log, &lines(195, 5));
    child = start(&db, &log);
    wait_rows(&db, 200);
    std::thread::sleep(Duration::from_millis(1500));
    wait_rows(&db, 200);

    // kill -9 loses nothing committed and a restart imports nothing twice.
    signal(&child, "-KILL");
    child.wait().unwrap();
    append(&log, &lines(200, 7));
    let mut child = start(&db, &log);
    wait_rows(&db, 207);
    std::thread::sleep(Duration::from_millis(1500));
    wait_rows(&db, 207);
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    let check = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["check", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn piped_stdin_commits_without_waiting_for_more_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(["import", db.to_str().unwrap(), "-", "-f", "combined", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines(0, 40).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The pipe stays open, as with `tail -F | logdb import`, yet the rows arrive.
    let latency = wait_rows(&db, 40);
    assert!(latency < Duration::from_secs(5), "took {latency:?}");
    stdin.write_all(lines(40, 2).as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    wait_rows(&db, 42);
}
