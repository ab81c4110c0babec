//! Reading an input in chunks cut at line ends ([`read_source`], on a reader
//! thread) and parsing a chunk into a batch with its rejects ([`parse`], on a
//! parser thread): the two steps every parallel reader of log files shares (the
//! import pipeline, the `read_log` / `read_csv` / `read_json` table functions).
//! Every line is accounted for: `lines = rows + rejects`, per chunk.

use std::io::{self, Read};

use crossbeam::channel::Sender;

use super::input::count_lines;
use super::{LogParser, Reject, MAX_LINE_LEN};
use crate::column::{Batch, BatchBuilder};

/// Bytes per chunk handed to a parser.
pub const CHUNK_BYTES: usize = 4 << 20;

/// Whole lines of one input, cut by [`read_source`].
pub struct Chunk {
    pub seq: u64,
    pub file: usize,
    pub first_line: u64,
    pub data: Vec<u8>,
    /// Lines already known to be bad (e.g. over-long), reported without parsing.
    pub rejects: Vec<Reject>,
    /// Lines those rejects account for.
    pub rejected_lines: u64,
    pub read_bytes: u64,
}

/// A parsed [`Chunk`]: its rows, and its rejects with their text.
pub struct Parsed {
    pub seq: u64,
    pub file: usize,
    /// The number of the chunk's first line in its file.
    pub first_line: u64,
    pub batch: Batch,
    pub lines: u64,
    pub rejects: Vec<(Reject, Vec<u8>)>,
    pub read_bytes: u64,
}

/// What the reader thread sends: a chunk, or an input it could not read (by
/// position in the input list) and why.
pub enum ReaderMsg {
    Chunk(Chunk),
    FileError(usize, String),
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
/// [`MAX_LINE_LEN`] are rejected here without buffering them whole. With
/// `streaming`, complete lines are sent as soon as they arrive (a pipe may then stay
/// quiet for a long time); otherwise in chunks of about [`CHUNK_BYTES`].
pub fn read_source(
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
                let err = match super::json_array::malformed(&e) {
                    // A broken JSON array says where itself.
                    Some(m) => m.to_string(),
                    None => format!(
                        "read failed after line {}: {e}",
                        s.line + s.rejects.len() as u64 + buffered - 1
                    ),
                };
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
        if s.buf.len() - upto > MAX_LINE_LEN {
            // An unterminated line already too long: reject it, skip to its end.
            if upto > 0 && !s.send(upto) {
                return Ok(());
            }
            s.reject(format!("line longer than {} MiB", MAX_LINE_LEN >> 20));
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
pub struct LineCursor<'a> {
    rest: &'a [u8],
    /// The number of the line `rest` starts with.
    line: u64,
    /// The whole chunk and its first line, to start over for an out-of-order line.
    data: &'a [u8],
    first: u64,
}

impl<'a> LineCursor<'a> {
    pub fn new(data: &'a [u8], first: u64) -> Self {
        LineCursor {
            rest: data,
            line: first,
            data,
            first,
        }
    }

    /// The text of line `line` (without its line end); empty if the chunk has no
    /// such line.
    pub fn text(&mut self, line: u64) -> Vec<u8> {
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

/// Parses `chunk` with `parser` into a batch of `builder`'s schema; the rejects
/// (the reader's own first) come with their line's text.
pub fn parse(parser: &mut dyn LogParser, builder: &mut BatchBuilder, chunk: Chunk) -> Parsed {
    let mut rejects = Vec::new();
    let lines = parser.parse_chunk(
        &chunk.data,
        chunk.first_line + chunk.rejected_lines,
        builder,
        &mut rejects,
    );
    let batch = builder.finish();
    let mut all: Vec<(Reject, Vec<u8>)> =
        chunk.rejects.into_iter().map(|r| (r, Vec::new())).collect();
    let mut lines_of = LineCursor::new(&chunk.data, chunk.first_line + chunk.rejected_lines);
    all.extend(rejects.into_iter().map(|r| {
        let text = lines_of.text(r.line);
        (r, text)
    }));
    Parsed {
        seq: chunk.seq,
        file: chunk.file,
        first_line: chunk.first_line,
        batch,
        lines: lines + chunk.rejected_lines,
        rejects: all,
        read_bytes: chunk.read_bytes,
    }
}
