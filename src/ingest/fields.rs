//! The field mapping of the `jsonl`, `csv` and `tsv` formats: schema inference from a
//! sample, the canonical mapping of common field names, and conversion of values to
//! column types. The parsers scan a line into one [`Val`] per input field; a [`Plan`]
//! converts those values and appends them as a row.
//!
//! # Schema
//! - Given ([`ParserOptions::schema`]): used as the table schema as it is (its time
//!   column, `ts` by default, must be TIMESTAMP). Input fields are matched to its
//!   columns by name (exact, then snake_cased) and, for canonical columns, by the
//!   aliases below. Fields that match no column are ignored.
//! - Inferred from [`ParserOptions::sample`] (the first lines of the input), in one
//!   of two shapes:
//!   - **An access log** when the sample has a time field and at least two request
//!     fields that fill canonical columns (client address, remote user, method,
//!     url or request, status, bytes, referer, user agent; see the table below):
//!     the canonical columns, then one column per other sample field, in order of
//!     first appearance, named in snake_case (`userAgent` → `user_agent`,
//!     `@timestamp` → `timestamp`; a name already taken gets the format name as
//!     prefix, `jsonl_uri`). Indexes on `uid`, `uri`, `status`.
//!   - **Records** otherwise, or with [`TimeColumn::None`]: one column per sample
//!     field, in order of first appearance, named as written but snake_cased (a
//!     repeated name gets `_2`, an empty one `column_N`), typed as inferred; nothing
//!     is renamed to a canonical column (`user_id` stays `user_id`). The time column
//!     is [`ParserOptions::time_column`]: by default the first TIMESTAMP field named
//!     like a time (`ts`, `time`, `timestamp`, ... or ending in `_time`, `_ts`,
//!     `_at`, `_timestamp`, `_date`), else the first TIMESTAMP field, else none (a
//!     plain table). A named field is made TIMESTAMP when its sample values all read
//!     as times, else it is an error. The time column is NOT NULL: a line without
//!     it is rejected ("no timestamp field"), except by the SQL file readers
//!     ([`ParserOptions::keep_rows_without_time`]), which keep it with a NULL time. Indexes: the VARCHAR, BIGINT and
//!     BOOLEAN columns (not the time column) whose sample values repeat, at most
//!     1000 distinct values and at most half as many distinct values as values;
//!     the first 8 such columns. The uid rules do not apply.
//!
//!   Fields that first appear after the sample are ignored. Types are not widened
//!   after the sample: a later value that does not fit its column rejects its line
//!   with the field and value (`field 'user_id': 'x' is not an integer`).
//! - Neither: the canonical columns only, filled through the aliases below.
//!
//! # Inferred types
//! JSON integers give BIGINT, other numbers DOUBLE, booleans BOOLEAN, strings VARCHAR,
//! nested objects and arrays VARCHAR (their JSON text as written). Except:
//! - TIMESTAMP for a field named like a time (`ts`, `time`, `timestamp`, `@timestamp`,
//!   `date`, `datetime`, `time_iso8601`, `time_local`, `msec`) whose values are all
//!   times (ISO-8601, Common Log Format `10/Oct/2000:13:55:36 -0700`, or epoch
//!   numbers, or a mix of both), and for any field whose strings all are ISO-8601
//!   dates with a time.
//! - IP for a field whose name contains `ip` or `addr` and whose strings all are
//!   IPv4 or IPv6 addresses.
//! - Conflicting values widen: BIGINT and DOUBLE give DOUBLE; any other mix (numbers
//!   and strings, booleans and numbers, nested values) gives VARCHAR. A field that is
//!   always `null` in the sample is VARCHAR.
//!
//! In csv and tsv every value is text: a field whose values all read as integers is
//! BIGINT, as numbers DOUBLE, as `true`/`false` BOOLEAN; the rules above then apply
//! (so `2024-05-01 10:00:00` and ISO-8601 texts are TIMESTAMP).
//!
//! # Canonical mapping
//! The first field (in this order of names, compared snake_cased) whose values fit
//! fills each canonical column; the others keep their own names:
//!
//! | column | field names |
//! |---|---|
//! | `ts` | `ts`, `timestamp` (and `@timestamp`), `time`, `datetime`, `date`, `time_iso8601`, `time_local`, `msec`; else the first TIMESTAMP field |
//! | `client_ip` | `client_ip`, `remote_addr`, `ip`, `client_addr`, `clientip`, `remote_ip`, `client` |
//! | `remote_user` | `remote_user` |
//! | `method` | `method`, `request_method`, `http_method` |
//! | `url` | `url`, `request_uri`, `request_url`, `uri`, `path` (`uri` and `query` are derived from it) |
//! | `protocol` | `protocol`, `server_protocol` |
//! | `status` | `status`, `status_code`, `http_status`, `response_status` |
//! | `bytes` | `bytes`, `body_bytes_sent`, `size`, `bytes_sent`, `response_size` |
//! | `referer` | `referer`, `http_referer`, `referrer` |
//! | `user_agent` | `user_agent`, `http_user_agent`, `useragent` |
//! | `request_time` | `request_time`, `duration`, `response_time`, `elapsed`, `latency`, each optionally suffixed with a unit |
//! | `uid` | `uid`, `user_id`, `userid` |
//!
//! - A `request` field (`"GET /a?b HTTP/1.1"`) fills method, url and protocol when no
//!   field above does; `query_string` or `args` fill `query` when there is no url.
//! - `request_time` is in seconds. A unit suffix converts: `_ms`/`_millis`
//!   (milliseconds, e.g. `duration_ms: 250` is stored as 0.25), `_us`/`_micros`,
//!   `_ns`/`_nanos`; `_s`/`_sec`/`_seconds` and no suffix are seconds.
//! - `uid` comes from a [`UidSource::Field`] when one is set; otherwise from the uid
//!   field when it holds a non-empty value, otherwise by the usual [`UidSource`] rule
//!   (by default the `uid` query parameter of the url).
//! - In canonical columns, `-` is NULL (as in the other formats).
//!
//! # Values
//! - `null`, a missing field and (csv/tsv) an empty unquoted field are NULL; so are
//!   `""` and `-` in a column that is not VARCHAR.
//! - Nothing is silently dropped or altered: a value that does not fit its column is
//!   converted when that is lossless (an integer into DOUBLE; a number, boolean or
//!   nested value into VARCHAR as its JSON text; a numeric string into a number
//!   column; an integral number such as `2.0` into an integer column), and otherwise
//!   the line is rejected with a reason naming the field (`field 'status': 'abc' is
//!   not a number`). An out-of-range integer (status 70000 into SMALLINT) is rejected.
//! - Times: ISO-8601 with an offset or `Z` (converted to UTC; no offset means UTC),
//!   Common Log Format times, or numbers since the epoch whose unit follows from
//!   their magnitude `|n|`: below 1e11 seconds (fractions kept to the microsecond),
//!   below 1e14 milliseconds, below 1e17 microseconds, otherwise nanoseconds (cut to
//!   microseconds).
//! - A line without a usable time (in a table with a time column) is rejected ("no
//!   timestamp field"); a time that cannot be read is rejected with the field and
//!   value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use super::lex;
#[cfg(doc)]
use super::UidSource;
use super::{col, log_schema, url, ParserOptions, TimeColumn, UidRule, CANONICAL_COLUMNS};
use crate::column::{BatchBuilder, Value};
use crate::error::{Error, Result};
use crate::schema::{DataType, Field, PhysicalType, TableSchema};
use crate::time::{parse_timestamp, MICROS_PER_SECOND};
use crate::value::parse_str;

