//! Block encodings for column values (see spec/format.md, "Encodings").
//!
//! A column is stored in blocks of up to 8192 rows. Each block's values are encoded
//! by one of the `encode_*` functions into a self-describing byte string whose first
//! byte is a scheme tag; the writer may then pass those bytes through [`compress`].
//!
//! Map of the module:
//! - [`bitpack`](self::bitpack): the bit-packing primitive (widths 0..=64), in
//!   groups of 64 values so that a group of width `w` is exactly `w` 64-bit words.
//! - `int`: integers and dictionary codes: constant, frame-of-reference, delta,
//!   run-length or plain, chosen per block by size.
//! - `float`, `bits`, `strings`: doubles (scaled decimals or raw bits), booleans,
//!   validity bitmaps, IP addresses, plain strings, dictionaries.
//! - `compress`: the optional zstd layer over any encoded byte string.
//! - `roaring`: a sorted list of rows written in the portable RoaringBitmap format
//!   (the bitmaps of index pages), without building the bitmap.
//!
//! Decoders take the exact byte slice and the row count from the (checksummed)
//! segment footer, yet still treat both as untrusted: they never panic, never read
//! out of bounds, allocate at most O(n + src.len()), and reject trailing bytes and
//! inconsistent lengths with a [`DecodeError`].

use std::fmt;

pub mod bitpack;
mod bits;
mod compress;
mod float;
mod int;
mod roaring;
mod strings;

pub use bits::{decode_bool, decode_ip, decode_validity, encode_bool, encode_ip, encode_validity};
pub use compress::{compress, decompress};
pub use float::{decode_f64, encode_f64};
pub use int::{decode_i64, decode_u32, encode_i64, encode_u32};
pub use roaring::serialize_sorted_rows;
pub use strings::{
    build_dictionary, build_dictionary_within, decode_dictionary, decode_dictionary_into,
    decode_strings, encode_dictionary, encode_dictionary_range, encode_strings,
};

/// Why an encoded byte string could not be decoded: the bytes are damaged or were not
/// written by this encoder. The segment reader turns it into a corruption error
/// naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad encoded block: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The result of a decoder.
pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

/// A [`DecodeError`] from anything printable.
pub(crate) fn err<T>(msg: impl Into<String>) -> DecodeResult<T> {
    Err(DecodeError(msg.into()))
}

/// Reserves room for `n` more items without aborting on absurd sizes: a corrupt row
/// count must become an error, not an allocation failure.
pub(crate) fn try_reserve<T>(v: &mut Vec<T>, n: usize) -> DecodeResult<()> {
    v.try_reserve_exact(n)
        .map_err(|_| DecodeError(format!("cannot allocate room for {n} values")))
}

/// A bounds-checked little-endian reader over an encoded byte string.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> DecodeResult<&'a [u8]> {
        if n > self.buf.len() {
            return err(format!(
                "{what}: need {n} bytes, only {} left",
                self.buf.len()
            ));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> DecodeResult<[u8; N]> {
        let b = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &str) -> DecodeResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A sub-string prefixed by its u32 byte length.
    pub(crate) fn sized(&mut self, what: &str) -> DecodeResult<&'a [u8]> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(&self, what: &str) -> DecodeResult<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            err(format!("{what}: {} trailing bytes", self.buf.len()))
        }
    }
}

/// Appends `sub` prefixed by its u32 byte length (encoded blocks are far below 4 GiB).
pub(crate) fn put_sized(out: &mut Vec<u8>, sub: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    sub(out);
    let len = u32::try_from(out.len() - at - 4).expect("encoded sub-block exceeds 4 GiB");
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}
