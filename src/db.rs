//! The database handle: open or create a database, create tables, append batches with
//! durable commits, take snapshots, scan, look up through indexes, compact, drop old
//! partitions and check everything on disk.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use roaring::RoaringBitmap;

use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::schema::{validate_table_name, TableSchema};
use crate::storage::backend::{self, Backend, FileBackend, WriterLock};
use crate::storage::cache::{CacheUsage, SegmentCache, DEFAULT_SEGMENT_CACHE_BYTES};
use crate::storage::manifest::{
    Granularity, Manifest, PartitionEntry, SegmentEntry, TableEntry, TableOptions,
};
use crate::storage::segment::{self, ColumnBlock, Segment, Stats};
use crate::time;

/// The default maximum rows per segment. Measured on generated access logs (see
/// BENCHMARKS.md): 1 Mi rows keeps dictionaries and indexes per segment small enough
/// to build in memory while making per-segment overhead negligible.
pub const DEFAULT_MAX_SEGMENT_ROWS: usize = 1 << 20;
/// The default number of rows past which a day is partitioned by hour.
pub const DEFAULT_HOUR_SPLIT_ROWS: u64 = 50_000_000;
/// Segments smaller than this fraction of the maximum are merged by compaction.
const SMALL_SEGMENT_FRACTION: usize = 2;

/// Options for opening a database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub max_segment_rows: usize,
    pub block_rows: usize,
    pub hour_split_rows: u64,
    pub read_only: bool,
    pub create: bool,
    /// Memory budget for open segments (parsed footers, dictionaries) kept across
    /// snapshots.
    pub segment_cache_bytes: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_segment_rows: DEFAULT_MAX_SEGMENT_ROWS,
            block_rows: segment::DEFAULT_BLOCK_ROWS,
            hour_split_rows: DEFAULT_HOUR_SPLIT_ROWS,
            read_only: false,
            create: true,
            segment_cache_bytes: DEFAULT_SEGMENT_CACHE_BYTES,
        }
    }
}

/// Builds a [`Db`]: `Db::builder().max_segment_rows(n).open(path)`.
#[derive(Clone, Debug, Default)]
pub struct DbBuilder {
    options: DbOptions,
}

impl DbBuilder {
    /// Rows per segment file at most (default 1 Mi).
    pub fn max_segment_rows(mut self, rows: usize) -> Self {
        self.options.max_segment_rows = rows;
        self
    }
    /// Rows per column block, a multiple of 2048 up to 65536 (default 8192).
    pub fn block_rows(mut self, rows: usize) -> Self {
        self.options.block_rows = rows;
        self
    }
    /// Rows past which a day is partitioned by hour, for tables created from now on.
    pub fn hour_split_rows(mut self, rows: u64) -> Self {
        self.options.hour_split_rows = rows;
        self
    }
    /// Memory budget for open segments cached across snapshots (default 256 MiB).
    pub fn segment_cache_bytes(mut self, bytes: usize) -> Self {
        self.options.segment_cache_bytes = bytes;
        self
    }
    /// Open without the writer lock; writes fail.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.options.read_only = yes;
        self
    }
    /// Create the database if it does not exist (default true).
    pub fn create(mut self, yes: bool) -> Self {
        self.options.create = yes;
        self
    }

    /// Opens (or creates) the database in directory `path`.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Db> {
        let path = path.as_ref();
        match std::fs::metadata(path) {
            Ok(m) if !m.is_dir() => {
                return Err(Error::InvalidInput(format!(
                    "{} is not a directory",
                    path.display()
                )))
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && self.options.create
                    && !self.options.read_only =>
            {
                std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!(
                    "no database at {}",
                    path.display()
                )))
            }
            Err(e) => return Err(Error::io(path, e)),
        }
        self.open_backend(Arc::new(FileBackend::new(path)))
    }

    /// Opens (or creates) a database on any [`Backend`].
    pub fn open_backend(self, backend: Arc<dyn Backend>) -> Result<Db> {
        let o = &self.options;
        segment::validate_block_rows(o.block_rows)?;
        if o.max_segment_rows == 0 || o.max_segment_rows > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "max_segment_rows {} is out of range",
                o.max_segment_rows
            )));
        }
        Db::open_with(backend, self.options)
    }
}

/// What one append committed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendStats {
    pub rows: u64,
    pub segments: usize,
    pub bytes: u64,
    pub generation: u64,
}

/// What a [`Db::delete_time_range`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteStats {
    pub partitions: usize,
    pub rows: u64,
}

/// What a compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    pub segments_before: usize,
    pub segments_after: usize,
    pub rows: u64,
}

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

/// The findings of [`Db::check`].
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub generation: u64,
    pub tables: usize,
    pub segments: usize,
    pub rows: u64,
    pub bytes: u64,
    /// Damage: any entry means the database is not intact.
    pub problems: Vec<String>,
    /// Harmless findings (e.g. files no commit refers to, left by a crash).
    pub notes: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
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
    inner: Arc<SnapshotInner>,
}

#[derive(Debug)]
struct SnapshotInner {
    manifest: Arc<Manifest>,
    backend: Arc<dyn Backend>,
    cache: Arc<SegmentCache>,
    /// Where each live segment is listed: (table, partition index, segment index).
    locations: HashMap<u64, (String, usize, usize)>,
    /// Segments this snapshot has opened, pinned for its lifetime.
    opened: HashMap<u64, OnceLock<Arc<Segment>>>,
}

