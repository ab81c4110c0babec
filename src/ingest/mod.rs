//! Log ingestion: parsers from web-server log formats into typed column batches, and a
//! synthetic access-log generator.
//!
//! # Concepts
//! - A [`LogParser`] turns a chunk of bytes (whole lines) into rows appended to a
//!   [`BatchBuilder`], plus one [`Reject`] per line it could not store. Every line read
//!   is either stored or rejected: `lines seen = rows appended + rejects`.
//! - Every access-log format shares the **canonical columns** ([`CANONICAL_COLUMNS`]),
//!   so one query works on all of them; format-specific columns follow. `jsonl`,
//!   `csv` and `tsv` files that are not access logs are **records**: they keep their
//!   own columns ([`is_log_schema`] tells the two apart; see `fields.rs`).
//! - [`parser_for`] builds a parser by format name ([`FORMATS`]); [`detect`] tells
//!   which format (and compression) an input's first bytes are in.
//!
//! # Canonical columns
//! `ts` (UTC microseconds, from the line's own offset), `client_ip`, `remote_user`,
//! `method`, `url` (request target as sent), `uri` (path of the url without scheme,
//! host or query), `query` (after the first `?`, NULL when none), `protocol`, `status`,
//! `bytes`, `referer`, `user_agent`, `request_time` (seconds, NULL when the format has
//! none), `uid` (see [`UidSource`]). A `-` field is NULL.
//!
//! # Line rules (all formats)
//! - Lines end in `\n`; a final line without one is still a line; a trailing `\r` is
//!   dropped (CRLF files work).
//! - Rejected: empty lines ("empty line"), lines longer than [`MAX_LINE_LEN`], lines
//!   with invalid UTF-8 anywhere ("invalid UTF-8 at byte N", N counted from 0 at the
//!   start of the line), and lines that do not fit the format.
//! - A rejected line leaves the batch unchanged: parsers check a whole line before
//!   appending any of its values.
//!
//! # Request lines
//! The quoted request (`"GET /path HTTP/1.1"`) is split into method, url and protocol.
//! The method must be uppercase letters; the protocol, if any, is the last word and
//! starts with `HTTP/`; the url is what lies between (even if it contains spaces).
//! `METHOD TARGET` (HTTP/0.9) has a NULL protocol. A request that is not of this shape
//! (`"-"`, TLS handshakes sent to a plain-text port, binary probes) is **stored** with
//! method, url, uri, query and protocol NULL: the rest of the line is still valid
//! traffic worth counting.
//!
//! # Quoting
//! A quoted field ends at the first `"` that is not escaped by a backslash and is
//! followed by a space or the end of the line. In the `combined`, `common`, `elb` and
//! `alb` formats `\"` and `\\` inside a quoted field are stored as `"` and `\`; other
//! escapes (nginx's `\x22`) are stored as written.

mod aws;
pub mod chunks;
mod clf;
mod csv;
mod declared;
pub mod detect;
mod fields;
pub mod generate;
mod generate_realistic;
pub mod generate_records;
pub mod glob;
pub mod input;
mod json;
pub mod json_array;
mod jsonl;
mod lex;
mod nginx;
pub mod url;

use std::borrow::Cow;

use crate::column::BatchBuilder;
use crate::error::{Error, Result};
use crate::schema::{DataType, Field, TableSchema};

pub use csv::{column_position as csv_column_position, field_names as csv_field_names};
pub use detect::{Compression, Detection};
pub use generate::{generate, GenOptions, GenStats, Profile};

/// The format names [`parser_for`] accepts.
pub const FORMATS: &[&str] = &[
    "combined", "common", "nginx", "elb", "alb", "jsonl", "csv", "tsv",
];

/// Lines longer than this are rejected without being parsed.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// The columns every log format has, in schema order.
pub const CANONICAL_COLUMNS: &[(&str, DataType)] = &[
    ("ts", DataType::Timestamp),
    ("client_ip", DataType::Ip),
    ("remote_user", DataType::Varchar),
    ("method", DataType::Varchar),
    ("url", DataType::Varchar),
    ("uri", DataType::Varchar),
    ("query", DataType::Varchar),
    ("protocol", DataType::Varchar),
    ("status", DataType::SmallInt),
    ("bytes", DataType::BigInt),
    ("referer", DataType::Varchar),
    ("user_agent", DataType::Varchar),
    ("request_time", DataType::Double),
    ("uid", DataType::Varchar),
];

