//! The general-purpose compression layer the segment writer applies to encoded
//! blocks and blobs.
//!
//! Layout: `STORED` (0) + the raw bytes, or `ZSTD` (1) + `raw_len: u32` + one zstd
//! frame that decompresses to exactly `raw_len` bytes.
//!
//! zstd is used only for inputs of at least [`MIN_COMPRESS_LEN`] bytes, and kept only
//! if it saves at least 1/8 of the input: below that, the cost of a decode call
//! outweighs the saved bytes.

use std::cell::RefCell;

use super::{err, DecodeResult, Reader};

const STORED: u8 = 0;
const ZSTD: u8 = 1;

/// Inputs shorter than this are stored (zstd's frame overhead eats most of the gain).
pub const MIN_COMPRESS_LEN: usize = 128;
/// zstd level: level 1 decodes as fast as level 3 and compresses encoded
/// (already bit-packed) blocks nearly as well, at a fraction of the encode time.
pub const ZSTD_LEVEL: i32 = 1;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `raw` (or stores it) and appends the result to `out`.
pub fn compress(raw: &[u8], out: &mut Vec<u8>) {
    if raw.len() >= MIN_COMPRESS_LEN && u32::try_from(raw.len()).is_ok() {
        let start = out.len();
        out.push(ZSTD);
        out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        let header = out.len();
        let budget = raw.len() - raw.len() / 8;
        if zstd_into(raw, out, header).is_some() && out.len() - start <= budget {
            return;
        }
        out.truncate(start);
    }
    out.push(STORED);
    out.extend_from_slice(raw);
}

/// Appends a zstd frame of `raw` to `out` (whose first `at` bytes are kept).
fn zstd_into(raw: &[u8], out: &mut Vec<u8>, at: usize) -> Option<()> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL).ok()?);
        }
        let c = c.as_mut()?;
        out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        let mut cursor = std::io::Cursor::new(&mut *out);
        cursor.set_position(at as u64);
        c.compress_to_buffer(raw, &mut cursor).ok()?;
        Some(())
    })
}

/// Returns the raw bytes of `src`: a view into `src` if it was stored, else
/// decompressed into `scratch`. Fails on claimed lengths above `max_len`.
pub fn decompress<'a>(
    src: &'a [u8],
    scratch: &'a mut Vec<u8>,
    max_len: usize,
) -> DecodeResult<&'a [u8]> {
    let mut r = Reader::new(src);
    match r.u8("compression tag")? {
        STORED => {
            let raw = r.rest();
            if raw.len() > max_len {
                return err(format!(
                    "stored block of {} bytes exceeds the limit of {max_len}",
                    raw.len()
                ));
            }
            Ok(raw)
        }
        ZSTD => {
            let len = r.u32("uncompressed length")? as usize;
            if len > max_len {
                return err(format!(
                    "compressed block claims {len} bytes, the limit is {max_len}"
                ));
            }
            let frame = r.rest();
            scratch.clear();
            scratch
                .try_reserve_exact(len)
                .map_err(|_| super::DecodeError(format!("cannot allocate {len} bytes")))?;
            DECOMPRESSOR.with(|d| {
                let mut d = d.borrow_mut();
                if d.is_none() {
                    let fresh = zstd::bulk::Decompressor::new()
                        .map_err(|e| super::DecodeError(format!("zstd: {e}")))?;
                    *d = Some(fresh);
                }
                match d.as_mut() {
                    Some(d) => d
                        .decompress_to_buffer(frame, &mut *scratch)
                        .map(|_| ())
                        .map_err(|e| super::DecodeError(format!("zstd: {e}"))),
                    None => err("zstd context unavailable"),
                }
            })?;
            if scratch.len() != len {
                return err(format!(
                    "zstd frame holds {} bytes, expected {len}",
                    scratch.len()
                ));
            }
            Ok(&scratch[..])
        }
        t => err(format!("unknown compression tag {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_or_random_input_is_stored() {
        let mut out = Vec::new();
        compress(b"hello", &mut out);
        assert_eq!(out[0], STORED);
        let mut x = 1u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        out.clear();
        compress(&noise, &mut out);
        assert_eq!(out[0], STORED);
        let mut scratch = Vec::new();
        assert_eq!(decompress(&out, &mut scratch, 4096).unwrap(), &noise[..]);
        assert!(decompress(&out, &mut scratch, 4095).is_err());
    }

    #[test]
    fn repetitive_input_is_compressed() {
        let raw: Vec<u8> = b"GET /index.html HTTP/1.1 200\n".repeat(200);
        let mut out = vec![9, 9];
        compress(&raw, &mut out);
        assert_eq!(out[2], ZSTD);
        assert!(out.len() < raw.len() / 4);
        let mut scratch = Vec::new();
        assert_eq!(
            decompress(&out[2..], &mut scratch, raw.len()).unwrap(),
            &raw[..]
        );
        assert!(decompress(&out[2..], &mut scratch, raw.len() - 1).is_err());
        // A lying length is caught.
        let mut lie = out[2..].to_vec();
        lie[1] = lie[1].wrapping_sub(1);
        assert!(decompress(&lie, &mut scratch, raw.len()).is_err());
    }
}
