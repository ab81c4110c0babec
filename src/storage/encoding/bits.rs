//! Booleans, validity bitmaps and IP addresses.
//!
//! A bit string of `n` bits is `ceil(n/8)` bytes, bit `i` at bit `i % 8` of byte
//! `i / 8` (least significant first), unused high bits of the last byte zero.
//!
//! - Bool: `BITS` (0) + bit string, or `CONST` (1) + one byte 0 or 1.
//! - Validity: `ALL_VALID` (0) or `ALL_NULL` (1) with no payload, or `BITMAP` (2) +
//!   bit string (bit set = value present).
//! - IP: `SPLIT` (0) + u32 byte length + int block of the high 64 bits of each
//!   address (as i64), then an int block of the low 64 bits. IPv4 addresses
//!   (`::ffff:a.b.c.d`) make the high half constant.

use super::int::{decode, encode_i64};
use super::{err, try_reserve, DecodeResult, Reader};
use crate::column::Bitmap;

const BOOL_BITS: u8 = 0;
const BOOL_CONST: u8 = 1;

const ALL_VALID: u8 = 0;
const ALL_NULL: u8 = 1;
const BITMAP: u8 = 2;

const IP_SPLIT: u8 = 0;

/// Checks that `src` is a bit string of exactly `n` bits.
fn check_bit_string(src: &[u8], n: usize) -> DecodeResult<()> {
    if src.len() != n.div_ceil(8) {
        return err(format!(
            "{n} bits need {} bytes, found {}",
            n.div_ceil(8),
            src.len()
        ));
    }
    if !n.is_multiple_of(8) && src.last().is_some_and(|&b| b >> (n % 8) != 0) {
        return err("non-zero padding bits after the last bit");
    }
    Ok(())
}

/// Encodes a block of booleans, appending to `out`.
pub fn encode_bool(values: &[bool], out: &mut Vec<u8>) {
    if let Some(&first) = values.first() {
        if values.iter().all(|&v| v == first) {
            out.extend_from_slice(&[BOOL_CONST, u8::from(first)]);
            return;
        }
    }
    out.push(BOOL_BITS);
    out.extend(values.chunks(8).map(|c| {
        c.iter()
            .enumerate()
            .fold(0u8, |b, (k, &v)| b | (u8::from(v) << k))
    }));
}

/// Decodes `n` booleans from exactly `src` into `out` (cleared first).
pub fn decode_bool(src: &[u8], n: usize, out: &mut Vec<bool>) -> DecodeResult<()> {
    out.clear();
    let mut r = Reader::new(src);
    match r.u8("bool block tag")? {
        BOOL_CONST => {
            let v = match r.u8("constant bool")? {
                0 => false,
                1 => true,
                b => return err(format!("bool byte {b}")),
            };
            r.finish("constant bool block")?;
            try_reserve(out, n)?;
            out.resize(n, v);
        }
        BOOL_BITS => {
            let bytes = r.rest();
            check_bit_string(bytes, n)?;
            try_reserve(out, n)?;
            for (i, &b) in bytes.iter().enumerate() {
                let bits = (n - i * 8).min(8);
                out.extend((0..bits).map(|k| b >> k & 1 == 1));
            }
        }
        t => return err(format!("unknown bool scheme tag {t}")),
    }
    Ok(())
}

/// Encodes a validity bitmap (bit set = value present), appending to `out`.
pub fn encode_validity(valid: &Bitmap, out: &mut Vec<u8>) {
    let ones = valid.count_ones();
    if ones == valid.len() {
        out.push(ALL_VALID);
    } else if ones == 0 {
        out.push(ALL_NULL);
    } else {
        out.push(BITMAP);
        let bytes = valid.len().div_ceil(8);
        let start = out.len();
        for w in valid.words() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.truncate(start + bytes);
    }
}

