//! `logdb export`: a table as Parquet files in a Hive-partitioned directory,
//! `DIR/day=YYYY-MM-DD/part-N.parquet`, that Spark, Trino, Hive and DuckDB read
//! as they are; a table without a time column as `DIR/part-N.parquet`. See
//! spec/export.md.
//!
//! The export is incremental. `DIR/_logdb_export.json` (engines skip names
//! starting with `_`) records, per day, a fingerprint of the segments the day's
//! files were written from and the files themselves. A run writes only the days
//! whose segments changed since (new rows, a compaction, a retention), removes
//! the files of days the table no longer has, and rewrites the manifest after
//! every day, so a run that was killed resumes where it stopped and a run with
//! nothing new writes nothing. A table without a time column is one unit: its
//! files are written again when any of its segments changed.
//!
//! A day's file is written under a hidden name (`.part-N.parquet.tmp`, which
//! engines skip), synced, and renamed over `part-N.parquet`: a reader sees the
//! old file or the new one, never half of one. Nothing outside `DIR` is
//! written or removed, and inside it only the files the manifest or this
//! layout names.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arrow::{ParquetCompression, ParquetOptions, ParquetWriter};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, QueryStream};
use crate::storage::manifest::Granularity;
use crate::time::MICROS_PER_DAY;

/// The manifest's name inside the export directory.
pub const MANIFEST: &str = "_logdb_export.json";
const LOCK: &str = "_logdb_export.lock";
const MANIFEST_VERSION: u32 = 1;

/// How an export is written.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The Parquet codec (zstd by default: every engine named above reads it,
    /// and it is a third smaller than snappy on log columns).
    pub compression: ParquetCompression,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Rows per file: a bigger day is split into `part-0`, `part-1`, ...
    pub rows_per_file: u64,
    /// The settings the day queries run with (threads, memory limit, cancel).
    pub exec: ExecOptions,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            compression: ParquetCompression::Zstd,
            row_group_rows: ParquetOptions::default().row_group_rows,
            rows_per_file: 16 << 20,
            exec: ExecOptions::default(),
        }
    }
}

/// What a run did. A table without a time column counts as one day here
/// (`whole_table` says so).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// The table has no time column: it was exported whole, not by day.
    pub whole_table: bool,
    /// Days written (new or changed).
    pub days_written: usize,
    /// Days whose files were already up to date.
    pub days_unchanged: usize,
    /// Days the table no longer has, whose files were removed.
    pub days_removed: usize,
    pub files_written: usize,
    pub rows_written: u64,
    pub bytes_written: u64,
}

/// The export manifest.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    table: String,
    /// `name TYPE` per column: a change of schema rewrites every day.
    columns: Vec<String>,
    days: BTreeMap<String, DayEntry>,
    /// A table without a time column: the fingerprint of all its segments and
    /// its files (`part-N.parquet` at the top of the directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    whole: Option<DayEntry>,
}