impl Snapshot {
    fn new(manifest: Manifest, backend: Arc<dyn Backend>, cache: Arc<SegmentCache>) -> Snapshot {
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

/// An open database. Share it between threads by reference or clone it (clones are
/// handles to the same database). One process writes at a time (the `LOCK` file);
/// any number of snapshots read concurrently.
#[derive(Clone, Debug)]
pub struct Db {
    inner: Arc<DbInner>,
}

#[derive(Debug)]
struct DbInner {
    backend: Arc<dyn Backend>,
    options: DbOptions,
    current: RwLock<Snapshot>,
    /// Held by the writer for the whole of a write; `None` when read-only.
    writer: Option<Mutex<WriterLock>>,
    /// The lowest manifest generation and segment id no write has used yet. A failed
    /// write may leave its files in place, its manifest even durable (when the final
    /// directory sync fails, the commit's fate is unknown), so later writes must not
    /// reuse their names.
    unused_generation: AtomicU64,
    unused_segment_id: AtomicU64,
    cache: Arc<SegmentCache>,
    /// Snapshots handed out, by generation, to know when retired files may go.
    snapshots: Mutex<Vec<(u64, Weak<SnapshotInner>)>>,
    /// Files removed from the manifest at a generation, waiting until no snapshot
    /// older than that generation is alive.
    retired: Mutex<Vec<(u64, String)>>,
}

impl Drop for DbInner {
    fn drop(&mut self) {
        // Snapshots keep the handle alive, so none is left: retired files can go.
        if let Ok(retired) = self.retired.get_mut() {
            for (_, f) in retired.drain(..) {
                let _ = self.backend.remove(&f);
            }
        }
    }
}

/// A write prepared against one manifest: new segments to add and old ones to drop.
struct Txn {
    manifest: Manifest,
    written: Vec<String>,
    removed: Vec<String>,
    new_dirs: Vec<String>,
}

fn lock_poisoned<T>(_: T) -> Error {
    Error::Internal("a lock was poisoned by a panic in another thread".into())
}

/// Lists the database directory and loads its newest manifest (`None`: there is
/// none, or it is generation `known`). A writer in another process may replace
/// the newest manifest between the listing and the read; that is retried.
fn newest_manifest(
    backend: &dyn Backend,
    known: Option<u64>,
) -> Result<(Vec<String>, Option<Manifest>)> {
    for _ in 0..8 {
        let names = backend.list("")?;
        let Some(g) = Manifest::latest(&names) else {
            return Ok((names, None));
        };
        if Some(g) == known {
            return Ok((names, None));
        }
        match Manifest::load(backend, g) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            r => return Ok((names, Some(r?))),
        }
    }
    Err(Error::Io {
        path: backend.display_path(""),
        source: std::io::Error::other("the database kept changing while its manifest was read"),
    })
}

impl Db {
    /// A builder with default options.
    pub fn builder() -> DbBuilder {
        DbBuilder::default()
    }

    /// Opens (or creates) a database with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::builder().open(path)
    }

    fn open_with(backend: Arc<dyn Backend>, options: DbOptions) -> Result<Db> {
        let writer = if options.read_only {
            None
        } else {
            Some(Mutex::new(backend.lock_writer()?))
        };
        let (names, latest) = newest_manifest(&*backend, None)?;
        let manifest = match latest {
            Some(m) => m,
            None => {
                // A manifest temporary is what a failed creation leaves: ours, not foreign.
                let ours =
                    |n: &str| n == backend::LOCK_FILE || n.starts_with('.') || is_manifest_tmp(n);
                let foreign: Vec<&String> = names.iter().filter(|n| !ours(n)).collect();
                if !foreign.is_empty() {
                    return Err(Error::InvalidInput(format!(
                        "{} is not a logdb database (no manifest, but it holds {})",
                        backend.display_path("").display(),
                        foreign
                            .iter()
                            .take(3)
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                if writer.is_none() || !options.create {
                    return Err(Error::NotFound(format!(
                        "no database at {}",
                        backend.display_path("").display()
                    )));
                }
                let m = Manifest {
                    generation: 0,
                    next_segment_id: 1,
                    tables: BTreeMap::new(),
                };
                write_manifest(&*backend, &m, 1)?
            }
        };
        let cache = Arc::new(SegmentCache::new(options.segment_cache_bytes));
        let snap = Snapshot::new(manifest, backend.clone(), cache.clone());
        let db = Db {
            inner: Arc::new(DbInner {
                backend,
                options,
                snapshots: Mutex::new(vec![(snap.generation(), Arc::downgrade(&snap.inner))]),
                current: RwLock::new(snap),
                writer,
                unused_generation: AtomicU64::new(0),
                unused_segment_id: AtomicU64::new(0),
                cache,
                retired: Mutex::new(Vec::new()),
            }),
        };
        if db.inner.writer.is_some() {
            // The newest manifest may be one whose commit failed at the final directory
            // sync: make it durable before removing the files only older ones list.
            db.inner.backend.sync_dir("")?;
            db.collect_garbage()?;
        }
        Ok(db)
    }

    /// The backend the database lives on.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    pub fn options(&self) -> &DbOptions {
        &self.inner.options
    }

    /// Usage of the point-read caches shared by this database's snapshots: decompressed
    /// index pages, then decoded blocks of point reads (see `storage::cache`).
    pub fn read_cache_usage(&self) -> (CacheUsage, CacheUsage) {
        let r = self.inner.cache.reads();
        (r.chunks.usage(), r.blocks.usage())
    }

    /// Where the database lives, for messages.
    pub fn location(&self) -> PathBuf {
        self.inner.backend.display_path("")
    }

    /// The latest committed state. A read-only handle picks up commits made by the
    /// writer process since the last call.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let cur = self.inner.current.read().map_err(lock_poisoned)?.clone();
        if self.inner.writer.is_some() {
            let _ = self.sweep_retired();
            return Ok(cur);
        }
        // Another process may have committed: follow the newest manifest.
        match newest_manifest(&*self.inner.backend, Some(cur.generation()))?.1 {
            Some(m) => self.install(m),
            None => Ok(cur),
        }
    }

    /// Makes `m` the current state and registers its snapshot.
    fn install(&self, m: Manifest) -> Result<Snapshot> {
        let live: HashSet<u64> = m
            .tables
            .values()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .flat_map(|p| p.segments.iter().map(|s| s.id))
            })
            .collect();
        self.inner.cache.retain(|id| live.contains(&id));
        let snap = Snapshot::new(m, self.inner.backend.clone(), self.inner.cache.clone());
        self.inner
            .snapshots
            .lock()
            .map_err(lock_poisoned)?
            .push((snap.generation(), Arc::downgrade(&snap.inner)));
        *self.inner.current.write().map_err(lock_poisoned)? = snap.clone();
        Ok(snap)
    }

