//! Segment files: an immutable, time-ordered slice of one partition, stored column by
//! column in blocks, with zone maps and bitmap indexes. The byte layout is specified
//! in spec/format.md ("Segment files"); the constants here are its offsets.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use roaring::RoaringBitmap;

use crate::column::{append_validity, Batch, Bitmap, Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::schema::{DataType, Field, PhysicalType, TableSchema};
use crate::storage::backend::{Backend, FileBytes};
use crate::storage::cache::ReadCaches;
use crate::storage::encoding::{self as enc, DecodeError};
use crate::storage::wire::{WireError, WireReader, WireWriter};

/// The first bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"LOGDBSEG";
/// The last bytes of every segment file.
pub const SEGMENT_TAIL_MAGIC: [u8; 8] = *b"LOGDBEND";
/// The segment format version this build writes and the newest it reads.
pub const SEGMENT_FORMAT_VERSION: u32 = 1;

const MAGIC_LEN: usize = 8;
/// Header: magic, format version (u32), reserved flags (u32, zero).
const HEADER_VERSION_OFFSET: usize = MAGIC_LEN;
const HEADER_FLAGS_OFFSET: usize = HEADER_VERSION_OFFSET + 4;
pub const HEADER_LEN: usize = HEADER_FLAGS_OFFSET + 4;
/// Tail, at the very end: footer length (u64), footer CRC-32 (u32), format version
/// (u32), tail magic.
const TAIL_FOOTER_LEN_OFFSET: usize = 0;
const TAIL_FOOTER_CRC_OFFSET: usize = TAIL_FOOTER_LEN_OFFSET + 8;
const TAIL_VERSION_OFFSET: usize = TAIL_FOOTER_CRC_OFFSET + 4;
const TAIL_MAGIC_OFFSET: usize = TAIL_VERSION_OFFSET + 4;
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
const MAX_CHUNK_RAW: usize = 1 << 30;
/// Serialized bitmaps are grouped into pages of about this many raw bytes, each
/// compressed on its own, so that a lookup decompresses one small page.
const INDEX_PAGE_BYTES: usize = 32 * 1024;
/// A string column whose distinct values exceed this fraction of its rows is stored
/// plain rather than with a dictionary (unless it is indexed).
const PLAIN_STRING_DISTINCT_RATIO: f64 = 0.5;

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
}

/// How a column's values are stored.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnStorage {
    /// Values encoded by physical type.
    Values,
    /// Strings as codes into a sorted per-segment dictionary.
    Dictionary { chunk: Chunk, len: u32 },
    /// Strings stored whole (very high cardinality).
    Plain,
}

const STORAGE_VALUES: u8 = 0;
const STORAGE_DICTIONARY: u8 = 1;
const STORAGE_PLAIN: u8 = 2;

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
    Ints(Vec<i64>),
}

const KEYS_CODES: u8 = 0;
const KEYS_INTS: u8 = 1;

impl IndexKeys {
    pub fn len(&self) -> usize {
        match self {
            IndexKeys::Codes(n) => *n as usize,
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
}

/// The bitmap index of one column.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexMeta {
    pub column: usize,
    pub keys: IndexKeys,
    /// Rows holding each key: `count(*) ... GROUP BY column` without reading data.
    pub counts: Vec<u32>,
    /// Where each key's bitmap starts in its page's raw bytes.
    pub offsets: Vec<u32>,
    pub pages: Vec<IndexPage>,
}

impl IndexMeta {
    /// The page holding key `k` and the bitmap's byte range in the raw page.
    fn locate(&self, k: usize) -> (usize, std::ops::Range<usize>) {
        let p = self.pages.partition_point(|p| p.first_key as usize <= k) - 1;
        let start = self.offsets[k] as usize;
        let next_in_page = self
            .pages
            .get(p + 1)
            .is_none_or(|np| np.first_key as usize > k + 1)
            && k + 1 < self.offsets.len();
        let end = if next_in_page {
            self.offsets[k + 1] as usize
        } else {
            self.pages[p].raw_len as usize
        };
        (p, start..end)
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
    pub indexes: Vec<IndexMeta>,
}

/// What writing a segment produced.
#[derive(Debug)]
pub struct EncodedSegment {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub footer_crc: u32,
}

fn push_chunk(out: &mut Vec<u8>, raw: &[u8], scratch: &mut Vec<u8>) -> Chunk {
    scratch.clear();
    enc::compress(raw, scratch);
    let chunk = Chunk {
        offset: out.len() as u64,
        len: scratch.len() as u32,
        crc: crc32fast::hash(scratch),
    };
    out.extend_from_slice(scratch);
    chunk
}

fn int_stats(v: &[i64], valid: Option<&Bitmap>) -> Stats {
    let mut it = v
        .iter()
        .enumerate()
        .filter(|(i, _)| valid.is_none_or(|b| b.get(*i)))
        .map(|(_, x)| *x);
    match it.next() {
        None => Stats::None,
        Some(first) => {
            let (min, max) = it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x)));
            Stats::Int { min, max }
        }
    }
}

fn block_stats(
    data: &ColumnData,
    codes: Option<&[u32]>,
    range: std::ops::Range<usize>,
    valid: Option<&Bitmap>,
) -> Stats {
    fn fold<T: Copy + PartialOrd>(v: &[T], valid: Option<&Bitmap>) -> Option<(T, T)> {
        let mut acc: Option<(T, T)> = None;
        for (i, &x) in v.iter().enumerate() {
            if valid.is_some_and(|b| !b.get(i)) || x.partial_cmp(&x).is_none() {
                continue;
            }
            acc = Some(match acc {
                None => (x, x),
                Some((lo, hi)) => (if x < lo { x } else { lo }, if x > hi { x } else { hi }),
            });
        }
        acc
    }
    if let Some(codes) = codes {
        return fold(&codes[range], valid)
            .map_or(Stats::None, |(min, max)| Stats::Code { min, max });
    }
    match data {
        ColumnData::Int64(v) => int_stats(&v[range], valid),
        ColumnData::Float64(v) => {
            fold(&v[range], valid).map_or(Stats::None, |(min, max)| Stats::Float { min, max })
        }
        ColumnData::Bool(v) => {
            fold(&v[range], valid).map_or(Stats::None, |(min, max)| Stats::Bool { min, max })
        }
        ColumnData::Ip(v) => {
            fold(&v[range], valid).map_or(Stats::None, |(min, max)| Stats::Ip { min, max })
        }
        ColumnData::Utf8(_) => Stats::None,
    }
}

