//! The interactive shell driven through a pseudo-terminal, as a person would:
//! multi-line input, completion, history (written to the file, recalled with the
//! Up arrow, also in a later session), Ctrl-C clearing the input line, Ctrl-C
//! cancelling a long query while the shell lives on, Ctrl-D leaving.
//!
//! No timing is asserted: every wait reads until the expected text appears, with
//! generous limits.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A child process on the slave side of a pseudo-terminal.
struct Pty {
    master: File,
    child: Child,
    output: Receiver<Vec<u8>>,
    /// Everything read so far, and how much of it earlier expectations consumed.
    seen: Vec<u8>,
    consumed: usize,
}

impl Pty {
    fn spawn(args: &[&str], history: &Path) -> Pty {
        let mut master = -1;
        let mut slave = -1;
        let size = libc::winsize {
            ws_row: 50,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors into the ints passed; name and
        // termios may be null, the winsize is valid for the call.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty succeeded, so both are open descriptors we now own.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_logdb"));
        cmd.args(args)
            .env("TERM", "xterm")
            .env("LOGDB_HISTORY", history)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec only async-signal-safe calls (setsid,
        // ioctl) are made. They give the child its own session with the terminal
        // as controlling terminal, so Ctrl-C sends it SIGINT.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        // Dropping `cmd` closes our copies of the slave: reads end when the child exits.
        drop(cmd);
        let master = File::from(master);
        let mut reader = master.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Pty {
            master,
            child,
            output: rx,
            seen: Vec::new(),
            consumed: 0,
        }
    }

    fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Types a line and presses Enter, a little at a time like a person.
    fn type_line(&mut self, text: &str) {
        self.send(text);
        std::thread::sleep(Duration::from_millis(50));
        self.send("\r");
    }

    fn text_since(&self, from: usize) -> String {
        String::from_utf8_lossy(&self.seen[from..]).into_owned()
    }

    /// Reads until `needle` appears after what earlier calls consumed; returns the
    /// output up to and including it.
    fn expect(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(p) = find(&self.seen[self.consumed..], needle.as_bytes()) {
                let start = self.consumed;
                self.consumed += p + needle.len();
                return self.text_since(start)[..p + needle.len()].to_string();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "no {needle:?} within {limit:?}; output after the last match:\n{}",
                    self.text_since(self.consumed)
                ),
            }
        }
    }

    /// Waits for the process to exit.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the shell did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

const WAIT: Duration = Duration::from_secs(60);

fn logdb(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_logdb"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A database with `lines` generated requests in table `logs`.
fn generated_database(dir: &Path, lines: u64) -> PathBuf {
    let log = dir.join("access.log");
    let db = dir.join("db");
    logdb(&[
        "generate",
        "--lines",
        &lines.to_string(),
        "-o",
        log.to_str().unwrap(),
    ]);
    logdb(&[
        "import",
        db.to_str().unwrap(),
        log.to_str().unwrap(),
        "-f",
        "combined",
        "-q",
    ]);
    db
}

/// The single value of a one-row, one-column query, via a scripted run.
fn scalar(db: &Path, sql: &str) -> String {
    let out = logdb(&[db.to_str().unwrap(), "-o", "csv", "-c", sql]);
    out.lines().nth(1).unwrap().to_string()
}

#[test]
fn multi_line_input_completion_history_and_ctrl_c_at_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let db = generated_database(dir.path(), 3000);
    let history = dir.path().join("history");
    let not_found = scalar(&db, "SELECT count(*) FROM logs WHERE status = 404");
    let total = scalar(&db, "SELECT count(*) FROM logs");
    assert_ne!(not_found, total);
    let cell = |v: &str| format!(" {v} │");

    let mut shell = Pty::spawn(&[db.to_str().unwrap()], &history);
    shell.expect("Enter \".help\"", WAIT);
    shell.expect("logdb> ", WAIT);

    // A statement over three lines runs once it ends with ';'.
    shell.type_line("SELECT count(*) AS n");
    shell.type_line("FROM logs");
    shell.type_line("WHERE status = 404;");
    shell.expect(&cell(&not_found), WAIT);
    shell.expect("1 row in ", WAIT);

    // Up arrow recalls it whole; Enter runs it again.
    shell.expect("logdb> ", WAIT);
    shell.send("\x1b[A");
    std::thread::sleep(Duration::from_millis(200));
    shell.send("\r");
    shell.expect(&cell(&not_found), WAIT);

    // Ctrl-C clears a half-typed line; the next statement starts fresh.
    shell.expect("logdb> ", WAIT);
    shell.send("SELECT garbage ");
    std::thread::sleep(Duration::from_millis(200));
    shell.send("\x03");
    shell.expect("logdb> ", WAIT);
    // Tab completes the table name.
    shell.send("SELECT count(*) AS total FROM lo");
    std::thread::sleep(Duration::from_millis(100));
    shell.send("g\t");
    std::thread::sleep(Duration::from_millis(200));
    shell.type_line(";");
    let out = shell.expect(&cell(&total), WAIT);
    assert!(!out.contains("Error"), "{out}");

    // Dot commands work interactively too.
    shell.expect("logdb> ", WAIT);
    shell.type_line(".tables");
    shell.expect("logs", WAIT);

    // Ctrl-D leaves.
    shell.expect("logdb> ", WAIT);
    shell.send("\x04");
    assert!(shell.wait(WAIT).success());
    drop(shell);

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("WHERE status = 404;"), "{saved}");
    assert!(
        saved.contains("SELECT count(*) AS total FROM logs;"),
        "{saved}"
    );
    assert!(!saved.contains("garbage"), "{saved}");

