//! The database handle: open or create a database, create tables, append batches with
//! durable commits, take snapshots, scan, look up through indexes, compact, drop old
//! partitions and check everything on disk.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use crate::column::{Batch, Column, ColumnData};
use crate::error::{Error, Result};
use crate::schema::{validate_table_name, TableSchema};
use crate::storage::backend::{self, Backend, FileBackend, WriterLock};
use crate::storage::cache::{CacheUsage, SegmentCache, DEFAULT_SEGMENT_CACHE_BYTES};
pub use crate::storage::check::check_backend;
pub use crate::storage::check::CheckReport;
use crate::storage::commit::{
    is_manifest_tmp, is_segment_file_name, list_dir, newest_manifest, write_manifest,
};
use crate::storage::manifest::{
    Granularity, Manifest, PartitionEntry, SegmentEntry, TableEntry, TableOptions,
};
use crate::storage::parallel;
use crate::storage::segment::{self};
use crate::storage::snapshot::SnapshotInner;
pub use crate::storage::snapshot::{
    ColumnSize, PartitionInfo, ScanOptions, SegmentInfo, Snapshot, TableInfo,
};
use crate::time;

mod rewrite;
mod views;

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
    /// Take the writer lock at the first write rather than at open: a handle that
    /// only reads never takes it (and never syncs or cleans up anything).
    pub lock_on_first_write: bool,
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
            lock_on_first_write: false,
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
    /// Take the writer lock at the first write instead of at open (default false).
    /// Reads through such a handle take no lock and write nothing; the first write
    /// fails with [`Error::Locked`] if another process is writing then, and
    /// otherwise starts from the newest committed state. The shell opens this way.
    pub fn lock_on_first_write(mut self, yes: bool) -> Self {
        self.options.lock_on_first_write = yes;
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
    /// Held for the whole of a write; the lock file's state inside.
    writer: Mutex<Writer>,
    /// Whether this handle holds the writer lock (then no other process commits).
    locked: AtomicBool,
    /// The lowest manifest generation and segment id no write has used yet. A failed
    /// write may leave its files in place, its manifest even durable (when the final
    /// directory sync fails, the commit's fate is unknown), so later writes must not
    /// reuse their names.
    unused_generation: AtomicU64,
    unused_segment_id: AtomicU64,
    cache: Arc<SegmentCache>,
    /// State upper layers keep per open database, one value per type.
    extensions: Extensions,
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

/// Values upper layers keep per open database ([`Db::extension`]).
#[derive(Default)]
struct Extensions(Mutex<Vec<Arc<dyn std::any::Any + Send + Sync>>>);

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |e| e.len());
        write!(f, "Extensions({n})")
    }
}

/// A write prepared against one manifest: new segments to add and old ones to drop.
struct Txn {
    manifest: Manifest,
    written: Vec<String>,
    removed: Vec<String>,
    new_dirs: Vec<String>,
}

/// The writer lock of a handle.
#[derive(Debug)]
enum Writer {
    /// Opened read-only: writes fail.
    ReadOnly,
    /// Not taken yet: the first write takes it ([`DbOptions::lock_on_first_write`]).
    Unlocked,
    /// Holding the lock file (released when dropped).
    Locked { _lock: WriterLock },
}

/// Segment files written at once per core: jobs waiting on an fsync leave their
/// core to jobs that encode.
const SYNC_OVERLAP: usize = 4;
/// Rows that the segment writes of an append beyond one per core may hold copied at
/// once: more threads than cores only while their segments are this small together.
const ROWS_IN_FLIGHT: usize = 1 << 21;

/// One partition's rows for [`Db::write_segments`] (split into segments there).
struct SegmentJob<'a> {
    start: i64,
    granularity: Granularity,
    rows: JobRows<'a>,
}

/// The rows of an append: batches of the same columns, numbered one after another.
struct Parts<'a> {
    batches: &'a [Batch],
    /// The number of each batch's first row, then the total.
    starts: Vec<usize>,
    rows: usize,
}

