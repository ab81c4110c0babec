//! Execution settings ([`ExecOptions`]: threads, indexes, memory limit, time
//! zone, cancellation) and the live [`Progress`] counters of a running query.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::agg_cache::AggregateCache;
use crate::error::{Error, Result};

/// Execution settings.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Worker threads for the scan pipeline (`SET threads = n`).
    pub threads: usize,
    /// Use bitmap indexes for WHERE conjuncts on indexed columns and for index-only
    /// aggregates (off: every query scans column data; results are the same).
    pub use_indexes: bool,
    /// Bytes a query may hold in operator state (hash tables, sort buffers, results)
    /// before it streams, spills or fails with `Error::ResourcesExhausted`
    /// (`SET memory_limit = '2GB'`). Default: [`default_memory_limit`].
    pub memory_limit: usize,
    /// Set to true (e.g. from a Ctrl-C handler) to cancel the running query: it
    /// stops at the next block and fails with `Error::Cancelled`.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Live counters for a progress display, updated while the query runs.
    pub progress: Option<Arc<Progress>>,
    /// The session's time zone (`SET TimeZone = 'Europe/Berlin'`), a tz database
    /// name checked when set. TIMESTAMP values are UTC instants and print as such
    /// whatever this is (like DuckDB's zone-less TIMESTAMP); it is shown by
    /// `current_setting('TimeZone')` and kept for front ends that print local times.
    pub time_zone: Arc<str>,
    /// Table functions may read files of this machine (`read_log`, `read_csv`,
    /// `read_json`, `FROM 'file'`). On for the library and the CLI; `logdb serve`
    /// turns it off for its HTTP clients unless started with `--allow-file-read`.
    pub allow_file_read: bool,
    /// `COPY ... TO 'file'` may write files of this machine. On for the library
    /// and the CLI; `logdb serve` turns it off for its HTTP clients unless
    /// started with `--allow-file-write`.
    pub allow_file_write: bool,
    /// Messages for the user that do not fail the query (lines a file reader
    /// rejected), collected while it runs; clones of these options share them.
    pub notices: Notices,
    /// Keep the group tables of scan aggregations over whole segments between
    /// queries and reuse them (`SET aggregate_cache = true`; off by default, on
    /// in `logdb serve`): see [`AggregateCache`].
    pub aggregate_cache: bool,
    /// The database's aggregate cache (set by the session).
    pub aggregate_cache_store: Option<Arc<AggregateCache>>,
    /// `SET default_order`: ORDER BY keys without ASC or DESC sort descending.
    pub default_descending: bool,
    /// `SET default_null_order`: where NULLs sort for keys without NULLS FIRST
    /// or NULLS LAST.
    pub default_null_order: NullOrder,
    /// `PRAGMA enable_verification` / `SET verification = true`: every query
    /// also runs a second time on one thread, without indexes and without the
    /// aggregate cache, and fails when the two results differ.
    pub verification: bool,
    /// `PRAGMA verify_parallelism` / `SET verify_parallelism = true`: every
    /// query runs on one thread and again on several, and fails when the two
    /// results differ.
    pub verify_parallelism: bool,
    /// `SET scalar_subquery_error_on_multiple_rows` (DuckDB, on by default): a
    /// scalar subquery returning more than one row is an error; off, its first
    /// row is its value.
    pub scalar_subquery_error_on_multiple_rows: bool,
    /// `SET explain_output`: what a plain `EXPLAIN` shows.
    pub explain_output: ExplainOutput,
}

/// What a plain `EXPLAIN` shows (DuckDB's `explain_output`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExplainOutput {
    /// The physical plan.
    #[default]
    PhysicalOnly,
    /// The optimized logical plan, as `EXPLAIN (LOGICAL)`.
    OptimizedOnly,
    /// Both: the optimized logical plan, then the physical plan.
    All,
}

