//! Integer blocks: `i64` values (timestamps, BIGINT/INTEGER/SMALLINT) and `u32`
//! dictionary codes share one implementation, generic over [`IntType`].
//!
//! Schemes (first byte is the tag; integers little-endian):
//! - `PLAIN` (0): `n` values of the type's width (8 bytes for i64, 4 for u32).
//! - `CONST` (1): one i64; every row holds it.
//! - `FOR` (2): `min: i64`, `width: u8`, then `value - min` (as u64, wrapping) packed.
//! - `DELTA` (3): `first: i64`, `min_delta: i64`, `width: u8`, then the `n - 1`
//!   deltas `v[i] - v[i-1] - min_delta` (wrapping u64) packed. Needs `n >= 1`.
//! - `RLE` (4): `runs: u32`, then two u32-length-prefixed sub-blocks, each one of
//!   the four schemes above: the run values (`runs` of them) and the run lengths
//!   (`runs` u32s, each >= 1, summing to `n`).
//!
//! The encoder computes the exact size of every scheme from one pass of statistics
//! and writes only the smallest (ties go to the faster decode, in the order above
//! from CONST to RLE, then PLAIN).

use super::bitpack::{self, packed_len, width};
use super::{err, put_sized, try_reserve, DecodeResult, Reader};

pub(crate) const PLAIN: u8 = 0;
pub(crate) const CONST: u8 = 1;
pub(crate) const FOR: u8 = 2;
pub(crate) const DELTA: u8 = 3;
pub(crate) const RLE: u8 = 4;

/// A run-length block is only considered when runs are at least this long on average.
const RLE_MIN_AVG_RUN: usize = 4;

/// An integer type stored by the int schemes, widened to i64 for the arithmetic.
pub(crate) trait IntType: Copy + Default + 'static {
    /// Bytes per value in `PLAIN`.
    const BYTES: usize;
    const MIN: i64;
    const MAX: i64;
    const NAME: &'static str;
    fn to_i64(self) -> i64;
    /// Truncating conversion; callers check the range first.
    fn from_i64(v: i64) -> Self;
    fn put_le(self, out: &mut Vec<u8>);
    /// Reads one value from exactly `BYTES` bytes.
    fn get_le(b: &[u8]) -> Self;
}

impl IntType for i64 {
    const BYTES: usize = 8;
    const MIN: i64 = i64::MIN;
    const MAX: i64 = i64::MAX;
    const NAME: &'static str = "i64";
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline(always)]
    fn get_le(b: &[u8]) -> Self {
        i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
    }
}

impl IntType for u32 {
    const BYTES: usize = 4;
    const MIN: i64 = 0;
    const MAX: i64 = u32::MAX as i64;
    const NAME: &'static str = "u32";
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v as u32
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline(always)]
    fn get_le(b: &[u8]) -> Self {
        u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
    }
}

/// Encodes a block of i64 values, appending to `out`.
pub fn encode_i64(values: &[i64], out: &mut Vec<u8>) {
    encode(values, true, out);
}

/// Decodes `n` i64 values from exactly `src` into `out` (cleared first).
pub fn decode_i64(src: &[u8], n: usize, out: &mut Vec<i64>) -> DecodeResult<()> {
    out.clear();
    decode(src, n, true, out)
}

/// Encodes a block of dictionary codes, appending to `out`.
pub fn encode_u32(values: &[u32], out: &mut Vec<u8>) {
    encode(values, true, out);
}

/// Decodes `n` dictionary codes from exactly `src` into `out` (cleared first).
pub fn decode_u32(src: &[u8], n: usize, out: &mut Vec<u32>) -> DecodeResult<()> {
    out.clear();
    decode(src, n, true, out)
}

/// One pass of statistics over a block, enough to size every scheme.
struct Stats {
    n: usize,
    min: i64,
    max: i64,
    min_delta: i64,
    max_delta: i64,
    runs: usize,
}

