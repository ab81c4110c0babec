//! The segment file's byte layout: magic, version, header and tail offsets, the
//! footer's metadata types (chunks, zone maps, blocks, columns, indexes) and the
//! footer codec. spec/format.md ("Segment files") is the contract; the constants
//! here are its offsets.

use crate::error::{Error, Result};
use crate::schema::{DataType, Field};
use crate::storage::wire::{WireError, WireReader, WireWriter};

/// The first bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"LOGDBSEG";
/// The last bytes of every segment file.
pub const SEGMENT_TAIL_MAGIC: [u8; 8] = *b"LOGDBEND";
/// The newest segment format version this build reads and writes (a segment
/// is written as [`PAGED_INT_KEYS`] unless it holds a joined column).
pub const SEGMENT_FORMAT_VERSION: u32 = 5;
/// The first version whose index directories are chunks of their own, read on first
/// use (version 1 holds them in the footer).
pub const SEPARATE_INDEX_DIRECTORIES: u32 = 2;
/// The first version whose dictionaries are stored in pages, each with its first
/// entry in the footer, so that finding a value decodes one page (versions 1 and
/// 2 store a dictionary as one chunk).
pub const PAGED_DICTIONARIES: u32 = 3;
/// The first version whose integer index keys are stored in pages next to the
/// bitmap pages, each page's first key in the directory, so that finding a value
/// decodes one page of keys (versions 1 to 3 list every key in the directory).
pub const PAGED_INT_KEYS: u32 = 4;
/// The first version with joined string columns ([`ColumnStorage::Joined`]); a
/// segment without one is written as version 4, which earlier builds read.
pub const JOINED_COLUMNS: u32 = 5;
/// A dictionary page is cut once its strings reach this many bytes.
pub const DICT_PAGE_BYTES: usize = 32 * 1024;

pub(super) const MAGIC_LEN: usize = 8;
/// Header: magic, format version (u32), reserved flags (u32, zero).
pub(super) const HEADER_VERSION_OFFSET: usize = MAGIC_LEN;
pub(super) const HEADER_FLAGS_OFFSET: usize = HEADER_VERSION_OFFSET + 4;
pub const HEADER_LEN: usize = HEADER_FLAGS_OFFSET + 4;
/// Tail, at the very end: footer length (u64), footer CRC-32 (u32), format version
/// (u32), tail magic.
pub(super) const TAIL_FOOTER_LEN_OFFSET: usize = 0;
pub(super) const TAIL_FOOTER_CRC_OFFSET: usize = TAIL_FOOTER_LEN_OFFSET + 8;
pub(super) const TAIL_VERSION_OFFSET: usize = TAIL_FOOTER_CRC_OFFSET + 4;
pub(super) const TAIL_MAGIC_OFFSET: usize = TAIL_VERSION_OFFSET + 4;
pub const TAIL_LEN: usize = TAIL_MAGIC_OFFSET + MAGIC_LEN;

/// Rows per block unless configured otherwise (a multiple of 2048).
pub const DEFAULT_BLOCK_ROWS: usize = 8192;
/// The largest block a segment may declare, so that a reader's per-block buffers are
/// bounded whatever a (checksum-valid but hand-made) footer says.
pub const MAX_BLOCK_ROWS: usize = 65536;

/// Checks a configured block size: a positive multiple of 2048, at most
/// [`MAX_BLOCK_ROWS`].
pub fn validate_block_rows(block_rows: usize) -> Result<()> {
    if block_rows == 0 || !block_rows.is_multiple_of(2048) || block_rows > MAX_BLOCK_ROWS {
        return Err(Error::InvalidInput(format!(
            "block size {block_rows} is not a multiple of 2048 between 2048 and {MAX_BLOCK_ROWS}"
        )));
    }
    Ok(())
}

/// A block's raw bytes may not exceed this, so a corrupt length cannot make a
/// decoder allocate without bound.
pub(super) const MAX_CHUNK_RAW: usize = 1 << 30;

/// Where a compressed piece of the file is, and its CRC-32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    pub offset: u64,
    pub len: u32,
    pub crc: u32,
}

impl Chunk {
    fn write(&self, w: &mut WireWriter) {
        w.u64(self.offset);
        w.u32(self.len);
        w.u32(self.crc);
    }
    fn read(r: &mut WireReader) -> Result<Chunk, WireError> {
        Ok(Chunk {
            offset: r.u64()?,
            len: r.u32()?,
            crc: r.u32()?,
        })
    }
}

/// Per-block minimum and maximum of the non-NULL values (the zone map).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stats {
    /// No non-NULL values, or no statistics for this encoding (plain strings).
    None,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool {
        min: bool,
        max: bool,
    },
    /// Dictionary codes; codes follow string order, so this bounds the strings.
    Code {
        min: u32,
        max: u32,
    },
    Ip {
        min: u128,
        max: u128,
    },
}

