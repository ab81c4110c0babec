//! Counters an execution fills in for EXPLAIN ANALYZE: what the scan skipped by
//! each mechanism, what it read, and rows and time per plan operator.
//!
//! Counters are atomics shared by the scan's worker threads; per-operator entries
//! are keyed by the plan node's address (a plan has one scan, so scan counters are
//! global).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::memory::{MemoryPool, Reservation};

use crate::plan::LogicalPlan;

/// One operator's measured output rows and time (including its inputs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OperatorStats {
    pub rows: u64,
    pub time: Duration,
}

/// Everything one query execution measured.
#[derive(Debug, Default)]
pub struct ExecStats {
    /// Segments the scan visited (after time pruning).
    pub segments: AtomicU64,
    /// Segments skipped because their index candidate bitmap was empty.
    pub segments_index_skipped: AtomicU64,
    /// Segments answered from index counts alone.
    pub segments_index_only: AtomicU64,
    /// Blocks of the visited segments.
    pub blocks: AtomicU64,
    pub blocks_zone_skipped: AtomicU64,
    pub blocks_index_skipped: AtomicU64,
    /// Blocks counted whole from their time zone map, without decoding.
    pub blocks_counted: AtomicU64,
    /// Blocks whose columns were decoded.
    pub blocks_read: AtomicU64,
    /// Compressed bytes of the column chunks decoded.
    pub bytes_read: AtomicU64,
    /// Rows of the decoded blocks.
    pub rows_scanned: AtomicU64,
    /// Rows entering the filter (after the index candidates).
    pub rows_filtered_in: AtomicU64,
    /// Rows passing the filter.
    pub rows_passed: AtomicU64,
    /// Whether the aggregate was answered (at least partly) from the indexes.
    pub index_only: AtomicBool,
    /// Whether the aggregation went through the aggregate cache.
    pub aggregate_cache: AtomicBool,
    /// Whole segments whose groups came from the aggregate cache.
    pub segments_cached: AtomicU64,
    /// Dictionaries `key_id` numbered before the scan, and their entries.
    pub key_id_dictionaries: AtomicU64,
    pub key_id_entries: AtomicU64,
    /// The query's memory pool (created by the first operator that reserves).
    memory: OnceLock<Arc<MemoryPool>>,
    /// Reservations for what the plan holds until the query ends (subquery
    /// results folded into it).
    held: Mutex<Vec<Reservation>>,
    operators: Mutex<Vec<(usize, OperatorStats)>>,
    /// The physical operators run, in the order they started.
    ran: Mutex<Vec<&'static str>>,
}

impl ExecStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, node: &LogicalPlan, rows: u64, time: Duration) {
        let mut ops = self.operators.lock().unwrap_or_else(|p| p.into_inner());
        ops.push((
            node as *const LogicalPlan as usize,
            OperatorStats { rows, time },
        ));
    }

    pub(crate) fn ran(&self, operator: &'static str) {
        let mut ran = self.ran.lock().unwrap_or_else(|p| p.into_inner());
        ran.push(operator);
    }

    /// The names of the physical operators that ran, in the order they started
    /// (the operators of subqueries and of both phases of a two-phase top-N
    /// included).
    pub fn operators_run(&self) -> Vec<&'static str> {
        self.ran.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The query's memory pool, created with `limit` on first use.
    pub(crate) fn memory(&self, limit: usize) -> &Arc<MemoryPool> {
        self.memory.get_or_init(|| MemoryPool::new(limit))
    }

    /// Keeps `r` until the query ends.
    pub(crate) fn hold(&self, r: Reservation) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).push(r);
    }

    /// The most operator-state bytes the query held at once (estimated).
    pub fn peak_memory(&self) -> u64 {
        self.memory.get().map_or(0, |p| p.peak() as u64)
    }

    /// What was recorded for `node` (a node of the plan that was executed).
    pub fn operator(&self, node: &LogicalPlan) -> Option<OperatorStats> {
        let ops = self.operators.lock().unwrap_or_else(|p| p.into_inner());
        let key = node as *const LogicalPlan as usize;
        ops.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }
}