impl Stats {
    fn of<T: IntType>(values: &[T]) -> Stats {
        let first = values.first().map_or(0, |v| v.to_i64());
        let mut s = Stats {
            n: values.len(),
            min: first,
            max: first,
            min_delta: i64::MAX,
            max_delta: i64::MIN,
            runs: usize::from(!values.is_empty()),
        };
        let mut prev = first;
        for v in values.iter().skip(1) {
            let v = v.to_i64();
            s.min = s.min.min(v);
            s.max = s.max.max(v);
            let d = v.wrapping_sub(prev);
            s.min_delta = s.min_delta.min(d);
            s.max_delta = s.max_delta.max(d);
            s.runs += usize::from(v != prev);
            prev = v;
        }
        s
    }

    fn for_width(&self) -> u32 {
        width(self.max.wrapping_sub(self.min) as u64)
    }

    fn delta_width(&self) -> u32 {
        if self.n < 2 {
            0
        } else {
            width(self.max_delta.wrapping_sub(self.min_delta) as u64)
        }
    }

    /// The size of each non-RLE scheme, smallest first by (size, tag order).
    fn best_simple<T: IntType>(&self) -> (u8, usize) {
        let plain = 1 + self.n * T::BYTES;
        if self.n == 0 {
            return (PLAIN, plain);
        }
        if self.min == self.max {
            return (CONST, 9);
        }
        let for_size = 10 + packed_len(self.n, self.for_width()).unwrap_or(usize::MAX);
        let delta_size = 18 + packed_len(self.n - 1, self.delta_width()).unwrap_or(usize::MAX);
        let mut best = (FOR, for_size);
        if delta_size < best.1 {
            best = (DELTA, delta_size);
        }
        if plain < best.1 {
            best = (PLAIN, plain);
        }
        best
    }
}

fn encode<T: IntType>(values: &[T], allow_rle: bool, out: &mut Vec<u8>) {
    let stats = Stats::of(values);
    let (tag, size) = stats.best_simple::<T>();
    if allow_rle && stats.n >= 2 * RLE_MIN_AVG_RUN && stats.runs * RLE_MIN_AVG_RUN <= stats.n {
        let (run_values, run_lengths) = runs(values, stats.runs);
        let vs = Stats::of(&run_values).best_simple::<T>().1;
        let ls = Stats::of(&run_lengths).best_simple::<u32>().1;
        if 1 + 4 + 4 + vs + 4 + ls < size {
            out.push(RLE);
            out.extend_from_slice(&(stats.runs as u32).to_le_bytes());
            put_sized(out, |o| encode(&run_values, false, o));
            put_sized(out, |o| encode(&run_lengths, false, o));
            return;
        }
    }
    out.push(tag);
    match tag {
        PLAIN => {
            out.reserve(values.len() * T::BYTES);
            for &v in values {
                v.put_le(out);
            }
        }
        CONST => out.extend_from_slice(&stats.min.to_le_bytes()),
        FOR => {
            let w = stats.for_width();
            out.extend_from_slice(&stats.min.to_le_bytes());
            out.push(w as u8);
            let offsets: Vec<u64> = values
                .iter()
                .map(|v| v.to_i64().wrapping_sub(stats.min) as u64)
                .collect();
            bitpack::pack(&offsets, w, out);
        }
        _ => {
            debug_assert_eq!(tag, DELTA);
            let w = stats.delta_width();
            out.extend_from_slice(&values[0].to_i64().to_le_bytes());
            out.extend_from_slice(&stats.min_delta.to_le_bytes());
            out.push(w as u8);
            let deltas: Vec<u64> = values
                .windows(2)
                .map(|p| {
                    let d = p[1].to_i64().wrapping_sub(p[0].to_i64());
                    d.wrapping_sub(stats.min_delta) as u64
                })
                .collect();
            bitpack::pack(&deltas, w, out);
        }
    }
}

/// Splits a block into run values and run lengths.
fn runs<T: IntType>(values: &[T], count: usize) -> (Vec<T>, Vec<u32>) {
    let mut vals = Vec::with_capacity(count);
    let mut lens: Vec<u32> = Vec::with_capacity(count);
    for &v in values {
        match (vals.last(), lens.last_mut()) {
            (Some(last), Some(len)) if T::to_i64(*last) == v.to_i64() && *len < u32::MAX => {
                *len += 1
            }
            _ => {
                vals.push(v);
                lens.push(1);
            }
        }
    }
    (vals, lens)
}