/// A column's encoded chunks and metadata, before they are placed in the file.
struct EncodedColumn {
    /// The chunks' bytes back to back; chunk offsets are relative to this buffer.
    bytes: Vec<u8>,
    meta: ColumnMeta,
    /// The column's index, its `column` field not yet set.
    index: Option<IndexMeta>,
}

fn encode_column(
    field: &Field,
    column: &Column,
    indexed: bool,
    block_rows: usize,
) -> EncodedColumn {
    let rows = column.len();
    let mut bytes = Vec::new();
    let mut raw = Vec::new();
    let mut scratch = Vec::new();
    let valid = column.validity.as_ref();

    // Strings: a sorted dictionary unless the column is unindexed and nearly unique.
    let mut dict: Option<(StringVec, Vec<u32>)> = None;
    let mut storage = ColumnStorage::Values;
    if let ColumnData::Utf8(strings) = &column.data {
        let (mut d, codes) = enc::build_dictionary(strings, valid);
        if d.is_empty() && rows > 0 {
            // Every row is NULL, and NULL rows carry code 0: give that code an entry.
            d.push("");
        }
        let plain =
            !indexed && rows > 0 && d.len() as f64 > rows as f64 * PLAIN_STRING_DISTINCT_RATIO;
        if plain {
            storage = ColumnStorage::Plain;
        } else {
            raw.clear();
            enc::encode_dictionary(&d, &mut raw);
            let chunk = push_chunk(&mut bytes, &raw, &mut scratch);
            storage = ColumnStorage::Dictionary {
                chunk,
                len: d.len() as u32,
            };
            dict = Some((d, codes));
        }
    }
    let codes = dict.as_ref().map(|(_, c)| c.as_slice());

    let mut blocks = Vec::with_capacity(rows.div_ceil(block_rows.max(1)));
    let mut block_valid = Bitmap::default();
    let mut start = 0;
    while start < rows {
        let end = (start + block_rows).min(rows);
        let n = end - start;
        let bvalid = valid.map(|v| {
            block_valid.clear();
            block_valid.extend_from(v, start, n);
            &block_valid
        });
        let null_count = bvalid.map_or(0, |b| n - b.count_ones());
        raw.clear();
        match (&column.data, codes) {
            (_, Some(c)) => enc::encode_u32(&c[start..end], &mut raw),
            (ColumnData::Int64(v), None) => enc::encode_i64(&v[start..end], &mut raw),
            (ColumnData::Float64(v), None) => enc::encode_f64(&v[start..end], &mut raw),
            (ColumnData::Bool(v), None) => enc::encode_bool(&v[start..end], &mut raw),
            (ColumnData::Ip(v), None) => enc::encode_ip(&v[start..end], &mut raw),
            (ColumnData::Utf8(v), None) => enc::encode_strings(v, start..end, &mut raw),
        }
        let values = push_chunk(&mut bytes, &raw, &mut scratch);
        let validity = match bvalid {
            Some(b) if null_count > 0 => {
                raw.clear();
                enc::encode_validity(b, &mut raw);
                Some(push_chunk(&mut bytes, &raw, &mut scratch))
            }
            _ => None,
        };
        let stats = if storage == ColumnStorage::Plain {
            Stats::None
        } else {
            block_stats(&column.data, codes, start..end, bvalid)
        };
        blocks.push(BlockMeta {
            first_row: start as u64,
            rows: n as u32,
            null_count: null_count as u32,
            values,
            validity,
            stats,
        });
        start = end;
    }

    let index = indexed.then(|| {
        build_index(
            column,
            codes,
            dict.as_ref().map(|(d, _)| d.len()),
            &mut bytes,
            &mut scratch,
        )
    });
    EncodedColumn {
        bytes,
        meta: ColumnMeta {
            field: field.clone(),
            storage,
            blocks,
        },
        index,
    }
}

