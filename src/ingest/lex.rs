//! Byte-level scanning shared by the parsers: numbers, timestamps, addresses and
//! quoted fields. Everything here works on borrowed bytes and never allocates.

use crate::time::{days_from_civil, is_valid_date, MICROS_PER_SECOND};

/// Longest snippet of input quoted in a reject reason.
const SNIPPET_CHARS: usize = 60;

/// `s` cut to a readable length for an error message (on a character boundary).
pub(crate) fn snippet(s: &str) -> String {
    match s.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// A non-negative decimal integer of at most 18 digits (so it cannot overflow).
#[inline]
pub(crate) fn parse_u63(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as i64;
    }
    Some(v)
}

/// A decimal number such as `0.123`, `12`, `-1` or `1e-3`, as written by web servers.
/// Plain `digits[.digits]` with up to 15 significant digits takes an exact fast path
/// (both operands of the division are exact doubles, so the quotient is correctly
/// rounded); anything else goes through the standard library.
#[inline]
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let b = s.as_bytes();
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut frac_digits = 0usize;
    let mut seen_dot = false;
    let mut simple = !b.is_empty() && b.len() <= 16;
    if simple {
        for &c in b {
            if c.is_ascii_digit() {
                mantissa = mantissa * 10 + (c - b'0') as u64;
                digits += 1;
                if seen_dot {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_dot {
                seen_dot = true;
            } else {
                simple = false;
                break;
            }
        }
    }
    if simple && digits > 0 && digits <= 15 {
        return Some(mantissa as f64 / POW10[frac_digits]);
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// An IPv4 address in dotted form, without the standard library's generality.
#[inline]
fn parse_ipv4(b: &[u8]) -> Option<u32> {
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut out: u32 = 0;
    let mut octet: u32 = 0;
    let mut digits = 0;
    let mut dots = 0;
    for &c in b {
        if c == b'.' {
            if digits == 0 {
                return None;
            }
            out = out << 8 | octet;
            octet = 0;
            digits = 0;
            dots += 1;
        } else {
            let d = c.wrapping_sub(b'0');
            // No leading zeros, as the standard library requires.
            if d > 9 || digits == 3 || (digits == 1 && octet == 0) {
                return None;
            }
            octet = octet * 10 + d as u32;
            if octet > 255 {
                return None;
            }
            digits += 1;
        }
    }
    if dots != 3 || digits == 0 {
        return None;
    }
    Some(out << 8 | octet)
}

/// An IPv4 or IPv6 address as the `u128` of [`crate::ip`].
#[inline]
pub(crate) fn parse_ip(s: &str) -> Option<u128> {
    match parse_ipv4(s.as_bytes()) {
        Some(v4) => Some(0xffff_u128 << 32 | v4 as u128),
        None if s.contains(':') => s.parse::<std::net::Ipv6Addr>().ok().map(u128::from),
        None => None,
    }
}

#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let hi = b[at].wrapping_sub(b'0');
    let lo = b[at + 1].wrapping_sub(b'0');
    if hi > 9 || lo > 9 {
        return None;
    }
    Some(hi as u32 * 10 + lo as u32)
}

#[inline]
fn month_number(m: &[u8]) -> Option<u32> {
    // Case-insensitive on the first letter only is not worth it: servers write
    // these exact spellings.
    Some(match m {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// A Common Log Format time, `17/May/2015:10:05:03 +0200`, optionally with a
/// fraction of a second (`10:05:03.123`), as UTC microseconds.
pub(crate) fn parse_clf_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day = two_digits(b, 0)?;
    let month = month_number(&b[3..6])?;
    let year = two_digits(b, 7)? * 100 + two_digits(b, 9)?;
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let hour = two_digits(b, 12)?;
    let minute = two_digits(b, 15)?;
    let second = two_digits(b, 18)?;
    let mut rest = &b[20..];
    let mut micros = 0u32;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + rest
                    .get(1 + i)
                    .filter(|_| i < n)
                    .map_or(0, |c| (c - b'0') as u32);
        }
        rest = &rest[1 + n..];
    }
    let [b' ', sign @ (b'+' | b'-'), tz @ ..] = rest else {
        return None;
    };
    if tz.len() != 4 {
        return None;
    }
    let (oh, om) = (two_digits(tz, 0)?, two_digits(tz, 2)?);
    if hour > 23 || minute > 59 || second > 60 || oh > 23 || om > 59 {
        return None;
    }
    if !is_valid_date(year as i64, month, day) {
        return None;
    }
    let mut offset = (oh * 3600 + om * 60) as i64;
    if *sign == b'-' {
        offset = -offset;
    }
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset;
    Some(secs * MICROS_PER_SECOND + micros as i64)
}

/// [`parse_clf_time`] for consecutive lines of one log, which mostly share their
/// date and zone: the last date and zone seen are kept with the instant of that
/// date's midnight, so a line of the same date only reads its time of day.
#[derive(Debug, Default)]
pub(crate) struct ClfTimes {
    /// `dd/Mon/yyyy` and `+hhmm` of the last whole-second time parsed, and the
    /// seconds since the epoch of that date's midnight in that zone.
    last: Option<([u8; 11], [u8; 5], i64)>,
}

impl ClfTimes {
    /// The same as [`parse_clf_time`].
    #[inline]
    pub fn parse(&mut self, s: &str) -> Option<i64> {
        let b = s.as_bytes();
        // Only `dd/Mon/yyyy:hh:mm:ss +hhmm` (26 bytes) is cached.
        let whole_seconds = b.len() == 26 && b[20] == b' ';
        if let (Some((date, zone, midnight)), true) = (&self.last, whole_seconds) {
            if b[..11] == date[..] && b[21..] == zone[..] {
                if b[11] != b':' || b[14] != b':' || b[17] != b':' {
                    return None;
                }
                let (h, m, sec) = (two_digits(b, 12)?, two_digits(b, 15)?, two_digits(b, 18)?);
                if h > 23 || m > 59 || sec > 60 {
                    return None;
                }
                let secs = midnight + (h * 3600 + m * 60 + sec) as i64;
                return Some(secs * MICROS_PER_SECOND);
            }
        }
        let t = parse_clf_time(s)?;
        if whole_seconds {
            let day_seconds = (two_digits(b, 12)? * 3600 + two_digits(b, 15)? * 60) as i64
                + two_digits(b, 18)? as i64;
            let mut date = [0u8; 11];
            let mut zone = [0u8; 5];
            date.copy_from_slice(&b[..11]);
            zone.copy_from_slice(&b[21..]);
            self.last = Some((date, zone, t / MICROS_PER_SECOND - day_seconds));
        }
        Some(t)
    }
}

/// Finds the end of a quoted field whose opening quote is at `b[open]`: the first `"`
/// that is not escaped by a backslash and is followed by a space or the end of the
/// line (so an unescaped quote inside a field, written by some servers, does not end
/// it early). Returns the index of the closing quote and whether the field holds a
/// backslash (and may need [`unescape_into`]).
#[inline]
pub(crate) fn find_quote_end(b: &[u8], open: usize) -> Option<(usize, bool)> {
    let start = open + 1;
    let mut from = start;
    let mut escaped = false;
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', b.get(from..)?)?;
        if b[at] == b'\\' {
            // Skip the escaped character, whatever it is.
            escaped = true;
            from = at + 2;
            continue;
        }
        if matches!(b.get(at + 1), None | Some(b' ')) {
            return Some((at, escaped));
        }
        from = at + 1;
    }
}

/// Appends `s` to `out` with `\"` and `\\` replaced by `"` and `\`; other backslash
/// sequences (such as nginx's `\x22`) are kept as written.
pub(crate) fn unescape_into(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && matches!(s.get(i + 1), Some(b'"' | b'\\')) {
            out.push(s[i + 1]);
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
}

/// `None` for the `-` that web servers write for a missing value.
#[inline]
pub(crate) fn dash_null(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// The parts of an HTTP request line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub method: Option<&'a str>,
    pub url: Option<&'a str>,
    pub protocol: Option<&'a str>,
}

/// Splits `METHOD TARGET PROTOCOL`. The method must be 1-20 uppercase letters (or `-`
/// and `_`); the protocol, when present, is the last space-separated word and starts
/// with `HTTP/`; the target is what lies between (it may contain spaces if a client
/// sent them unencoded). `METHOD TARGET` (HTTP/0.9) gives no protocol. Anything else
/// (`-`, TLS handshakes sent to a plain port, binary probes) gives all parts `None`.
pub(crate) fn split_request(req: &str) -> RequestLine<'_> {
    let Some(sp) = memchr::memchr(b' ', req.as_bytes()) else {
        return RequestLine::default();
    };
    let method = &req[..sp];
    let method_ok = !method.is_empty()
        && method.len() <= 20
        && method
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
        && method.bytes().any(|c| c.is_ascii_uppercase());
    if !method_ok {
        return RequestLine::default();
    }
    let rest = &req[sp + 1..];
    let (url, protocol) = match memchr::memrchr(b' ', rest.as_bytes()) {
        Some(p) if rest[p + 1..].starts_with("HTTP/") => (&rest[..p], Some(&rest[p + 1..])),
        _ => (rest, None),
    };
    if url.is_empty() {
        return RequestLine::default();
    }
    RequestLine {
        method: Some(method),
        url: Some(url),
        protocol,
    }
}

/// A field of a line: a range of the line, or of the parser's scratch buffer when the
/// field had escapes to remove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    /// The field holds a backslash: [`unescape_into`] it before use.
    pub escaped: bool,
}

