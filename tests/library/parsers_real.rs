//! The log parsers on real server logs (exact stored/rejected counts and spot checks of
//! values), on malformed input, and on arbitrary bytes (proptest).

use std::path::PathBuf;

use logdb::column::{Batch, Value};
use logdb::ingest::{
    generate, parser_for, GenOptions, LogParser, ParserOptions, Profile, Reject, FORMATS,
};
use logdb::time::parse_timestamp;
use logdb::BatchBuilder;
use proptest::prelude::*;

fn real(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/real")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// The formats that need no sample: csv and tsv need one (for their header) and are
/// tested in `parsers_jsonl_csv.rs`.
fn line_formats() -> impl Iterator<Item = &'static str> {
    FORMATS
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "csv" | "tsv"))
}

fn parser(format: &str) -> Box<dyn LogParser> {
    let options = ParserOptions {
        log_format: (format == "nginx").then(|| NGINX_COMBINED.to_string()),
        ..Default::default()
    };
    parser_for(format, &options).unwrap()
}

/// Parses `input` in chunks of `lines_per_chunk` lines, checking the accounting
/// invariant and that the result is a valid batch of the parser's schema.
fn parse_chunked(
    p: &mut dyn LogParser,
    input: &[u8],
    lines_per_chunk: usize,
) -> (Batch, Vec<Reject>, u64) {
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    let mut seen = 0u64;
    let mut rest = input;
    while !rest.is_empty() {
        let mut cut = 0;
        for _ in 0..lines_per_chunk {
            match rest[cut..].iter().position(|&b| b == b'\n') {
                Some(i) => cut += i + 1,
                None => {
                    cut = rest.len();
                    break;
                }
            }
        }
        seen += p.parse_chunk(&rest[..cut], seen + 1, &mut out, &mut rejects);
        assert_eq!(seen as usize, out.len() + rejects.len());
        rest = &rest[cut..];
    }
    let batch = out.finish();
    let batch = Batch::new(p.schema(), batch.columns).expect("a valid batch");
    (batch, rejects, seen)
}

fn parse_all(format: &str, input: &[u8]) -> (Batch, Vec<Reject>, u64) {
    parse_chunked(&mut *parser(format), input, usize::MAX)
}

