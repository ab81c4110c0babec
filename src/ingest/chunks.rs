//! Reading an input in chunks cut at line ends ([`read_source`], on a reader
//! thread) and parsing a chunk into a batch with its rejects ([`parse`], on a
//! parser thread): the two steps every parallel reader of log files shares (the
//! import pipeline, the `read_log` / `read_csv` / `read_json` table functions).
//! Every line is accounted for: `lines = rows + rejects`, per chunk.

use std::io::{self, Read};
use std::ops::Deref;
use std::sync::Arc;

use crossbeam::channel::Sender;
use crossbeam::queue::ArrayQueue;

use super::{LogParser, Reject, MAX_LINE_LEN};
use crate::column::{Batch, BatchBuilder};

/// Bytes per chunk handed to a parser.
pub const CHUNK_BYTES: usize = 4 << 20;

/// Bytes asked of the input per read.
const READ_BYTES: usize = 256 * 1024;

/// The size of a reader's buffers: a chunk and one more read (a buffer grows past
/// it only for a line longer than that, up to [`MAX_LINE_LEN`] more).
const BUFFER_BYTES: usize = CHUNK_BYTES + READ_BYTES;

/// Buffers a reader keeps for reuse: those of the chunks in flight come back here
/// when their chunk is dropped, so reading a big input touches the same memory over
/// and over instead of fresh pages (and their page faults) for every chunk.
struct BufferPool(ArrayQueue<Vec<u8>>);

impl BufferPool {
    /// A buffer of at least [`BUFFER_BYTES`] initialized bytes.
    fn get(&self) -> Vec<u8> {
        self.0.pop().unwrap_or_else(|| vec![0; BUFFER_BYTES])
    }
}

/// A chunk's bytes: the first `len` bytes of a reader's buffer, which goes back to
/// the reader's pool when the chunk is dropped.
pub struct ChunkData {
    buf: Vec<u8>,
    len: usize,
    pool: Option<Arc<BufferPool>>,
}

impl Deref for ChunkData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for ChunkData {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            let _ = pool.0.push(std::mem::take(&mut self.buf));
        }
    }
}

/// Whole lines of one input, cut by [`read_source`].
pub struct Chunk {
    pub seq: u64,
    pub file: usize,
    pub first_line: u64,
    pub data: ChunkData,
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
    /// Bytes read and not yet sent: `buf[..filled]` (the rest of `buf` is
    /// initialized room for the next reads).
    buf: Vec<u8>,
    filled: usize,
    /// The newlines in `buf[..filled]`, counted as each read arrives (while the
    /// bytes are still in the cache).
    newlines: u64,
    pool: Arc<BufferPool>,
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
        let tail_newlines = count_newlines(&self.buf[upto..self.filled]);
        // The newlines before `upto`, and an unterminated last line.
        let lines =
            self.newlines - tail_newlines + u64::from(upto > 0 && self.buf[upto - 1] != b'\n');
        self.newlines = tail_newlines;
        let data = if upto == 0 {
            ChunkData {
                buf: Vec::new(),
                len: 0,
                pool: None,
            }
        } else {
            // The bytes after `upto` (a partial line) move to a buffer from the
            // pool; the chunk keeps this one.
            let mut next = self.pool.get();
            let rest = self.filled - upto;
            if next.len() < rest {
                next.resize(rest, 0);
            }
            next[..rest].copy_from_slice(&self.buf[upto..self.filled]);
            self.filled = rest;
            ChunkData {
                buf: std::mem::replace(&mut self.buf, next),
                len: upto,
                pool: Some(self.pool.clone()),
            }
        };
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

