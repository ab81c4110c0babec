//! DOUBLE blocks.
//!
//! Schemes (first byte is the tag):
//! - `BITS` (0): the IEEE-754 bit patterns as i64, encoded as an int block
//!   (so constant blocks, NaN included, stay small). Always applicable.
//! - `DECIMAL` (1): `scale: u8` (0..=15), then an int block of mantissas `m`; row `i`
//!   is `m[i] as f64 / 10^scale`. Used when every value of the block comes back
//!   bit-exactly that way (checked while encoding), which holds for integers and for
//!   decimals with few digits such as request times `0.123`. NaN, infinities and
//!   `-0.0` never qualify and fall back to `BITS`.

use super::int::{decode, encode_i64};
use super::{err, try_reserve, DecodeResult, Reader};

const BITS: u8 = 0;
const DECIMAL: u8 = 1;

/// Largest decimal scale tried. Powers of ten up to 10^22 are exact doubles.
const MAX_SCALE: usize = 15;
/// Mantissas beyond 2^53 would not be exact doubles.
const MAX_MANTISSA: f64 = (1u64 << 53) as f64;

const POW10: [f64; MAX_SCALE + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The mantissa of `v` at `scale` if `v` round-trips bit-exactly through it.
#[inline]
fn mantissa(v: f64, scale: usize) -> Option<i64> {
    let m = (v * POW10[scale]).round();
    if m.is_nan() || m.abs() > MAX_MANTISSA {
        return None;
    }
    let m = m as i64;
    ((m as f64 / POW10[scale]).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest scale at which every value round-trips, and the mantissas.
fn as_decimals(values: &[f64]) -> Option<(usize, Vec<i64>)> {
    let mut scale = 0;
    for &v in values {
        while mantissa(v, scale).is_none() {
            scale += 1;
            if scale > MAX_SCALE {
                return None;
            }
        }
    }
    // Values checked at a smaller scale are rechecked at the final one.
    let mantissas = values
        .iter()
        .map(|&v| mantissa(v, scale))
        .collect::<Option<Vec<i64>>>()?;
    Some((scale, mantissas))
}

/// Encodes a block of doubles, appending to `out`; decoding is bit-exact.
pub fn encode_f64(values: &[f64], out: &mut Vec<u8>) {
    match as_decimals(values) {
        Some((scale, mantissas)) => {
            out.push(DECIMAL);
            out.push(scale as u8);
            encode_i64(&mantissas, out);
        }
        None => {
            out.push(BITS);
            let bits: Vec<i64> = values.iter().map(|v| v.to_bits() as i64).collect();
            encode_i64(&bits, out);
        }
    }
}

/// Decodes `n` doubles from exactly `src` into `out` (cleared first).
pub fn decode_f64(src: &[u8], n: usize, out: &mut Vec<f64>) -> DecodeResult<()> {
    out.clear();
    let mut r = Reader::new(src);
    let tag = r.u8("double block tag")?;
    let (scale, ints) = match tag {
        BITS => (None, r.rest()),
        DECIMAL => {
            let scale = r.u8("decimal scale")? as usize;
            if scale > MAX_SCALE {
                return err(format!("decimal scale {scale} out of range"));
            }
            (Some(scale), r.rest())
        }
        t => return err(format!("unknown double scheme tag {t}")),
    };
    let mut tmp: Vec<i64> = Vec::new();
    decode(ints, n, true, &mut tmp)?;
    try_reserve(out, n)?;
    match scale {
        None => out.extend(tmp.iter().map(|&b| f64::from_bits(b as u64))),
        Some(s) => {
            let p = POW10[s];
            out.extend(tmp.iter().map(|&m| m as f64 / p));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: &[f64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_f64(v, &mut out);
        let mut back = Vec::new();
        decode_f64(&out, v.len(), &mut back).unwrap();
        let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = back.iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b);
        out
    }

    #[test]
    fn request_times_use_three_decimals() {
        let v: Vec<f64> = (0..8192)
            .map(|i| format!("{}.{:03}", i % 3, (i * 37) % 1000).parse().unwrap())
            .collect();
        let out = roundtrip(&v);
        assert_eq!(&out[..2], &[DECIMAL, 3]);
        // Mantissas below 3000 pack in 12 bits.
        assert!(out.len() < 8192 * 12 / 8 + 32, "{} bytes", out.len());
    }

    #[test]
    fn specials_fall_back_to_bits() {
        for special in [f64::NAN, -0.0, f64::INFINITY, f64::NEG_INFINITY, 0.1 + 0.2] {
            let out = roundtrip(&[1.5, special, 2.0]);
            assert_eq!(out[0], BITS);
        }
        let nans = roundtrip(&[f64::NAN; 1000]);
        assert_eq!(nans.len(), 1 + 9);
        roundtrip(&[]);
        roundtrip(&[f64::MIN_POSITIVE, f64::MAX, f64::MIN, 5e-324]);
        assert_eq!(roundtrip(&[1.0, 2.0, 1e15])[..2], [DECIMAL, 0]);
    }
}
