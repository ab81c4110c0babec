//! A JSON lexer for lines that hold one object (RFC 8259): [`ObjectScanner`] reads
//! the object key by key and each value as a [`Val`] (a range of the line; strings
//! with escapes decoded onto a scratch buffer when asked). String escapes, `\u`
//! sequences and surrogate pairs are decoded (an unpaired surrogate is an error); raw
//! control characters inside strings are accepted as written. Nested objects and
//! arrays are checked and kept as written, at most [`MAX_DEPTH`] levels deep.
//!
//! It is a hand-written scanner over the line's bytes, not `serde_json`: it
//! allocates nothing per line and decodes only the strings the caller stores. What
//! runs for every field (`next_key`, `value`, `scan_string`, `key_text`) is
//! `#[inline]`, so that it is compiled into the parser's loop in `jsonl.rs`; called
//! across modules instead, parsing a jsonl line takes about 10% more instructions.

use super::fields::{Src, Val};
use super::lex;

/// Deepest nesting of arrays and objects inside a value.
const MAX_DEPTH: usize = 128;

#[inline]
fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = b.get(p) {
        p += 1;
    }
    p
}

/// Scans the string whose opening quote is at `b[open]`. Returns the content range,
/// whether it holds escapes, and the position after the closing quote. Escapes are
/// checked for shape here and decoded by [`unescape`].
#[inline]
fn scan_string(b: &[u8], open: usize) -> Result<(usize, usize, bool, usize), String> {
    let start = open + 1;
    let mut p = start;
    let mut escaped = false;
    loop {
        let Some(i) = memchr::memchr2(b'"', b'\\', &b[p.min(b.len())..]) else {
            return Err("unterminated string".to_string());
        };
        p += i;
        if b[p] == b'"' {
            return Ok((start, p, escaped, p + 1));
        }
        escaped = true;
        match b.get(p + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => p += 2,
            Some(b'u') => {
                let hex = b.get(p + 2..p + 6).ok_or("unterminated string")?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(format!("bad \\u escape at byte {p}"));
                }
                p += 6;
            }
            Some(_) => return Err(format!("bad escape at byte {p}")),
            None => return Err("unterminated string".to_string()),
        }
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(b.get(..4)?).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Decodes a string's content (checked by [`scan_string`]) onto `out`.
fn unescape(s: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut p = 0;
    while p < s.len() {
        let Some(i) = memchr::memchr(b'\\', &s[p..]) else {
            out.extend_from_slice(&s[p..]);
            break;
        };
        out.extend_from_slice(&s[p..p + i]);
        p += i;
        let c = s.get(p + 1).copied().unwrap_or(b'\\');
        p += 2;
        let ch = match c {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&s[p.min(s.len())..]).ok_or("bad \\u escape")?;
                p += 4;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        let lo = match s.get(p..p + 2) {
                            Some(b"\\u") => hex4(&s[p + 2..]),
                            _ => None,
                        }
                        .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                        .ok_or("unpaired surrogate in a \\u escape")?;
                        p += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err("unpaired surrogate in a \\u escape".into()),
                    c => c,
                };
                char::from_u32(code).ok_or("bad \\u escape")?
            }
            other => other as char,
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

/// Scans a JSON number at `b[p]`. Returns the end and whether it is an integer.
fn scan_number(b: &[u8], mut p: usize) -> Option<(usize, bool)> {
    let digits = |b: &[u8], mut p: usize| -> (usize, usize) {
        let s = p;
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        (p, p - s)
    };
    if b.get(p) == Some(&b'-') {
        p += 1;
    }
    match b.get(p)? {
        b'0' => p += 1,
        b'1'..=b'9' => p = digits(b, p).0,
        _ => return None,
    }
    let mut int = true;
    if b.get(p) == Some(&b'.') {
        let (q, n) = digits(b, p + 1);
        if n == 0 {
            return None;
        }
        p = q;
        int = false;
    }
    if let Some(b'e' | b'E') = b.get(p) {
        p += 1;
        if let Some(b'+' | b'-') = b.get(p) {
            p += 1;
        }
        let (q, n) = digits(b, p);
        if n == 0 {
            return None;
        }
        p = q;
        int = false;
    }
    Some((p, int))
}

/// Skips a whole JSON value at `b[p]` (checking its grammar); returns its end.
fn skip_value(b: &[u8], p: usize, depth: usize) -> Option<usize> {
    match *b.get(p)? {
        b'"' => scan_string(b, p).ok().map(|r| r.3),
        b'{' | b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let object = b[p] == b'{';
            let close = if object { b'}' } else { b']' };
            let mut q = skip_ws(b, p + 1);
            if b.get(q) == Some(&close) {
                return Some(q + 1);
            }
            loop {
                if object {
                    if b.get(q) != Some(&b'"') {
                        return None;
                    }
                    q = skip_ws(b, scan_string(b, q).ok()?.3);
                    if b.get(q) != Some(&b':') {
                        return None;
                    }
                    q = skip_ws(b, q + 1);
                }
                q = skip_ws(b, skip_value(b, q, depth + 1)?);
                match *b.get(q)? {
                    b',' => q = skip_ws(b, q + 1),
                    c if c == close => return Some(q + 1),
                    _ => return None,
                }
            }
        }
        b't' => b[p..].starts_with(b"true").then_some(p + 4),
        b'f' => b[p..].starts_with(b"false").then_some(p + 5),
        b'n' => b[p..].starts_with(b"null").then_some(p + 4),
        _ => scan_number(b, p).map(|r| r.0),
    }
}

