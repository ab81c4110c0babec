//! The bulk-import pipeline: files (plain, `.gz`, `.zst`, directories, stdin) are read
//! in chunks cut at line ends, parsed on every core, and appended in large batches,
//! each one durable commit. Reading, parsing and encoding overlap; every queue between
//! them is bounded, so peak memory does not grow with the input.
//!
//! Every line is accounted for: `lines = rows + rejected`, per chunk and in total.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam::channel::{bounded, Receiver};
use crossbeam::queue::ArrayQueue;

use crate::column::{Batch, BatchBuilder};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ingest::chunks::{self, read_source, LineCursor, Parsed, ReaderMsg};
use crate::ingest::input::{
    file_identity, open_source, source_name, Sampled, SAMPLE_BYTES, SAMPLE_LINES,
};
use crate::ingest::{self, detect, Compression, ParserOptions, Reject, TimeColumn};

pub use crate::ingest::input::{expand_sources, Source};
use crate::schema::TableSchema;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub format: String,
    pub parser: ParserOptions,
    pub table: String,
    /// Rows per commit (default: the database's segment size).
    pub batch_rows: Option<usize>,
    /// Parser threads (default: the number of cores).
    pub threads: Option<usize>,
    /// Stop when more lines than this are rejected.
    pub max_rejects: Option<u64>,
    /// Stop, storing nothing, when more than this share of the first
    /// [`REJECT_WINDOW_LINES`] lines (or of all lines, if fewer) is rejected. `None`
    /// (the library's default) never stops; `logdb import` uses
    /// [`DEFAULT_MAX_REJECT_RATIO`].
    pub max_reject_ratio: Option<f64>,
    /// `table` is a default the import may change: a records table (jsonl, csv or
    /// tsv that is not an access log) is named after its input file, and a format
    /// whose schema differs from an existing `table` goes to a table named after
    /// the format. Off by default: the library imports into `table` or fails.
    pub auto_table: bool,
    /// The bitmap-indexed columns of a table this import creates (default: the
    /// format's own choice).
    pub index: Option<Vec<String>>,
    /// Commit at least this often when lines trickle in (stdin, follow mode).
    pub max_commit_delay: Option<Duration>,
}

impl ImportOptions {
    pub fn new(format: &str) -> ImportOptions {
        ImportOptions {
            format: format.to_string(),
            parser: ParserOptions::default(),
            table: "logs".into(),
            batch_rows: None,
            threads: None,
            max_rejects: None,
            max_reject_ratio: None,
            auto_table: false,
            index: None,
            max_commit_delay: None,
        }
    }
}

/// What an import did. Always `lines == rows + rejected`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub files: u64,
    pub bytes_read: u64,
    pub lines: u64,
    pub rows: u64,
    pub rejected: u64,
    pub commits: u64,
    /// Files that could not be read to the end (e.g. a cut-short gzip), with the error.
    pub file_errors: Vec<String>,
    /// The format read (the detected one for `auto`).
    pub format: String,
    /// The table written.
    pub table: String,
}

/// Parsed chunks (of [`chunks::CHUNK_BYTES`] each) that may wait for the committer.
const PARSED_AHEAD: usize = 12;

/// Committed batches kept for the parsers to reuse: more than one commit's batches at
/// the default segment size (4 MiB chunks of lines of 60 bytes or more).
const SPENT_BATCHES: usize = 512;

/// Lines at the start of an import whose reject share decides whether the format is
/// wrong ([`ImportOptions::max_reject_ratio`]).
pub const REJECT_WINDOW_LINES: u64 = 10_000;

/// The reject share `logdb import` stops at.
pub const DEFAULT_MAX_REJECT_RATIO: f64 = 0.1;