impl ExplainOutput {
    /// DuckDB's name of the setting's value.
    pub fn name(self) -> &'static str {
        match self {
            ExplainOutput::PhysicalOnly => "PHYSICAL_ONLY",
            ExplainOutput::OptimizedOnly => "OPTIMIZED_ONLY",
            ExplainOutput::All => "ALL",
        }
    }

    /// The value named `text` (any case).
    pub fn parse(text: &str) -> Option<ExplainOutput> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "physical_only" => ExplainOutput::PhysicalOnly,
            "optimized_only" => ExplainOutput::OptimizedOnly,
            "all" => ExplainOutput::All,
            _ => return None,
        })
    }
}

/// Where NULLs sort when an ORDER BY key does not say (DuckDB's
/// `default_null_order`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NullOrder {
    #[default]
    NullsLast,
    NullsFirst,
    /// SQLite's and MySQL's: first ascending, last descending.
    FirstOnAscLastOnDesc,
    /// Postgres': last ascending, first descending.
    LastOnAscFirstOnDesc,
}

impl NullOrder {
    /// Whether NULLs come first in a key sorted `descending`.
    pub fn nulls_first(self, descending: bool) -> bool {
        match self {
            NullOrder::NullsLast => false,
            NullOrder::NullsFirst => true,
            NullOrder::FirstOnAscLastOnDesc => !descending,
            NullOrder::LastOnAscFirstOnDesc => descending,
        }
    }

    /// DuckDB's name of the setting's value.
    pub fn name(self) -> &'static str {
        match self {
            NullOrder::NullsLast => "NULLS_LAST",
            NullOrder::NullsFirst => "NULLS_FIRST",
            NullOrder::FirstOnAscLastOnDesc => "NULLS_FIRST_ON_ASC_LAST_ON_DESC",
            NullOrder::LastOnAscFirstOnDesc => "NULLS_LAST_ON_ASC_FIRST_ON_DESC",
        }
    }

    /// The value DuckDB accepts under `text` (any case; `_` or a space).
    pub fn parse(text: &str) -> Option<NullOrder> {
        let t = text.trim().to_ascii_lowercase().replace(' ', "_");
        Some(match t.as_str() {
            "nulls_last" | "last" => NullOrder::NullsLast,
            "nulls_first" | "first" => NullOrder::NullsFirst,
            "sqlite" | "mysql" | "nulls_first_on_asc_last_on_desc" => {
                NullOrder::FirstOnAscLastOnDesc
            }
            "postgres" | "nulls_last_on_asc_first_on_desc" => NullOrder::LastOnAscFirstOnDesc,
            _ => return None,
        })
    }
}

/// Messages a query leaves for its caller (`notice: ...` in the shell), shared
/// by the clones of one [`ExecOptions`].
#[derive(Clone, Debug, Default)]
pub struct Notices(Arc<Mutex<Vec<String>>>);

impl Notices {
    /// Adds a message.
    pub fn push(&self, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    /// The messages so far, oldest first, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ExecOptions {
    /// `Err(Error::Cancelled)` once the cancel flag is set.
    pub(crate) fn check_cancel(&self) -> Result<()> {
        match &self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            use_indexes: true,
            memory_limit: default_memory_limit(),
            cancel: None,
            progress: None,
            time_zone: "UTC".into(),
            allow_file_read: true,
            allow_file_write: true,
            notices: Notices::default(),
            aggregate_cache: false,
            aggregate_cache_store: None,
            default_descending: false,
            default_null_order: NullOrder::NullsLast,
            verification: false,
            verify_parallelism: false,
            scalar_subquery_error_on_multiple_rows: true,
            explain_output: ExplainOutput::PhysicalOnly,
        }
    }
}

