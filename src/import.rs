//! The bulk-import pipeline: files (plain, `.gz`, `.zst`, directories, stdin) are read
//! in chunks cut at line ends, parsed on every core, and appended in large batches,
//! each one durable commit. Reading, parsing and encoding overlap; every queue between
//! them is bounded, so peak memory does not grow with the input.
//!
//! Every line is accounted for: `lines = rows + rejected`, per chunk and in total.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam::channel::{bounded, Receiver, Sender};

use crate::column::{Batch, BatchBuilder};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ingest::{self, ParserOptions, Reject};
use crate::schema::TableSchema;

/// Bytes per chunk handed to a parser.
const CHUNK_BYTES: usize = 4 << 20;

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file (plain, `.gz` or `.zst`) or a directory (all files below it, sorted).
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

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
}

/// Receives progress, rejected lines and commits as the import runs.
pub trait ImportObserver {
    /// Called after every chunk with totals so far.
    fn progress(&mut self, _stats: &ImportStats, _total_bytes: Option<u64>) {}
    /// A rejected line: its file, 1-based line number, reason and text.
    fn reject(&mut self, _file: &str, _line: u64, _reason: &str, _text: &[u8]) {}
    /// A batch became durable (totals after the commit).
    fn committed(&mut self, _stats: &ImportStats) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;
impl ImportObserver for Quiet {}

struct Chunk {
    seq: u64,
    file: usize,
    first_line: u64,
    data: Vec<u8>,
    /// Lines already known to be bad (e.g. over-long), reported without parsing.
    rejects: Vec<Reject>,
    /// Lines those rejects account for.
    rejected_lines: u64,
    read_bytes: u64,
}

struct Parsed {
    seq: u64,
    file: usize,
    batch: Batch,
    lines: u64,
    rejects: Vec<(Reject, Vec<u8>)>,
    read_bytes: u64,
}

enum ReaderMsg {
    Chunk(Chunk),
    FileError(usize, String),
}

/// Expands sources into the list of inputs, directories recursively in sorted order.
///
/// Symbolic links are followed, but each directory and each file a walk reaches is
/// taken once, however many paths lead to it: a link cycle (`ln -s . dir/me`) ends,
/// and a log reachable through two links is not imported twice. Files named
/// explicitly are always taken.
pub fn expand_sources(sources: &[Source]) -> Result<Vec<Source>> {
    #[derive(Default)]
    struct Walk {
        dirs: HashSet<(u64, u64)>,
        files: HashSet<(u64, u64)>,
        out: Vec<Source>,
    }
    impl Walk {
        fn dir(&mut self, dir: &Path) -> Result<()> {
            let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
            if !self.dirs.insert(file_identity(&meta)) {
                return Ok(());
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
                .collect::<Result<_>>()?;
            entries.sort();
            for p in entries {
                // Follows links; a dangling link is an error naming it.
                let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
                if meta.is_dir() {
                    self.dir(&p)?;
                } else if !meta.is_file() {
                    // A pipe, socket or device found by the walk is not a log
                    // file (reading a pipe would wait for a writer forever); named
                    // on the command line, it is read like stdin.
                    continue;
                } else if self.files.insert(file_identity(&meta)) {
                    self.out.push(Source::Path(p));
                }
            }
            Ok(())
        }
    }
    let mut walk = Walk::default();
    for s in sources {
        match s {
            Source::Path(p) if p.is_dir() => walk.dir(p)?,
            Source::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
                walk.files.insert(file_identity(&meta));
                walk.out.push(s.clone());
            }
            Source::Stdin => walk.out.push(Source::Stdin),
        }
    }
    Ok(walk.out)
}

fn source_name(s: &Source) -> String {
    match s {
        Source::Path(p) => p.display().to_string(),
        Source::Stdin => "<stdin>".into(),
    }
}

/// Opens a source, decompressing by file extension.
fn open_source(s: &Source) -> Result<Box<dyn Read + Send>> {
    match s {
        Source::Stdin => Ok(Box::new(io::stdin())),
        Source::Path(p) => {
            let f = File::open(p).map_err(|e| Error::io(p, e))?;
            let name = p.to_string_lossy();
            if name.ends_with(".gz") {
                Ok(Box::new(flate2::read::MultiGzDecoder::new(
                    io::BufReader::new(f),
                )))
            } else if name.ends_with(".zst") {
                Ok(Box::new(
                    zstd::stream::read::Decoder::new(f).map_err(|e| Error::io(p, e))?,
                ))
            } else {
                Ok(Box::new(f))
            }
        }
    }
}

/// Lines in `data`: its newlines, plus an unterminated last line.
fn count_lines(data: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', data).count() as u64
        + u64::from(data.last().is_some_and(|&c| c != b'\n'))
}

/// What the reader holds for one input between chunks.
struct ChunkSender<'a> {
    file: usize,
    seq: &'a mut u64,
    tx: &'a Sender<ReaderMsg>,
    /// Bytes read and not yet sent.
    buf: Vec<u8>,
    /// The number of the first line not yet sent.
    line: u64,
    /// Lines rejected by the reader itself (over-long, cut short), not yet sent. They
    /// precede the data of the chunk that carries them.
    rejects: Vec<Reject>,
    read_bytes: u64,
}

