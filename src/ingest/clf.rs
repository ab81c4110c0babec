//! The `combined` (nginx/Apache combined) and `common` (CLF) formats:
//!
//! ```text
//! common:   host ident user [time] "request" status bytes [request_time]
//! combined: host ident user [time] "request" status bytes "referer" "user_agent" [request_time]
//! ```
//!
//! `request_time` is an optional trailing number of seconds (nginx `$request_time`),
//! detected per line. `ident` is read and dropped. `host` must be an IPv4 or IPv6
//! address (or `-`); logs with resolved host names need the `nginx` format with a
//! `log_format` that maps the host to a text column.

use super::lex::{self, Cursor, Span};
use super::{for_each_line, log_schema, Canon, LogParser, ParserOptions, Reject, UidRule};
use crate::column::BatchBuilder;
use crate::error::Result;
use crate::schema::TableSchema;

pub(crate) struct ClfParser {
    schema: TableSchema,
    combined: bool,
    uid: UidRule,
    /// Unescaped copies of fields that held backslashes (reused across lines).
    scratch: Vec<u8>,
    times: lex::ClfTimes,
}

impl ClfParser {
    pub(crate) fn new(combined: bool, options: &ParserOptions) -> Result<ClfParser> {
        let schema = log_schema(Vec::new());
        let uid = UidRule::resolve(&options.uid_from, &schema)?;
        Ok(ClfParser {
            schema,
            combined,
            uid,
            scratch: Vec::new(),
            times: lex::ClfTimes::default(),
        })
    }
}

impl LogParser for ClfParser {
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
        let ClfParser {
            combined,
            uid,
            scratch,
            times,
            ..
        } = self;
        let request = super::request_needed(out, uid);
        for_each_line(chunk, first_line, rejects, |line| {
            parse_line(line, *combined, request, uid, scratch, times, out)
        })
    }
}

