//! Requests in, replies out over tiny_http: headers, bodies read within a limit, and
//! the JSON error shape every endpoint answers with. What a request's URL and body
//! mean is the library's `logdb::http`; nothing here trusts the request: bad bytes
//! become a 400 reply, never a panic.

use std::io::Read;

use logdb::http::{request::too_large, sql_position, Refusal};
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

/// Reads the request body, at most `limit + 1` bytes of it (the library's
/// [`logdb::http::QueryRequest`] refuses more): 413 at once when Content-Length
/// says it is larger, 400 for a body cut short or a broken chunked encoding.
pub fn read_body(request: &mut Request, limit: usize) -> Result<Vec<u8>, Reply> {
    if let Some(n) = request.body_length().filter(|&n| n > limit) {
        return Err(too_large("request body", &n.to_string(), limit).into());
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
    Ok(body)
}

impl From<Refusal> for Reply {
    fn from(r: Refusal) -> Reply {
        Reply::error(r.status, r.kind, &r.message)
    }
}
