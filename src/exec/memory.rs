//! Memory accounting for query operators.
//!
//! A query has one [`MemoryPool`] holding `ExecOptions::memory_limit`. Operators
//! that grow with their input (aggregation tables and group keys, distinct sets,
//! exact-quantile buffers, sort buffers, materialized results) take a
//! [`Reservation`] from it and [`Reservation::resize`] it to their current
//! approximate size once per block. A reservation only touches the shared atomic
//! when it grows or shrinks by more than [`GRAIN`] since it last did, so the check is
//! a couple of integer comparisons per block. Dropping a reservation returns its
//! bytes.
//!
//! Sizes are estimates (capacity of the main vectors and tables, bytes of keys and
//! strings), not allocator truth; the limit is meant to stop a query long before
//! the process runs out of memory, with a clear error.

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
        if bytes > self.settled {
            // Settle a grain ahead, so that steady growth settles once per grain.
            let target = bytes.saturating_add(GRAIN / 2);
            self.pool.grow(target - self.settled, self.operator)?;
            self.settled = target;
        } else if self.settled - bytes > GRAIN {
            let target = bytes.saturating_add(GRAIN / 2);
            self.pool.shrink(self.settled - target);
            self.settled = target;
        }
        self.size = bytes;
        Ok(())
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
        drop(a);
        drop(b);
        assert_eq!(pool.used(), 0);
        assert!(pool.peak() >= 7 * GRAIN);
    }

    #[test]
    fn byte_counts_print_in_binary_units() {}
}
