//! AWS load-balancer access logs: `elb` (Classic Load Balancer) and `alb`
//! (Application Load Balancer).
//!
//! Fields are separated by single spaces; some are quoted. Columns keep AWS's
//! documented field names in snake_case. The ALB schema is the ELB schema (so one query
//! works on both: `backend_*` hold ALB's `target:port`, `target_processing_time` and
//! `target_status_code`) followed by the ALB-only fields.
//!
//! - `client:port` and `backend:port` are split into an IP and an INTEGER port;
//!   IPv6 addresses may be written bare (`2001:db8::1:443`, the last `:` starts the
//!   port) or bracketed (`[2001:db8::1]:443`). `-` gives NULL address and port.
//! - `-1` in the three processing times (the request never reached a backend, or the
//!   connection closed) is stored as NULL; `request_time` is their sum, NULL when any
//!   is NULL.
//! - `status` is `elb_status_code`, `bytes` is `sent_bytes`.
//! - ELB lines written before AWS added `user_agent`, `ssl_cipher` and
//!   `ssl_protocol` (12 fields) are accepted with those NULL. ALB lines need the
//!   first 13 fields (through the request); later fields are NULL when missing, and
//!   fields AWS may add after `conn_trace_id` are accepted and ignored.

use super::lex::{self, Span};
use super::{for_each_line, log_schema, Canon, LogParser, ParserOptions, Reject, UidRule};
use crate::column::BatchBuilder;
use crate::error::Result;
use crate::schema::{DataType, Field, TableSchema};
use crate::time::parse_timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Elb,
    Alb,
}

/// How a line field becomes a column value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conv {
    Text,
    /// The address of an `ip:port` field.
    HostIp,
    /// The port of an `ip:port` field.
    HostPort,
    /// Seconds, with `-1` as NULL.
    Seconds,
    Status,
    Count,
    Int,
    Timestamp,
}

/// One format-specific column: name, type, field position in the line, conversion.
type ColSpec = (&'static str, DataType, usize, Conv);

/// ELB positions, shifted by one for ALB (whose line starts with `type`).
const ELB_FIELDS: &[ColSpec] = &[
    ("elb", DataType::Varchar, 1, Conv::Text),
    ("client_port", DataType::Integer, 2, Conv::HostPort),
    ("backend_ip", DataType::Ip, 3, Conv::HostIp),
    ("backend_port", DataType::Integer, 3, Conv::HostPort),
    (
        "request_processing_time",
        DataType::Double,
        4,
        Conv::Seconds,
    ),
    (
        "backend_processing_time",
        DataType::Double,
        5,
        Conv::Seconds,
    ),
    (
        "response_processing_time",
        DataType::Double,
        6,
        Conv::Seconds,
    ),
    ("backend_status", DataType::SmallInt, 8, Conv::Status),
    ("received_bytes", DataType::BigInt, 9, Conv::Count),
    ("ssl_cipher", DataType::Varchar, 13, Conv::Text),
    ("ssl_protocol", DataType::Varchar, 14, Conv::Text),
];

/// ALB-only fields, at their ALB positions.
const ALB_FIELDS: &[ColSpec] = &[
    ("type", DataType::Varchar, 0, Conv::Text),
    ("target_group_arn", DataType::Varchar, 16, Conv::Text),
    ("trace_id", DataType::Varchar, 17, Conv::Text),
    ("domain_name", DataType::Varchar, 18, Conv::Text),
    ("chosen_cert_arn", DataType::Varchar, 19, Conv::Text),
    ("matched_rule_priority", DataType::Integer, 20, Conv::Int),
    (
        "request_creation_time",
        DataType::Timestamp,
        21,
        Conv::Timestamp,
    ),
    ("actions_executed", DataType::Varchar, 22, Conv::Text),
    ("redirect_url", DataType::Varchar, 23, Conv::Text),
    ("error_reason", DataType::Varchar, 24, Conv::Text),
    ("target_port_list", DataType::Varchar, 25, Conv::Text),
    ("target_status_code_list", DataType::Varchar, 26, Conv::Text),
    ("classification", DataType::Varchar, 27, Conv::Text),
    ("classification_reason", DataType::Varchar, 28, Conv::Text),
    ("conn_trace_id", DataType::Varchar, 29, Conv::Text),
];

/// Fields read from a line; later ones are counted but not kept.
const MAX_FIELDS: usize = 32;
/// Fields an ELB or ALB line must have (through the request).
const ELB_MIN_FIELDS: usize = 12;
const ALB_MIN_FIELDS: usize = 13;

/// A converted value of a format-specific column.
#[derive(Clone, Copy, Debug, Default)]
enum Val<'a> {
    #[default]
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Ip(u128),
}