/// Reads the fields of one JSON object line, key by key.
pub(super) struct ObjectScanner<'a> {
    b: &'a [u8],
    p: usize,
    first: bool,
}

impl<'a> ObjectScanner<'a> {
    pub(super) fn start(line: &'a str) -> Result<Self, String> {
        let b = line.as_bytes();
        let p = skip_ws(b, 0);
        match b.get(p) {
            Some(b'{') => Ok(ObjectScanner {
                b,
                p: p + 1,
                first: true,
            }),
            Some(_) => Err(format!("not a JSON object: '{}'", lex::snippet(&line[p..]))),
            None => Err("not a JSON object: blank line".to_string()),
        }
    }

    /// The next key as (start, end, escaped), or `None` after the closing brace.
    #[inline]
    pub(super) fn next_key(
        &mut self,
        after: impl FnOnce() -> String,
    ) -> Result<Option<(usize, usize, bool)>, String> {
        let b = self.b;
        let mut p = skip_ws(b, self.p);
        if self.first {
            self.first = false;
            if b.get(p) == Some(&b'}') {
                self.p = p + 1;
                return Ok(None);
            }
        } else {
            match b.get(p) {
                Some(b',') => p = skip_ws(b, p + 1),
                Some(b'}') => {
                    self.p = p + 1;
                    return Ok(None);
                }
                Some(_) => {
                    return Err(format!(
                        "expected ',' or '}}' after {} at byte {p}",
                        after()
                    ))
                }
                None => {
                    return Err(format!(
                        "line ends inside the JSON object, after {}",
                        after()
                    ))
                }
            }
        }
        match b.get(p) {
            Some(b'"') => {}
            Some(_) => return Err(format!("expected a field name at byte {p}")),
            None => return Err("line ends inside the JSON object".to_string()),
        }
        let (s, e, escaped, q) = scan_string(b, p).map_err(|e| format!("{e} in a field name"))?;
        let q = skip_ws(b, q);
        if b.get(q) != Some(&b':') {
            return Err(format!("expected ':' after a field name at byte {q}"));
        }
        self.p = skip_ws(b, q + 1);
        Ok(Some((s, e, escaped)))
    }

