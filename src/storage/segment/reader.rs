//! Reading a segment: opening a file (magic, version, footer checksum and
//! structure), verified and decompressed chunks, dictionaries decoded once, and one
//! block of one column at a time decoded into reusable buffers ([`ColumnBlock`]).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::block::{reuse, take_codes, BlockValues, ColumnBlock};
use super::format::{
    decode_footer, Chunk, ColumnStorage, IndexMeta, SegmentMeta, DICT_PAGE_BYTES,
    HEADER_FLAGS_OFFSET, HEADER_LEN, HEADER_VERSION_OFFSET, MAGIC_LEN, MAX_CHUNK_RAW,
    SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, SEGMENT_TAIL_MAGIC, TAIL_FOOTER_CRC_OFFSET,
    TAIL_FOOTER_LEN_OFFSET, TAIL_LEN, TAIL_MAGIC_OFFSET, TAIL_VERSION_OFFSET,
};
use crate::column::{Bitmap, Column, ColumnData, StringVec};
use crate::error::{Error, Result};
use crate::schema::PhysicalType;
use crate::storage::backend::{Backend, FileBytes, ReadFile};
use crate::storage::cache::ReadCaches;
use crate::storage::encoding::{self as enc, DecodeError};

/// An open segment file: the file, open for positioned reads, and its parsed footer.
#[derive(Debug)]
pub struct Segment {
    pub(super) path: String,
    pub(super) display: PathBuf,
    pub(super) file: ReadFile,
    pub(super) meta: SegmentMeta,
    pub(super) footer_crc: u32,
    /// Decompressed footer length: what the parsed metadata costs in memory, roughly.
    pub(super) footer_len: usize,
    pub(super) dicts: Vec<OnceLock<Arc<StringVec>>>,
    /// Dictionary pages decoded on their own (by value lookups), per column.
    pub(super) dict_pages: Vec<Vec<OnceLock<Arc<StringVec>>>>,
    /// Index directories, one per entry of `meta.indexes`, decoded on first use.
    pub(super) index_dirs: Vec<OnceLock<IndexMeta>>,
    /// Where the footer starts: every chunk lies before it.
    pub(super) data_end: u64,
    /// The file's format version.
    pub(super) version: u32,
    /// The database's point-read caches and this segment's id in them, once a
    /// database attached them (a segment opened on its own caches nothing).
    pub(super) read_caches: OnceLock<(u64, Arc<ReadCaches>)>,
}

/// The reusable buffers of chunk reads: the chunk's bytes as stored (read from the
/// file) and decompressed. Scans keep one per thread, so reading a block allocates
/// nothing once the buffers have grown.
#[derive(Debug, Default)]
pub struct ReadBuf {
    file: Vec<u8>,
    raw: Vec<u8>,
}

/// Decompressed chunk bytes: borrowed from a caller's scratch buffer or shared with
/// the chunk cache.
pub(super) enum Raw<'a> {
    Scratch(&'a [u8]),
    Shared(Arc<[u8]>),
}

impl std::ops::Deref for Raw<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Raw::Scratch(b) => b,
            Raw::Shared(b) => b,
        }
    }
}

impl Segment {
    /// Opens a segment: checks magic, version, footer checksum and structure. Reads
    /// the header, the tail and the footer with positioned reads: opening maps
    /// nothing.
    pub fn open(backend: &dyn Backend, path: &str) -> Result<Segment> {
        let file = backend.open_read(path)?;
        Segment::from_file(path, backend.display_path(path), file)
    }

    /// Parses a segment from its bytes in memory; `display` names it in errors.
    pub fn from_bytes(path: &str, display: PathBuf, bytes: FileBytes) -> Result<Segment> {
        let file = ReadFile::from_bytes(bytes, display.clone());
        Segment::from_file(path, display, file)
    }

