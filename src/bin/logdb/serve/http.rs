//! Requests in, replies out: query strings, headers, bodies read within a limit, and
//! the JSON error shape every endpoint answers with. Nothing here trusts the request:
//! bad bytes become a 400 reply, never a panic.

use std::io::Read;

use serde_json::json;
use tiny_http::{Header, Request, Response};

/// A finished answer, written to the client by [`send`].
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        let mut body = value.to_string().into_bytes();
        body.push(b'\n');
        Reply::new(status, "application/json; charset=utf-8", body)
    }

    /// `{"error": message, "kind": kind, "line": L, "column": C}`; the position is
    /// taken from a message that starts "line L, column C:" (every SQL mistake does).
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        let mut value = json!({ "error": message, "kind": kind });
        if let Some((line, column)) = sql_position(message) {
            value["line"] = json!(line);
            value["column"] = json!(column);
        }
        Reply::json(status, &value)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// The position at the start of a logdb SQL error: "line 3, column 14: ...".
pub fn sql_position(message: &str) -> Option<(u64, u64)> {
    let rest = message.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(", column ")?;
    let (column, _) = rest.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// Writes `reply` to the client. A client that went away is not an error worth
/// reporting: its answer is simply dropped.
pub fn send(request: Request, reply: Reply) {
    let mut response = Response::from_data(reply.body).with_status_code(reply.status);
    let headers = std::iter::once(("Content-Type", reply.content_type.to_string()))
        .chain(reply.headers)
        .chain(std::iter::once(("Cache-Control", "no-store".to_string())));
    for (name, value) in headers {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

/// The value of a request header, matched case-insensitively.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The path and the decoded parameters of a request URL (`/query?sql=...`).
pub struct Target {
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((percent_decode(name)?, percent_decode(value)?));
        }
        Ok(Target {
            path: percent_decode(path)?,
            params,
        })
    }

    /// The first parameter of any of `names`.
    pub fn param(&self, names: &[&str]) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` escapes and `+` (a space in a query string) into UTF-8 text.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("bad percent escape at byte {i} of the URL part '{text}'")
                    })?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| {
        format!(
            "the URL part '{text}' decodes to bytes that are not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads the request body as UTF-8 text of at most `limit` bytes: 413 beyond it
/// (told by Content-Length before reading, or found while reading a chunked body),
/// 400 for bytes that are not UTF-8 or a body cut short.
pub fn read_body(request: &mut Request, limit: usize) -> Result<String, Reply> {
    let too_large = |n: String| {
        Reply::error(
            413,
            "request_too_large",
            &format!("the request body has {n} bytes; the limit is {limit} (--max-request-bytes)"),
        )
    };
    if let Some(n) = request.body_length().filter(|&n| n > limit) {
        return Err(too_large(n.to_string()));
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            Reply::error(
                400,
                "bad_request",
                &format!("cannot read the request body: {e}"),
            )
        })?;
    if body.len() > limit {
        return Err(too_large(format!("more than {limit}")));
    }
    String::from_utf8(body).map_err(|e| {
        Reply::error(
            400,
            "bad_request",
            &format!(
                "the request body is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_escapes_and_plus() {
        let t = Target::parse("/query?sql=SELECT+1%2C%202&format=csv&flag").unwrap();
        assert_eq!(t.path, "/query");
        assert_eq!(t.param(&["sql"]), Some("SELECT 1, 2"));
        assert_eq!(t.param(&["query", "format"]), Some("csv"));
        assert_eq!(t.param(&["flag"]), Some(""));
        assert_eq!(t.param(&["missing"]), None);
    }

    #[test]
    fn bad_escapes_are_errors_not_panics() {
        for url in [
            "/q?sql=%",
            "/q?sql=%4",
            "/q?sql=%zz",
            "/q?sql=%+1",
            "/q?sql=%ff",
            "/%c3%28",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
        // A multi-byte character right after '%' must not be sliced mid-character.
        assert!(Target::parse("/q?sql=%é").is_err());
    }

    proptest::proptest! {
        /// Any URL text decodes or is refused, never panics; what decodes
        /// round-trips through percent-encoding.
        #[test]
        fn any_url_decodes_or_is_refused(url in "\\PC*", value in "\\PC*") {
            let _ = Target::parse(&url);
            let encoded: String = value
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            let t = Target::parse(&format!("/query?sql={encoded}")).unwrap();
            proptest::prop_assert_eq!(t.param(&["sql"]), Some(value.as_str()));
        }

        #[test]
        fn any_message_gives_a_position_or_none(message in "\\PC*") {
            let _ = sql_position(&message);
        }
    }

    #[test]
    fn positions_come_from_the_message_prefix() {
        assert_eq!(
            sql_position("line 2, column 17: syntax error: x"),
            Some((2, 17))
        );
        assert_eq!(sql_position("table 'x' not found"), None);
        assert_eq!(sql_position("line x, column 1: y"), None);
    }
}
