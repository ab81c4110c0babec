//! Memory accounting for query operators.
//!
//! A query has one [`MemoryPool`] holding `ExecOptions::memory_limit`. Operators
//! that grow with their input (aggregation tables and group keys, distinct sets,
//! exact-quantile buffers, sort buffers, materialized results) take a
//! [`Reservation`] from it and [`Reservation::resize`] it to their current size
//! once per block. A reservation only touches the shared atomic when it outgrows
//! what it settled (settling ahead by up to half of [`GRAIN`]) or shrinks by more
//! than [`GRAIN`], so the check is a couple of integer comparisons per block.
//! Dropping a reservation returns its bytes.
//!
//! Sizes are the heap the operator's structures hold (vector and string
//! capacities, hash tables' buckets and control bytes), counted by the
//! structures themselves, not asked of the allocator. Materialized rows between
//! operators count as long as the operator reading them runs; a join's output is
//! either streamed into the operator above it or counted as it is produced.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::format_bytes;

/// Reservations settle with the pool in steps of this many bytes.
pub const GRAIN: usize = 1 << 20;

/// The bytes a query may hold in operator state, and what it holds now.
#[derive(Debug)]
pub struct MemoryPool {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryPool {
    pub fn new(limit: usize) -> Arc<MemoryPool> {
        Arc::new(MemoryPool {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes currently reserved.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes reserved at any time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A reservation of zero bytes for `operator` (named in the error).
    pub fn reservation(self: &Arc<Self>, operator: &'static str) -> Reservation {
        Reservation {
            pool: self.clone(),
            operator,
            size: 0,
            settled: 0,
        }
    }

    fn grow(&self, bytes: usize, operator: &'static str) -> Result<()> {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        let now = before.saturating_add(bytes);
        if now > self.limit {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
            return Err(exhausted(self.limit, operator));
        }
        self.peak.fetch_max(now, Ordering::Relaxed);
        Ok(())
    }

    fn shrink(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The error for a query that would pass the limit in `operator`.
pub fn exhausted(limit: usize, operator: &str) -> Error {
    Error::ResourcesExhausted(format!(
        "query needs more than the memory limit of {} (SET memory_limit to raise it) in {operator}",
        format_bytes(limit as u64)
    ))
}

/// Bytes held by a hash table (hashbrown's) with room for `capacity` entries of
/// `entry` bytes: its buckets (at most 7/8 of them full, a power of two) and
/// one control byte per bucket.
pub fn hash_table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = capacity.saturating_mul(8).div_ceil(7).next_power_of_two();
    buckets.saturating_mul(entry + 1)
}

/// One operator's share of a pool.
#[derive(Debug)]
pub struct Reservation {
    pool: Arc<MemoryPool>,
    operator: &'static str,
    /// The size the operator last reported.
    size: usize,
    /// What the pool has been told (within [`GRAIN`] of `size`, rounded up).
    settled: usize,
}

impl Reservation {
    /// Sets the reservation to `bytes`: fails with `ResourcesExhausted` (leaving it
    /// unchanged) when the pool would pass its limit.
    #[inline]
    pub fn resize(&mut self, bytes: usize) -> Result<()> {
        // Settle ahead by as much as is held, up to half a grain: steady growth
        // settles once per doubling while small and once per half grain after,
        // and a small reservation is counted at about its size.
        let target = bytes.saturating_add(bytes.min(GRAIN / 2));
        if bytes > self.settled {
            // The slack never makes a query fail: near the limit, settle exactly.
            if self.pool.grow(target - self.settled, self.operator).is_ok() {
                self.settled = target;
            } else {
                self.pool.grow(bytes - self.settled, self.operator)?;
                self.settled = bytes;
            }
        } else if self.settled - bytes > GRAIN {
            self.pool.shrink(self.settled - target);
            self.settled = target;
        }
        self.size = bytes;
        Ok(())
    }

    /// The same bytes, held from now on by `operator` (named in the error).
    pub fn named(mut self, operator: &'static str) -> Reservation {
        self.operator = operator;
        self
    }

    /// Adds `bytes` to the reservation.
    pub fn grow(&mut self, bytes: usize) -> Result<()> {
        self.resize(self.size.saturating_add(bytes))
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Releases everything (the operator freed its state).
    pub fn free(&mut self) {
        self.pool.shrink(self.settled);
        self.settled = 0;
        self.size = 0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.free();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_settle_in_grains_and_fail_past_the_limit() {
        let pool = MemoryPool::new(10 * GRAIN);
        let mut a = pool.reservation("hash aggregate");
        a.resize(100).unwrap();
        assert!(pool.used() >= 100 && pool.used() <= GRAIN);
        for i in 1..8 {
            a.resize(i * GRAIN).unwrap();
        }
        let mut b = pool.reservation("sort");
        let e = b.resize(4 * GRAIN).unwrap_err().to_string();
        assert!(
            e.contains("memory limit of 10.0 MiB") && e.ends_with("in sort"),
            "{e}"
        );
        assert_eq!(b.size(), 0);
        a.resize(0).unwrap();
        b.resize(4 * GRAIN).unwrap();
        // Settling ahead stops at the limit: what is held may reach it exactly.
        let mut c = pool.reservation("distinct");
        c.resize(10 * GRAIN - pool.used()).unwrap();
        assert_eq!(pool.used(), 10 * GRAIN);
        assert!(c.grow(1).is_err());
        drop(c);
        drop(a);
        drop(b);
        assert_eq!(pool.used(), 0);
        assert!(pool.peak() >= 7 * GRAIN);
    }

    #[test]
    fn hash_tables_count_their_buckets() {
        // 7/8 of the buckets hold entries; each bucket has a control byte.
        assert_eq!(hash_table_bytes(0, 16), 0);
        assert_eq!(hash_table_bytes(7, 16), 8 * 17);
        assert_eq!(hash_table_bytes(8, 16), 16 * 17);
        assert_eq!(hash_table_bytes(1 << 20, 4), (1 << 21) * 5);
    }
}