/// Reads space-separated fields from the front of a line.
pub(crate) struct Cursor<'a> {
    pub s: &'a str,
    pub p: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, p: 0 }
    }

    #[inline]
    pub fn at_end(&self) -> bool {
        self.p >= self.s.len()
    }

    /// The rest of the line, for error messages.
    pub fn rest(&self) -> &'a str {
        self.s.get(self.p..).unwrap_or("")
    }

    #[inline]
    fn skip_space(&mut self) {
        if self.s.as_bytes().get(self.p) == Some(&b' ') {
            self.p += 1;
        }
    }

    /// The next field up to a space or the end of the line.
    #[inline]
    pub fn word(&mut self, what: &str) -> Result<&'a str, String> {
        if self.at_end() {
            return Err(format!("line ends before the {what}"));
        }
        let b = &self.s.as_bytes()[self.p..];
        let len = memchr::memchr(b' ', b).unwrap_or(b.len());
        let w = &self.s[self.p..self.p + len];
        self.p += len;
        self.skip_space();
        Ok(w)
    }

    /// A `[...]` field, without the brackets.
    #[inline]
    pub fn bracketed(&mut self, what: &str) -> Result<&'a str, String> {
        if self.at_end() {
            return Err(format!("line ends before the {what}"));
        }
        let b = &self.s.as_bytes()[self.p..];
        if b[0] != b'[' {
            return Err(format!(
                "expected '[' before the {what}, found '{}'",
                snippet(self.rest())
            ));
        }
        let Some(close) = memchr::memchr(b']', b) else {
            return Err(format!("missing ']' after the {what}"));
        };
        let w = &self.s[self.p + 1..self.p + close];
        self.p += close + 1;
        self.skip_space();
        Ok(w)
    }

    /// The line's last `"..."` field. A line cut short inside it (a truncated write, a
    /// server's line-length limit) keeps the text up to the end of the line rather than
    /// losing the whole request.
    pub fn quoted_last(&mut self, what: &str) -> Result<Span, String> {
        let b = self.s.as_bytes();
        if b.get(self.p) != Some(&b'"') {
            return self.quoted(what);
        }
        let start = self.p + 1;
        let span = match find_quote_end(b, self.p) {
            Some((close, escaped)) => Span {
                start,
                end: close,
                escaped,
            },
            None => Span {
                start,
                end: b.len(),
                escaped: memchr::memchr(b'\\', &b[start..]).is_some(),
            },
        };
        self.p = (span.end + 1).min(b.len());
        self.skip_space();
        Ok(span)
    }

    /// A `"..."` field, as a span of the line without the quotes.
    #[inline]
    pub fn quoted(&mut self, what: &str) -> Result<Span, String> {
        if self.at_end() {
            return Err(format!("line ends before the {what}"));
        }
        let b = self.s.as_bytes();
        if b[self.p] != b'"' {
            return Err(format!(
                "expected a quoted {what}, found '{}'",
                snippet(self.rest())
            ));
        }
        let Some((close, escaped)) = find_quote_end(b, self.p) else {
            return Err(format!("unterminated quote in the {what}"));
        };
        let span = Span {
            start: self.p + 1,
            end: close,
            escaped,
        };
        self.p = close + 1;
        self.skip_space();
        Ok(span)
    }
}