/// Checks that `[lo, hi]` (as i128, computed without overflow) fits the type.
fn check_range<T: IntType>(lo: i128, hi: i128) -> DecodeResult<()> {
    if lo < T::MIN as i128 || hi > T::MAX as i128 {
        return err(format!("values out of range for {}", T::NAME));
    }
    Ok(())
}

/// Decodes `n` values of exactly `src` and appends them to `out`.
pub(crate) fn decode<T: IntType>(
    src: &[u8],
    n: usize,
    allow_rle: bool,
    out: &mut Vec<T>,
) -> DecodeResult<()> {
    let mut r = Reader::new(src);
    let tag = r.u8("int block tag")?;
    match tag {
        PLAIN => {
            let body = r.rest();
            if Some(body.len()) != n.checked_mul(T::BYTES) {
                return err(format!(
                    "plain {} block of {n} values has {} bytes",
                    T::NAME,
                    body.len()
                ));
            }
            try_reserve(out, n)?;
            out.extend(body.chunks_exact(T::BYTES).map(T::get_le));
        }
        CONST => {
            let v = r.i64("constant")?;
            r.finish("constant block")?;
            check_range::<T>(v as i128, v as i128)?;
            try_reserve(out, n)?;
            out.resize(out.len() + n, T::from_i64(v));
        }
        FOR => {
            let min = r.i64("frame-of-reference minimum")?;
            let w = u32::from(r.u8("bit width")?);
            let packed = r.rest();
            if w > 64 {
                return err(format!("bit width {w} out of range"));
            }
            // Narrow types never need more bits than they have; with that bound and an
            // in-range minimum, `min + d` cannot wrap and a per-value check suffices.
            if w as usize > 8 * T::BYTES {
                return err(format!("bit width {w} too wide for {}", T::NAME));
            }
            check_range::<T>(min as i128, min as i128)?;
            try_reserve(out, n)?;
            // The largest offset that stays in range (for i64 every offset does).
            let limit = if T::BYTES < 8 {
                (T::MAX - min) as u64
            } else {
                u64::MAX
            };
            let mut bad = false;
            bitpack::unpack(packed, n, w, |chunk| {
                if T::BYTES < 8 {
                    bad |= chunk.iter().fold(0u64, |a, &d| a | u64::from(d > limit)) != 0;
                }
                out.extend(
                    chunk
                        .iter()
                        .map(|&d| T::from_i64(min.wrapping_add(d as i64))),
                );
            })?;
            if bad {
                return err(format!("values out of range for {}", T::NAME));
            }
        }
        DELTA => {
            if n == 0 {
                return err("delta block with no values");
            }
            let first = r.i64("first value")?;
            let min_delta = r.i64("minimum delta")?;
            let w = u32::from(r.u8("bit width")?);
            let packed = r.rest();
            check_range::<T>(first as i128, first as i128)?;
            try_reserve(out, n)?;
            out.push(T::from_i64(first));
            let mut acc = first;
            let mut bad = false;
            bitpack::unpack(packed, n - 1, w, |chunk| {
                out.extend(chunk.iter().map(|&d| {
                    acc = acc.wrapping_add(min_delta.wrapping_add(d as i64));
                    bad |= acc < T::MIN || acc > T::MAX;
                    T::from_i64(acc)
                }));
            })?;
            if bad {
                return err(format!("delta values out of range for {}", T::NAME));
            }
        }
        RLE if allow_rle => {
            let runs = r.u32("run count")? as usize;
            if runs == 0 || runs > n {
                return err(format!("{runs} runs for {n} values"));
            }
            let mut vals: Vec<T> = Vec::new();
            decode(r.sized("run values")?, runs, false, &mut vals)?;
            let mut lens: Vec<u32> = Vec::new();
            decode(r.sized("run lengths")?, runs, false, &mut lens)?;
            r.finish("run-length block")?;
            let mut total: u64 = 0;
            for &l in &lens {
                if l == 0 {
                    return err("run of length 0");
                }
                total += u64::from(l);
            }
            if total != n as u64 {
                return err(format!("runs cover {total} values, expected {n}"));
            }
            try_reserve(out, n)?;
            for (&v, &l) in vals.iter().zip(&lens) {
                out.resize(out.len() + l as usize, v);
            }
        }
        RLE => return err("nested run-length block"),
        t => return err(format!("unknown int scheme tag {t}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_i64(v: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_i64(v, &mut out);
        let mut back = Vec::new();
        decode_i64(&out, v.len(), &mut back).unwrap();
        assert_eq!(back, v);
        out
    }

    #[test]
    fn constant_block_is_nine_bytes() {
        let out = enc_i64(&vec![1_700_000_000_000_000; 8192]);
        assert_eq!(out[0], CONST);
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn sorted_timestamps_pick_delta() {
        let mut t = 1_700_000_000_000_000i64;
        let v: Vec<i64> = (0..8192)
            .map(|i| {
                t += 1000 + (i * 7919 % 500);
                t
            })
            .collect();
        let out = enc_i64(&v);
        assert_eq!(out[0], DELTA);
        // Deltas span 500 -> 9 bits per value.
        assert!(out.len() < 8192 * 9 / 8 + 32, "{} bytes", out.len());
    }

    #[test]
    fn status_codes_pack_in_few_bits() {
        let codes = [200, 200, 304, 200, 404, 200, 301, 500];
        let v: Vec<i64> = (0..8192).map(|i| codes[(i * 31 + i / 3) % 8]).collect();
        let out = enc_i64(&v);
        assert_eq!(out[0], FOR);
        assert_eq!(out[9], 9); // 500 - 200 = 300 fits 9 bits
        assert_eq!(out.len(), 10 + 8192 * 9 / 8);
    }

    #[test]
    fn long_runs_pick_rle() {
        let v: Vec<i64> = (0..8192)
            .map(|i| [200, 404, 200, 500][i / 1000 % 4])
            .collect();
        let out = enc_i64(&v);
        assert_eq!(out[0], RLE);
        assert!(out.len() < 64, "{} bytes", out.len());
    }

    #[test]
    fn extreme_values_round_trip() {
        let out = enc_i64(&[i64::MIN, i64::MAX, 0, -1, i64::MAX, i64::MIN]);
        assert!(out.len() <= 1 + 6 * 8);
        enc_i64(&[i64::MIN, i64::MAX]);
        enc_i64(&[]);
        enc_i64(&[42]);
        let seq: Vec<i64> = (0..100).map(|i| i64::MIN + i).collect();
        assert_eq!(enc_i64(&seq)[0], DELTA);
        let near_min: Vec<i64> = (0..100).map(|i| i64::MIN + (i * 37 % 100)).collect();
        assert_eq!(enc_i64(&near_min)[0], FOR);
    }

    #[test]
    fn u32_codes_reject_out_of_range() {
        let mut out = Vec::new();
        encode_i64(&[-1, 5, 7], &mut out);
        let mut codes = Vec::new();
        assert!(decode_u32(&out, 3, &mut codes).is_err());
        out.clear();
        encode_i64(&[u32::MAX as i64 + 1; 4], &mut out);
        assert!(decode_u32(&out, 4, &mut codes).is_err());
        out.clear();
        encode_u32(&[0, u32::MAX, 17], &mut out);
        decode_u32(&out, 3, &mut codes).unwrap();
        assert_eq!(codes, [0, u32::MAX, 17]);
    }

    #[test]
    fn rejects_trailing_bytes_and_wrong_counts() {
        let mut out = Vec::new();
        encode_i64(&[1, 2, 3, 4, 5, 6, 7, 100], &mut out);
        let mut back = Vec::new();
        assert!(decode_i64(&out, 7, &mut back).is_err());
        assert!(decode_i64(&out, 9, &mut back).is_err());
        out.push(0);
        assert!(decode_i64(&out, 8, &mut back).is_err());
        assert!(decode_i64(&[], 0, &mut back).is_err());
        assert!(decode_i64(&[CONST, 0, 0, 0, 0, 0, 0, 0, 0], usize::MAX, &mut back).is_err());
    }
}