const STATS_NONE: u8 = 0;
const STATS_INT: u8 = 1;
const STATS_FLOAT: u8 = 2;
const STATS_BOOL: u8 = 3;
const STATS_CODE: u8 = 4;
const STATS_IP: u8 = 5;

impl Stats {
    fn write(&self, w: &mut WireWriter) {
        match *self {
            Stats::None => w.u8(STATS_NONE),
            Stats::Int { min, max } => {
                w.u8(STATS_INT);
                w.i64(min);
                w.i64(max);
            }
            Stats::Float { min, max } => {
                w.u8(STATS_FLOAT);
                w.f64(min);
                w.f64(max);
            }
            Stats::Bool { min, max } => {
                w.u8(STATS_BOOL);
                w.u8(min as u8);
                w.u8(max as u8);
            }
            Stats::Code { min, max } => {
                w.u8(STATS_CODE);
                w.u32(min);
                w.u32(max);
            }
            Stats::Ip { min, max } => {
                w.u8(STATS_IP);
                w.u128(min);
                w.u128(max);
            }
        }
    }

    fn read(r: &mut WireReader) -> Result<Stats, WireError> {
        Ok(match r.u8()? {
            STATS_NONE => Stats::None,
            STATS_INT => Stats::Int {
                min: r.i64()?,
                max: r.i64()?,
            },
            STATS_FLOAT => Stats::Float {
                min: r.f64()?,
                max: r.f64()?,
            },
            STATS_BOOL => Stats::Bool {
                min: r.u8()? != 0,
                max: r.u8()? != 0,
            },
            STATS_CODE => Stats::Code {
                min: r.u32()?,
                max: r.u32()?,
            },
            STATS_IP => Stats::Ip {
                min: r.u128()?,
                max: r.u128()?,
            },
            t => return Err(WireError(format!("unknown statistics tag {t}"))),
        })
    }
}

/// One block of one column.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockMeta {
    /// The segment row number of the block's first row.
    pub first_row: u64,
    pub rows: u32,
    pub null_count: u32,
    pub values: Chunk,
    /// The validity bitmap; absent when the block has no NULLs.
    pub validity: Option<Chunk>,
    pub stats: Stats,
    /// A block of a [`ColumnStorage::Joined`] column whose every value is the
    /// join of its head and tail columns' values: `values` is empty (no chunk).
    pub joined: bool,
}

/// How a column's values are stored.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnStorage {
    /// Values encoded by physical type.
    Values,
    /// Strings as codes into a sorted per-segment dictionary of `len` entries,
    /// stored in pages.
    Dictionary { pages: Vec<DictPage>, len: u32 },
    /// Strings stored whole (very high cardinality).
    Plain,
    /// Strings stored whole, except in the blocks where every value is column
    /// `head`'s value followed by `sep` and column `tail`'s value (or `head`'s
    /// alone where `tail` is NULL): those store no values, only their validity.
    /// An access log's request target is its path, `?` and its query string.
    /// `head` and `tail` are other string columns that are not joined.
    Joined { head: u32, tail: u32, sep: u8 },
}

/// One page of a dictionary: entries `first_code..` up to the next page's.
#[derive(Clone, Debug, PartialEq)]
pub struct DictPage {
    pub chunk: Chunk,
    pub first_code: u32,
    /// The page's first entry; `None` in a version 1 or 2 file, whose dictionary
    /// is one page.
    pub first: Option<Box<str>>,
}

const STORAGE_VALUES: u8 = 0;
const STORAGE_DICTIONARY: u8 = 1;
const STORAGE_PLAIN: u8 = 2;
const STORAGE_JOINED: u8 = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMeta {
    pub field: Field,
    pub storage: ColumnStorage,
    pub blocks: Vec<BlockMeta>,
}

/// The keys of a bitmap index: dictionary codes `0..n` for string columns, sorted
/// distinct values for integer and boolean columns.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexKeys {
    Codes(u32),
    /// Integer keys listed in the directory (versions 1 to 3).
    Ints(Vec<i64>),
    /// `n` integer keys stored in pages (version 4): each [`IndexPage`] holds the
    /// chunk of its keys and its first key's value, so the directory grows with the
    /// pages, not with the keys.
    Paged(u32),
}

const KEYS_CODES: u8 = 0;
const KEYS_INTS: u8 = 1;

