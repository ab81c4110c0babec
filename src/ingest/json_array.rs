//! A JSON array of records read as newline-delimited JSON (`read_json(path,
//! format := 'array')`, DuckDB's layout): [`ArrayLines`] wraps an input that holds
//! one top-level array (`[{...}, {...}]`, pretty-printed or not) and yields its
//! elements one per line, so the jsonl parser reads them chunk by chunk as it
//! reads JSON lines, and element n is line n for rejects and counts (elements
//! read = rows + rejects). Memory is a read buffer, whatever the array's size.
//!
//! It is a splitter, not a parser: it follows strings (with their escapes) and
//! the nesting of `{}` / `[]` only to find the commas between elements. What an
//! element holds is the jsonl parser's to check (a broken element is rejected like
//! a bad line). Inside an element, line breaks between tokens become spaces and
//! raw line breaks inside strings become the escapes `\n` / `\r` (the string's
//! value is unchanged), so every element is one line.
//!
//! The array's own structure must be sound: no `[` first, a missing comma between
//! elements, an empty element (`[1,,2]`, `[1,]`), a closing `}` with nothing
//! open, input ending inside the array, or anything but whitespace after its
//! closing `]` is a [`MalformedArray`] error giving the byte offset (from 0, in
//! the decompressed input) and the line where it was found.
//!
//! [`open`] picks the layout of one input: an array, newline-delimited JSON, or
//! (`auto`, DuckDB's default) an array when its first byte other than whitespace
//! (and a UTF-8 byte order mark) is `[`.

use std::io::{self, Read};

use super::input::{open_source, Source};
use super::Compression;
use crate::error::Result;

/// A JSON array whose structure is broken, where it was found.
#[derive(Debug)]
pub struct MalformedArray {
    /// Bytes of the input before the offending byte.
    pub offset: u64,
    /// The line (from 1) of the input holding it.
    pub line: u64,
    pub what: String,
}

impl std::fmt::Display for MalformedArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "malformed JSON array at byte {} (line {}): {}",
            self.offset, self.line, self.what
        )
    }
}

impl std::error::Error for MalformedArray {}

/// The [`MalformedArray`] an I/O error carries, if it is one.
pub fn malformed(e: &io::Error) -> Option<&MalformedArray> {
    e.get_ref().and_then(|inner| inner.downcast_ref())
}

/// Where the splitter is in the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the array's `[`.
    Start,
    /// After `[` or a `,`: an element starts at the next byte other than whitespace.
    Before,
    /// Inside an element.
    Element,
    /// After an element's value and whitespace: `,` or `]` must follow.
    After,
    /// After the closing `]`: whitespace only.
    End,
}

/// The UTF-8 byte order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The bytes a string's content cannot pass through unchanged.
const STRING_SPECIAL: [bool; 256] = byte_set(b"\"\\\n\r");
/// The bytes a bracketed value (outside strings) cannot pass through unchanged.
const NESTED_SPECIAL: [bool; 256] = byte_set(b"\"{}[]\n\r");

const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        set[bytes[i] as usize] = true;
        i += 1;
    }
    set
}

/// Bytes read from the wrapped input at a time.
const READ_BYTES: usize = 64 * 1024;

/// The elements of the JSON array `inner` holds, one per line (see the module
/// docs). A [`MalformedArray`] is returned as an `io::Error` of kind
/// `InvalidData` (every later read returns it again), after the bytes of the
/// elements before it.
pub struct ArrayLines<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes of the input before `buf[pos]`.
    offset: u64,
    /// The line of `buf[pos]`.
    line: u64,
    state: State,
    /// Elements started so far (the first is 1).
    elements: u64,
    /// Open `{` / `[` inside the element.
    depth: u64,
    in_string: bool,
    escaped: bool,
    /// At the element's top level: a value has begun / a string or a bracketed
    /// value has ended (only `,`, `]` or whitespace may follow).
    started: bool,
    closed: bool,
    failed: Option<(u64, u64, String)>,
    /// The wrapped input has ended.
    done: bool,
    /// Bytes of a UTF-8 byte order mark seen at the start.
    bom: u64,
    /// Output made and not yet handed out from `handed` on (an escape is two
    /// bytes, so a step may make more than a read asks for).
    pending: Vec<u8>,
    handed: usize,
}