// ---------------------------------------------------------------------------------
// Values of a line
// ---------------------------------------------------------------------------------

/// A range of the line, or of the parser's scratch buffer (decoded escapes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Src {
    pub scratch: bool,
    pub start: usize,
    pub end: usize,
}

impl Src {
    pub(crate) fn line(start: usize, end: usize) -> Src {
        Src {
            scratch: false,
            start,
            end,
        }
    }

    #[inline]
    pub(crate) fn text<'a>(self, line: &'a str, scratch: &'a str) -> &'a str {
        let s = if self.scratch { scratch } else { line };
        s.get(self.start..self.end).unwrap_or_default()
    }
}

/// The text of a source, as stored in a VARCHAR column.
#[derive(Clone, Copy, Debug)]
enum Text {
    Src(Src),
    Static(&'static str),
}

impl Text {
    /// `sub` (a part of `whole`, the text of `src`) as a text.
    fn sub(src: Src, whole: &str, sub: &str) -> Text {
        let (w, s) = (whole.as_ptr() as usize, sub.as_ptr() as usize);
        if s >= w && s + sub.len() <= w + whole.len() {
            let off = s - w;
            Text::Src(Src {
                scratch: src.scratch,
                start: src.start + off,
                end: src.start + off + sub.len(),
            })
        } else if sub == "/" {
            // `url::split_target` gives "/" for an origin without a path.
            Text::Static("/")
        } else {
            Text::Static("")
        }
    }
}

/// One input value as scanned: nothing is converted yet.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Val {
    #[default]
    Null,
    Bool(bool),
    /// A JSON number as written; `int` when it has no fraction or exponent.
    Num {
        src: Src,
        int: bool,
    },
    /// A string (decoded) or a csv/tsv field.
    Str(Src),
    /// A nested object or array, as written.
    Raw(Src),
}

/// A converted value of one column, checked to match the column's physical type.
#[derive(Clone, Copy, Debug)]
enum Out {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Ip(u128),
    Text(Text),
}

// ---------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------

/// The unit of a duration field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn factor(self) -> f64 {
        match self {
            Unit::Seconds => 1.0,
            Unit::Millis => 1e-3,
            Unit::Micros => 1e-6,
            Unit::Nanos => 1e-9,
        }
    }
}

fn is_null_text(s: &str) -> bool {
    s.is_empty() || s == "-"
}

/// An integer written as `[-+]digits`.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = match b.first()? {
        b'-' | b'+' => &b[1..],
        _ => b,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.parse().ok()
}

/// An integer, or a number with an integral value that fits i64 (`2.0`, `1e3`).
fn parse_integral(s: &str) -> Option<i64> {
    parse_int(s).or_else(|| {
        let f = lex::parse_f64(s)?;
        (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
    })
}

/// Seconds, milliseconds, microseconds or nanoseconds since the epoch (by magnitude,
/// see the module docs) as microseconds.
pub(crate) fn epoch_micros(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let plain = !int.is_empty()
        && int.len() <= 19
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit());
    let micros = if plain {
        let i: i64 = int.parse().ok()?;
        // Digits of the fraction that fall within microseconds.
        let frac_micros = |keep: usize, scale: i64| -> i64 {
            let mut v = 0i64;
            for k in 0..keep {
                v = v * 10 + frac.as_bytes().get(k).map_or(0, |c| (c - b'0') as i64);
            }
            v * scale
        };
        if i < 100_000_000_000 {
            i * MICROS_PER_SECOND + frac_micros(6, 1)
        } else if i < 100_000_000_000_000 {
            i * 1000 + frac_micros(3, 1)
        } else if i < 100_000_000_000_000_000 {
            i
        } else {
            i / 1000
        }
    } else {
        let f: f64 = body.parse().ok()?;
        if !f.is_finite() || !body.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        let us = if f < 1e11 {
            f * 1e6
        } else if f < 1e14 {
            f * 1e3
        } else if f < 1e17 {
            f
        } else {
            f / 1e3
        };
        if us >= 9.2e18 {
            return None;
        }
        us.round() as i64
    };
    Some(if neg { -micros } else { micros })
}

/// A time written as ISO-8601, Common Log Format, or a number since the epoch.
pub(crate) fn parse_time_text(s: &str) -> Option<i64> {
    match s.as_bytes().first()? {
        b'0'..=b'9' | b'-' => parse_timestamp(s)
            .or_else(|| lex::parse_clf_time(s))
            .or_else(|| epoch_micros(s)),
        _ => None,
    }
}

/// Whether `s` is an ISO-8601 date with a time (or a Common Log Format time).
fn looks_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() >= 16 && matches!(b[10], b'T' | b' ') && parse_timestamp(s).is_some())
        || lex::parse_clf_time(s).is_some()
}

