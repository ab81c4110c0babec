//! Writing a segment: rows sorted by time, columns encoded in parallel (dictionaries,
//! blocks, validity), per-block zone maps, per-value bitmap indexes in pages, then
//! header, chunks, footer and tail laid out as one file image.

use super::format::{
    encode_footer, encode_index_directory, validate_block_rows, BlockMeta, Chunk, ColumnMeta,
    ColumnStorage, DictPage, IndexEntry, IndexKeys, IndexMeta, IndexPage, KeyPage, SegmentMeta,
    Stats, DICT_PAGE_BYTES, HEADER_VERSION_OFFSET, JOINED_COLUMNS, PAGED_INT_KEYS, SEGMENT_MAGIC,
    SEGMENT_TAIL_MAGIC,
};
use crate::column::{Batch, Bitmap, Column, ColumnData, StringVec};
use crate::error::{Error, Result};
use crate::schema::{Field, TableSchema};
use crate::storage::encoding as enc;

/// Serialized bitmaps are grouped into pages of about this many raw bytes, each
/// compressed on its own, so that a lookup decompresses one small page.
const INDEX_PAGE_BYTES: usize = 32 * 1024;
/// A string column whose distinct values exceed this fraction of its rows is stored
/// plain rather than with a dictionary (unless it is indexed).
const PLAIN_STRING_DISTINCT_RATIO: f64 = 0.5;

/// What writing a segment produced.
#[derive(Debug)]
pub struct EncodedSegment {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub footer_crc: u32,
}

/// Compresses `raw` onto the end of `out`; returns where it went.
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

/// The zone map of an integer block.
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

/// The zone map of rows `range` of a column (of its dictionary codes when it has
/// them); also what `verify` recomputes.
pub(super) fn block_stats(
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
        ColumnData::Utf8(_) | ColumnData::List(_) => Stats::None,
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

/// The entry ranges of a dictionary's pages: each page ends once its strings reach
/// [`DICT_PAGE_BYTES`].
fn dictionary_pages(d: &StringVec) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= d.len() {
            return None;
        }
        let mut end = start;
        let mut bytes = 0;
        while end < d.len() && bytes < DICT_PAGE_BYTES {
            bytes += d.get(end).len() + 1;
            end += 1;
        }
        let range = start..end;
        start = end;
        Some(range)
    })
}

/// How many of a column's first non-NULL rows [`find_joins`] checks a join on.
const JOIN_SAMPLE_ROWS: usize = 64;

/// A plain string column stored as the join of two others where it is one:
/// `head`'s value, `sep`, `tail`'s value (`head`'s alone where `tail` is NULL).
#[derive(Clone, Copy)]
struct Join<'a> {
    head: usize,
    tail: usize,
    sep: u8,
    head_col: &'a Column,
    tail_col: &'a Column,
}

impl<'a> Join<'a> {
    /// Whether row `i`'s value `x` is the join of the head's and tail's.
    fn holds(&self, i: usize, x: &str) -> bool {
        let text = |c: &'a Column| match &c.data {
            ColumnData::Utf8(v) if c.validity.as_ref().is_none_or(|b| b.get(i)) => {
                Some(v.get(i).as_bytes())
            }
            _ => None,
        };
        let x = x.as_bytes();
        match (text(self.head_col), text(self.tail_col)) {
            (Some(h), None) => x == h,
            (Some(h), Some(t)) => {
                x.len() == h.len() + 1 + t.len()
                    && x[h.len()] == self.sep
                    && x.starts_with(h)
                    && x.ends_with(t)
            }
            (None, _) => false,
        }
    }
}

/// For each unindexed string column, two other string columns it may be the
/// join of (see [`Join`]), found on its first non-NULL rows; the blocks check
/// every row. A column that is a join's head or tail is not joined itself.
fn find_joins<'a>(schema: &TableSchema, batch: &'a Batch) -> Vec<Option<Join<'a>>> {
    let n = batch.columns.len();
    let strings: Vec<usize> = (0..n)
        .filter(|&i| matches!(batch.columns[i].data, ColumnData::Utf8(_)))
        .collect();
    let mut joins: Vec<Option<Join<'a>>> = vec![None; n];
    let mut part = vec![false; n];
    for &x in &strings {
        let col = &batch.columns[x];
        let ColumnData::Utf8(values) = &col.data else {
            continue;
        };
        if schema.is_indexed(x) || part[x] {
            continue;
        }
        let valid = |c: &Column, i: usize| c.validity.as_ref().is_none_or(|b| b.get(i));
        let sample: Vec<usize> = (0..col.len())
            .filter(|&i| valid(col, i))
            .take(JOIN_SAMPLE_ROWS)
            .collect();
        let found = strings
            .iter()
            .flat_map(|&h| strings.iter().map(move |&t| (h, t)));
        let found = found
            .filter(|&(h, t)| h != x && t != x && h != t)
            .filter(|&(h, t)| joins[h].is_none() && joins[t].is_none())
            .find_map(|(head, tail)| {
                let (head_col, tail_col) = (&batch.columns[head], &batch.columns[tail]);
                // The separator: the byte after the head's value where the tail has one.
                let &r = sample.iter().find(|&&i| valid(tail_col, i))?;
                let ColumnData::Utf8(h) = &head_col.data else {
                    return None;
                };
                let sep = *values.get(r).as_bytes().get(h.get(r).len())?;
                if !sep.is_ascii() {
                    return None;
                }
                let join = Join {
                    head,
                    tail,
                    sep,
                    head_col,
                    tail_col,
                };
                sample
                    .iter()
                    .all(|&i| join.holds(i, values.get(i)))
                    .then_some(join)
            });
        if let Some(j) = found {
            part[j.head] = true;
            part[j.tail] = true;
            joins[x] = Some(j);
        }
    }
    joins
}

