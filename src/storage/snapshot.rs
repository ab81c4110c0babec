//! Snapshots: a consistent, read-only view of the database at one commit, and what
//! is read through it (segments, scans, index lookups, value counts, sizes).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use roaring::RoaringBitmap;

use crate::column::{Batch, Value};
use crate::error::{Error, Result};
use crate::schema::TableSchema;
use crate::storage::backend::Backend;
use crate::storage::cache::SegmentCache;
use crate::storage::check::check_segment_entry;
use crate::storage::manifest::{Granularity, Manifest, SegmentEntry, TableEntry};
use crate::storage::segment::{self, ColumnBlock, ReadBuf, Segment, Stats};

/// Sizes of one segment, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub id: u64,
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub min_ts: i64,
    pub max_ts: i64,
}

/// One partition, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub key: String,
    pub start: i64,
    pub end: i64,
    pub rows: u64,
    pub bytes: u64,
    pub segments: Vec<SegmentInfo>,
}

/// One table, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub schema: TableSchema,
    pub rows: u64,
    pub bytes: u64,
    pub partitions: Vec<PartitionInfo>,
}

/// Bytes on disk of one column, summed over a table's segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnSize {
    pub name: String,
    /// Encoded values and validity bitmaps.
    pub data_bytes: u64,
    /// Dictionaries, and the number of entries in them (summed per segment).
    pub dict_bytes: u64,
    pub dict_entries: u64,
    /// Bitmap index pages.
    pub index_bytes: u64,
    /// Segments storing the column with a dictionary, and as plain strings.
    pub dictionary_segments: u64,
    pub plain_segments: u64,
    /// Blocks storing no values: each value the join of two other columns'.
    pub joined_blocks: u64,
}

/// Which columns and time range a scan reads.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Column names; `None` reads every column.
    pub columns: Option<Vec<String>>,
    /// Keep rows with `start <= ts < end` (log tables only).
    pub time_range: Option<(i64, i64)>,
}

/// A consistent view of the database at one commit. Cheap to clone; segments stay
/// readable for as long as the snapshot lives, whatever writers in this process do
/// meanwhile (files a later commit removes are deleted only once no older snapshot is
/// alive). Segments are opened on first use, through the database's segment cache.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub(crate) inner: Arc<SnapshotInner>,
}

#[derive(Debug)]
pub(crate) struct SnapshotInner {
    manifest: Arc<Manifest>,
    backend: Arc<dyn Backend>,
    cache: Arc<SegmentCache>,
    /// Where each live segment is listed: (table, partition index, segment index).
    locations: HashMap<u64, (String, usize, usize)>,
    /// Segments this snapshot has opened, pinned for its lifetime.
    opened: HashMap<u64, OnceLock<Arc<Segment>>>,
}

impl Snapshot {
    pub(crate) fn new(
        manifest: Manifest,
        backend: Arc<dyn Backend>,
        cache: Arc<SegmentCache>,
    ) -> Snapshot {
        let mut locations = HashMap::new();
        for (name, t) in &manifest.tables {
            for (pi, p) in t.partitions.iter().enumerate() {
                for (si, s) in p.segments.iter().enumerate() {
                    locations.insert(s.id, (name.clone(), pi, si));
                }
            }
        }
        let opened = locations.keys().map(|&id| (id, OnceLock::new())).collect();
        Snapshot {
            inner: Arc::new(SnapshotInner {
                manifest: Arc::new(manifest),
                backend,
                cache,
                locations,
                opened,
            }),
        }
    }
}

impl Snapshot {
    /// The manifest generation this snapshot shows.
    pub fn generation(&self) -> u64 {
        self.inner.manifest.generation
    }

    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// A table's entry (schema, options, partitions).
    pub fn table(&self, name: &str) -> Result<&TableEntry> {
        let key = self.inner.manifest.table_key(name)?;
        Ok(&self.inner.manifest.tables[&key])
    }

    /// A checkpoint recorded with [`Db::append_with_checkpoint`].
    pub fn checkpoint(&self, table: &str, key: &str) -> Result<Option<&str>> {
        Ok(self.table(table)?.checkpoints.get(key).map(String::as_str))
    }

    /// The memory budget of the open-segment cache behind this snapshot (footers
    /// and the dictionaries segments keep decoded).
    pub fn segment_cache_budget(&self) -> usize {
        self.inner.cache.budget()
    }

    /// Segment `id` of this snapshot, opened (and checked against the manifest) on
    /// first use.
    pub fn segment(&self, id: u64) -> Result<Arc<Segment>> {
        let i = &self.inner;
        let slot = i
            .opened
            .get(&id)
            .ok_or_else(|| Error::Internal(format!("segment {id} is not in this snapshot")))?;
        if let Some(seg) = slot.get() {
            return Ok(seg.clone());
        }
        let (table, pi, si) = &i.locations[&id];
        let t = &i.manifest.tables[table];
        let p = &t.partitions[*pi];
        let s = &p.segments[*si];
        let seg = i.cache.get_or_open(id, || {
            let seg = Segment::open(&*i.backend, &s.file)?;
            check_segment_entry(&seg, s, t, p)?;
            seg.attach_read_caches(id, i.cache.reads().clone());
            Ok(seg)
        })?;
        Ok(slot.get_or_init(|| seg).clone())
    }