impl IndexKeys {
    pub fn len(&self) -> usize {
        match self {
            IndexKeys::Codes(n) | IndexKeys::Paged(n) => *n as usize,
            IndexKeys::Ints(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A page of serialized bitmaps, compressed as one chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexPage {
    pub chunk: Chunk,
    /// The first key (position in the key list) whose bitmap is in this page.
    pub first_key: u32,
    /// The page's uncompressed length.
    pub raw_len: u32,
    /// Integer keys in pages (version 4): the chunk holding the page's keys (an
    /// integer block, see "Encodings"), and the first of them.
    pub keys: Option<KeyPage>,
}

/// Where the keys of one index page are, and the smallest of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPage {
    pub chunk: Chunk,
    pub first: i64,
}

/// A bitmap index as the footer lists it. Its directory (keys, counts, bitmap
/// offsets, pages) grows with the column's distinct values, so it is a chunk of its
/// own, decoded only when a query uses the index ([`Segment::index`]).
///
/// [`Segment::index`]: super::Segment::index
#[derive(Clone, Debug, PartialEq)]
pub struct IndexEntry {
    pub column: usize,
    /// Integer keys (integer and boolean columns); otherwise dictionary codes.
    pub int_keys: bool,
    pub key_count: u32,
    /// Where the directory is; `None` in a version 1 file, whose footer holds it.
    pub directory: Option<Chunk>,
}

/// The directory of one column's bitmap index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexMeta {
    pub column: usize,
    pub keys: IndexKeys,
    /// Rows holding each key: `count(*) ... GROUP BY column` without reading
    /// data. Decoded with the directory in versions 1 and 2; from `counts_chunk`
    /// on first use in version 3 ([`Segment::index_counts`]).
    ///
    /// [`Segment::index_counts`]: super::Segment::index_counts
    pub counts: std::sync::OnceLock<Vec<u32>>,
    /// Where the counts are (version 3).
    pub counts_chunk: Option<Chunk>,
    /// Where each key's bitmap starts in its page's raw bytes (versions 1 and 2);
    /// `None` in version 3, whose pages start with their keys' offsets.
    pub offsets: Option<Vec<u32>>,
    pub pages: Vec<IndexPage>,
}

impl IndexMeta {
    /// A version 1 or 2 directory: counts and bitmap offsets decoded with it.
    fn with_offsets(
        column: usize,
        keys: IndexKeys,
        counts: Vec<u32>,
        offsets: Vec<u32>,
        pages: Vec<IndexPage>,
    ) -> IndexMeta {
        IndexMeta {
            column,
            keys,
            counts: counts.into(),
            counts_chunk: None,
            offsets: Some(offsets),
            pages,
        }
    }

    /// An estimate of the memory the decoded directory holds.
    pub(super) fn memory_size(&self) -> usize {
        let per_key = match self.keys {
            IndexKeys::Ints(_) => 8,
            IndexKeys::Codes(_) | IndexKeys::Paged(_) => 0,
        } + self.offsets.as_ref().map_or(0, |_| 4)
            + self.counts.get().map_or(0, |_| 4);
        self.keys.len() * per_key + self.pages.len() * std::mem::size_of::<IndexPage>()
    }

    /// The page whose key range may hold `v` (version 4 integer keys): the last
    /// page whose first key is at most `v`; `None` when `v` is below every key.
    pub(super) fn page_for_value(&self, v: i64) -> Option<usize> {
        let p = self
            .pages
            .partition_point(|p| p.keys.is_some_and(|k| k.first <= v));
        p.checked_sub(1)
    }

    /// The page holding key `k`.
    pub(super) fn page_of(&self, k: usize) -> usize {
        self.pages
            .partition_point(|p| p.first_key as usize <= k)
            .saturating_sub(1)
    }

    /// The keys of page `p`: from its first key to the next page's.
    pub(super) fn page_keys(&self, p: usize) -> std::ops::Range<usize> {
        let end = (self.pages.get(p + 1)).map_or(self.keys.len(), |n| n.first_key as usize);
        self.pages[p].first_key as usize..end
    }

    /// The byte range of key `k`'s bitmap in `raw`, the raw bytes of its page `p`;
    /// `None` when the page's offsets are out of order or outside it.
    pub(super) fn bitmap_range(
        &self,
        p: usize,
        k: usize,
        raw: &[u8],
    ) -> Option<std::ops::Range<usize>> {
        let keys = self.page_keys(p);
        let end_of_page = (self.pages[p].raw_len as usize).min(raw.len());
        let (start, end) = match &self.offsets {
            Some(offsets) => {
                let start = *offsets.get(k)? as usize;
                let end = if k + 1 < keys.end {
                    *offsets.get(k + 1)? as usize
                } else {
                    end_of_page
                };
                (start, end)
            }
            None => {
                // Version 3: the page starts with one u32 offset per key.
                let header = 4 * keys.len();
                let at = |j: usize| -> Option<usize> {
                    let b = raw.get(4 * j..4 * j + 4)?;
                    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                };
                let j = k.checked_sub(keys.start)?;
                let start = at(j)?;
                let end = if k + 1 < keys.end {
                    at(j + 1)?
                } else {
                    end_of_page
                };
                if start < header {
                    return None;
                }
                (start, end)
            }
        };
        (start <= end && end <= end_of_page).then_some(start..end)
    }
}

/// Everything the footer says about a segment.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentMeta {
    pub segment_id: u64,
    pub rows: u64,
    /// Time range of the rows (inclusive); `i64::MAX..=i64::MIN` if there is no time
    /// column or no rows.
    pub min_ts: i64,
    pub max_ts: i64,
    pub block_rows: u32,
    pub time_column: Option<usize>,
    pub columns: Vec<ColumnMeta>,
    pub indexes: Vec<IndexEntry>,
}

/// The footer's tag of a column type.
fn type_tag(t: DataType) -> u8 {
    match t {
        // Never written: `TableSchema::validate` refuses list columns, and tag 0
        // reads back as an unknown tag.
        DataType::List(_) => 0,
        DataType::Decimal { .. } => TAG_DECIMAL,
        DataType::Timestamp => 1,
        DataType::BigInt => 2,
        DataType::Integer => 3,
        DataType::SmallInt => 4,
        DataType::Double => 5,
        DataType::Boolean => 6,
        DataType::Varchar => 7,
        DataType::Ip => 8,
        DataType::Date => 9,
        DataType::TinyInt => 12,
        DataType::UTinyInt => 13,
        DataType::USmallInt => 14,
        DataType::UInteger => 15,
        DataType::UBigInt => 16,
        DataType::HugeInt => 17,
        DataType::UHugeInt => 18,
        DataType::Time => 19,
        DataType::TimestampS => 20,
        DataType::TimestampMs => 21,
        DataType::TimestampNs => 22,
        DataType::TimestampTz => 23,
        DataType::Interval => TAG_INTERVAL,
    }
}

/// INTERVAL's tag (its values are 16 bytes, stored as IP addresses are).
const TAG_INTERVAL: u8 = 11;

/// DECIMAL's tag; its width and scale follow as two more bytes.
const TAG_DECIMAL: u8 = 10;

/// Writes a column type: its tag, and a DECIMAL's width and scale.
fn write_type(w: &mut WireWriter, t: DataType) {
    w.u8(type_tag(t));
    if let Some((precision, scale)) = t.decimal() {
        w.u8(precision);
        w.u8(scale);
    }
}

/// Reads what [`write_type`] wrote.
fn read_type(r: &mut WireReader<'_>) -> Result<DataType, WireError> {
    let tag = r.u8()?;
    if tag != TAG_DECIMAL {
        return type_from_tag(tag);
    }
    let (width, scale) = (r.u8()?, r.u8()?);
    crate::decimal::check_type(i64::from(width), i64::from(scale))
        .map(|(precision, scale)| DataType::Decimal { precision, scale })
        .map_err(|e| WireError(format!("column type: {e}")))
}

fn type_from_tag(t: u8) -> Result<DataType, WireError> {
    Ok(match t {
        1 => DataType::Timestamp,
        2 => DataType::BigInt,
        3 => DataType::Integer,
        4 => DataType::SmallInt,
        5 => DataType::Double,
        6 => DataType::Boolean,
        7 => DataType::Varchar,
        8 => DataType::Ip,
        9 => DataType::Date,
        12 => DataType::TinyInt,
        13 => DataType::UTinyInt,
        14 => DataType::USmallInt,
        15 => DataType::UInteger,
        16 => DataType::UBigInt,
        17 => DataType::HugeInt,
        18 => DataType::UHugeInt,
        19 => DataType::Time,
        20 => DataType::TimestampS,
        21 => DataType::TimestampMs,
        22 => DataType::TimestampNs,
        23 => DataType::TimestampTz,
        TAG_INTERVAL => DataType::Interval,
        _ => return Err(WireError(format!("unknown type tag {t}"))),
    })
}

/// The footer's bytes, before compression.
pub(super) fn encode_footer(m: &SegmentMeta) -> Vec<u8> {
    let mut w = WireWriter::new();
    w.u64(m.segment_id);
    w.u64(m.rows);
    w.i64(m.min_ts);
    w.i64(m.max_ts);
    w.u32(m.block_rows);
    w.u32(m.time_column.map_or(u32::MAX, |t| t as u32));
    w.u32(m.columns.len() as u32);
    for c in &m.columns {
        w.str(&c.field.name);
        write_type(&mut w, c.field.data_type);
        w.u8(c.field.nullable as u8);
        match &c.storage {
            ColumnStorage::Values => w.u8(STORAGE_VALUES),
            ColumnStorage::Dictionary { pages, len } => {
                w.u8(STORAGE_DICTIONARY);
                w.u32(*len);
                w.u32(pages.len() as u32);
                for p in pages {
                    p.chunk.write(&mut w);
                    w.u32(p.first_code);
                    w.str(p.first.as_deref().unwrap_or(""));
                }
            }
            ColumnStorage::Plain => w.u8(STORAGE_PLAIN),
            ColumnStorage::Joined { head, tail, sep } => {
                w.u8(STORAGE_JOINED);
                w.u32(*head);
                w.u32(*tail);
                w.u8(*sep);
            }
        }
        let joinable = matches!(c.storage, ColumnStorage::Joined { .. });
        w.u32(c.blocks.len() as u32);
        for b in &c.blocks {
            w.u32(b.rows);
            w.u32(b.null_count);
            if joinable {
                w.u8(b.joined as u8);
            }
            if !b.joined {
                b.values.write(&mut w);
            }
            match &b.validity {
                None => w.u8(0),
                Some(v) => {
                    w.u8(1);
                    v.write(&mut w);
                }
            }
            b.stats.write(&mut w);
        }
    }
    w.u32(m.indexes.len() as u32);
    for e in &m.indexes {
        w.u32(e.column as u32);
        w.u8(if e.int_keys { KEYS_INTS } else { KEYS_CODES });
        w.u32(e.key_count);
        e.directory.unwrap_or_default().write(&mut w);
    }
    w.buf
}

/// The bytes of an index directory (format version 4), before compression: the
/// pages, each with its key page when the keys are integers, then the counts'
/// chunk. Each key's bitmap offset is in its page and each integer key in its key
/// page; the counts are a chunk of their own, so that a lookup reads none of them
/// but the one page's.
pub(super) fn encode_index_directory(ix: &IndexMeta) -> Vec<u8> {
    let mut w = WireWriter::new();
    w.u32(ix.pages.len() as u32);
    for p in &ix.pages {
        p.chunk.write(&mut w);
        w.u32(p.first_key);
        w.u32(p.raw_len);
        if let IndexKeys::Paged(_) = ix.keys {
            let k = p.keys.unwrap_or(KeyPage {
                chunk: Chunk::default(),
                first: 0,
            });
            k.chunk.write(&mut w);
            w.i64(k.first);
        }
    }
    ix.counts_chunk.unwrap_or_default().write(&mut w);
    w.buf
}

/// Parses and checks a decompressed index directory of `entry` in a file of
/// format `version`; its chunks must lie between the header and `data_end`
/// (where the footer starts).
pub(super) fn decode_index_directory(
    buf: &[u8],
    entry: &IndexEntry,
    data_end: u64,
    version: u32,
) -> Result<IndexMeta, WireError> {
    let n = entry.key_count as usize;
    let mut r = WireReader::new(buf);
    let paged_keys = entry.int_keys && version >= PAGED_INT_KEYS;
    let keys = if paged_keys {
        IndexKeys::Paged(entry.key_count)
    } else if entry.int_keys {
        let v: Vec<i64> = r
            .take(n * 8)?
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        if v.windows(2).any(|w| w[0] >= w[1]) {
            return Err(WireError("index keys are not strictly increasing".into()));
        }
        IndexKeys::Ints(v)
    } else {
        IndexKeys::Codes(entry.key_count)
    };
    let u32s = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let ix = if version >= PAGED_DICTIONARIES {
        let pages = read_pages(&mut r, data_end, paged_keys)?;
        let counts_chunk = Chunk::read(&mut r)?;
        check_chunk(&counts_chunk, data_end)?;
        IndexMeta {
            column: entry.column,
            keys,
            counts: std::sync::OnceLock::new(),
            counts_chunk: Some(counts_chunk),
            offsets: None,
            pages,
        }
    } else {
        let counts = u32s(r.take(n * 4)?);
        let offsets = u32s(r.take(n * 4)?);
        let pages = read_pages(&mut r, data_end, false)?;
        IndexMeta::with_offsets(entry.column, keys, counts, offsets, pages)
    };
    r.finish()?;
    check_directory(&ix)?;
    Ok(ix)
}

/// Checks that a chunk lies between the header and `data_end`.
fn check_chunk(c: &Chunk, data_end: u64) -> Result<(), WireError> {
    if c.offset < HEADER_LEN as u64 || c.offset.saturating_add(c.len as u64) > data_end {
        return Err(WireError(format!(
            "chunk at {} of {} bytes lies outside the data region",
            c.offset, c.len
        )));
    }
    Ok(())
}

/// An index directory's page list; with `key_pages` (integer keys, version 4)
/// each page also names its key page and first key.
fn read_pages(
    r: &mut WireReader,
    data_end: u64,
    key_pages: bool,
) -> Result<Vec<IndexPage>, WireError> {
    let npages = r.count(if key_pages { 48 } else { 24 })?;
    let mut pages = Vec::with_capacity(npages);
    for _ in 0..npages {
        let chunk = Chunk::read(r)?;
        check_chunk(&chunk, data_end)?;
        let first_key = r.u32()?;
        let raw_len = r.u32()?;
        let keys = if key_pages {
            let chunk = Chunk::read(r)?;
            check_chunk(&chunk, data_end)?;
            Some(KeyPage {
                chunk,
                first: r.i64()?,
            })
        } else {
            None
        };
        pages.push(IndexPage {
            chunk,
            first_key,
            raw_len,
            keys,
        });
    }
    Ok(pages)
}

/// Pages must start at key 0 and increase, and every offset must lie in its page.
fn check_directory(ix: &IndexMeta) -> Result<(), WireError> {
    let (pages, nkeys) = (&ix.pages, ix.keys.len());
    if nkeys > 0 && pages.first().map(|p| p.first_key) != Some(0) {
        return Err(WireError(
            "index pages do not start at the first key".into(),
        ));
    }
    if pages.windows(2).any(|w| w[0].first_key >= w[1].first_key)
        || pages
            .last()
            .is_some_and(|p| p.first_key as usize >= nkeys.max(1))
    {
        return Err(WireError("index pages out of order".into()));
    }
    // Version 4: the pages' first keys increase (each key page is checked against
    // its first key, and the next page's, when it is read).
    let firsts = pages.iter().filter_map(|p| p.keys.map(|k| k.first));
    if firsts.clone().zip(firsts.skip(1)).any(|(a, b)| a >= b) {
        return Err(WireError("index key pages out of order".into()));
    }
    let Some(offsets) = &ix.offsets else {
        // Version 3: each page's offsets are checked when the page is read.
        return Ok(());
    };
    for (pi, p) in pages.iter().enumerate() {
        let end = pages.get(pi + 1).map_or(nkeys, |n| n.first_key as usize);
        let offs = &offsets[p.first_key as usize..end];
        if offs.windows(2).any(|w| w[0] > w[1]) || offs.last().is_some_and(|&o| o > p.raw_len) {
            return Err(WireError("index offsets out of order".into()));
        }
    }
    Ok(())
}

/// A decoded footer: the segment's metadata and, for a version 1 file, the index
/// directories it holds (one per entry of `meta.indexes`).
pub(super) struct Footer {
    pub meta: SegmentMeta,
    pub inline_directories: Vec<Option<IndexMeta>>,
}

/// Parses and checks decompressed footer bytes of a file of format `version`; every
/// chunk must lie between the header and `file_len` (where the footer starts).
pub(super) fn decode_footer(buf: &[u8], file_len: u64, version: u32) -> Result<Footer, WireError> {
    let mut r = WireReader::new(buf);
    let segment_id = r.u64()?;
    let rows = r.u64()?;
    let min_ts = r.i64()?;
    let max_ts = r.i64()?;
    let block_rows = r.u32()?;
    if block_rows == 0 || block_rows as usize > MAX_BLOCK_ROWS {
        return Err(WireError(format!(
            "block size {block_rows} is out of range"
        )));
    }
    let time_column = match r.u32()? {
        u32::MAX => None,
        t => Some(t as usize),
    };
    let check_chunk = |c: &Chunk| check_chunk(c, file_len);
    let ncols = r.count(8)?;
    let mut columns = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let name = r.str()?.to_string();
        let data_type = read_type(&mut r)?;
        let nullable = r.u8()? != 0;
        let storage = match r.u8()? {
            STORAGE_VALUES => ColumnStorage::Values,
            STORAGE_DICTIONARY => {
                let (pages, len) = if version >= PAGED_DICTIONARIES {
                    read_dict_pages(&mut r, &name, file_len)?
                } else {
                    let chunk = Chunk::read(&mut r)?;
                    check_chunk(&chunk)?;
                    let page = DictPage {
                        chunk,
                        first_code: 0,
                        first: None,
                    };
                    (vec![page], r.u32()?)
                };
                // Entries are distinct values of the rows, so a larger count is
                // corruption (and would size the decoder's buffers).
                if u64::from(len) > rows {
                    return Err(WireError(format!(
                        "dictionary of column '{name}' has {len} entries for {rows} rows"
                    )));
                }
                ColumnStorage::Dictionary { pages, len }
            }
            STORAGE_PLAIN => ColumnStorage::Plain,
            STORAGE_JOINED if version >= JOINED_COLUMNS => ColumnStorage::Joined {
                head: r.u32()?,
                tail: r.u32()?,
                sep: r.u8()?,
            },
            t => return Err(WireError(format!("unknown column storage tag {t}"))),
        };
        if storage != ColumnStorage::Values && data_type != DataType::Varchar {
            return Err(WireError(format!(
                "column '{name}' of type {data_type} has string storage"
            )));
        }
        let joinable = matches!(storage, ColumnStorage::Joined { .. });
        // The fewest bytes a block takes: a joined one has no values chunk.
        let nblocks = r.count(if joinable { 11 } else { 16 })?;
        let mut blocks = Vec::with_capacity(nblocks);
        let mut first_row = 0u64;
        for _ in 0..nblocks {
            let brows = r.u32()?;
            let null_count = r.u32()?;
            let joined = match joinable {
                false => false,
                true => match r.u8()? {
                    0 => false,
                    1 => true,
                    t => return Err(WireError(format!("bad joined flag {t}"))),
                },
            };
            let values = match joined {
                false => Chunk::read(&mut r)?,
                true => Chunk::default(),
            };
            if !joined {
                check_chunk(&values)?;
            }
            let validity = match r.u8()? {
                0 => None,
                1 => {
                    let c = Chunk::read(&mut r)?;
                    check_chunk(&c)?;
                    Some(c)
                }
                t => return Err(WireError(format!("bad validity flag {t}"))),
            };
            let stats = Stats::read(&mut r)?;
            if null_count > brows
                || brows == 0
                || brows > block_rows
                || (validity.is_none() && null_count > 0)
            {
                return Err(WireError(format!("inconsistent block of column '{name}'")));
            }
            blocks.push(BlockMeta {
                first_row,
                rows: brows,
                null_count,
                values,
                validity,
                stats,
                joined,
            });
            first_row += brows as u64;
        }
        if first_row != rows {
            return Err(WireError(format!(
                "column '{name}' has {first_row} rows in its blocks, the segment {rows}"
            )));
        }
        columns.push(ColumnMeta {
            field: Field {
                name,
                data_type,
                nullable,
            },
            storage,
            blocks,
        });
    }
    if time_column.is_some_and(|t| t >= columns.len()) {
        return Err(WireError("time column out of range".into()));
    }
    // Every column is cut into the same blocks: a block number means the same
    // rows in each (a joined block reads its head's and tail's).
    if let Some((first, rest)) = columns.split_first() {
        for c in rest {
            let same = c.blocks.len() == first.blocks.len()
                && c.blocks
                    .iter()
                    .zip(&first.blocks)
                    .all(|(a, b)| a.rows == b.rows);
            if !same {
                return Err(WireError(format!(
                    "column '{}' is cut into blocks unlike column '{}'",
                    c.field.name, first.field.name
                )));
            }
        }
    }
    for (i, c) in columns.iter().enumerate() {
        if let ColumnStorage::Joined { head, tail, sep } = c.storage {
            let part = |p: u32| {
                columns.get(p as usize).is_some_and(|m| {
                    p as usize != i
                        && m.field.data_type == DataType::Varchar
                        && !matches!(
                            m.storage,
                            ColumnStorage::Joined { .. } | ColumnStorage::Values
                        )
                })
            };
            if !part(head) || !part(tail) || head == tail || !sep.is_ascii() {
                return Err(WireError(format!(
                    "column '{}' is joined from columns {head} and {tail} by byte {sep}, which are not two other string columns and an ASCII separator",
                    c.field.name
                )));
            }
        }
    }
    let nidx = r.count(9)?;
    let mut indexes = Vec::with_capacity(nidx);
    let mut inline_directories = Vec::with_capacity(nidx);
    for _ in 0..nidx {
        let column = r.u32()? as usize;
        if column >= columns.len() {
            return Err(WireError(format!("index on column {column} out of range")));
        }
        let int_keys = match r.u8()? {
            KEYS_CODES => false,
            KEYS_INTS => true,
            t => return Err(WireError(format!("unknown index key tag {t}"))),
        };
        let key_count = r.u32()?;
        if let (false, ColumnStorage::Dictionary { len, .. }) = (int_keys, &columns[column].storage)
        {
            if key_count != *len {
                return Err(WireError("index and dictionary sizes differ".into()));
            }
        }
        // Keys are distinct values of the rows.
        if u64::from(key_count) > rows {
            return Err(WireError(format!(
                "index of column {column} has {key_count} keys for {rows} rows"
            )));
        }
        let mut entry = IndexEntry {
            column,
            int_keys,
            key_count,
            directory: None,
        };
        if version >= SEPARATE_INDEX_DIRECTORIES {
            let chunk = Chunk::read(&mut r)?;
            check_chunk(&chunk)?;
            entry.directory = Some(chunk);
            inline_directories.push(None);
        } else {
            inline_directories.push(Some(read_inline_directory(&mut r, &entry, file_len)?));
        }
        indexes.push(entry);
    }
    r.finish()?;
    let meta = SegmentMeta {
        segment_id,
        rows,
        min_ts,
        max_ts,
        block_rows,
        time_column,
        columns,
        indexes,
    };
    Ok(Footer {
        meta,
        inline_directories,
    })
}