    fn from_file(path: &str, display: PathBuf, file: ReadFile) -> Result<Segment> {
        let corrupt = |d: String| Error::corrupt(display.clone(), d);
        let len = file.len();
        if len < (HEADER_LEN + TAIL_LEN) as u64 {
            return Err(corrupt(format!(
                "segment file is {len} bytes, shorter than its header and tail (truncated?)"
            )));
        }
        let mut header = [0u8; HEADER_LEN];
        file.read_exact_at(0, &mut header)?;
        if header[..MAGIC_LEN] != SEGMENT_MAGIC {
            return Err(corrupt("not a logdb segment file (bad magic)".into()));
        }
        let u32_at = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let version = u32_at(&header, HEADER_VERSION_OFFSET);
        if version > SEGMENT_FORMAT_VERSION || version == 0 {
            return Err(Error::IncompatibleVersion {
                path: display,
                found: version,
                supported: SEGMENT_FORMAT_VERSION,
            });
        }
        if u32_at(&header, HEADER_FLAGS_OFFSET) != 0 {
            return Err(corrupt("unknown header flags".into()));
        }
        let tail_start = len - TAIL_LEN as u64;
        let mut tail = [0u8; TAIL_LEN];
        file.read_exact_at(tail_start, &mut tail)?;
        if tail[TAIL_MAGIC_OFFSET..] != SEGMENT_TAIL_MAGIC {
            return Err(corrupt(
                "missing tail magic (truncated or overwritten file)".into(),
            ));
        }
        if u32_at(&tail, TAIL_VERSION_OFFSET) != version {
            return Err(corrupt("header and tail versions differ".into()));
        }
        let mut flen = [0u8; 8];
        flen.copy_from_slice(&tail[TAIL_FOOTER_LEN_OFFSET..TAIL_FOOTER_LEN_OFFSET + 8]);
        let footer_len = u64::from_le_bytes(flen);
        if footer_len > tail_start - HEADER_LEN as u64 {
            return Err(corrupt(format!(
                "footer length {footer_len} exceeds the file"
            )));
        }
        let footer_start = tail_start - footer_len;
        let mut footer = Vec::new();
        file.read_into(footer_start, footer_len as usize, &mut footer)?;
        let footer_crc = u32_at(&tail, TAIL_FOOTER_CRC_OFFSET);
        if crc32fast::hash(&footer) != footer_crc {
            return Err(corrupt("footer checksum mismatch".into()));
        }
        let mut scratch = Vec::new();
        let raw = enc::decompress(&footer, &mut scratch, MAX_CHUNK_RAW)
            .map_err(|e| corrupt(format!("footer: {e}")))?;
        let footer_len = raw.len();
        let footer = decode_footer(raw, footer_start, version)
            .map_err(|e| corrupt(format!("footer: {}", e.0)))?;
        let meta = footer.meta;
        let dicts = (0..meta.columns.len()).map(|_| OnceLock::new()).collect();
        let dict_pages = (meta.columns.iter())
            .map(|c| match &c.storage {
                ColumnStorage::Dictionary { pages, .. } => {
                    pages.iter().map(|_| OnceLock::new()).collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let index_dirs = footer
            .inline_directories
            .into_iter()
            .map(|d| d.map_or_else(OnceLock::new, OnceLock::from))
            .collect();
        Ok(Segment {
            path: path.to_string(),
            display,
            file,
            meta,
            footer_crc,
            footer_len,
            dicts,
            dict_pages,
            index_dirs,
            data_end: footer_start,
            version,
            read_caches: OnceLock::new(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn display_path(&self) -> &std::path::Path {
        &self.display
    }

    pub fn meta(&self) -> &SegmentMeta {
        &self.meta
    }

    /// An estimate of the memory this open segment holds: parsed footer metadata,
    /// decoded dictionaries and index directories (chunks are read into the
    /// caller's buffers, not held here).
    pub fn memory_size(&self) -> usize {
        let dicts = self.dictionary_memory();
        let directories: usize = self
            .index_dirs
            .iter()
            .filter_map(|d| d.get())
            .map(IndexMeta::memory_size)
            .sum();
        2 * self.footer_len + dicts + directories + std::mem::size_of::<Segment>()
    }

    /// The bytes of the dictionaries and dictionary pages this segment keeps
    /// decoded.
    pub fn dictionary_memory(&self) -> usize {
        (self.dicts.iter().chain(self.dict_pages.iter().flatten()))
            .filter_map(|d| d.get())
            .map(|d| d.bytes().len() + d.offsets().len() * 4)
            .sum()
    }

    pub fn footer_crc(&self) -> u32 {
        self.footer_crc
    }

    pub fn num_rows(&self) -> u64 {
        self.meta.rows
    }

    pub fn file_len(&self) -> u64 {
        self.file.len()
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.meta.columns.iter().position(|c| c.field.name == name)
    }

    pub(super) fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(self.display.clone(), detail)
    }

    pub(super) fn decode_err(&self, what: &str, e: DecodeError) -> Error {
        self.corrupt(format!("{what}: {}", e.0))
    }

    /// The verified, decompressed bytes of a chunk (a dictionary page, an index
    /// directory, page or counts, a block's values or validity): one positioned read
    /// into `buf`, decompressed there. Nothing is mapped.
    pub(super) fn chunk<'a>(
        &self,
        c: &Chunk,
        buf: &'a mut ReadBuf,
        what: &str,
    ) -> Result<&'a [u8]> {
        let ReadBuf { file, raw } = buf;
        self.file.read_into(c.offset, c.len as usize, file)?;
        if crc32fast::hash(file) != c.crc {
            return Err(self.corrupt(format!("{what}: checksum mismatch at offset {}", c.offset)));
        }
        enc::decompress(file, raw, MAX_CHUNK_RAW).map_err(|e| self.decode_err(what, e))
    }

    /// Lets index lookups and sparse block reads of this segment keep decompressed
    /// index pages and decoded blocks in `caches` under segment id `id` (which must
    /// name this file alone). The first attachment wins.
    pub fn attach_read_caches(&self, id: u64, caches: Arc<ReadCaches>) {
        let _ = self.read_caches.set((id, caches));
    }

    /// [`Segment::chunk`] through the chunk cache: a cached chunk is served without
    /// checksum or decompression (it was verified when it was cached); a missing one
    /// is read and, if `store`, cached.
    pub(super) fn cached_chunk<'a>(
        &self,
        c: &Chunk,
        scratch: &'a mut ReadBuf,
        what: &str,
        store: bool,
    ) -> Result<Raw<'a>> {
        let Some((id, caches)) = self.read_caches.get() else {
            return Ok(Raw::Scratch(self.chunk(c, scratch, what)?));
        };
        let cache = &caches.chunks;
        let key = (*id, c.offset);
        if let Some(b) = cache.get(key) {
            return Ok(Raw::Shared(b));
        }
        let raw = self.chunk(c, scratch, what)?;
        if !store {
            return Ok(Raw::Scratch(raw));
        }
        let shared: Arc<[u8]> = raw.into();
        cache.insert(key, shared.clone());
        Ok(Raw::Shared(shared))
    }

    /// A chunk turned into other bytes by `decode`, through the chunk cache, which
    /// then holds the decoded bytes under the chunk's key (for chunks never needed
    /// raw, such as key pages): a cached entry is served as is (it was checked when
    /// it was decoded); a missing one is read, decoded and, if `store`, cached.
    pub(super) fn cached_decoded(
        &self,
        c: &Chunk,
        what: &str,
        store: bool,
        decode: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<Arc<[u8]>> {
        let mut scratch = ReadBuf::default();
        let Some((id, caches)) = self.read_caches.get() else {
            return Ok(decode(self.chunk(c, &mut scratch, what)?)?.into());
        };
        let key = (*id, c.offset);
        if let Some(b) = caches.chunks.get(key) {
            return Ok(b);
        }
        let decoded: Arc<[u8]> = decode(self.chunk(c, &mut scratch, what)?)?.into();
        if store {
            caches.chunks.insert(key, decoded.clone());
        }
        Ok(decoded)
    }

    /// The sorted dictionary of a dictionary-encoded column (decoded once, then
    /// cached): every page, in order.
    pub fn dictionary(&self, col: usize) -> Result<Option<Arc<StringVec>>> {
        let ColumnStorage::Dictionary { pages, len } = &self.meta.columns[col].storage else {
            return Ok(None);
        };
        if let Some(d) = self.dicts[col].get() {
            return Ok(Some(d.clone()));
        }
        let dict = if let [_] = pages.as_slice() {
            self.dict_page(col, 0)?
        } else {
            // Room for every page at once (each holds at least one entry and at
            // most one entry past the page size), not grown by doubling.
            let entries = (*len as usize).min(pages.len() * (DICT_PAGE_BYTES + 1));
            let mut all = StringVec::with_capacity(entries, pages.len() * DICT_PAGE_BYTES);
            for p in 0..pages.len() {
                // A page decoded by a lookup is reused; others are decoded here,
                // straight into the whole, and not kept apart.
                let start = all.len();
                match self.dict_pages[col][p].get() {
                    Some(page) => all.extend(page),
                    None => self.decode_dict_page_into(col, p, &mut all)?,
                }
                if (1..all.len()).contains(&start)
                    && all.get(start - 1).as_bytes() >= all.get(start).as_bytes()
                {
                    let name = &self.meta.columns[col].field.name;
                    return Err(self.corrupt(format!(
                        "dictionary of column '{name}': page {p} is out of order"
                    )));
                }
            }
            Arc::new(all)
        };
        Ok(Some(self.dicts[col].get_or_init(|| dict).clone()))
    }

    /// Page `p` of column `col`'s dictionary (decoded once, then cached).
    fn dict_page(&self, col: usize, p: usize) -> Result<Arc<StringVec>> {
        if let Some(d) = self.dict_pages[col][p].get() {
            return Ok(d.clone());
        }
        let page = Arc::new(self.decode_dict_page(col, p)?);
        Ok(self.dict_pages[col][p].get_or_init(|| page).clone())
    }

    /// About the bytes column `col`'s dictionary takes decoded, from its footer
    /// (its pages are cut at [`DICT_PAGE_BYTES`] of strings); 0 without one.
    pub fn dictionary_size_hint(&self, col: usize) -> usize {
        match &self.meta.columns[col].storage {
            ColumnStorage::Dictionary { pages, len } => {
                pages.len() * DICT_PAGE_BYTES + *len as usize * 4
            }
            _ => 0,
        }
    }

    /// Column `col`'s dictionary entries around code `code`, with the code of the
    /// first one: the whole dictionary or the page holding `code` when either is
    /// decoded and kept already, else that page decoded for the caller alone and
    /// not kept. A merge reading the dictionaries of many segments through this
    /// holds one page per segment at a time, not every dictionary whole. `None`
    /// without a dictionary; an error when `code` is past its end.
    pub fn dict_entries_at(&self, col: usize, code: u32) -> Result<Option<(u32, Arc<StringVec>)>> {
        let ColumnStorage::Dictionary { pages, len } = &self.meta.columns[col].storage else {
            return Ok(None);
        };
        if code >= *len {
            let name = &self.meta.columns[col].field.name;
            return Err(self.corrupt(format!(
                "index of column '{name}': key {code} is past the dictionary's {len} entries"
            )));
        }
        if let Some(d) = self.dicts[col].get() {
            return Ok(Some((0, d.clone())));
        }
        let p = pages
            .partition_point(|p| p.first_code <= code)
            .saturating_sub(1);
        let page = match self.dict_pages[col][p].get() {
            Some(page) => page.clone(),
            None => Arc::new(self.decode_dict_page(col, p)?),
        };
        let first = pages[p].first_code;
        if code
            .checked_sub(first)
            .is_none_or(|at| at as usize >= page.len())
        {
            return Err(Error::Internal("dictionary page too short".into()));
        }
        Ok(Some((first, page)))
    }

    /// Decodes page `p` of column `col`'s dictionary, checking its order and its
    /// first entry against the footer's.
    fn decode_dict_page(&self, col: usize, p: usize) -> Result<StringVec> {
        let mut page = StringVec::new();
        self.decode_dict_page_into(col, p, &mut page)?;
        Ok(page)
    }

    /// [`Segment::decode_dict_page`] appended to `out`.
    fn decode_dict_page_into(&self, col: usize, p: usize, out: &mut StringVec) -> Result<()> {
        let start = out.len();
        let c = &self.meta.columns[col];
        let ColumnStorage::Dictionary { pages, len } = &c.storage else {
            return Err(Error::Internal("no dictionary".into()));
        };
        let page = &pages[p];
        let end = pages.get(p + 1).map_or(*len, |n| n.first_code);
        let name = &c.field.name;
        let what = if pages.len() == 1 {
            format!("dictionary of column '{name}'")
        } else {
            format!("dictionary of column '{name}', page {p}")
        };
        let mut scratch = ReadBuf::default();
        let raw = self.chunk(&page.chunk, &mut scratch, &what)?;
        let n = end.saturating_sub(page.first_code) as usize;
        enc::decode_dictionary_into(raw, n, out).map_err(|e| self.decode_err(&what, e))?;
        if let Some(first) = &page.first {
            if out.len() == start || out.get(start) != &**first {
                return Err(self.corrupt(format!("{what}: first entry differs from the footer's")));
            }
        }
        Ok(())
    }

    /// The codes of column `col`'s dictionary entries less than `s` and at most
    /// `s`, as [`StringVec::sorted_range`] gives them: `(first code >= s, first
    /// code > s)`. Decodes only the page that would hold `s` when the dictionary
    /// has several (and is not decoded whole already). `None` without a
    /// dictionary.
    pub fn dict_range(&self, col: usize, s: &str) -> Result<Option<(u32, u32)>> {
        let ColumnStorage::Dictionary { pages, len } = &self.meta.columns[col].storage else {
            return Ok(None);
        };
        if let Some(d) = self.dicts[col].get() {
            return Ok(Some(d.sorted_range(s)));
        }
        if pages.len() < 2 || pages.iter().any(|p| p.first.is_none()) {
            return Ok(self.dictionary(col)?.map(|d| d.sorted_range(s)));
        }
        // The last page whose first entry is at most `s`.
        let after = pages.partition_point(|p| p.first.as_deref().is_some_and(|f| f <= s));
        let Some(p) = after.checked_sub(1) else {
            return Ok(Some((0, 0)));
        };
        let page = self.dict_page(col, p)?;
        let (lo, hi) = page.sorted_range(s);
        let base = pages[p].first_code;
        debug_assert!(base + hi <= *len);
        Ok(Some((base + lo, base + hi)))
    }

    /// [`Segment::read_block`] for a block read for a few rows only (index
    /// candidates), the block's positions `rows` (sorted): the decoded block is
    /// kept in the database's block cache, so repeated point lookups neither
    /// decompress nor decode it again. Full scans use `read_block`, which leaves
    /// the cache alone.
    ///
    /// A dictionary-encoded block comes with the entries `rows` use, not the
    /// whole dictionary (unless it is decoded already): only the dictionary
    /// pages holding them are decoded, and the codes are renumbered into those
    /// entries (kept in order, so the block's dictionary is still sorted). The
    /// other rows read as its first entry: only `rows` may be used.
    pub fn read_block_sparse(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut ReadBuf,
        rows: &[u32],
    ) -> Result<()> {
        let cached = match self.read_caches.get() {
            Some((id, caches)) => {
                let key = (*id, (col as u64) << 32 | block as u64);
                match caches.blocks.get(key) {
                    Some(cached) => Some(cached),
                    None => {
                        self.decode_block(col, block, out, scratch, false)?;
                        // Dictionaries stay with the segment (and its cache
                        // budget): the cached block holds codes only.
                        caches
                            .blocks
                            .insert(key, Arc::new(out.without_dictionary()));
                        None
                    }
                }
            }
            None => {
                self.decode_block(col, block, out, scratch, false)?;
                None
            }
        };
        if let Some(cached) = &cached {
            out.copy_from(cached, None);
        }
        if let BlockValues::Dict { codes, dict } = &mut out.values {
            *dict = self.entries_of_rows(col, codes, rows)?;
        }
        Ok(())
    }

    /// The dictionary a block read for `rows` gets (see
    /// [`Segment::read_block_sparse`]), its `codes` renumbered to match.
    fn entries_of_rows(
        &self,
        col: usize,
        codes: &mut [u32],
        rows: &[u32],
    ) -> Result<Arc<StringVec>> {
        let ColumnStorage::Dictionary { pages, len } = &self.meta.columns[col].storage else {
            return Err(Error::Internal("no dictionary".into()));
        };
        let paged = pages.len() > 1 && pages.iter().all(|p| p.first.is_some());
        if !paged || self.dicts[col].get().is_some() {
            return self
                .dictionary(col)?
                .ok_or_else(|| Error::Internal("dictionary vanished".into()));
        }
        // Codes past the dictionary (NULL slots of an empty one) read as ''.
        let mut used: Vec<u32> = (rows.iter())
            .filter_map(|&r| codes.get(r as usize).copied())
            .filter(|&c| c < *len)
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut entries = StringVec::new();
        let mut page: Option<(usize, Arc<StringVec>)> = None;
        for &c in &used {
            let p = pages
                .partition_point(|p| p.first_code <= c)
                .saturating_sub(1);
            if page.as_ref().is_none_or(|(q, _)| *q != p) {
                page = Some((p, self.dict_page(col, p)?));
            }
            if let Some((_, d)) = &page {
                let at = (c - pages[p].first_code) as usize;
                if at >= d.len() {
                    return Err(Error::Internal("dictionary page too short".into()));
                }
                entries.push(d.get(at));
            }
        }
        let past_end = used.len() as u32;
        let renumbered: Vec<(usize, u32)> = (rows.iter())
            .filter(|&&r| (r as usize) < codes.len())
            .map(|&r| {
                let c = codes[r as usize];
                (
                    r as usize,
                    used.binary_search(&c).map_or(past_end, |i| i as u32),
                )
            })
            .collect();
        codes.fill(0);
        for (r, c) in renumbered {
            codes[r] = c;
        }
        Ok(Arc::new(entries))
    }

    /// Decodes block `block` of column `col` into `out`, reusing its buffers.
    pub fn read_block(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut ReadBuf,
    ) -> Result<()> {
        self.decode_block(col, block, out, scratch, true)
    }

    /// [`Segment::read_block`], a dictionary-encoded block with the whole
    /// dictionary when `whole_dictionary`, else with an empty one (codes only).
    fn decode_block(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut ReadBuf,
        whole_dictionary: bool,
    ) -> Result<()> {
        let cm = &self.meta.columns[col];
        let b = &cm.blocks[block];
        let n = b.rows as usize;
        let what = format!("column '{}' block {block}", cm.field.name);
        out.validity = self.block_validity(col, block, scratch, &what)?;
        if let (true, ColumnStorage::Joined { head, tail, sep }) = (b.joined, &cm.storage) {
            return self.join_block(block, out, scratch, (*head, *tail, *sep), &what);
        }
        let raw = self.chunk(&b.values, scratch, &what)?;
        let values = &mut out.values;
        let res = match (&cm.storage, cm.field.data_type.physical()) {
            (ColumnStorage::Dictionary { len, .. }, _) => {
                let dict = match whole_dictionary {
                    true => self
                        .dictionary(col)?
                        .ok_or_else(|| Error::Internal("dictionary vanished".into()))?,
                    false => Arc::default(),
                };
                let mut codes = take_codes(values);
                let r = enc::decode_u32(raw, n, &mut codes);
                // NULL slots hold code 0 even when the dictionary is empty.
                let valid = out.validity.as_ref();
                let bad = codes
                    .iter()
                    .enumerate()
                    .any(|(i, &c)| c >= *len && valid.is_none_or(|v| v.get(i)));
                if r.is_ok() && bad {
                    return Err(self.corrupt(format!("{what}: dictionary code out of range")));
                }
                *values = BlockValues::Dict { codes, dict };
                r
            }
            // Each decoder writes into the block's buffer of its type, reused.
            (ColumnStorage::Plain | ColumnStorage::Joined { .. }, _) => {
                enc::decode_strings(raw, n, reuse(values))
            }
            (ColumnStorage::Values, PhysicalType::Int64) => enc::decode_i64(raw, n, reuse(values)),
            (ColumnStorage::Values, PhysicalType::Float64) => {
                enc::decode_f64(raw, n, reuse(values))
            }
            (ColumnStorage::Values, PhysicalType::Bool) => enc::decode_bool(raw, n, reuse(values)),
            (ColumnStorage::Values, PhysicalType::Ip) => enc::decode_ip(raw, n, reuse(values)),
            (ColumnStorage::Values, PhysicalType::Utf8) => {
                return Err(self.corrupt(format!("{what}: string column without string storage")))
            }
            (ColumnStorage::Values, PhysicalType::List(_)) => {
                return Err(self.corrupt(format!("{what}: segments hold no list columns")))
            }
        };
        res.map_err(|e| self.decode_err(&what, e))?;
        if out.len() != n {
            return Err(self.corrupt(format!("{what}: decoded {} rows, expected {n}", out.len())));
        }
        Ok(())
    }

    /// The validity bitmap of block `block` of column `col` (`None`: no NULLs),
    /// checked against the block's null count.
    fn block_validity(
        &self,
        col: usize,
        block: usize,
        scratch: &mut ReadBuf,
        what: &str,
    ) -> Result<Option<Bitmap>> {
        let b = &self.meta.columns[col].blocks[block];
        let n = b.rows as usize;
        let Some(c) = &b.validity else {
            return Ok(None);
        };
        let raw = self.chunk(c, scratch, what)?;
        let v = enc::decode_validity(raw, n).map_err(|e| self.decode_err(what, e))?;
        if n - v.count_ones() != b.null_count as usize {
            return Err(self.corrupt(format!("{what}: validity disagrees with the null count")));
        }
        Ok(Some(v))
    }

    /// Block `block` of column `col` for a reader of its NULLs only (`IS NULL`,
    /// `count(col)`): its validity, decoded, and the type's default value in
    /// every row, without reading the values.
    pub fn read_validity(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut ReadBuf,
    ) -> Result<()> {
        let cm = &self.meta.columns[col];
        let n = cm.blocks[block].rows as usize;
        let what = format!("column '{}' block {block}", cm.field.name);
        out.validity = self.block_validity(col, block, scratch, &what)?;
        out.fill_default(cm.field.data_type.physical(), n);
        Ok(())
    }

    /// The values of a joined block (its validity already in `out`): each
    /// valid row's head value, then `sep` and its tail value where that is not
    /// NULL (see [`ColumnStorage::Joined`]).
    fn join_block(
        &self,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut ReadBuf,
        (head, tail, sep): (u32, u32, u8),
        what: &str,
    ) -> Result<()> {
        let (mut h, mut t) = (ColumnBlock::default(), ColumnBlock::default());
        self.read_block(head as usize, block, &mut h, scratch)?;
        self.read_block(tail as usize, block, &mut t, scratch)?;
        let n = h.len();
        let mut strings = match std::mem::replace(&mut out.values, BlockValues::Int64(Vec::new())) {
            BlockValues::Utf8(mut v) => {
                v.clear();
                v
            }
            _ => StringVec::new(),
        };
        let stored = |b: &ColumnBlock| match &b.values {
            BlockValues::Utf8(v) => v.bytes().len(),
            BlockValues::Dict { dict, .. } => dict.bytes().len() / dict.len().max(1) * n,
            _ => 0,
        };
        strings.reserve(n, stored(&h) + stored(&t) + n);
        let valid = |i: usize| out.validity.as_ref().is_none_or(|v| v.get(i));
        for i in 0..n {
            if !valid(i) {
                strings.push("");
                continue;
            }
            let Some(head) = h.str_at(i) else {
                return Err(self.corrupt(format!(
                    "{what}: a joined value whose head (column {head}) is NULL"
                )));
            };
            strings.push_joined(head, sep, t.str_at(i));
        }
        out.values = BlockValues::Utf8(strings);
        if out.len() != self.meta.columns[head as usize].blocks[block].rows as usize {
            return Err(self.corrupt(format!("{what}: joined from blocks of another size")));
        }
        Ok(())
    }

    /// Reads whole columns (all blocks) as a [`Batch`](crate::column::Batch)-shaped
    /// vector of columns.
    pub fn read_columns(&self, cols: &[usize]) -> Result<Vec<Column>> {
        let mut out = Vec::with_capacity(cols.len());
        let mut block = ColumnBlock::default();
        let mut scratch = ReadBuf::default();
        for &c in cols {
            let field = &self.meta.columns[c].field;
            let mut data = ColumnData::empty(field.data_type.physical());
            let mut validity: Option<Bitmap> = None;
            let mut rows = 0usize;
            for b in 0..self.meta.columns[c].blocks.len() {
                self.read_block(c, b, &mut block, &mut scratch)?;
                block.append_to(&mut data, &mut validity, rows);
                rows += block.len();
            }
            out.push(Column { data, validity });
        }
        Ok(out)
    }
}