    /// The segments of a table that may hold rows in `[start, end)`, in time order:
    /// partitions and segments outside the range are pruned.
    pub fn segments(
        &self,
        table: &str,
        time_range: Option<(i64, i64)>,
    ) -> Result<Vec<Arc<Segment>>> {
        self.segment_entries(table, time_range)?
            .into_iter()
            .map(|s| self.segment(s.id))
            .collect()
    }

    /// The manifest entries (row counts, time ranges) of the segments
    /// [`Snapshot::segments`] would open, without opening any.
    pub fn segment_entries(
        &self,
        table: &str,
        time_range: Option<(i64, i64)>,
    ) -> Result<Vec<&SegmentEntry>> {
        let t = self.table(table)?;
        let (lo, hi) = time_range.unwrap_or((i64::MIN, i64::MAX));
        let mut out = Vec::new();
        for p in &t.partitions {
            if p.granularity != Granularity::All && (p.end() <= lo || p.start >= hi) {
                continue;
            }
            for s in &p.segments {
                if t.schema.time_column.is_some() && (s.max_ts < lo || s.min_ts >= hi) {
                    continue;
                }
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Bytes on disk per column of a table, summed over its segments.
    pub fn column_sizes(&self, table: &str) -> Result<Vec<ColumnSize>> {
        let t = self.table(table)?;
        let mut out: Vec<ColumnSize> = t
            .schema
            .fields
            .iter()
            .map(|f| ColumnSize {
                name: f.name.clone(),
                ..Default::default()
            })
            .collect();
        for seg in self.segments(table, None)? {
            let m = seg.meta();
            for (i, c) in m.columns.iter().enumerate().take(out.len()) {
                let o = &mut out[i];
                for b in &c.blocks {
                    o.data_bytes += b.values.len as u64 + b.validity.map_or(0, |v| v.len as u64);
                }
                match &c.storage {
                    segment::ColumnStorage::Dictionary { pages, len } => {
                        o.dict_bytes += pages.iter().map(|p| p.chunk.len as u64).sum::<u64>();
                        o.dict_entries += *len as u64;
                        o.dictionary_segments += 1;
                    }
                    segment::ColumnStorage::Plain => o.plain_segments += 1,
                    segment::ColumnStorage::Joined { .. } => {
                        o.plain_segments += 1;
                        o.joined_blocks += c.blocks.iter().filter(|b| b.joined).count() as u64;
                    }
                    segment::ColumnStorage::Values => {}
                }
            }
            for e in &m.indexes {
                let Some(ix) = seg.index(e.column)? else {
                    continue;
                };
                if let Some(o) = out.get_mut(e.column) {
                    o.index_bytes += (ix.pages.iter())
                        .map(|p| p.chunk.len as u64 + p.keys.map_or(0, |k| k.chunk.len as u64))
                        .sum::<u64>()
                        + e.directory.map_or(0, |d| d.len as u64)
                        + ix.counts_chunk.map_or(0, |c| c.len as u64);
                }
            }
        }
        Ok(out)
    }

    /// Listing information for one table.
    pub fn table_info(&self, name: &str) -> Result<TableInfo> {
        let key = self.inner.manifest.table_key(name)?;
        let t = &self.inner.manifest.tables[&key];
        let partitions: Vec<PartitionInfo> = t
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                key: p.key(),
                start: p.start,
                end: p.end(),
                rows: p.rows(),
                bytes: p.bytes(),
                segments: p
                    .segments
                    .iter()
                    .map(|s| SegmentInfo {
                        id: s.id,
                        file: s.file.clone(),
                        rows: s.rows,
                        bytes: s.bytes,
                        min_ts: s.min_ts,
                        max_ts: s.max_ts,
                    })
                    .collect(),
            })
            .collect();
        Ok(TableInfo {
            name: key,
            schema: t.schema.clone(),
            rows: partitions.iter().map(|p| p.rows).sum(),
            bytes: partitions.iter().map(|p| p.bytes).sum(),
            partitions,
        })
    }

    /// Scans a table block by block: only the requested columns are decoded, and
    /// partitions, segments and blocks outside the time range are skipped.
    pub fn scan(&self, table: &str, options: &ScanOptions) -> Result<Scan> {
        let t = self.table(table)?;
        let columns: Vec<usize> = match &options.columns {
            None => (0..t.schema.fields.len()).collect(),
            Some(names) => names
                .iter()
                .map(|n| t.schema.column(n))
                .collect::<Result<_>>()?,
        };
        let time_range = options
            .time_range
            .filter(|_| t.schema.time_column.is_some());
        Ok(Scan {
            segments: self.segments(table, time_range)?,
            columns,
            time_column: t.schema.time_index(),
            time_range,
            seg: 0,
            block: 0,
            buf: ColumnBlock::default(),
            ts_buf: ColumnBlock::default(),
            scratch: ReadBuf::default(),
        })
    }

    /// The rows where `column = value`, per segment, from the bitmap index alone.
    pub fn lookup(
        &self,
        table: &str,
        column: &str,
        value: &Value,
    ) -> Result<Vec<(Arc<Segment>, RoaringBitmap)>> {
        let t = self.table(table)?;
        let col = t.schema.column(column)?;
        if !t.schema.is_indexed(col) {
            return Err(Error::InvalidInput(format!(
                "column '{column}' has no bitmap index; indexed columns: {}",
                t.schema.indexed.join(", ")
            )));
        }
        let mut out = Vec::new();
        for seg in self.segments(table, None)? {
            if let Some(bm) = seg.lookup(col, value)? {
                if !bm.is_empty() {
                    out.push((seg, bm));
                }
            }
        }
        Ok(out)
    }

    /// Row counts per distinct value of an indexed column, from index cardinalities
    /// (no column data is read). Sorted by value.
    pub fn value_counts(&self, table: &str, column: &str) -> Result<Vec<(Value, u64)>> {
        let t = self.table(table)?;
        let col = t.schema.column(column)?;
        let mut counts: BTreeMap<ValueKey, u64> = BTreeMap::new();
        for seg in self.segments(table, None)? {
            let Some(ix_counts) = seg.index_counts(col)? else {
                return Err(Error::InvalidInput(format!(
                    "column '{column}' has no bitmap index"
                )));
            };
            // A key can have no rows: the entry a column of NULLs needs in its dictionary.
            seg.for_each_index_value(col, |k, v| {
                let c = ix_counts.get(k).copied().unwrap_or(0);
                if c > 0 {
                    *counts.entry(ValueKey(v)).or_default() += c as u64;
                }
                Ok(())
            })?;
        }
        Ok(counts.into_iter().map(|(k, c)| (k.0, c)).collect())
    }
}

/// A [`Value`] with a total order, for maps keyed by index values.
#[derive(Clone, Debug, PartialEq)]
struct ValueKey(Value);
impl Eq for ValueKey {}
impl PartialOrd for ValueKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ValueKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&other.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// An iterator over a table's rows as batches of at most one block each.
#[derive(Debug)]
pub struct Scan {
    segments: Vec<Arc<Segment>>,
    columns: Vec<usize>,
    time_column: Option<usize>,
    time_range: Option<(i64, i64)>,
    seg: usize,
    block: usize,
    buf: ColumnBlock,
    ts_buf: ColumnBlock,
    scratch: ReadBuf,
}

impl Scan {
    fn next_block(&mut self) -> Result<Option<Batch>> {
        while let Some(seg) = self.segments.get(self.seg).cloned() {
            let meta = seg.meta();
            let nblocks = meta.columns.first().map_or(0, |c| c.blocks.len());
            if self.block >= nblocks {
                self.seg += 1;
                self.block = 0;
                continue;
            }
            let b = self.block;
            self.block += 1;
            // Zone map pruning on the time column.
            let mut keep: Option<Vec<u32>> = None;
            let mut ts_decoded = false;
            if let (Some(t), Some((lo, hi))) = (self.time_column, self.time_range) {
                if let Stats::Int { min, max } = meta.columns[t].blocks[b].stats {
                    if max < lo || min >= hi {
                        continue;
                    }
                    if min < lo || max >= hi {
                        seg.read_block(t, b, &mut self.ts_buf, &mut self.scratch)?;
                        ts_decoded = true;
                        if let segment::BlockValues::Int64(ts) = &self.ts_buf.values {
                            keep = Some(
                                (0..ts.len() as u32)
                                    .filter(|&i| (lo..hi).contains(&ts[i as usize]))
                                    .collect(),
                            );
                        }
                    }
                }
            }
            let mut columns = Vec::with_capacity(self.columns.len());
            for &c in &self.columns {
                // The time column may already be decoded for the range check.
                let col = if ts_decoded && Some(c) == self.time_column {
                    self.ts_buf.to_column()
                } else {
                    seg.read_block(c, b, &mut self.buf, &mut self.scratch)?;
                    self.buf.to_column()
                };
                columns.push(match &keep {
                    Some(rows) => col.take(rows),
                    None => col,
                });
            }
            return Ok(Some(Batch { columns }));
        }
        Ok(None)
    }
}

impl Iterator for Scan {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        match self.next_block() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.seg = self.segments.len();
                Some(Err(e))
            }
        }
    }
}
