//! The `nginx` format: lines described by a user-given nginx `log_format` string, e.g.
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time
//! ```
//!
//! The string is compiled once into a sequence of literal and variable matchers. A
//! variable's value runs up to the first occurrence of the literal that follows it
//! (skipping a `"` escaped by a backslash) or to the end of the line; two variables
//! therefore need a literal between them.
//!
//! Known variables fill canonical columns: `$remote_addr` → `client_ip`,
//! `$remote_user`, `$time_local` / `$time_iso8601` / `$msec` → `ts` (the first one
//! present), `$request` → method/url/protocol, `$request_method` → method,
//! `$request_uri` → url (when there is no `$request`), `$uri` → uri and
//! `$args` / `$query_string` → query (when there is no url), `$server_protocol`,
//! `$status`, `$body_bytes_sent` → bytes (`$bytes_sent` when there is no
//! `$body_bytes_sent`), `$http_referer` → referer, `$http_user_agent` → user_agent,
//! `$request_time`. A variable whose column is already filled by another is ignored.
//!
//! Other variables become columns named after the variable (without `$`; prefixed
//! with `nginx_` if that name is a canonical column): BIGINT for `$request_length`,
//! `$bytes_sent`, `$connection`, `$connection_requests`, `$remote_port`,
//! `$server_port`; DOUBLE for `$upstream_response_time`, `$upstream_connect_time`,
//! `$upstream_header_time` (a list such as `0.010, 0.002 : 0.003`, written when
//! several upstreams were tried, is summed); VARCHAR for everything else.
//! Values are stored as written (nginx's `\x22` escapes are not decoded); `-` is NULL.

use memchr::memmem::Finder;

use super::lex;
use super::{
    for_each_line, log_schema, push_opt_f64, push_opt_i64, push_opt_str, Canon, LogParser,
    ParserOptions, Reject, UidRule, CANONICAL_COLUMNS,
};
use crate::column::BatchBuilder;
use crate::error::{Error, Result};
use crate::schema::{DataType, Field, TableSchema};
use crate::time::{parse_timestamp, MICROS_PER_SECOND};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    RemoteAddr,
    RemoteUser,
    TimeLocal,
    TimeIso,
    Msec,
    Request,
    Method,
    RequestUri,
    Uri,
    Args,
    Protocol,
    Status,
    BodyBytes,
    Referer,
    UserAgent,
    RequestTime,
    /// A format-specific column, by position after the canonical ones.
    Text(usize),
    Int(usize),
    Float(usize),
    Ignore,
}

#[derive(Debug)]
enum Item {
    Literal(String, Box<Finder<'static>>),
    Var(Var, String),
}

pub(crate) struct NginxParser {
    schema: TableSchema,
    items: Vec<Item>,
    extras: usize,
    uid: UidRule,
}

/// Splits a log_format string into literals and variable names.
fn tokenize(format: &str) -> Result<Vec<(bool, String)>> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut lit = String::new();
    let mut chars = format.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        if ch != '$' {
            lit.push(ch);
            continue;
        }
        let braced = chars.peek().map(|&(_, c)| c) == Some('{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.next().map(|(_, c)| c) != Some('}') {
            return Err(Error::InvalidInput(format!(
                "log_format: missing '}}' after '${{{name}'"
            )));
        }
        if name.is_empty() {
            lit.push('$');
            continue;
        }
        if !lit.is_empty() {
            out.push((false, std::mem::take(&mut lit)));
        }
        if let Some((true, prev)) = out.last() {
            return Err(Error::InvalidInput(format!(
                "log_format: ${prev} and ${name} need text between them to be told apart"
            )));
        }
        out.push((true, name));
    }
    if !lit.is_empty() {
        out.push((false, lit));
    }
    Ok(out)
}

