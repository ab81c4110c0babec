//! The followed files of `serve --follow`: each is imported by the library's
//! `import::follow` with the options `logdb import --follow` builds, on a thread of
//! its own, and its counts are kept for `/health`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use logdb::db::Db;
use logdb::import::{ImportObserver, ImportStats};
use serde_json::json;

use crate::import_cmd::{self, CliObserver, ImportArgs};

/// One followed file and what its import has done so far.
#[derive(Debug)]
pub struct Follower {
    pub file: PathBuf,
    state: Mutex<FollowState>,
}

#[derive(Debug, Default)]
struct FollowState {
    stats: ImportStats,
    running: bool,
    error: Option<String>,
}

impl Follower {
    pub fn new(file: &Path) -> Follower {
        Follower {
            file: file.to_path_buf(),
            state: Mutex::new(FollowState {
                running: true,
                ..Default::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FollowState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Imports the file until `stop` is set (or the import fails), recording the
    /// counts as it goes. Errors are kept for `/health` and returned.
    pub fn run(&self, db: &Db, args: &ImportArgs, stop: &AtomicBool) -> Result<ImportStats> {
        let result = self.import(db, args, stop);
        let mut state = self.lock();
        state.running = false;
        match &result {
            Ok(stats) => state.stats = stats.clone(),
            Err(e) => {
                // Said at once: the server goes on answering queries meanwhile.
                eprintln!(
                    "logdb serve: following {} stopped: {e:#}",
                    self.file.display()
                );
                state.error = Some(format!("{e:#}"));
            }
        }
        result
    }

    fn import(&self, db: &Db, args: &ImportArgs, stop: &AtomicBool) -> Result<ImportStats> {
        let opts = import_cmd::import_options(args)?;
        let mut observer = Recorder {
            follower: self,
            inner: CliObserver::new(args.reject_file.as_ref(), false)?,
        };
        let result = logdb::import::follow(db, &self.file, &opts, &mut observer, stop);
        observer.inner.finish()?;
        Ok(result?)
    }

    /// Whether the import has stopped (by `stop` or an error).
    pub fn finished(&self) -> bool {
        !self.lock().running
    }

    /// Whether the import stopped with an error.
    pub fn failed(&self) -> bool {
        self.lock().error.is_some()
    }

    /// `{"file", "running", "lines", "rows", "rejected", "commits", "error"}`.
    pub fn status(&self) -> serde_json::Value {
        let s = self.lock();
        json!({
            "file": self.file.display().to_string(),
            "running": s.running,
            "lines": s.stats.lines,
            "rows": s.stats.rows,
            "rejected": s.stats.rejected,
            "commits": s.stats.commits,
            "error": s.error,
        })
    }

    /// Waits until `table` exists or this import stopped, so that the next follower
    /// of the same table finds it instead of racing to create it.
    pub fn wait_for_table(&self, db: &Db, table: &str, stop: &AtomicBool) {
        let start = Instant::now();
        while !self.finished() && !stop.load(Ordering::Relaxed) {
            if db.table_info(table).is_ok() || start.elapsed() > Duration::from_secs(30) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Keeps a follower's counts current and passes everything on to the import
/// command's observer (rejected lines to stderr or the reject file).
struct Recorder<'a> {
    follower: &'a Follower,
    inner: CliObserver,
}

impl ImportObserver for Recorder<'_> {
    fn progress(&mut self, stats: &ImportStats, total: Option<u64>) {
        self.follower.lock().stats = stats.clone();
        self.inner.progress(stats, total);
    }

    fn reject(&mut self, file: &str, line: u64, reason: &str, text: &[u8]) {
        self.inner.reject(file, line, reason, text);
    }

    fn committed(&mut self, stats: &ImportStats) {
        self.follower.lock().stats = stats.clone();
        self.inner.committed(stats);
    }
}