/// Builds one roaring bitmap per distinct value and lays them out in pages.
fn build_index(
    column: &Column,
    codes: Option<&[u32]>,
    dict_len: Option<usize>,
    bytes: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> IndexMeta {
    let valid = column.validity.as_ref();
    let is_valid = |i: usize| valid.is_none_or(|v| v.get(i));
    let (keys, bitmaps): (IndexKeys, Vec<RoaringBitmap>) = match (codes, dict_len, &column.data) {
        (Some(codes), Some(n), _) => {
            let mut maps = vec![RoaringBitmap::new(); n];
            for (row, &c) in codes.iter().enumerate() {
                if is_valid(row) {
                    let _ = maps[c as usize].try_push(row as u32);
                }
            }
            (IndexKeys::Codes(n as u32), maps)
        }
        (_, _, data) => {
            let ints: Vec<i64> = match data {
                ColumnData::Int64(v) => v.clone(),
                ColumnData::Bool(v) => v.iter().map(|&b| b as i64).collect(),
                _ => Vec::new(),
            };
            let mut distinct: Vec<i64> = ints
                .iter()
                .enumerate()
                .filter(|(i, _)| is_valid(*i))
                .map(|(_, &v)| v)
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            let mut maps = vec![RoaringBitmap::new(); distinct.len()];
            for (row, v) in ints.iter().enumerate() {
                if is_valid(row) {
                    if let Ok(k) = distinct.binary_search(v) {
                        let _ = maps[k].try_push(row as u32);
                    }
                }
            }
            (IndexKeys::Ints(distinct), maps)
        }
    };
    let counts = bitmaps.iter().map(|b| b.len() as u32).collect();
    let mut offsets = Vec::with_capacity(bitmaps.len());
    let mut pages = Vec::new();
    let mut page = Vec::new();
    let mut first_key = 0u32;
    for (k, bm) in bitmaps.iter().enumerate() {
        if !page.is_empty() && page.len() >= INDEX_PAGE_BYTES {
            let chunk = push_chunk(bytes, &page, scratch);
            pages.push(IndexPage {
                chunk,
                first_key,
                raw_len: page.len() as u32,
            });
            page.clear();
            first_key = k as u32;
        }
        offsets.push(page.len() as u32);
        // Writing into a Vec cannot fail.
        let _ = bm.serialize_into(&mut page);
    }
    if !bitmaps.is_empty() {
        let chunk = push_chunk(bytes, &page, scratch);
        pages.push(IndexPage {
            chunk,
            first_key,
            raw_len: page.len() as u32,
        });
    }
    IndexMeta {
        column: 0,
        keys,
        counts,
        offsets,
        pages,
    }
}

/// Encodes `batch` as a segment file. Rows are sorted by the schema's time column
/// first (stable) when they are not already in order.
pub fn write_segment(
    schema: &TableSchema,
    batch: &Batch,
    segment_id: u64,
    block_rows: usize,
) -> Result<EncodedSegment> {
    validate_block_rows(block_rows)?;
    let rows = batch.num_rows();
    let time_column = schema.time_index();
    let sorted;
    let batch = match time_column.map(|t| &batch.columns[t].data) {
        Some(ColumnData::Int64(ts)) if ts.windows(2).any(|w| w[0] > w[1]) => {
            let mut perm: Vec<u32> = (0..rows as u32).collect();
            perm.sort_by_key(|&i| ts[i as usize]);
            sorted = batch.take(&perm);
            &sorted
        }
        _ => batch,
    };
    let (min_ts, max_ts) = match time_column.map(|t| &batch.columns[t].data) {
        Some(ColumnData::Int64(ts)) if !ts.is_empty() => (ts[0], ts[ts.len() - 1]),
        _ => (i64::MAX, i64::MIN),
    };

    // Columns are independent: encode them on all cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(schema.fields.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut encoded: Vec<Option<EncodedColumn>> = (0..schema.fields.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= schema.fields.len() {
                            break done;
                        }
                        done.push((
                            i,
                            encode_column(
                                &schema.fields[i],
                                &batch.columns[i],
                                schema.is_indexed(i),
                                block_rows,
                            ),
                        ));
                    }
                })
            })
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                for (i, c) in done {
                    encoded[i] = Some(c);
                }
            }
        }
    });

    let mut out = Vec::with_capacity(
        encoded
            .iter()
            .flatten()
            .map(|c| c.bytes.len())
            .sum::<usize>()
            + 4096,
    );
    out.extend_from_slice(&SEGMENT_MAGIC);
    out.extend_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut columns = Vec::with_capacity(encoded.len());
    let mut indexes = Vec::new();
    for (i, col) in encoded.into_iter().enumerate() {
        let col = col.ok_or_else(|| Error::Internal(format!("encoding column {i} failed")))?;
        let base = out.len() as u64;
        out.extend_from_slice(&col.bytes);
        let shift = |c: &mut Chunk| c.offset += base;
        let mut meta = col.meta;
        if let ColumnStorage::Dictionary { chunk, .. } = &mut meta.storage {
            shift(chunk);
        }
        for b in &mut meta.blocks {
            shift(&mut b.values);
            if let Some(v) = &mut b.validity {
                shift(v);
            }
        }
        if let Some(mut ix) = col.index {
            for p in &mut ix.pages {
                shift(&mut p.chunk);
            }
            ix.column = i;
            indexes.push(ix);
        }
        columns.push(meta);
    }
    let meta = SegmentMeta {
        segment_id,
        rows: rows as u64,
        min_ts,
        max_ts,
        block_rows: block_rows as u32,
        time_column,
        columns,
        indexes,
    };
    let mut footer = Vec::new();
    enc::compress(&encode_footer(&meta), &mut footer);
    let footer_crc = crc32fast::hash(&footer);
    out.extend_from_slice(&footer);
    out.extend_from_slice(&(footer.len() as u64).to_le_bytes());
    out.extend_from_slice(&footer_crc.to_le_bytes());
    out.extend_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&SEGMENT_TAIL_MAGIC);
    Ok(EncodedSegment {
        bytes: out,
        rows: rows as u64,
        min_ts,
        max_ts,
        footer_crc,
    })
}

fn type_tag(t: DataType) -> u8 {
    match t {
        DataType::Timestamp => 1,
        DataType::BigInt => 2,
        DataType::Integer => 3,
        DataType::SmallInt => 4,
        DataType::Double => 5,
        DataType::Boolean => 6,
        DataType::Varchar => 7,
        DataType::Ip => 8,
    }
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
        _ => return Err(WireError(format!("unknown type tag {t}"))),
    })
}