impl NginxParser {
    pub(crate) fn new(options: &ParserOptions) -> Result<NginxParser> {
        let format = options.log_format.as_deref().ok_or_else(|| {
            Error::InvalidInput("the nginx format needs a log_format string".into())
        })?;
        let tokens = tokenize(format)?;
        let has = |n: &str| tokens.iter().any(|(v, t)| *v && t == n);
        let has_request = has("request");
        let has_url = has_request || has("request_uri");
        let mut filled: Vec<&str> = Vec::new();
        let mut extra_fields: Vec<Field> = Vec::new();
        let mut items = Vec::new();
        let mut has_time = false;
        for (is_var, text) in &tokens {
            if !is_var {
                let finder = Box::new(Finder::new(text.as_bytes()).into_owned());
                items.push(Item::Literal(text.clone(), finder));
                continue;
            }
            // The canonical column a known variable fills, if it is still free.
            let canonical: Option<(&str, Var)> = match text.as_str() {
                "remote_addr" => Some(("client_ip", Var::RemoteAddr)),
                "remote_user" => Some(("remote_user", Var::RemoteUser)),
                "time_local" => Some(("ts", Var::TimeLocal)),
                "time_iso8601" => Some(("ts", Var::TimeIso)),
                "msec" => Some(("ts", Var::Msec)),
                "request" => Some(("request", Var::Request)),
                "request_method" if !has_request => Some(("method", Var::Method)),
                "request_uri" if !has_request => Some(("url", Var::RequestUri)),
                "uri" if !has_url => Some(("uri", Var::Uri)),
                "args" | "query_string" if !has_url => Some(("query", Var::Args)),
                "server_protocol" if !has_request => Some(("protocol", Var::Protocol)),
                "status" => Some(("status", Var::Status)),
                "body_bytes_sent" => Some(("bytes", Var::BodyBytes)),
                "bytes_sent" if !has("body_bytes_sent") => Some(("bytes", Var::BodyBytes)),
                "http_referer" => Some(("referer", Var::Referer)),
                "http_user_agent" => Some(("user_agent", Var::UserAgent)),
                "request_time" => Some(("request_time", Var::RequestTime)),
                "request_method" | "request_uri" | "uri" | "args" | "query_string"
                | "server_protocol" => Some(("", Var::Ignore)),
                _ => None,
            };
            let var = match canonical {
                Some((column, var)) => {
                    if var == Var::Ignore || filled.contains(&column) {
                        Var::Ignore
                    } else {
                        filled.push(column);
                        has_time |= column == "ts";
                        var
                    }
                }
                None => {
                    let mut name = text.clone();
                    if CANONICAL_COLUMNS.iter().any(|&(c, _)| c == name) {
                        name = format!("nginx_{name}");
                    }
                    if extra_fields.iter().any(|f| f.name == name) {
                        Var::Ignore
                    } else {
                        let k = extra_fields.len();
                        let (t, var) = match text.as_str() {
                            "request_length"
                            | "bytes_sent"
                            | "connection"
                            | "connection_requests"
                            | "remote_port"
                            | "server_port" => (DataType::BigInt, Var::Int(k)),
                            "upstream_response_time"
                            | "upstream_connect_time"
                            | "upstream_header_time" => (DataType::Double, Var::Float(k)),
                            _ => (DataType::Varchar, Var::Text(k)),
                        };
                        extra_fields.push(Field::new(name, t));
                        var
                    }
                }
            };
            items.push(Item::Var(var, text.clone()));
        }
        if !has_time {
            return Err(Error::InvalidInput(
                "log_format needs $time_local, $time_iso8601 or $msec for the ts column".into(),
            ));
        }
        let extras = extra_fields.len();
        let schema = log_schema(extra_fields);
        let uid = UidRule::resolve(&options.uid_from, &schema)?;
        Ok(NginxParser {
            schema,
            items,
            extras,
            uid,
        })
    }
}

impl LogParser for NginxParser {
    fn schema(&self) -> &TableSchema {
        &self.schema
    }

    fn parse_chunk(
        &mut self,
        chunk: &[u8],
        first_line: u64,
        out: &mut BatchBuilder,
        rejects: &mut Vec<Reject>,
    ) -> u64 {
        // One buffer per chunk for the format-specific values of a line.
        let mut extras: Vec<Val<'_>> = Vec::with_capacity(self.extras);
        let this = &*self;
        for_each_line(chunk, first_line, rejects, |line| {
            this.parse_line(line, &mut extras, out)
        })
    }
}

/// A converted value of a format-specific column.
#[derive(Clone, Copy, Debug)]
enum Val<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
}

/// `$msec`: seconds since the epoch with a fraction, to microseconds without
/// floating-point rounding.
fn parse_msec(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs = lex::parse_u63(secs.as_bytes())?;
    if !frac.bytes().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + frac.as_bytes().get(i).map_or(0, |c| (c - b'0') as i64);
    }
    secs.checked_mul(MICROS_PER_SECOND)?.checked_add(micros)
}

/// A single duration or a list of them (`0.010, 0.002 : 0.003`), summed.
fn parse_duration_list(name: &str, s: &str) -> Result<Option<f64>, String> {
    if s == "-" {
        return Ok(None);
    }
    let mut total = 0.0;
    let mut any = false;
    for part in s.split([',', ':']).map(str::trim) {
        if part == "-" {
            continue;
        }
        total += lex::parse_f64(part)
            .ok_or_else(|| format!("{name} '{}' is not a number", lex::snippet(s)))?;
        any = true;
    }
    Ok(any.then_some(total))
}