/// Converts `v` for a column of type `ty` into `out` (left as it was on an error).
/// `name` is the input field, for messages.
#[allow(clippy::too_many_arguments)]
fn convert(
    v: Val,
    ty: DataType,
    unit: Unit,
    dash_null: bool,
    name: &str,
    line: &str,
    scratch: &str,
    out: &mut Out,
) -> Result<(), String> {
    let field = || lex::snippet(name);
    let text = |src: Src| src.text(line, scratch);
    let not = |what: &str, shown: &str| {
        format!(
            "field '{}': '{}' is not {what}",
            field(),
            lex::snippet(shown)
        )
    };
    // The value as text, for messages about values that are not strings.
    let shown = |v: Val| -> &str {
        match v {
            Val::Null => "null",
            Val::Bool(true) => "true",
            Val::Bool(false) => "false",
            Val::Num { src, .. } | Val::Str(src) | Val::Raw(src) => text(src),
        }
    };
    if let Val::Null = v {
        *out = Out::Null;
        return Ok(());
    }
    if let Val::Str(src) = v {
        let s = text(src);
        if (ty != DataType::Varchar && is_null_text(s)) || (dash_null && s == "-") {
            *out = Out::Null;
            return Ok(());
        }
    }
    *out = match ty {
        DataType::Varchar => match v {
            Val::Null => Out::Null,
            Val::Bool(b) => Out::Text(Text::Static(if b { "true" } else { "false" })),
            Val::Num { src, .. } | Val::Str(src) | Val::Raw(src) => Out::Text(Text::Src(src)),
        },
        t if t.is_integer() => {
            let x = match v {
                Val::Num { src, .. } | Val::Str(src) => parse_integral(text(src)),
                _ => None,
            }
            .ok_or_else(|| not("an integer", shown(v)))?;
            let (lo, hi) = ty.int_range().unwrap_or((i64::MIN, i64::MAX));
            if x < lo || x > hi {
                return Err(format!("field '{}': {x} is out of range for {ty}", field()));
            }
            Out::Int(x)
        }
        DataType::Double => {
            let x = match v {
                Val::Num { src, .. } | Val::Str(src) => lex::parse_f64(text(src)),
                _ => None,
            }
            .ok_or_else(|| not("a number", shown(v)))?;
            Out::Float(if unit == Unit::Seconds {
                x
            } else {
                x * unit.factor()
            })
        }
        DataType::Boolean => match v {
            Val::Bool(b) => Out::Bool(b),
            Val::Str(src) | Val::Num { src, .. } => match text(src) {
                "true" | "TRUE" | "True" | "1" => Out::Bool(true),
                "false" | "FALSE" | "False" | "0" => Out::Bool(false),
                s => return Err(not("a boolean", s)),
            },
            _ => return Err(not("a boolean", shown(v))),
        },
        DataType::Ip => match v {
            Val::Str(src) => {
                Out::Ip(lex::parse_ip(text(src)).ok_or_else(|| not("an IP address", shown(v)))?)
            }
            _ => return Err(not("an IP address", shown(v))),
        },
        DataType::Interval => match v {
            Val::Str(src) => Out::Ip(
                crate::interval::parse(text(src))
                    .map_err(|_| not("an INTERVAL", shown(v)))?
                    .pack(),
            ),
            _ => return Err(not("an INTERVAL", shown(v))),
        },
        DataType::Timestamp => {
            let t = match v {
                Val::Num { src, .. } => epoch_micros(text(src)),
                Val::Str(src) => parse_time_text(text(src)),
                _ => None,
            };
            Out::Int(t.ok_or_else(|| {
                format!(
                    "bad timestamp in field '{}': '{}'",
                    field(),
                    lex::snippet(shown(v))
                )
            })?)
        }
        DataType::Date => match v {
            Val::Str(src) | Val::Num { src, .. } => {
                Out::Int(crate::time::parse_date(text(src)).ok_or_else(|| not("a date", shown(v)))?)
            }
            _ => return Err(not("a date", shown(v))),
        },
        DataType::Decimal { precision, scale } => match v {
            Val::Str(src) | Val::Num { src, .. } => Out::Int(
                crate::decimal::parse(text(src), precision, scale)
                    .map_err(|e| format!("field '{}': {e}", field()))?,
            ),
            _ => return Err(not("a number", shown(v))),
        },
        DataType::Time
        | DataType::TimestampS
        | DataType::TimestampMs
        | DataType::TimestampNs
        | DataType::TimestampTz => match v {
            Val::Str(src) | Val::Num { src, .. } => match crate::value::parse_str(text(src), ty) {
                Ok(crate::column::Value::Int(x)) => Out::Int(x),
                _ => return Err(not(&format!("a {ty}"), shown(v))),
            },
            _ => return Err(not(&format!("a {ty}"), shown(v))),
        },
        // Every integer type took the arm above.
        _ => return Err(format!("field '{}': no conversion to {ty}", field())),
    };
    Ok(())
}

/// A field of a column whose type the user set, converted as SQL's `CAST(text
/// AS type)` converts text ([`parse_str`], what DuckDB's csv reader does with
/// such types): an empty field is NULL (but for VARCHAR), a value that does not
/// convert rejects its line.
fn cast_text(v: Val, ty: DataType, name: &str, line: &str, scratch: &str) -> Result<Out, String> {
    let text = match v {
        Val::Null => return Ok(Out::Null),
        Val::Bool(b) => {
            let t = if b { "true" } else { "false" };
            if ty == DataType::Varchar {
                return Ok(Out::Text(Text::Static(t)));
            }
            t
        }
        Val::Num { src, .. } | Val::Str(src) | Val::Raw(src) => {
            if ty == DataType::Varchar {
                return Ok(Out::Text(Text::Src(src)));
            }
            src.text(line, scratch)
        }
    };
    if text.is_empty() {
        return Ok(Out::Null);
    }
    match parse_str(text, ty) {
        Ok(Value::Int(x)) => Ok(Out::Int(x)),
        Ok(Value::Float(x)) => Ok(Out::Float(x)),
        Ok(Value::Bool(x)) => Ok(Out::Bool(x)),
        Ok(Value::Ip(x)) => Ok(Out::Ip(x)),
        Ok(_) => Ok(Out::Null),
        Err(_) => {
            let article = if ty.name().starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            Err(format!(
                "field '{}': '{}' is not {article} {ty}",
                lex::snippet(name),
                lex::snippet(text)
            ))
        }
    }
}

// ---------------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------------

/// The broad kind of the values seen for a field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    None,
    Bool,
    Int,
    Float,
    Text,
    /// Conflicting kinds or nested values: VARCHAR.
    Mixed,
}

/// One observed value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Obs<'a> {
    Bool,
    Int,
    Float,
    Text(&'a str),
    Nested,
}