pub(crate) struct AwsParser {
    schema: TableSchema,
    kind: Kind,
    /// Format-specific columns with line positions for this kind.
    cols: Vec<ColSpec>,
    uid: UidRule,
    scratch: Vec<u8>,
}

impl AwsParser {
    pub(crate) fn new(kind: Kind, options: &ParserOptions) -> Result<AwsParser> {
        let shift = usize::from(kind == Kind::Alb);
        let mut cols: Vec<ColSpec> = ELB_FIELDS
            .iter()
            .map(|&(n, t, i, c)| (n, t, i + shift, c))
            .collect();
        if kind == Kind::Alb {
            cols.extend_from_slice(ALB_FIELDS);
        }
        let schema = log_schema(cols.iter().map(|&(n, t, _, _)| Field::new(n, t)).collect());
        let uid = UidRule::resolve(&options.uid_from, &schema)?;
        Ok(AwsParser {
            schema,
            kind,
            cols,
            uid,
            scratch: Vec::new(),
        })
    }
}

impl LogParser for AwsParser {
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
        let AwsParser {
            kind,
            cols,
            uid,
            scratch,
            ..
        } = self;
        let request = super::request_needed(out, uid);
        for_each_line(chunk, first_line, rejects, |line| {
            parse_line(line, *kind, cols, uid, request, scratch, out)
        })
    }
}

/// Splits a line into fields (quoted ones without their quotes). Returns the number
/// of fields, which may exceed `MAX_FIELDS`.
fn split_fields(line: &str, spans: &mut [Span; MAX_FIELDS]) -> Result<usize, String> {
    let b = line.as_bytes();
    let mut p = 0;
    let mut n = 0;
    while p < b.len() {
        let span = if b[p] == b'"' {
            let (close, escaped) = lex::find_quote_end(b, p)
                .ok_or_else(|| format!("unterminated quote in field {}", n + 1))?;
            let s = Span {
                start: p + 1,
                end: close,
                escaped,
            };
            p = close + 1;
            s
        } else {
            let end = memchr::memchr(b' ', &b[p..]).map_or(b.len(), |i| p + i);
            let s = Span {
                start: p,
                end,
                escaped: false,
            };
            p = end;
            s
        };
        if n < MAX_FIELDS {
            spans[n] = span;
        }
        n += 1;
        if p < b.len() {
            // Fields are separated by exactly one space.
            p += 1;
        }
    }
    Ok(n)
}

fn host_port(s: &str) -> Result<(Option<u128>, Option<i64>), String> {
    if s == "-" {
        return Ok((None, None));
    }
    let bad = || format!("bad address '{}'", lex::snippet(s));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']').ok_or_else(bad)?;
        (&rest[..close], rest[close + 1..].strip_prefix(':'))
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let ip = match lex::parse_ip(host) {
        Some(ip) => ip,
        // A bare IPv6 address without a port.
        None => return lex::parse_ip(s).map(|ip| (Some(ip), None)).ok_or_else(bad),
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            lex::parse_u63(p.as_bytes())
                .filter(|&v| v <= 65_535)
                .ok_or_else(|| format!("bad port in '{}'", lex::snippet(s)))?,
        ),
    };
    Ok((Some(ip), port))
}

fn seconds(name: &str, s: &str) -> Result<Option<f64>, String> {
    Ok(super::parse_seconds(name, s)?.filter(|&v| v != -1.0))
}

fn convert<'a>(name: &str, conv: Conv, s: &'a str) -> Result<Val<'a>, String> {
    let opt_int = |v: Option<i64>| v.map_or(Val::Null, Val::Int);
    Ok(match conv {
        Conv::Text => lex::dash_null(s).map_or(Val::Null, Val::Str),
        Conv::HostIp => host_port(s)?.0.map_or(Val::Null, Val::Ip),
        Conv::HostPort => opt_int(host_port(s)?.1),
        Conv::Seconds => seconds(name, s)?.map_or(Val::Null, Val::Float),
        Conv::Status => opt_int(super::parse_status(s)?),
        Conv::Count => opt_int(super::parse_count(name, s)?),
        Conv::Int => {
            if s == "-" {
                Val::Null
            } else {
                let v = s
                    .parse::<i32>()
                    .map_err(|_| format!("{name} '{}' is not a number", lex::snippet(s)))?;
                Val::Int(v as i64)
            }
        }
        Conv::Timestamp => {
            if s == "-" {
                Val::Null
            } else {
                Val::Int(
                    parse_timestamp(s)
                        .ok_or_else(|| format!("bad {name} '{}'", lex::snippet(s)))?,
                )
            }
        }
    })
}