/// Column positions of the canonical columns (they come first in every schema).
pub(crate) mod col {
    pub const TS: usize = 0;
    pub const CLIENT_IP: usize = 1;
    pub const REMOTE_USER: usize = 2;
    pub const METHOD: usize = 3;
    pub const URL: usize = 4;
    pub const URI: usize = 5;
    pub const QUERY: usize = 6;
    pub const PROTOCOL: usize = 7;
    pub const STATUS: usize = 8;
    pub const BYTES: usize = 9;
    pub const REFERER: usize = 10;
    pub const USER_AGENT: usize = 11;
    pub const REQUEST_TIME: usize = 12;
    pub const UID: usize = 13;
    /// The first format-specific column.
    pub const EXTRA: usize = 14;
}

/// Whether a line's request (method, url, uri, query, protocol) must be split for
/// the columns `out` keeps: not when none of them is kept, nor the uid taken from
/// them.
#[inline]
pub(crate) fn request_needed(out: &BatchBuilder, uid: &UidRule) -> bool {
    let request = col::METHOD..=col::PROTOCOL;
    request.clone().any(|c| out.keeps(c))
        || out.keeps(col::UID)
            && match uid {
                UidRule::QueryParam(_) => true,
                UidRule::Field(c) => request.contains(c),
                UidRule::RemoteUser | UidRule::None => false,
            }
}

/// Where the `uid` column comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UidSource {
    /// A query parameter of the url, percent-decoded (default: `uid`).
    QueryParam(String),
    /// The `remote_user` field.
    RemoteUser,
    /// A named field of the format: a variable of an nginx `log_format` (with or
    /// without `$`), or a column name of the format's schema.
    Field(String),
    /// Always NULL.
    None,
}

impl Default for UidSource {
    fn default() -> Self {
        UidSource::QueryParam("uid".into())
    }
}

/// Options shared by all parsers.
#[derive(Clone, Debug, Default)]
pub struct ParserOptions {
    /// Where `uid` comes from.
    pub uid_from: UidSource,
    /// The nginx `log_format` string (required by the `nginx` format).
    pub log_format: Option<String>,
    /// The table schema to produce (`jsonl`, `csv`, `tsv`): input fields are matched
    /// to its columns by name and canonical alias. When `None`, the schema is inferred
    /// from `sample`.
    pub schema: Option<TableSchema>,
    /// The first lines of the input (`jsonl`, `csv`, `tsv`; the importer passes about
    /// the first 1000 lines of the first file), from which the schema is inferred.
    /// `csv` and `tsv` read their header from its first line and require it.
    pub sample: Option<Vec<u8>>,
    /// The time column of a records table inferred from a sample (`jsonl`, `csv`,
    /// `tsv`; see [`fields`](self) docs in `fields.rs`).
    pub time_column: TimeColumn,
    /// The field separator of `csv` (default `,`; `read_csv(..., delim := ';')`).
    /// Any separator but a tab keeps csv's quoting.
    pub delimiter: Option<u8>,
    /// `csv` and `tsv` only: the header and the columns (`read_csv`'s options).
    pub csv: CsvOptions,
    /// `jsonl`, `csv`, `tsv`: a line whose time column is empty is kept with a NULL
    /// time (the SQL file readers, as DuckDB reads such a file) instead of rejected
    /// (import: a table's time column is NOT NULL).
    pub keep_rows_without_time: bool,
}

/// How `csv` and `tsv` find their columns (`read_csv(..., header := false,
/// columns := {...}, names := [...])`; see `csv.rs`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CsvOptions {
    /// Whether the first line of each file is a header. `None`: yes when the
    /// columns are inferred; sniffed from the sample's first line when they are
    /// declared.
    pub header: Option<bool>,
    /// Declared columns, by position: names and types taken as they are, every
    /// value cast to its column's type as SQL's CAST from VARCHAR does (no
    /// inference, no canonical mapping).
    pub columns: Option<Vec<(String, DataType)>>,
    /// Names for the first fields, in place of the header's (or of `column0`,
    /// `column1`, ... without a header).
    pub names: Vec<String>,
    /// Types for some fields, by position (`read_csv(..., types := ...)`): the
    /// others are inferred; a field with a type set keeps its own column (no
    /// canonical mapping: a file with any types set is a records file) and its
    /// values are cast as SQL's CAST from VARCHAR casts them.
    pub types: Vec<Option<DataType>>,
}

