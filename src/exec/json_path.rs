//! JSON path lookups on VARCHAR values holding JSON text (DuckDB's
//! `json_extract`, `json_extract_string`, `->`, `->>`): the path is parsed once
//! at bind time ([`parse_path`]); each value is read by a small validating
//! scanner that finds the path's element and returns it as minified JSON text or
//! as a string.
//!
//! The whole document is checked (RFC 8259, at most [`MAX_DEPTH`] levels), as
//! DuckDB parses it whole: malformed JSON is an error, never a silent NULL. An
//! object with a key twice yields the first.

use crate::plan::JsonStep;

/// Deepest nesting of arrays and objects read.
pub const MAX_DEPTH: usize = 1000;

/// Parses a DuckDB JSON path: `$`, then `.key`, `."quoted key"` or `[n]` steps;
/// a path that does not start with `$` is one key (DuckDB). Wildcards, negative
/// indexes and JSON pointers (`/a/b`) are refused with what is not supported.
pub fn parse_path(path: &str) -> Result<Vec<JsonStep>, String> {
    let Some(rest) = path.strip_prefix('$') else {
        if path.starts_with('/') {
            return Err("JSON pointer paths ('/a/b'); use '$.a.b'".into());
        }
        return Ok(vec![JsonStep::Key(path.into())]);
    };
    let b = rest.as_bytes();
    let mut steps = Vec::new();
    let mut p = 0;
    while p < b.len() {
        match b[p] {
            b'.' => {
                p += 1;
                if b.get(p) == Some(&b'"') {
                    let end = rest[p + 1..]
                        .find('"')
                        .ok_or_else(|| format!("unterminated quoted key in JSON path '{path}'"))?;
                    steps.push(JsonStep::Key(rest[p + 1..p + 1 + end].into()));
                    p += end + 2;
                } else {
                    let end = rest[p..].find(['.', '[']).map_or(rest.len(), |e| p + e);
                    let key = &rest[p..end];
                    if key.is_empty() || key == "*" {
                        return Err(format!("JSON path '{path}' (empty key or wildcard)"));
                    }
                    steps.push(JsonStep::Key(key.into()));
                    p = end;
                }
            }
            b'[' => {
                let end = rest[p..]
                    .find(']')
                    .map(|e| p + e)
                    .ok_or_else(|| format!("unterminated [ in JSON path '{path}'"))?;
                let n = rest[p + 1..end].trim().parse::<u64>().map_err(|_| {
                    format!("JSON path '{path}' (only [n] with n >= 0 is supported)")
                })?;
                steps.push(JsonStep::Index(n));
                p = end + 1;
            }
            _ => return Err(format!("JSON path '{path}': expected . or [ after $")),
        }
    }
    Ok(steps)
}

fn malformed(at: usize, what: &str) -> String {
    format!("Invalid Input Error: Malformed JSON at byte {at} of input: {what}")
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\n' | b'\r') {
        p += 1;
    }
    p
}

/// The end of the string starting at `b[p] == '"'` (after the closing quote) and
/// whether it has escapes.
fn string_end(b: &[u8], p: usize) -> Result<(usize, bool), String> {
    let mut i = p + 1;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    Err(malformed(p, "unterminated string"))
}

/// Decodes the JSON string `s` (without its quotes) into `out`.
fn unescape(s: &[u8], at: usize, out: &mut String) -> Result<(), String> {
    let bad = || malformed(at, "invalid escape in string");
    let hex = |h: &[u8]| -> Option<u32> {
        std::str::from_utf8(h.get(..4)?)
            .ok()
            .and_then(|t| u32::from_str_radix(t, 16).ok())
    };
    let mut i = 0;
    let mut start = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(std::str::from_utf8(&s[start..i]).map_err(|_| bad())?);
        let c = *s.get(i + 1).ok_or_else(bad)?;
        i += 2;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex(&s[i..]).ok_or_else(bad)?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if s.get(i..i + 2) != Some(b"\\u") {
                        return Err(bad());
                    }
                    let lo = hex(&s[i + 2..]).ok_or_else(bad)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(bad());
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                out.push(char::from_u32(code).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
        start = i;
    }
    out.push_str(std::str::from_utf8(&s[start..]).map_err(|_| bad())?);
    Ok(())
}