/// What the sample says about one field.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    kind: Kind,
    /// Some text value that is not empty or `-`.
    any_text: bool,
    all_time: bool,
    /// Every value is a number or a string that reads as a time.
    only_times: bool,
    all_datetime: bool,
    all_ip: bool,
    all_int: bool,
    all_num: bool,
    /// Non-null values noted by [`Seen::note_value`].
    values: u64,
    /// Hashes of the distinct values noted, until there are more than
    /// [`MAX_SAMPLE_DISTINCT`] (then `distinct_overflow`).
    distinct: HashSet<u64>,
    distinct_overflow: bool,
    /// The last integer value noted, and whether the integer values noted so far
    /// never decreased (a row key: a sequence number, an auto-increment id).
    last_int: Option<i64>,
    ints_ascending: bool,
}

/// Distinct values of a field counted in a sample, at most.
const MAX_SAMPLE_DISTINCT: usize = 1000;

impl Default for Seen {
    fn default() -> Self {
        Seen {
            kind: Kind::None,
            any_text: false,
            all_time: true,
            only_times: true,
            all_datetime: true,
            all_ip: true,
            all_int: true,
            all_num: true,
            values: 0,
            distinct: HashSet::new(),
            distinct_overflow: false,
            last_int: None,
            ints_ascending: true,
        }
    }
}

impl Seen {
    pub(crate) fn observe(&mut self, o: Obs<'_>) {
        let k = match o {
            Obs::Bool => Kind::Bool,
            Obs::Int => Kind::Int,
            Obs::Float => Kind::Float,
            Obs::Text(_) => Kind::Text,
            Obs::Nested => Kind::Mixed,
        };
        self.kind = match (self.kind, k) {
            (Kind::None, k) => k,
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::Mixed,
        };
        if let Obs::Bool | Obs::Nested = o {
            self.only_times = false;
        }
        if let Obs::Text(s) = o {
            if !is_null_text(s) {
                self.any_text = true;
                self.all_time &= parse_time_text(s).is_some();
                self.only_times &= self.all_time;
                self.all_datetime &= looks_datetime(s);
                self.all_ip &= lex::parse_ip(s).is_some();
                self.all_int &= parse_int(s).is_some();
                self.all_num &= lex::parse_f64(s).is_some();
            }
        }
    }

    /// Notes a value as written, for the distinct count (`null`, empty and `-` are
    /// not values).
    pub(crate) fn note_value(&mut self, s: &str) {
        if is_null_text(s) || s == "null" {
            return;
        }
        self.values += 1;
        if let Some(v) = parse_int(s) {
            self.ints_ascending &= self.last_int.is_none_or(|last| last <= v);
            self.last_int = Some(v);
        }
        if !self.distinct_overflow {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            self.distinct.insert(h.finish());
            if self.distinct.len() > MAX_SAMPLE_DISTINCT {
                self.distinct_overflow = true;
                self.distinct = HashSet::new();
            }
        }
    }

    /// Whether the noted values repeat enough for a bitmap index: at most half as
    /// many distinct values as values, and not too many.
    fn repeats(&self) -> bool {
        !self.distinct_overflow && self.values >= 2 && self.distinct.len() as u64 * 2 <= self.values
    }

    /// Whether the noted values look like the ids of some entity (users, sessions,
    /// orders) rather than of the rows: at least two, and not in ascending order.
    fn unordered(&self) -> bool {
        self.values >= 2 && !self.ints_ascending
    }

    /// Whether every value seen reads as a time (and there was one).
    fn can_be_time(&self) -> bool {
        match self.kind {
            Kind::None | Kind::Bool => false,
            Kind::Text => self.any_text && self.all_time,
            Kind::Int | Kind::Float | Kind::Mixed => self.only_times,
        }
    }

    /// Observes a csv/tsv field: text that reads as a number or boolean counts as one.
    pub(crate) fn observe_text(&mut self, s: &str) {
        if is_null_text(s) {
            return;
        }
        self.note_value(s);
        if parse_int(s).is_some() {
            self.observe(Obs::Int);
        } else if lex::parse_f64(s).is_some() {
            self.observe(Obs::Float);
        } else if matches!(s, "true" | "false" | "TRUE" | "FALSE" | "True" | "False") {
            self.observe(Obs::Bool);
        } else {
            self.observe(Obs::Text(s));
        }
    }

    /// The column type for a field named `name` (snake_cased).
    fn data_type(&self, name: &str) -> DataType {
        let timeish = TIME_NAMES.contains(&name);
        match self.kind {
            Kind::None => DataType::Varchar,
            Kind::Int | Kind::Float | Kind::Mixed if timeish && self.only_times => {
                DataType::Timestamp
            }
            Kind::Mixed => DataType::Varchar,
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::BigInt,
            Kind::Float => DataType::Double,
            Kind::Text if !self.any_text => DataType::Varchar,
            Kind::Text if (timeish && self.all_time) || self.all_datetime => DataType::Timestamp,
            Kind::Text if (name.contains("ip") || name.contains("addr")) && self.all_ip => {
                DataType::Ip
            }
            Kind::Text => DataType::Varchar,
        }
    }