/// How the time column of an inferred `jsonl`, `csv` or `tsv` table is chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TimeColumn {
    /// The first TIMESTAMP field named like a time (`ts`, `time`, `timestamp`,
    /// `access_time`, `created_at`, ...), else the first TIMESTAMP field, else none.
    #[default]
    Detect,
    /// This field (its name as written or snake_cased); it must hold times.
    Named(String),
    /// No time column: a plain table (`--time-column none`).
    None,
}

/// A line that could not be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number within the input.
    pub line: u64,
    /// What is wrong, short and specific.
    pub reason: String,
}

/// A parser for one log format. Build one with [`parser_for`] and reuse it for every
/// chunk of an input.
pub trait LogParser: Send {
    /// The table schema of this format: canonical columns first, time column `ts`,
    /// bitmap indexes on `uid`, `uri` and `status`.
    fn schema(&self) -> &TableSchema;

    /// Parses every line of `chunk` (lines end in `\n`; a final line without `\n` is
    /// also a line; a trailing `\r` is stripped), appending one row per good line to
    /// `out` and one [`Reject`] per bad line to `rejects`. `first_line` is the 1-based
    /// number of the chunk's first line. Returns the number of lines seen.
    ///
    /// For `csv` and `tsv`, the header (the first record of a chunk whose
    /// `first_line` is 1) is not a data line: it is skipped and not counted when it
    /// matches the sample's header (declared columns: whatever it holds; no header:
    /// the first record is data). A csv record whose quoted field spans several lines
    /// counts as one line (numbered by its first line).
    fn parse_chunk(
        &mut self,
        chunk: &[u8],
        first_line: u64,
        out: &mut BatchBuilder,
        rejects: &mut Vec<Reject>,
    ) -> u64;
}

/// A parser for `format` (one of [`FORMATS`]).
pub fn parser_for(format: &str, options: &ParserOptions) -> Result<Box<dyn LogParser>> {
    match format {
        "combined" => Ok(Box::new(clf::ClfParser::new(true, options)?)),
        "common" => Ok(Box::new(clf::ClfParser::new(false, options)?)),
        "nginx" => Ok(Box::new(nginx::NginxParser::new(options)?)),
        "elb" => Ok(Box::new(aws::AwsParser::new(aws::Kind::Elb, options)?)),
        "alb" => Ok(Box::new(aws::AwsParser::new(aws::Kind::Alb, options)?)),
        "jsonl" => Ok(Box::new(jsonl::JsonlParser::new(options)?)),
        "csv" => Ok(Box::new(csv::CsvParser::new(
            options.delimiter.unwrap_or(b','),
            options,
        )?)),
        "tsv" => Ok(Box::new(csv::CsvParser::new(b'\t', options)?)),
        other => Err(Error::InvalidInput(format!(
            "unknown log format '{other}'; known formats: {}",
            FORMATS.join(", ")
        ))),
    }
}

/// The schema of a log table: canonical columns, then `extra`.
pub fn log_schema(extra: Vec<Field>) -> TableSchema {
    let mut fields: Vec<Field> = CANONICAL_COLUMNS
        .iter()
        .map(|&(name, t)| {
            if name == "ts" {
                Field::not_null(name, t)
            } else {
                Field::new(name, t)
            }
        })
        .collect();
    fields.extend(extra);
    TableSchema::new(fields)
        .with_time_column("ts")
        .with_indexes(["uid", "uri", "status"])
}

/// Whether `schema` is a log table's: the canonical columns first, time column `ts`
/// (as every line format makes, and jsonl/csv/tsv for access logs). Other tables
/// are records tables (see `fields.rs`).
pub fn is_log_schema(schema: &TableSchema) -> bool {
    schema.time_column.as_deref() == Some("ts")
        && schema.fields.len() >= col::EXTRA
        && CANONICAL_COLUMNS
            .iter()
            .zip(&schema.fields)
            .all(|(&(n, t), f)| f.name == n && f.data_type == t)
}