    /// Deletes retired files that no live snapshot can still need.
    fn sweep_retired(&self) -> Result<()> {
        let oldest_live = {
            let mut snaps = self.inner.snapshots.lock().map_err(lock_poisoned)?;
            snaps.retain(|(_, w)| w.strong_count() > 0);
            snaps.iter().map(|(g, _)| *g).min().unwrap_or(u64::MAX)
        };
        let due: Vec<String> = {
            let mut retired = self.inner.retired.lock().map_err(lock_poisoned)?;
            let (due, keep): (Vec<_>, Vec<_>) =
                retired.drain(..).partition(|(g, _)| *g <= oldest_live);
            *retired = keep;
            due.into_iter().map(|(_, f)| f).collect()
        };
        let b = &*self.inner.backend;
        let mut dirs: Vec<String> = Vec::new();
        for f in due {
            let _ = b.remove(&f);
            dirs.push(backend::parent(&f).to_string());
        }
        dirs.sort_unstable();
        dirs.dedup();
        for d in dirs {
            if b.list(&d).is_ok_and(|l| l.is_empty()) {
                let _ = b.remove_dir(&d);
            }
        }
        Ok(())
    }

    fn write_guard(&self) -> Result<std::sync::MutexGuard<'_, WriterLock>> {
        match &self.inner.writer {
            None => Err(Error::InvalidInput(format!(
                "database {} is open read-only",
                self.location().display()
            ))),
            Some(m) => m.lock().map_err(lock_poisoned),
        }
    }

    fn begin(&self) -> Result<Txn> {
        let cur = self.inner.current.read().map_err(lock_poisoned)?;
        let mut manifest = cur.manifest().clone();
        manifest.next_segment_id = manifest
            .next_segment_id
            .max(self.inner.unused_segment_id.load(Ordering::Relaxed));
        Ok(Txn {
            manifest,
            written: Vec::new(),
            removed: Vec::new(),
            new_dirs: Vec::new(),
        })
    }

    /// Makes a transaction durable and visible.
    fn commit(&self, mut txn: Txn) -> Result<u64> {
        let b = &*self.inner.backend;
        // Segment files were synced and renamed one by one; make their names durable.
        let mut dirs: Vec<&str> = txn.written.iter().map(|f| backend::parent(f)).collect();
        dirs.sort_unstable();
        dirs.dedup();
        for d in dirs {
            b.sync_dir(d)?;
        }
        let generation =
            (txn.manifest.generation + 1).max(self.inner.unused_generation.load(Ordering::Relaxed));
        self.inner
            .unused_generation
            .store(generation + 1, Ordering::Relaxed);
        let manifest = write_manifest(b, &txn.manifest, generation)?;
        self.install(manifest)?;
        // Files no commit refers to any more go once no older snapshot needs them.
        self.inner
            .retired
            .lock()
            .map_err(lock_poisoned)?
            .extend(txn.removed.drain(..).map(|f| (generation, f)));
        let _ = self.sweep_retired();
        if generation >= 3 {
            let _ = b.remove(&Manifest::file_name(generation - 2));
        }
        txn.new_dirs.clear();
        Ok(generation)
    }

    /// Creates a table. Log tables name a TIMESTAMP time column in the schema.
    pub fn create_table(&self, name: &str, schema: TableSchema) -> Result<()> {
        validate_table_name(name)?;
        schema.validate()?;
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        if txn
            .manifest
            .tables
            .keys()
            .any(|t| t.eq_ignore_ascii_case(name))
        {
            return Err(Error::InvalidInput(format!(
                "table '{name}' already exists"
            )));
        }
        let partitions = Vec::new();
        let options = TableOptions {
            hour_split_rows: self.inner.options.hour_split_rows,
        };
        txn.manifest.tables.insert(
            name.to_string(),
            TableEntry {
                schema,
                options,
                partitions,
                checkpoints: BTreeMap::new(),
            },
        );
        self.commit(txn)?;
        Ok(())
    }

    /// Drops a table and its data.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = table_key(&txn.manifest, name)?;
        if let Some(t) = txn.manifest.tables.remove(&key) {
            txn.removed.extend(
                t.partitions
                    .iter()
                    .flat_map(|p| p.segments.iter().map(|s| s.file.clone())),
            );
        }
        self.commit(txn)?;
        Ok(())
    }

    /// Appends a batch to a table as one durable commit: when this returns `Ok`, the
    /// rows survive a crash; when it fails, none of them are stored, except when the
    /// final directory sync of the commit fails, after which the batch may be found
    /// whole after a crash (spec/durability.md).
    pub fn append(&self, table: &str, batch: &Batch) -> Result<AppendStats> {
        self.append_with_checkpoint(table, batch, None)
    }

    /// [`Db::append`], also recording `checkpoint` (key, value) in the table in the same
    /// commit: after a crash, the checkpoint and the rows are both there or both not.
    pub fn append_with_checkpoint(
        &self,
        table: &str,
        batch: &Batch,
        checkpoint: Option<(&str, &str)>,
    ) -> Result<AppendStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = table_key(&txn.manifest, table)?;
        if let (Some((k, v)), Some(t)) = (checkpoint, txn.manifest.tables.get_mut(&key)) {
            t.checkpoints.insert(k.to_string(), v.to_string());
        }
        let entry = &txn.manifest.tables[&key];
        let schema = entry.schema.clone();
        batch.validate(&schema)?;
        let rows = batch.num_rows();
        if rows == 0 && checkpoint.is_none() {
            return Ok(AppendStats {
                generation: txn.manifest.generation,
                ..Default::default()
            });
        }
        if rows == 0 {
            return Ok(AppendStats {
                generation: self.commit(txn)?,
                ..Default::default()
            });
        }
        let mut stats = AppendStats {
            rows: rows as u64,
            ..Default::default()
        };
        match schema.time_index() {
            None => {
                self.write_partition_rows(&mut txn, &key, 0, Granularity::All, batch, &mut stats)?;
            }
            Some(t) => {
                if batch.columns[t].null_count() > 0 {
                    return Err(Error::InvalidInput(format!(
                        "time column '{}' holds NULLs; every row of a log table needs a time",
                        schema.fields[t].name
                    )));
                }
                let ColumnData::Int64(ts) = &batch.columns[t].data else {
                    return Err(Error::Internal("time column is not Int64".into()));
                };
                // Group rows by day, keeping time order within each day.
                let sorted = ts.windows(2).all(|w| w[0] <= w[1]);
                if sorted && time::day_start(ts[0]) == time::day_start(ts[rows - 1]) {
                    // The common case: one day of time-ordered lines, no copy needed.
                    self.append_day(
                        &mut txn,
                        &key,
                        time::day_start(ts[0]),
                        Cow::Borrowed(batch),
                        &mut stats,
                    )?;
                } else {
                    let mut order: Vec<u32> = (0..rows as u32).collect();
                    order.sort_by_key(|&i| ts[i as usize]);
                    let mut start = 0;
                    while start < order.len() {
                        let day = time::day_start(ts[order[start] as usize]);
                        let end = start
                            + order[start..]
                                .partition_point(|&i| time::day_start(ts[i as usize]) == day);
                        let day_batch = batch.take(&order[start..end]);
                        self.append_day(&mut txn, &key, day, Cow::Owned(day_batch), &mut stats)?;
                        start = end;
                    }
                }
            }
        }
        stats.generation = self.commit(txn)?;
        Ok(stats)
    }

    /// Adds one day's rows (sorted by time) to the transaction, switching the day to
    /// hourly partitions when it passes the table's threshold.
    fn append_day(
        &self,
        txn: &mut Txn,
        table: &str,
        day: i64,
        rows: Cow<'_, Batch>,
        stats: &mut AppendStats,
    ) -> Result<()> {
        let entry = &txn.manifest.tables[table];
        let threshold = entry.options.hour_split_rows;
        let in_day = |p: &PartitionEntry| {
            time::day_start(p.start) == day && p.granularity != Granularity::All
        };
        let existing: u64 = entry
            .partitions
            .iter()
            .filter(|p| in_day(p))
            .map(PartitionEntry::rows)
            .sum();
        let day_partition = entry
            .partitions
            .iter()
            .position(|p| p.start == day && p.granularity == Granularity::Day);
        let hourly = entry
            .partitions
            .iter()
            .any(|p| in_day(p) && p.granularity == Granularity::Hour);
        if !hourly && existing + rows.num_rows() as u64 <= threshold {
            return self.write_partition_rows(txn, table, day, Granularity::Day, &rows, stats);
        }
        // The day goes hourly: its existing day-partition rows are rewritten by hour.
        let mut all = rows.into_owned();
        if let Some(pi) = day_partition {
            let part = txn.manifest.tables[table].partitions[pi].clone();
            let snap = self.inner.current.read().map_err(lock_poisoned)?.clone();
            let schema = txn.manifest.tables[table].schema.clone();
            let mut cols: Vec<Column> = all.columns;
            for s in &part.segments {
                let seg = snap.segment(s.id)?;
                let idx: Vec<usize> = (0..schema.fields.len()).collect();
                let old = seg.read_columns(&idx)?;
                let before = cols[0].len();
                for (c, o) in cols.iter_mut().zip(old) {
                    segment::append_column(&mut c.data, &mut c.validity, before, &o);
                }
                txn.removed.push(s.file.clone());
            }
            if let Some(t) = txn.manifest.tables.get_mut(table) {
                t.partitions.remove(pi);
            }
            all = Batch { columns: cols };
            let t = schema
                .time_index()
                .ok_or_else(|| Error::Internal("log table without time column".into()))?;
            let ColumnData::Int64(ts) = &all.columns[t].data else {
                return Err(Error::Internal("time column is not Int64".into()));
            };
            let mut order: Vec<u32> = (0..all.num_rows() as u32).collect();
            order.sort_by_key(|&i| ts[i as usize]);
            all = all.take(&order);
        }
        let t = txn.manifest.tables[table]
            .schema
            .time_index()
            .ok_or_else(|| Error::Internal("log table without time column".into()))?;
        let ColumnData::Int64(ts) = &all.columns[t].data else {
            return Err(Error::Internal("time column is not Int64".into()));
        };
        let mut start = 0;
        let mut pieces = Vec::new();
        while start < ts.len() {
            let hour = time::hour_start(ts[start]);
            let end = start + ts[start..].partition_point(|&x| time::hour_start(x) == hour);
            pieces.push((hour, (start as u32..end as u32).collect::<Vec<u32>>()));
            start = end;
        }
        for (hour, idx) in pieces {
            let piece = all.take(&idx);
            self.write_partition_rows(txn, table, hour, Granularity::Hour, &piece, stats)?;
        }
        Ok(())
    }

    /// Writes `rows` as new segments of one partition (created if needed).
    fn write_partition_rows(
        &self,
        txn: &mut Txn,
        table: &str,
        start: i64,
        granularity: Granularity,
        rows: &Batch,
        stats: &mut AppendStats,
    ) -> Result<()> {
        let max = self.inner.options.max_segment_rows;
        let n = rows.num_rows();
        let mut offset = 0;
        while offset < n {
            let end = (offset + max).min(n);
            let idx: Vec<u32> = (offset as u32..end as u32).collect();
            let piece = if offset == 0 && end == n {
                Cow::Borrowed(rows)
            } else {
                Cow::Owned(rows.take(&idx))
            };
            let entry = self.write_segment(txn, table, start, granularity, &piece)?;
            stats.segments += 1;
            stats.bytes += entry.bytes;
            let t = txn
                .manifest
                .tables
                .get_mut(table)
                .ok_or_else(|| Error::Internal("table vanished".into()))?;
            let pos = t.partitions.partition_point(|p| p.start < start);
            if t.partitions.get(pos).is_none_or(|p| p.start != start) {
                t.partitions.insert(
                    pos,
                    PartitionEntry {
                        start,
                        granularity,
                        segments: Vec::new(),
                    },
                );
            }
            t.partitions[pos].segments.push(entry);
            offset = end;
        }
        Ok(())
    }

    /// Encodes and durably writes one segment file (not yet referenced by a manifest).
    fn write_segment(
        &self,
        txn: &mut Txn,
        table: &str,
        start: i64,
        granularity: Granularity,
        rows: &Batch,
    ) -> Result<SegmentEntry> {
        let b = &*self.inner.backend;
        let id = txn.manifest.next_segment_id;
        txn.manifest.next_segment_id += 1;
        self.inner
            .unused_segment_id
            .store(id + 1, Ordering::Relaxed);
        let schema = &txn.manifest.tables[table].schema;
        let encoded = segment::write_segment(schema, rows, id, self.inner.options.block_rows)?;
        let part = PartitionEntry {
            start,
            granularity,
            segments: Vec::new(),
        };
        let dir = format!("tables/{table}/{}", part.key());
        if !txn.new_dirs.contains(&dir) {
            b.create_dir_all(&dir)?;
            // Make the directory entries themselves durable, root-most last.
            b.sync_dir(&format!("tables/{table}"))?;
            b.sync_dir("tables")?;
            b.sync_dir("")?;
            txn.new_dirs.push(dir.clone());
        }
        let file = format!("{dir}/{id:016x}.lseg");
        let tmp = format!("{file}.tmp");
        b.write(&tmp, &encoded.bytes)?;
        b.sync(&tmp)?;
        b.rename(&tmp, &file)?;
        txn.written.push(file.clone());
        Ok(SegmentEntry {
            id,
            file,
            rows: encoded.rows,
            bytes: encoded.bytes.len() as u64,
            min_ts: encoded.min_ts,
            max_ts: encoded.max_ts,
            footer_crc: encoded.footer_crc,
        })
    }

    /// Merges each partition's small segments (as left by frequent small appends)
    /// into full-size ones. Readers keep their snapshots meanwhile.
    pub fn compact(&self, table: &str) -> Result<CompactStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = table_key(&txn.manifest, table)?;
        let max = self.inner.options.max_segment_rows;
        let small = (max / SMALL_SEGMENT_FRACTION).max(1) as u64;
        let snap = self.inner.current.read().map_err(lock_poisoned)?.clone();
        let mut stats = CompactStats::default();
        let parts = txn.manifest.tables[&key].partitions.clone();
        let ncols = txn.manifest.tables[&key].schema.fields.len();
        for (pi, p) in parts.iter().enumerate() {
            stats.segments_before += p.segments.len();
            let merge: Vec<&SegmentEntry> = p.segments.iter().filter(|s| s.rows < small).collect();
            if merge.len() < 2 {
                stats.segments_after += p.segments.len();
                continue;
            }
            // Merge groups of small segments, each group at most one full segment.
            let mut keep: Vec<SegmentEntry> = p
                .segments
                .iter()
                .filter(|s| s.rows >= small)
                .cloned()
                .collect();
            let mut group: Vec<&SegmentEntry> = Vec::new();
            let mut group_rows = 0u64;
            let mut groups = Vec::new();
            for s in merge {
                if group_rows + s.rows > max as u64 && !group.is_empty() {
                    groups.push(std::mem::take(&mut group));
                    group_rows = 0;
                }
                group_rows += s.rows;
                group.push(s);
            }
            groups.push(group);
            if let Some(t) = txn.manifest.tables.get_mut(&key) {
                t.partitions[pi].segments.clear();
            }
            for g in groups {
                if g.len() == 1 {
                    keep.push(g[0].clone());
                    continue;
                }
                let idx: Vec<usize> = (0..ncols).collect();
                let mut cols: Option<Vec<Column>> = None;
                for s in &g {
                    let part = snap.segment(s.id)?.read_columns(&idx)?;
                    match &mut cols {
                        None => cols = Some(part),
                        Some(cs) => {
                            let before = cs[0].len();
                            for (c, o) in cs.iter_mut().zip(part) {
                                segment::append_column(&mut c.data, &mut c.validity, before, &o);
                            }
                        }
                    }
                    txn.removed.push(s.file.clone());
                }
                let merged = Batch {
                    columns: cols.unwrap_or_default(),
                };
                stats.rows += merged.num_rows() as u64;
                let entry = self.write_segment(&mut txn, &key, p.start, p.granularity, &merged)?;
                keep.push(entry);
            }
            keep.sort_by_key(|s| (s.min_ts, s.id));
            stats.segments_after += keep.len();
            if let Some(t) = txn.manifest.tables.get_mut(&key) {
                t.partitions[pi].segments = keep;
            }
        }
        if stats.segments_after != stats.segments_before {
            self.commit(txn)?;
        }
        Ok(stats)
    }

    /// Drops every partition of a log table that ends at or before `ts` (retention).
    /// Returns the number of partitions dropped.
    pub fn drop_partitions_before(&self, table: &str, ts: i64) -> Result<usize> {
        self.drop_partitions(table, |p| p.end() <= ts)
    }

    /// Drops the partitions of a log table whose key (`2024-05-01` or `2024-05-01T13`)
    /// is `key`, or that lie inside that day. Returns the number dropped.
    pub fn drop_partition(&self, table: &str, key: &str) -> Result<usize> {
        let n = self.drop_partitions(table, |p| {
            p.key() == key || p.key().starts_with(&format!("{key}T"))
        })?;
        if n == 0 {
            return Err(Error::NotFound(format!(
                "table '{table}' has no partition '{key}'"
            )));
        }
        Ok(n)
    }

    /// Deletes the rows of `table` whose time lies in `[start, end)` by dropping
    /// whole partitions, in one commit (SQL `DELETE` and `ALTER TABLE .. DROP
    /// PARTITION`). Fails, changing nothing, when a partition lies partly inside the
    /// range: rows go a partition at a time. A plain table (no time column) has one
    /// partition covering all time, so only the full range `[i64::MIN, i64::MAX)`
    /// empties it. Returns the partitions and rows removed.
    pub fn delete_time_range(&self, table: &str, start: i64, end: i64) -> Result<DeleteStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = table_key(&txn.manifest, table)?;
        let t = txn
            .manifest
            .tables
            .get_mut(&key)
            .ok_or_else(|| Error::Internal("table vanished".into()))?;
        let span = |p: &PartitionEntry| match p.granularity {
            Granularity::All => (i64::MIN, i64::MAX),
            _ => (p.start, p.end()),
        };
        let mut stats = DeleteStats::default();
        if start >= end {
            return Ok(stats);
        }
        for p in &t.partitions {
            let (ps, pe) = span(p);
            let overlaps = ps < end && start < pe;
            let inside = start <= ps && pe <= end;
            if overlaps && !inside {
                return Err(Error::InvalidInput(match p.granularity {
                    Granularity::All => format!(
                        "table '{key}' has no time column, so only all of its rows can be \
                         deleted at once"
                    ),
                    _ => format!(
                        "partition {} of table '{key}' ([{}, {})) lies partly inside the \
                         range to delete; rows are deleted a whole partition at a time (a \
                         day, or an hour for days split into hours)",
                        p.key(),
                        time::format_timestamp(ps),
                        time::format_timestamp(pe)
                    ),
                }));
            }
            if inside {
                stats.partitions += 1;
                stats.rows += p.rows();
            }
        }
        if stats.partitions == 0 {
            return Ok(stats);
        }
        let mut removed = Vec::new();
        t.partitions.retain(|p| {
            let (ps, pe) = span(p);
            let drop = start <= ps && pe <= end;
            if drop {
                removed.extend(p.segments.iter().map(|s| s.file.clone()));
            }
            !drop
        });
        txn.removed = removed;
        self.commit(txn)?;
        Ok(stats)
    }

    fn drop_partitions(
        &self,
        table: &str,
        pred: impl Fn(&PartitionEntry) -> bool,
    ) -> Result<usize> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = table_key(&txn.manifest, table)?;
        let t = txn
            .manifest
            .tables
            .get_mut(&key)
            .ok_or_else(|| Error::Internal("table vanished".into()))?;
        if t.schema.time_column.is_none() {
            return Err(Error::InvalidInput(format!(
                "table '{key}' has no time column, so no partitions to drop"
            )));
        }
        let before = t.partitions.len();
        let mut removed = Vec::new();
        t.partitions.retain(|p| {
            let drop = pred(p);
            if drop {
                removed.extend(p.segments.iter().map(|s| s.file.clone()));
            }
            !drop
        });
        let n = before - t.partitions.len();
        txn.removed = removed;
        if n > 0 {
            self.commit(txn)?;
        }
        Ok(n)
    }

    /// The names of all tables.
    pub fn table_names(&self) -> Result<Vec<String>> {
        Ok(self.snapshot()?.manifest().tables.keys().cloned().collect())
    }

    /// Every table with its partitions and segments.
    pub fn tables(&self) -> Result<Vec<TableInfo>> {
        let snap = self.snapshot()?;
        Ok(snap
            .manifest()
            .tables
            .keys()
            .filter_map(|n| snap.table_info(n).ok())
            .collect())
    }

    /// One table with its partitions and segments.
    pub fn table_info(&self, name: &str) -> Result<TableInfo> {
        self.snapshot()?.table_info(name)
    }

    /// Removes files that no commit refers to (left by a crash or a failed write),
    /// and manifests older than the previous one. Runs when a writer opens.
    fn collect_garbage(&self) -> Result<()> {
        let b = &*self.inner.backend;
        let snap = self.inner.current.read().map_err(lock_poisoned)?.clone();
        let live: HashSet<&str> = snap
            .manifest()
            .tables
            .values()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .flat_map(|p| p.segments.iter().map(|s| s.file.as_str()))
            })
            .collect();
        let g = snap.manifest().generation;
        for name in b.list("")? {
            let old_manifest = Manifest::parse_file_name(&name).is_some_and(|n| n + 1 < g);
            if old_manifest || is_manifest_tmp(&name) {
                b.remove(&name)?;
            }
        }
        for table in b.list("tables")? {
            let tdir = backend::join("tables", &table);
            for part in b.list(&tdir)? {
                let pdir = backend::join(&tdir, &part);
                let files = b.list(&pdir)?;
                let mut left = files.len();
                for f in files {
                    let path = backend::join(&pdir, &f);
                    if !live.contains(path.as_str()) {
                        b.remove(&path)?;
                        left -= 1;
                    }
                }
                if left == 0 {
                    b.remove_dir(&pdir)?;
                }
            }
            if b.list(&tdir)?.is_empty() {
                b.remove_dir(&tdir)?;
            }
        }
        Ok(())
    }

    /// Verifies the whole database: the manifest, every segment's checksums and
    /// structure, that segments match the manifest, and that indexes and zone maps
    /// agree with the column data. Problems are collected, not returned as errors.
    pub fn check(&self) -> Result<CheckReport> {
        check_backend(&*self.inner.backend)
    }
}