fn encode_footer(m: &SegmentMeta) -> Vec<u8> {
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
        w.u8(type_tag(c.field.data_type));
        w.u8(c.field.nullable as u8);
        match &c.storage {
            ColumnStorage::Values => w.u8(STORAGE_VALUES),
            ColumnStorage::Dictionary { chunk, len } => {
                w.u8(STORAGE_DICTIONARY);
                chunk.write(&mut w);
                w.u32(*len);
            }
            ColumnStorage::Plain => w.u8(STORAGE_PLAIN),
        }
        w.u32(c.blocks.len() as u32);
        for b in &c.blocks {
            w.u32(b.rows);
            w.u32(b.null_count);
            b.values.write(&mut w);
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
    for ix in &m.indexes {
        w.u32(ix.column as u32);
        match &ix.keys {
            IndexKeys::Codes(n) => {
                w.u8(KEYS_CODES);
                w.u32(*n);
            }
            IndexKeys::Ints(v) => {
                w.u8(KEYS_INTS);
                w.u32(v.len() as u32);
                for &x in v {
                    w.i64(x);
                }
            }
        }
        for (&c, &o) in ix.counts.iter().zip(&ix.offsets) {
            w.u32(c);
            w.u32(o);
        }
        w.u32(ix.pages.len() as u32);
        for p in &ix.pages {
            p.chunk.write(&mut w);
            w.u32(p.first_key);
            w.u32(p.raw_len);
        }
    }
    w.buf
}

fn decode_footer(buf: &[u8], file_len: u64) -> Result<SegmentMeta, WireError> {
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
    let check_chunk = |c: &Chunk| -> Result<(), WireError> {
        if c.offset < HEADER_LEN as u64 || c.offset.saturating_add(c.len as u64) > file_len {
            return Err(WireError(format!(
                "chunk at {} of {} bytes lies outside the data region",
                c.offset, c.len
            )));
        }
        Ok(())
    };
    let ncols = r.count(8)?;
    let mut columns = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let name = r.str()?.to_string();
        let data_type = type_from_tag(r.u8()?)?;
        let nullable = r.u8()? != 0;
        let storage = match r.u8()? {
            STORAGE_VALUES => ColumnStorage::Values,
            STORAGE_DICTIONARY => {
                let chunk = Chunk::read(&mut r)?;
                check_chunk(&chunk)?;
                let len = r.u32()?;
                // Entries are distinct values of the rows, so a larger count is
                // corruption (and would size the decoder's buffers).
                if u64::from(len) > rows {
                    return Err(WireError(format!(
                        "dictionary of column '{name}' has {len} entries for {rows} rows"
                    )));
                }
                ColumnStorage::Dictionary { chunk, len }
            }
            STORAGE_PLAIN => ColumnStorage::Plain,
            t => return Err(WireError(format!("unknown column storage tag {t}"))),
        };
        if storage != ColumnStorage::Values && data_type != DataType::Varchar {
            return Err(WireError(format!(
                "column '{name}' of type {data_type} has string storage"
            )));
        }
        let nblocks = r.count(16)?;
        let mut blocks = Vec::with_capacity(nblocks);
        let mut first_row = 0u64;
        for _ in 0..nblocks {
            let brows = r.u32()?;
            let null_count = r.u32()?;
            let values = Chunk::read(&mut r)?;
            check_chunk(&values)?;
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
    let nidx = r.count(9)?;
    let mut indexes = Vec::with_capacity(nidx);
    for _ in 0..nidx {
        let column = r.u32()? as usize;
        if column >= columns.len() {
            return Err(WireError(format!("index on column {column} out of range")));
        }
        let keys = match r.u8()? {
            KEYS_CODES => IndexKeys::Codes(r.u32()?),
            KEYS_INTS => {
                let n = r.count(8)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(r.i64()?);
                }
                if v.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(WireError("index keys are not strictly increasing".into()));
                }
                IndexKeys::Ints(v)
            }
            t => return Err(WireError(format!("unknown index key tag {t}"))),
        };
        if let (IndexKeys::Codes(n), ColumnStorage::Dictionary { len, .. }) =
            (&keys, &columns[column].storage)
        {
            if n != len {
                return Err(WireError("index and dictionary sizes differ".into()));
            }
        }
        let nkeys = keys.len();
        if nkeys.saturating_mul(8) > r.remaining() {
            return Err(WireError("index key count exceeds the footer".into()));
        }
        let mut counts = Vec::with_capacity(nkeys);
        let mut offsets = Vec::with_capacity(nkeys);
        for _ in 0..nkeys {
            counts.push(r.u32()?);
            offsets.push(r.u32()?);
        }
        let npages = r.count(24)?;
        let mut pages = Vec::with_capacity(npages);
        for _ in 0..npages {
            let chunk = Chunk::read(&mut r)?;
            check_chunk(&chunk)?;
            pages.push(IndexPage {
                chunk,
                first_key: r.u32()?,
                raw_len: r.u32()?,
            });
        }
        // Pages must start at key 0, increase, and every offset must lie in its page.
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
        for (pi, p) in pages.iter().enumerate() {
            let end = pages.get(pi + 1).map_or(nkeys, |n| n.first_key as usize);
            let offs = &offsets[p.first_key as usize..end];
            if offs.windows(2).any(|w| w[0] > w[1]) || offs.last().is_some_and(|&o| o > p.raw_len) {
                return Err(WireError("index offsets out of order".into()));
            }
        }
        indexes.push(IndexMeta {
            column,
            keys,
            counts,
            offsets,
            pages,
        });
    }
    r.finish()?;
    Ok(SegmentMeta {
        segment_id,
        rows,
        min_ts,
        max_ts,
        block_rows,
        time_column,
        columns,
        indexes,
    })
}

/// Decoded values of one block, reused across reads to avoid allocation.
#[derive(Clone, Debug)]
pub enum BlockValues {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Bool(Vec<bool>),
    Ip(Vec<u128>),
    Utf8(StringVec),
    /// Dictionary codes and the segment's dictionary.
    Dict {
        codes: Vec<u32>,
        dict: Arc<StringVec>,
    },
}

/// A decoded block: values plus validity (`None` = no NULLs in the block).
#[derive(Clone, Debug)]
pub struct ColumnBlock {
    pub values: BlockValues,
    pub validity: Option<Bitmap>,
}

impl Default for ColumnBlock {
    fn default() -> Self {
        ColumnBlock {
            values: BlockValues::Int64(Vec::new()),
            validity: None,
        }
    }
}

impl ColumnBlock {
    /// The bytes this block's buffers hold (a dictionary is shared, not counted).
    pub fn memory_size(&self) -> usize {
        let values = match &self.values {
            BlockValues::Int64(v) => v.len() * 8,
            BlockValues::Float64(v) => v.len() * 8,
            BlockValues::Bool(v) => v.len(),
            BlockValues::Ip(v) => v.len() * 16,
            BlockValues::Utf8(v) => v.bytes().len() + v.offsets().len() * 4,
            BlockValues::Dict { codes, .. } => codes.len() * 4,
        };
        values + self.validity.as_ref().map_or(0, |v| v.words().len() * 8)
    }

    /// A copy whose dictionary (if any) is replaced by an empty one.
    fn without_dictionary(&self) -> ColumnBlock {
        let values = match &self.values {
            BlockValues::Dict { codes, .. } => BlockValues::Dict {
                codes: codes.clone(),
                dict: Arc::new(StringVec::new()),
            },
            v => v.clone(),
        };
        ColumnBlock {
            values,
            validity: self.validity.clone(),
        }
    }