/// A paged dictionary's entry count and pages (version 3): pages start at code 0
/// (when there are entries), their first codes and first entries strictly
/// increase, and every chunk lies in the data region.
fn read_dict_pages(
    r: &mut WireReader,
    name: &str,
    data_end: u64,
) -> Result<(Vec<DictPage>, u32), WireError> {
    let len = r.u32()?;
    let npages = r.count(24)?;
    let mut pages: Vec<DictPage> = Vec::with_capacity(npages);
    for _ in 0..npages {
        let chunk = Chunk::read(r)?;
        check_chunk(&chunk, data_end)?;
        let first_code = r.u32()?;
        let first: Box<str> = r.str()?.into();
        let in_order = match pages.last() {
            None => first_code == 0,
            Some(prev) => prev.first_code < first_code && prev.first.as_deref() < Some(&*first),
        };
        if !in_order || first_code >= len.max(1) {
            return Err(WireError(format!(
                "dictionary pages of column '{name}' out of order"
            )));
        }
        pages.push(DictPage {
            chunk,
            first_code,
            first: Some(first),
        });
    }
    if len > 0 && pages.is_empty() {
        return Err(WireError(format!(
            "dictionary of column '{name}' has entries but no pages"
        )));
    }
    Ok((pages, len))
}

/// A version 1 index directory, inside the footer: the keys (integer keys only),
/// (count, offset) pairs, then the pages.
fn read_inline_directory(
    r: &mut WireReader,
    entry: &IndexEntry,
    data_end: u64,
) -> Result<IndexMeta, WireError> {
    let nkeys = entry.key_count as usize;
    let keys = if entry.int_keys {
        if nkeys.saturating_mul(8) > r.remaining() {
            return Err(WireError("index key count exceeds the footer".into()));
        }
        let mut v = Vec::with_capacity(nkeys);
        for _ in 0..nkeys {
            v.push(r.i64()?);
        }
        if v.windows(2).any(|w| w[0] >= w[1]) {
            return Err(WireError("index keys are not strictly increasing".into()));
        }
        IndexKeys::Ints(v)
    } else {
        IndexKeys::Codes(entry.key_count)
    };
    if nkeys.saturating_mul(8) > r.remaining() {
        return Err(WireError("index key count exceeds the footer".into()));
    }
    let mut counts = Vec::with_capacity(nkeys);
    let mut offsets = Vec::with_capacity(nkeys);
    for _ in 0..nkeys {
        counts.push(r.u32()?);
        offsets.push(r.u32()?);
    }
    let pages = read_pages(r, data_end, false)?;
    let ix = IndexMeta::with_offsets(entry.column, keys, counts, offsets, pages);
    check_directory(&ix)?;
    Ok(ix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::BatchBuilder;
    use crate::schema::{Field, TableSchema};

    /// The footer of a segment of `rows` rows whose `target` column is its
    /// `path` and `query` joined.
    fn joined_footer(rows: usize) -> SegmentMeta {
        let schema = TableSchema::new(vec![
            Field::new("path", DataType::Varchar),
            Field::new("query", DataType::Varchar),
            Field::new("target", DataType::Varchar),
        ]);
        let mut b = BatchBuilder::new(&schema);
        for i in 0..rows {
            b.push_str(0, &format!("/p/{}", i % 10));
            b.push_str(1, &format!("id={i}"));
            b.push_str(2, &format!("/p/{}?id={i}", i % 10));
        }
        let seg = super::super::write_segment(&schema, &b.finish(), 1, 2048).unwrap();
        let len = seg.bytes.len();
        let flen = u64::from_le_bytes(seg.bytes[len - TAIL_LEN..][..8].try_into().unwrap());
        let stored = &seg.bytes[len - TAIL_LEN - flen as usize..len - TAIL_LEN];
        let mut scratch = Vec::new();
        let raw = crate::storage::encoding::decompress(stored, &mut scratch, 1 << 30).unwrap();
        decode_footer(raw, len as u64, JOINED_COLUMNS).unwrap().meta
    }

    fn decoded(m: &SegmentMeta) -> Result<Footer, WireError> {
        decode_footer(&encode_footer(m), u64::MAX, JOINED_COLUMNS)
    }

    /// A footer whose columns are cut into different blocks, or whose joined
    /// column names itself, a column that is not a string or another joined
    /// column, or a separator that is not ASCII, is refused.
    #[test]
    fn footers_with_misaligned_blocks_or_bad_joins_are_refused() {
        let m = joined_footer(5000);
        assert!(matches!(
            m.columns[2].storage,
            ColumnStorage::Joined {
                head: 0,
                tail: 1,
                sep: b'?'
            }
        ));
        assert!(decoded(&m).is_ok());
        let mut split = m.clone();
        let b = split.columns[1].blocks.pop().unwrap();
        let half = BlockMeta {
            rows: b.rows / 2,
            ..b.clone()
        };
        let rest = BlockMeta {
            rows: b.rows - b.rows / 2,
            first_row: b.first_row + u64::from(b.rows / 2),
            ..b
        };
        split.columns[1].blocks.extend([half, rest]);
        let err = decoded(&split).err().unwrap().0;
        assert!(err.contains("cut into blocks unlike"), "{err}");
        for (head, tail, sep) in [(2, 1, b'?'), (0, 0, b'?'), (0, 1, 0xC3), (0, 9, b'?')] {
            let mut bad = m.clone();
            bad.columns[2].storage = ColumnStorage::Joined { head, tail, sep };
            let err = decoded(&bad).err().unwrap().0;
            assert!(err.contains("is joined from"), "{err}");
        }
    }
}
