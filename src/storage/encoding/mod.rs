//! Block encodings for column values (see spec/format.md, "Encodings").
//! PLACEHOLDER: plain encodings with the final API; replaced by the real schemes.

use crate::column::{Bitmap, StringVec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);
impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DecodeError {}
pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

fn err<T>(s: &str) -> DecodeResult<T> {
    Err(DecodeError(s.into()))
}

pub fn encode_i64(values: &[i64], out: &mut Vec<u8>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}
pub fn decode_i64(src: &[u8], n: usize, out: &mut Vec<i64>) -> DecodeResult<()> {
    if src.len() != n * 8 {
        return err("len");
    }
    out.clear();
    out.extend(
        src.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap())),
    );
    Ok(())
}
pub fn encode_u32(values: &[u32], out: &mut Vec<u8>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}
pub fn decode_u32(src: &[u8], n: usize, out: &mut Vec<u32>) -> DecodeResult<()> {
    if src.len() != n * 4 {
        return err("len");
    }
    out.clear();
    out.extend(
        src.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap())),
    );
    Ok(())
}
pub fn encode_f64(values: &[f64], out: &mut Vec<u8>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}
pub fn decode_f64(src: &[u8], n: usize, out: &mut Vec<f64>) -> DecodeResult<()> {
    if src.len() != n * 8 {
        return err("len");
    }
    out.clear();
    out.extend(
        src.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap())),
    );
    Ok(())
}
pub fn encode_bool(values: &[bool], out: &mut Vec<u8>) {
    out.extend(values.iter().map(|&b| b as u8));
}
pub fn decode_bool(src: &[u8], n: usize, out: &mut Vec<bool>) -> DecodeResult<()> {
    if src.len() != n {
        return err("len");
    }
    out.clear();
    out.extend(src.iter().map(|&b| b != 0));
    Ok(())
}
pub fn encode_ip(values: &[u128], out: &mut Vec<u8>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}
pub fn decode_ip(src: &[u8], n: usize, out: &mut Vec<u128>) -> DecodeResult<()> {
    if src.len() != n * 16 {
        return err("len");
    }
    out.clear();
    out.extend(
        src.chunks_exact(16)
            .map(|c| u128::from_le_bytes(c.try_into().unwrap())),
    );
    Ok(())
}
pub fn encode_strings(values: &StringVec, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
    for i in range {
        let s = values.get(i);
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
}
pub fn decode_strings(src: &[u8], n: usize, out: &mut StringVec) -> DecodeResult<()> {
    out.clear();
    let mut p = 0;
    for _ in 0..n {
        let l = u32::from_le_bytes(
            src.get(p..p + 4)
                .ok_or(DecodeError("eof".into()))?
                .try_into()
                .unwrap(),
        ) as usize;
        p += 4;
        let s = src.get(p..p + l).ok_or(DecodeError("eof".into()))?;
        out.push(std::str::from_utf8(s).map_err(|_| DecodeError("utf8".into()))?);
        p += l;
    }
    if p != src.len() {
        return err("trailing");
    }
    Ok(())
}
pub fn encode_validity(valid: &Bitmap, out: &mut Vec<u8>) {
    for w in valid.words() {
        out.extend_from_slice(&w.to_le_bytes());
    }
}
pub fn decode_validity(src: &[u8], n: usize) -> DecodeResult<Bitmap> {
    if src.len() != n.div_ceil(64) * 8 {
        return err("len");
    }
    Ok(Bitmap::from_words(
        src.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        n,
    ))
}
pub fn build_dictionary(values: &StringVec, valid: Option<&Bitmap>) -> (StringVec, Vec<u32>) {
    let mut distinct: Vec<&str> = (0..values.len())
        .filter(|&i| valid.is_none_or(|v| v.get(i)))
        .map(|i| values.get(i))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let codes = (0..values.len())
        .map(|i| {
            if valid.is_none_or(|v| v.get(i)) {
                distinct.binary_search(&values.get(i)).unwrap() as u32
            } else {
                0
            }
        })
        .collect();
    let mut d = StringVec::new();
    for s in distinct {
        d.push(s);
    }
    (d, codes)
}
pub fn encode_dictionary(dict: &StringVec, out: &mut Vec<u8>) {
    encode_strings(dict, 0..dict.len(), out)
}
pub fn decode_dictionary(src: &[u8], n: usize) -> DecodeResult<StringVec> {
    let mut s = StringVec::new();
    decode_strings(src, n, &mut s)?;
    Ok(s)
}
pub fn compress(raw: &[u8], out: &mut Vec<u8>) {
    out.push(0);
    out.extend_from_slice(raw);
}
pub fn decompress<'a>(
    src: &'a [u8],
    _scratch: &'a mut Vec<u8>,
    _max_len: usize,
) -> DecodeResult<&'a [u8]> {
    match src.first() {
        Some(0) => Ok(&src[1..]),
        _ => err("tag"),
    }
}
