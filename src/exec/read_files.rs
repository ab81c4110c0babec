//! The rows of files for `read_log`, `read_csv`, `read_json` and `FROM 'file'`:
//! a [`BatchSource`] over the import pipeline's two steps (`ingest/chunks.rs`).
//! A reader thread cuts the files (plain, `.gz`, `.zst`) into chunks at line
//! ends (a JSON array's elements one per line, `ingest/json_array.rs`), parser
//! threads turn chunks into batches with the format's parser, and
//! [`FileSource::next_batch`] hands them out in input order. The queues between
//! them are bounded, so memory stays a few chunks whatever the file's size, and a
//! LIMIT that stops asking stops the reading (the threads end when the source is
//! dropped).
//!
//! Every line (a JSON array's element) is accounted for: lines read = rows
//! produced + lines rejected, per chunk. Rejected lines do not fail the query:
//! when the source ends (or is dropped) a notice says how many there were and
//! where the first one is (`file:line`, or `file: element n` in a JSON array);
//! `reject_file` gets their text. With `ignore_errors := false` the first
//! rejected line fails it (`read_csv: x.csv: line 3: <reason>`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{bounded, unbounded, Receiver, Sender};

use super::options::Notices;
use super::table_function::BatchSource;
use super::ExecOptions;
use crate::column::{Batch, BatchBuilder, Column, ColumnData, StringVec};
use crate::error::{Error, Result};
use crate::ingest::chunks::{self, read_source, Parsed, ReaderMsg, CHUNK_BYTES};
use crate::ingest::input::Source;
use crate::ingest::json_array::{self, ArrayLayout};
use crate::ingest::{self, CsvOptions, ParserOptions};
use crate::plan::FileRead;

/// The parser options of `read`: those its schema was bound with.
pub fn parser_options(read: &FileRead) -> ParserOptions {
    ParserOptions {
        log_format: read.log_format.clone(),
        sample: (!read.sample.is_empty()).then(|| read.sample.clone()),
        delimiter: read.delimiter,
        csv: CsvOptions {
            header: read.header,
            columns: read.declared.then(|| read.columns.clone()),
            names: read.names.clone(),
            types: read.types.clone(),
        },
        keep_rows_without_time: true,
        ..Default::default()
    }
}

/// A file that could not be read to its end: after the chunks numbered below
/// `seq`, file `file` failed with `error`.
struct FileError {
    seq: u64,
    file: usize,
    error: String,
}

/// A running read of a [`FileRead`]'s files.
pub struct FileSource {
    function: &'static str,
    names: Vec<String>,
    filename: bool,
    /// The first rejected line fails the read (`ignore_errors := false`).
    fail_on_reject: bool,
    parsed: Option<Receiver<std::result::Result<Parsed, String>>>,
    errors: Receiver<FileError>,
    failed: Vec<FileError>,
    threads: Vec<JoinHandle<()>>,
    waiting: BTreeMap<u64, Parsed>,
    next_seq: u64,
    /// A batch not yet handed out in full: its rows from `offset` on, of file `file`.
    pending: Option<(Batch, usize, usize)>,
    lines: u64,
    /// Of `lines`, the elements of JSON arrays.
    elements: u64,
    rows: u64,
    rejected: u64,
    first_reject: Option<String>,
    /// Per file, whether the reader opened it as a JSON array (set before its
    /// first chunk is sent).
    arrays: Arc<Vec<AtomicBool>>,
    reject_file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    notices: Notices,
    reported: bool,
}