/// [`Db::check`] on a database that need not open: damage that stops [`Db::open`]
/// is reported as a problem like any other.
pub fn check_backend(b: &dyn Backend) -> Result<CheckReport> {
    {
        let mut report = CheckReport::default();
        let names = b.list("")?;
        let Some(g) = Manifest::latest(&names) else {
            report
                .problems
                .push(format!("{}: no manifest", b.display_path("").display()));
            return Ok(report);
        };
        let manifest = match Manifest::load(b, g) {
            Ok(m) => m,
            Err(e) => {
                report.problems.push(e.to_string());
                return Ok(report);
            }
        };
        report.generation = g;
        report.tables = manifest.tables.len();
        let mut live = HashSet::new();
        for (name, t) in &manifest.tables {
            for p in &t.partitions {
                for s in &p.segments {
                    live.insert(s.file.clone());
                    report.segments += 1;
                    report.rows += s.rows;
                    report.bytes += s.bytes;
                    let seg = match Segment::open(b, &s.file) {
                        Ok(seg) => seg,
                        Err(e) => {
                            report.problems.push(e.to_string());
                            continue;
                        }
                    };
                    if let Err(e) = check_segment_entry(&seg, s, t, p) {
                        report.problems.push(format!("table '{name}': {e}"));
                        continue;
                    }
                    if let Err(e) = seg.verify() {
                        report.problems.push(e.to_string());
                    }
                }
            }
        }
        for table in b.list("tables")? {
            let tdir = backend::join("tables", &table);
            for part in b.list(&tdir)? {
                let pdir = backend::join(&tdir, &part);
                for f in b.list(&pdir)? {
                    let path = backend::join(&pdir, &f);
                    if !live.contains(&path) {
                        report.notes.push(format!(
                            "{}: not referenced by the manifest (removed when a writer opens)",
                            b.display_path(&path).display()
                        ));
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Checks that an opened segment is the file the manifest describes.
fn check_segment_entry(
    seg: &Segment,
    s: &SegmentEntry,
    t: &TableEntry,
    p: &PartitionEntry,
) -> Result<()> {
    let m = seg.meta();
    let bad = |d: String| Err(Error::corrupt(seg.display_path(), d));
    if seg.footer_crc() != s.footer_crc || seg.file_len() != s.bytes {
        return bad(
            "file differs from the one the manifest committed (size or footer checksum)".into(),
        );
    }
    if m.segment_id != s.id || m.rows != s.rows || m.min_ts != s.min_ts || m.max_ts != s.max_ts {
        return bad("segment header disagrees with the manifest (id, rows or time range)".into());
    }
    let fields: Vec<_> = m.columns.iter().map(|c| &c.field).collect();
    if fields.len() != t.schema.fields.len()
        || fields.iter().zip(&t.schema.fields).any(|(a, b)| *a != b)
    {
        return bad("segment columns differ from the table schema".into());
    }
    if t.schema.time_index().is_some() && s.rows > 0 && (s.min_ts < p.start || s.max_ts >= p.end())
    {
        return bad(format!("rows outside partition {}", p.key()));
    }
    Ok(())
}

fn table_key(m: &Manifest, name: &str) -> Result<String> {
    if m.tables.contains_key(name) {
        return Ok(name.to_string());
    }
    m.tables
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = m.tables.keys().map(String::as_str).collect();
            Error::NotFound(if known.is_empty() {
                format!("table '{name}' does not exist (the database has no tables)")
            } else {
                format!(
                    "table '{name}' does not exist; tables: {}",
                    known.join(", ")
                )
            })
        })
}

/// Whether `name` is a manifest's temporary file (see [`write_manifest`]).
fn is_manifest_tmp(name: &str) -> bool {
    name.starts_with(crate::storage::manifest::MANIFEST_PREFIX) && name.ends_with(".tmp")
}

/// Writes manifest generation `g` durably: temporary file, fsync, rename, fsync of
/// the root directory.
fn write_manifest(b: &dyn Backend, m: &Manifest, g: u64) -> Result<Manifest> {
    let mut m = m.clone();
    m.generation = g;
    let name = Manifest::file_name(g);
    let tmp = format!("{name}.tmp");
    b.write(&tmp, &m.encode()?)?;
    b.sync(&tmp)?;
    b.rename(&tmp, &name)?;
    b.sync_dir("")?;
    Ok(m)
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
        let key = table_key(&self.inner.manifest, name)?;
        Ok(&self.inner.manifest.tables[&key])
    }

    /// A checkpoint recorded with [`Db::append_with_checkpoint`].
    pub fn checkpoint(&self, table: &str, key: &str) -> Result<Option<&str>> {
        Ok(self.table(table)?.checkpoints.get(key).map(String::as_str))
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
                out.push(self.segment(s.id)?);
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
                    segment::ColumnStorage::Dictionary { chunk, len } => {
                        o.dict_bytes += chunk.len as u64;
                        o.dict_entries += *len as u64;
                        o.dictionary_segments += 1;
                    }
                    segment::ColumnStorage::Plain => o.plain_segments += 1,
                    segment::ColumnStorage::Values => {}
                }
            }
            for ix in &m.indexes {
                if let Some(o) = out.get_mut(ix.column) {
                    o.index_bytes += ix.pages.iter().map(|p| p.chunk.len as u64).sum::<u64>();
                }
            }
        }
        Ok(out)
    }

    /// Listing information for one table.
    pub fn table_info(&self, name: &str) -> Result<TableInfo> {
        let key = table_key(&self.inner.manifest, name)?;
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
            scratch: Vec::new(),
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
            let Some(ix) = seg.index(col) else {
                return Err(Error::InvalidInput(format!(
                    "column '{column}' has no bitmap index"
                )));
            };
            // A key can have no rows: the entry a column of NULLs needs in its dictionary.
            for (k, &c) in ix.counts.iter().enumerate().filter(|(_, &c)| c > 0) {
                *counts
                    .entry(ValueKey(seg.index_value(col, k)?))
                    .or_default() += c as u64;
            }
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
    scratch: Vec<u8>,
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::storage::backend::{FileBytes, WriterLock};
    use crate::storage::mem::MemBackend;

    /// A backend whose first `stale` directory listings name a manifest that no
    /// longer exists, as when a writer in another process commits and removes it
    /// between a reader's listing and its read.
    #[derive(Debug)]
    struct StaleListing {
        inner: MemBackend,
        stale: AtomicUsize,
    }

    impl Backend for StaleListing {
        fn read(&self, path: &str) -> Result<FileBytes> {
            self.inner.read(path)
        }
        fn write(&self, path: &str, data: &[u8]) -> Result<()> {
            self.inner.write(path, data)
        }
        fn sync(&self, path: &str) -> Result<()> {
            self.inner.sync(path)
        }
        fn sync_dir(&self, dir: &str) -> Result<()> {
            self.inner.sync_dir(dir)
        }
        fn rename(&self, from: &str, to: &str) -> Result<()> {
            self.inner.rename(from, to)
        }
        fn remove(&self, path: &str) -> Result<()> {
            self.inner.remove(path)
        }
        fn remove_dir(&self, dir: &str) -> Result<()> {
            self.inner.remove_dir(dir)
        }
        fn list(&self, dir: &str) -> Result<Vec<String>> {
            let mut names = self.inner.list(dir)?;
            if dir.is_empty() && self.stale.load(Ordering::SeqCst) > 0 {
                self.stale.fetch_sub(1, Ordering::SeqCst);
                names.push(Manifest::file_name(1 << 40));
            }
            Ok(names)
        }
        fn create_dir_all(&self, dir: &str) -> Result<()> {
            self.inner.create_dir_all(dir)
        }
        fn lock_writer(&self) -> Result<WriterLock> {
            self.inner.lock_writer()
        }
        fn display_path(&self, path: &str) -> PathBuf {
            self.inner.display_path(path)
        }
    }

    #[test]
    fn a_reader_retries_a_manifest_replaced_while_it_was_listed() {
        let backend = Arc::new(StaleListing {
            inner: MemBackend::new(),
            stale: AtomicUsize::new(0),
        });
        let db = Db::builder().open_backend(backend.clone()).unwrap();
        drop(db);
        // Opening read-only and taking snapshots both list, then read, the newest
        // manifest: a vanished one is retried.
        backend.stale.store(3, Ordering::SeqCst);
        let ro = Db::builder()
            .read_only(true)
            .open_backend(backend.clone())
            .unwrap();
        assert!(backend.stale.load(Ordering::SeqCst) < 3);
        backend.stale.store(2, Ordering::SeqCst);
        assert!(ro.snapshot().is_ok());
        // A manifest that keeps vanishing is an error naming the database.
        backend.stale.store(100, Ordering::SeqCst);
        let e = ro.snapshot().unwrap_err().to_string();
        assert!(e.contains("kept changing"), "{e}");
        let e = Db::builder()
            .read_only(true)
            .open_backend(backend)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kept changing"), "{e}");
    }
}