/// The default `memory_limit`: half of the memory this process may use, which is
/// physical memory or, when lower, the memory limit of its control group (cgroup
/// v2 `memory.max` or v1 `memory.limit_in_bytes`), so that a query in a container
/// fails with a resources-exhausted error before the container's limit kills it.
/// At least 256 MiB when no cgroup limit applies.
pub fn default_memory_limit() -> usize {
    const FLOOR: u64 = 256 << 20;
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| cgroup_memory_limit(&text, &|p| std::fs::read_to_string(p).ok()));
    let limit = match (physical_memory(), cgroup) {
        (Some(p), Some(c)) if c < p => c / 2,
        (None, Some(c)) => c / 2,
        (Some(p), _) => (p / 2).max(FLOOR),
        (None, None) => 4 << 30,
    };
    limit.min(usize::MAX as u64) as usize
}

fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| (pages as u64).saturating_mul(page as u64))
}

/// The memory limit of this process's cgroup, from the text of
/// `/proc/self/cgroup` and a reader of files under `/sys/fs/cgroup`; `None` when
/// there is no limit ("max", or v1's "unlimited" of about 2^63) or no file says.
/// The cgroup's own directory is tried first, then the mount's root (which is the
/// process's cgroup inside a container with its own cgroup namespace).
fn cgroup_memory_limit(proc_cgroup: &str, read: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    const ROOT: &str = "/sys/fs/cgroup";
    let mut candidates = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if controllers.is_empty() {
            candidates.push(format!("{ROOT}{path}/memory.max"));
            candidates.push(format!("{ROOT}/memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            candidates.push(format!("{ROOT}/memory{path}/memory.limit_in_bytes"));
            candidates.push(format!("{ROOT}/memory/memory.limit_in_bytes"));
        }
    }
    candidates.iter().find_map(|file| {
        let text = read(file)?;
        let text = text.trim();
        if text == "max" {
            return None;
        }
        text.parse::<u64>().ok().filter(|&v| v < 1 << 62)
    })
}

#[cfg(test)]
mod tests {
    use super::cgroup_memory_limit;

    fn files<'a>(found: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |p| {
            found
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, t)| t.to_string())
        }
    }

    #[test]
    fn cgroup_limits_are_read_from_v1_and_v2() {
        let v2 = "0::/user.slice/app.service\n";
        let limited = [(
            "/sys/fs/cgroup/user.slice/app.service/memory.max",
            "6442450944\n",
        )];
        assert_eq!(cgroup_memory_limit(v2, &files(&limited)), Some(6 << 30));
        let unlimited = [("/sys/fs/cgroup/user.slice/app.service/memory.max", "max\n")];
        assert_eq!(cgroup_memory_limit(v2, &files(&unlimited)), None);
        // Inside a cgroup namespace the process's cgroup is the mount's root.
        let root = [("/sys/fs/cgroup/memory.max", "1073741824")];
        assert_eq!(cgroup_memory_limit("0::/\n", &files(&root)), Some(1 << 30));

        let v1 = "12:pids:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/\n";
        let limited = [(
            "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
            "2147483648",
        )];
        assert_eq!(cgroup_memory_limit(v1, &files(&limited)), Some(2 << 30));
        let unlimited = [(
            "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
            "9223372036854771712",
        )];
        assert_eq!(cgroup_memory_limit(v1, &files(&unlimited)), None);
        assert_eq!(cgroup_memory_limit(v1, &files(&[])), None);
        assert_eq!(cgroup_memory_limit("garbage", &files(&limited)), None);
    }
}

/// What a running query has done so far, for progress bars and footers. Updated
/// by the scan workers; read from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Segments the scan will visit (known once the scan starts).
    pub segments_total: std::sync::atomic::AtomicU64,
    /// Segments finished.
    pub segments_done: std::sync::atomic::AtomicU64,
    /// Rows of the blocks decoded so far.
    pub rows_scanned: std::sync::atomic::AtomicU64,
    /// Compressed bytes of the column chunks decoded so far.
    pub bytes_read: std::sync::atomic::AtomicU64,
}