    /// The bytes read and not yet sent.
    fn pending(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Forgets the bytes read and not yet sent.
    fn clear(&mut self) {
        self.filled = 0;
        self.newlines = 0;
    }

    /// Where the last complete line of the pending bytes ends.
    fn complete_lines(&self) -> usize {
        memchr::memrchr(b'\n', self.pending()).map_or(0, |i| i + 1)
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
    let pool = Arc::new(BufferPool(ArrayQueue::new(8)));
    let mut s = ChunkSender {
        file,
        seq,
        tx,
        buf: pool.get(),
        filled: 0,
        newlines: 0,
        pool,
        line: 1,
        rejects: Vec::new(),
        read_bytes: 0,
    };
    let mut skipping = false; // inside an over-long line
    loop {
        let start = s.filled;
        if s.buf.len() < start + READ_BYTES {
            s.buf.resize(start + READ_BYTES, 0);
        }
        let n = match input.read(&mut s.buf[start..start + READ_BYTES]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Keep what was read: complete lines are sent, a partial last line
                // (or the over-long line being skipped) is rejected.
                // The last complete line read: those sent, those the reader
                // rejected, and the complete ones still in the buffer.
                let buffered = memchr::memchr_iter(b'\n', s.pending()).count() as u64;
                let err = match super::json_array::malformed(&e) {
                    // A broken JSON array says where itself.
                    Some(m) => m.to_string(),
                    None => format!(
                        "read failed after line {}: {e}",
                        s.line + s.rejects.len() as u64 + buffered - 1
                    ),
                };
                let upto = s.complete_lines();
                if skipping || upto < s.filled {
                    if !skipping && upto > 0 && !s.send(upto) {
                        return Ok(());
                    }
                    if !skipping {
                        s.reject(format!("incomplete last line: {e}"));
                    }
                    s.clear();
                } else if upto > 0 && !s.send(upto) {
                    return Ok(());
                }
                if !s.rejects.is_empty() || s.read_bytes > 0 {
                    s.send(0);
                }
                return Err(err);
            }
        };
        s.filled = start + n;
        s.read_bytes += n as u64;
        if n == 0 {
            // End of input: whatever is left is the last line.
            if skipping {
                s.clear();
            }
            if s.filled > 0 || !s.rejects.is_empty() || s.read_bytes > 0 {
                let len = s.filled;
                s.send(len);
            }
            return Ok(());
        }
        if !skipping {
            s.newlines += count_newlines(&s.buf[start..s.filled]);
        } else {
            match memchr::memchr(b'\n', &s.buf[start..s.filled]) {
                None => {
                    s.filled = start;
                    continue;
                }
                Some(i) => {
                    // The over-long line ends here; its reject goes out now.
                    let end = start + i + 1;
                    s.buf.copy_within(end..s.filled, 0);
                    s.filled -= end;
                    s.newlines = count_newlines(s.pending());
                    skipping = false;
                    if !s.send(0) {
                        return Ok(());
                    }
                }
            }
        }
        let upto = s.complete_lines();
        if s.filled - upto > MAX_LINE_LEN {
            // An unterminated line already too long: reject it, skip to its end.
            if upto > 0 && !s.send(upto) {
                return Ok(());
            }
            s.reject(format!("line longer than {} MiB", MAX_LINE_LEN >> 20));
            s.clear();
            skipping = true;
            continue;
        }
        if upto > 0 && (s.filled >= CHUNK_BYTES || streaming) && !s.send(upto) {
            return Ok(());
        }
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An input that hands out at most `step` bytes per read.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// Reads `input` through [`read_source`] and checks that the chunks number
    /// their lines one after the other and that every line arrives whole, once,
    /// under its number, or is rejected by number (only an over-long one).
    fn check(input: Vec<u8>, step: usize, streaming: bool) {
        let (tx, rx) = crossbeam::channel::unbounded();
        let mut seq = 0;
        let source = Trickle {
            data: input.clone(),
            pos: 0,
            step,
        };
        read_source(0, Box::new(source), &mut seq, &tx, streaming).unwrap();
        drop(tx);
        let mut line = 1;
        let mut got = Vec::new();
        for msg in rx {
            let ReaderMsg::Chunk(c) = msg else {
                panic!("unexpected file error")
            };
            assert_eq!(
                c.first_line, line,
                "chunks number lines one after the other"
            );
            assert_eq!(c.rejected_lines, c.rejects.len() as u64);
            for r in &c.rejects {
                assert_eq!(r.line, line);
                got.push((line, None));
                line += 1;
            }
            let d: &[u8] = &c.data;
            if !d.is_empty() {
                for l in d.strip_suffix(b"\n").unwrap_or(d).split(|&b| b == b'\n') {
                    got.push((line, Some(l.to_vec())));
                    line += 1;
                }
            }
        }
        let mut want = Vec::new();
        if !input.is_empty() {
            let body = input.strip_suffix(b"\n").unwrap_or(&input);
            for (i, l) in body.split(|&b| b == b'\n').enumerate() {
                want.push((i as u64 + 1, l));
            }
        }
        assert_eq!(got.len(), want.len(), "lines");
        for ((n, text), (m, line)) in got.iter().zip(&want) {
            assert_eq!(n, m);
            match text {
                Some(t) => assert!(t == line, "line {n} differs"),
                None => assert!(line.len() > MAX_LINE_LEN, "line {n} rejected"),
            }
        }
    }

    fn input_of(lens: &[usize], last_newline: bool) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, &n) in lens.iter().enumerate() {
            v.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, n));
            v.push(b'\n');
        }
        if !last_newline {
            v.pop();
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn every_line_arrives_once_with_its_number(
            lens in prop::collection::vec(
                prop_oneof![
                    8 => 0usize..300,
                    1 => 1000usize..300_000,
                    1 => Just(MAX_LINE_LEN + 1),
                    1 => Just(3 * MAX_LINE_LEN),
                ],
                0..60,
            ),
            last_newline: bool,
            step in prop_oneof![Just(1usize << 30), 1usize..70_000],
            streaming: bool,
        ) {
            check(input_of(&lens, last_newline), step, streaming);
        }
    }

    #[test]
    fn many_lines_over_several_chunks() {
        let lens: Vec<usize> = (0..40_000).map(|i| (i * 7919) % 400).collect();
        check(input_of(&lens, true), 1 << 30, false);
        check(input_of(&lens, false), 100_000, false);
        check(Vec::new(), 10, false);
        check(b"\n".to_vec(), 10, true);
    }
}
