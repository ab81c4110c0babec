//! Request-target helpers: the path/query split and query-parameter lookup, used by
//! the log parsers and by SQL functions over `url` and `query`.
//!
//! These work on the target as the client sent it and never fail: odd input gives an
//! odd (but defined) result rather than an error.

use std::borrow::Cow;

/// Splits a request target into its path (`uri`) and query string.
///
/// - `/a/b?x=1&y` gives (`/a/b`, `Some("x=1&y")`); the query is everything after the
///   first `?`, and `/a?` gives an empty query `Some("")`.
/// - Absolute targets drop scheme and authority: `http://host:80/path?x` gives
///   (`/path`, `Some("x")`) and `http://host` gives `/`.
/// - `*` (as in `OPTIONS *`) and the empty target are returned as they are.
/// - A `#fragment` (never sent by browsers, but seen from scripts) is not part of
///   either.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    let (before_frag, _) = split_once_byte(target, b'#');
    let (path, query) = match memchr::memchr(b'?', before_frag.as_bytes()) {
        Some(q) => (&before_frag[..q], Some(&before_frag[q + 1..])),
        None => (before_frag, None),
    };
    (strip_origin(path), query)
}

/// The path of a target: [`split_target`] without the query.
pub fn uri_of(target: &str) -> &str {
    split_target(target).0
}

fn split_once_byte(s: &str, b: u8) -> (&str, Option<&str>) {
    match memchr::memchr(b, s.as_bytes()) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// Drops `scheme://authority` from an absolute path; other paths are unchanged.
fn strip_origin(path: &str) -> &str {
    if path.starts_with('/') {
        return path;
    }
    let Some(colon) = path.find("://") else {
        return path;
    };
    let scheme = &path[..colon];
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return path;
    }
    let after = &path[colon + 3..];
    match memchr::memchr(b'/', after.as_bytes()) {
        Some(slash) => &after[slash..],
        None => "/",
    }
}

/// The value of query parameter `name` in `query` (the text after `?`), decoded from
/// percent-encoding (with `+` as space). The first occurrence wins; a parameter
/// without `=` has the empty value. Keys are compared as written, and also decoded
/// when they contain `%` or `+`.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    for pair in query.split('&') {
        let (key, value) = match memchr::memchr(b'=', pair.as_bytes()) {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, ""),
        };
        let matches = key == name
            || (key.len() >= name.len()
                && key.bytes().any(|c| c == b'%' || c == b'+')
                && percent_decode(key) == name);
        if matches {
            return Some(percent_decode(value));
        }
    }
    None
}

#[inline]
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes and `+` (as space). Malformed escapes are kept as written;
/// bytes that do not form UTF-8 become U+FFFD. Borrows when there is nothing to do.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                b.get(i + 1).and_then(|&c| hex_value(c)),
                b.get(i + 2).and_then(|&c| hex_value(c)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_targets() {
        assert_eq!(split_target("/a/b?x=1&y"), ("/a/b", Some("x=1&y")));
        assert_eq!(split_target("/a/b"), ("/a/b", None));
        assert_eq!(split_target("/a?"), ("/a", Some("")));
        assert_eq!(split_target("/a?b?c"), ("/a", Some("b?c")));
        assert_eq!(split_target("http://host:80/path?x"), ("/path", Some("x")));
        assert_eq!(split_target("https://host"), ("/", None));
        assert_eq!(split_target("http://host?q=1"), ("/", Some("q=1")));
        assert_eq!(split_target("*"), ("*", None));
        assert_eq!(split_target(""), ("", None));
        assert_eq!(split_target("/p#frag"), ("/p", None));
        assert_eq!(split_target("/p?a=1#frag"), ("/p", Some("a=1")));
        assert_eq!(split_target("host:443"), ("host:443", None));
        assert_eq!(uri_of("/x?y"), "/x");
    }

    #[test]
    fn query_params() {
        assert_eq!(query_param("uid=42&a=1", "uid").as_deref(), Some("42"));
        assert_eq!(
            query_param("a=1&uid=u%2F7+x", "uid").as_deref(),
            Some("u/7 x")
        );
        assert_eq!(query_param("a=1&uidx=3", "uid"), None);
        assert_eq!(query_param("uid", "uid").as_deref(), Some(""));
        assert_eq!(query_param("uid=1&uid=2", "uid").as_deref(), Some("1"));
        assert_eq!(query_param("u%69d=9", "uid").as_deref(), Some("9"));
        assert_eq!(query_param("", "uid"), None);
        assert!(matches!(
            query_param("uid=7", "uid"),
            Some(Cow::Borrowed("7"))
        ));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