impl<R: Read> ArrayLines<R> {
    pub fn new(inner: R) -> Self {
        ArrayLines {
            inner,
            buf: Vec::new(),
            pos: 0,
            offset: 0,
            line: 1,
            state: State::Start,
            elements: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            started: false,
            closed: false,
            failed: None,
            done: false,
            bom: 0,
            pending: Vec::new(),
            handed: 0,
        }
    }

    fn error(&self) -> Option<io::Error> {
        let (offset, line, what) = self.failed.as_ref()?;
        Some(io::Error::new(
            io::ErrorKind::InvalidData,
            MalformedArray {
                offset: *offset,
                line: *line,
                what: what.clone(),
            },
        ))
    }

    /// Records a structural error at the current byte.
    fn fail(&mut self, what: String) {
        self.failed = Some((self.offset, self.line, what));
    }

    /// Starts the next element at its top level.
    fn begin_element(&mut self) {
        self.state = State::Element;
        self.elements += 1;
        self.depth = 0;
        self.started = false;
        self.closed = false;
    }

    /// Handles one byte at the element's top level (outside strings, depth 0)
    /// that is not whitespace; pushes what it outputs onto `out`.
    fn top_level(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b',' | b']' if !self.started => self.fail(format!(
                "element {} is empty (expected a value before '{}')",
                self.elements, b as char
            )),
            b',' => {
                out.push(b'\n');
                self.state = State::Before;
            }
            b']' => {
                out.push(b'\n');
                self.state = State::End;
            }
            b'}' => self.fail("'}' with no '{' open".to_string()),
            _ if self.closed || (self.started && matches!(b, b'{' | b'[' | b'"')) => {
                self.fail(format!(
                    "missing ',' after element {} (found '{}')",
                    self.elements,
                    shown(b)
                ));
            }
            b'{' | b'[' => {
                self.started = true;
                self.depth = 1;
                out.push(b);
            }
            b'"' => {
                self.started = true;
                self.in_string = true;
                out.push(b);
            }
            _ => {
                self.started = true;
                out.push(b);
            }
        }
    }

    /// Handles one input byte; pushes what it outputs onto `out`.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            // A UTF-8 byte order mark before the array.
            State::Start
                if self.offset < 3 && self.offset == self.bom && b == BOM[self.bom as usize] =>
            {
                self.bom += 1
            }
            State::Start => {
                if b == b'[' {
                    self.state = State::Before;
                } else if !space {
                    self.fail(format!(
                        "expected '[' (the start of a JSON array), found '{}'",
                        shown(b)
                    ));
                }
            }
            State::Before if space => {}
            // `[]`: an empty array.
            State::Before if b == b']' && self.elements == 0 => self.state = State::End,
            State::Before => {
                self.begin_element();
                self.top_level(b, out);
            }
            State::Element if self.in_string => {
                if self.escaped {
                    self.escaped = false;
                    out.push(b);
                } else {
                    match b {
                        b'\\' => {
                            self.escaped = true;
                            out.push(b);
                        }
                        b'"' => {
                            self.in_string = false;
                            self.closed = self.depth == 0;
                            out.push(b);
                        }
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
            State::Element if self.depth > 0 => match b {
                b'"' => {
                    self.in_string = true;
                    out.push(b);
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    out.push(b);
                }
                b'}' | b']' => {
                    self.depth -= 1;
                    self.closed = self.depth == 0;
                    out.push(b);
                }
                b'\n' | b'\r' => out.push(b' '),
                _ => out.push(b),
            },
            State::Element => {
                if space {
                    self.state = State::After;
                } else {
                    self.top_level(b, out);
                }
            }
            State::After => match b {
                b',' | b']' => self.top_level(b, out),
                _ if space => {}
                _ => self.fail(format!(
                    "missing ',' after element {} (found '{}')",
                    self.elements,
                    shown(b)
                )),
            },
            State::End => {
                if !space {
                    self.fail(format!("'{}' after the array's closing ']'", shown(b)));
                }
            }
        }
    }

    /// Records the error of an input that ended in the current state, if it is one.
    fn at_end(&mut self) {
        let what = match self.state {
            State::End => return,
            State::Start => "the input ends before the array's '['".to_string(),
            _ => format!(
                "the input ends inside the array (in element {}; no closing ']')",
                self.elements.max(1)
            ),
        };
        self.fail(what);
    }
}