impl<'a> Parts<'a> {
    fn new(batches: &'a [Batch]) -> Parts<'a> {
        let mut starts = Vec::with_capacity(batches.len() + 1);
        let mut rows = 0;
        for b in batches {
            starts.push(rows);
            rows += b.num_rows();
        }
        starts.push(rows);
        Parts {
            batches,
            starts,
            rows,
        }
    }

    /// Column `c` (an Int64 column) of all rows: borrowed from a single batch.
    fn int64(&self, c: usize) -> Result<Cow<'a, [i64]>> {
        let mut all: Option<Vec<i64>> = None;
        for b in self.batches {
            let ColumnData::Int64(v) = &b.columns[c].data else {
                return Err(Error::Internal("time column is not Int64".into()));
            };
            if self.batches.len() == 1 {
                return Ok(Cow::Borrowed(v));
            }
            all.get_or_insert_with(|| Vec::with_capacity(self.rows))
                .extend_from_slice(v);
        }
        Ok(Cow::Owned(all.unwrap_or_default()))
    }
}

/// The rows of a [`SegmentJob`], in time order: a range of an append's rows, or
/// its rows picked by number.
enum JobRows<'a> {
    Range(&'a Parts<'a>, std::ops::Range<usize>),
    Picked(&'a Parts<'a>, &'a [u32]),
}

impl<'a> JobRows<'a> {
    fn len(&self) -> usize {
        match self {
            JobRows::Range(_, r) => r.len(),
            JobRows::Picked(_, p) => p.len(),
        }
    }

    /// The rows as a batch: borrowed when they are a whole batch, else copied
    /// (once, from the batches they are in).
    fn materialize(&self) -> Cow<'a, Batch> {
        match self {
            JobRows::Range(p, r) => match p.batches {
                [b] if r.start == 0 && r.end == b.num_rows() => Cow::Borrowed(b),
                _ => {
                    let idx: Vec<u32> = (r.start as u32..r.end as u32).collect();
                    Cow::Owned(p.take(&idx))
                }
            },
            JobRows::Picked(p, rows) => Cow::Owned(p.take(rows)),
        }
    }
}

impl Parts<'_> {
    fn take(&self, rows: &[u32]) -> Batch {
        match self.batches {
            [b] => b.take(rows),
            _ => Batch::take_parts(self.batches, &self.starts, rows),
        }
    }
}

impl<'a> SegmentJob<'a> {
    /// Pushes this job onto `out` as the fewest pieces of at most `max` rows, of
    /// equal size (give or take a row): a day of `max` + 3,000 rows becomes two
    /// halves, not a full segment and a tiny one.
    fn split(self, max: usize, out: &mut Vec<SegmentJob<'a>>) {
        let piece = |rows| SegmentJob {
            start: self.start,
            granularity: self.granularity,
            rows,
        };
        let n = self.rows.len();
        let pieces = n.div_ceil(max.max(1)).max(1);
        // Piece i covers [bound(i), bound(i + 1)).
        let bound = |i: usize| n / pieces * i + (n % pieces).min(i);
        for i in 0..pieces {
            let (from, to) = (bound(i), bound(i + 1));
            if from == to {
                continue;
            }
            match &self.rows {
                JobRows::Range(b, r) => {
                    out.push(piece(JobRows::Range(b, r.start + from..r.start + to)))
                }
                JobRows::Picked(b, p) => out.push(piece(JobRows::Picked(b, &p[from..to]))),
            }
        }
    }
}