    /// Makes `self` a copy of `src`, reusing its buffers; a dictionary block takes
    /// `dict` as its dictionary.
    fn copy_from(&mut self, src: &ColumnBlock, dict: Option<Arc<StringVec>>) {
        macro_rules! copy_vec {
            ($variant:ident, $v:expr) => {
                match &mut self.values {
                    BlockValues::$variant(o) => {
                        o.clear();
                        o.extend_from_slice($v);
                    }
                    o => *o = BlockValues::$variant($v.to_vec()),
                }
            };
        }
        match &src.values {
            BlockValues::Int64(v) => copy_vec!(Int64, v),
            BlockValues::Float64(v) => copy_vec!(Float64, v),
            BlockValues::Bool(v) => copy_vec!(Bool, v),
            BlockValues::Ip(v) => copy_vec!(Ip, v),
            BlockValues::Utf8(v) => self.values = BlockValues::Utf8(v.clone()),
            BlockValues::Dict { codes, dict: d } => {
                let dict = dict.unwrap_or_else(|| d.clone());
                let mut out =
                    match std::mem::replace(&mut self.values, BlockValues::Int64(Vec::new())) {
                        BlockValues::Dict { codes, .. } => codes,
                        _ => Vec::new(),
                    };
                out.clear();
                out.extend_from_slice(codes);
                self.values = BlockValues::Dict { codes: out, dict };
            }
        }
        self.validity.clone_from(&src.validity);
    }

