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

/// Whether `a` and `b` hold the same bytes. Interners compare a probed string
/// with a candidate of the same hash and length, and most such strings are
/// short (ids, codes, IPs): up to 16 bytes they are compared with two loads
/// each, not a call to `memcmp`.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        // Two overlapping words cover 8 to 16 bytes, two halves 4 to 8.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

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

#[cfg(test)]
mod tests {
    /// `same_bytes` agrees with `==` at every length up to past 16, with the
    /// strings differing at each position or not at all.
    #[test]
    fn same_bytes_agrees_with_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(super::same_bytes(&a, &a.clone()), "{n} bytes");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!super::same_bytes(&a, &b), "{n} bytes, differing at {at}");
            }
            assert!(!super::same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }
}