    /// Whether the values fit canonical column `target` (of type `ty`).
    fn fits(&self, ty: DataType, inferred: DataType) -> bool {
        match ty {
            DataType::Varchar => true,
            _ if self.kind == Kind::None => true,
            DataType::Timestamp => inferred == DataType::Timestamp,
            DataType::Ip => inferred == DataType::Ip,
            DataType::SmallInt | DataType::BigInt => {
                self.kind == Kind::Int || (self.kind == Kind::Text && self.all_int)
            }
            DataType::Double => {
                matches!(self.kind, Kind::Int | Kind::Float)
                    || (self.kind == Kind::Text && self.all_num)
            }
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------
// Names and the canonical mapping
// ---------------------------------------------------------------------------------

/// Field names that make a field a time.
const TIME_NAMES: &[&str] = &[
    "ts",
    "timestamp",
    "time",
    "datetime",
    "date",
    "time_iso8601",
    "time_local",
    "msec",
];

/// What a canonical alias fills.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// A canonical column (position in [`CANONICAL_COLUMNS`]).
    Col(usize),
    /// A request line: method, url, protocol.
    Request,
    /// A query string (without the url).
    Query,
}

/// Duration field names: bases and unit suffixes.
const DURATION_BASES: &[&str] = &[
    "request_time",
    "duration",
    "response_time",
    "elapsed",
    "latency",
];
const DURATION_SUFFIXES: &[(&str, Unit)] = &[
    ("", Unit::Seconds),
    ("_s", Unit::Seconds),
    ("_sec", Unit::Seconds),
    ("_seconds", Unit::Seconds),
    ("_ms", Unit::Millis),
    ("_millis", Unit::Millis),
    ("_us", Unit::Micros),
    ("_micros", Unit::Micros),
    ("_ns", Unit::Nanos),
    ("_nanos", Unit::Nanos),
];

/// The canonical aliases in priority order: (role, names).
fn aliases() -> Vec<(Role, Vec<(String, Unit)>)> {
    let s = |names: &[&str]| -> Vec<(String, Unit)> {
        names
            .iter()
            .map(|n| (n.to_string(), Unit::Seconds))
            .collect()
    };
    let mut durations = Vec::new();
    for &(suffix, unit) in DURATION_SUFFIXES {
        for base in DURATION_BASES {
            durations.push((format!("{base}{suffix}"), unit));
        }
    }
    vec![
        (Role::Col(col::TS), s(TIME_NAMES)),
        (
            Role::Col(col::CLIENT_IP),
            s(&[
                "client_ip",
                "remote_addr",
                "ip",
                "client_addr",
                "clientip",
                "remote_ip",
                "client",
            ]),
        ),
        (Role::Col(col::REMOTE_USER), s(&["remote_user"])),
        (
            Role::Col(col::METHOD),
            s(&["method", "request_method", "http_method"]),
        ),
        (
            Role::Col(col::URL),
            s(&["url", "request_uri", "request_url", "uri", "path"]),
        ),
        (
            Role::Col(col::PROTOCOL),
            s(&["protocol", "server_protocol"]),
        ),
        (
            Role::Col(col::STATUS),
            s(&["status", "status_code", "http_status", "response_status"]),
        ),
        (
            Role::Col(col::BYTES),
            s(&[
                "bytes",
                "body_bytes_sent",
                "size",
                "bytes_sent",
                "response_size",
            ]),
        ),
        (
            Role::Col(col::REFERER),
            s(&["referer", "http_referer", "referrer"]),
        ),
        (
            Role::Col(col::USER_AGENT),
            s(&["user_agent", "http_user_agent", "useragent"]),
        ),
        (Role::Col(col::REQUEST_TIME), durations),
        (Role::Col(col::UID), s(&["uid", "user_id", "userid"])),
        (Role::Request, s(&["request"])),
        (Role::Query, s(&["query", "query_string", "args"])),
    ]
}

/// Whether a column name says it holds a time: one of the time names above, or
/// ending in `_time`, `_ts`, `_at`, `_timestamp` or `_date` (`access_time`,
/// `created_at`).
fn is_time_name(name: &str) -> bool {
    TIME_NAMES.contains(&name)
        || ["_time", "_ts", "_at", "_timestamp", "_date"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// Whether a (snake_cased) column name says it holds ids of some entity: `id`,
/// `uid`, `userid`, or ending in `_id` or `_uid` (`user_id`, `session_id`).
fn is_id_name(name: &str) -> bool {
    matches!(name, "id" | "uid" | "userid") || name.ends_with("_id") || name.ends_with("_uid")
}

/// Indexed columns chosen at most, by default.
const MAX_DEFAULT_INDEXES: usize = 8;

/// The default bitmap indexes of a records table, the first
/// [`MAX_DEFAULT_INDEXES`] of these columns (never the time column):
/// - VARCHAR, BIGINT and BOOLEAN columns whose sample values repeat: at most
///   [`MAX_SAMPLE_DISTINCT`] distinct values and at most half as many distinct
///   values as values;
/// - id-like BIGINT columns ([`is_id_name`]: `user_id`, `uid`, `session_id`, ...)
///   whose sample values are not in ascending order. Such a column has many
///   distinct values (a sample of a few hundred lines rarely repeats one) but few
///   rows per value and some hot values, the shape a look-up of one id wants an
///   index for; integer keys are stored in pages (spec/format.md), so a look-up
///   costs one key page and one bitmap page per segment, whatever the distinct
///   values. Ascending values are a row key (a sequence number, an auto-increment
///   id): about one row per value, where a bitmap per value costs more than it
///   saves and the zone maps already find a value.
fn default_indexes(fields: &[Field], seen: &[Seen], time: Option<usize>) -> Vec<String> {
    fields
        .iter()
        .zip(seen)
        .enumerate()
        .filter(|&(i, (f, s))| {
            Some(i) != time
                && match f.data_type {
                    DataType::Varchar | DataType::Boolean => s.repeats(),
                    DataType::BigInt => s.repeats() || (is_id_name(&f.name) && s.unordered()),
                    _ => false,
                }
        })
        .map(|(_, (f, _))| f.name.clone())
        .take(MAX_DEFAULT_INDEXES)
        .collect()
}

/// A column name in snake_case: `userAgent` → `user_agent`, `HTTPStatus` →
/// `http_status`, `@timestamp` → `timestamp`, `a.b-c` → `a_b_c`. Non-ASCII
/// characters become `_`; a leading digit gets an `f_` prefix; may be empty.
pub(crate) fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
                if prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("f_{trimmed}")
    } else {
        trimmed.to_string()
    }
}

// ---------------------------------------------------------------------------------
// The plan: input slots to columns
// ---------------------------------------------------------------------------------

/// What an input slot fills.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A column; `dash_null` for canonical columns (where `-` is NULL).
    Col {
        col: usize,
        unit: Unit,
        dash_null: bool,
    },
    /// The url column, with uri and query derived from it.
    Url,
    /// A request line; fills method / protocol only when the flag says so.
    Request { method: bool, protocol: bool },
    /// The query column, when there is no url.
    Query,
    /// A column whose type the user set (`read_csv(..., types := ...)`): its
    /// text cast as SQL's `CAST(text AS type)` casts it ([`cast_text`]).
    Cast { col: usize },
}

/// An input field (a JSON key or a csv column) and what it fills.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    /// The name as written in the input.
    pub key: String,
    target: Target,
}

/// How the input fields of a line become one row of the schema.
pub(crate) struct Plan {
    pub schema: TableSchema,
    pub slots: Vec<Slot>,
    types: Vec<DataType>,
    /// `types`' physical types, looked up once rather than per value.
    physical: Vec<PhysicalType>,
    /// The time column, whose value every row needs (`None`: a plain table, or
    /// [`ParserOptions::keep_rows_without_time`]).
    time_col: Option<usize>,
    /// Positions of the canonical columns in the schema, if present and of their
    /// canonical type.
    canon: [Option<usize>; col::EXTRA],
    uid: UidRule,
    outs: Vec<Out>,
}