/// Decodes a validity bitmap of `n` rows from exactly `src`.
pub fn decode_validity(src: &[u8], n: usize) -> DecodeResult<Bitmap> {
    let mut r = Reader::new(src);
    let tag = r.u8("validity tag")?;
    let mut words: Vec<u64> = Vec::new();
    try_reserve(&mut words, n.div_ceil(64))?;
    match tag {
        ALL_VALID | ALL_NULL => {
            r.finish("validity block")?;
            let fill = if tag == ALL_VALID { u64::MAX } else { 0 };
            words.resize(n.div_ceil(64), fill);
        }
        BITMAP => {
            let bytes = r.rest();
            check_bit_string(bytes, n)?;
            words.extend(bytes.chunks(8).map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            }));
        }
        t => return err(format!("unknown validity tag {t}")),
    }
    Ok(Bitmap::from_words(words, n))
}

/// Encodes a block of IP addresses, appending to `out`.
pub fn encode_ip(values: &[u128], out: &mut Vec<u8>) {
    out.push(IP_SPLIT);
    let half: Vec<i64> = values.iter().map(|&v| (v >> 64) as u64 as i64).collect();
    super::put_sized(out, |o| encode_i64(&half, o));
    let half: Vec<i64> = values.iter().map(|&v| v as u64 as i64).collect();
    encode_i64(&half, out);
}

/// Decodes `n` IP addresses from exactly `src` into `out` (cleared first).
pub fn decode_ip(src: &[u8], n: usize, out: &mut Vec<u128>) -> DecodeResult<()> {
    out.clear();
    let mut r = Reader::new(src);
    match r.u8("ip block tag")? {
        IP_SPLIT => {
            let mut hi: Vec<i64> = Vec::new();
            decode(r.sized("high halves")?, n, true, &mut hi)?;
            let mut lo: Vec<i64> = Vec::new();
            decode(r.rest(), n, true, &mut lo)?;
            try_reserve(out, n)?;
            out.extend(
                hi.iter()
                    .zip(&lo)
                    .map(|(&h, &l)| (h as u64 as u128) << 64 | l as u64 as u128),
            );
            Ok(())
        }
        t => err(format!("unknown ip scheme tag {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_schemes() {
        let mut out = Vec::new();
        encode_validity(&Bitmap::new(8192, true), &mut out);
        assert_eq!(out, [ALL_VALID]);
        assert_eq!(
            decode_validity(&out, 8192).unwrap(),
            Bitmap::new(8192, true)
        );
        out.clear();
        encode_validity(&Bitmap::new(100, false), &mut out);
        assert_eq!(out, [ALL_NULL]);
        assert_eq!(decode_validity(&out, 100).unwrap(), Bitmap::new(100, false));
        let mut b = Bitmap::new(70, true);
        b.set(3, false);
        b.set(68, false);
        out.clear();
        encode_validity(&b, &mut out);
        assert_eq!(out.len(), 1 + 9);
        assert_eq!(decode_validity(&out, 70).unwrap(), b);
        assert!(decode_validity(&out, 73).is_err());
        assert!(decode_validity(&out, 69).is_err());
    }

    #[test]
    fn bool_schemes() {
        let mut out = Vec::new();
        encode_bool(&[true; 1000], &mut out);
        assert_eq!(out, [BOOL_CONST, 1]);
        let v: Vec<bool> = (0..13).map(|i| i % 3 == 0).collect();
        out.clear();
        encode_bool(&v, &mut out);
        assert_eq!(out.len(), 3);
        let mut back = Vec::new();
        decode_bool(&out, 13, &mut back).unwrap();
        assert_eq!(back, v);
        assert!(decode_bool(&out, 12, &mut back).is_err());
    }

    #[test]
    fn ipv4_block_is_small() {
        let v: Vec<u128> = (0..8192u32)
            .map(|i| crate::ip::parse(&format!("10.0.{}.{}", i % 200, i % 250)).unwrap())
            .collect();
        let mut out = Vec::new();
        encode_ip(&v, &mut out);
        // Constant high half; low half spans 16 bits.
        assert!(out.len() < 8192 * 2 + 64, "{} bytes", out.len());
        let mut back = Vec::new();
        decode_ip(&out, v.len(), &mut back).unwrap();
        assert_eq!(back, v);
    }
}