/// The positions of `ts` in time order, ties in position order (a stable sort).
///
/// Log lines arrive nearly in time order: the rows at or after the latest time
/// before them are already in order and are taken as they come; only the late
/// ones (a few per thousand in a log written by several threads or hosts) are
/// sorted, as (time, position) pairs, and merged in. When more than one row in
/// [`LATE_SHARE`] is late, every row is sorted that way.
fn time_order(ts: &[i64]) -> Vec<u32> {
    let sort_all = || {
        let mut pairs: Vec<(i64, u32)> = ts.iter().zip(0u32..).map(|(&t, i)| (t, i)).collect();
        pairs.sort_unstable();
        pairs.into_iter().map(|(_, i)| i).collect()
    };
    let most_late = ts.len() / LATE_SHARE;
    let mut in_order: Vec<u32> = Vec::with_capacity(ts.len());
    let mut late: Vec<(i64, u32)> = Vec::new();
    let mut latest = i64::MIN;
    for (&t, i) in ts.iter().zip(0u32..) {
        if t >= latest {
            latest = t;
            in_order.push(i);
        } else if late.len() < most_late {
            late.push((t, i));
        } else {
            return sort_all();
        }
    }
    if late.is_empty() {
        return in_order;
    }
    late.sort_unstable();
    // Merged by (time, position), as the sort of every row orders them.
    let mut out = Vec::with_capacity(ts.len());
    let mut late = late.into_iter().peekable();
    for i in in_order {
        while let Some(&(t, j)) = late.peek() {
            if (t, j) > (ts[i as usize], i) {
                break;
            }
            out.push(j);
            late.next();
        }
        out.push(i);
    }
    out.extend(late.map(|(_, j)| j));
    out
}

/// [`time_order`] sorts every row once more than one in this many is late.
const LATE_SHARE: usize = 16;

fn lock_poisoned<T>(_: T) -> Error {
    Error::Internal("a lock was poisoned by a panic in another thread".into())
}

/// Whether a partition ending at `end` lies wholly at or before `ts` (retention).
fn ends_by(end: i64, ts: i64) -> bool {
    end <= ts
}