/// Finds `finder`'s literal in `hay`, skipping matches that start with a `"` escaped by
/// a backslash.
fn find_literal(hay: &str, lit: &str, finder: &Finder<'_>) -> Option<usize> {
    let b = hay.as_bytes();
    let mut from = 0;
    loop {
        let at = from + finder.find(&b[from..])?;
        let mut slashes = 0;
        while lit.starts_with('"') && at > slashes && b[at - slashes - 1] == b'\\' {
            slashes += 1;
        }
        if slashes % 2 == 0 {
            return Some(at);
        }
        from = at + 1;
    }
}

impl NginxParser {
    fn parse_line<'a>(
        &self,
        line: &'a str,
        extras: &mut Vec<Val<'a>>,
        out: &mut BatchBuilder,
    ) -> Result<(), String> {
        extras.clear();
        extras.resize(self.extras, Val::Null);
        let mut c = Canon::default();
        let mut p = 0usize;
        let mut cut_short = false;
        for (k, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(_, _) if cut_short => {}
                Item::Literal(lit, _) => {
                    if !line[p..].starts_with(lit.as_str()) {
                        return Err(if p >= line.len() {
                            format!("line ends before '{}'", lex::snippet(lit))
                        } else {
                            format!(
                                "expected '{}' at byte {p}, found '{}'",
                                lex::snippet(lit),
                                lex::snippet(&line[p..])
                            )
                        });
                    }
                    p += lit.len();
                }
                Item::Var(var, name) => {
                    let end = match self.items.get(k + 1) {
                        Some(Item::Literal(lit, finder)) => {
                            match find_literal(&line[p..], lit, finder) {
                                Some(at) => p + at,
                                // A line cut short inside the format's last quoted
                                // field keeps the text up to its end (as combined does).
                                None if k + 2 == self.items.len() && lit.as_str() == "\"" => {
                                    cut_short = true;
                                    line.len()
                                }
                                None => {
                                    return Err(format!(
                                        "expected '{}' after ${name}",
                                        lex::snippet(lit)
                                    ))
                                }
                            }
                        }
                        _ => line.len(),
                    };
                    let v = &line[p..end];
                    p = end;
                    self.convert(*var, name, v, &mut c, extras)?;
                }
            }
        }
        if p < line.len() {
            return Err(format!(
                "unexpected text after the last field: '{}'",
                lex::snippet(&line[p..])
            ));
        }
        c.push_row(out, &self.uid, |col| {
            match extras.get(col - super::col::EXTRA) {
                Some(Val::Str(s)) => Some(*s),
                _ => None,
            }
        });
        for (k, v) in extras.iter().enumerate() {
            let col = super::col::EXTRA + k;
            match *v {
                Val::Null => out.push_null(col),
                Val::Str(s) => push_opt_str(out, col, Some(s)),
                Val::Int(x) => push_opt_i64(out, col, Some(x)),
                Val::Float(x) => push_opt_f64(out, col, Some(x)),
            }
        }
        Ok(())
    }

    #[inline]
    fn convert<'a>(
        &self,
        var: Var,
        name: &str,
        v: &'a str,
        c: &mut Canon<'a>,
        extras: &mut [Val<'a>],
    ) -> Result<(), String> {
        let bad_time = || format!("bad timestamp '{}'", lex::snippet(v));
        match var {
            Var::RemoteAddr => {
                if v != "-" {
                    c.client_ip = Some(
                        lex::parse_ip(v)
                            .ok_or_else(|| format!("bad client address '{}'", lex::snippet(v)))?,
                    );
                }
            }
            Var::RemoteUser => c.remote_user = lex::dash_null(v),
            Var::TimeLocal => c.ts = lex::parse_clf_time(v).ok_or_else(bad_time)?,
            Var::TimeIso => c.ts = parse_timestamp(v).ok_or_else(bad_time)?,
            Var::Msec => c.ts = parse_msec(v).ok_or_else(bad_time)?,
            Var::Request => c.set_request(v),
            Var::Method => c.method = lex::dash_null(v),
            Var::RequestUri => {
                if let Some(u) = lex::dash_null(v) {
                    c.set_url(u);
                }
            }
            Var::Uri => c.uri = lex::dash_null(v),
            Var::Args => c.query = lex::dash_null(v).filter(|q| !q.is_empty()),
            Var::Protocol => c.protocol = lex::dash_null(v),
            Var::Status => c.status = super::parse_status(v)?,
            Var::BodyBytes => c.bytes = super::parse_count("bytes", v)?,
            Var::Referer => c.referer = lex::dash_null(v),
            Var::UserAgent => c.user_agent = lex::dash_null(v),
            Var::RequestTime => c.request_time = super::parse_seconds("request time", v)?,
            Var::Text(k) => extras[k] = lex::dash_null(v).map_or(Val::Null, Val::Str),
            Var::Int(k) => extras[k] = super::parse_count(name, v)?.map_or(Val::Null, Val::Int),
            Var::Float(k) => {
                extras[k] = parse_duration_list(name, v)?.map_or(Val::Null, Val::Float)
            }
            Var::Ignore => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Value;
    use crate::ingest::{parser_for, UidSource};

    const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#;

    fn run(format: &str, uid: UidSource, input: &str) -> (crate::column::Batch, Vec<Reject>) {
        let opts = ParserOptions {
            uid_from: uid,
            log_format: Some(format.into()),
            ..Default::default()
        };
        let mut p = parser_for("nginx", &opts).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        let mut rejects = Vec::new();
        let n = p.parse_chunk(input.as_bytes(), 1, &mut out, &mut rejects);
        let b = out.finish();
        assert_eq!(n as usize, b.num_rows() + rejects.len());
        (b, rejects)
    }

    #[test]
    fn combined_log_format_matches_the_combined_parser() {
        let input = "10.1.2.3 - - [17/May/2015:10:05:03 +0000] \"GET /a?uid=5 HTTP/1.1\" 200 12 \"-\" \"curl/8 \\\"x\\\"\" 0.004\n\
                     10.1.2.3 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 12 \"-\"\n";
        let (b, rejects) = run(COMBINED, UidSource::default(), input);
        assert_eq!(b.num_rows(), 1);
        assert_eq!(rejects[0].reason, "expected '\" \"' after $http_referer");
        let mut p = parser_for("combined", &ParserOptions::default()).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        p.parse_chunk(
            input.lines().next().unwrap().as_bytes(),
            1,
            &mut out,
            &mut Vec::new(),
        );
        let want = out.finish();
        for c in [0, 1, 3, 4, 5, 6, 7, 8, 9, 12, 13] {
            assert_eq!(b.columns[c], want.columns[c], "column {c}");
        }
        // nginx values are stored as written.
        assert_eq!(b.columns[11].value(0), Value::from("curl/8 \\\"x\\\""));
    }

    #[test]
    fn extra_and_typed_variables() {
        let format = r#"$time_iso8601 $remote_addr $remote_port "$request_method $request_uri $server_protocol" $status $bytes_sent $upstream_response_time "$http_x_forwarded_for" $cookie_uid|$uid"#;
        let input = "2024-03-01T10:00:00+01:00 2001:db8::1 5555 \"POST /api/x?y=1 HTTP/2.0\" 201 99 0.010, 0.020 : 0.005 \"1.1.1.1, 2.2.2.2\" abc|u1\n";
        let (b, rejects) = run(format, UidSource::Field("$cookie_uid".into()), input);
        assert_eq!(rejects, vec![]);
        assert_eq!(b.columns.len(), 14 + 5);
        let row: Vec<Value> = b.columns.iter().map(|c| c.value(0)).collect();
        assert_eq!(
            row[0],
            Value::Int(parse_timestamp("2024-03-01T09:00:00Z").unwrap())
        );
        assert_eq!(row[1], Value::Ip(crate::ip::parse("2001:db8::1").unwrap()));
        assert_eq!(row[3], Value::from("POST"));
        assert_eq!(row[5], Value::from("/api/x"));
        assert_eq!(row[6], Value::from("y=1"));
        assert_eq!(row[7], Value::from("HTTP/2.0"));
        assert_eq!(row[9], Value::Int(99));
        assert_eq!(row[13], Value::from("abc"));
        assert_eq!(row[14], Value::Int(5555));
        match row[15] {
            Value::Float(f) => assert!((f - 0.035).abs() < 1e-9),
            ref v => panic!("{v:?}"),
        }
        assert_eq!(row[16], Value::from("1.1.1.1, 2.2.2.2"));
        assert_eq!(row[17], Value::from("abc"));
        assert_eq!(row[18], Value::from("u1"));
    }

    #[test]
    fn schema_names_and_errors() {
        let opts = |f: &str| ParserOptions {
            uid_from: UidSource::default(),
            log_format: Some(f.into()),
            ..Default::default()
        };
        let p = parser_for("nginx", &opts("$msec $uid ${host}x")).unwrap();
        let names: Vec<&str> = p.schema().fields[14..]
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["nginx_uid", "host"]);
        assert!(parser_for("nginx", &opts("$remote_addr $status")).is_err());
        assert!(parser_for("nginx", &opts("$msec$status")).is_err());
        assert!(parser_for("nginx", &ParserOptions::default()).is_err());
        assert_eq!(parse_msec("1431857103.123"), Some(1_431_857_103_123_000));
    }
}