impl ChunkSender<'_> {
    /// Sends the pending rejects and `buf[..upto]`, which must end at a line end (or
    /// the input's end). Returns false once the pipeline has shut down.
    fn send(&mut self, upto: usize) -> bool {
        let rejected_lines = self.rejects.len() as u64;
        let data: Vec<u8> = self.buf.drain(..upto).collect();
        let lines = count_lines(&data);
        let chunk = Chunk {
            seq: *self.seq,
            file: self.file,
            first_line: self.line,
            data,
            rejects: std::mem::take(&mut self.rejects),
            rejected_lines,
            read_bytes: std::mem::take(&mut self.read_bytes),
        };
        *self.seq += 1;
        self.line += rejected_lines + lines;
        self.tx.send(ReaderMsg::Chunk(chunk)).is_ok()
    }

    /// Rejects the line starting now (it is not sent as data).
    fn reject(&mut self, reason: String) {
        let line = self.line + self.rejects.len() as u64;
        self.rejects.push(Reject { line, reason });
    }

    /// Where the last complete line in `buf` ends.
    fn complete_lines(&self) -> usize {
        memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1)
    }
}

/// Reads one input and sends chunks cut after a newline. Lines longer than
/// [`ingest::MAX_LINE_LEN`] are rejected here without buffering them whole. With
/// `streaming`, complete lines are sent as soon as they arrive (a pipe may then stay
/// quiet for a long time); otherwise in chunks of about [`CHUNK_BYTES`].
fn read_source(
    file: usize,
    mut input: Box<dyn Read + Send>,
    seq: &mut u64,
    tx: &Sender<ReaderMsg>,
    streaming: bool,
) -> std::result::Result<(), String> {
    let mut s = ChunkSender {
        file,
        seq,
        tx,
        buf: Vec::with_capacity(CHUNK_BYTES + 256 * 1024),
        line: 1,
        rejects: Vec::new(),
        read_bytes: 0,
    };
    let mut skipping = false; // inside an over-long line
    loop {
        let start = s.buf.len();
        s.buf.resize(start + 256 * 1024, 0);
        let n = match input.read(&mut s.buf[start..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                s.buf.truncate(start);
                continue;
            }
            Err(e) => {
                // Keep what was read: complete lines are sent, a partial last line
                // (or the over-long line being skipped) is rejected.
                s.buf.truncate(start);
                // The last complete line read: those sent, those the reader
                // rejected, and the complete ones still in the buffer.
                let buffered = memchr::memchr_iter(b'\n', &s.buf).count() as u64;
                let err = format!(
                    "read failed after line {}: {e}",
                    s.line + s.rejects.len() as u64 + buffered - 1
                );
                let upto = s.complete_lines();
                if skipping || upto < s.buf.len() {
                    if !skipping && upto > 0 && !s.send(upto) {
                        return Ok(());
                    }
                    if !skipping {
                        s.reject(format!("incomplete last line: {e}"));
                    }
                    s.buf.clear();
                } else if upto > 0 && !s.send(upto) {
                    return Ok(());
                }
                if !s.rejects.is_empty() || s.read_bytes > 0 {
                    s.send(0);
                }
                return Err(err);
            }
        };
        s.buf.truncate(start + n);
        s.read_bytes += n as u64;
        if n == 0 {
            // End of input: whatever is left is the last line.
            if skipping {
                s.buf.clear();
            }
            if !s.buf.is_empty() || !s.rejects.is_empty() || s.read_bytes > 0 {
                let len = s.buf.len();
                s.send(len);
            }
            return Ok(());
        }
        if skipping {
            match memchr::memchr(b'\n', &s.buf[start..]) {
                None => {
                    s.buf.truncate(start);
                    continue;
                }
                Some(i) => {
                    // The over-long line ends here; its reject goes out now.
                    s.buf.drain(..start + i + 1);
                    skipping = false;
                    if !s.send(0) {
                        return Ok(());
                    }
                }
            }
        }
        let upto = s.complete_lines();
        if s.buf.len() - upto > ingest::MAX_LINE_LEN {
            // An unterminated line already too long: reject it, skip to its end.
            if upto > 0 && !s.send(upto) {
                return Ok(());
            }
            s.reject(format!(
                "line longer than {} MiB",
                ingest::MAX_LINE_LEN >> 20
            ));
            s.buf.clear();
            skipping = true;
            continue;
        }
        if upto > 0 && (s.buf.len() >= CHUNK_BYTES || streaming) && !s.send(upto) {
            return Ok(());
        }
    }
}