impl Plan {
    /// Completes a plan. `canonical`: the schema is a log table's, whose canonical
    /// columns get the canonical treatment (uid rules, url parts); records tables
    /// store every field as it is.
    fn finish(
        mut schema: TableSchema,
        slots: Vec<Slot>,
        canonical: bool,
        options: &ParserOptions,
    ) -> Result<Plan> {
        schema.validate()?;
        if options.keep_rows_without_time {
            if let Some(t) = schema.time_index() {
                schema.fields[t].nullable = true;
            }
        }
        let time_col = match &schema.time_column {
            None => None,
            Some(_) if options.keep_rows_without_time => None,
            Some(_) => Some(
                schema
                    .time_index()
                    .filter(|&i| schema.fields[i].data_type == DataType::Timestamp)
                    .ok_or_else(|| {
                        Error::InvalidInput("the time column must be a TIMESTAMP".into())
                    })?,
            ),
        };
        let mut canon = [None; col::EXTRA];
        let mut uid = UidRule::None;
        if canonical {
            for (k, &(name, ty)) in CANONICAL_COLUMNS.iter().enumerate() {
                canon[k] = schema
                    .index_of(name)
                    .filter(|&i| schema.fields[i].data_type == ty);
            }
            uid = UidRule::resolve(&options.uid_from, &schema)?;
        }
        let types: Vec<DataType> = schema.fields.iter().map(|f| f.data_type).collect();
        Ok(Plan {
            outs: vec![Out::Null; types.len()],
            physical: types.iter().map(|t| t.physical()).collect(),
            schema,
            slots,
            types,
            time_col,
            canon,
            uid,
        })
    }

    /// The plan for a given schema: slots for its column names and for the aliases of
    /// the canonical columns it has.
    pub(crate) fn for_schema(schema: TableSchema, options: &ParserOptions) -> Result<Plan> {
        let mut schema = schema;
        if schema.time_column.is_none() && schema.index_of("ts").is_some() {
            schema.time_column = Some("ts".into());
        }
        let canonical_at = |k: usize| {
            let (name, ty) = CANONICAL_COLUMNS[k];
            schema
                .index_of(name)
                .filter(|&i| schema.fields[i].data_type == ty)
        };
        let mut slots: Vec<Slot> = Vec::new();
        let url = canonical_at(col::URL);
        for (i, f) in schema.fields.iter().enumerate() {
            let canonical = CANONICAL_COLUMNS
                .iter()
                .position(|&(n, t)| n == f.name && t == f.data_type);
            let target = match canonical {
                Some(col::URL) => Target::Url,
                Some(_) => Target::Col {
                    col: i,
                    unit: Unit::Seconds,
                    dash_null: true,
                },
                None => Target::Col {
                    col: i,
                    unit: Unit::Seconds,
                    dash_null: false,
                },
            };
            slots.push(Slot {
                key: f.name.clone(),
                target,
            });
        }
        let has = |slots: &[Slot], key: &str| slots.iter().any(|s| s.key == key);
        for (role, names) in aliases() {
            let target = match role {
                Role::Col(col::URL) if url.is_some() => Target::Url,
                Role::Col(k) => match canonical_at(k) {
                    Some(c) => Target::Col {
                        col: c,
                        unit: Unit::Seconds,
                        dash_null: true,
                    },
                    None => continue,
                },
                Role::Request if url.is_some() => Target::Request {
                    method: true,
                    protocol: true,
                },
                Role::Query if canonical_at(col::QUERY).is_some() => Target::Query,
                _ => continue,
            };
            for (name, unit) in names {
                if has(&slots, &name) {
                    continue;
                }
                let target = match target {
                    Target::Col { col, dash_null, .. } => Target::Col {
                        col,
                        unit,
                        dash_null,
                    },
                    t => t,
                };
                slots.push(Slot { key: name, target });
            }
        }
        Plan::finish(schema, slots, true, options)
    }