/// Whether the key string `b[k0..k1]` (with its quotes) equals `want`.
fn key_is(b: &[u8], k0: usize, k1: usize, escaped: bool, want: &str) -> Result<bool, String> {
    let inner = &b[k0 + 1..k1 - 1];
    if !escaped {
        return Ok(inner == want.as_bytes());
    }
    let mut s = String::new();
    unescape(inner, k0, &mut s)?;
    Ok(s == want)
}

/// Checks the value at `p` and returns where it ends; when `path` is `Some`
/// (this value lies on the path), the element the rest of the path names is
/// stored in `found` as a byte range.
fn value(
    b: &[u8],
    p: usize,
    depth: usize,
    path: Option<&[JsonStep]>,
    found: &mut Option<(usize, usize)>,
) -> Result<usize, String> {
    let p = skip_ws(b, p);
    if depth > MAX_DEPTH {
        return Err(malformed(p, "nested too deep"));
    }
    let end = match b.get(p) {
        None => return Err(malformed(p, "unexpected end")),
        Some(b'{') => {
            let mut q = skip_ws(b, p + 1);
            if b.get(q) == Some(&b'}') {
                q + 1
            } else {
                let mut matched = false;
                loop {
                    if b.get(q) != Some(&b'"') {
                        return Err(malformed(q, "expected a key"));
                    }
                    let (k1, escaped) = string_end(b, q)?;
                    let child = match path {
                        Some([JsonStep::Key(k), rest @ ..]) if !matched => {
                            matched = key_is(b, q, k1, escaped, k)?;
                            matched.then_some(rest)
                        }
                        _ => None,
                    };
                    q = skip_ws(b, k1);
                    if b.get(q) != Some(&b':') {
                        return Err(malformed(q, "expected ':'"));
                    }
                    q = skip_ws(b, value(b, q + 1, depth + 1, child, found)?);
                    match b.get(q) {
                        Some(b',') => q = skip_ws(b, q + 1),
                        Some(b'}') => break q + 1,
                        _ => return Err(malformed(q, "expected ',' or '}'")),
                    }
                }
            }
        }
        Some(b'[') => {
            let mut q = skip_ws(b, p + 1);
            if b.get(q) == Some(&b']') {
                q + 1
            } else {
                let mut i = 0u64;
                loop {
                    let child = match path {
                        Some([JsonStep::Index(n), rest @ ..]) if *n == i => Some(rest),
                        _ => None,
                    };
                    q = skip_ws(b, value(b, q, depth + 1, child, found)?);
                    i += 1;
                    match b.get(q) {
                        Some(b',') => q += 1,
                        Some(b']') => break q + 1,
                        _ => return Err(malformed(q, "expected ',' or ']'")),
                    }
                }
            }
        }
        Some(b'"') => string_end(b, p)?.0,
        Some(b't') if b[p..].starts_with(b"true") => p + 4,
        Some(b'f') if b[p..].starts_with(b"false") => p + 5,
        Some(b'n') if b[p..].starts_with(b"null") => p + 4,
        Some(c) if *c == b'-' || c.is_ascii_digit() => number_end(b, p)?,
        Some(_) => return Err(malformed(p, "unexpected character")),
    };
    if path.is_some_and(|s| s.is_empty()) {
        *found = Some((p, end));
    }
    Ok(end)
}

fn number_end(b: &[u8], p: usize) -> Result<usize, String> {
    let mut q = p;
    if b.get(q) == Some(&b'-') {
        q += 1;
    }
    let digits = |q: &mut usize| {
        let s = *q;
        while b.get(*q).is_some_and(u8::is_ascii_digit) {
            *q += 1;
        }
        *q > s
    };
    if !digits(&mut q) {
        return Err(malformed(p, "invalid number"));
    }
    if b.get(q) == Some(&b'.') {
        q += 1;
        if !digits(&mut q) {
            return Err(malformed(p, "invalid number"));
        }
    }
    if matches!(b.get(q), Some(b'e' | b'E')) {
        q += 1;
        if matches!(b.get(q), Some(b'+' | b'-')) {
            q += 1;
        }
        if !digits(&mut q) {
            return Err(malformed(p, "invalid number"));
        }
    }
    Ok(q)
}

