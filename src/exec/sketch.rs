//! Mergeable sketches for approximate aggregates.
//!
//! - [`Hll`]: HyperLogLog with 2^12 registers (standard error about 1.6%) for
//!   `approx_count_distinct`. Up to [`HLL_EXACT`] distinct hashes are kept in a
//!   small sorted list, so small groups are exact and cost little memory.
//! - [`QuantileSketch`]: a compactor hierarchy (the scheme behind KLL) for
//!   `approx_quantile`. Level `h` holds items of weight `2^h`; a full level is
//!   sorted and every other item (alternating offset) moves up one level. Inputs
//!   of up to [`QUANTILE_K`] values are exact. The rank error is at most
//!   `log2(n / K) / K` of `n` in the worst case and in practice far below it
//!   (measured: under 0.5% of `n` on a million values; see `tests/library/sql.rs`).
//!
//! Both merge by folding one state into another, so per-thread states combine.

/// Register-index bits of the HyperLogLog.
const HLL_P: u32 = 12;
const HLL_M: usize = 1 << HLL_P;
/// Distinct hashes kept exactly before switching to registers.
pub const HLL_EXACT: usize = 64;

/// A 64-bit hash of bytes (word-at-a-time multiply-xor with a final mix).
pub fn hash_bytes(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x243F_6A88_85A3_08D3 ^ (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    fmix64(h)
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A HyperLogLog distinct counter.
#[derive(Clone, Debug, Default)]
pub struct Hll {
    /// Exact mode: sorted distinct hashes (while `registers` is empty).
    small: Vec<u64>,
    registers: Vec<u8>,
}

impl Hll {
    pub fn add_hash(&mut self, h: u64) {
        if self.registers.is_empty() {
            if let Err(pos) = self.small.binary_search(&h) {
                self.small.insert(pos, h);
                if self.small.len() > HLL_EXACT {
                    self.densify();
                }
            }
            return;
        }
        Self::set(&mut self.registers, h);
    }

    #[inline]
    fn set(regs: &mut [u8], h: u64) {
        let idx = (h >> (64 - HLL_P)) as usize;
        // Rank of the first set bit in the remaining 52 bits (1-based), capped.
        let rest = h << HLL_P;
        let rank = (rest.leading_zeros() + 1).min(64 - HLL_P + 1) as u8;
        if regs[idx] < rank {
            regs[idx] = rank;
        }
    }

    fn densify(&mut self) {
        let mut regs = vec![0u8; HLL_M];
        for &h in &self.small {
            Self::set(&mut regs, h);
        }
        self.registers = regs;
        self.small = Vec::new();
    }

    pub fn merge(&mut self, other: &Hll) {
        if other.registers.is_empty() {
            for &h in &other.small {
                self.add_hash(h);
            }
            return;
        }
        if self.registers.is_empty() {
            self.densify();
        }
        for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
            if *a < b {
                *a = b;
            }
        }
    }

    /// The estimated number of distinct values.
    pub fn estimate(&self) -> i64 {
        if self.registers.is_empty() {
            return self.small.len() as i64;
        }
        let m = HLL_M as f64;
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in &self.registers {
            sum += 1.0 / (1u64 << r) as f64;
            zeros += (r == 0) as usize;
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 {
            // Small range: linear counting.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as i64
    }
}

/// Items per level of the quantile sketch.
pub const QUANTILE_K: usize = 1024;

/// A mergeable quantile sketch over doubles (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct QuantileSketch {
    levels: Vec<Vec<f64>>,
    /// Alternates the kept half of each compaction so errors cancel.
    flip: bool,
}

impl QuantileSketch {
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(x);
        if self.levels[0].len() >= QUANTILE_K {
            self.compact(0);
        }
    }

    fn compact(&mut self, mut h: usize) {
        while h < self.levels.len() && self.levels[h].len() >= QUANTILE_K {
            let mut items = std::mem::take(&mut self.levels[h]);
            items.sort_unstable_by(f64::total_cmp);
            // An odd item out stays at this level.
            if items.len() % 2 == 1 {
                if let Some(last) = items.pop() {
                    self.levels[h].push(last);
                }
            }
            let offset = self.flip as usize;
            self.flip = !self.flip;
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            let up: Vec<f64> = items.iter().skip(offset).step_by(2).copied().collect();
            self.levels[h + 1].extend(up);
            h += 1;
        }
    }

    pub fn merge(&mut self, other: QuantileSketch) {
        for (h, items) in other.levels.into_iter().enumerate() {
            if self.levels.len() <= h {
                self.levels.push(Vec::new());
            }
            self.levels[h].extend(items);
        }
        for h in 0..self.levels.len() {
            if self.levels[h].len() >= QUANTILE_K {
                self.compact(h);
            }
        }
    }

    /// The item at quantile `q` (0..=1) by weighted rank, or None when empty.
    /// Exact (the element at index `floor(q * (n - 1))` of the sorted input, as
    /// DuckDB's `quantile_disc`) while fewer than `QUANTILE_K` values were added.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let mut items: Vec<(f64, u64)> = Vec::new();
        for (h, level) in self.levels.iter().enumerate() {
            items.extend(level.iter().map(|&x| (x, 1u64 << h.min(63))));
        }
        if items.is_empty() {
            return None;
        }
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let total: u64 = items.iter().map(|i| i.1).sum();
        let target = (q * (total - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        for &(x, w) in &items {
            seen += w;
            if seen > target {
                return Some(x);
            }
        }
        items.last().map(|i| i.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hll_small_is_exact_and_large_is_close() {
        let mut h = Hll::default();
        for i in 0..50u64 {
            h.add_hash(hash_bytes(&i.to_le_bytes()));
            h.add_hash(hash_bytes(&i.to_le_bytes()));
        }
        assert_eq!(h.estimate(), 50);
        let mut a = Hll::default();
        let mut b = Hll::default();
        for i in 0..200_000u64 {
            let x = hash_bytes(&i.to_le_bytes());
            if i % 2 == 0 {
                a.add_hash(x)
            } else {
                b.add_hash(x)
            }
        }
        a.merge(&b);
        let e = a.estimate() as f64;
        assert!((e - 200_000.0).abs() / 200_000.0 < 0.05, "{e}");
    }

    #[test]
    fn quantile_sketch_error() {
        let n = 1_000_000u64;
        let mut parts = vec![QuantileSketch::default(); 4];
        // A scrambled order of 0..n.
        for i in 0..n {
            let x = (i * 7_919) % n;
            parts[(i % 4) as usize].add(x as f64);
        }
        let mut s = QuantileSketch::default();
        for p in parts {
            s.merge(p);
        }
        for q in [0.01, 0.25, 0.5, 0.95, 0.99] {
            let got = s.quantile(q).unwrap_or(-1.0);
            let want = q * (n - 1) as f64;
            assert!(
                (got - want).abs() / (n as f64) < 0.005,
                "q={q}: {got} vs {want}"
            );
        }
        let mut small = QuantileSketch::default();
        for x in [5.0, 1.0, 3.0] {
            small.add(x);
        }
        assert_eq!(small.quantile(0.5), Some(3.0));
        assert_eq!(small.quantile(1.0), Some(5.0));
    }
}