impl ExportStats {
    /// Counts a day (or the whole table, `name`) written as `written`, and says so.
    fn count(&mut self, name: &str, written: &DayEntry, progress: &mut dyn FnMut(&str)) {
        self.days_written += 1;
        self.files_written += written.files.len();
        self.rows_written += written.rows;
        self.bytes_written += written.bytes;
        progress(&format!(
            "{name}: {} rows, {} file(s), {}",
            written.rows,
            written.files.len(),
            crate::value::format_bytes(written.bytes)
        ));
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct DayEntry {
    fingerprint: String,
    /// Paths relative to the export directory.
    files: Vec<String>,
    rows: u64,
    bytes: u64,
}

/// One day of the table: its start and its segments' fingerprint.
struct Day {
    key: String,
    start: i64,
    fingerprint: String,
}

/// Exports `table` of `db` into `dir` (created if missing), calling `progress`
/// with a line per day written or removed.
pub fn export_parquet(
    db: &Db,
    table: &str,
    dir: &Path,
    options: &ExportOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ExportStats> {
    let snapshot = db.snapshot()?;
    let entry = snapshot.table(table)?;
    let schema = entry.schema.clone();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Checked before the lock file is created in it.
    read_manifest(dir)?;
    let _lock = lock(dir)?;
    let columns: Vec<String> = schema
        .fields
        .iter()
        .map(|f| format!("{} {}", f.name, f.data_type))
        .collect();
    let mut manifest = read_manifest(dir)?;
    if !manifest.table.is_empty() && manifest.table != table {
        return Err(Error::InvalidInput(format!(
            "export: {} holds an export of table '{}', not '{table}'",
            dir.display(),
            manifest.table
        )));
    }
    if manifest.columns != columns {
        // A new schema: every day is written again.
        for d in manifest.days.values_mut() {
            d.fingerprint.clear();
        }
    }
    manifest.version = MANIFEST_VERSION;
    manifest.table = table.to_string();
    manifest.columns = columns;
    let column_names: Vec<String> = schema.fields.iter().map(|f| f.name.clone()).collect();
    let Some(time_column) = schema.time_column.clone() else {
        let unit = Export {
            snapshot: &snapshot,
            table,
            columns: &column_names,
            dir,
            options,
        };
        return export_whole(&unit, entry, &mut manifest, progress);
    };

    let days = days_of(entry);
    let mut stats = ExportStats::default();
    // Exported before as a table without a time column: those files go.
    if let Some(old) = manifest.whole.take() {
        for f in &old.files {
            remove_if_present(&dir.join(f))?;
        }
        sync_dir(dir)?;
        write_manifest(dir, &manifest)?;
    }
    // Days gone from the table (retention): their files go too.
    let live: std::collections::BTreeSet<&str> = days.iter().map(|d| d.key.as_str()).collect();
    let gone: Vec<String> = manifest
        .days
        .keys()
        .filter(|k| !live.contains(k.as_str()))
        .cloned()
        .collect();
    for key in gone {
        if let Some(old) = manifest.days.remove(&key) {
            for f in &old.files {
                remove_if_present(&dir.join(f))?;
            }
            let _ = std::fs::remove_dir(dir.join(day_dir(&key)));
            sync_dir(dir)?;
            write_manifest(dir, &manifest)?;
            stats.days_removed += 1;
            progress(&format!("{key}: removed (no longer in the table)"));
        }
    }

    let todo: Vec<&Day> = days
        .iter()
        .filter(|day| {
            let same = manifest
                .days
                .get(&day.key)
                .is_some_and(|d| d.fingerprint == day.fingerprint);
            stats.days_unchanged += same as usize;
            !same
        })
        .collect();
    // Days are written on up to `threads` threads at once, sharing the threads;
    // this thread keeps the manifest. It is rewritten (and synced) at most once
    // a second while days are written, and at the end, also after an error:
    // days written since the last rewrite are written again by the next run.
    let workers = options.exec.threads.clamp(1, todo.len().max(1));
    let mut day_options = options.clone();
    day_options.exec.threads = (options.exec.threads / workers).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = crossbeam::channel::bounded::<(usize, Result<DayEntry>)>(workers);
    let mut saved = std::time::Instant::now();
    let mut dirty = false;
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (todo, next, stop, snapshot) = (&todo, &next, &stop, &snapshot);
            let (time_column, column_names, day_options) =
                (time_column.as_str(), &column_names, &day_options);
            scope.spawn(move || loop {
                use std::sync::atomic::Ordering::Relaxed;
                let k = next.fetch_add(1, Relaxed);
                let Some(day) = todo.get(k) else { return };
                if stop.load(Relaxed) {
                    return;
                }
                let written = day_options.exec.check_cancel().and_then(|_| {
                    let unit = Export {
                        snapshot,
                        table,
                        columns: column_names,
                        dir,
                        options: day_options,
                    };
                    let sub = day_dir(&day.key);
                    unit.write(Some((time_column, day.start)), Some(&sub), &day.fingerprint)
                });
                if written.is_err() {
                    stop.store(true, Relaxed);
                }
                if tx.send((k, written)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (k, written) in rx {
            let day = todo[k];
            let step = written.and_then(|written| {
                // Parts of the old export beyond the new ones.
                if let Some(old) = manifest.days.get(&day.key) {
                    for f in old.files.iter().filter(|f| !written.files.contains(f)) {
                        remove_if_present(&dir.join(f))?;
                    }
                }
                sync_dir(&dir.join(day_dir(&day.key)))?;
                stats.count(&day.key, &written, progress);
                manifest.days.insert(day.key.clone(), written);
                dirty = true;
                if saved.elapsed() >= std::time::Duration::from_secs(1) {
                    write_manifest(dir, &manifest)?;
                    saved = std::time::Instant::now();
                    dirty = false;
                }
                Ok(())
            });
            if let Err(e) = step {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
    });
    if dirty {
        let saved = write_manifest(dir, &manifest);
        if let Some(e) = failure {
            return Err(e);
        }
        saved?;
    } else if let Some(e) = failure {
        return Err(e);
    }
    if stats.days_written == 0 && stats.days_removed == 0 {
        // Nothing changed; the manifest is written once so that a first export of
        // an empty table leaves one.
        if !dir.join(MANIFEST).exists() {
            write_manifest(dir, &manifest)?;
        }
    }
    Ok(stats)
}

fn day_dir(key: &str) -> String {
    format!("day={key}")
}

/// The table's days, in order, each with a fingerprint of its segments (file
/// and footer checksum of each, in manifest order).
fn days_of(entry: &crate::storage::manifest::TableEntry) -> Vec<Day> {
    let mut by_day: BTreeMap<i64, String> = BTreeMap::new();
    for p in &entry.partitions {
        if p.granularity == Granularity::All || p.segments.is_empty() {
            continue;
        }
        let start = p.start.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
        let text = by_day.entry(start).or_default();
        for s in &p.segments {
            text.push_str(&format!("{}:{:08x};", s.file, s.footer_crc));
        }
    }
    by_day
        .into_iter()
        .map(|(start, text)| Day {
            key: crate::time::format_date(start),
            start,
            fingerprint: format!("{:016x}", fnv1a(text.as_bytes())),
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What one export writes from: the snapshot, the table and its columns, the
/// directory and the options.
struct Export<'a> {
    snapshot: &'a crate::db::Snapshot,
    table: &'a str,
    columns: &'a [String],
    dir: &'a Path,
    options: &'a ExportOptions,
}

impl Export<'_> {
    /// Writes the rows of one day (`range`: the time column and the day's
    /// start) or of the whole table (`None`) as `part-N.parquet` files in `sub`
    /// (a day's directory) or at the top of the export directory (`None`).
    fn write(
        &self,
        range: Option<(&str, i64)>,
        sub: Option<&str>,
        fingerprint: &str,
    ) -> Result<DayEntry> {
        let options = self.options;
        let mut sql = format!(
            "SELECT {} FROM {}",
            self.columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            quote(self.table),
        );
        if let Some((time_column, start)) = range {
            sql.push_str(&format!(
                " WHERE {tc} >= TIMESTAMP '{}' AND {tc} < TIMESTAMP '{}'",
                crate::time::format_timestamp(start),
                crate::time::format_timestamp(start + MICROS_PER_DAY),
                tc = quote(time_column),
            ));
        }
        let query = crate::sql::parse(&sql)?;
        let plan = crate::sql::plan_query_with(self.snapshot, &query, &options.exec)?;
        let mut stream = QueryStream::start(self.snapshot.clone(), plan, options.exec.clone())?;
        let types = stream.columns().to_vec();
        let out = match sub {
            Some(sub) => self.dir.join(sub),
            None => self.dir.to_path_buf(),
        };
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        let parquet = ParquetOptions {
            compression: options.compression,
            row_group_rows: options.row_group_rows,
        };
        let mut entry = DayEntry {
            fingerprint: fingerprint.to_string(),
            files: Vec::new(),
            rows: 0,
            bytes: 0,
        };
        let mut part: Option<Part> = None;
        while let Some(batch) = stream.next_batch() {
            let batch = batch?;
            options.exec.check_cancel()?;
            if part
                .as_ref()
                .is_some_and(|p| p.rows >= options.rows_per_file)
            {
                if let Some(p) = part.take() {
                    finish_part(p, sub, &mut entry)?;
                }
            }
            if part.is_none() {
                let n = entry.files.len();
                part = Some(Part::create(&out, n, &types, &parquet)?);
            }
            if let Some(p) = part.as_mut() {
                p.rows += batch.num_rows() as u64;
                p.writer.write(batch)?;
            }
        }
        if let Some(p) = part.take() {
            finish_part(p, sub, &mut entry)?;
        }
        if entry.files.is_empty() {
            // A day whose rows were all deleted (an empty table) still gets a
            // file: the export has every day the table has, and an empty
            // Parquet file reads as no rows.
            let p = Part::create(&out, 0, &types, &parquet)?;
            finish_part(p, sub, &mut entry)?;
        }
        Ok(entry)
    }
}

/// The export of a table without a time column: `DIR/part-N.parquet`, written
/// again whenever any of its segments changed (one fingerprint of them all).
fn export_whole(
    unit: &Export,
    entry: &crate::storage::manifest::TableEntry,
    manifest: &mut Manifest,
    progress: &mut dyn FnMut(&str),
) -> Result<ExportStats> {
    let dir = unit.dir;
    let mut stats = ExportStats {
        whole_table: true,
        ..ExportStats::default()
    };
    // Exported by day before (the table had a time column): those files go.
    let days = std::mem::take(&mut manifest.days);
    for (key, old) in &days {
        for f in &old.files {
            remove_if_present(&dir.join(f))?;
        }
        let _ = std::fs::remove_dir(dir.join(day_dir(key)));
        stats.days_removed += 1;
    }
    if !days.is_empty() {
        sync_dir(dir)?;
        write_manifest(dir, manifest)?;
    }
    let mut text = String::new();
    for p in &entry.partitions {
        for s in &p.segments {
            text.push_str(&format!("{}:{:08x};", s.file, s.footer_crc));
        }
    }
    let fingerprint = format!("{:016x}", fnv1a(text.as_bytes()));
    if manifest
        .whole
        .as_ref()
        .is_some_and(|w| w.fingerprint == fingerprint)
    {
        stats.days_unchanged = 1;
        if !dir.join(MANIFEST).exists() {
            write_manifest(dir, manifest)?;
        }
        return Ok(stats);
    }
    unit.options.exec.check_cancel()?;
    let written = unit.write(None, None, &fingerprint)?;
    if let Some(old) = &manifest.whole {
        for f in old.files.iter().filter(|f| !written.files.contains(f)) {
            remove_if_present(&dir.join(f))?;
        }
    }
    sync_dir(dir)?;
    stats.count(unit.table, &written, progress);
    manifest.whole = Some(written);
    write_manifest(dir, manifest)?;
    Ok(stats)
}

/// A file being written under its hidden name.
struct Part {
    tmp: PathBuf,
    path: PathBuf,
    name: String,
    writer: ParquetWriter<BufWriter<File>>,
    rows: u64,
}

impl Part {
    fn create(
        out: &Path,
        n: usize,
        types: &[(String, crate::schema::DataType)],
        options: &ParquetOptions,
    ) -> Result<Part> {
        let name = format!("part-{n}.parquet");
        let tmp = out.join(format!(".{name}.tmp"));
        let path = out.join(&name);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let writer = ParquetWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            &path,
            types,
            options,
        )?;
        Ok(Part {
            tmp,
            path,
            name,
            writer,
            rows: 0,
        })
    }
}

fn finish_part(p: Part, sub: Option<&str>, entry: &mut DayEntry) -> Result<()> {
    let file = p
        .writer
        .finish()?
        .into_inner()
        .map_err(|e| Error::io(&p.tmp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&p.tmp, e))?;
    let bytes = file.metadata().map_err(|e| Error::io(&p.tmp, e))?.len();
    drop(file);
    std::fs::rename(&p.tmp, &p.path).map_err(|e| Error::io(&p.path, e))?;
    entry.files.push(match sub {
        Some(sub) => format!("{sub}/{}", p.name),
        None => p.name.clone(),
    });
    entry.rows += p.rows;
    entry.bytes += bytes;
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A directory with other things in it is not an export to add to.
            let foreign = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .filter_map(|e| e.ok())
                .any(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    !(name.starts_with("day=") || name == LOCK || name.starts_with('.'))
                });
            if foreign {
                return Err(Error::InvalidInput(format!(
                    "export: {} is not empty and holds no {MANIFEST}; export into a new \
                     or empty directory",
                    dir.display()
                )));
            }
            return Ok(Manifest::default());
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::corrupt(&path, format!("not an export manifest: {e}")))?;
    if m.version > MANIFEST_VERSION {
        return Err(Error::IncompatibleVersion {
            path,
            found: m.version,
            supported: MANIFEST_VERSION,
        });
    }
    // Paths in it are only ever `day=.../part-N.parquet` (`part-N.parquet` for
    // a whole table): a manifest edited to name other files must not make an
    // export remove them.
    let part = |b: &str| b.starts_with("part-") && b.ends_with(".parquet") && !b.contains('/');
    for d in m.days.values() {
        for f in &d.files {
            let ok = f
                .split_once('/')
                .is_some_and(|(a, b)| a.starts_with("day=") && !a.contains("..") && part(b));
            if !ok {
                return Err(Error::corrupt(&path, format!("unexpected file name '{f}'")));
            }
        }
    }
    for f in m.whole.iter().flat_map(|w| &w.files) {
        if !part(f) {
            return Err(Error::corrupt(&path, format!("unexpected file name '{f}'")));
        }
    }
    Ok(m)
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!(".{MANIFEST}.tmp"));
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| Error::Internal(format!("export manifest: {e}")))?;
    {
        use std::io::Write;
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)
}

/// Holds `DIR/_logdb_export.lock` exclusively while the export runs: two
/// exports into one directory would overwrite each other's files.
fn lock(dir: &Path) -> Result<File> {
    use std::os::fd::AsRawFd;
    let path = dir.join(LOCK);
    let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
    // SAFETY: flock on a descriptor this function owns.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(Error::Locked {
            path: dir.to_path_buf(),
            detail: "another export into this directory is running".into(),
        });
    }
    Ok(f)
}
