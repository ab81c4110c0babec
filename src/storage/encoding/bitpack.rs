//! Bit-packing of `u64` values at a fixed width of 0..=64 bits.
//!
//! Layout: one little-endian bit stream, value `i` at bits `i*w .. (i+1)*w`, least
//! significant bit first, `ceil(n*w/8)` bytes in all, with the unused high bits of the
//! last byte zero. Because 64 values of width `w` fill exactly `w` 64-bit words, the
//! stream is processed in groups of 64 values by kernels specialised per width
//! (const generics), so the shifts and masks are compile-time constants.

use super::{err, DecodeResult};

/// Values per group: a group of width `w` is `w` little-endian u64 words.
pub const GROUP: usize = 64;

/// The number of bits needed to hold `v` (0 for 0).
#[inline]
pub fn width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// The packed size in bytes of `n` values of width `w`, or `None` on overflow.
#[inline]
pub fn packed_len(n: usize, w: u32) -> Option<usize> {
    Some(n.checked_mul(w as usize)?.div_ceil(8))
}

/// Packs `values` (each must fit in `w` bits) and appends them to `out`.
pub fn pack(values: &[u64], w: u32, out: &mut Vec<u8>) {
    assert!(w <= 64, "bit width {w} out of range");
    debug_assert!(values.iter().all(|&v| width(v) <= w));
    let total = packed_len(values.len(), w).expect("packed size overflows usize");
    let start = out.len();
    out.reserve(total + 8 * w as usize);
    let pack_group = PACKERS[w as usize];
    let mut chunks = values.chunks_exact(GROUP);
    for c in &mut chunks {
        pack_group(c.try_into().expect("chunk of 64"), out);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut buf = [0u64; GROUP];
        buf[..tail.len()].copy_from_slice(tail);
        pack_group(&buf, out);
    }
    out.truncate(start + total);
}

/// Unpacks `n` values of width `w` from exactly `src`, handing them to `sink` in
/// slices of up to 64 values, in order. Fails if `src` is not exactly the packed
/// size or if the padding bits are not zero.
#[inline]
pub fn unpack(src: &[u8], n: usize, w: u32, mut sink: impl FnMut(&[u64])) -> DecodeResult<()> {
    if w > 64 {
        return err(format!("bit width {w} out of range"));
    }
    let Some(total) = packed_len(n, w) else {
        return err("packed size overflows");
    };
    if src.len() != total {
        return err(format!(
            "{n} values of {w} bits need {total} bytes, found {}",
            src.len()
        ));
    }
    let unpack_group = UNPACKERS[w as usize];
    let group_bytes = 8 * w as usize;
    let full = n / GROUP;
    let mut buf = [0u64; GROUP];
    if group_bytes == 0 {
        for _ in 0..full {
            sink(&buf);
        }
    } else {
        for g in src.chunks_exact(group_bytes).take(full) {
            unpack_group(g, &mut buf);
            sink(&buf);
        }
    }
    let rem = n % GROUP;
    if rem != 0 {
        let tail = &src[full * group_bytes..];
        let mut bytes = [0u8; 8 * GROUP];
        bytes[..tail.len()].copy_from_slice(tail);
        unpack_group(&bytes, &mut buf);
        if buf[rem..].iter().any(|&v| v != 0) {
            return err("non-zero padding bits after the last packed value");
        }
        sink(&buf[..rem]);
    }
    Ok(())
}

type PackFn = fn(&[u64; GROUP], &mut Vec<u8>);
type UnpackFn = fn(&[u8], &mut [u64; GROUP]);

/// Packs 64 values of `W` bits into `W` words.
fn pack_group<const W: usize>(values: &[u64; GROUP], out: &mut Vec<u8>) {
    let mut words = [0u64; W];
    if W > 0 {
        for (i, &v) in values.iter().enumerate() {
            let bit = i * W;
            let (j, s) = (bit / 64, bit % 64);
            words[j] |= v << s;
            if s + W > 64 {
                words[j + 1] |= v >> (64 - s);
            }
        }
    }
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Unpacks 64 values of `W` bits from the first `8 * W` bytes of `src`.
fn unpack_group<const W: usize>(src: &[u8], out: &mut [u64; GROUP]) {
    if W == 0 {
        *out = [0; GROUP];
        return;
    }
    let mut words = [0u64; W];
    for (w, b) in words.iter_mut().zip(src.chunks_exact(8)) {
        *w = u64::from_le_bytes(b.try_into().expect("8 bytes"));
    }
    let mask = u64::MAX >> (64 - W);
    for (i, o) in out.iter_mut().enumerate() {
        let bit = i * W;
        let (j, s) = (bit / 64, bit % 64);
        let mut v = words[j] >> s;
        if s + W > 64 {
            v |= words[j + 1] << (64 - s);
        }
        *o = v & mask;
    }
}

macro_rules! per_width {
    ($f:ident, $ty:ty; $($w:literal)*) => {
        [$($f::<$w> as $ty),*]
    };
}

static PACKERS: [PackFn; 65] = per_width!(pack_group, PackFn;
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
    33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

static UNPACKERS: [UnpackFn; 65] = per_width!(unpack_group, UnpackFn;
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
    33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(values: &[u64], w: u32) -> Vec<u64> {
        let mut buf = Vec::new();
        pack(values, w, &mut buf);
        assert_eq!(buf.len(), packed_len(values.len(), w).unwrap());
        let mut back = Vec::new();
        unpack(&buf, values.len(), w, |s| back.extend_from_slice(s)).unwrap();
        back
    }

    #[test]
    fn every_width_round_trips() {
        for w in 0..=64u32 {
            let mask = if w == 0 { 0 } else { u64::MAX >> (64 - w) };
            for n in [0, 1, 7, 63, 64, 65, 200] {
                let values: Vec<u64> = (0..n as u64)
                    .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32) & mask)
                    .collect();
                assert_eq!(roundtrip(&values, w), values, "w={w} n={n}");
            }
        }
    }

    #[test]
    fn rejects_wrong_length_and_dirty_padding() {
        let mut buf = Vec::new();
        pack(&[1, 2, 3], 3, &mut buf);
        assert_eq!(buf.len(), 2);
        assert!(unpack(&buf[..1], 3, 3, |_| {}).is_err());
        let mut longer = buf.clone();
        longer.push(0);
        assert!(unpack(&longer, 3, 3, |_| {}).is_err());
        buf[1] |= 0x80;
        assert!(unpack(&buf, 3, 3, |_| {}).is_err());
        assert!(unpack(&[], 3, 65, |_| {}).is_err());
        assert!(unpack(&[], usize::MAX, 64, |_| {}).is_err());
    }
}