/// A byte as an error message shows it.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

impl<R: Read> ArrayLines<R> {
    /// Splits input bytes onto `pending` until it holds `want` bytes, the input
    /// ends, or the structure breaks. Reads the wrapped input only while
    /// `pending` is empty, so a slow input's elements are handed out as they come.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        let mut out = std::mem::take(&mut self.pending);
        let r = self.fill_into(&mut out, want);
        self.pending = out;
        r
    }

    fn fill_into(&mut self, out: &mut Vec<u8>, want: usize) -> io::Result<()> {
        while out.len() < want && self.failed.is_none() {
            if self.pos == self.buf.len() {
                if !out.is_empty() || self.done {
                    return Ok(());
                }
                self.buf.resize(READ_BYTES, 0);
                let n = loop {
                    match self.inner.read(&mut self.buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            self.buf.clear();
                            self.pos = 0;
                            return Err(e);
                        }
                    }
                };
                self.buf.truncate(n);
                self.pos = 0;
                if n == 0 {
                    self.done = true;
                    self.at_end();
                    return Ok(());
                }
            }
            if self.state == State::Element && !self.escaped && (self.in_string || self.depth > 0) {
                // Inside a string or a bracketed value: the bytes up to the next
                // one that matters pass through as they are.
                let special = if self.in_string {
                    &STRING_SPECIAL
                } else {
                    &NESTED_SPECIAL
                };
                let rest = &self.buf[self.pos..];
                let run = rest
                    .iter()
                    .position(|&c| special[c as usize])
                    .unwrap_or(rest.len());
                if run > 0 {
                    out.extend_from_slice(&rest[..run]);
                    self.pos += run;
                    self.offset += run as u64;
                    continue;
                }
            }
            let b = self.buf[self.pos];
            self.step(b, out);
            if self.failed.is_some() {
                break;
            }
            self.pos += 1;
            self.offset += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for ArrayLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.handed == self.pending.len() {
            self.pending.clear();
            self.handed = 0;
            self.fill(out.len())?;
            if self.pending.is_empty() {
                return match self.error() {
                    Some(e) => Err(e),
                    None => Ok(0),
                };
            }
        }
        let n = (self.pending.len() - self.handed).min(out.len());
        out[..n].copy_from_slice(&self.pending[self.handed..self.handed + n]);
        self.handed += n;
        Ok(n)
    }
}

/// The layout of a JSON input: `Some(true)` an array, `Some(false)` one record
/// per line, `None` (DuckDB's `auto`) an array when the first byte other than
/// whitespace (and a UTF-8 byte order mark) is `[`.
pub type ArrayLayout = Option<bool>;

/// How many leading bytes [`open`] reads at most to find the first one that is
/// not whitespace (a longer run of whitespace: not an array).
const DETECT_BYTES: usize = 1 << 20;

/// Opens `s` as [`open_source`] does (decompression by name or magic bytes), read
/// as a JSON array one element per line when `layout` says so or detects one;
/// also returns its compression and whether it is read as an array.
pub fn open(s: &Source, layout: ArrayLayout) -> Result<(Box<dyn Read + Send>, Compression, bool)> {
    let (mut input, compression) = open_source(s)?;
    let array = match layout {
        Some(a) => a,
        None => {
            let mut head = Vec::new();
            let first = first_byte(&mut input, &mut head)
                .map_err(|e| crate::error::Error::io(super::input::source_name(s), e))?;
            input = Box::new(io::Cursor::new(head).chain(input));
            first == Some(b'[')
        }
    };
    if array {
        input = Box::new(ArrayLines::new(input));
    }
    Ok((input, compression, array))
}

