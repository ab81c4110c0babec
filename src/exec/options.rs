//! Execution settings ([`ExecOptions`]: threads, indexes, memory limit,
//! cancellation) and the live [`Progress`] counters of a running query.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            use_indexes: true,
            memory_limit: default_memory_limit(),
            cancel: None,
            progress: None,
        }
    }
}

/// Half of physical memory (at least 256 MiB), the default `memory_limit`.
pub fn default_memory_limit() -> usize {
    const FLOOR: usize = 256 << 20;
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || page <= 0 {
        return 4 << 30;
    }
    ((pages as u128 * page as u128 / 2).min(usize::MAX as u128) as usize).max(FLOOR)
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