    // A new session recalls the previous one's statements (newest first: .tables,
    // the total, the 404 count).
    let mut shell = Pty::spawn(&[db.to_str().unwrap()], &history);
    shell.expect("logdb> ", WAIT);
    shell.send("\x1b[A\x1b[A\x1b[A");
    std::thread::sleep(Duration::from_millis(200));
    shell.send("\r");
    shell.expect(&cell(&not_found), WAIT);
    shell.expect("logdb> ", WAIT);
    shell.type_line(".quit");
    assert!(shell.wait(WAIT).success());
}

#[test]
fn ctrl_c_cancels_a_long_query_and_the_shell_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = generated_database(dir.path(), 200_000);
    let history = dir.path().join("history");
    let mut shell = Pty::spawn(&[db.to_str().unwrap()], &history);
    shell.expect("logdb> ", WAIT);
    // Seconds of regular-expression work per run, even on a fast machine.
    shell.type_line(
        "SELECT count(DISTINCT regexp_replace(concat(user_agent, referer, url, user_agent, \
         referer, url, user_agent, referer, url, user_agent), '(\\w+)', '\\1\\1', 'g')) AS n \
         FROM logs;",
    );
    // The progress bar shows once the query has run for a second: it is running.
    shell.expect("running", WAIT);
    shell.send("\x03");
    // Generous: until the executor checks the flag between blocks, the query
    // finishes before its result is discarded.
    shell.expect("query cancelled", Duration::from_secs(600));
    shell.expect("logdb> ", WAIT);
    shell.type_line("SELECT count(*) AS n FROM logs;");
    shell.expect(" 200000 │", WAIT);
    shell.expect("logdb> ", WAIT);
    shell.send("\x04");
    assert!(shell.wait(WAIT).success());
}

/// Regression: with `.timer on` the interactive shell printed the time twice (its
/// footer line and a `Run Time` line).
#[test]
fn timer_on_prints_the_time_once() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut shell = Pty::spawn(&[], &history);
    shell.expect("logdb> ", WAIT);
    shell.type_line(".timer on");
    shell.expect("logdb> ", WAIT);
    shell.type_line("SELECT 42 AS answer;");
    let out = shell.expect("logdb> ", WAIT);
    assert!(out.contains("1 row in "), "{out}");
    assert!(!out.contains("Run Time"), "{out}");
    shell.type_line("CREATE TABLE t (a INTEGER);");
    let out = shell.expect("logdb> ", WAIT);
    assert_eq!(out.matches(" rows in ").count(), 1, "{out}");
    assert!(!out.contains("Run Time"), "{out}");
    shell.send("\x04");
    assert!(shell.wait(WAIT).success());
}