/// How a parser fills `uid`, resolved from [`UidSource`] against its schema.
#[derive(Clone, Debug)]
pub(crate) enum UidRule {
    QueryParam(String),
    RemoteUser,
    /// A copy of the VARCHAR column at this position.
    Field(usize),
    None,
}

impl UidRule {
    /// Resolves `source` for a parser with `schema`. `Field` names a VARCHAR column of
    /// the schema (a leading `$` is ignored, so nginx variable names work too).
    pub(crate) fn resolve(source: &UidSource, schema: &TableSchema) -> Result<UidRule> {
        Ok(match source {
            UidSource::QueryParam(p) => UidRule::QueryParam(p.clone()),
            UidSource::RemoteUser => UidRule::RemoteUser,
            UidSource::None => UidRule::None,
            UidSource::Field(f) => {
                let name = f.trim_start_matches('$');
                match schema.index_of(name) {
                    Some(i) if i != col::UID && schema.fields[i].data_type == DataType::Varchar => {
                        UidRule::Field(i)
                    }
                    _ => {
                        return Err(Error::InvalidInput(format!(
                            "cannot take uid from '{f}': not a text field of this log format"
                        )))
                    }
                }
            }
        })
    }
}

/// The canonical values of one line, checked and ready to append.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Canon<'a> {
    pub ts: i64,
    pub client_ip: Option<u128>,
    pub remote_user: Option<&'a str>,
    pub method: Option<&'a str>,
    pub url: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub query: Option<&'a str>,
    pub protocol: Option<&'a str>,
    pub status: Option<i64>,
    pub bytes: Option<i64>,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_time: Option<f64>,
}

impl<'a> Canon<'a> {
    /// Sets method, url, protocol, uri and query from a request line.
    #[inline]
    pub fn set_request(&mut self, request: &'a str) {
        let r = lex::split_request(request);
        self.method = r.method;
        self.protocol = r.protocol;
        if let Some(url) = r.url {
            self.set_url(url);
        }
    }

    /// Sets url, uri and query from a request target.
    #[inline]
    pub fn set_url(&mut self, url: &'a str) {
        let (uri, query) = url::split_target(url);
        self.url = Some(url);
        self.uri = Some(uri);
        self.query = query;
    }

    /// The value of a canonical VARCHAR column.
    fn text(&self, c: usize) -> Option<&'a str> {
        match c {
            col::REMOTE_USER => self.remote_user,
            col::METHOD => self.method,
            col::URL => self.url,
            col::URI => self.uri,
            col::QUERY => self.query,
            col::PROTOCOL => self.protocol,
            col::REFERER => self.referer,
            col::USER_AGENT => self.user_agent,
            _ => None,
        }
    }

    /// The uid of this line under `rule`. `extra` gives the values of format-specific
    /// columns for [`UidRule::Field`].
    #[inline]
    pub fn uid(
        &self,
        rule: &UidRule,
        extra: impl FnOnce(usize) -> Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        let v = match *rule {
            UidRule::QueryParam(ref name) => url::query_param(self.query?, name)?,
            UidRule::RemoteUser => Cow::Borrowed(self.remote_user?),
            UidRule::Field(c) if c < col::EXTRA => Cow::Borrowed(self.text(c)?),
            UidRule::Field(c) => Cow::Borrowed(extra(c)?),
            UidRule::None => return None,
        };
        (!v.is_empty()).then_some(v)
    }

    /// Appends the canonical columns (0..[`col::EXTRA`]) of one row, with the uid
    /// `rule` finds (looked for only when `out` keeps the uid column).
    #[inline]
    pub fn push_row(
        &self,
        out: &mut BatchBuilder,
        rule: &UidRule,
        extra: impl FnOnce(usize) -> Option<&'a str>,
    ) {
        let uid = if out.keeps(col::UID) {
            self.uid(rule, extra)
        } else {
            None
        };
        self.push(out, uid.as_deref());
    }

    /// Appends the canonical columns (0..[`col::EXTRA`]) of one row.
    #[inline]
    pub fn push(&self, out: &mut BatchBuilder, uid: Option<&str>) {
        out.push_i64(col::TS, self.ts);
        match self.client_ip {
            Some(ip) => out.push_ip(col::CLIENT_IP, ip),
            None => out.push_null(col::CLIENT_IP),
        }
        push_opt_str(out, col::REMOTE_USER, self.remote_user);
        push_opt_str(out, col::METHOD, self.method);
        push_opt_str(out, col::URL, self.url);
        push_opt_str(out, col::URI, self.uri);
        push_opt_str(out, col::QUERY, self.query);
        push_opt_str(out, col::PROTOCOL, self.protocol);
        push_opt_i64(out, col::STATUS, self.status);
        push_opt_i64(out, col::BYTES, self.bytes);
        push_opt_str(out, col::REFERER, self.referer);
        push_opt_str(out, col::USER_AGENT, self.user_agent);
        push_opt_f64(out, col::REQUEST_TIME, self.request_time);
        push_opt_str(out, col::UID, uid);
    }
}

