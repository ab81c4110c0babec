//! Reading a segment's bitmap indexes: the directory of an index, decoded on first
//! use; the key of a value, the bitmap of a key (through the chunk cache of index
//! pages and, for integer keys in pages, key pages), a walk over every bitmap or
//! every integer key, and the value of a key.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::format::{decode_index_directory, IndexKeys, IndexMeta};
use super::reader::{ReadBuf, Segment};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::schema::DataType;
use crate::storage::encoding as enc;

impl Segment {
    /// Whether column `col` has a bitmap index (reads nothing).
    pub fn has_index(&self, col: usize) -> bool {
        self.meta.indexes.iter().any(|e| e.column == col)
    }

    /// The index directory of column `col`, if it has an index: decoded from its
    /// chunk on first use, then kept with the segment.
    pub fn index(&self, col: usize) -> Result<Option<&IndexMeta>> {
        let Some(pos) = self.meta.indexes.iter().position(|e| e.column == col) else {
            return Ok(None);
        };
        let slot = &self.index_dirs[pos];
        if let Some(ix) = slot.get() {
            return Ok(Some(ix));
        }
        let entry = &self.meta.indexes[pos];
        let what = format!(
            "index directory of column '{}'",
            self.meta.columns[col].field.name
        );
        let chunk = entry
            .directory
            .ok_or_else(|| self.corrupt(format!("{what}: missing")))?;
        let mut scratch = ReadBuf::default();
        let raw = self.chunk(&chunk, &mut scratch, &what)?;
        let ix = decode_index_directory(raw, entry, self.data_end, self.version)
            .map_err(|e| self.corrupt(format!("{what}: {}", e.0)))?;
        Ok(Some(slot.get_or_init(|| ix)))
    }

    /// The index directory of column `col`, which the caller knows is indexed.
    pub fn required_index(&self, col: usize) -> Result<&IndexMeta> {
        self.index(col)?
            .ok_or_else(|| Error::Internal(format!("column {col} has no index")))
    }

    /// The key position of `value` in column `col`'s index, if the value occurs.
    pub fn index_key(&self, col: usize, value: &Value) -> Result<Option<usize>> {
        let Some(ix) = self.index(col)? else {
            return Ok(None);
        };
        Ok(match (&ix.keys, value) {
            (IndexKeys::Codes(_), Value::Str(s)) => {
                let (lo, hi) = self
                    .dict_range(col, s)?
                    .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
                (lo < hi).then_some(lo as usize)
            }
            (IndexKeys::Ints(_) | IndexKeys::Paged(_), Value::Int(v)) => {
                let (lo, hi) = self.int_key_range(col, ix, *v)?;
                (lo < hi).then_some(lo)
            }
            (IndexKeys::Ints(_) | IndexKeys::Paged(_), Value::Bool(b)) => {
                let (lo, hi) = self.int_key_range(col, ix, *b as i64)?;
                (lo < hi).then_some(lo)
            }
            _ => None,
        })
    }