/// The text of line `line` of a chunk whose first line is `first`.
/// Finds the text of lines of a chunk by number, for rejects reported in
/// increasing line order: each call scans on from where the previous one stopped,
/// so a chunk of n rejected lines costs one pass, not n.
struct LineCursor<'a> {
    rest: &'a [u8],
    /// The number of the line `rest` starts with.
    line: u64,
    /// The whole chunk and its first line, to start over for an out-of-order line.
    data: &'a [u8],
    first: u64,
}

impl<'a> LineCursor<'a> {
    fn new(data: &'a [u8], first: u64) -> Self {
        LineCursor {
            rest: data,
            line: first,
            data,
            first,
        }
    }

    /// The text of line `line` (without its line end); empty if the chunk has no
    /// such line.
    fn text(&mut self, line: u64) -> Vec<u8> {
        if line < self.line {
            *self = LineCursor::new(self.data, self.first);
        }
        while self.line < line {
            match memchr::memchr(b'\n', self.rest) {
                Some(i) => self.rest = &self.rest[i + 1..],
                None => return Vec::new(),
            }
            self.line += 1;
        }
        let end = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
        let mut text = &self.rest[..end];
        if text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
        }
        text.to_vec()
    }
}

/// Concatenates `b` onto `a`.
fn extend_batch(a: &mut Batch, b: Batch) {
    if a.columns.is_empty() {
        *a = b;
        return;
    }
    for (x, y) in a.columns.iter_mut().zip(&b.columns) {
        x.append(y);
    }
}

/// Formats whose columns depend on the data: their parser needs a sample of the first
/// lines (and csv/tsv their header).
fn needs_sample(format: &str) -> bool {
    matches!(format, "jsonl" | "csv" | "tsv")
}

/// Lines and bytes of input read up front for schema inference.
const SAMPLE_LINES: usize = 1000;
const SAMPLE_BYTES: usize = 1 << 20;

/// Reads up to [`SAMPLE_LINES`] lines (at most [`SAMPLE_BYTES`]) from `input`.
fn read_sample(input: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut sample = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while sample.len() < SAMPLE_BYTES && memchr::memchr_iter(b'\n', &sample).count() < SAMPLE_LINES
    {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sample.extend_from_slice(&buf[..n]);
    }
    Ok(sample)
}