/// Unescapes the escaped spans of `line` into `scratch` (cleared first), rewriting
/// them to point into `scratch`. Returns whether any span now refers to `scratch`.
pub(crate) fn unescape_spans(line: &str, spans: &mut [Span], scratch: &mut Vec<u8>) -> bool {
    if !spans.iter().any(|s| s.escaped) {
        return false;
    }
    scratch.clear();
    for s in spans.iter_mut().filter(|s| s.escaped) {
        let start = scratch.len();
        unescape_into(&line.as_bytes()[s.start..s.end], scratch);
        s.start = start;
        s.end = scratch.len();
    }
    true
}

/// The text of a span after [`unescape_spans`]: escaped spans live in `scratch`.
#[inline]
pub(crate) fn span_text<'a>(line: &'a str, scratch: &'a str, s: Span) -> &'a str {
    if s.escaped {
        &scratch[s.start..s.end]
    } else {
        &line[s.start..s.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    #[test]
    fn numbers() {
        assert_eq!(parse_u63(b"203023"), Some(203023));
        assert_eq!(parse_u63(b"2x0"), None);
        assert_eq!(parse_u63(b""), None);
        assert_eq!(parse_u63(b"9999999999999999999"), None);
        assert_eq!(parse_f64("0.123"), Some(0.123));
        assert_eq!(parse_f64("12"), Some(12.0));
        assert_eq!(parse_f64("-1"), Some(-1.0));
        assert_eq!(parse_f64("1e-3"), Some(0.001));
        assert_eq!(parse_f64("0.000043"), Some(0.000043));
        assert_eq!(parse_f64("abc"), None);
        assert_eq!(parse_f64("."), None);
        assert_eq!(parse_f64("inf"), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_ip("83.149.9.216"), crate::ip::parse("83.149.9.216"));
        assert_eq!(parse_ip("2001:db8::1"), crate::ip::parse("2001:db8::1"));
        for bad in [
            "256.1.1.1",
            "1.2.3",
            "01.2.3.4",
            "1.2.3.4.5",
            "a.b.c.d",
            "-",
            "",
        ] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn clf_times() {
        let t = parse_clf_time("17/May/2015:10:05:03 +0000").unwrap();
        assert_eq!(Some(t), parse_timestamp("2015-05-17T10:05:03Z"));
        let t = parse_clf_time("17/May/2015:10:05:03 +0200").unwrap();
        assert_eq!(Some(t), parse_timestamp("2015-05-17T08:05:03Z"));
        let t = parse_clf_time("31/Dec/2015:23:30:00 -0130").unwrap();
        assert_eq!(Some(t), parse_timestamp("2016-01-01T01:00:00Z"));
        let t = parse_clf_time("17/May/2015:10:05:03.25 +0000").unwrap();
        assert_eq!(Some(t), parse_timestamp("2015-05-17T10:05:03.25Z"));
        for bad in [
            "32/May/2015:10:05:03 +0000",
            "17/Foo/2015:10:05:03 +0000",
            "17/May/2015:25:05:03 +0000",
            "17/May/2015:10:05:03",
            "17/May/2015:10:05:03 +00000",
            "29/Feb/2015:10:05:03 +0000",
        ] {
            assert_eq!(parse_clf_time(bad), None, "{bad}");
            assert_eq!(ClfTimes::default().parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cached_clf_times_agree_with_parsing_each() {
        let mut cache = ClfTimes::default();
        for s in [
            "17/May/2015:10:05:03 +0000",
            "17/May/2015:10:05:04 +0000",
            "17/May/2015:23:59:60 +0000",
            "17/May/2015:24:00:00 +0000",
            "17/May/2015:1x:00:00 +0000",
            "17/May/2015 10:00:00 +0000",
            "17/May/2015:10:05:04 +0200",
            "17/May/2015:10:05:04.5 +0200",
            "18/May/2015:00:00:00 +0200",
            "01/Jan/1960:12:00:00 -0130",
            "01/Jan/1960:12:00:01 -0130",
        ] {
            assert_eq!(cache.parse(s), parse_clf_time(s), "{s}");
        }
    }

    #[test]
    fn quoted_fields() {
        let b = br#""a \"b\" c" x"#;
        assert_eq!(find_quote_end(b, 0), Some((10, true)));
        let b = br#""GET /a"b HTTP/1.1" 200"#;
        assert_eq!(find_quote_end(b, 0), Some((18, false)));
        assert_eq!(find_quote_end(br#""abc"#, 0), None);
        assert_eq!(find_quote_end(br#""a\\""#, 0), Some((4, true)));
        let mut out = Vec::new();
        unescape_into(br#"a \"b\" \\ \x22"#, &mut out);
        assert_eq!(out, br#"a "b" \ \x22"#);
    }

    #[test]
    fn requests() {
        let r = split_request("GET /a?b=1 HTTP/1.1");
        assert_eq!(
            (r.method, r.url, r.protocol),
            (Some("GET"), Some("/a?b=1"), Some("HTTP/1.1"))
        );
        let r = split_request("GET /a b HTTP/1.0");
        assert_eq!(r.url, Some("/a b"));
        let r = split_request("GET /old");
        assert_eq!((r.url, r.protocol), (Some("/old"), None));
        assert_eq!(split_request("-"), RequestLine::default());
        assert_eq!(split_request("- - -"), RequestLine::default());
        assert_eq!(split_request("\u{16}\u{3}\u{1} x"), RequestLine::default());
        assert_eq!(split_request("GET "), RequestLine::default());
    }
}
