//! logdb's HTTP query protocol, without a server: how a request's URL, `Accept`
//! header and body name one SQL statement and the format of its answer
//! (ClickHouse's conventions: `?query=`, a trailing `FORMAT name`,
//! `?default_format=`), which statements count as reads, and which status answers
//! each failure. spec/http.md is the contract.
//!
//! `logdb serve` answers HTTP with it (its server crate, tiny_http, reads the
//! request line, the headers and the body; everything after that is here). A
//! program that serves logdb from its own HTTP server can use it to answer the
//! same requests the same way. Nothing here trusts the request: bad bytes become a
//! [`Refusal`], never a panic (the `http_request` fuzz target holds it to that).
//!
//! - [`target`]: the path and the %-decoded parameters of a request URL.
//! - [`format`]: the answer formats, by name and by `Accept` media type.
//! - [`request`]: a query request's SQL and format, the read-only rule, and the
//!   status of each error.
//!
//! ```
//! use logdb::http::{Format, QueryRequest, Target};
//!
//! let target = Target::parse("/query?sql=SELECT+1+AS+one+FORMAT+CSV").unwrap();
//! let q = QueryRequest::parse(&target, None, b"", Format::Json, 1 << 20).unwrap();
//! assert_eq!((q.sql.as_str(), q.format), ("SELECT 1 AS one", Format::Csv));
//! ```

pub mod format;
pub mod request;
pub mod target;

pub use format::Format;
pub use request::{error_status, reads_only, sql_position, QueryRequest};
pub use target::Target;

/// Why a request was refused before its statement ran: the HTTP status, the
/// `kind` of the JSON error body (spec/http.md "Errors") and the message for the
/// client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            kind,
            message: message.into(),
        }
    }

    /// A 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(400, "bad_request", message)
    }
}