#[inline]
fn parse_line(
    line: &str,
    combined: bool,
    request_needed: bool,
    uid_rule: &UidRule,
    scratch: &mut Vec<u8>,
    times: &mut lex::ClfTimes,
    out: &mut BatchBuilder,
) -> Result<(), String> {
    let line = line.trim_end_matches([' ', '\t']);
    let mut cur = Cursor::new(line);
    let mut c = Canon::default();

    let host = cur.word("client address")?;
    if host != "-" {
        c.client_ip = Some(
            lex::parse_ip(host)
                .ok_or_else(|| format!("bad client address '{}'", lex::snippet(host)))?,
        );
    }
    cur.word("ident")?;
    c.remote_user = lex::dash_null(cur.word("remote user")?);
    let time = cur.bracketed("timestamp")?;
    c.ts = times
        .parse(time)
        .ok_or_else(|| format!("bad timestamp '{}'", lex::snippet(time)))?;
    let request = cur.quoted("request")?;
    c.status = super::parse_status(cur.word("status")?)?;
    c.bytes = super::parse_count("bytes", cur.word("bytes")?)?;
    let (mut referer, mut agent) = (Span::default(), Span::default());
    if combined {
        referer = cur.quoted("referer")?;
        agent = cur.quoted_last("user agent")?;
    }
    if !cur.at_end() {
        let last_field = if combined { "user agent" } else { "bytes" };
        let start = cur.p;
        let t = cur.word("request time")?;
        c.request_time = match super::parse_seconds("request time", t) {
            Ok(v) => v,
            Err(_) => {
                return Err(format!(
                    "unexpected text after the {last_field}: '{}'",
                    lex::snippet(&line[start..])
                ))
            }
        };
        if !cur.at_end() {
            return Err(format!(
                "unexpected text after the request time: '{}'",
                lex::snippet(cur.rest())
            ));
        }
    }

    let mut spans = [request, referer, agent];
    let used_scratch = lex::unescape_spans(line, &mut spans, scratch);
    let [request, referer, agent] = spans;
    let scratch: &str = if used_scratch {
        std::str::from_utf8(scratch).map_err(|_| "invalid escape sequence".to_string())?
    } else {
        ""
    };
    if request_needed {
        c.set_request(lex::span_text(line, scratch, request));
    }
    if combined {
        c.referer = lex::dash_null(lex::span_text(line, scratch, referer));
        c.user_agent = lex::dash_null(lex::span_text(line, scratch, agent));
    }
    c.push_row(out, uid_rule, |_| None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Value;
    use crate::ingest::parser_for;
    use crate::time::parse_timestamp;

    fn parse(format: &str, input: &str) -> (crate::column::Batch, Vec<Reject>, u64) {
        let mut p = parser_for(format, &ParserOptions::default()).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        let mut rejects = Vec::new();
        let n = p.parse_chunk(input.as_bytes(), 1, &mut out, &mut rejects);
        let batch = out.finish();
        assert_eq!(n as usize, batch.num_rows() + rejects.len());
        (batch, rejects, n)
    }

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn combined_line_with_everything() {
        let line = r#"2001:db8::7 - alice [17/May/2015:12:05:03 +0200] "GET /a/b?x=1&uid=u%2042 HTTP/1.1" 404 512 "-" "Bot \"quoted\" 1.0" 0.250"#;
        let (b, rejects, n) = parse("combined", line);
        assert_eq!((n, rejects.len()), (1, 0));
        let row: Vec<Value> = b.columns.iter().map(|c| c.value(0)).collect();
        assert_eq!(
            row,
            vec![
                Value::Int(parse_timestamp("2015-05-17T10:05:03Z").unwrap()),
                Value::Ip(crate::ip::parse("2001:db8::7").unwrap()),
                s("alice"),
                s("GET"),
                s("/a/b?x=1&uid=u%2042"),
                s("/a/b"),
                s("x=1&uid=u%2042"),
                s("HTTP/1.1"),
                Value::Int(404),
                Value::Int(512),
                Value::Null,
                s("Bot \"quoted\" 1.0"),
                Value::Float(0.25),
                s("u 42"),
            ]
        );
    }

    #[test]
    fn common_and_odd_requests() {
        let input = "1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"-\" 400 0\n\
                     1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"GET /x\" 200 - 0.5\n\
                     1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"GET /x HTTP/1.0\" 200 10 junk\n";
        let (b, rejects, n) = parse("common", input);
        assert_eq!(n, 3);
        assert_eq!(b.num_rows(), 2);
        assert_eq!(rejects[0].line, 3);
        assert_eq!(rejects[0].reason, "unexpected text after the bytes: 'junk'");
        assert_eq!(b.columns[3].value(0), Value::Null);
        assert_eq!(b.columns[5].value(0), Value::Null);
        assert_eq!(b.columns[8].value(0), Value::Int(400));
        assert_eq!(b.columns[4].value(1), s("/x"));
        assert_eq!(b.columns[7].value(1), Value::Null);
        assert_eq!(b.columns[9].value(1), Value::Null);
        assert_eq!(b.columns[12].value(1), Value::Float(0.5));
    }

    #[test]
    fn a_line_cut_short_in_the_user_agent_keeps_what_it_has() {
        let line = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (compatible; Bot"#;
        let (b, rejects, _) = parse("combined", line);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(b.columns[11].value(0), s("Mozilla/5.0 (compatible; Bot"));
    }

    #[test]
    fn reject_reasons() {
        let good = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
        let cases = [
            (
                good.replace("17/May", "32/May"),
                "bad timestamp '32/May/2015:10:05:03 +0000'",
            ),
            (good.replace(" 200 ", " 2x0 "), "status '2x0' is not a number"),
            (good.replace(" 5 ", " 5x "), "bytes '5x' is not a number"),
            (good[..40].to_string(), "line ends before the request"),
            (good[..50].to_string(), "unterminated quote in the request"),
            (good[..61].to_string(), "line ends before the bytes"),
            (good.replace("1.2.3.4", "example.com"), "bad client address 'example.com'"),
            (good.replace(" \"ua\"", ""), "line ends before the user agent"),
            (good.replace("[17", "17"), "expected '[' before the timestamp, found '17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"'"),
        ];
        for (line, reason) in cases {
            let (b, rejects, _) = parse("combined", &line);
            assert_eq!(b.num_rows(), 0, "{line}");
            assert_eq!(rejects[0].reason, reason, "{line}");
        }
    }

    #[test]
    fn uid_sources() {
        let line = r#"1.2.3.4 - bob [17/May/2015:10:05:03 +0000] "GET /?uid=7&sid=9 HTTP/1.1" 200 5 "-" "ua""#;
        for (source, want) in [
            (UidSource::QueryParam("sid".into()), s("9")),
            (UidSource::RemoteUser, s("bob")),
            (UidSource::Field("user_agent".into()), s("ua")),
            (UidSource::None, Value::Null),
        ] {
            let opts = ParserOptions {
                uid_from: source,
                ..Default::default()
            };
            let mut p = parser_for("combined", &opts).unwrap();
            let mut out = BatchBuilder::new(p.schema());
            p.parse_chunk(line.as_bytes(), 1, &mut out, &mut Vec::new());
            assert_eq!(out.finish().columns[13].value(0), want);
        }
        let opts = ParserOptions {
            uid_from: UidSource::Field("status".into()),
            ..Default::default()
        };
        assert!(parser_for("combined", &opts).is_err());
    }

    use crate::ingest::UidSource;
}