    /// The key positions of integer keys below `v` and up to `v` in column `col`'s
    /// index: `(first key >= v, first key > v)`, equal when `v` is no key. With
    /// keys in pages (version 4) this decodes the one key page whose range holds
    /// `v`, through the chunk cache.
    pub fn int_keys_around(&self, col: usize, v: i64) -> Result<Option<(usize, usize)>> {
        match self.index(col)? {
            Some(ix) if !matches!(ix.keys, IndexKeys::Codes(_)) => {
                self.int_key_range(col, ix, v).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn int_key_range(&self, col: usize, ix: &IndexMeta, v: i64) -> Result<(usize, usize)> {
        match &ix.keys {
            IndexKeys::Ints(keys) => Ok((
                keys.partition_point(|k| *k < v),
                keys.partition_point(|k| *k <= v),
            )),
            IndexKeys::Paged(_) => {
                // Keys of earlier pages are below this page's first key, keys of
                // later pages above `v`.
                let Some(p) = ix.page_for_value(v) else {
                    return Ok((0, 0));
                };
                let keys = self.key_page(col, ix, p, true)?;
                let first = ix.pages[p].first_key as usize;
                Ok((
                    first + keys.partition_point(|k| k < v),
                    first + keys.partition_point(|k| k <= v),
                ))
            }
            IndexKeys::Codes(_) => Err(Error::Internal(
                "integer look-up in an index of dictionary codes".into(),
            )),
        }
    }

    /// The integer keys of page `p` of `ix` (version 4), checked: as many as the
    /// page's bitmaps, strictly increasing, starting at the page's first key and
    /// below the next page's. The chunk cache keeps the decoded keys (with `store`),
    /// so a warm look-up binary-searches them without decoding or allocating.
    fn key_page(&self, col: usize, ix: &IndexMeta, p: usize, store: bool) -> Result<KeyValues> {
        let what = format!(
            "index key page of column '{}'",
            self.meta.columns[col].field.name
        );
        let page = ix
            .pages
            .get(p)
            .and_then(|pg| pg.keys)
            .ok_or_else(|| self.corrupt(format!("{what}: missing")))?;
        let n = ix.page_keys(p).len();
        let next = ix.pages.get(p + 1).and_then(|pg| pg.keys).map(|k| k.first);
        let bytes = self.cached_decoded(&page.chunk, &what, store, |raw| {
            let mut keys = Vec::new();
            enc::decode_i64(raw, n, &mut keys).map_err(|e| self.decode_err(&what, e))?;
            if keys.len() != n
                || keys.first() != Some(&page.first)
                || keys.windows(2).any(|w| w[0] >= w[1])
                || next.is_some_and(|next| keys.last().is_some_and(|&l| l >= next))
            {
                return Err(self.corrupt(format!(
                    "{what}: keys out of order or disagreeing with the directory"
                )));
            }
            Ok(keys.iter().flat_map(|k| k.to_le_bytes()).collect())
        })?;
        if bytes.len() != 8 * n {
            return Err(self.corrupt(format!("{what}: wrong length")));
        }
        Ok(KeyValues(bytes))
    }

    /// Calls `f(key, value)` for every integer key of column `col`'s index in key
    /// order; with keys in pages (version 4), page by page, without filling the
    /// chunk cache.
    pub fn for_each_int_key(
        &self,
        col: usize,
        mut f: impl FnMut(usize, i64) -> Result<()>,
    ) -> Result<()> {
        let ix = self.required_index(col)?;
        match &ix.keys {
            IndexKeys::Ints(keys) => {
                for (k, &v) in keys.iter().enumerate() {
                    f(k, v)?;
                }
            }
            IndexKeys::Paged(_) => {
                for p in 0..ix.pages.len() {
                    let first = ix.pages[p].first_key as usize;
                    let keys = self.key_page(col, ix, p, false)?;
                    for i in 0..keys.len() {
                        f(first + i, keys.get(i))?;
                    }
                }
            }
            IndexKeys::Codes(_) => {
                return Err(Error::Internal(format!(
                    "the index of column {col} has no integer keys"
                )))
            }
        }
        Ok(())
    }

    /// Calls `f(key, value)` for every key of column `col`'s index in key order.
    pub fn for_each_index_value(
        &self,
        col: usize,
        mut f: impl FnMut(usize, Value) -> Result<()>,
    ) -> Result<()> {
        let ix = self.required_index(col)?;
        if let IndexKeys::Codes(n) = ix.keys {
            let dict = self
                .dictionary(col)?
                .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
            for k in 0..n as usize {
                f(k, Value::Str(dict.get(k).into()))?;
            }
            return Ok(());
        }
        let boolean = self.meta.columns[col].field.data_type == DataType::Boolean;
        self.for_each_int_key(col, |k, v| {
            f(
                k,
                if boolean {
                    Value::Bool(v != 0)
                } else {
                    Value::Int(v)
                },
            )
        })
    }

    /// The rows holding each key of column `col`'s index (decoded on first use
    /// in a version 3 file, where they are a chunk of their own).
    pub fn index_counts(&self, col: usize) -> Result<Option<&[u32]>> {
        let Some(ix) = self.index(col)? else {
            return Ok(None);
        };
        if let Some(c) = ix.counts.get() {
            return Ok(Some(c));
        }
        let what = format!(
            "index counts of column '{}'",
            self.meta.columns[col].field.name
        );
        let chunk = ix
            .counts_chunk
            .ok_or_else(|| self.corrupt(format!("{what}: missing")))?;
        let mut scratch = ReadBuf::default();
        let raw = self.chunk(&chunk, &mut scratch, &what)?;
        if raw.len() != 4 * ix.keys.len() {
            return Err(self.corrupt(format!("{what}: wrong length")));
        }
        let counts: Vec<u32> = raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if counts.iter().map(|&c| u64::from(c)).sum::<u64>() > self.meta.rows {
            return Err(self.corrupt(format!("{what}: more rows than the segment holds")));
        }
        Ok(Some(ix.counts.get_or_init(|| counts)))
    }

    /// Deserializes key `k`'s bitmap from `raw`, the raw bytes of its page `p`,
    /// checking it against the segment's rows and, once known, its count.
    fn bitmap_in_page(
        &self,
        ix: &IndexMeta,
        p: usize,
        k: usize,
        raw: &[u8],
        what: &str,
    ) -> Result<RoaringBitmap> {
        let bytes = ix
            .bitmap_range(p, k, raw)
            .and_then(|r| raw.get(r))
            .ok_or_else(|| self.corrupt(format!("{what}: bitmap outside its page")))?;
        let bm = RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| self.corrupt(format!("{what}: {e}")))?;
        let count_differs = ix
            .counts
            .get()
            .is_some_and(|c| c.get(k).is_none_or(|&c| bm.len() != u64::from(c)));
        if count_differs || bm.max().is_some_and(|m| m as u64 >= self.meta.rows) {
            return Err(self.corrupt(format!("{what}: bitmap disagrees with its row count")));
        }
        Ok(bm)
    }

    /// The rows whose value in column `col` is key `k` of its index.
    pub fn index_bitmap(&self, col: usize, k: usize) -> Result<RoaringBitmap> {
        let ix = self.required_index(col)?;
        if k >= ix.keys.len() {
            return Err(Error::Internal(format!("index key {k} out of range")));
        }
        let p = ix.page_of(k);
        let what = format!("index of column '{}'", self.meta.columns[col].field.name);
        let mut scratch = ReadBuf::default();
        let page = self.cached_chunk(&ix.pages[p].chunk, &mut scratch, &what, true)?;
        self.bitmap_in_page(ix, p, k, &page, &what)
    }

    /// Calls `f(key, bitmap)` for every key of column `col`'s index in key order,
    /// decompressing each page once.
    pub fn for_each_bitmap(
        &self,
        col: usize,
        mut f: impl FnMut(usize, RoaringBitmap) -> Result<()>,
    ) -> Result<()> {
        let ix = self.required_index(col)?;
        let what = format!("index of column '{}'", self.meta.columns[col].field.name);
        let mut scratch = ReadBuf::default();
        for (p, page) in ix.pages.iter().enumerate() {
            // Served from the cache when a lookup cached the page, but a walk over
            // every page does not fill the cache.
            let raw = self.cached_chunk(&page.chunk, &mut scratch, &what, false)?;
            for k in ix.page_keys(p) {
                let bm = self.bitmap_in_page(ix, p, k, &raw, &what)?;
                f(k, bm)?;
            }
        }
        Ok(())
    }

    /// The rows of this segment where column `col` equals `value`, through the index;
    /// `None` if the column has no index.
    pub fn lookup(&self, col: usize, value: &Value) -> Result<Option<RoaringBitmap>> {
        if !self.has_index(col) {
            return Ok(None);
        }
        match self.index_key(col, value)? {
            None => Ok(Some(RoaringBitmap::new())),
            Some(k) => self.index_bitmap(col, k).map(Some),
        }
    }

    /// The value of index key `k` of column `col`.
    pub fn index_value(&self, col: usize, k: usize) -> Result<Value> {
        let ix = self.required_index(col)?;
        if k >= ix.keys.len() {
            return Err(Error::Internal(format!("index key {k} out of range")));
        }
        let int = match &ix.keys {
            IndexKeys::Codes(_) => {
                let dict = self
                    .dictionary(col)?
                    .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
                return Ok(Value::Str(dict.get(k).into()));
            }
            IndexKeys::Ints(v) => v[k],
            IndexKeys::Paged(_) => {
                let p = ix.page_of(k);
                let keys = self.key_page(col, ix, p, false)?;
                keys.get(k - ix.pages[p].first_key as usize)
            }
        };
        Ok(
            if self.meta.columns[col].field.data_type == DataType::Boolean {
                Value::Bool(int != 0)
            } else {
                Value::Int(int)
            },
        )
    }
}

/// The values of one key page, decoded: little-endian i64s, strictly increasing.
struct KeyValues(Arc<[u8]>);

impl KeyValues {
    fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Value `i` (below `len()`).
    fn get(&self, i: usize) -> i64 {
        let b = &self.0[8 * i..8 * i + 8];
        i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// The number of leading values for which `pred` holds (`pred` true, then false).
    fn partition_point(&self, pred: impl Fn(i64) -> bool) -> usize {
        crate::column::partition_point(self.len(), |i| pred(self.get(i)))
    }
}