/// Receives progress, rejected lines and commits as the import runs.
pub trait ImportObserver {
    /// Called after every chunk with totals so far.
    fn progress(&mut self, _stats: &ImportStats, _total_bytes: Option<u64>) {}
    /// A rejected line: its file, 1-based line number, reason and text.
    fn reject(&mut self, _file: &str, _line: u64, _reason: &str, _text: &[u8]) {}
    /// A batch became durable (totals after the commit).
    fn committed(&mut self, _stats: &ImportStats) {}
    /// A choice made for the user, one line: the detected format, the table used.
    fn note(&mut self, _message: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;
impl ImportObserver for Quiet {}

/// Parsed batches waiting for a commit, handed to [`Db::append_batches`] as they
/// are: each segment copies its rows straight from them, never through one
/// concatenated batch.
#[derive(Default)]
struct Pending {
    parts: Vec<Batch>,
    rows: usize,
}

impl Pending {
    fn push(&mut self, b: Batch) {
        self.rows += b.num_rows();
        self.parts.push(b);
    }

    fn num_rows(&self) -> usize {
        self.rows
    }

    fn take(&mut self) -> Vec<Batch> {
        self.rows = 0;
        std::mem::take(&mut self.parts)
    }
}

/// Lines read ahead of the import from the first input: to detect the format
/// (`auto`), to infer a records file's columns, or none for a given line format (so
/// a slow pipe is imported as its lines arrive).
fn lines_ahead(format: &str) -> Option<usize> {
    if format == "auto" {
        Some(detect::DETECT_LINES)
    } else if needs_sample(format) {
        Some(SAMPLE_LINES)
    } else {
        None
    }
}

/// Formats whose columns depend on the data: their parser needs a sample of the first
/// lines (and csv/tsv their header).
fn needs_sample(format: &str) -> bool {
    matches!(format, "jsonl" | "csv" | "tsv")
}

/// The format to read: `format`, or for `auto` the one detected in `sampled`
/// (which is then read on far enough for the format's schema inference).
fn resolve_format(
    format: &str,
    sampled: Option<&mut Sampled>,
    observer: &mut dyn ImportObserver,
) -> Result<String> {
    if format != "auto" {
        return Ok(format.to_string());
    }
    let sampled = sampled.ok_or_else(|| {
        Error::InvalidInput("--format auto needs an input to look at; none was given".into())
    })?;
    let d = detect::detect(&sampled.sample, &sampled.name)?;
    let compressed = match sampled.compression {
        Compression::None => String::new(),
        c => format!(", {}-compressed", c.name()),
    };
    observer.note(&format!(
        "format: {} (detected from {}{compressed})",
        d.describe(),
        sampled.name
    ));
    if needs_sample(d.format) {
        sampled.extend(SAMPLE_LINES)?;
    }
    Ok(d.format.to_string())
}

/// A table name from an input's file name: the part before the first dot, in
/// lowercase letters, digits and `_` (`Users 2024.csv` -> `users_2024`).
pub(crate) fn table_name_from(input: &str) -> Option<String> {
    let file = Path::new(input).file_name()?.to_string_lossy().into_owned();
    let stem = file.split('.').next().unwrap_or_default();
    let mut name = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_');
    let name = if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("t_{name}")
    } else {
        name.to_string()
    };
    (!name.is_empty() && name.len() <= 64).then_some(name)
}

/// The table an import writes, and how.
struct Prepared {
    popts: ParserOptions,
    schema: TableSchema,
    table: String,
    /// The table does not exist yet: it is created with `schema` just before the
    /// first commit (so an import that stops early leaves no table behind).
    create: bool,
}

/// Settles the parser options and the table. An existing table's schema is used for
/// formats whose columns depend on the data; a new table gets the format's schema
/// (with `opts.index`, when given). With `opts.auto_table`, a records table is named
/// after `input` and a format whose schema differs from the default table's goes to
/// a table named after the format ([`ImportObserver::note`] says which). `sample` is
/// called only when a sample is needed.
fn prepare_table(
    db: &Db,
    opts: &ImportOptions,
    format: &str,
    input: Option<&str>,
    sample: impl FnOnce() -> Result<Vec<u8>>,
    observer: &mut dyn ImportObserver,
) -> Result<Prepared> {
    let mut popts = opts.parser.clone();
    if !needs_sample(format) && popts.time_column != TimeColumn::Detect {
        return Err(Error::InvalidInput(format!(
            "--time-column applies to jsonl, csv and tsv; format '{format}' has its time in column ts"
        )));
    }
    let snapshot = db.snapshot()?;
    let existing = |t: &str| -> Result<Option<TableSchema>> {
        match snapshot.table(t) {
            Ok(e) => Ok(Some(e.schema.clone())),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    if needs_sample(format) && popts.sample.is_none() {
        popts.sample = Some(sample()?);
    }
    // The schema of a new table.
    let fresh = ingest::parser_for(format, &popts)?.schema().clone();
    let mut table = opts.table.clone();
    let mut why = None;
    if opts.auto_table && !ingest::is_log_schema(&fresh) {
        table = input
            .and_then(table_name_from)
            .unwrap_or_else(|| format.to_string());
        why = Some("named after the input");
    }
    let mut current = existing(&table)?;
    if needs_sample(format) && popts.schema.is_none() {
        if let Some(s) = &current {
            // Later imports of the same kind of file read into the table's columns.
            popts.schema = Some(s.clone());
        }
    }
    let mut schema = ingest::parser_for(format, &popts)?.schema().clone();
    if current.as_ref().is_some_and(|s| s.fields != schema.fields) {
        let alt = format.to_string();
        let alt_schema = existing(&alt)?;
        let alt_ok = alt != table && alt_schema.as_ref().is_none_or(|s| s.fields == fresh.fields);
        if opts.auto_table && alt_ok {
            why = Some("the default table holds another format");
            table = alt;
            current = alt_schema;
            schema = fresh;
        } else {
            let suggestion = if alt_ok {
                alt
            } else {
                format!("{format}_logs")
            };
            return Err(Error::InvalidInput(format!(
                "table '{table}' exists with a different schema than format '{format}' produces; \
                 import into another table: --table {suggestion}"
            )));
        }
    }
    if let Some(why) = why.filter(|_| table != opts.table) {
        observer.note(&format!("table: {table} ({why}; choose one with --table)"));
    }
    if let Some(index) = &opts.index {
        match &current {
            None => {
                schema.indexed = index.clone();
                schema.validate()?;
            }
            Some(s) if &s.indexed != index => {
                return Err(Error::InvalidInput(format!(
                    "--index applies when a table is created; table '{table}' exists with \
                     indexes on: {}",
                    s.indexed.join(", ")
                )))
            }
            Some(_) => {}
        }
    }
    Ok(Prepared {
        popts,
        schema,
        table,
        create: current.is_none(),
    })
}

/// Imports `sources` into `db`, creating the table with the format's schema if it does
/// not exist (and checking the schema if it does).
pub fn import(
    db: &Db,
    sources: &[Source],
    opts: &ImportOptions,
    observer: &mut dyn ImportObserver,
) -> Result<ImportStats> {
    let inputs = expand_sources(sources)?;
    // The first input is opened here when its first lines are needed (to detect the
    // format, or to infer columns); they are replayed ahead of the rest of it, so
    // this works on stdin too. A format given for plain lines reads nothing ahead, so
    // a slow pipe is imported as its lines arrive.
    let ahead = lines_ahead(&opts.format);
    let mut sampled = match (ahead, inputs.first()) {
        (Some(lines), Some(src)) => Some(Sampled::open(src, lines)?),
        _ => None,
    };
    let format = resolve_format(&opts.format, sampled.as_mut(), observer)?;
    let early_sample: Option<Vec<u8>> = sampled.as_ref().map(|s| s.sample.clone());
    let Prepared {
        popts,
        schema,
        table,
        create,
    } = prepare_table(
        db,
        opts,
        &format,
        // Records tables are named after the first file (stdin: after the format).
        match inputs.first() {
            Some(Source::Path(p)) => Some(p.display().to_string()),
            _ => None,
        }
        .as_deref(),
        || {
            early_sample
                .clone()
                .ok_or_else(|| Error::InvalidInput("no input to sample".into()))
        },
        observer,
    )?;
    let mut to_create = create.then(|| schema.clone());
    let mut first: Option<Box<dyn Read + Send>> = sampled.map(Sampled::into_reader);
    // The start of the first input, for a format suggestion when too many lines are
    // rejected.
    let head: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(early_sample.clone());
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let batch_rows = opts
        .batch_rows
        .unwrap_or(db.options().max_segment_rows)
        .max(1);
    let total_bytes: Option<u64> = inputs
        .iter()
        .map(|s| match s {
            Source::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Source::Stdin => None,
        })
        .sum();
    let names: Vec<String> = inputs.iter().map(source_name).collect();
    let mut stats = ImportStats {
        files: inputs.len() as u64,
        format: format.clone(),
        table: table.clone(),
        ..Default::default()
    };

    let (chunk_tx, chunk_rx) = bounded::<ReaderMsg>(threads * 2);
    // Room for parsed chunks while a commit runs (sorting, encoding and syncing a
    // batch), so that the parsers keep going meanwhile: at most PARSED_AHEAD chunks.
    let (parsed_tx, parsed_rx) =
        bounded::<std::result::Result<Parsed, String>>((threads * 2).max(PARSED_AHEAD));
    let flush = opts.max_commit_delay;
    // Committed batches go back to the parsers, whose next batches reuse their
    // buffers instead of freeing them and allocating new ones (peak RSS of a 10M-line
    // import 960 -> 880 MB). It holds at most about one commit's batches: the parsers
    // take one per chunk.
    let spent: ArrayQueue<Batch> = ArrayQueue::new(SPENT_BATCHES);
    std::thread::scope(|s| -> Result<()> {
        // Owned here, so that an early return drops it and unblocks the parsers.
        let parsed_rx = parsed_rx;
        // Reader.
        let inputs_ref = &inputs;
        let reader_tx = chunk_tx;
        s.spawn(move || {
            let mut seq = 0;
            for (i, src) in inputs_ref.iter().enumerate() {
                let opened = match first.take().filter(|_| i == 0) {
                    Some(r) => Ok(r),
                    None => open_source(src).map(|(r, _)| r),
                };
                let input = match opened {
                    Ok(r) => r,
                    Err(e) => {
                        if reader_tx
                            .send(ReaderMsg::FileError(i, e.to_string()))
                            .is_err()
                        {
                            return;
                        }
                        continue;
                    }
                };
                if let Err(e) = read_source(i, input, &mut seq, &reader_tx, flush.is_some()) {
                    if reader_tx.send(ReaderMsg::FileError(i, e)).is_err() {
                        return;
                    }
                }
            }
        });
        // Parsers.
        for _ in 0..threads {
            let rx: Receiver<ReaderMsg> = chunk_rx.clone();
            let tx = parsed_tx.clone();
            let schema = &schema;
            let (format, popts, head, spent) = (&format, &popts, &head, &spent);
            s.spawn(move || {
                let mut parser = match ingest::parser_for(format, popts) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let mut builder = BatchBuilder::new(schema);
                for msg in rx {
                    let msg = match msg {
                        ReaderMsg::Chunk(c) => c,
                        ReaderMsg::FileError(i, e) => {
                            // Forward in order: an empty chunk carrying the error.
                            let _ = tx.send(Err(format!("{i}\u{0}{e}")));
                            continue;
                        }
                    };
                    if msg.seq == 0 {
                        if let Ok(mut h) = head.lock() {
                            h.get_or_insert_with(|| {
                                msg.data[..msg.data.len().min(SAMPLE_BYTES)].to_vec()
                            });
                        }
                    }
                    if let Some(b) = spent.pop() {
                        builder.recycle(b);
                    }
                    let parsed = chunks::parse(parser.as_mut(), &mut builder, msg);
                    if tx.send(Ok(parsed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(parsed_tx);
        drop(chunk_rx);

        // Writer: restore input order, accumulate, commit.
        let mut next_seq = 0u64;
        let mut waiting: BTreeMap<u64, Parsed> = BTreeMap::new();
        let mut pending = Pending::default();
        let mut last_commit = Instant::now();
        let mut gate = RejectGate::new(opts.max_reject_ratio);
        let commit = |pending: &mut Pending,
                      stats: &mut ImportStats,
                      to_create: &mut Option<TableSchema>,
                      observer: &mut dyn ImportObserver|
         -> Result<()> {
            if pending.num_rows() == 0 {
                return Ok(());
            }
            if let Some(schema) = to_create.take() {
                db.create_table(&table, schema)?;
            }
            // Not sorted here: `Db::append_batches` orders the rows by time as it splits
            // them into day partitions, copying them once.
            let parts = pending.take();
            db.append_batches(&table, &parts)?;
            stats.rows += parts.iter().map(Batch::num_rows).sum::<usize>() as u64;
            for b in parts {
                // The pool full: the rest are dropped.
                let _ = spent.push(b);
            }
            stats.commits += 1;
            observer.committed(stats);
            Ok(())
        };
        // Stops the import when the rejects seen so far pass the threshold.
        let check = |gate: &RejectGate, stats: &ImportStats| -> Result<()> {
            if gate.decided || !gate.exceeded() {
                return Ok(());
            }
            let sample = head.lock().ok().and_then(|h| h.clone());
            Err(gate.error(&format, sample.as_deref(), &table, stats.rows))
        };
        let tick = opts.max_commit_delay.unwrap_or(Duration::from_secs(3600));
        loop {
            let msg = match parsed_rx.recv_timeout(tick) {
                Ok(m) => m,
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => {
                    if pending.num_rows() > 0 {
                        check(&gate, &stats)?;
                        commit(&mut pending, &mut stats, &mut to_create, observer)?;
                        last_commit = Instant::now();
                    }
                    continue;
                }
                Err(crossbeam::channel::RecvTimeoutError::Disconnected) => break,
            };
            let parsed = match msg {
                Ok(p) => p,
                Err(e) => match e.split_once('\u{0}') {
                    Some((i, err)) => {
                        let name = i
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| names.get(i))
                            .cloned()
                            .unwrap_or_default();
                        stats.file_errors.push(format!("{name}: {err}"));
                        continue;
                    }
                    None => return Err(Error::Internal(e)),
                },
            };
            waiting.insert(parsed.seq, parsed);
            while let Some(p) = waiting.remove(&next_seq) {
                next_seq += 1;
                let rows = p.batch.num_rows() as u64;
                if p.lines != rows + p.rejects.len() as u64 {
                    return Err(Error::Internal(format!(
                        "parser accounted for {} of {} lines in {}",
                        rows + p.rejects.len() as u64,
                        p.lines,
                        names[p.file]
                    )));
                }
                stats.lines += p.lines;
                stats.bytes_read += p.read_bytes;
                stats.rejected += p.rejects.len() as u64;
                for (r, text) in &p.rejects {
                    observer.reject(&names[p.file], r.line, &r.reason, text);
                }
                gate.count(&p);
                if gate.window_full() {
                    check(&gate, &stats)?;
                    gate.decided = true;
                }
                if let Some(max) = opts.max_rejects {
                    if stats.rejected > max {
                        check(&gate, &stats)?;
                        commit(&mut pending, &mut stats, &mut to_create, observer)?;
                        return Err(Error::InvalidInput(format!(
                            "{} lines rejected, more than --max-rejects {max}; the {} rows before were committed",
                            stats.rejected, stats.rows
                        )));
                    }
                }
                pending.push(p.batch);
                observer.progress(
                    &ImportStats {
                        rows: stats.rows + pending.num_rows() as u64,
                        ..stats.clone()
                    },
                    total_bytes,
                );
                let due = opts
                    .max_commit_delay
                    .is_some_and(|d| last_commit.elapsed() >= d);
                if pending.num_rows() >= batch_rows || (due && pending.num_rows() > 0) {
                    check(&gate, &stats)?;
                    commit(&mut pending, &mut stats, &mut to_create, observer)?;
                    last_commit = Instant::now();
                }
            }
        }
        check(&gate, &stats)?;
        commit(&mut pending, &mut stats, &mut to_create, observer)?;
        if let Some(schema) = to_create.take() {
            // Nothing to store, but the import succeeded: the table exists after it.
            db.create_table(&table, schema)?;
        }
        Ok(())
    })?;
    Ok(stats)
}

/// The reject threshold's count over the first [`REJECT_WINDOW_LINES`] lines.
struct RejectGate {
    ratio: Option<f64>,
    /// Lines of the window seen, and those of them rejected.
    lines: u64,
    rejected: u64,
    first_reason: Option<String>,
    /// The window is complete and passed (or there is no threshold).
    decided: bool,
}

impl RejectGate {
    fn new(ratio: Option<f64>) -> RejectGate {
        RejectGate {
            ratio,
            lines: 0,
            rejected: 0,
            first_reason: None,
            decided: ratio.is_none(),
        }
    }

    /// Counts the lines of a parsed chunk that fall in the window.
    fn count(&mut self, p: &Parsed) {
        if self.decided {
            return;
        }
        let take = p.lines.min(REJECT_WINDOW_LINES - self.lines);
        // A chunk across the window's end: its rejects by line number (a csv
        // header or a multi-line record makes that approximate).
        let end = if take == p.lines {
            u64::MAX
        } else {
            p.first_line + take
        };
        for (r, _) in p.rejects.iter().filter(|(r, _)| r.line < end) {
            self.rejected += 1;
            self.first_reason
                .get_or_insert_with(|| format!("line {}: {}", r.line, r.reason));
        }
        self.rejected = self.rejected.min(self.lines + take);
        self.lines += take;
    }

    /// Why the import stops: the share rejected, a hint from detection on `sample`,
    /// and what was kept.
    fn error(
        &self,
        format: &str,
        sample: Option<&[u8]>,
        table: &str,
        committed_rows: u64,
    ) -> Error {
        let (rejected, lines) = (self.rejected, self.lines);
        let ratio = self.ratio.unwrap_or(0.0);
        let mut msg = format!(
            "format '{format}' rejected {rejected} of the first {lines} lines ({:.0}%, more than the \
             {:.0}% allowed)",
            rejected as f64 * 100.0 / lines.max(1) as f64,
            ratio * 100.0
        );
        if let Some(r) = &self.first_reason {
            msg.push_str(&format!("; first reason: {r}"));
        }
        match sample.map(|s| detect::detect(s, "the input")) {
            Some(Ok(d)) if d.format != format => msg.push_str(&format!(
                ". The input looks like {} ({} of its first {} lines fit): use --format {} (or --format auto)",
                d.describe(),
                d.stored,
                d.lines,
                d.format
            )),
            _ => msg.push_str(". Check --format (or pass --format auto)"),
        }
        if committed_rows == 0 {
            msg.push_str(&format!("; nothing was stored in table '{table}'"));
        } else {
            msg.push_str(&format!(
                "; the {committed_rows} rows committed before stay in table '{table}'"
            ));
        }
        msg.push_str(". To import anyway: --max-reject-ratio 1");
        Error::InvalidInput(msg)
    }

    fn window_full(&self) -> bool {
        !self.decided && self.lines >= REJECT_WINDOW_LINES
    }

    /// Over the threshold: more than the ratio, and either every line or at least
    /// two (one stray line in a tiny file says nothing about its format).
    fn exceeded(&self) -> bool {
        self.ratio.is_some_and(|r| {
            self.lines > 0
                && self.rejected as f64 > r * self.lines as f64
                && (self.rejected >= 2 || self.rejected == self.lines)
        })
    }
}

/// Where a followed file stands: which file (device and inode), the byte offset just
/// past the last line consumed, and the number of the next line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FollowPosition {
    dev: u64,
    ino: u64,
    offset: u64,
    next_line: u64,
}

impl FollowPosition {
    fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.dev, self.ino, self.offset, self.next_line
        )
    }
    fn decode(s: &str) -> Option<FollowPosition> {
        let mut it = s.split(':').map(|p| p.parse::<u64>().ok());
        let p = FollowPosition {
            dev: it.next()??,
            ino: it.next()??,
            offset: it.next()??,
            next_line: it.next()??,
        };
        it.next().is_none().then_some(p)
    }
}

/// How often a followed file is polled for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Follows a growing log file like `tail -F`: imports what is there, then new lines as
/// they are written, committing at least every `opts.max_commit_delay` (default one
/// second) so they become queryable. Survives rotation (the path names a new file: the
/// old one is read to its end first) and truncation (reading restarts at the top).
///
/// Each commit also records how far the file was read, so a restart resumes exactly
/// after the last committed line: no line is imported twice or skipped. Runs until
/// `stop` is set, then commits what was read and returns.
///
/// Like `tail -F`, it watches one path: a file that is created and rotated away again
/// before the follower looks (within one poll interval of 100 ms plus the commit in
/// progress, which a busy disk can stretch to hundreds of milliseconds) is never opened. Real rotation (hourly, daily,
/// by size) is far slower; import rotated-away files with a plain import if needed.
pub fn follow(
    db: &Db,
    path: &Path,
    opts: &ImportOptions,
    observer: &mut dyn ImportObserver,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<ImportStats> {
    use std::io::{Seek, SeekFrom};
    use std::sync::atomic::Ordering;

    let name = path.display().to_string();
    let ahead = lines_ahead(&opts.format);
    let mut sampled = match ahead {
        Some(lines) => Some(Sampled::open(&Source::Path(path.to_path_buf()), lines)?),
        None => None,
    };
    let format = resolve_format(&opts.format, sampled.as_mut(), observer)?;
    let sample = sampled.map(|s| s.sample);
    let Prepared {
        popts,
        schema: new_schema,
        table,
        create,
    } = prepare_table(
        db,
        opts,
        &format,
        Some(&name),
        || sample.ok_or_else(|| Error::InvalidInput("no input to sample".into())),
        observer,
    )?;
    if create {
        db.create_table(&table, new_schema)?;
    }
    let mut parser = ingest::parser_for(&format, &popts)?;
    let schema = parser.schema().clone();
    let key = format!(
        "follow:{}",
        std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
    );
    let delay = opts.max_commit_delay.unwrap_or(Duration::from_secs(1));
    let batch_rows = opts
        .batch_rows
        .unwrap_or(db.options().max_segment_rows)
        .max(1);

    let open = |p: &Path| -> Result<(File, (u64, u64))> {
        let f = File::open(p).map_err(|e| Error::io(p, e))?;
        let id = file_identity(&f.metadata().map_err(|e| Error::io(p, e))?);
        Ok((f, id))
    };
    let (mut file, mut id) = open(path)?;
    let saved = db
        .snapshot()?
        .checkpoint(&table, &key)?
        .and_then(FollowPosition::decode);
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut pos = match saved {
        Some(p) if (p.dev, p.ino) == id && p.offset <= len => p,
        _ => FollowPosition {
            dev: id.0,
            ino: id.1,
            offset: 0,
            next_line: 1,
        },
    };
    file.seek(SeekFrom::Start(pos.offset))
        .map_err(|e| Error::io(path, e))?;

    let mut stats = ImportStats {
        files: 1,
        format: format.clone(),
        table: table.clone(),
        ..Default::default()
    };
    let mut builder = BatchBuilder::new(&schema);
    let mut pending: Vec<u8> = Vec::new(); // read, not yet a complete line
    let mut skipping = false; // inside an over-long line
    let mut committed = pos;
    let mut first_uncommitted: Option<Instant> = None;
    let mut buf = vec![0u8; 1 << 20];
    let mut rejects = Vec::new();

    let commit = |builder: &mut BatchBuilder,
                  pos: FollowPosition,
                  stats: &mut ImportStats,
                  observer: &mut dyn ImportObserver|
     -> Result<()> {
        let batch = builder.finish();
        db.append_with_checkpoint(&table, &batch, Some((&key, &pos.encode())))?;
        stats.rows += batch.num_rows() as u64;
        stats.commits += 1;
        observer.committed(stats);
        Ok(())
    };

    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let n = if stopping {
            0
        } else {
            file.read(&mut buf).map_err(|e| Error::io(path, e))?
        };
        if n > 0 {
            stats.bytes_read += n as u64;
            let mut data = &buf[..n];
            if skipping {
                match memchr::memchr(b'\n', data) {
                    None => {
                        pos.offset += n as u64;
                        data = &[];
                    }
                    Some(i) => {
                        pos.offset += i as u64 + 1;
                        pos.next_line += 1;
                        skipping = false;
                        data = &data[i + 1..];
                    }
                }
            }
            pending.extend_from_slice(data);
            let cut = memchr::memrchr(b'\n', &pending).map_or(0, |i| i + 1);
            if cut > 0 {
                let before = builder.len();
                let lines =
                    parser.parse_chunk(&pending[..cut], pos.next_line, &mut builder, &mut rejects);
                if lines != (builder.len() - before + rejects.len()) as u64 {
                    return Err(Error::Internal(format!(
                        "parser accounted for a different number of lines than {lines} in {name}"
                    )));
                }
                let mut lines_of = LineCursor::new(&pending[..cut], pos.next_line);
                for r in rejects.drain(..) {
                    let text = lines_of.text(r.line);
                    observer.reject(&name, r.line, &r.reason, &text);
                    stats.rejected += 1;
                }
                stats.lines += lines;
                pos.offset += cut as u64;
                pos.next_line += lines;
                pending.drain(..cut);
                first_uncommitted.get_or_insert_with(Instant::now);
            }
            if pending.len() > ingest::MAX_LINE_LEN {
                observer.reject(
                    &name,
                    pos.next_line,
                    &format!("line longer than {} MiB", ingest::MAX_LINE_LEN >> 20),
                    &[],
                );
                stats.lines += 1;
                stats.rejected += 1;
                pos.offset += pending.len() as u64;
                pending.clear();
                skipping = true;
                first_uncommitted.get_or_insert_with(Instant::now);
            }
            observer.progress(
                &ImportStats {
                    rows: stats.rows + builder.len() as u64,
                    ..stats.clone()
                },
                None,
            );
        }
        let due = first_uncommitted.is_some_and(|t| t.elapsed() >= delay);
        if builder.len() >= batch_rows || (pos != committed && (due || stopping)) {
            commit(&mut builder, pos, &mut stats, observer)?;
            committed = pos;
            first_uncommitted = None;
        }
        if stopping {
            return Ok(stats);
        }
        if n > 0 {
            continue;
        }
        // At the end of the file: has the path moved on to a new file, or shrunk?
        match at_end_of_followed(&mut file, id, path, pos.offset + pending.len() as u64)? {
            AtEnd::ReadMore => continue,
            AtEnd::Rotated => {
                // The old file is complete, including an unterminated last line.
                if !pending.is_empty() && !skipping {
                    let lines =
                        parser.parse_chunk(&pending, pos.next_line, &mut builder, &mut rejects);
                    let mut lines_of = LineCursor::new(&pending, pos.next_line);
                    for r in rejects.drain(..) {
                        observer.reject(&name, r.line, &r.reason, &lines_of.text(r.line));
                        stats.rejected += 1;
                    }
                    stats.lines += lines;
                }
                pending.clear();
                skipping = false;
                (file, id) = open(path)?;
                pos = FollowPosition {
                    dev: id.0,
                    ino: id.1,
                    offset: 0,
                    next_line: 1,
                };
                commit(&mut builder, pos, &mut stats, observer)?;
                committed = pos;
                first_uncommitted = None;
                continue;
            }
            AtEnd::Truncated => {
                // Truncated in place (copytruncate): start again at the top.
                pending.clear();
                skipping = false;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::io(path, e))?;
                pos = FollowPosition {
                    offset: 0,
                    next_line: 1,
                    ..pos
                };
                commit(&mut builder, pos, &mut stats, observer)?;
                committed = pos;
                first_uncommitted = None;
                continue;
            }
            AtEnd::Wait => {}
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// What a follower found when a read of its file returned nothing.
#[derive(Debug, PartialEq, Eq)]
enum AtEnd {
    /// Nothing new: poll again later.
    Wait,
    /// The file grew after the read that returned nothing: read again before anything.
    ReadMore,
    /// The path names another file and the old one is read to its end: switch.
    Rotated,
    /// The path's file is shorter than what was consumed of it: start at the top.
    Truncated,
}

/// Looks at `path` after `file` (identity `id`, `consumed` bytes taken) read nothing.
/// Lines may have been appended to the old file between that read and a rename, so
/// a rotation counts only once the old file holds nothing past the read position.
fn at_end_of_followed(
    file: &mut File,
    id: (u64, u64),
    path: &Path,
    consumed: u64,
) -> Result<AtEnd> {
    use std::io::Seek;
    Ok(match std::fs::metadata(path) {
        Ok(meta) if file_identity(&meta) != id => {
            let read_to = file.stream_position().map_err(|e| Error::io(path, e))?;
            let old_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
            if old_len > read_to {
                AtEnd::ReadMore
            } else {
                AtEnd::Rotated
            }
        }
        Ok(meta) if meta.len() < consumed => AtEnd::Truncated,
        _ => AtEnd::Wait,
    })
}

/// Appends log lines from Rust code: push bytes as they arrive, [`Appender::flush`] to
/// make everything pushed so far durable and queryable.
///
/// ```
/// # fn main() -> logdb::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = logdb::Db::open(dir.path())?;
/// let mut app = logdb::import::Appender::new(&db, "logs", "combined", &Default::default())?;
/// app.push(b"10.0.0.1 - - [01/May/2024:10:00:00 +0000] \"GET /a?uid=7 HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n")?;
/// app.push(b"not a log line\n")?;
/// let stats = app.flush()?;
/// assert_eq!((stats.lines, stats.rows, stats.rejected), (2, 1, 1));
/// assert_eq!(app.take_rejects()[0].line, 2);
/// # Ok(())
/// # }
/// ```
pub struct Appender {
    db: Db,
    table: String,
    parser: Box<dyn ingest::LogParser>,
    builder: BatchBuilder,
    /// Bytes after the last complete line.
    pending: Vec<u8>,
    next_line: u64,
    batch_rows: usize,
    stats: ImportStats,
    rejects: Vec<Reject>,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("table", &self.table)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Appender {
    /// An appender of `format` lines into `table`, created with the format's schema if
    /// it does not exist.
    pub fn new(db: &Db, table: &str, format: &str, options: &ParserOptions) -> Result<Appender> {
        if format == "auto" {
            return Err(Error::InvalidInput(
                "an appender needs a format: 'auto' detects the format of a file or stdin".into(),
            ));
        }
        let mut opts = ImportOptions::new(format);
        opts.table = table.to_string();
        opts.parser = options.clone();
        let prepared = prepare_table(
            db,
            &opts,
            format,
            None,
            || {
                Err(Error::InvalidInput(format!(
                    "format '{format}' needs ParserOptions::schema or ParserOptions::sample for an appender"
                )))
            },
            &mut Quiet,
        )?;
        if prepared.create {
            db.create_table(table, prepared.schema)?;
        }
        let popts = prepared.popts;
        let parser = ingest::parser_for(format, &popts)?;
        let schema = parser.schema().clone();
        Ok(Appender {
            db: db.clone(),
            table: table.to_string(),
            builder: BatchBuilder::new(&schema),
            parser,
            pending: Vec::new(),
            next_line: 1,
            batch_rows: db.options().max_segment_rows,
            stats: ImportStats {
                files: 1,
                format: format.to_string(),
                table: table.to_string(),
                ..Default::default()
            },
            rejects: Vec::new(),
        })
    }

    /// Adds bytes: every complete line is parsed; a full batch is committed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        let cut = memchr::memrchr(b'\n', &self.pending).map_or(0, |i| i + 1);
        if cut > 0 {
            self.parse(cut);
        }
        if self.pending.len() > ingest::MAX_LINE_LEN {
            // An unterminated line already too long: parse it alone to reject it.
            self.parse(self.pending.len());
        }
        if self.builder.len() >= self.batch_rows {
            self.commit()?;
        }
        Ok(())
    }

    fn parse(&mut self, upto: usize) {
        let before = self.rejects.len();
        let lines = self.parser.parse_chunk(
            &self.pending[..upto],
            self.next_line,
            &mut self.builder,
            &mut self.rejects,
        );
        self.stats.lines += lines;
        self.stats.rejected += (self.rejects.len() - before) as u64;
        self.stats.bytes_read += upto as u64;
        self.next_line += lines;
        self.pending.drain(..upto);
    }

    fn commit(&mut self) -> Result<()> {
        let batch = self.builder.finish();
        if batch.num_rows() > 0 {
            self.db.append(&self.table, &batch)?;
            self.stats.rows += batch.num_rows() as u64;
            self.stats.commits += 1;
        }
        Ok(())
    }

    /// Commits every complete line pushed so far; returns the totals. A final line
    /// without its newline waits for more bytes (see [`Appender::finish`]).
    pub fn flush(&mut self) -> Result<ImportStats> {
        self.commit()?;
        Ok(self.stats.clone())
    }

    /// Rejected lines since the last call (line numbers count from the first push).
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::take(&mut self.rejects)
    }

    /// Treats a trailing unterminated line as complete, commits, and returns the totals.
    pub fn finish(mut self) -> Result<ImportStats> {
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.parse(n);
        }
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_from_file_names() {
        for (input, want) in [
            ("/data/user_access.csv", Some("user_access")),
            ("Scores 2024.csv.gz", Some("scores_2024")),
            ("2024-events.jsonl", Some("t_2024_events")),
            ("/tmp/.hidden.csv", None),
            ("---.tsv", None),
        ] {
            assert_eq!(table_name_from(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn the_reject_gate_needs_two_rejects_or_all_lines() {
        let mut g = RejectGate::new(Some(0.1));
        (g.lines, g.rejected) = (4, 1);
        assert!(!g.exceeded(), "one stray line in a tiny input");
        (g.lines, g.rejected) = (1, 1);
        assert!(g.exceeded(), "the only line");
        (g.lines, g.rejected) = (100, 10);
        assert!(!g.exceeded(), "exactly the ratio");
        (g.lines, g.rejected) = (100, 11);
        assert!(g.exceeded());
        assert!(!RejectGate::new(None).exceeded());
    }

    /// Regression: lines appended to a followed file between the read that found its
    /// end and the rename that rotated it were lost; the follower switched files.
    #[test]
    fn a_follower_reads_lines_appended_just_before_a_rotation() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, "one\n").unwrap();
        let mut file = File::open(&path).unwrap();
        let id = file_identity(&file.metadata().unwrap());
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).unwrap();
        let at_end = |file: &mut File| at_end_of_followed(file, id, &path, 4).unwrap();
        assert_eq!(at_end(&mut file), AtEnd::Wait);

        let mut old = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(old, "two").unwrap();
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        assert_eq!(at_end(&mut file), AtEnd::Wait, "nothing at the path yet");
        std::fs::write(&path, "three\n").unwrap();
        assert_eq!(at_end(&mut file), AtEnd::ReadMore);
        file.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"one\ntwo\n");
        assert_eq!(at_end(&mut file), AtEnd::Rotated);

        let mut copy = File::open(&path).unwrap();
        let copy_id = file_identity(&copy.metadata().unwrap());
        copy.read_to_end(&mut buf).unwrap();
        std::fs::File::create(&path).unwrap(); // copytruncate
        assert_eq!(
            at_end_of_followed(&mut copy, copy_id, &path, 6).unwrap(),
            AtEnd::Truncated
        );
    }
}
