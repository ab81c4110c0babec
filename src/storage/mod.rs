//! The storage engine: backends, encodings, segments, manifests and commits.

pub mod backend;
pub mod cache;
pub mod check;
pub mod commit;
pub mod encoding;
pub mod manifest;
pub mod mem;
pub(crate) mod parallel;
pub mod segment;
pub mod snapshot;
pub mod wire;

pub use snapshot::{ColumnSize, PartitionInfo, ScanOptions, SegmentInfo, Snapshot, TableInfo};

/// Asks the CPU to fetch the cache line at `p` (a hint; no effect elsewhere): for
/// hash tables probed in row order, whose slots are fetched rows ahead.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