/// The value of column `name` in row `row`.
fn get(p: &dyn LogParser, b: &Batch, row: usize, name: &str) -> Value {
    b.columns[p.schema().column(name).unwrap()].value(row)
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn ts(v: &str) -> Value {
    Value::Int(parse_timestamp(v).unwrap())
}

fn ip(v: &str) -> Value {
    Value::Ip(logdb::ip::parse(v).unwrap())
}

fn count(p: &dyn LogParser, b: &Batch, name: &str, pred: impl Fn(&Value) -> bool) -> usize {
    let c = &b.columns[p.schema().column(name).unwrap()];
    (0..c.len()).filter(|&i| pred(&c.value(i))).count()
}

#[test]
fn apache_combined_2015() {
    let input = real("apache_combined_2015.log");
    let p = parser("combined");
    for chunk_lines in [usize::MAX, 1000, 7] {
        let (b, rejects, seen) = parse_chunked(&mut *parser("combined"), &input, chunk_lines);
        assert_eq!(seen, 10_000);
        assert_eq!(b.num_rows(), 10_000, "every line of the real log is stored");
        assert!(rejects.is_empty(), "{rejects:?}");
    }
    let (b, _, _) = parse_all("combined", &input);
    let p = &*p;
    // Line 8899 ends inside its user agent (cut short in the original log): the text up
    // to the end of the line is kept.
    assert_eq!(
        get(p, &b, 8898, "user_agent"),
        s("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html")
    );
    assert_eq!(get(p, &b, 8898, "status"), Value::Int(200));
    // Line 1.
    assert_eq!(get(p, &b, 0, "ts"), ts("2015-05-17T10:05:03Z"));
    assert_eq!(get(p, &b, 0, "client_ip"), ip("83.149.9.216"));
    assert_eq!(get(p, &b, 0, "remote_user"), Value::Null);
    assert_eq!(get(p, &b, 0, "method"), s("GET"));
    assert_eq!(
        get(p, &b, 0, "uri"),
        s("/presentations/logstash-monitorama-2013/images/kibana-search.png")
    );
    assert_eq!(get(p, &b, 0, "query"), Value::Null);
    assert_eq!(get(p, &b, 0, "protocol"), s("HTTP/1.1"));
    assert_eq!(get(p, &b, 0, "status"), Value::Int(200));
    assert_eq!(get(p, &b, 0, "bytes"), Value::Int(203023));
    assert_eq!(
        get(p, &b, 0, "referer"),
        s("http://semicomplete.com/presentations/logstash-monitorama-2013/")
    );
    assert_eq!(get(p, &b, 0, "request_time"), Value::Null);
    assert_eq!(get(p, &b, 0, "uid"), Value::Null);
    // Line 32: a query string.
    assert_eq!(get(p, &b, 31, "url"), s("/blog/tags/puppet?flav=rss20"));
    assert_eq!(get(p, &b, 31, "uri"), s("/blog/tags/puppet"));
    assert_eq!(get(p, &b, 31, "query"), s("flav=rss20"));
    assert_eq!(
        get(p, &b, 31, "user_agent"),
        s("Tiny Tiny RSS/1.11 (http://tt-rss.org/)")
    );
    // Line 5649: a POST with "-" as user agent.
    assert_eq!(get(p, &b, 5648, "method"), s("POST"));
    assert_eq!(get(p, &b, 5648, "user_agent"), Value::Null);
    assert_eq!(get(p, &b, 5648, "status"), Value::Int(404));
    // Line 5851: Apache's \xHH escapes are kept as written.
    assert_eq!(
        get(p, &b, 5850, "referer"),
        s(r"http://\xe4\xe5\xe3\xf2\xff\xf0\xed\xee\xe5-\xec\xfb\xeb\xee.\xf0\xf4/")
    );
    // Whole-file counts, cross-checked with awk.
    assert_eq!(count(p, &b, "query", |v| *v != Value::Null), 1259);
    assert_eq!(count(p, &b, "method", |v| *v == s("HEAD")), 42);
    assert_eq!(count(p, &b, "bytes", |v| *v == Value::Null), 669);
    assert_eq!(count(p, &b, "status", |v| *v == Value::Int(200)), 9126);
    assert_eq!(count(p, &b, "status", |v| *v == Value::Int(404)), 213);
    assert_eq!(count(p, &b, "referer", |v| *v == Value::Null), 4073);
    assert_eq!(count(p, &b, "user_agent", |v| *v == Value::Null), 190);
    assert_eq!(count(p, &b, "uid", |v| *v != Value::Null), 0);
    assert_eq!(count(p, &b, "protocol", |v| *v == Value::Null), 0);
}

#[test]
fn apache_combined_2015_through_nginx_log_format() {
    let input = real("apache_combined_2015.log");
    let (a, ra, _) = parse_all("combined", &input);
    let (b, rb, _) = parse_all("nginx", &input);
    assert_eq!(b.num_rows(), 10_000);
    assert!(ra.is_empty() && rb.is_empty(), "{ra:?} {rb:?}");
    assert_eq!(a.columns[..14], b.columns[..14]);
}

#[test]
fn apache_common_rejects_combined_lines() {
    let input = real("apache_combined_2015.log");
    let (b, rejects, seen) = parse_all("common", &input);
    assert_eq!((seen, b.num_rows(), rejects.len()), (10_000, 0, 10_000));
    assert_eq!(
        rejects[0].reason,
        "unexpected text after the bytes: '\"http://semicomplete.com/presentations/logstash-monitorama-2...'"
    );
}

#[test]
fn elb_classic_samples() {
    let input = real("elb_classic_samples.log");
    let (b, rejects, seen) = parse_all("elb", &input);
    assert_eq!((seen, b.num_rows()), (7, 7));
    assert_eq!(rejects, vec![]);
    let p = &*parser("elb");
    assert_eq!(get(p, &b, 0, "ts"), ts("2019-10-14T12:00:20.694172Z"));
    assert_eq!(get(p, &b, 0, "elb"), s("filebeat-aws-elb-test"));
    assert_eq!(get(p, &b, 0, "client_ip"), ip("175.16.199.1"));
    assert_eq!(get(p, &b, 0, "client_port"), Value::Int(54106));
    assert_eq!(get(p, &b, 0, "backend_ip"), ip("10.0.1.185"));
    assert_eq!(get(p, &b, 0, "backend_port"), Value::Int(80));
    assert_eq!(
        get(p, &b, 0, "request_processing_time"),
        Value::Float(0.000043)
    );
    assert_eq!(
        get(p, &b, 0, "backend_processing_time"),
        Value::Float(0.000785)
    );
    assert_eq!(
        get(p, &b, 0, "response_processing_time"),
        Value::Float(0.000023)
    );
    match get(p, &b, 0, "request_time") {
        Value::Float(t) => assert!((t - 0.000851).abs() < 1e-12, "{t}"),
        v => panic!("{v:?}"),
    }
    assert_eq!(get(p, &b, 0, "status"), Value::Int(200));
    assert_eq!(get(p, &b, 0, "backend_status"), Value::Int(200));
    assert_eq!(get(p, &b, 0, "received_bytes"), Value::Int(0));
    assert_eq!(get(p, &b, 0, "bytes"), Value::Int(612));
    assert_eq!(get(p, &b, 0, "url"), s("http://18.194.223.56:80/"));
    assert_eq!(get(p, &b, 0, "uri"), s("/"));
    assert_eq!(get(p, &b, 0, "protocol"), s("HTTP/1.1"));
    assert_eq!(get(p, &b, 0, "ssl_cipher"), Value::Null);
    assert_eq!(get(p, &b, 2, "user_agent"), s("curl/7.58.0"));
    // Line 7: the backend never answered.
    assert_eq!(get(p, &b, 6, "ts"), ts("2015-05-13T23:39:43.945958Z"));
    assert_eq!(get(p, &b, 6, "backend_ip"), Value::Null);
    assert_eq!(get(p, &b, 6, "backend_port"), Value::Null);
    assert_eq!(get(p, &b, 6, "request_processing_time"), Value::Null);
    assert_eq!(get(p, &b, 6, "backend_processing_time"), Value::Null);
    assert_eq!(get(p, &b, 6, "response_processing_time"), Value::Null);
    assert_eq!(get(p, &b, 6, "request_time"), Value::Null);
    assert_eq!(get(p, &b, 6, "status"), Value::Int(503));
    assert_eq!(get(p, &b, 6, "backend_status"), Value::Null);
}

#[test]
fn alb_samples() {
    let input = real("alb_samples.log");
    let (b, rejects, seen) = parse_all("alb", &input);
    assert_eq!((seen, b.num_rows()), (4, 4));
    assert_eq!(rejects, vec![]);
    let p = &*parser("alb");
    assert_eq!(get(p, &b, 0, "type"), s("http"));
    assert_eq!(get(p, &b, 0, "ts"), ts("2019-10-11T15:01:12.376735Z"));
    assert_eq!(
        get(p, &b, 0, "elb"),
        s("app/filebeat-aws-elb-test/c86a326e7dc14222")
    );
    assert_eq!(get(p, &b, 0, "client_ip"), ip("77.227.156.41"));
    assert_eq!(get(p, &b, 0, "client_port"), Value::Int(56398));
    assert_eq!(get(p, &b, 0, "backend_ip"), ip("10.0.0.192"));
    assert_eq!(get(p, &b, 0, "request_processing_time"), Value::Null);
    assert_eq!(get(p, &b, 0, "request_time"), Value::Null);
    assert_eq!(get(p, &b, 0, "status"), Value::Int(460));
    assert_eq!(get(p, &b, 0, "backend_status"), Value::Null);
    assert_eq!(get(p, &b, 0, "received_bytes"), Value::Int(125));
    assert_eq!(get(p, &b, 0, "bytes"), Value::Int(0));
    assert_eq!(get(p, &b, 1, "bytes"), Value::Int(308));
    assert_eq!(get(p, &b, 0, "uri"), s("/"));
    assert_eq!(
        get(p, &b, 0, "target_group_arn"),
        s("arn:aws:elasticloadbalancing:eu-central-1:627959692251:targetgroup/test-lb-instances/8f04c4fe71f5f794")
    );
    assert_eq!(
        get(p, &b, 0, "trace_id"),
        s("Root=1-5da09932-2c342a443bfb96249aa50ed7")
    );
    assert_eq!(get(p, &b, 0, "domain_name"), Value::Null);
    assert_eq!(get(p, &b, 0, "chosen_cert_arn"), Value::Null);
    assert_eq!(get(p, &b, 0, "matched_rule_priority"), Value::Int(0));
    assert_eq!(
        get(p, &b, 0, "request_creation_time"),
        ts("2019-10-11T15:01:06.657Z")
    );
    assert_eq!(get(p, &b, 0, "actions_executed"), s("forward"));
    assert_eq!(get(p, &b, 0, "redirect_url"), Value::Null);
    assert_eq!(get(p, &b, 0, "error_reason"), Value::Null);
    assert_eq!(get(p, &b, 0, "classification"), Value::Null);
    assert_eq!(
        get(p, &b, 2, "request_processing_time"),
        Value::Float(0.001)
    );
    assert_eq!(get(p, &b, 2, "request_time"), Value::Float(0.001));
    assert_eq!(get(p, &b, 3, "request_time"), Value::Float(0.002));
}

#[test]
fn aws_ipv6_quotes_and_later_fields() {
    let elb = r#"2015-05-13T23:39:43.945958Z lb [2001:db8::5]:2817 2001:db8::9:80 0.1 0.2 0.3 200 200 0 29 "GET https://h:443/p?uid=a%20b HTTP/1.1" "UA \"x\"" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2"#;
    let (b, rejects, _) = parse_all("elb", elb.as_bytes());
    assert_eq!(rejects, vec![]);
    let p = &*parser("elb");
    assert_eq!(get(p, &b, 0, "client_ip"), ip("2001:db8::5"));
    assert_eq!(get(p, &b, 0, "backend_ip"), ip("2001:db8::9"));
    assert_eq!(get(p, &b, 0, "user_agent"), s("UA \"x\""));
    assert_eq!(get(p, &b, 0, "uid"), s("a b"));
    assert_eq!(get(p, &b, 0, "ssl_protocol"), s("TLSv1.2"));
    // An ALB line with every documented field and two AWS may add later.
    let alb = r#"h2 2024-01-01T00:00:00.000001Z app/x/1 1.2.3.4:5 - 0.001 -1 -1 502 - 1 2 "- - - " "-" - - - "Root=1" "d.example" "-" 3 2024-01-01T00:00:00Z "waf,forward" "-" "Target.ResponseCodeMismatch" "10.0.0.1:80" "502" "Ambiguous" "UndefinedContentLengthSemantics" TID_1 "new1" new2"#;
    let (b, rejects, _) = parse_all("alb", alb.as_bytes());
    assert_eq!(rejects, vec![]);
    let p = &*parser("alb");
    assert_eq!(get(p, &b, 0, "method"), Value::Null);
    assert_eq!(get(p, &b, 0, "url"), Value::Null);
    assert_eq!(get(p, &b, 0, "backend_ip"), Value::Null);
    assert_eq!(
        get(p, &b, 0, "request_processing_time"),
        Value::Float(0.001)
    );
    assert_eq!(get(p, &b, 0, "request_time"), Value::Null);
    assert_eq!(get(p, &b, 0, "matched_rule_priority"), Value::Int(3));
    assert_eq!(
        get(p, &b, 0, "error_reason"),
        s("Target.ResponseCodeMismatch")
    );
    assert_eq!(get(p, &b, 0, "target_port_list"), s("10.0.0.1:80"));
    assert_eq!(
        get(p, &b, 0, "classification_reason"),
        s("UndefinedContentLengthSemantics")
    );
    assert_eq!(get(p, &b, 0, "conn_trace_id"), s("TID_1"));
    let (_, rejects, _) = parse_all("alb", b"http 2024-01-01T00:00:00Z app/x/1 1.2.3.4:5");
    assert_eq!(rejects[0].reason, "expected at least 13 fields, found 4");
}

#[test]
fn user_agent_with_escaped_quotes() {
    let line = br#"::1 - - [01/Jan/2024:00:00:00 -0500] "GET /x HTTP/1.1" 200 1 "-" "Mozilla/5.0 \"Quoted\" \\ end" 0.001"#;
    let (b, rejects, _) = parse_all("combined", line);
    assert_eq!(rejects, vec![]);
    let p = &*parser("combined");
    assert_eq!(
        get(p, &b, 0, "user_agent"),
        s(r#"Mozilla/5.0 "Quoted" \ end"#)
    );
    assert_eq!(get(p, &b, 0, "client_ip"), ip("::1"));
    assert_eq!(get(p, &b, 0, "ts"), ts("2024-01-01T05:00:00Z"));
    assert_eq!(get(p, &b, 0, "request_time"), Value::Float(0.001));
}

/// Lines read = rows stored + lines rejected, for every format and many bad inputs.
#[test]
fn malformed_input() {
    let good =
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a?uid=1 HTTP/1.1\" 200 5 \"-\" \"ua\" 0.1";
    let mut huge = good.as_bytes().to_vec();
    huge.extend(std::iter::repeat_n(b'x', 1 << 20));
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..5000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    let cases: Vec<(&str, Vec<u8>, u64, usize)> = vec![
        // (name, input, lines, rows stored by `combined`)
        ("empty input", vec![], 0, 0),
        ("one good line", good.into(), 1, 1),
        ("crlf", format!("{good}\r\n{good}\r\n").into(), 2, 2),
        ("blank lines", format!("\n{good}\n\n\r\n").into(), 4, 1),
        (
            "truncated",
            format!("{good}\n{}\n{}", &good[..30], &good[..70]).into(),
            3,
            1,
        ),
        (
            "bad timestamp",
            good.replace("17/May", "32/May").into(),
            1,
            0,
        ),
        (
            "invalid utf-8",
            [good.as_bytes(), b"\n1.2.3.4 \xff\xfe\n"].concat(),
            2,
            1,
        ),
        (
            "1 MiB line",
            [&huge[..], b"\n", good.as_bytes()].concat(),
            2,
            1,
        ),
        ("binary garbage", garbage.clone(), 0, 0),
    ];
    for format in line_formats() {
        for (name, input, lines, stored) in &cases {
            let (b, rejects, seen) = parse_all(format, input);
            assert_eq!(
                seen as usize,
                b.num_rows() + rejects.len(),
                "{format}: {name}"
            );
            if *name != "binary garbage" {
                assert_eq!(seen, *lines, "{format}: {name}");
            }
            if format == "combined" {
                assert_eq!(b.num_rows(), *stored, "{format}: {name}: {rejects:?}");
            }
        }
    }
    let reason = |input: &[u8]| parse_all("combined", input).1[0].reason.clone();
    assert_eq!(reason(b"\n"), "empty line");
    assert_eq!(reason(b"1.2.3.4 \xff"), "invalid UTF-8 at byte 8");
    assert_eq!(reason(&huge), "line longer than 1 MiB");
    assert_eq!(
        reason(good.replace("17/May", "32/May").as_bytes()),
        "bad timestamp '32/May/2015:10:05:03 +0000'"
    );
    let (_, rejects, _) = parse_all("combined", format!("{good}\n\n{good}\nx\n").as_bytes());
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn schemas_are_valid_log_tables() {
    for format in line_formats() {
        let p = parser(format);
        let schema = p.schema();
        schema.validate().unwrap();
        assert_eq!(schema.time_column.as_deref(), Some("ts"));
        assert_eq!(schema.indexed, ["uid", "uri", "status"]);
        let names: Vec<&str> = schema.fields[..14]
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let want: Vec<&str> = logdb::ingest::CANONICAL_COLUMNS
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(names, want);
    }
}

#[test]
fn unknown_format() {
    let err = parser_for("w3c", &ParserOptions::default()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "unknown log format 'w3c'; known formats: combined, common, nginx, elb, alb, jsonl, csv, tsv"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        for format in line_formats() {
            let (b, rejects, seen) = parse_all(format, &bytes);
            prop_assert_eq!(seen as usize, b.num_rows() + rejects.len());
        }
    }

    #[test]
    fn parsers_never_panic_on_mutated_lines(
        line in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let samples = [
            r#"1.2.3.4 - u [17/May/2015:10:05:03 +0000] "GET /a?uid=1 HTTP/1.1" 200 5 "-" "ua \"q\"" 0.1"#,
            r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 - -1 -1 -1 503 - 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#,
            r#"http 2019-10-11T15:01:12.376735Z app/x/c 77.227.156.41:56398 10.0.0.192:80 -1 -1 -1 460 - 125 0 "GET http://h:80/ HTTP/1.1" "curl/7.58.0" - - arn "Root=1" "-" "-" 0 2019-10-11T15:01:06.657000Z "forward" "-" "-""#,
        ];
        let mut bytes = samples[line].as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let lines = bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n"));
        for format in line_formats() {
            let (b, rejects, seen) = parse_all(format, &bytes);
            prop_assert_eq!(seen as usize, lines);
            prop_assert_eq!(lines, b.num_rows() + rejects.len());
        }
    }

    #[test]
    fn generated_lines_always_parse(seed in any::<u64>(), users in 1u32..500, uris in 1u32..300, days in 1u32..4) {
        // Both profiles; `users` and `uris` shape the simple one.
        let profile = if seed % 2 == 0 { Profile::Simple } else { Profile::Realistic };
        let opts = GenOptions { profile, seed, lines: 2000, days, users, uris, ..Default::default() };
        let mut data = Vec::new();
        let stats = generate(&opts, &mut data).unwrap();
        prop_assert_eq!(stats.bytes as usize, data.len());
        for format in ["combined", "nginx"] {
            let mut p = if format == "nginx" {
                parser_for("nginx", &ParserOptions {
                    log_format: Some(format!("{NGINX_COMBINED} $request_time")),
                    ..Default::default()
                }).unwrap()
            } else {
                parser(format)
            };
            let (b, rejects, seen) = parse_chunked(&mut *p, &data, 333);
            prop_assert_eq!(rejects, vec![]);
            prop_assert_eq!(seen, 2000);
            prop_assert_eq!(b.num_rows(), 2000);
        }
    }
}

#[test]
fn every_real_sample_is_detected() {
    use logdb::ingest::detect::detect;
    for (file, format) in [
        ("apache_combined_2015.log", "combined"),
        ("elb_classic_samples.log", "elb"),
        ("alb_samples.log", "alb"),
    ] {
        let d = detect(&real(file), file).unwrap();
        assert_eq!(d.format, format, "{file}");
        assert!(!d.request_time, "{file}");
        assert_eq!(d.stored, d.lines, "{file}");
    }
    // The same lines with a trailing request time.
    let timed: String = String::from_utf8(real("apache_combined_2015.log"))
        .unwrap()
        .lines()
        .take(50)
        .map(|l| format!("{l} 0.042\n"))
        .collect();
    let d = detect(timed.as_bytes(), "timed").unwrap();
    assert_eq!((d.format, d.request_time), ("combined", true));
}