    pub fn len(&self) -> usize {
        match &self.values {
            BlockValues::Int64(v) => v.len(),
            BlockValues::Float64(v) => v.len(),
            BlockValues::Bool(v) => v.len(),
            BlockValues::Ip(v) => v.len(),
            BlockValues::Utf8(v) => v.len(),
            BlockValues::Dict { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the block to `data`/`validity` that already hold `rows` rows,
    /// materializing dictionary strings once.
    pub fn append_to(&self, data: &mut ColumnData, validity: &mut Option<Bitmap>, rows: usize) {
        match (&mut *data, &self.values) {
            (ColumnData::Int64(a), BlockValues::Int64(b)) => a.extend_from_slice(b),
            (ColumnData::Float64(a), BlockValues::Float64(b)) => a.extend_from_slice(b),
            (ColumnData::Bool(a), BlockValues::Bool(b)) => a.extend_from_slice(b),
            (ColumnData::Ip(a), BlockValues::Ip(b)) => a.extend_from_slice(b),
            (ColumnData::Utf8(a), BlockValues::Utf8(b)) => {
                for s in b.iter() {
                    a.push(s);
                }
            }
            (ColumnData::Utf8(a), BlockValues::Dict { codes, dict }) => {
                for &c in codes {
                    // Codes under NULLs may point past an empty dictionary.
                    a.push(if (c as usize) < dict.len() {
                        dict.get(c as usize)
                    } else {
                        ""
                    });
                }
            }
            (a, _) => panic!(
                "ColumnBlock::append_to: block does not match a {:?} column",
                a.physical()
            ),
        }
        append_validity(validity, rows, self.len(), self.validity.as_ref());
    }

    /// The block as a [`Column`], materializing dictionary strings.
    pub fn to_column(&self) -> Column {
        let data = match &self.values {
            BlockValues::Int64(v) => ColumnData::Int64(v.clone()),
            BlockValues::Float64(v) => ColumnData::Float64(v.clone()),
            BlockValues::Bool(v) => ColumnData::Bool(v.clone()),
            BlockValues::Ip(v) => ColumnData::Ip(v.clone()),
            BlockValues::Utf8(v) => ColumnData::Utf8(v.clone()),
            BlockValues::Dict { codes, dict } => {
                let mut s = StringVec::with_capacity(codes.len(), codes.len() * 16);
                for &c in codes {
                    // Codes under NULLs may point past an empty dictionary.
                    s.push(if (c as usize) < dict.len() {
                        dict.get(c as usize)
                    } else {
                        ""
                    });
                }
                ColumnData::Utf8(s)
            }
        };
        Column {
            data,
            validity: self.validity.clone(),
        }
    }
}

/// An open segment file: its bytes (a memory map) and parsed footer.
#[derive(Debug)]
pub struct Segment {
    path: String,
    display: PathBuf,
    bytes: FileBytes,
    meta: SegmentMeta,
    footer_crc: u32,
    /// Decompressed footer length: what the parsed metadata costs in memory, roughly.
    footer_len: usize,
    dicts: Vec<OnceLock<Arc<StringVec>>>,
    /// The database's point-read caches and this segment's id in them, once a
    /// database attached them (a segment opened on its own caches nothing).
    read_caches: OnceLock<(u64, Arc<ReadCaches>)>,
}

/// Decompressed chunk bytes: borrowed from a caller's scratch buffer or shared with
/// the chunk cache.
enum Raw<'a> {
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
    /// Opens a segment: checks magic, version, footer checksum and structure.
    pub fn open(backend: &dyn Backend, path: &str) -> Result<Segment> {
        let bytes = backend.read(path)?;
        Segment::from_bytes(path, backend.display_path(path), bytes)
    }

    /// Parses a segment from its bytes; `display` names it in errors.
    pub fn from_bytes(path: &str, display: PathBuf, bytes: FileBytes) -> Result<Segment> {
        let corrupt = |d: String| Error::corrupt(display.clone(), d);
        let len = bytes.len();
        if len < HEADER_LEN + TAIL_LEN {
            return Err(corrupt(format!(
                "segment file is {len} bytes, shorter than its header and tail (truncated?)"
            )));
        }
        if bytes[..MAGIC_LEN] != SEGMENT_MAGIC {
            return Err(corrupt("not a logdb segment file (bad magic)".into()));
        }
        let u32_at =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let version = u32_at(HEADER_VERSION_OFFSET);
        if version > SEGMENT_FORMAT_VERSION || version == 0 {
            return Err(Error::IncompatibleVersion {
                path: display,
                found: version,
                supported: SEGMENT_FORMAT_VERSION,
            });
        }
        if u32_at(HEADER_FLAGS_OFFSET) != 0 {
            return Err(corrupt("unknown header flags".into()));
        }
        let tail = len - TAIL_LEN;
        if bytes[tail + TAIL_MAGIC_OFFSET..] != SEGMENT_TAIL_MAGIC {
            return Err(corrupt(
                "missing tail magic (truncated or overwritten file)".into(),
            ));
        }
        if u32_at(tail + TAIL_VERSION_OFFSET) != version {
            return Err(corrupt("header and tail versions differ".into()));
        }
        let mut flen = [0u8; 8];
        flen.copy_from_slice(
            &bytes[tail + TAIL_FOOTER_LEN_OFFSET..tail + TAIL_FOOTER_LEN_OFFSET + 8],
        );
        let footer_len = u64::from_le_bytes(flen);
        if footer_len > (tail - HEADER_LEN) as u64 {
            return Err(corrupt(format!(
                "footer length {footer_len} exceeds the file"
            )));
        }
        let footer_start = tail - footer_len as usize;
        let footer = &bytes[footer_start..tail];
        let footer_crc = u32_at(tail + TAIL_FOOTER_CRC_OFFSET);
        if crc32fast::hash(footer) != footer_crc {
            return Err(corrupt("footer checksum mismatch".into()));
        }
        let mut scratch = Vec::new();
        let raw = enc::decompress(footer, &mut scratch, MAX_CHUNK_RAW)
            .map_err(|e| corrupt(format!("footer: {e}")))?;
        let footer_len = raw.len();
        let meta = decode_footer(raw, footer_start as u64)
            .map_err(|e| corrupt(format!("footer: {}", e.0)))?;
        let dicts = (0..meta.columns.len()).map(|_| OnceLock::new()).collect();
        Ok(Segment {
            path: path.to_string(),
            display,
            bytes,
            meta,
            footer_crc,
            footer_len,
            dicts,
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

    /// An estimate of the memory this open segment holds: parsed footer metadata and
    /// decoded dictionaries (the mapped file itself is page cache, not counted).
    pub fn memory_size(&self) -> usize {
        let dicts: usize = self
            .dicts
            .iter()
            .filter_map(|d| d.get())
            .map(|d| d.bytes().len() + d.offsets().len() * 4)
            .sum();
        2 * self.footer_len + dicts + std::mem::size_of::<Segment>()
    }

    pub fn footer_crc(&self) -> u32 {
        self.footer_crc
    }

    pub fn num_rows(&self) -> u64 {
        self.meta.rows
    }

    pub fn file_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.meta.columns.iter().position(|c| c.field.name == name)
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(self.display.clone(), detail)
    }

    fn decode_err(&self, what: &str, e: DecodeError) -> Error {
        self.corrupt(format!("{what}: {}", e.0))
    }

    /// The verified, decompressed bytes of a chunk.
    fn chunk<'a>(&'a self, c: &Chunk, scratch: &'a mut Vec<u8>, what: &str) -> Result<&'a [u8]> {
        let start = c.offset as usize;
        let src = self
            .bytes
            .get(start..start + c.len as usize)
            .ok_or_else(|| self.corrupt(format!("{what}: chunk outside the file")))?;
        if crc32fast::hash(src) != c.crc {
            return Err(self.corrupt(format!("{what}: checksum mismatch at offset {start}")));
        }
        enc::decompress(src, scratch, MAX_CHUNK_RAW).map_err(|e| self.decode_err(what, e))
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
    fn cached_chunk<'a>(
        &'a self,
        c: &Chunk,
        scratch: &'a mut Vec<u8>,
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

    /// The sorted dictionary of a dictionary-encoded column (decoded once, then cached).
    pub fn dictionary(&self, col: usize) -> Result<Option<Arc<StringVec>>> {
        let ColumnStorage::Dictionary { chunk, len } = &self.meta.columns[col].storage else {
            return Ok(None);
        };
        if let Some(d) = self.dicts[col].get() {
            return Ok(Some(d.clone()));
        }
        let name = &self.meta.columns[col].field.name;
        let what = format!("dictionary of column '{name}'");
        let mut scratch = Vec::new();
        let raw = self.chunk(chunk, &mut scratch, &what)?;
        let dict =
            enc::decode_dictionary(raw, *len as usize).map_err(|e| self.decode_err(&what, e))?;
        Ok(Some(self.dicts[col].get_or_init(|| Arc::new(dict)).clone()))
    }

    /// [`Segment::read_block`] for a block read for a few rows only (index
    /// candidates): the decoded block is kept in the database's block cache, so
    /// repeated point lookups neither decompress nor decode it again. Full scans use
    /// `read_block`, which leaves the cache alone.
    pub fn read_block_sparse(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        let Some((id, caches)) = self.read_caches.get() else {
            return self.read_block(col, block, out, scratch);
        };
        let key = (*id, (col as u64) << 32 | block as u64);
        if let Some(cached) = caches.blocks.get(key) {
            let dict = match cached.values {
                BlockValues::Dict { .. } => self.dictionary(col)?,
                _ => None,
            };
            out.copy_from(&cached, dict);
            return Ok(());
        }
        self.read_block(col, block, out, scratch)?;
        // Dictionaries stay with the segment (and its cache budget): the cached block
        // holds codes only and gets the dictionary back when it is copied out.
        caches
            .blocks
            .insert(key, Arc::new(out.without_dictionary()));
        Ok(())
    }

    /// Decodes block `block` of column `col` into `out`, reusing its buffers.
    pub fn read_block(
        &self,
        col: usize,
        block: usize,
        out: &mut ColumnBlock,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        let cm = &self.meta.columns[col];
        let b = &cm.blocks[block];
        let n = b.rows as usize;
        let what = format!("column '{}' block {block}", cm.field.name);
        out.validity = match &b.validity {
            None => None,
            Some(c) => {
                let raw = self.chunk(c, scratch, &what)?;
                let v = enc::decode_validity(raw, n).map_err(|e| self.decode_err(&what, e))?;
                if n - v.count_ones() != b.null_count as usize {
                    return Err(
                        self.corrupt(format!("{what}: validity disagrees with the null count"))
                    );
                }
                Some(v)
            }
        };
        let raw = self.chunk(&b.values, scratch, &what)?;
        let res = match (&cm.storage, cm.field.data_type.physical()) {
            (ColumnStorage::Dictionary { len, .. }, _) => {
                let dict = self
                    .dictionary(col)?
                    .ok_or_else(|| Error::Internal("dictionary vanished".into()))?;
                let mut codes =
                    match std::mem::replace(&mut out.values, BlockValues::Int64(Vec::new())) {
                        BlockValues::Dict { codes, .. } => codes,
                        _ => Vec::new(),
                    };
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
                out.values = BlockValues::Dict { codes, dict };
                r
            }
            (ColumnStorage::Plain, _) => {
                if !matches!(out.values, BlockValues::Utf8(_)) {
                    out.values = BlockValues::Utf8(StringVec::new());
                }
                let BlockValues::Utf8(v) = &mut out.values else {
                    unreachable!()
                };
                enc::decode_strings(raw, n, v)
            }
            (ColumnStorage::Values, PhysicalType::Int64) => {
                if !matches!(out.values, BlockValues::Int64(_)) {
                    out.values = BlockValues::Int64(Vec::new());
                }
                let BlockValues::Int64(v) = &mut out.values else {
                    unreachable!()
                };
                enc::decode_i64(raw, n, v)
            }
            (ColumnStorage::Values, PhysicalType::Float64) => {
                if !matches!(out.values, BlockValues::Float64(_)) {
                    out.values = BlockValues::Float64(Vec::new());
                }
                let BlockValues::Float64(v) = &mut out.values else {
                    unreachable!()
                };
                enc::decode_f64(raw, n, v)
            }
            (ColumnStorage::Values, PhysicalType::Bool) => {
                if !matches!(out.values, BlockValues::Bool(_)) {
                    out.values = BlockValues::Bool(Vec::new());
                }
                let BlockValues::Bool(v) = &mut out.values else {
                    unreachable!()
                };
                enc::decode_bool(raw, n, v)
            }
            (ColumnStorage::Values, PhysicalType::Ip) => {
                if !matches!(out.values, BlockValues::Ip(_)) {
                    out.values = BlockValues::Ip(Vec::new());
                }
                let BlockValues::Ip(v) = &mut out.values else {
                    unreachable!()
                };
                enc::decode_ip(raw, n, v)
            }
            (ColumnStorage::Values, PhysicalType::Utf8) => {
                return Err(self.corrupt(format!("{what}: string column without string storage")))
            }
        };
        res.map_err(|e| self.decode_err(&what, e))?;
        if out.len() != n {
            return Err(self.corrupt(format!("{what}: decoded {} rows, expected {n}", out.len())));
        }
        Ok(())
    }

    /// Reads whole columns (all blocks) as a [`Batch`]-shaped vector of columns.
    pub fn read_columns(&self, cols: &[usize]) -> Result<Vec<Column>> {
        let mut out = Vec::with_capacity(cols.len());
        let mut block = ColumnBlock::default();
        let mut scratch = Vec::new();
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

    /// The index of column `col`, if it has one.
    pub fn index(&self, col: usize) -> Option<&IndexMeta> {
        self.meta.indexes.iter().find(|ix| ix.column == col)
    }

    /// The key position of `value` in column `col`'s index, if the value occurs.
    pub fn index_key(&self, col: usize, value: &Value) -> Result<Option<usize>> {
        let Some(ix) = self.index(col) else {
            return Ok(None);
        };
        Ok(match (&ix.keys, value) {
            (IndexKeys::Codes(_), Value::Str(s)) => {
                let dict = self
                    .dictionary(col)?
                    .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
                binary_search_str(&dict, s)
            }
            (IndexKeys::Ints(keys), Value::Int(v)) => keys.binary_search(v).ok(),
            (IndexKeys::Ints(keys), Value::Bool(b)) => keys.binary_search(&(*b as i64)).ok(),
            _ => None,
        })
    }

    /// The rows whose value in column `col` is key `k` of its index.
    pub fn index_bitmap(&self, col: usize, k: usize) -> Result<RoaringBitmap> {
        let ix = self
            .index(col)
            .ok_or_else(|| Error::Internal(format!("column {col} has no index")))?;
        if k >= ix.keys.len() {
            return Err(Error::Internal(format!("index key {k} out of range")));
        }
        let (p, range) = ix.locate(k);
        let what = format!("index of column '{}'", self.meta.columns[col].field.name);
        let mut scratch = Vec::new();
        let page = self.cached_chunk(&ix.pages[p].chunk, &mut scratch, &what, true)?;
        let bytes = page
            .get(range)
            .ok_or_else(|| self.corrupt(format!("{what}: bitmap outside its page")))?;
        let bm = RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| self.corrupt(format!("{what}: {e}")))?;
        if bm.len() != ix.counts[k] as u64 || bm.max().is_some_and(|m| m as u64 >= self.meta.rows) {
            return Err(self.corrupt(format!("{what}: bitmap disagrees with its row count")));
        }
        Ok(bm)
    }

    /// Calls `f(key, bitmap)` for every key of column `col`'s index in key order,
    /// decompressing each page once.
    pub fn for_each_bitmap(
        &self,
        col: usize,
        mut f: impl FnMut(usize, RoaringBitmap) -> Result<()>,
    ) -> Result<()> {
        let ix = self
            .index(col)
            .ok_or_else(|| Error::Internal(format!("column {col} has no index")))?;
        let what = format!("index of column '{}'", self.meta.columns[col].field.name);
        let mut scratch = Vec::new();
        for (p, page) in ix.pages.iter().enumerate() {
            // Served from the cache when a lookup cached the page, but a walk over
            // every page does not fill the cache.
            let raw = self.cached_chunk(&page.chunk, &mut scratch, &what, false)?;
            let end = ix
                .pages
                .get(p + 1)
                .map_or(ix.keys.len(), |n| n.first_key as usize);
            for k in page.first_key as usize..end {
                let (_, range) = ix.locate(k);
                let bytes = raw
                    .get(range)
                    .ok_or_else(|| self.corrupt(format!("{what}: bitmap outside its page")))?;
                let bm = RoaringBitmap::deserialize_from(bytes)
                    .map_err(|e| self.corrupt(format!("{what}: {e}")))?;
                if bm.len() != ix.counts[k] as u64
                    || bm.max().is_some_and(|m| m as u64 >= self.meta.rows)
                {
                    return Err(
                        self.corrupt(format!("{what}: bitmap disagrees with its row count"))
                    );
                }
                f(k, bm)?;
            }
        }
        Ok(())
    }

    /// The rows of this segment where column `col` equals `value`, through the index;
    /// `None` if the column has no index.
    pub fn lookup(&self, col: usize, value: &Value) -> Result<Option<RoaringBitmap>> {
        if self.index(col).is_none() {
            return Ok(None);
        }
        match self.index_key(col, value)? {
            None => Ok(Some(RoaringBitmap::new())),
            Some(k) => self.index_bitmap(col, k).map(Some),
        }
    }

    /// The value of index key `k` of column `col`.
    pub fn index_value(&self, col: usize, k: usize) -> Result<Value> {
        let ix = self
            .index(col)
            .ok_or_else(|| Error::Internal(format!("column {col} has no index")))?;
        Ok(match &ix.keys {
            IndexKeys::Codes(_) => {
                let dict = self
                    .dictionary(col)?
                    .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
                Value::Str(dict.get(k).into())
            }
            IndexKeys::Ints(v) if self.meta.columns[col].field.data_type == DataType::Boolean => {
                Value::Bool(v[k] != 0)
            }
            IndexKeys::Ints(v) => Value::Int(v[k]),
        })
    }

    /// Verifies every checksum, decodes every block and dictionary, checks zone maps
    /// and that each index agrees with the column data. Returns the first problem.
    pub fn verify(&self) -> Result<()> {
        let mut block = ColumnBlock::default();
        let mut scratch = Vec::new();
        for (c, cm) in self.meta.columns.iter().enumerate() {
            self.dictionary(c)?;
            for (b, bm) in cm.blocks.iter().enumerate() {
                self.read_block(c, b, &mut block, &mut scratch)?;
                let col = block.to_column();
                let codes = match &block.values {
                    BlockValues::Dict { codes, .. } => Some(codes.as_slice()),
                    _ => None,
                };
                let stats = if cm.storage == ColumnStorage::Plain {
                    Stats::None
                } else {
                    block_stats(&col.data, codes, 0..col.len(), col.validity.as_ref())
                };
                let same = match (stats, bm.stats) {
                    (Stats::Float { min: a, max: b }, Stats::Float { min: c, max: d }) => {
                        a.to_bits() == c.to_bits() && b.to_bits() == d.to_bits()
                    }
                    (x, y) => x == y,
                };
                if !same {
                    return Err(self.corrupt(format!(
                        "column '{}' block {b}: zone map disagrees with the data",
                        cm.field.name
                    )));
                }
            }
            if let Some(t) = self.meta.time_column.filter(|&t| t == c) {
                let ts = self.read_columns(&[t])?;
                if let ColumnData::Int64(v) = &ts[0].data {
                    let sorted = v.windows(2).all(|w| w[0] <= w[1]);
                    let range_ok = v.is_empty()
                        || (v[0] == self.meta.min_ts && v[v.len() - 1] == self.meta.max_ts);
                    if !sorted || !range_ok || ts[0].null_count() > 0 {
                        return Err(self.corrupt(
                            "time column is not sorted or disagrees with the segment's time range",
                        ));
                    }
                }
            }
        }
        for ix in &self.meta.indexes {
            let name = &self.meta.columns[ix.column].field.name;
            let keys = self.row_keys(ix)?;
            let mut total = 0u64;
            self.for_each_bitmap(ix.column, |k, bm| {
                if let Some(row) = bm.iter().find(|&r| keys[r as usize] != k as u32) {
                    return Err(self.corrupt(format!(
                        "index of column '{name}': row {row} does not hold {:?}",
                        self.index_value(ix.column, k)?
                    )));
                }
                total += bm.len();
                Ok(())
            })?;
            let non_null = keys.iter().filter(|&&k| k != u32::MAX).count() as u64;
            if total != non_null {
                return Err(self.corrupt(format!(
                    "index of column '{name}' covers {total} rows, the column has {non_null} non-NULL values"
                )));
            }
        }
        Ok(())
    }
}

impl Segment {
    /// For every row, the position of its value among the index keys (`u32::MAX` for
    /// NULL), read from the column data.
    fn row_keys(&self, ix: &IndexMeta) -> Result<Vec<u32>> {
        let mut keys = Vec::with_capacity(self.meta.rows as usize);
        let mut block = ColumnBlock::default();
        let mut scratch = Vec::new();
        let name = &self.meta.columns[ix.column].field.name;
        for b in 0..self.meta.columns[ix.column].blocks.len() {
            self.read_block(ix.column, b, &mut block, &mut scratch)?;
            let valid = |i: usize| block.validity.as_ref().is_none_or(|v| v.get(i));
            match (&block.values, &ix.keys) {
                (BlockValues::Dict { codes, .. }, IndexKeys::Codes(_)) => keys.extend(
                    codes
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| if valid(i) { c } else { u32::MAX }),
                ),
                (BlockValues::Int64(v), IndexKeys::Ints(k)) => {
                    for (i, x) in v.iter().enumerate() {
                        keys.push(if valid(i) {
                            k.binary_search(x).map_err(|_| {
                                self.corrupt(format!("index of column '{name}' lacks value {x}"))
                            })? as u32
                        } else {
                            u32::MAX
                        });
                    }
                }
                (BlockValues::Bool(v), IndexKeys::Ints(k)) => {
                    for (i, &x) in v.iter().enumerate() {
                        keys.push(if valid(i) {
                            k.binary_search(&(x as i64)).map_err(|_| {
                                self.corrupt(format!("index of column '{name}' lacks value {x}"))
                            })? as u32
                        } else {
                            u32::MAX
                        });
                    }
                }
                _ => {
                    return Err(
                        self.corrupt(format!("index of column '{name}' does not fit its storage"))
                    )
                }
            }
        }
        Ok(keys)
    }
}

/// Binary search of a sorted string vector.
pub fn binary_search_str(dict: &StringVec, s: &str) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, dict.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match dict.get(mid).cmp(s) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}