    /// The plan for fields seen in a sample: canonical columns filled by the first
    /// fitting alias, other fields as extra columns. `names` are the input names in
    /// order of first appearance.
    pub(crate) fn inferred(
        format: &str,
        names: &[String],
        seen: &[Seen],
        options: &ParserOptions,
    ) -> Result<Plan> {
        let snake: Vec<String> = names.iter().map(|n| snake_case(n)).collect();
        let mut types: Vec<DataType> = seen
            .iter()
            .zip(&snake)
            .map(|(s, n)| s.data_type(n))
            .collect();
        // Types the user set replace the inferred ones, and keep the file's own
        // columns: no canonical mapping.
        let overrides = &options.csv.types;
        for (t, o) in types.iter_mut().zip(overrides) {
            if let Some(o) = o {
                *t = *o;
            }
        }
        // A time column named by the user: found by name, made a TIMESTAMP when its
        // sample values all read as times.
        let named_time = match &options.time_column {
            TimeColumn::Named(want) => {
                let i = names
                    .iter()
                    .zip(&snake)
                    .position(|(n, s)| n == want || s == want)
                    .or_else(|| snake.iter().position(|s| s.eq_ignore_ascii_case(want)))
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "{format}: no field '{want}' for the time column; the sample's fields are: {}",
                            snake.join(", ")
                        ))
                    })?;
                if types[i] != DataType::Timestamp {
                    if !seen[i].can_be_time() {
                        return Err(Error::InvalidInput(format!(
                            "{format}: field '{want}' cannot be the time column: its values are not \
                             all times (ISO-8601, 'YYYY-MM-DD HH:MM:SS', or epoch numbers)"
                        )));
                    }
                    types[i] = DataType::Timestamp;
                }
                Some(i)
            }
            _ => None,
        };
        let mut targets: Vec<Option<Target>> = vec![None; names.len()];
        let mut filled = [false; col::EXTRA];
        let mut request_slot = None;
        for (role, alias_names) in aliases() {
            let want = match role {
                Role::Col(k) => CANONICAL_COLUMNS[k].1,
                Role::Request | Role::Query => DataType::Varchar,
            };
            let mut pick = None;
            'find: for (alias, unit) in &alias_names {
                for (i, n) in snake.iter().enumerate() {
                    if n == alias && targets[i].is_none() && seen[i].fits(want, types[i]) {
                        pick = Some((i, *unit));
                        break 'find;
                    }
                }
            }
            if role == Role::Col(col::TS) && named_time.is_some() {
                pick = named_time.map(|i| (i, Unit::Seconds));
            }
            if role == Role::Col(col::TS) && pick.is_none() {
                pick = (0..names.len())
                    .find(|&i| types[i] == DataType::Timestamp)
                    .map(|i| (i, Unit::Seconds));
            }
            let Some((i, unit)) = pick else { continue };
            targets[i] = Some(match role {
                Role::Col(col::URL) => {
                    filled[col::URL] = true;
                    Target::Url
                }
                Role::Col(k) => {
                    filled[k] = true;
                    Target::Col {
                        col: k,
                        unit,
                        dash_null: true,
                    }
                }
                Role::Request if !filled[col::URL] => {
                    request_slot = Some(i);
                    Target::Request {
                        method: !filled[col::METHOD],
                        protocol: !filled[col::PROTOCOL],
                    }
                }
                Role::Query if !filled[col::URL] && request_slot.is_none() => Target::Query,
                _ => continue,
            });
        }
        // An access log: a time and at least two of the request's fields. Anything
        // else is a table of records that keeps its own columns.
        let request_fields = [
            col::CLIENT_IP,
            col::REMOTE_USER,
            col::METHOD,
            col::URL,
            col::STATUS,
            col::BYTES,
            col::REFERER,
            col::USER_AGENT,
        ]
        .iter()
        .filter(|&&k| filled[k] || (k == col::URL && request_slot.is_some()))
        .count();
        let no_time = options.time_column == TimeColumn::None;
        if !filled[col::TS] || request_fields < 2 || no_time || !overrides.is_empty() {
            return Plan::records(format, names, &snake, &types, seen, named_time, options);
        }
        let mut taken: Vec<String> = CANONICAL_COLUMNS.iter().map(|c| c.0.to_string()).collect();
        let mut extra = Vec::new();
        let mut slots = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let target = match targets[i] {
                Some(t) => t,
                None => {
                    let mut base = snake[i].clone();
                    if base.is_empty() {
                        base = format!("column_{}", i + 1);
                    }
                    if taken.contains(&base) {
                        base = format!("{format}_{base}");
                    }
                    let mut col_name = base.clone();
                    let mut k = 2;
                    while taken.contains(&col_name) {
                        col_name = format!("{base}_{k}");
                        k += 1;
                    }
                    taken.push(col_name.clone());
                    extra.push(Field::new(col_name, types[i]));
                    Target::Col {
                        col: col::EXTRA + extra.len() - 1,
                        unit: Unit::Seconds,
                        dash_null: false,
                    }
                }
            };
            slots.push(Slot {
                key: name.clone(),
                target,
            });
        }
        Plan::finish(log_schema(extra), slots, true, options)
    }

    /// The plan of a records table: one column per sample field, named as written
    /// (snake_cased) and typed as inferred; the time column as chosen by
    /// [`ParserOptions::time_column`]; bitmap indexes by [`default_indexes`].
    fn records(
        format: &str,
        names: &[String],
        snake: &[String],
        types: &[DataType],
        seen: &[Seen],
        named_time: Option<usize>,
        options: &ParserOptions,
    ) -> Result<Plan> {
        if names.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{format}: the sample has no fields"
            )));
        }
        let mut taken: Vec<String> = Vec::with_capacity(names.len());
        let mut fields = Vec::with_capacity(names.len());
        for (i, base) in snake.iter().enumerate() {
            let base = if base.is_empty() {
                format!("column_{}", i + 1)
            } else {
                base.clone()
            };
            let mut name = base.clone();
            let mut k = 2;
            while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
                name = format!("{base}_{k}");
                k += 1;
            }
            taken.push(name.clone());
            fields.push(Field::new(name, types[i]));
        }
        let time = match options.time_column {
            TimeColumn::None => None,
            TimeColumn::Named(_) => named_time,
            TimeColumn::Detect => (0..names.len())
                .find(|&i| types[i] == DataType::Timestamp && is_time_name(&snake[i]))
                .or_else(|| (0..names.len()).find(|&i| types[i] == DataType::Timestamp)),
        };
        if let Some(t) = time {
            fields[t].nullable = false;
        }
        let indexed = default_indexes(&fields, seen, time);
        let mut schema = TableSchema::new(fields).with_indexes(indexed);
        if let Some(t) = time {
            let name = schema.fields[t].name.clone();
            schema = schema.with_time_column(name);
        }
        let slots = names
            .iter()
            .enumerate()
            .map(|(i, n)| Slot {
                key: n.clone(),
                target: match options.csv.types.get(i) {
                    Some(Some(_)) => Target::Cast { col: i },
                    _ => Target::Col {
                        col: i,
                        unit: Unit::Seconds,
                        dash_null: false,
                    },
                },
            })
            .collect();
        Plan::finish(schema, slots, false, options)
    }

    /// Converts the slot values `vals` of one line and appends them as a row, or
    /// returns why the line cannot be stored (appending nothing).
    pub(crate) fn append(
        &mut self,
        vals: &[Val],
        line: &str,
        scratch: &str,
        out: &mut BatchBuilder,
    ) -> Result<(), String> {
        let Plan {
            slots,
            types,
            canon,
            outs,
            ..
        } = self;
        outs.fill(Out::Null);
        let text_of = |v: Val| -> Option<Src> {
            match v {
                Val::Num { src, .. } | Val::Str(src) | Val::Raw(src) => Some(src),
                _ => None,
            }
        };
        for (slot, &v) in slots.iter().zip(vals) {
            if let Val::Null = v {
                continue;
            }
            match slot.target {
                Target::Col {
                    col,
                    unit,
                    dash_null,
                } => {
                    if matches!(outs[col], Out::Null) {
                        // Written in place: a returned `Result<Out, _>` copied into
                        // `outs` stalled on store forwarding for every field.
                        let (ty, key) = (types[col], &slot.key);
                        convert(v, ty, unit, dash_null, key, line, scratch, &mut outs[col])?;
                    }
                }
                Target::Cast { col } => {
                    outs[col] = cast_text(v, types[col], &slot.key, line, scratch)?;
                }
                Target::Url => {
                    if let Some(src) = text_of(v) {
                        set_url(outs, canon, src, src.text(line, scratch));
                    }
                }
                Target::Request { method, protocol } => {
                    let Some(src) = text_of(v) else { continue };
                    let whole = src.text(line, scratch);
                    let r = lex::split_request(whole);
                    let mut set = |c: Option<usize>, part: Option<&str>| {
                        if let (Some(c), Some(p)) = (c, part) {
                            if matches!(outs[c], Out::Null) {
                                outs[c] = Out::Text(Text::sub(src, whole, p));
                            }
                        }
                    };
                    if method {
                        set(canon[col::METHOD], r.method);
                    }
                    if protocol {
                        set(canon[col::PROTOCOL], r.protocol);
                    }
                    if let Some(u) = r.url {
                        let u_src = match Text::sub(src, whole, u) {
                            Text::Src(s) => s,
                            Text::Static(_) => continue,
                        };
                        set_url(outs, canon, u_src, u);
                    }
                }
                Target::Query => {
                    if let (Some(src), Some(c)) = (text_of(v), canon[col::QUERY]) {
                        let whole = src.text(line, scratch);
                        let q = whole.strip_prefix('?').unwrap_or(whole);
                        if matches!(outs[c], Out::Null) && !is_null_text(whole) {
                            outs[c] = Out::Text(Text::sub(src, whole, q));
                        }
                    }
                }
            }
        }
        if self.time_col.is_some_and(|t| matches!(outs[t], Out::Null)) {
            return Err("no timestamp field".to_string());
        }
        let text = |o: Out| -> Option<&str> {
            match o {
                Out::Text(Text::Src(s)) => Some(s.text(line, scratch)),
                Out::Text(Text::Static(s)) => Some(s),
                _ => None,
            }
        };
        // The uid: a field rule, else the uid field, else the other rules.
        let mut uid: Option<Cow<'_, str>> = None;
        if let Some(u) = canon[col::UID] {
            let own = text(outs[u]).filter(|s| !s.is_empty());
            uid = match self.uid {
                UidRule::Field(c) => text(outs[c]).map(Cow::Borrowed),
                _ if own.is_some() => own.map(Cow::Borrowed),
                UidRule::QueryParam(ref name) => canon[col::QUERY]
                    .and_then(|q| text(outs[q]))
                    .and_then(|q| url::query_param(q, name)),
                UidRule::RemoteUser => canon[col::REMOTE_USER]
                    .and_then(|c| text(outs[c]))
                    .map(Cow::Borrowed),
                UidRule::None => None,
            }
            .filter(|v| !v.is_empty());
        }
        for (i, f) in self.schema.fields.iter().enumerate() {
            if !f.nullable && matches!(outs[i], Out::Null) && Some(i) != canon[col::UID] {
                return Err(format!("no value for column '{}'", f.name));
            }
        }
        for (i, &o) in outs.iter().enumerate() {
            if Some(i) == canon[col::UID] {
                match &uid {
                    Some(v) => out.push_str(i, v),
                    None => out.push_null(i),
                }
                continue;
            }
            match (o, self.physical[i]) {
                (Out::Int(x), PhysicalType::Int64) => out.push_i64(i, x),
                (Out::Float(x), PhysicalType::Float64) => out.push_f64(i, x),
                (Out::Bool(x), PhysicalType::Bool) => out.push_bool(i, x),
                (Out::Ip(x), PhysicalType::Ip) => out.push_ip(i, x),
                (Out::Text(_), PhysicalType::Utf8) => out.push_str(i, text(o).unwrap_or_default()),
                // Conversions only produce values of the column's type; NULL otherwise.
                _ => out.push_null(i),
            }
        }
        Ok(())
    }
}

