//! In-memory columns and batches: what is appended to a table and what a scan fills.
//!
//! Values are held by physical type ([`PhysicalType`]) in plain vectors; NULLs are a
//! separate validity bitmap (bit set = value present), and the value slot under a
//! NULL holds the type's default. Strings are one byte buffer plus offsets, so that
//! building and scanning a string column allocates per batch, not per row.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::schema::{DataType, PhysicalType, TableSchema};

/// A growable bitset, used for validity (bit set = not NULL) and for booleans on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    /// A bitmap of `len` bits, all set to `value`.
    pub fn new(len: usize, value: bool) -> Bitmap {
        let fill = if value { u64::MAX } else { 0 };
        let mut b = Bitmap {
            words: vec![fill; len.div_ceil(64)],
            len,
        };
        b.clear_tail();
        b
    }

    /// Builds a bitmap from little-endian words holding `len` bits.
    pub fn from_words(words: Vec<u64>, len: usize) -> Bitmap {
        let mut b = Bitmap { words, len };
        b.words.resize(len.div_ceil(64), 0);
        b.clear_tail();
        b
    }

    /// A bitmap of the bits `bits` gives, in order.
    pub fn from_bools(bits: impl IntoIterator<Item = bool>) -> Bitmap {
        let (mut words, mut len, mut word) = (Vec::new(), 0usize, 0u64);
        for b in bits {
            word |= (b as u64) << (len % 64);
            len += 1;
            if len.is_multiple_of(64) {
                words.push(std::mem::take(&mut word));
            }
        }
        if !len.is_multiple_of(64) {
            words.push(word);
        }
        Bitmap { words, len }
    }

    fn clear_tail(&mut self) {
        let rem = self.len % 64;
        if rem != 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << rem) - 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The underlying words; bits past `len` are zero.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Bytes of heap this bitmap holds (its allocation, not its length).
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        debug_assert!(i < self.len);
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    #[inline]
    pub fn set(&mut self, i: usize, value: bool) {
        let w = &mut self.words[i / 64];
        if value {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }

    #[inline]
    pub fn push(&mut self, value: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        self.len += 1;
        if value {
            self.set(self.len - 1, true);
        }
    }

    /// The number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }

    /// Appends `len` bits of `other` starting at bit `start` (a word at a
    /// time when this bitmap ends on a word boundary).
    pub fn extend_from(&mut self, other: &Bitmap, start: usize, len: usize) {
        if self.len.is_multiple_of(64) {
            self.words.extend(other.slice_words(start, len));
            self.len += len;
            return;
        }
        for i in start..start + len {
            self.push(other.get(i));
        }
    }

    /// The `len` bits from bit `start` as words (bits past `len` zero).
    fn slice_words(&self, start: usize, len: usize) -> impl Iterator<Item = u64> + '_ {
        let (first, shift) = (start / 64, start % 64);
        let tail = len % 64;
        let count = len.div_ceil(64);
        (0..count).map(move |k| {
            let lo = self.words[first + k] >> shift;
            let hi = match shift {
                0 => 0,
                _ => self
                    .words
                    .get(first + k + 1)
                    .map_or(0, |w| w << (64 - shift)),
            };
            match tail {
                t if t != 0 && k + 1 == count => (lo | hi) & ((1u64 << t) - 1),
                _ => lo | hi,
            }
        })
    }
}

/// Variable-length UTF-8 strings in one buffer: string `i` is
/// `bytes[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringVec {
    offsets: Vec<u32>,
    bytes: Vec<u8>,
}

impl Default for StringVec {
    fn default() -> Self {
        StringVec {
            offsets: vec![0],
            bytes: Vec::new(),
        }
    }
}