/// Settles the parser options and the table: an existing table's schema is used for
/// formats whose columns depend on the data, a new table is created with the format's
/// schema, and a mismatch is an error. `sample` is called only when a sample is needed.
fn prepare_table(
    db: &Db,
    table: &str,
    format: &str,
    base: &ParserOptions,
    sample: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<(ParserOptions, TableSchema)> {
    let mut popts = base.clone();
    let existing = match db.snapshot()?.table(table) {
        Ok(t) => Some(t.schema.clone()),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    if needs_sample(format) {
        if popts.schema.is_none() {
            popts.schema = existing.clone();
        }
        if popts.sample.is_none() {
            popts.sample = Some(sample()?);
        }
    }
    let schema = ingest::parser_for(format, &popts)?.schema().clone();
    match existing {
        Some(s) if s.fields != schema.fields => {
            return Err(Error::InvalidInput(format!(
                "table '{table}' exists with a different schema than format '{format}' produces"
            )))
        }
        Some(_) => {}
        None => db.create_table(table, schema.clone())?,
    }
    Ok((popts, schema))
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
    // The first input is opened here, so that a sample read from it (even from stdin)
    // is replayed ahead of the rest of it.
    let mut first: Option<Box<dyn Read + Send>> = None;
    let (popts, schema) = prepare_table(db, &opts.table, &opts.format, &opts.parser, || {
        let src = inputs
            .first()
            .ok_or_else(|| Error::InvalidInput("no input to sample".into()))?;
        let mut input = open_source(src)?;
        let sample = read_sample(&mut input).map_err(|e| Error::io(source_name(src), e))?;
        first = Some(Box::new(io::Cursor::new(sample.clone()).chain(input)));
        Ok(sample)
    })?;
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
    let time_column = schema.time_index();
    let mut stats = ImportStats {
        files: inputs.len() as u64,
        ..Default::default()
    };

    let (chunk_tx, chunk_rx) = bounded::<ReaderMsg>(threads * 2);
    let (parsed_tx, parsed_rx) = bounded::<std::result::Result<Parsed, String>>(threads * 2);
    let flush = opts.max_commit_delay;
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
                    None => open_source(src),
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
            let (format, popts) = (&opts.format, &popts);
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
                    let mut rejects = Vec::new();
                    let lines = parser.parse_chunk(
                        &msg.data,
                        msg.first_line + msg.rejected_lines,
                        &mut builder,
                        &mut rejects,
                    );
                    let batch = builder.finish();
                    let mut all: Vec<(Reject, Vec<u8>)> =
                        msg.rejects.into_iter().map(|r| (r, Vec::new())).collect();
                    let mut lines_of =
                        LineCursor::new(&msg.data, msg.first_line + msg.rejected_lines);
                    all.extend(rejects.into_iter().map(|r| {
                        let text = lines_of.text(r.line);
                        (r, text)
                    }));
                    let parsed = Parsed {
                        seq: msg.seq,
                        file: msg.file,
                        batch,
                        lines: lines + msg.rejected_lines,
                        rejects: all,
                        read_bytes: msg.read_bytes,
                    };
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
        let mut pending = Batch {
            columns: Vec::new(),
        };
        let mut last_commit = Instant::now();
        let commit = |pending: &mut Batch,
                      stats: &mut ImportStats,
                      observer: &mut dyn ImportObserver|
         -> Result<()> {
            if pending.num_rows() == 0 {
                return Ok(());
            }
            let mut batch = std::mem::replace(
                pending,
                Batch {
                    columns: Vec::new(),
                },
            );
            // Log lines are written when requests end, so they are nearly but not quite
            // in time order: sort here, where the batch is owned, to spare a copy.
            if let Some(t) = time_column {
                batch = batch.into_sorted_by(t);
            }
            db.append(&opts.table, &batch)?;
            stats.rows += batch.num_rows() as u64;
            stats.commits += 1;
            observer.committed(stats);
            Ok(())
        };
        let tick = opts.max_commit_delay.unwrap_or(Duration::from_secs(3600));
        loop {
            let msg = match parsed_rx.recv_timeout(tick) {
                Ok(m) => m,
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => {
                    if pending.num_rows() > 0 {
                        commit(&mut pending, &mut stats, observer)?;
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
                if let Some(max) = opts.max_rejects {
                    if stats.rejected > max {
                        commit(&mut pending, &mut stats, observer)?;
                        return Err(Error::InvalidInput(format!(
                            "{} lines rejected, more than --max-rejects {max}; the {} rows before were committed",
                            stats.rejected, stats.rows
                        )));
                    }
                }
                extend_batch(&mut pending, p.batch);
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
                    commit(&mut pending, &mut stats, observer)?;
                    last_commit = Instant::now();
                }
            }
        }
        commit(&mut pending, &mut stats, observer)?;
        Ok(())
    })?;
    Ok(stats)
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

fn file_identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
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
/// within one poll interval (100 ms) is never opened. Real rotation (hourly, daily,
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

    let (popts, _) = prepare_table(db, &opts.table, &opts.format, &opts.parser, || {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        read_sample(&mut f).map_err(|e| Error::io(path, e))
    })?;
    let mut parser = ingest::parser_for(&opts.format, &popts)?;
    let schema = parser.schema().clone();
    let name = path.display().to_string();
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
        .checkpoint(&opts.table, &key)?
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
        db.append_with_checkpoint(&opts.table, &batch, Some((&key, &pos.encode())))?;
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
        match std::fs::metadata(path) {
            Ok(meta) if file_identity(&meta) != id => {
                // Rotated. Lines may have been appended to the old file between our
                // last read and the rename: read it to its real end before switching.
                let read_to = file.stream_position().map_err(|e| Error::io(path, e))?;
                let old_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
                if old_len > read_to {
                    continue;
                }
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
            Ok(meta) if meta.len() < pos.offset + pending.len() as u64 => {
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
            _ => {}
        }
        std::thread::sleep(FOLLOW_POLL);
    }
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
        let (popts, _) = prepare_table(db, table, format, options, || {
            Err(Error::InvalidInput(format!(
                "format '{format}' needs ParserOptions::schema or ParserOptions::sample for an appender"
            )))
        })?;
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