fn no_partitions(table: &str) -> Error {
    Error::InvalidInput(format!(
        "table '{table}' has no time column, so no partitions to drop"
    ))
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
        // A writer reads the newest manifest only once it holds the lock.
        let mut lock = if options.read_only || options.lock_on_first_write {
            None
        } else {
            Some(backend.lock_writer()?)
        };
        let (names, mut latest) = newest_manifest(&*backend, None)?;
        if latest.is_none() && lock.is_none() && !options.read_only && options.create {
            // A database that does not exist yet is created now, which is a write.
            lock = Some(backend.lock_writer()?);
            latest = newest_manifest(&*backend, None)?.1;
        }
        let locked = lock.is_some();
        let writer = match lock {
            Some(l) => Writer::Locked { _lock: l },
            None if options.read_only => Writer::ReadOnly,
            None => Writer::Unlocked,
        };
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
                if !locked || !options.create {
                    return Err(Error::NotFound(format!(
                        "no database at {}",
                        backend.display_path("").display()
                    )));
                }
                let m = Manifest {
                    generation: 0,
                    next_segment_id: 1,
                    tables: BTreeMap::new(),
                    views: BTreeMap::new(),
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
                writer: Mutex::new(writer),
                locked: AtomicBool::new(locked),
                unused_generation: AtomicU64::new(0),
                unused_segment_id: AtomicU64::new(0),
                cache,
                extensions: Extensions::default(),
                retired: Mutex::new(Vec::new()),
            }),
        };
        if locked {
            db.recover()?;
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

    /// Segments open in the segment cache now, and the memory they are charged
    /// (parsed footers, dictionaries and index directories decoded so far).
    pub fn segment_cache_usage(&self) -> (usize, usize) {
        self.inner.cache.usage()
    }

    /// The value of type `T` this database keeps for an upper layer (made with
    /// `T::default()` on first use; every clone of this handle shares it): caches
    /// that outlive one query, such as the executor's aggregate cache.
    pub fn extension<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut all = self
            .inner
            .extensions
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(t) = all.iter().find_map(|e| e.clone().downcast::<T>().ok()) {
            return t;
        }
        let t = Arc::new(T::default());
        all.push(t.clone());
        t
    }

    /// Where the database lives, for messages.
    pub fn location(&self) -> PathBuf {
        self.inner.backend.display_path("")
    }

    /// The latest committed state. A read-only handle picks up commits made by the
    /// writer process since the last call.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let cur = self.inner.current.read().map_err(lock_poisoned)?.clone();
        if self.inner.locked.load(Ordering::Acquire) {
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

    /// What a writer does once it holds the lock: the newest manifest may be one
    /// whose commit failed at the final directory sync, so make it durable before
    /// removing the files only older ones list.
    fn recover(&self) -> Result<()> {
        self.inner.backend.sync_dir("")?;
        self.collect_garbage()
    }

    /// Held for the whole of a write. Takes the writer lock on a handle opened with
    /// [`DbBuilder::lock_on_first_write`], then continues from the newest commit.
    fn write_guard(&self) -> Result<std::sync::MutexGuard<'_, Writer>> {
        let mut g = self.inner.writer.lock().map_err(lock_poisoned)?;
        match &*g {
            Writer::ReadOnly => Err(Error::InvalidInput(format!(
                "database {} is open read-only",
                self.location().display()
            ))),
            Writer::Locked { .. } => Ok(g),
            Writer::Unlocked => {
                let lock = self.inner.backend.lock_writer()?;
                // Until now other processes could commit: start from their newest state.
                let cur = self
                    .inner
                    .current
                    .read()
                    .map_err(lock_poisoned)?
                    .generation();
                if let Some(m) = newest_manifest(&*self.inner.backend, Some(cur))?.1 {
                    self.install(m)?;
                }
                *g = Writer::Locked { _lock: lock };
                self.inner.locked.store(true, Ordering::Release);
                self.recover()?;
                Ok(g)
            }
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
        // Segment files were synced and renamed; make their names durable, and the
        // entries of directories created for new partitions (and tables) in their
        // parents, up to the database directory. All of it before the manifest, in
        // any order, so the syncs run at once.
        let mut dirs: Vec<&str> = txn.written.iter().map(|f| backend::parent(f)).collect();
        for d in &txn.new_dirs {
            let mut p = d.as_str();
            while !p.is_empty() {
                p = backend::parent(p);
                dirs.push(p);
            }
        }
        dirs.sort_unstable();
        dirs.dedup();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        parallel::map(dirs, cores * SYNC_OVERLAP, |d| b.sync_dir(d))?;
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
        check_not_a_view(&txn.manifest, name)?;
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
        let key = txn.manifest.table_key(name)?;
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

    /// [`Db::append`] of the rows of `batches` (of the same columns) one after
    /// another, as one commit, without concatenating them first: each segment takes
    /// its rows straight from the batches.
    pub fn append_batches(&self, table: &str, batches: &[Batch]) -> Result<AppendStats> {
        self.append_parts(table, batches, None)
    }

    /// [`Db::append`], also recording `checkpoint` (key, value) in the table in the same
    /// commit: after a crash, the checkpoint and the rows are both there or both not.
    pub fn append_with_checkpoint(
        &self,
        table: &str,
        batch: &Batch,
        checkpoint: Option<(&str, &str)>,
    ) -> Result<AppendStats> {
        self.append_parts(table, std::slice::from_ref(batch), checkpoint)
    }

    fn append_parts(
        &self,
        table: &str,
        batches: &[Batch],
        checkpoint: Option<(&str, &str)>,
    ) -> Result<AppendStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = txn.manifest.table_key(table)?;
        if let (Some((k, v)), Some(t)) = (checkpoint, txn.manifest.tables.get_mut(&key)) {
            t.checkpoints.insert(k.to_string(), v.to_string());
        }
        let parts = Parts::new(batches);
        if parts.rows == 0 && checkpoint.is_none() {
            for b in batches {
                b.validate(&txn.manifest.tables[&key].schema)?;
            }
            return Ok(AppendStats {
                generation: txn.manifest.generation,
                ..Default::default()
            });
        }
        let mut stats = self.add_parts(&mut txn, &key, &parts)?;
        stats.generation = self.commit(txn)?;
        Ok(stats)
    }

    /// Creates table `name` holding `rows` (checked against `schema`) in one commit.
    /// With `replace`, a table of that name (any case) is dropped in the same
    /// commit: after a crash the database holds the old table or the new one with
    /// all its rows, never neither (`CREATE OR REPLACE TABLE`). Without it, an
    /// existing table is an error.
    pub fn create_table_with_rows(
        &self,
        name: &str,
        schema: TableSchema,
        rows: Option<&Batch>,
        replace: bool,
    ) -> Result<AppendStats> {
        validate_table_name(name)?;
        schema.validate()?;
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        check_not_a_view(&txn.manifest, name)?;
        let old = txn
            .manifest
            .tables
            .keys()
            .find(|t| t.eq_ignore_ascii_case(name))
            .cloned();
        if let Some(old) = old {
            if !replace {
                return Err(Error::InvalidInput(format!(
                    "table '{name}' already exists"
                )));
            }
            if let Some(t) = txn.manifest.tables.remove(&old) {
                txn.removed.extend(
                    t.partitions
                        .iter()
                        .flat_map(|p| p.segments.iter().map(|s| s.file.clone())),
                );
            }
        }
        txn.manifest.tables.insert(
            name.to_string(),
            TableEntry {
                schema,
                options: TableOptions {
                    hour_split_rows: self.inner.options.hour_split_rows,
                },
                partitions: Vec::new(),
                checkpoints: BTreeMap::new(),
            },
        );
        let mut stats = match rows {
            Some(b) if b.num_rows() > 0 => self.add_rows(&mut txn, name, b)?,
            Some(b) => {
                b.validate(&txn.manifest.tables[name].schema)?;
                AppendStats::default()
            }
            None => AppendStats::default(),
        };
        stats.generation = self.commit(txn)?;
        Ok(stats)
    }

    /// Writes `batch` into table `key` of the transaction: rows routed to their
    /// partitions (by day or hour of their time for a log table), segments written,
    /// the manifest of `txn` updated (not committed).
    fn add_rows(&self, txn: &mut Txn, key: &str, batch: &Batch) -> Result<AppendStats> {
        self.add_parts(txn, key, &Parts::new(std::slice::from_ref(batch)))
    }

    fn add_parts(&self, txn: &mut Txn, key: &str, parts: &Parts<'_>) -> Result<AppendStats> {
        let entry = &txn.manifest.tables[key];
        let schema = entry.schema.clone();
        for b in parts.batches {
            b.validate(&schema)?;
        }
        let rows = parts.rows;
        if rows == 0 {
            return Ok(AppendStats::default());
        }
        let mut stats = AppendStats {
            rows: rows as u64,
            ..Default::default()
        };
        match schema.time_index() {
            None => {
                let job = SegmentJob {
                    start: 0,
                    granularity: Granularity::All,
                    rows: JobRows::Range(parts, 0..rows),
                };
                self.write_segments(txn, key, vec![job], &mut stats)?;
            }
            Some(t) => {
                if parts.batches.iter().any(|b| b.columns[t].null_count() > 0) {
                    return Err(Error::InvalidInput(format!(
                        "time column '{}' holds NULLs; every row of a log table needs a time",
                        schema.fields[t].name
                    )));
                }
                let ts = parts.int64(t)?;
                // Group rows by day, keeping time order within each day. The days'
                // segments are written together (on all cores) once all are planned.
                let mut jobs = Vec::new();
                let sorted = ts.windows(2).all(|w| w[0] <= w[1]);
                let order: Vec<u32>;
                if sorted && time::day_start(ts[0]) == time::day_start(ts[rows - 1]) {
                    // The common case: one day of time-ordered lines, no copy needed.
                    let day = time::day_start(ts[0]);
                    let day_rows = JobRows::Range(parts, 0..rows);
                    self.append_day(txn, key, day, day_rows, &mut jobs, &mut stats)?;
                } else {
                    order = time_order(&ts);
                    let mut start = 0;
                    while start < order.len() {
                        let day = time::day_start(ts[order[start] as usize]);
                        let end = start
                            + order[start..]
                                .partition_point(|&i| time::day_start(ts[i as usize]) == day);
                        let day_rows = JobRows::Picked(parts, &order[start..end]);
                        self.append_day(txn, key, day, day_rows, &mut jobs, &mut stats)?;
                        start = end;
                    }
                }
                self.write_segments(txn, key, jobs, &mut stats)?;
            }
        }
        Ok(stats)
    }

    /// Adds one day's rows (sorted by time) to the transaction, switching the day to
    /// hourly partitions when it passes the table's threshold. A day that stays a
    /// day partition becomes a job in `jobs`; a day that goes hourly is written at
    /// once (after the jobs before it), since it may merge rows already stored.
    fn append_day<'a>(
        &self,
        txn: &mut Txn,
        table: &str,
        day: i64,
        rows: JobRows<'a>,
        jobs: &mut Vec<SegmentJob<'a>>,
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
        if !hourly && existing + rows.len() as u64 <= threshold {
            jobs.push(SegmentJob {
                start: day,
                granularity: Granularity::Day,
                rows,
            });
            return Ok(());
        }
        self.write_segments(txn, table, std::mem::take(jobs), stats)?;
        // The day goes hourly: its existing day-partition rows are rewritten by hour.
        let mut all = rows.materialize().into_owned();
        if let Some(pi) = day_partition {
            let part = txn.manifest.tables[table].partitions[pi].clone();
            let snap = self.inner.current.read().map_err(lock_poisoned)?.clone();
            let schema = txn.manifest.tables[table].schema.clone();
            let mut cols: Vec<Column> = all.columns;
            for s in &part.segments {
                let seg = snap.segment(s.id)?;
                let idx: Vec<usize> = (0..schema.fields.len()).collect();
                let old = seg.read_columns(&idx)?;
                for (c, o) in cols.iter_mut().zip(old) {
                    c.append(&o);
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
            let order = time_order(ts);
            all = all.take(&order);
        }
        let t = txn.manifest.tables[table]
            .schema
            .time_index()
            .ok_or_else(|| Error::Internal("log table without time column".into()))?;
        let ColumnData::Int64(ts) = &all.columns[t].data else {
            return Err(Error::Internal("time column is not Int64".into()));
        };
        let all_parts = Parts::new(std::slice::from_ref(&all));
        let mut start = 0;
        let mut hours = Vec::new();
        while start < ts.len() {
            let hour = time::hour_start(ts[start]);
            let end = start + ts[start..].partition_point(|&x| time::hour_start(x) == hour);
            hours.push(SegmentJob {
                start: hour,
                granularity: Granularity::Hour,
                rows: JobRows::Range(&all_parts, start..end),
            });
            start = end;
        }
        self.write_segments(txn, table, hours, stats)
    }

    /// Writes the jobs' rows as new segments of their partitions (created if
    /// needed), at most `max_segment_rows` rows each. Names are given in job order;
    /// the files are encoded (each one's columns on every core), written, synced and
    /// renamed on several threads, then entered in the manifest in job order.
    fn write_segments(
        &self,
        txn: &mut Txn,
        table: &str,
        jobs: Vec<SegmentJob<'_>>,
        stats: &mut AppendStats,
    ) -> Result<()> {
        let max = self.inner.options.max_segment_rows.max(1);
        let mut pieces: Vec<SegmentJob<'_>> = Vec::with_capacity(jobs.len());
        for job in jobs {
            job.split(max, &mut pieces);
        }
        if pieces.is_empty() {
            return Ok(());
        }
        let b = &*self.inner.backend;
        let mut named = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let (id, file) = self.name_segment(txn, table, piece.start, piece.granularity)?;
            named.push((id, file, piece));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Each thread holds a copy of its segment's rows: big segments get one
        // thread per core, small ones more (to overlap their fsyncs).
        let largest = named
            .iter()
            .map(|(_, _, p)| p.rows.len())
            .max()
            .unwrap_or(1);
        let threads = (ROWS_IN_FLIGHT / largest.max(1)).clamp(cores, cores * SYNC_OVERLAP);
        let schema = &txn.manifest.tables[table].schema;
        let block_rows = self.inner.options.block_rows;
        let written = parallel::map(named, threads, |(id, file, piece)| {
            let rows = piece.rows.materialize();
            // Its columns on every core too: a commit's day pieces are uneven.
            let encoded = segment::write_segment(schema, &rows, id, block_rows)?;
            drop(rows);
            let entry = store_segment(b, id, file, encoded)?;
            Ok((piece.start, piece.granularity, entry))
        })?;
        for (start, granularity, entry) in written {
            stats.segments += 1;
            stats.bytes += entry.bytes;
            txn.written.push(entry.file.clone());
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
        }
        Ok(())
    }

    /// Takes the next segment id and names its file in its partition's directory
    /// (created now if new; its entry is made durable by the commit).
    fn name_segment(
        &self,
        txn: &mut Txn,
        table: &str,
        start: i64,
        granularity: Granularity,
    ) -> Result<(u64, String)> {
        let id = txn.manifest.next_segment_id;
        txn.manifest.next_segment_id += 1;
        self.inner
            .unused_segment_id
            .store(id + 1, Ordering::Relaxed);
        let part = PartitionEntry {
            start,
            granularity,
            segments: Vec::new(),
        };
        let dir = format!("tables/{table}/{}", part.key());
        if !txn.new_dirs.contains(&dir) {
            // Its entry (and its parents') are made durable by the commit, once for
            // all the directories the transaction created.
            self.inner.backend.create_dir_all(&dir)?;
            txn.new_dirs.push(dir.clone());
        }
        Ok((id, format!("{dir}/{id:016x}.lseg")))
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
        let (id, file) = self.name_segment(txn, table, start, granularity)?;
        let schema = &txn.manifest.tables[table].schema;
        let encoded = segment::write_segment(schema, rows, id, self.inner.options.block_rows)?;
        let entry = store_segment(b, id, file, encoded)?;
        txn.written.push(entry.file.clone());
        Ok(entry)
    }

    /// Merges each partition's small segments (as left by frequent small appends)
    /// into full-size ones. Readers keep their snapshots meanwhile.
    pub fn compact(&self, table: &str) -> Result<CompactStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = txn.manifest.table_key(table)?;
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
                            for (c, o) in cs.iter_mut().zip(part) {
                                c.append(&o);
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
        self.drop_partitions(table, |p| ends_by(p.end(), ts))
    }

    /// The partitions [`Db::drop_partitions_before`] would drop for `ts`, with their
    /// rows and bytes; nothing is changed (a retention dry run).
    pub fn partitions_before(&self, table: &str, ts: i64) -> Result<Vec<PartitionInfo>> {
        let info = self.table_info(table)?;
        if info.schema.time_column.is_none() {
            return Err(no_partitions(&info.name));
        }
        Ok(info
            .partitions
            .into_iter()
            .filter(|p| ends_by(p.end, ts))
            .collect())
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
        let key = txn.manifest.table_key(table)?;
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
        let key = txn.manifest.table_key(table)?;
        let t = txn
            .manifest
            .tables
            .get_mut(&key)
            .ok_or_else(|| Error::Internal("table vanished".into()))?;
        if t.schema.time_column.is_none() {
            return Err(no_partitions(&key));
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

    /// Removes segment files that no commit refers to (left by a crash or a failed
    /// write), and manifests older than the previous one. Runs when a writer opens.
    ///
    /// Only what logdb writes is removed: files named like segments
    /// (`<16 hex digits>.lseg`, and `.lseg.tmp` for unfinished ones) and the
    /// partition and table directories they leave empty. Anything else in the
    /// database directory (an editor's backup, a README, a file where a directory
    /// is expected) is left where it is and does not stop the open.
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
            let Some(parts) = list_dir(b, &tdir)? else {
                continue;
            };
            for part in parts {
                let pdir = backend::join(&tdir, &part);
                let Some(files) = list_dir(b, &pdir)? else {
                    continue;
                };
                let mut left = files.len();
                for f in files {
                    let path = backend::join(&pdir, &f);
                    if is_segment_file_name(&f) && !live.contains(path.as_str()) {
                        b.remove(&path)?;
                        left -= 1;
                    }
                }
                // Best effort: a directory that will not go (a link to a partition
                // kept on another disk) costs nothing, and must not stop the open.
                if left == 0 {
                    let _ = b.remove_dir(&pdir);
                }
            }
            if list_dir(b, &tdir)?.is_some_and(|l| l.is_empty()) {
                let _ = b.remove_dir(&tdir);
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

/// A table cannot take the name of a view.
fn check_not_a_view(m: &Manifest, name: &str) -> Result<()> {
    if m.views.keys().any(|v| v.eq_ignore_ascii_case(name)) {
        return Err(Error::InvalidInput(format!(
            "Catalog Error: a view named '{name}' already exists"
        )));
    }
    Ok(())
}

/// Writes an encoded segment durably under its final name `file` (a temporary
/// file, synced, then renamed) and returns its manifest entry.
fn store_segment(
    b: &dyn Backend,
    id: u64,
    file: String,
    encoded: segment::EncodedSegment,
) -> Result<SegmentEntry> {
    let tmp = format!("{file}.tmp");
    b.write(&tmp, &encoded.bytes)?;
    b.sync(&tmp)?;
    b.rename(&tmp, &file)?;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::storage::backend::{FileBytes, WriterLock};
    use crate::storage::mem::MemBackend;

    /// The time order of rows in order, with a few late rows, with ties, with too
    /// many late rows and in reverse is the (time, position) sort's.
    #[test]
    fn time_order_takes_rows_in_order_and_sorts_the_late_ones() {
        let sorted = |ts: &[i64]| {
            let mut p: Vec<(i64, u32)> = ts.iter().zip(0u32..).map(|(&t, i)| (t, i)).collect();
            p.sort_unstable();
            p.into_iter().map(|(_, i)| i).collect::<Vec<u32>>()
        };
        let n = 10_000i64;
        let rising: Vec<i64> = (0..n).map(|i| i * 10).collect();
        let mut late = rising.clone();
        for i in (500..n as usize).step_by(997) {
            late[i] -= 3_000; // behind a few hundred rows
        }
        late[1] = -5; // before every row
        let ties: Vec<i64> = (0..n)
            .map(|i| (i / 7) * 10 - (i % 7 == 3) as i64 * 10)
            .collect();
        let shuffled: Vec<i64> = (0..n).map(|i| (i * 7919) % 1009).collect();
        let falling: Vec<i64> = (0..n).rev().collect();
        for ts in [vec![], vec![4], rising, late, ties, shuffled, falling] {
            assert_eq!(time_order(&ts), sorted(&ts), "{:?}", &ts[..ts.len().min(8)]);
        }
    }

    /// A job splits into the fewest pieces of at most `max` rows, of equal size give
    /// or take a row, covering its rows once in order.
    #[test]
    fn jobs_split_into_equal_pieces() {
        let parts = Parts {
            batches: &[],
            starts: vec![0],
            rows: 0,
        };
        let picked: Vec<u32> = (0..25).collect();
        for (n, max, expect) in [
            (0, 10, vec![]),
            (10, 10, vec![10]),
            (11, 10, vec![6, 5]),
            (20, 10, vec![10, 10]),
            (23, 10, vec![8, 8, 7]),
            (25, 1, vec![1; 25]),
        ] {
            for rows in [
                JobRows::Range(&parts, 100..100 + n),
                JobRows::Picked(&parts, &picked[..n]),
            ] {
                let job = SegmentJob {
                    start: 0,
                    granularity: Granularity::Day,
                    rows,
                };
                let mut out = Vec::new();
                job.split(max, &mut out);
                let sizes: Vec<usize> = out.iter().map(|j| j.rows.len()).collect();
                assert_eq!(sizes, expect, "{n} rows, at most {max}");
                let mut next = 0;
                for j in &out {
                    let first = match &j.rows {
                        JobRows::Range(_, r) => r.start - 100,
                        JobRows::Picked(_, p) => p[0] as usize,
                    };
                    assert_eq!(first, next);
                    next += j.rows.len();
                }
            }
        }
    }

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