/// Reads `input` onto `head` up to its first byte other than whitespace (after a
/// UTF-8 byte order mark), which it returns (`None` at the end of the input or
/// after [`DETECT_BYTES`] of whitespace).
fn first_byte(input: &mut dyn Read, head: &mut Vec<u8>) -> io::Result<Option<u8>> {
    let mut buf = [0u8; 4096];
    // Bytes of `head` known to be whitespace (or the byte order mark).
    let mut seen = 0;
    while head.len() < DETECT_BYTES {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&buf[..n]);
        if head.len() < BOM.len() && BOM.starts_with(head) {
            continue;
        }
        if seen == 0 && head.starts_with(&BOM) {
            seen = BOM.len();
        }
        match head[seen..]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some(i) => return Ok(Some(head[seen + i])),
            None => seen = head.len(),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `input` gives, or the error.
    fn lines(input: &str) -> std::result::Result<String, String> {
        let mut out = String::new();
        // One byte at a time from the input, read through small buffers: every
        // state must survive a boundary.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match (self.0.split_first(), buf.first_mut()) {
                    (Some((&b, rest)), Some(slot)) => {
                        *slot = b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let mut r = ArrayLines::new(Trickle(input.as_bytes()));
        let mut buf = [0u8; 3];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                Err(e) => return Err(format!("{out}|{e}")),
            }
        }
    }

    #[test]
    fn elements_become_lines() {
        assert_eq!(lines("[]").unwrap(), "");
        assert_eq!(lines(" \n[ ]\n").unwrap(), "");
        assert_eq!(
            lines(r#"[{"a":1},{"a":2}]"#).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        assert_eq!(
            lines("[\n  {\"a\": 1,\n   \"b\": [1,\n 2]},\n  {\"a\": 2}\n]\n").unwrap(),
            "{\"a\": 1,    \"b\": [1,  2]}\n{\"a\": 2}\n"
        );
        // Strings hold brackets, commas, escaped quotes and raw line breaks.
        assert_eq!(
            lines("[{\"s\":\"x,]}\\\"[\"},{\"s\":\"a\nb\r\"}]").unwrap(),
            "{\"s\":\"x,]}\\\"[\"}\n{\"s\":\"a\\nb\\r\"}\n"
        );
        // Scalars and nested arrays are elements too (the parser rejects them).
        assert_eq!(
            lines("[1, \"s\", [2, 3], true]").unwrap(),
            "1\n\"s\"\n[2, 3]\ntrue\n"
        );
        assert_eq!(lines("\u{feff}[1]").unwrap(), "1\n");
    }

    #[test]
    fn broken_structure_is_an_error_with_its_position() {
        let err = |s: &str| lines(s).unwrap_err();
        assert_eq!(
            err("{\"a\":1}"),
            "|malformed JSON array at byte 0 (line 1): expected '[' (the start of a JSON \
             array), found '{'"
        );
        assert_eq!(
            err("[{\"a\":1}\n {\"a\":2}]"),
            "{\"a\":1}|malformed JSON array at byte 10 (line 2): missing ',' after element 1 \
             (found '{')"
        );
        assert!(err("[{\"a\":1}{\"a\":2}]").contains("byte 8 (line 1): missing ','"));
        assert!(err("[1 2]").contains("byte 3 (line 1): missing ',' after element 1"));
        assert!(err("[\"a\" \"b\"]").contains("missing ','"));
        assert!(err("[1,,2]").contains("byte 3 (line 1): element 2 is empty"));
        assert!(err("[1,]").contains("element 2 is empty (expected a value before ']')"));
        assert!(err("[,1]").contains("element 1 is empty"));
        assert!(err("[{\"a\":1}}]").contains("'}' with no '{' open"));
        assert!(err("[{\"a\":1},\n{\"a\":2}").contains(
            "byte 17 (line 2): the input ends inside the array (in element 2; no closing ']')"
        ));
        assert!(err("[{\"a\":\"x]}").contains("the input ends inside the array"));
        assert!(err("[1] x").contains("byte 4 (line 1): 'x' after the array's closing ']'"));
        assert!(err("").contains("the input ends before the array's '['"));
        // The elements before the error are handed out first.
        assert_eq!(
            err("[1, 2 3]"),
            "1\n2|malformed JSON array at byte 6 (line 1): missing ',' after element 2 (found '3')"
        );
    }

    #[test]
    fn auto_detects_by_the_first_byte() {
        let detect = |s: &str| {
            let mut head = Vec::new();
            first_byte(&mut s.as_bytes(), &mut head).unwrap()
        };
        assert_eq!(detect("  \n [1]"), Some(b'['));
        assert_eq!(detect("\u{feff}[1]"), Some(b'['));
        assert_eq!(detect("{\"a\":1}\n"), Some(b'{'));
        assert_eq!(detect("   "), None);
    }
}