/// Encodes one column (dictionary, blocks, index) into a buffer of its own; a
/// column stored plain is stored joined where `join` holds for a whole block.
fn encode_column(
    field: &Field,
    column: &Column,
    indexed: bool,
    block_rows: usize,
    join: Option<Join<'_>>,
) -> EncodedColumn {
    let rows = column.len();
    let mut bytes = Vec::new();
    let mut raw = Vec::new();
    let mut scratch = Vec::new();
    let valid = column.validity.as_ref();

    // A column that is its join on every row stores no values: no dictionary to build
    // (the attempt cost as much as encoding a high-cardinality column).
    let joined_everywhere = match (&column.data, join) {
        (ColumnData::Utf8(v), Some(j)) => (0..rows)
            .filter(|&i| valid.is_none_or(|b| b.get(i)))
            .all(|i| j.holds(i, v.get(i))),
        _ => false,
    };
    // Strings: a sorted dictionary unless the column is unindexed and nearly unique.
    let mut dict: Option<(StringVec, Vec<u32>)> = None;
    let mut storage = ColumnStorage::Values;
    if joined_everywhere {
        storage = ColumnStorage::Plain;
    } else if let ColumnData::Utf8(strings) = &column.data {
        // Stored plain once the distinct values pass the ratio: stop counting there.
        let max_distinct = if indexed {
            usize::MAX
        } else {
            (rows as f64 * PLAIN_STRING_DISTINCT_RATIO) as usize
        };
        let built = enc::build_dictionary_within(strings, valid, max_distinct);
        let plain = |d: &StringVec| {
            !indexed && rows > 0 && d.len() as f64 > rows as f64 * PLAIN_STRING_DISTINCT_RATIO
        };
        match built {
            Some((mut d, codes)) => {
                if d.is_empty() && rows > 0 {
                    // Every row is NULL, and NULL rows carry code 0: give that code an entry.
                    d.push("");
                }
                if plain(&d) {
                    storage = ColumnStorage::Plain;
                } else {
                    let pages = dictionary_pages(&d)
                        .map(|range| {
                            raw.clear();
                            let first = d.get(range.start).into();
                            enc::encode_dictionary_range(&d, range.clone(), &mut raw);
                            DictPage {
                                chunk: push_chunk(&mut bytes, &raw, &mut scratch),
                                first_code: range.start as u32,
                                first: Some(first),
                            }
                        })
                        .collect();
                    storage = ColumnStorage::Dictionary {
                        pages,
                        len: d.len() as u32,
                    };
                    dict = Some((d, codes));
                }
            }
            None => storage = ColumnStorage::Plain,
        }
    }
    let codes = dict.as_ref().map(|(_, c)| c.as_slice());
    if let (ColumnStorage::Plain, Some(j)) = (&storage, join) {
        storage = ColumnStorage::Joined {
            head: j.head as u32,
            tail: j.tail as u32,
            sep: j.sep,
        };
    }

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
        let joined = joined_everywhere
            || match (&column.data, join, &storage) {
                (ColumnData::Utf8(v), Some(j), ColumnStorage::Joined { .. }) => (start..end)
                    .filter(|&i| valid.is_none_or(|b| b.get(i)))
                    .all(|i| j.holds(i, v.get(i))),
                _ => false,
            };
        raw.clear();
        match (&column.data, codes) {
            (_, Some(c)) => enc::encode_u32(&c[start..end], &mut raw),
            (ColumnData::Int64(v), None) => enc::encode_i64(&v[start..end], &mut raw),
            (ColumnData::Float64(v), None) => enc::encode_f64(&v[start..end], &mut raw),
            (ColumnData::Bool(v), None) => enc::encode_bool(&v[start..end], &mut raw),
            (ColumnData::Ip(v), None) => enc::encode_ip(&v[start..end], &mut raw),
            (ColumnData::Utf8(_), None) if joined => {}
            (ColumnData::Utf8(v), None) => enc::encode_strings(v, start..end, &mut raw),
            // `TableSchema::validate` refuses list columns before any is written.
            (ColumnData::List(_), None) => {}
        }
        let values = match joined {
            true => Chunk::default(),
            false => push_chunk(&mut bytes, &raw, &mut scratch),
        };
        let validity = match bvalid {
            Some(b) if null_count > 0 => {
                raw.clear();
                enc::encode_validity(b, &mut raw);
                Some(push_chunk(&mut bytes, &raw, &mut scratch))
            }
            _ => None,
        };
        let stats = if matches!(storage, ColumnStorage::Plain | ColumnStorage::Joined { .. }) {
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
            joined,
        });
        start = end;
    }
    if !blocks.iter().any(|b| b.joined) && matches!(storage, ColumnStorage::Joined { .. }) {
        storage = ColumnStorage::Plain;
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

/// Lays out one roaring bitmap per distinct value in pages; the distinct values of
/// an integer column go in key pages, one per bitmap page. Rows are grouped by key
/// (a counting sort of dictionary codes, a sort of (value, row) pairs for integers)
/// and each group is serialized straight from its sorted rows.
fn build_index(
    column: &Column,
    codes: Option<&[u32]>,
    dict_len: Option<usize>,
    bytes: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> IndexMeta {
    let valid = column.validity.as_ref();
    let is_valid = |i: usize| valid.is_none_or(|v| v.get(i));
    // `rows[starts[k]..starts[k + 1]]`: the rows of key `k`, ascending.
    let (ints, starts, rows): (Option<Vec<i64>>, Vec<usize>, Vec<u32>) =
        match (codes, dict_len, &column.data) {
            (Some(codes), Some(n), _) => {
                let mut starts = vec![0usize; n + 1];
                for (row, &c) in codes.iter().enumerate() {
                    if is_valid(row) {
                        starts[c as usize + 1] += 1;
                    }
                }
                for k in 0..n {
                    starts[k + 1] += starts[k];
                }
                let mut next = starts.clone();
                let mut rows = vec![0u32; starts[n]];
                for (row, &c) in codes.iter().enumerate() {
                    if is_valid(row) {
                        rows[next[c as usize]] = row as u32;
                        next[c as usize] += 1;
                    }
                }
                (None, starts, rows)
            }
            (_, _, data) => {
                let mut pairs: Vec<(i64, u32)> = match data {
                    ColumnData::Int64(v) => (v.iter().enumerate())
                        .filter(|(i, _)| is_valid(*i))
                        .map(|(i, &x)| (x, i as u32))
                        .collect(),
                    ColumnData::Bool(v) => (v.iter().enumerate())
                        .filter(|(i, _)| is_valid(*i))
                        .map(|(i, &x)| (x as i64, i as u32))
                        .collect(),
                    _ => Vec::new(),
                };
                pairs.sort_unstable();
                let mut distinct = Vec::new();
                let mut starts = Vec::new();
                for (i, &(x, _)) in pairs.iter().enumerate() {
                    if distinct.last() != Some(&x) {
                        distinct.push(x);
                        starts.push(i);
                    }
                }
                starts.push(pairs.len());
                (
                    Some(distinct),
                    starts,
                    pairs.into_iter().map(|(_, r)| r).collect(),
                )
            }
        };
    let nkeys = starts.len() - 1;
    let key_rows = |k: usize| &rows[starts[k]..starts[k + 1]];
    let counts: Vec<u32> = (0..nkeys).map(|k| key_rows(k).len() as u32).collect();
    // Each page: its keys' bitmap offsets (from the page start), then the bitmaps;
    // integer keys: the page's keys as an integer block, in a chunk of its own.
    let mut pages = Vec::new();
    let mut body = Vec::new();
    let mut offsets: Vec<u32> = Vec::new();
    let mut page = Vec::new();
    let mut flush = |first_key: usize, offsets: &mut Vec<u32>, body: &mut Vec<u8>| {
        let header = 4 * offsets.len() as u32;
        page.clear();
        for o in offsets.iter() {
            page.extend_from_slice(&(header + o).to_le_bytes());
        }
        page.extend_from_slice(body);
        let chunk = push_chunk(bytes, &page, scratch);
        let keys = ints.as_ref().map(|ints| {
            let page_keys = &ints[first_key..first_key + offsets.len()];
            page.clear();
            enc::encode_i64(page_keys, &mut page);
            KeyPage {
                chunk: push_chunk(bytes, &page, scratch),
                first: page_keys[0],
            }
        });
        pages.push(IndexPage {
            chunk,
            first_key: first_key as u32,
            raw_len: (header as usize + body.len()) as u32,
            keys,
        });
        offsets.clear();
        body.clear();
    };
    let mut first_key = 0;
    for k in 0..nkeys {
        if !body.is_empty() && body.len() >= INDEX_PAGE_BYTES {
            flush(first_key, &mut offsets, &mut body);
            first_key = k;
        }
        offsets.push(body.len() as u32);
        enc::serialize_sorted_rows(key_rows(k), &mut body);
    }
    if nkeys > 0 {
        flush(first_key, &mut offsets, &mut body);
    }
    let raw_counts: Vec<u8> = counts.iter().flat_map(|c| c.to_le_bytes()).collect();
    let counts_chunk = push_chunk(bytes, &raw_counts, scratch);
    let n = nkeys as u32;
    IndexMeta {
        column: 0,
        keys: if ints.is_some() {
            IndexKeys::Paged(n)
        } else {
            IndexKeys::Codes(n)
        },
        counts: counts.into(),
        counts_chunk: Some(counts_chunk),
        offsets: None,
        pages,
    }
}

/// Encodes `batch` as a segment file, its columns on every core. Rows are sorted by
/// the schema's time column first (stable) when they are not already in order.
pub fn write_segment(
    schema: &TableSchema,
    batch: &Batch,
    segment_id: u64,
    block_rows: usize,
) -> Result<EncodedSegment> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
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

    let joins = find_joins(schema, batch);
    // Columns are independent: encode them on all cores.
    let threads = threads.min(schema.fields.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut encoded: Vec<Option<EncodedColumn>> = (0..schema.fields.len()).map(|_| None).collect();
    if threads == 1 {
        for (i, slot) in encoded.iter_mut().enumerate() {
            *slot = Some(encode_column(
                &schema.fields[i],
                &batch.columns[i],
                schema.is_indexed(i),
                block_rows,
                joins[i],
            ));
        }
    } else {
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
                                    joins[i],
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
    }

    let mut out = Vec::with_capacity(
        encoded
            .iter()
            .flatten()
            .map(|c| c.bytes.len())
            .sum::<usize>()
            + 4096,
    );
    out.extend_from_slice(&SEGMENT_MAGIC);
    // The version goes in once the columns' storage is known.
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut columns = Vec::with_capacity(encoded.len());
    let mut indexes = Vec::new();
    let mut scratch = Vec::new();
    for (i, col) in encoded.into_iter().enumerate() {
        let col = col.ok_or_else(|| Error::Internal(format!("encoding column {i} failed")))?;
        let base = out.len() as u64;
        out.extend_from_slice(&col.bytes);
        let shift = |c: &mut Chunk| c.offset += base;
        let mut meta = col.meta;
        if let ColumnStorage::Dictionary { pages, .. } = &mut meta.storage {
            for p in pages {
                shift(&mut p.chunk);
            }
        }
        for b in meta.blocks.iter_mut().filter(|b| !b.joined) {
            shift(&mut b.values);
        }
        for b in &mut meta.blocks {
            if let Some(v) = &mut b.validity {
                shift(v);
            }
        }
        if let Some(mut ix) = col.index {
            for p in &mut ix.pages {
                shift(&mut p.chunk);
                if let Some(k) = &mut p.keys {
                    shift(&mut k.chunk);
                }
            }
            if let Some(c) = &mut ix.counts_chunk {
                shift(c);
            }
            ix.column = i;
            // The directory is a chunk of its own, read only by queries using the
            // index, so opening the segment costs nothing per distinct value.
            let directory = push_chunk(&mut out, &encode_index_directory(&ix), &mut scratch);
            indexes.push(IndexEntry {
                column: i,
                int_keys: !matches!(ix.keys, IndexKeys::Codes(_)),
                key_count: ix.keys.len() as u32,
                directory: Some(directory),
            });
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
    // Earlier builds read the segment unless it holds a joined column.
    let joined = (meta.columns.iter()).any(|c| matches!(c.storage, ColumnStorage::Joined { .. }));
    let version = if joined {
        JOINED_COLUMNS
    } else {
        PAGED_INT_KEYS
    };
    out[HEADER_VERSION_OFFSET..HEADER_VERSION_OFFSET + 4].copy_from_slice(&version.to_le_bytes());
    let mut footer = Vec::new();
    enc::compress(&encode_footer(&meta), &mut footer);
    let footer_crc = crc32fast::hash(&footer);
    out.extend_from_slice(&footer);
    out.extend_from_slice(&(footer.len() as u64).to_le_bytes());
    out.extend_from_slice(&footer_crc.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&SEGMENT_TAIL_MAGIC);
    Ok(EncodedSegment {
        bytes: out,
        rows: rows as u64,
        min_ts,
        max_ts,
        footer_crc,
    })
}
