//! Little-endian field writer and bounds-checked reader for footers and headers.
//!
//! The reader never panics: every read past the end, oversized length or bad UTF-8
//! is an error, which callers turn into [`crate::Error::Corrupt`] naming the file.

/// Appends little-endian fields to a buffer.
#[derive(Debug, Default)]
pub struct WireWriter {
    pub buf: Vec<u8>,
}

impl WireWriter {
    pub fn new() -> WireWriter {
        WireWriter::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u128(&mut self, v: u128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A `u32` length followed by the bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
}

/// Reads little-endian fields from a slice, failing cleanly at the end.
#[derive(Debug)]
pub struct WireReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A reader error: what was being read and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

pub type WireResult<T> = std::result::Result<T, WireError>;

impl<'a> WireReader<'a> {
    pub fn new(buf: &'a [u8]) -> WireReader<'a> {
        WireReader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> WireResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(WireError(format!(
                "needed {n} bytes at offset {}, only {} left",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> WireResult<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u32(&mut self) -> WireResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> WireResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> WireResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn u128(&mut self) -> WireResult<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> WireResult<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    pub fn bytes(&mut self) -> WireResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> WireResult<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| WireError(format!("invalid UTF-8 before {}", self.pos)))
    }
    /// A count of items each at least `min_item_bytes` long; rejects counts that
    /// cannot fit in what is left, so a corrupt count cannot cause a huge allocation.
    pub fn count(&mut self, min_item_bytes: usize) -> WireResult<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(WireError(format!(
                "count {n} at offset {} exceeds the remaining {} bytes",
                self.pos - 4,
                self.remaining()
            )));
        }
        Ok(n)
    }
    /// Fails unless every byte was read.
    pub fn finish(&self) -> WireResult<()> {
        if self.remaining() != 0 {
            return Err(WireError(format!("{} trailing bytes", self.remaining())));
        }
        Ok(())
    }
}