/// The number of leading positions of `0..len` for which `pred` holds, by binary
/// search (`pred` holds up to some position and not after it): slice
/// `partition_point` for sequences that are not slices.
pub fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl StringVec {
    /// Where `s` falls in these strings when they are sorted (a dictionary): the
    /// positions `(first >= s, first > s)`, so the entries equal to `s` are
    /// `lower..upper`.
    pub fn sorted_range(&self, s: &str) -> (u32, u32) {
        (
            partition_point(self.len(), |i| self.get(i) < s) as u32,
            partition_point(self.len(), |i| self.get(i) <= s) as u32,
        )
    }

    pub fn new() -> StringVec {
        StringVec::default()
    }

    pub fn with_capacity(strings: usize, bytes: usize) -> StringVec {
        let mut offsets = Vec::with_capacity(strings + 1);
        offsets.push(0);
        StringVec {
            offsets,
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// `n` empty strings. Their offsets are zeroed memory, which the system maps
    /// lazily: a vector nobody reads costs no page of its size.
    pub fn empty_strings(n: usize) -> StringVec {
        StringVec {
            offsets: vec![0; n + 1],
            bytes: Vec::new(),
        }
    }

    /// Builds from raw parts, checking that offsets are monotonic, in bounds and on
    /// UTF-8 character boundaries.
    pub fn from_parts(offsets: Vec<u32>, bytes: Vec<u8>) -> Result<StringVec> {
        let bad = |d: &str| Error::Internal(format!("invalid string vector: {d}"));
        if offsets.first() != Some(&0) {
            return Err(bad("offsets must start at 0"));
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad("offsets are not monotonic"));
        }
        if *offsets.last().unwrap_or(&0) as usize != bytes.len() {
            return Err(bad("last offset does not match the byte length"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("bytes are not UTF-8"))?;
        if offsets.iter().any(|&o| !text.is_char_boundary(o as usize)) {
            return Err(bad("offset inside a UTF-8 character"));
        }
        Ok(StringVec { offsets, bytes })
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn push(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len() as u32);
    }

    /// Appends `head`, then `sep` and `tail` when there is a tail: one string.
    #[inline]
    pub fn push_joined(&mut self, head: &str, sep: u8, tail: Option<&str>) {
        assert!(sep.is_ascii(), "a join's separator is an ASCII byte");
        self.bytes.extend_from_slice(head.as_bytes());
        if let Some(t) = tail {
            self.bytes.push(sep);
            self.bytes.extend_from_slice(t.as_bytes());
        }
        self.offsets.push(self.bytes.len() as u32);
    }

    /// Appends bytes the caller guarantees are valid UTF-8 (checked in debug builds).
    #[inline]
    pub fn push_bytes_utf8(&mut self, s: &[u8]) {
        debug_assert!(std::str::from_utf8(s).is_ok());
        self.bytes.extend_from_slice(s);
        self.offsets.push(self.bytes.len() as u32);
    }

    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let b = &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize];
        // SAFETY: every constructor and push keeps `bytes` valid UTF-8 with offsets on
        // character boundaries (checked by `from_parts`, guaranteed by `&str` in `push`,
        // and by the caller of `push_bytes_utf8`).
        unsafe { std::str::from_utf8_unchecked(b) }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The strings at positions `rows`, copied as one run of bytes.
    pub fn slice(&self, rows: std::ops::Range<usize>) -> StringVec {
        let lo = self.offsets[rows.start];
        let hi = self.offsets[rows.end];
        StringVec {
            offsets: self.offsets[rows.start..=rows.end]
                .iter()
                .map(|o| o - lo)
                .collect(),
            bytes: self.bytes[lo as usize..hi as usize].to_vec(),
        }
    }

    /// The offsets and the bytes, taken apart (no copy).
    pub fn into_parts(self) -> (Vec<u32>, Vec<u8>) {
        (self.offsets, self.bytes)
    }

    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn clear(&mut self) {
        self.offsets.truncate(1);
        self.bytes.clear();
    }

    /// Bytes of heap these strings hold (their allocations, not their lengths).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.bytes.capacity()
    }

    /// Gives back the room reserved past the strings.
    pub fn shrink_to_fit(&mut self) {
        self.offsets.shrink_to_fit();
        self.bytes.shrink_to_fit();
    }

    /// Makes room for `strings` more strings of `bytes` bytes in all.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.offsets.reserve(strings);
        self.bytes.reserve(bytes);
    }

    /// Appends the strings of `lengths` bytes each that `text` holds one after
    /// another (its bytes in one copy). Returns false, appending nothing, when
    /// the lengths do not sum to `text`'s, a string would end inside a UTF-8
    /// character, or the bytes would pass 4 GiB.
    pub fn extend_from_lengths(&mut self, lengths: &[u32], text: &str) -> bool {
        let base = self.bytes.len() as u64;
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        if total != text.len() as u64 || u32::try_from(base + total).is_err() {
            return false;
        }
        let before = self.offsets.len();
        let bytes = text.as_bytes();
        let mut end = base as u32;
        let mut inside = false;
        self.offsets.extend(lengths.iter().map(|&l| {
            end += l;
            // A byte 0b10xx_xxxx continues a character: no string starts there.
            let next = bytes.get((end - base as u32) as usize);
            inside |= next.is_some_and(|&b| (b as i8) < -0x40);
            end
        }));
        if inside {
            self.offsets.truncate(before);
            return false;
        }
        self.bytes.extend_from_slice(bytes);
        true
    }

    /// Appends every string of `other` (its bytes in one copy).
    pub fn extend(&mut self, other: &StringVec) {
        let base = self.bytes.len() as u32;
        self.bytes.extend_from_slice(&other.bytes);
        self.offsets
            .extend(other.offsets[1..].iter().map(|&o| base + o));
    }
}

/// A vector of lists: list `i` is `values[offsets[i]..offsets[i + 1]]`, one column
/// holding the elements of every list (with their own NULLs). A NULL list is an
/// empty slot under the outer column's validity.
#[derive(Clone, Debug, PartialEq)]
pub struct ListVec {
    offsets: Vec<u64>,
    values: Box<Column>,
}