    /// The value after a key. When `decode`, a string with escapes is decoded onto
    /// `scratch` and returned as a scratch range.
    #[inline]
    pub(super) fn value(
        &mut self,
        decode: bool,
        scratch: &mut Vec<u8>,
        name: impl Fn() -> String,
    ) -> Result<Val, String> {
        let b = self.b;
        let p = self.p;
        let bad = || format!("bad value in field '{}' at byte {p}", lex::snippet(&name()));
        let v = match b.get(p) {
            None => {
                return Err(format!(
                    "line ends before the value of field '{}'",
                    lex::snippet(&name())
                ))
            }
            Some(b'"') => {
                let (s, e, escaped, q) = scan_string(b, p)
                    .map_err(|err| format!("{err} in field '{}'", lex::snippet(&name())))?;
                self.p = q;
                if escaped && decode {
                    let start = scratch.len();
                    unescape(&b[s..e], scratch)
                        .map_err(|err| format!("{err} in field '{}'", lex::snippet(&name())))?;
                    Val::Str(Src {
                        scratch: true,
                        start,
                        end: scratch.len(),
                    })
                } else {
                    Val::Str(Src::line(s, e))
                }
            }
            Some(b'{' | b'[') => {
                let e = skip_value(b, p, 0).ok_or_else(|| {
                    format!("invalid nested value in field '{}'", lex::snippet(&name()))
                })?;
                self.p = e;
                Val::Raw(Src::line(p, e))
            }
            Some(b't' | b'f' | b'n') => {
                let e = skip_value(b, p, 0).ok_or_else(bad)?;
                self.p = e;
                match b[p] {
                    b't' => Val::Bool(true),
                    b'f' => Val::Bool(false),
                    _ => Val::Null,
                }
            }
            Some(_) => {
                let (e, int) = scan_number(b, p).ok_or_else(bad)?;
                self.p = e;
                Val::Num {
                    src: Src::line(p, e),
                    int,
                }
            }
        };
        Ok(v)
    }

    /// Checks that only whitespace follows the object.
    pub(super) fn finish(&self, line: &str) -> Result<(), String> {
        let p = skip_ws(self.b, self.p);
        if p < self.b.len() {
            return Err(format!(
                "trailing text after the JSON object: '{}'",
                lex::snippet(&line[p..])
            ));
        }
        Ok(())
    }
}

/// The key text: from the line, or decoded onto `buf`.
#[inline]
pub(super) fn key_text<'a>(
    line: &'a str,
    key: (usize, usize, bool),
    buf: &'a mut Vec<u8>,
) -> Result<&'a str, String> {
    let (s, e, escaped) = key;
    if !escaped {
        return Ok(&line[s..e]);
    }
    buf.clear();
    unescape(&line.as_bytes()[s..e], buf)?;
    std::str::from_utf8(buf).map_err(|_| "invalid escape in a field name".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut out = Vec::new();
        unescape(br#"a\"b\\c\/\n\u00e9\ud83d\ude00"#, &mut out).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "a\"b\\c/\n\u{e9}\u{1F600}"
        );
        assert!(unescape(br"\ud83d", &mut Vec::new()).is_err());
        assert!(unescape(br"\ude00x", &mut Vec::new()).is_err());
        assert!(scan_string(br#""abc\q""#, 0).is_err());
        assert_eq!(scan_string(br#""a\"b" x"#, 0), Ok((1, 5, true, 6)));
        assert_eq!(skip_value(br#"{"a":[1,2,{"b":null}]} "#, 0, 0), Some(22));
        assert_eq!(skip_value(br#"{"a" 1}"#, 0, 0), None);
        assert_eq!(skip_value(br#"[1,]"#, 0, 0), None);
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(skip_value(deep.as_bytes(), 0, 0), None);
        assert_eq!(scan_number(b"-0.5e+3,", 0), Some((7, false)));
        assert_eq!(scan_number(b"012", 0), Some((1, true)));
        assert_eq!(scan_number(b"-", 0), None);
    }
}