impl FileSource {
    /// Starts reading `read`'s files.
    pub fn open(read: &FileRead, opts: &ExecOptions) -> Result<FileSource> {
        let popts = parser_options(read);
        // Fails here, not on a thread, if the options do not make a parser.
        let schema = ingest::parser_for(&read.format, &popts)?.schema().clone();
        let reject_file = match &read.reject_file {
            Some(p) => {
                let f = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
                Some((p.clone(), std::io::BufWriter::new(f)))
            }
            None => None,
        };
        // One parser per chunk the files fill, up to the query's threads.
        let chunks = (read.bytes / CHUNK_BYTES as u64 + 1) as usize;
        let threads = opts.threads.clamp(1, chunks.max(1));
        let (chunk_tx, chunk_rx) = bounded::<ReaderMsg>(threads * 2);
        let (parsed_tx, parsed_rx) = bounded(threads * 2);
        let (error_tx, error_rx) = unbounded::<FileError>();
        let mut handles = Vec::with_capacity(threads + 1);
        let files = read.files.clone();
        let arrays: Arc<Vec<AtomicBool>> =
            Arc::new(files.iter().map(|_| AtomicBool::new(false)).collect());
        handles.push(spawn_reader(
            files,
            read_layout(read),
            arrays.clone(),
            chunk_tx,
            error_tx,
        )?);
        for _ in 0..threads {
            let rx = chunk_rx.clone();
            let tx = parsed_tx.clone();
            let (format, popts, schema) = (read.format.clone(), popts.clone(), schema.clone());
            let projection = read.projection.clone();
            let h = std::thread::Builder::new()
                .name("read-parse".into())
                .spawn(move || {
                    let mut parser = match ingest::parser_for(&format, &popts) {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let mut builder = match &projection {
                        Some(columns) => BatchBuilder::projected(&schema, columns),
                        None => BatchBuilder::new(&schema),
                    };
                    for msg in rx {
                        let ReaderMsg::Chunk(chunk) = msg else {
                            continue;
                        };
                        let parsed = chunks::parse(parser.as_mut(), &mut builder, chunk);
                        if tx.send(Ok(parsed)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a parser thread: {e}")))?;
            handles.push(h);
        }
        Ok(FileSource {
            function: read.function,
            names: read.files.iter().map(|p| p.display().to_string()).collect(),
            filename: read.filename,
            fail_on_reject: !read.ignore_errors,
            parsed: Some(parsed_rx),
            errors: error_rx,
            failed: Vec::new(),
            threads: handles,
            waiting: BTreeMap::new(),
            next_seq: 0,
            pending: None,
            lines: 0,
            elements: 0,
            rows: 0,
            rejected: 0,
            first_reject: None,
            arrays,
            reject_file,
            notices: opts.notices.clone(),
            reported: false,
        })
    }

    /// The next parsed chunk in input order, or `None` at the end of the input;
    /// a file that failed is an error once every chunk before its failure is out.
    fn next_parsed(&mut self) -> Result<Option<Parsed>> {
        loop {
            self.failed.extend(self.errors.try_iter());
            if let Some(e) = self.failed.iter().find(|e| e.seq <= self.next_seq) {
                return Err(self.file_error(e));
            }
            if let Some(p) = self.waiting.remove(&self.next_seq) {
                self.next_seq += 1;
                return Ok(Some(p));
            }
            let Some(rx) = &self.parsed else {
                return Ok(None);
            };
            match rx.recv() {
                Ok(Ok(p)) => {
                    self.waiting.insert(p.seq, p);
                }
                Ok(Err(e)) => return Err(Error::InvalidInput(e)),
                Err(_) => {
                    // Every thread is done: any failure left is the last.
                    self.parsed = None;
                    self.failed.extend(self.errors.try_iter());
                    if let Some(e) = self.failed.first() {
                        return Err(self.file_error(e));
                    }
                    if !self.waiting.is_empty() {
                        return Err(Error::Internal(format!(
                            "{}: chunk {} of the input never arrived",
                            self.function, self.next_seq
                        )));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn file_error(&self, e: &FileError) -> Error {
        let name = self.names.get(e.file).cloned().unwrap_or_default();
        Error::InvalidInput(format!("{}: {name}: {}", self.function, e.error))
    }

    /// Counts a chunk's lines, writes its rejects to the reject file.
    fn account(&mut self, p: &Parsed) -> Result<()> {
        let rows = p.batch.num_rows() as u64;
        let name = &self.names[p.file];
        if p.lines != rows + p.rejects.len() as u64 {
            return Err(Error::Internal(format!(
                "parser accounted for {} of {} lines in {name}",
                rows + p.rejects.len() as u64,
                p.lines
            )));
        }
        let array = self.arrays[p.file].load(Ordering::Relaxed);
        if let (Some((r, _)), true) = (p.rejects.first(), self.fail_on_reject) {
            // The error says it all: no notice besides.
            self.reported = true;
            let unit = if array { "element" } else { "line" };
            return Err(Error::InvalidInput(format!(
                "{}: {name}: {unit} {}: {}",
                self.function, r.line, r.reason
            )));
        }
        self.lines += p.lines;
        if array {
            self.elements += p.lines;
        }
        self.rows += rows;
        self.rejected += p.rejects.len() as u64;
        if let Some((r, _)) = p.rejects.first() {
            self.first_reject.get_or_insert_with(|| match array {
                true => format!("{name}: element {}: {}", r.line, r.reason),
                false => format!("{name}:{}: {}", r.line, r.reason),
            });
        }
        if let Some((path, out)) = &mut self.reject_file {
            for (_, text) in &p.rejects {
                out.write_all(text)
                    .and_then(|_| out.write_all(b"\n"))
                    .map_err(|e| Error::io(&*path, e))?;
            }
        }
        Ok(())
    }

    /// The notice about rejected lines, once.
    fn report(&mut self) {
        if self.reported {
            return;
        }
        self.reported = true;
        if let Some((_, out)) = &mut self.reject_file {
            let _ = out.flush();
        }
        if self.rejected > 0 {
            let saved = match &self.reject_file {
                Some((p, _)) => format!("; rejected lines written to {}", p.display()),
                None => String::new(),
            };
            self.notices.push(format!(
                "{}: {} of {} {} rejected; first: {}{saved}",
                self.function,
                self.rejected,
                self.lines,
                match self.elements {
                    0 => "lines",
                    e if e == self.lines => "elements",
                    _ => "lines and array elements",
                },
                self.first_reject.as_deref().unwrap_or("?"),
            ));
        }
    }

    /// `batch` with the filename column if asked.
    fn with_filename(&self, mut batch: Batch, file: usize) -> Batch {
        if self.filename {
            let n = batch.num_rows();
            batch.columns.push(filename_column(&self.names[file], n));
        }
        batch
    }
}

impl BatchSource for FileSource {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Batch>> {
        loop {
            if let Some((batch, file, offset)) = self.pending.take() {
                let (out, rest) = split_rows(batch, offset, max_rows);
                self.pending = rest.map(|(b, offset)| (b, file, offset));
                return Ok(Some(self.with_filename(out, file)));
            }
            let Some(p) = self.next_parsed()? else {
                self.report();
                return Ok(None);
            };
            self.account(&p)?;
            if p.batch.num_rows() > 0 {
                self.pending = Some((p.batch, p.file, 0));
            }
        }
    }
}

impl Drop for FileSource {
    fn drop(&mut self) {
        self.report();
        // Closing the queue ends the parsers (their next send fails) and then the
        // reader (no parser left to take its chunks).
        self.parsed = None;
        self.waiting.clear();
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// At most `max_rows` rows of `batch` from row `offset` on, and the rest of it
/// with the offset of the rest, if any is left. A batch handed out whole is moved,
/// not copied.
pub(super) fn split_rows(
    batch: Batch,
    offset: usize,
    max_rows: usize,
) -> (Batch, Option<(Batch, usize)>) {
    let total = batch.num_rows();
    let n = (total - offset).min(max_rows);
    if offset == 0 && n == total {
        return (batch, None);
    }
    let rows: Vec<u32> = (offset as u32..(offset + n) as u32).collect();
    let out = batch.take(&rows);
    let rest = (offset + n < total).then_some((batch, offset + n));
    (out, rest)
}

/// The `filename` column: `name`, `n` times.
pub(super) fn filename_column(name: &str, n: usize) -> Column {
    let mut v = StringVec::with_capacity(n, name.len() * n);
    for _ in 0..n {
        v.push(name);
    }
    Column::new(ColumnData::Utf8(v))
}

/// How `read`'s files are opened: a JSON array as one element per line (yes,
/// no, or detected per file: `None`).
fn read_layout(read: &FileRead) -> ArrayLayout {
    match read.format.as_str() {
        "jsonl" => read.json_format.array(),
        _ => Some(false),
    }
}

/// The reader thread: each file in turn, cut into chunks; a file that cannot be
/// opened or read to its end is reported on `errors` with the chunk number it
/// failed before.
fn spawn_reader(
    files: Vec<PathBuf>,
    layout: ArrayLayout,
    arrays: Arc<Vec<AtomicBool>>,
    chunks: Sender<ReaderMsg>,
    errors: Sender<FileError>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("read-files".into())
        .spawn(move || {
            let mut seq = 0u64;
            for (i, path) in files.into_iter().enumerate() {
                let failure = match json_array::open(&Source::Path(path), layout) {
                    Ok((input, _, array)) => {
                        arrays[i].store(array, Ordering::Relaxed);
                        read_source(i, input, &mut seq, &chunks, false).err()
                    }
                    Err(e) => Some(e.to_string()),
                };
                if let Some(error) = failure {
                    let _ = errors.send(FileError {
                        seq,
                        file: i,
                        error,
                    });
                    return;
                }
                // A file's end (parsers skip it): failing to send it means the
                // source was dropped, so nothing more is read.
                if chunks.send(ReaderMsg::FileError(i, String::new())).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the file reader thread: {e}")))
}