impl ListVec {
    /// No lists, elements of physical type `elem`, room for `n` lists.
    pub fn with_capacity(elem: PhysicalType, n: usize) -> ListVec {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        ListVec {
            offsets,
            values: Box::new(Column::new(ColumnData::with_capacity(elem, 0))),
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element rows of list `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }

    /// The column of all elements.
    pub fn values(&self) -> &Column {
        &self.values
    }

    /// The elements of list `i` as values.
    pub fn get(&self, i: usize) -> Vec<Value> {
        self.range(i).map(|r| self.values.value(r)).collect()
    }

    /// Appends a list of `items`.
    pub fn push(&mut self, items: &[Value]) {
        for v in items {
            self.values.push(v);
        }
        self.offsets.push(self.values.len() as u64);
    }

    /// Appends lists `rows` of `other` (same element type), their elements
    /// gathered in one pass.
    pub fn extend_take(&mut self, other: &ListVec, rows: impl IntoIterator<Item = usize>) {
        let mut elems: Vec<u32> = Vec::new();
        let mut end = self.values.len() as u64;
        for i in rows {
            let r = other.range(i);
            end += r.len() as u64;
            elems.extend(r.map(|x| x as u32));
            self.offsets.push(end);
        }
        self.values.append(&other.values.take(&elems));
    }

    /// Appends every list of `other` (same element type).
    pub fn extend(&mut self, other: &ListVec) {
        let base = self.values.len() as u64;
        self.offsets
            .extend(other.offsets[1..].iter().map(|&o| base + o));
        self.values.append(&other.values);
    }

    fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 8 + self.values.heap_bytes()
    }
}

/// The values of one column, by physical type.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Bool(Vec<bool>),
    Utf8(StringVec),
    Ip(Vec<u128>),
    List(ListVec),
}

impl ColumnData {
    /// An empty vector for a physical type.
    pub fn empty(physical: PhysicalType) -> ColumnData {
        ColumnData::with_capacity(physical, 0)
    }

    /// `n` zero values (empty strings, false, 0) of a physical type, from zeroed
    /// memory the system maps lazily: a stand-in for a column nobody reads.
    /// `None` for lists.
    pub fn zeroed(physical: PhysicalType, n: usize) -> Option<ColumnData> {
        Some(match physical {
            PhysicalType::Int64 => ColumnData::Int64(vec![0; n]),
            PhysicalType::Float64 => ColumnData::Float64(vec![0.0; n]),
            PhysicalType::Bool => ColumnData::Bool(vec![false; n]),
            PhysicalType::Utf8 => ColumnData::Utf8(StringVec::empty_strings(n)),
            PhysicalType::Ip => ColumnData::Ip(vec![0; n]),
            PhysicalType::List(_) => return None,
        })
    }

    /// An empty vector with room for `n` values (strings: their offsets).
    pub fn with_capacity(physical: PhysicalType, n: usize) -> ColumnData {
        match physical {
            PhysicalType::Int64 => ColumnData::Int64(Vec::with_capacity(n)),
            PhysicalType::Float64 => ColumnData::Float64(Vec::with_capacity(n)),
            PhysicalType::Bool => ColumnData::Bool(Vec::with_capacity(n)),
            PhysicalType::Utf8 => ColumnData::Utf8(StringVec::with_capacity(n, 0)),
            PhysicalType::Ip => ColumnData::Ip(Vec::with_capacity(n)),
            PhysicalType::List(e) => ColumnData::List(ListVec::with_capacity(*e, n)),
        }
    }

    /// Removes every value, keeping the allocations.
    pub fn clear(&mut self) {
        match self {
            ColumnData::Int64(v) => v.clear(),
            ColumnData::Float64(v) => v.clear(),
            ColumnData::Bool(v) => v.clear(),
            ColumnData::Utf8(v) => v.clear(),
            ColumnData::Ip(v) => v.clear(),
            ColumnData::List(v) => *v = ListVec::with_capacity(v.values.data.physical(), 0),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int64(v) => v.len(),
            ColumnData::Float64(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Utf8(v) => v.len(),
            ColumnData::Ip(v) => v.len(),
            ColumnData::List(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn physical(&self) -> PhysicalType {
        match self {
            ColumnData::Int64(_) => PhysicalType::Int64,
            ColumnData::Float64(_) => PhysicalType::Float64,
            ColumnData::Bool(_) => PhysicalType::Bool,
            ColumnData::Utf8(_) => PhysicalType::Utf8,
            ColumnData::Ip(_) => PhysicalType::Ip,
            ColumnData::List(v) => PhysicalType::List(v.values.data.physical().interned()),
        }
    }

    /// Appends the default value (0, 0.0, false, "", ::) as the slot under a NULL.
    pub fn push_default(&mut self) {
        match self {
            ColumnData::Int64(v) => v.push(0),
            ColumnData::Float64(v) => v.push(0.0),
            ColumnData::Bool(v) => v.push(false),
            ColumnData::Utf8(v) => v.push(""),
            ColumnData::Ip(v) => v.push(0),
            ColumnData::List(v) => v.push(&[]),
        }
    }

    /// Appends one value's data (a NULL or mismatched value as the default slot);
    /// the caller keeps the validity bitmap.
    pub fn push_value(&mut self, v: &Value) {
        match (self, v) {
            (ColumnData::Int64(o), Value::Int(x)) => o.push(*x),
            (ColumnData::Float64(o), Value::Float(x)) => o.push(*x),
            (ColumnData::Float64(o), Value::Int(x)) => o.push(*x as f64),
            (ColumnData::Bool(o), Value::Bool(x)) => o.push(*x),
            (ColumnData::Ip(o), Value::Ip(x)) => o.push(*x),
            (ColumnData::Utf8(o), Value::Str(x)) => o.push(x),
            (ColumnData::List(o), Value::List(x)) => o.push(x),
            (o, _) => o.push_default(),
        }
    }

    /// Appends the values at `rows` (in that order) from `other` of the same type.
    pub fn extend_take(&mut self, other: &ColumnData, rows: &[u32]) {
        match (self, other) {
            (ColumnData::Int64(a), ColumnData::Int64(b)) => {
                a.extend(rows.iter().map(|&r| b[r as usize]))
            }
            (ColumnData::Float64(a), ColumnData::Float64(b)) => {
                a.extend(rows.iter().map(|&r| b[r as usize]))
            }
            (ColumnData::Bool(a), ColumnData::Bool(b)) => {
                a.extend(rows.iter().map(|&r| b[r as usize]))
            }
            (ColumnData::Ip(a), ColumnData::Ip(b)) => a.extend(rows.iter().map(|&r| b[r as usize])),
            (ColumnData::List(a), ColumnData::List(b)) => {
                a.extend_take(b, rows.iter().map(|&r| r as usize))
            }
            (ColumnData::Utf8(a), ColumnData::Utf8(b)) => {
                // Sized once: no regrowing (and copying) of a large buffer.
                let o = b.offsets();
                let bytes: usize = rows
                    .iter()
                    .map(|&r| (o[r as usize + 1] - o[r as usize]) as usize)
                    .sum();
                a.reserve(rows.len(), bytes);
                for &r in rows {
                    a.push(b.get(r as usize));
                }
            }
            (a, b) => panic!(
                "extend_take: type mismatch {:?} vs {:?}",
                a.physical(),
                b.physical()
            ),
        }
    }
}

/// One column: values plus an optional validity bitmap (`None` = no NULLs).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub data: ColumnData,
    pub validity: Option<Bitmap>,
}

impl Column {
    /// A column without NULLs.
    pub fn new(data: ColumnData) -> Column {
        Column {
            data,
            validity: None,
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Bytes of heap this column holds: the allocations of its values and
    /// validity (what the memory limit counts), not their lengths.
    pub fn heap_bytes(&self) -> usize {
        let data = match &self.data {
            ColumnData::Int64(v) => v.capacity() * 8,
            ColumnData::Float64(v) => v.capacity() * 8,
            ColumnData::Bool(v) => v.capacity(),
            ColumnData::Ip(v) => v.capacity() * 16,
            ColumnData::Utf8(v) => v.heap_bytes(),
            ColumnData::List(v) => v.heap_bytes(),
        };
        data + self.validity.as_ref().map_or(0, Bitmap::heap_bytes)
    }

    /// Makes room for `rows` more values of a fixed width (strings and lists
    /// grow as they come).
    pub fn reserve_rows(&mut self, rows: usize) {
        match &mut self.data {
            ColumnData::Int64(v) => v.reserve(rows),
            ColumnData::Float64(v) => v.reserve(rows),
            ColumnData::Bool(v) => v.reserve(rows),
            ColumnData::Ip(v) => v.reserve(rows),
            ColumnData::Utf8(_) | ColumnData::List(_) => {}
        }
    }

    /// Gives back the room reserved past the values (a column that grew by
    /// appending holds up to twice its size).
    pub fn shrink_to_fit(&mut self) {
        match &mut self.data {
            ColumnData::Int64(v) => v.shrink_to_fit(),
            ColumnData::Float64(v) => v.shrink_to_fit(),
            ColumnData::Bool(v) => v.shrink_to_fit(),
            ColumnData::Ip(v) => v.shrink_to_fit(),
            ColumnData::Utf8(v) => v.shrink_to_fit(),
            ColumnData::List(v) => v.offsets.shrink_to_fit(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    #[inline]
    pub fn is_valid(&self, i: usize) -> bool {
        self.validity.as_ref().is_none_or(|v| v.get(i))
    }

    pub fn null_count(&self) -> usize {
        self.validity
            .as_ref()
            .map_or(0, |v| v.len() - v.count_ones())
    }

    /// The value at row `i` as a [`Value`] (for tests, printing and slow paths).
    pub fn value(&self, i: usize) -> Value {
        if !self.is_valid(i) {
            return Value::Null;
        }
        match &self.data {
            ColumnData::Int64(v) => Value::Int(v[i]),
            ColumnData::Float64(v) => Value::Float(v[i]),
            ColumnData::Bool(v) => Value::Bool(v[i]),
            ColumnData::Utf8(v) => Value::Str(v.get(i).into()),
            ColumnData::Ip(v) => Value::Ip(v[i]),
            ColumnData::List(v) => Value::List(v.get(i).into()),
        }
    }

    /// Appends one value (NULL as a default slot under a cleared validity bit).
    pub fn push(&mut self, v: &Value) {
        let valid = !matches!(v, Value::Null);
        let start = self.len();
        if !valid || self.validity.is_some() {
            self.validity
                .get_or_insert_with(|| Bitmap::new(start, true))
                .push(valid);
        }
        self.data.push_value(v);
    }

    /// Appends all rows of `other`, which has the same physical type.
    pub fn append(&mut self, other: &Column) {
        let rows = self.len();
        match (&mut self.data, &other.data) {
            (ColumnData::Int64(a), ColumnData::Int64(b)) => a.extend_from_slice(b),
            (ColumnData::Float64(a), ColumnData::Float64(b)) => a.extend_from_slice(b),
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend_from_slice(b),
            (ColumnData::Ip(a), ColumnData::Ip(b)) => a.extend_from_slice(b),
            (ColumnData::Utf8(a), ColumnData::Utf8(b)) => a.extend(b),
            (ColumnData::List(a), ColumnData::List(b)) => a.extend(b),
            (a, b) => panic!(
                "Column::append: type mismatch {:?} vs {:?}",
                a.physical(),
                b.physical()
            ),
        }
        append_validity(
            &mut self.validity,
            rows,
            other.len(),
            other.validity.as_ref(),
        );
    }

    /// A column holding the rows `rows` (a range of this column's rows).
    pub fn slice(&self, rows: std::ops::Range<usize>) -> Column {
        let data = match &self.data {
            ColumnData::Int64(v) => ColumnData::Int64(v[rows.clone()].to_vec()),
            ColumnData::Float64(v) => ColumnData::Float64(v[rows.clone()].to_vec()),
            ColumnData::Bool(v) => ColumnData::Bool(v[rows.clone()].to_vec()),
            ColumnData::Ip(v) => ColumnData::Ip(v[rows.clone()].to_vec()),
            ColumnData::Utf8(v) => ColumnData::Utf8(v.slice(rows.clone())),
            d => {
                let take: Vec<u32> = (rows.start as u32..rows.end as u32).collect();
                let mut out = ColumnData::with_capacity(d.physical(), take.len());
                out.extend_take(d, &take);
                out
            }
        };
        let validity = self.validity.as_ref().map(|v| {
            let mut out = Bitmap::new(0, false);
            out.extend_from(v, rows.start, rows.len());
            out
        });
        Column { data, validity }
    }

    /// Keeps only the rows at `rows` (increasing; see [`Batch::retain`]).
    pub fn retain(&mut self, rows: &[u32]) {
        fn compact<T: Copy>(v: &mut Vec<T>, rows: &[u32]) {
            for (k, &r) in rows.iter().enumerate() {
                v[k] = v[r as usize];
            }
            v.truncate(rows.len());
        }
        if let Some(v) = &self.validity {
            self.validity = Some(Bitmap::from_bools(rows.iter().map(|&r| v.get(r as usize))));
        }
        match &mut self.data {
            ColumnData::Int64(v) => compact(v, rows),
            ColumnData::Float64(v) => compact(v, rows),
            ColumnData::Bool(v) => compact(v, rows),
            ColumnData::Ip(v) => compact(v, rows),
            d => {
                let mut out = ColumnData::with_capacity(d.physical(), rows.len());
                out.extend_take(d, rows);
                *d = out;
            }
        }
    }

    /// A column holding the rows at `rows`, in that order.
    pub fn take(&self, rows: &[u32]) -> Column {
        let mut data = ColumnData::with_capacity(self.data.physical(), rows.len());
        data.extend_take(&self.data, rows);
        let validity = (self.validity.as_ref())
            .map(|v| Bitmap::from_bools(rows.iter().map(|&r| v.get(r as usize))));
        Column { data, validity }
    }
}

/// Extends the validity of a column of `rows` rows (`None` = all valid) by `n` rows
/// whose validity is `src` (`None` = all valid); stays `None` while every row is.
pub fn append_validity(validity: &mut Option<Bitmap>, rows: usize, n: usize, src: Option<&Bitmap>) {
    match src {
        None => {
            if let Some(v) = validity.as_mut() {
                for _ in 0..n {
                    v.push(true);
                }
            }
        }
        Some(sv) => validity
            .get_or_insert_with(|| Bitmap::new(rows, true))
            .extend_from(sv, 0, n),
    }
}

/// A single value, used at API edges (lookups, tests, literals); hot paths use
/// [`ColumnData`] slices instead.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub enum Value {
    Null,
    /// Integers, TIMESTAMP (microseconds), DATE (days) and DECIMAL(p,s) (the
    /// integer `value * 10^s`: read it with its column's type, e.g.
    /// `crate::value::format_value`).
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Arc<str>),
    Ip(u128),
    /// A list's elements.
    List(Arc<[Value]>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

/// A set of equally long columns laid out by a [`TableSchema`].
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub columns: Vec<Column>,
}

impl Batch {
    /// Checks that `columns` fits `schema`: count, physical types, equal lengths, and
    /// no NULLs in NOT NULL columns or in integer columns' out-of-range values.
    pub fn new(schema: &TableSchema, columns: Vec<Column>) -> Result<Batch> {
        let batch = Batch { columns };
        batch.validate(schema)?;
        Ok(batch)
    }

    /// The rows of `parts` (batches of the same columns) one after another, each
    /// column allocated once at its final size.
    pub fn concat(mut parts: Vec<Batch>) -> Batch {
        if parts.len() <= 1 {
            return parts.pop().unwrap_or(Batch {
                columns: Vec::new(),
            });
        }
        let width = parts[0].columns.len();
        let columns = (0..width)
            .map(|c| {
                let of = |b: &Batch| b.columns.get(c).map_or(0, Column::len);
                let rows: usize = parts.iter().map(of).sum();
                let mut data = ColumnData::with_capacity(parts[0].columns[c].data.physical(), rows);
                if let ColumnData::Utf8(v) = &mut data {
                    let bytes = parts
                        .iter()
                        .filter_map(|b| match b.columns.get(c).map(|x| &x.data) {
                            Some(ColumnData::Utf8(s)) => Some(s.bytes().len()),
                            _ => None,
                        })
                        .sum();
                    v.reserve(0, bytes);
                }
                let mut col = Column::new(data);
                for b in &parts {
                    if let Some(x) = b.columns.get(c) {
                        col.append(x);
                    }
                }
                col
            })
            .collect();
        Batch { columns }
    }

    /// Bytes of heap the batch's columns hold.
    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(Column::heap_bytes).sum()
    }

    /// The checks of [`Batch::new`] on an existing batch.
    pub fn validate(&self, schema: &TableSchema) -> Result<()> {
        let columns = &self.columns;
        if columns.len() != schema.fields.len() {
            return Err(Error::InvalidInput(format!(
                "batch has {} columns, the table has {}",
                columns.len(),
                schema.fields.len()
            )));
        }
        let rows = columns.first().map_or(0, Column::len);
        for (c, f) in columns.iter().zip(&schema.fields) {
            if c.data.physical() != f.data_type.physical() {
                return Err(Error::InvalidInput(format!(
                    "column '{}' is {} but the batch holds {:?} values",
                    f.name,
                    f.data_type,
                    c.data.physical()
                )));
            }
            if c.len() != rows {
                return Err(Error::InvalidInput(format!(
                    "column '{}' has {} rows, expected {rows}",
                    f.name,
                    c.len()
                )));
            }
            if let Some(v) = &c.validity {
                if v.len() != rows {
                    return Err(Error::InvalidInput(format!(
                        "column '{}' has a validity bitmap of {} rows, expected {rows}",
                        f.name,
                        v.len()
                    )));
                }
                if !f.nullable && v.count_ones() != rows {
                    return Err(Error::InvalidInput(format!(
                        "column '{}' is NOT NULL but the batch holds NULLs",
                        f.name
                    )));
                }
            }
            if let (Some((lo, hi)), ColumnData::Int64(vals)) = (f.data_type.int_range(), &c.data) {
                if lo > i64::MIN || hi < i64::MAX {
                    if let Some(i) = vals.iter().position(|&x| x < lo || x > hi) {
                        return Err(Error::InvalidInput(format!(
                            "value {} in column '{}' is out of range for {}",
                            vals[i], f.name, f.data_type
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The batch ordered by the `Int64` column `col` (stable), consuming it one column
    /// at a time so that memory peaks at the batch plus one column, not two batches.
    /// Returns the batch unchanged when it is already in order.
    pub fn into_sorted_by(self, col: usize) -> Batch {
        let order = match self.columns.get(col).map(|c| &c.data) {
            Some(ColumnData::Int64(v)) if v.windows(2).any(|w| w[0] > w[1]) => {
                let mut order: Vec<u32> = (0..v.len() as u32).collect();
                order.sort_by_key(|&i| v[i as usize]);
                order
            }
            _ => return self,
        };
        let columns = self.columns.into_iter().map(|c| c.take(&order)).collect();
        Batch { columns }
    }

    /// Keeps only the rows at `rows` (increasing), moving fixed-width values
    /// forward in their own buffers: a filter over a batch it owns writes no
    /// new memory for them.
    pub fn retain(&mut self, rows: &[u32]) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        for c in &mut self.columns {
            c.retain(rows);
        }
    }

    /// A batch of the rows at `rows`, in that order.
    pub fn take(&self, rows: &[u32]) -> Batch {
        Batch {
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
        }
    }

    /// [`Batch::take`] over `parts` (batches of the same columns) numbered as one:
    /// `starts[i]` is the number of part `i`'s first row, and `rows` are numbers
    /// below the parts' total. Rows are copied once, run by run of one part, so
    /// the parts need not be concatenated first.
    pub fn take_parts(parts: &[Batch], starts: &[usize], rows: &[u32]) -> Batch {
        let part_of = |r: usize| starts.partition_point(|&s| s <= r).saturating_sub(1);
        // Runs of consecutive rows of one part, as (part, rows within it).
        let mut runs: Vec<(usize, Vec<u32>)> = Vec::new();
        for &r in rows {
            let r = r as usize;
            match runs.last_mut() {
                Some((p, local))
                    if r >= starts[*p]
                        && parts.get(*p).is_some_and(|b| r - starts[*p] < b.num_rows()) =>
                {
                    local.push((r - starts[*p]) as u32)
                }
                _ => {
                    let p = part_of(r);
                    runs.push((p, vec![(r - starts[p]) as u32]));
                }
            }
        }
        let width = parts.first().map_or(0, |b| b.columns.len());
        let columns = (0..width)
            .map(|c| {
                let physical = parts[0].columns[c].data.physical();
                let mut data = ColumnData::with_capacity(physical, rows.len());
                let mut validity: Option<Bitmap> = None;
                let mut n = 0;
                for (p, local) in &runs {
                    let src = &parts[*p].columns[c];
                    data.extend_take(&src.data, local);
                    match &src.validity {
                        None => {
                            if let Some(v) = validity.as_mut() {
                                for _ in local {
                                    v.push(true);
                                }
                            }
                        }
                        Some(sv) => {
                            let v = validity.get_or_insert_with(|| Bitmap::new(n, true));
                            for &l in local {
                                v.push(sv.get(l as usize));
                            }
                        }
                    }
                    n += local.len();
                }
                Column { data, validity }
            })
            .collect();
        Batch { columns }
    }
}

/// Builds a [`Batch`] row by row without per-row allocation. Each column is appended
/// through its typed `push_*` method; every column must receive exactly one value
/// (or NULL) per row before [`BatchBuilder::finish`].
///
/// A projected builder ([`BatchBuilder::projected`]) keeps only some columns: pushes
/// to the others are dropped, and [`BatchBuilder::finish`] returns the kept ones in
/// schema order. After each `finish` the kept columns start again with the room the
/// last batch needed, so a builder reused for batches of similar size does not grow
/// its vectors value by value.
#[derive(Debug)]
pub struct BatchBuilder {
    types: Vec<DataType>,
    columns: Vec<Column>,
    /// Whether each column is kept.
    keep: Vec<bool>,
    /// The first kept column: it counts the rows.
    counter: usize,
    /// The emptied columns of a recycled batch, for the next `finish`.
    spare: Option<Vec<Column>>,
}

impl BatchBuilder {
    pub fn new(schema: &TableSchema) -> BatchBuilder {
        BatchBuilder {
            types: schema.fields.iter().map(|f| f.data_type).collect(),
            columns: schema
                .fields
                .iter()
                .map(|f| Column::new(ColumnData::empty(f.data_type.physical())))
                .collect(),
            keep: vec![true; schema.fields.len()],
            counter: 0,
            spare: None,
        }
    }

    /// A builder that keeps only `columns` (indexes into `schema`; at least one,
    /// otherwise it keeps them all).
    pub fn projected(schema: &TableSchema, columns: &[usize]) -> BatchBuilder {
        let mut b = BatchBuilder::new(schema);
        let n = b.keep.len();
        if columns.iter().any(|&c| c < n) {
            b.keep = vec![false; n];
            for &c in columns.iter().filter(|&&c| c < n) {
                b.keep[c] = true;
            }
            b.counter = b.keep.iter().position(|&k| k).unwrap_or(0);
        }
        b
    }

    /// Whether column `col` is kept (values pushed to it are not dropped).
    #[inline]
    pub fn keeps(&self, col: usize) -> bool {
        self.keep.get(col).copied().unwrap_or(false)
    }

    /// Rows completed so far (the length of the first kept column).
    pub fn len(&self) -> usize {
        self.columns.get(self.counter).map_or(0, Column::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn data_type(&self, col: usize) -> DataType {
        self.types[col]
    }

    fn mark_valid(&mut self, col: usize) {
        let c = &mut self.columns[col];
        if let Some(v) = &mut c.validity {
            v.push(true);
        }
    }

    #[inline(always)]
    pub fn push_null(&mut self, col: usize) {
        if self.keep[col] {
            self.push_null_kept(col);
        }
    }

    #[inline]
    fn push_null_kept(&mut self, col: usize) {
        let c = &mut self.columns[col];
        let len = c.data.len();
        let v = c.validity.get_or_insert_with(|| Bitmap::new(len, true));
        v.push(false);
        c.data.push_default();
    }

    #[inline(always)]
    pub fn push_i64(&mut self, col: usize, value: i64) {
        if self.keep[col] {
            self.push_i64_kept(col, value);
        }
    }

    #[inline]
    fn push_i64_kept(&mut self, col: usize, value: i64) {
        self.mark_valid(col);
        match &mut self.columns[col].data {
            ColumnData::Int64(v) => v.push(value),
            other => panic!("push_i64 on a {:?} column", other.physical()),
        }
    }

    #[inline(always)]
    pub fn push_f64(&mut self, col: usize, value: f64) {
        if self.keep[col] {
            self.push_f64_kept(col, value);
        }
    }

    #[inline]
    fn push_f64_kept(&mut self, col: usize, value: f64) {
        self.mark_valid(col);
        match &mut self.columns[col].data {
            ColumnData::Float64(v) => v.push(value),
            other => panic!("push_f64 on a {:?} column", other.physical()),
        }
    }

    #[inline(always)]
    pub fn push_bool(&mut self, col: usize, value: bool) {
        if self.keep[col] {
            self.push_bool_kept(col, value);
        }
    }

    #[inline]
    fn push_bool_kept(&mut self, col: usize, value: bool) {
        self.mark_valid(col);
        match &mut self.columns[col].data {
            ColumnData::Bool(v) => v.push(value),
            other => panic!("push_bool on a {:?} column", other.physical()),
        }
    }

    #[inline(always)]
    pub fn push_str(&mut self, col: usize, value: &str) {
        if self.keep[col] {
            self.push_str_kept(col, value);
        }
    }

    #[inline]
    fn push_str_kept(&mut self, col: usize, value: &str) {
        self.mark_valid(col);
        match &mut self.columns[col].data {
            ColumnData::Utf8(v) => v.push(value),
            other => panic!("push_str on a {:?} column", other.physical()),
        }
    }

    #[inline(always)]
    pub fn push_ip(&mut self, col: usize, value: u128) {
        if self.keep[col] {
            self.push_ip_kept(col, value);
        }
    }

    #[inline]
    fn push_ip_kept(&mut self, col: usize, value: u128) {
        self.mark_valid(col);
        match &mut self.columns[col].data {
            ColumnData::Ip(v) => v.push(value),
            other => panic!("push_ip on a {:?} column", other.physical()),
        }
    }

    /// Removes the last value of every column longer than `rows`, so that a row that
    /// failed halfway through can be abandoned.
    pub fn truncate(&mut self, rows: usize) {
        for c in &mut self.columns {
            match &mut c.data {
                ColumnData::Int64(v) => v.truncate(rows),
                ColumnData::Float64(v) => v.truncate(rows),
                ColumnData::Bool(v) => v.truncate(rows),
                ColumnData::Ip(v) => v.truncate(rows),
                ColumnData::List(v) => {
                    if v.len() > rows {
                        let end = v.offsets[rows] as usize;
                        v.offsets.truncate(rows + 1);
                        let mut values = Column::new(ColumnData::empty(v.values.data.physical()));
                        values.append(&v.values.take(&(0..end as u32).collect::<Vec<_>>()));
                        *v.values = values;
                    }
                }
                ColumnData::Utf8(v) => {
                    if v.len() > rows {
                        let end = v.offsets[rows];
                        v.offsets.truncate(rows + 1);
                        v.bytes.truncate(end as usize);
                    }
                }
            }
            if let Some(val) = &mut c.validity {
                if val.len() > rows {
                    let mut t = Bitmap::new(0, false);
                    t.extend_from(val, 0, rows);
                    *val = t;
                }
            }
        }
    }

    /// Takes the rows built so far (the kept columns) as a batch and leaves the
    /// builder empty, with room for as many rows as this batch has: the buffers of
    /// a batch given back by [`BatchBuilder::recycle`] if there is one, else new ones.
    pub fn finish(&mut self) -> Batch {
        let mut spare = self.spare.take().map(Vec::into_iter);
        let columns = self
            .columns
            .iter_mut()
            .zip(&self.keep)
            .filter(|(_, &keep)| keep)
            .map(|(c, _)| {
                let reused = spare
                    .as_mut()
                    .and_then(Iterator::next)
                    .filter(|r| r.data.physical() == c.data.physical());
                let room = match (reused, &c.data) {
                    (Some(r), _) => r.data,
                    (None, ColumnData::Utf8(v)) => {
                        ColumnData::Utf8(StringVec::with_capacity(v.len(), v.bytes.len()))
                    }
                    (None, d) => ColumnData::with_capacity(d.physical(), d.len()),
                };
                std::mem::replace(c, Column::new(room))
            })
            .collect();
        Batch { columns }
    }

    /// Gives back a batch this builder (or one of the same columns) finished and
    /// that is no longer needed: the next [`BatchBuilder::finish`] reuses its
    /// buffers, emptied, instead of allocating (and faulting in) new ones. Keeps
    /// one batch; a second one given before that is dropped.
    pub fn recycle(&mut self, mut spent: Batch) {
        if self.spare.is_some() {
            return;
        }
        for c in &mut spent.columns {
            c.data.clear();
            c.validity = None;
        }
        self.spare = Some(spent.columns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retaining rows in place keeps the same rows as taking them, for every
    /// column type, with and without NULLs.
    #[test]
    fn retained_rows_equal_taken_ones() {
        let mut strings = StringVec::new();
        ["a", "bb", "", "ccc", "d"]
            .iter()
            .for_each(|s| strings.push(s));
        let mut nulls = Bitmap::new(5, true);
        nulls.set(3, false);
        let batch = Batch {
            columns: vec![
                Column::new(ColumnData::Int64(vec![1, 2, 3, 4, 5])),
                Column {
                    data: ColumnData::Float64(vec![0.5, 1.5, 2.5, 3.5, 4.5]),
                    validity: Some(nulls),
                },
                Column::new(ColumnData::Bool(vec![true, false, true, false, true])),
                Column::new(ColumnData::Ip(vec![9, 8, 7, 6, 5])),
                Column::new(ColumnData::Utf8(strings)),
            ],
        };
        for rows in [vec![], vec![0, 1, 2, 3, 4], vec![1, 3, 4], vec![4]] {
            let mut kept = batch.clone();
            kept.retain(&rows);
            let taken = batch.take(&rows);
            assert_eq!(kept.num_rows(), rows.len());
            for (k, t) in kept.columns.iter().zip(&taken.columns) {
                let values = |c: &Column| (0..rows.len()).map(|i| c.value(i)).collect::<Vec<_>>();
                assert_eq!(values(k), values(t), "rows {rows:?}");
            }
        }
    }

    /// A bitmap packed from bools equals one pushed bit by bit, at lengths
    /// around word edges.
    #[test]
    fn bitmaps_from_bools_match_pushed_ones() {
        for len in [0, 1, 63, 64, 65, 130] {
            let bits: Vec<bool> = (0..len).map(|i| i % 3 == 0 || i % 7 == 1).collect();
            let mut pushed = Bitmap::new(0, false);
            bits.iter().for_each(|&b| pushed.push(b));
            let packed = Bitmap::from_bools(bits.iter().copied());
            assert_eq!(packed.len(), len);
            assert_eq!(packed.words(), pushed.words(), "{len} bits");
        }
    }

    /// A builder given back a spent batch builds the same batches as one that
    /// allocates, starting from the recycled buffers; a batch of other columns is
    /// not reused.
    #[test]
    fn recycled_batches_build_the_same_rows() {
        use crate::schema::{DataType, Field, TableSchema};
        let schema = TableSchema::new(vec![
            Field::new("n", DataType::BigInt),
            Field::new("s", DataType::Varchar),
        ]);
        let fill = |b: &mut BatchBuilder, from: i64| {
            for i in from..from + 3 {
                b.push_i64(0, i);
                match i % 2 {
                    0 => b.push_null(1),
                    _ => b.push_str(1, &format!("v{i}")),
                }
            }
            b.finish()
        };
        let mut fresh = BatchBuilder::new(&schema);
        let mut reused = BatchBuilder::new(&schema);
        let first = fill(&mut reused, 0);
        let capacity = match &first.columns[1].data {
            ColumnData::Utf8(v) => v.bytes.capacity(),
            _ => 0,
        };
        reused.recycle(first);
        // A batch of other columns is refused column by column (types differ).
        let other = TableSchema::new(vec![Field::new("x", DataType::Varchar)]);
        let mut ob = BatchBuilder::new(&other);
        ob.push_str(0, "x");
        reused.recycle(ob.finish());
        assert_eq!(fill(&mut fresh, 10), fill(&mut reused, 10));
        // The next rows are built in the recycled buffers.
        match &reused.columns[1].data {
            ColumnData::Utf8(v) => assert!(v.is_empty() && v.bytes.capacity() >= capacity),
            _ => unreachable!(),
        }
        assert_eq!(fill(&mut fresh, 20), fill(&mut reused, 20));
        let mut mismatched = BatchBuilder::new(&schema);
        mismatched.recycle(BatchBuilder::new(&other).finish());
        assert_eq!(fill(&mut fresh, 30), fill(&mut mismatched, 30));
    }

    /// Bits appended from any offset, onto a bitmap ending on a word boundary
    /// or not, and a column's slice, are the bits read one at a time.
    #[test]
    fn extended_and_sliced_bits_are_the_source_bits() {
        let mut src = Bitmap::new(0, true);
        for i in 0..1000 {
            src.push((i * 7919) % 13 < 6);
        }
        for before in [0, 64, 5, 130] {
            for start in [0, 1, 63, 64, 65, 200] {
                for len in [0, 1, 63, 64, 65, 500, 1000 - start] {
                    let mut b = Bitmap::new(before, true);
                    b.extend_from(&src, start, len);
                    assert_eq!(b.len(), before + len);
                    let want: Vec<bool> = (0..before)
                        .map(|_| true)
                        .chain((start..start + len).map(|i| src.get(i)))
                        .collect();
                    let got: Vec<bool> = (0..b.len()).map(|i| b.get(i)).collect();
                    assert_eq!(got, want, "before {before} start {start} len {len}");
                    assert_eq!(b.count_ones(), want.iter().filter(|&&x| x).count());
                }
            }
        }
        let c = Column {
            data: ColumnData::Int64((0..1000).collect()),
            validity: Some(src.clone()),
        };
        let s = c.slice(70..400);
        assert_eq!(s.len(), 330);
        for i in 0..330 {
            assert_eq!(s.value(i), c.value(70 + i), "row {i}");
        }
        let mut strs = StringVec::new();
        for i in 0..1000 {
            strs.push(&"é".repeat(i % 5));
        }
        let c = Column {
            data: ColumnData::Utf8(strs),
            validity: Some(src.clone()),
        };
        for range in [0..0, 0..1000, 70..400, 999..1000] {
            let s = c.slice(range.clone());
            assert_eq!(s.len(), range.len());
            for (i, row) in range.enumerate() {
                assert_eq!(s.value(i), c.value(row), "row {row}");
            }
        }
    }

    #[test]
    fn appending_strings_keeps_every_string_and_null() {
        let mut a = Column::new(ColumnData::Utf8(StringVec::new()));
        let mut b = StringVec::new();
        for s in ["x", "", "héllo"] {
            b.push(s);
        }
        let mut b = Column::new(ColumnData::Utf8(b));
        b.validity = Some(Bitmap::new(3, true));
        b.validity.as_mut().unwrap().set(1, false);
        a.append(&b);
        a.append(&b);
        let got: Vec<Value> = (0..a.len()).map(|i| a.value(i)).collect();
        let want: Vec<Value> = [Value::from("x"), Value::Null, Value::from("héllo")]
            .into_iter()
            .cycle()
            .take(6)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn concat_and_take_keep_rows_and_nulls() {
        let part = |strs: &[&str], ints: &[i64], null_at: Option<usize>| {
            let mut sv = StringVec::new();
            for s in strs {
                sv.push(s);
            }
            let mut c = Column::new(ColumnData::Utf8(sv));
            if let Some(i) = null_at {
                let mut v = Bitmap::new(strs.len(), true);
                v.set(i, false);
                c.validity = Some(v);
            }
            Batch {
                columns: vec![c, Column::new(ColumnData::Int64(ints.to_vec()))],
            }
        };
        let all = Batch::concat(vec![
            part(&["a", "bb"], &[1, 2], None),
            part(&["", "ccc", "d"], &[3, 4, 5], Some(0)),
        ]);
        assert_eq!(all.num_rows(), 5);
        let strs: Vec<Value> = (0..5).map(|i| all.columns[0].value(i)).collect();
        assert_eq!(
            strs,
            [
                Value::from("a"),
                Value::from("bb"),
                Value::Null,
                Value::from("ccc"),
                Value::from("d")
            ]
        );
        let taken = all.take(&[4, 2, 1]);
        let strs: Vec<Value> = (0..3).map(|i| taken.columns[0].value(i)).collect();
        assert_eq!(strs, [Value::from("d"), Value::Null, Value::from("bb")]);
        assert_eq!(taken.columns[1].data, ColumnData::Int64(vec![5, 3, 2]));
        assert_eq!(Batch::concat(Vec::new()).num_rows(), 0);
    }

    #[test]
    fn taking_from_parts_equals_taking_from_their_concatenation() {
        let part = |base: i64, n: usize, nulls: bool| {
            let mut sv = StringVec::new();
            for i in 0..n {
                sv.push(&format!("s{}", base + i as i64));
            }
            let mut c = Column::new(ColumnData::Utf8(sv));
            if nulls {
                c.validity = Some((0..n).fold(Bitmap::new(0, false), |mut v, i| {
                    v.push(i % 3 != 0);
                    v
                }));
            }
            let ints = (0..n as i64).map(|i| base + i).collect();
            Batch {
                columns: vec![c, Column::new(ColumnData::Int64(ints))],
            }
        };
        let parts = vec![
            part(0, 5, false),
            part(100, 0, true),
            part(200, 7, true),
            part(300, 4, false),
        ];
        let starts = [0, 5, 5, 12, 16];
        let all = Batch::concat(parts.clone());
        let value_rows = |b: &Batch| -> Vec<(Value, Value)> {
            (0..b.num_rows())
                .map(|i| (b.columns[0].value(i), b.columns[1].value(i)))
                .collect()
        };
        for rows in [
            vec![],
            (0..16).collect::<Vec<u32>>(),
            vec![15, 0, 7, 6, 5, 4, 12, 13, 11],
            vec![3, 3, 9, 14, 1],
        ] {
            let got = Batch::take_parts(&parts, &starts, &rows);
            assert_eq!(value_rows(&got), value_rows(&all.take(&rows)), "{rows:?}");
        }
    }
}