/// Sets url, uri and query from a request target, where still NULL.
fn set_url(outs: &mut [Out], canon: &[Option<usize>; col::EXTRA], src: Src, u: &str) {
    if is_null_text(u) {
        return;
    }
    let Some(c) = canon[col::URL] else { return };
    if !matches!(outs[c], Out::Null) {
        return;
    }
    outs[c] = Out::Text(Text::Src(src));
    let (uri, query) = url::split_target(u);
    if let Some(c) = canon[col::URI] {
        if matches!(outs[c], Out::Null) {
            outs[c] = Out::Text(Text::sub(src, u, uri));
        }
    }
    if let (Some(c), Some(q)) = (canon[col::QUERY], query) {
        if matches!(outs[c], Out::Null) {
            outs[c] = Out::Text(Text::sub(src, u, q));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_names() {
        for (a, b) in [
            ("userAgent", "user_agent"),
            ("HTTPStatus", "http_status"),
            ("@timestamp", "timestamp"),
            ("a.b-c", "a_b_c"),
            ("Status Code", "status_code"),
            ("already_snake", "already_snake"),
            ("2xx", "f_2xx"),
            ("__", ""),
        ] {
            assert_eq!(snake_case(a), b, "{a}");
        }
    }

    #[test]
    fn id_like_integers_are_indexed_unless_ascending() {
        let seen = |values: &[&str]| {
            let mut s = Seen::default();
            for v in values {
                s.observe_text(v);
            }
            s
        };
        let fields = [
            Field::new("user_id", DataType::BigInt),
            Field::new("id", DataType::BigInt),
            Field::new("bytes", DataType::BigInt),
            Field::new("order_id", DataType::BigInt),
            Field::new("paid", DataType::BigInt),
            Field::new("module", DataType::Varchar),
        ];
        let seen = [
            // Distinct but unordered: ids of users, indexed.
            seen(&["824821", "731173", "12", "993001"]),
            // Ascending: a row key, not indexed.
            seen(&["1", "2", "3", "5"]),
            // Unordered but not named like an id, and distinct: not indexed.
            seen(&["512", "20", "7001", "3"]),
            // Repeating values qualify whatever the order.
            seen(&["5", "5", "6", "6"]),
            seen(&["9", "1", "8", "2"]),
            seen(&["a", "b", "a", "b"]),
        ];
        assert_eq!(
            default_indexes(&fields, &seen, None),
            ["user_id", "order_id", "module"]
        );
        assert_eq!(
            default_indexes(&fields, &seen, Some(0)),
            ["order_id", "module"]
        );
        assert!(is_id_name("uid") && is_id_name("session_uid") && !is_id_name("valid"));
    }

    #[test]
    fn epochs_by_magnitude() {
        let t = 1_714_521_600_000_000i64;
        assert_eq!(epoch_micros("1714521600"), Some(t));
        assert_eq!(epoch_micros("1714521600.25"), Some(t + 250_000));
        assert_eq!(epoch_micros("1714521600250"), Some(t + 250_000));
        assert_eq!(epoch_micros("1714521600250000"), Some(t + 250_000));
        assert_eq!(epoch_micros("1714521600250000999"), Some(t + 250_000));
        assert_eq!(epoch_micros("1.7145216e9"), Some(t));
        assert_eq!(epoch_micros("-1.5"), Some(-1_500_000));
        assert_eq!(epoch_micros("abc"), None);
        assert_eq!(epoch_micros("1e400"), None);
    }
}