fn parse_line(
    line: &str,
    kind: Kind,
    cols: &[ColSpec],
    uid_rule: &UidRule,
    request_needed: bool,
    scratch: &mut Vec<u8>,
    out: &mut BatchBuilder,
) -> Result<(), String> {
    let line = line.trim_end_matches([' ', '\t']);
    let mut spans = [Span::default(); MAX_FIELDS];
    let n = split_fields(line, &mut spans)?;
    let (shift, min) = match kind {
        Kind::Elb => (0, ELB_MIN_FIELDS),
        Kind::Alb => (1, ALB_MIN_FIELDS),
    };
    if n < min {
        return Err(format!("expected at least {min} fields, found {n}"));
    }
    let n = n.min(MAX_FIELDS);
    let used_scratch = lex::unescape_spans(line, &mut spans[..n], scratch);
    let scratch: &str = if used_scratch {
        std::str::from_utf8(scratch).map_err(|_| "invalid escape sequence".to_string())?
    } else {
        ""
    };
    let field = |i: usize| (i < n).then(|| lex::span_text(line, scratch, spans[i]));

    let mut c = Canon::default();
    let time = field(shift).unwrap_or_default();
    c.ts =
        parse_timestamp(time).ok_or_else(|| format!("bad timestamp '{}'", lex::snippet(time)))?;
    c.client_ip = host_port(field(shift + 2).unwrap_or_default())?.0;
    c.status = super::parse_status(field(shift + 7).unwrap_or_default())?;
    c.bytes = super::parse_count("sent_bytes", field(shift + 10).unwrap_or_default())?;
    if request_needed {
        c.set_request(field(shift + 11).unwrap_or_default());
    }
    c.user_agent = field(shift + 12).and_then(lex::dash_null);

    let mut vals = [Val::Null; ALB_FIELDS.len() + ELB_FIELDS.len()];
    for (v, &(name, _, i, conv)) in vals.iter_mut().zip(cols) {
        if let Some(s) = field(i) {
            *v = convert(name, conv, s)?;
        }
    }
    // request_processing_time, backend_processing_time, response_processing_time.
    c.request_time = match vals[4..7] {
        [Val::Float(a), Val::Float(b), Val::Float(d)] => Some(a + b + d),
        _ => None,
    };

    c.push_row(out, uid_rule, |col| match vals[col - super::col::EXTRA] {
        Val::Str(s) => Some(s),
        _ => None,
    });
    for (k, v) in vals[..cols.len()].iter().enumerate() {
        let col = super::col::EXTRA + k;
        match *v {
            Val::Null => out.push_null(col),
            Val::Str(s) => out.push_str(col, s),
            Val::Int(x) => out.push_i64(col, x),
            Val::Float(x) => out.push_f64(col, x),
            Val::Ip(x) => out.push_ip(col, x),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        let v4 = crate::ip::parse("10.0.0.1");
        let v6 = crate::ip::parse("2001:db8::1");
        assert_eq!(host_port("10.0.0.1:80"), Ok((v4, Some(80))));
        assert_eq!(host_port("2001:db8::1:443"), Ok((v6, Some(443))));
        assert_eq!(host_port("[2001:db8::1]:443"), Ok((v6, Some(443))));
        assert_eq!(host_port("-"), Ok((None, None)));
        assert!(host_port("10.0.0.1:99999").is_err());
        assert!(host_port("nope:1").is_err());
    }

    #[test]
    fn fields() {
        let mut spans = [Span::default(); MAX_FIELDS];
        let line = r#"a "b c" "" d"#;
        assert_eq!(split_fields(line, &mut spans), Ok(4));
        assert_eq!(&line[spans[1].start..spans[1].end], "b c");
        assert_eq!(&line[spans[2].start..spans[2].end], "");
        assert_eq!(&line[spans[3].start..spans[3].end], "d");
    }
}