#[inline]
pub(crate) fn push_opt_str(out: &mut BatchBuilder, c: usize, v: Option<&str>) {
    match v {
        Some(s) => out.push_str(c, s),
        None => out.push_null(c),
    }
}

#[inline]
pub(crate) fn push_opt_i64(out: &mut BatchBuilder, c: usize, v: Option<i64>) {
    match v {
        Some(x) => out.push_i64(c, x),
        None => out.push_null(c),
    }
}

#[inline]
pub(crate) fn push_opt_f64(out: &mut BatchBuilder, c: usize, v: Option<f64>) {
    match v {
        Some(x) => out.push_f64(c, x),
        None => out.push_null(c),
    }
}

/// An HTTP status: a number that fits SMALLINT, or `-` for NULL.
#[inline]
pub(crate) fn parse_status(s: &str) -> Result<Option<i64>, String> {
    if s == "-" {
        return Ok(None);
    }
    match lex::parse_u63(s.as_bytes()) {
        Some(v) if v <= i16::MAX as i64 => Ok(Some(v)),
        Some(_) => Err(format!("status '{}' is out of range", lex::snippet(s))),
        None => Err(format!("status '{}' is not a number", lex::snippet(s))),
    }
}

/// A byte count: a non-negative number, or `-` for NULL.
#[inline]
pub(crate) fn parse_count(what: &str, s: &str) -> Result<Option<i64>, String> {
    if s == "-" {
        return Ok(None);
    }
    lex::parse_u63(s.as_bytes())
        .map(Some)
        .ok_or_else(|| format!("{what} '{}' is not a number", lex::snippet(s)))
}

/// A duration in seconds, or `-` for NULL.
#[inline]
pub(crate) fn parse_seconds(what: &str, s: &str) -> Result<Option<f64>, String> {
    if s == "-" {
        return Ok(None);
    }
    lex::parse_f64(s)
        .map(Some)
        .ok_or_else(|| format!("{what} '{}' is not a number", lex::snippet(s)))
}

/// Runs `parse_line` on every line of `chunk`, applying the line rules of the module
/// docs, and records a [`Reject`] for every line it refuses. Returns the lines seen.
#[inline]
pub(crate) fn for_each_line<'c>(
    chunk: &'c [u8],
    first_line: u64,
    rejects: &mut Vec<Reject>,
    mut parse_line: impl FnMut(&'c str) -> Result<(), String>,
) -> u64 {
    // One check of the whole chunk is cheaper than one per line; only a chunk that
    // holds invalid UTF-8 somewhere is checked line by line, to find the lines.
    let text = simdutf8::basic::from_utf8(chunk).ok();
    let mut seen = 0u64;
    let mut pos = 0usize;
    while pos < chunk.len() {
        let start = pos;
        let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i);
        let mut line = &chunk[pos..end];
        pos = end + 1;
        let number = first_line + seen;
        seen += 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let outcome = if line.len() > MAX_LINE_LEN {
            Err("line longer than 1 MiB".to_string())
        } else if line.is_empty() {
            Err("empty line".to_string())
        } else {
            // Lines end at ASCII bytes, so a line of valid text is a `str` slice.
            match text.and_then(|t| t.get(start..start + line.len())) {
                Some(text) => parse_line(text),
                None => match std::str::from_utf8(line) {
                    Ok(text) => parse_line(text),
                    Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
                },
            }
        };
        if let Err(reason) = outcome {
            rejects.push(Reject {
                line: number,
                reason,
            });
        }
    }
    seen
}