/// Looks `path` up in the JSON document `doc`: `None` when the path names
/// nothing; `out` receives the element as minified JSON text, or for
/// `as_string` a JSON string decoded (`Ok(None)` for a JSON null then, as
/// DuckDB's `->>`).
pub fn extract(
    doc: &str,
    path: &[JsonStep],
    as_string: bool,
    out: &mut String,
) -> Result<Option<()>, String> {
    let b = doc.as_bytes();
    let mut found = None;
    let end = skip_ws(b, value(b, 0, 0, Some(path), &mut found)?);
    if end != b.len() {
        return Err(malformed(end, "unexpected content after the document"));
    }
    let Some((s, e)) = found else {
        return Ok(None);
    };
    let v = &b[s..e];
    if as_string {
        match v[0] {
            b'"' => {
                unescape(&v[1..v.len() - 1], s, out)?;
                return Ok(Some(()));
            }
            b'n' => return Ok(None),
            _ => {}
        }
    }
    minify(v, out);
    Ok(Some(()))
}

/// Appends valid JSON `v` without the whitespace outside strings.
fn minify(v: &[u8], out: &mut String) {
    let mut bytes = Vec::with_capacity(v.len());
    let mut in_str = false;
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if in_str {
            bytes.push(c);
            if c == b'\\' {
                if let Some(&n) = v.get(i + 1) {
                    bytes.push(n);
                }
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
            bytes.push(c);
        } else if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            bytes.push(c);
        }
        i += 1;
    }
    // Valid UTF-8: the input was a str and only ASCII whitespace was dropped.
    out.push_str(&String::from_utf8_lossy(&bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(doc: &str, path: &str, s: bool) -> Result<Option<String>, String> {
        let p = parse_path(path)?;
        let mut out = String::new();
        Ok(extract(doc, &p, s, &mut out)?.map(|_| out))
    }

    #[test]
    fn paths_and_values() {
        let d = r#"{"a": {"b": 1, "c": [1, 2 , {"d": "x\ny"}]}, "a": 5, "e": null}"#;
        assert_eq!(get(d, "$.a.b", false).unwrap().as_deref(), Some("1"));
        assert_eq!(
            get(d, "$.a.c", false).unwrap().as_deref(),
            Some(r#"[1,2,{"d":"x\ny"}]"#)
        );
        assert_eq!(get(d, "$.a.c[2].d", true).unwrap().as_deref(), Some("x\ny"));
        assert_eq!(
            get(d, "$.a.c[2].d", false).unwrap().as_deref(),
            Some(r#""x\ny""#)
        );
        assert_eq!(
            get(d, "a", false).unwrap().as_deref(),
            Some(r#"{"b":1,"c":[1,2,{"d":"x\ny"}]}"#)
        );
        assert_eq!(get(d, "$.e", false).unwrap().as_deref(), Some("null"));
        assert_eq!(get(d, "$.e", true).unwrap(), None);
        assert_eq!(get(d, "$.zz", false).unwrap(), None);
        assert_eq!(get(d, "$.a.c[9]", false).unwrap(), None);
        assert_eq!(
            get(r#"{"k\u00e9": "\ud83d\ude00"}"#, "$.ké", true)
                .unwrap()
                .as_deref(),
            Some("😀")
        );
        assert!(get("bad", "$.a", false).is_err());
        assert!(get(r#"{"a": 1} x"#, "$.a", false).is_err());
        assert!(get(&"[".repeat(5000), "$", false).is_err());
        assert!(parse_path("$.a[-1]").is_err());
        assert!(parse_path("$.*").is_err());
    }
}
