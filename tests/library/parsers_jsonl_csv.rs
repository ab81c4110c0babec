//! The `jsonl`, `csv` and `tsv` parsers: round trips of realistic lines, schema
//! inference and widening, the canonical mapping, times, NULLs, quoting, reject
//! reasons, and arbitrary bytes (proptest).

use logdb::column::{Batch, Value};
use logdb::ingest::{parser_for, LogParser, ParserOptions, Reject, TimeColumn, UidSource};
use logdb::time::parse_timestamp;
use logdb::{BatchBuilder, DataType, Field, TableSchema};
use proptest::prelude::*;

fn with_sample(format: &str, sample: &str) -> Box<dyn LogParser> {
    let options = ParserOptions {
        sample: Some(sample.as_bytes().to_vec()),
        ..Default::default()
    };
    parser_for(format, &options).unwrap()
}

/// Parses `input` in one chunk starting at line 1, checking the accounting invariant
/// and that the result is a valid batch of the parser's schema.
fn run(p: &mut dyn LogParser, input: &str) -> (Batch, Vec<Reject>, u64) {
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    let seen = p.parse_chunk(input.as_bytes(), 1, &mut out, &mut rejects);
    assert_eq!(seen as usize, out.len() + rejects.len(), "{rejects:?}");
    let b = out.finish();
    let b = Batch::new(p.schema(), b.columns).expect("a valid batch");
    (b, rejects, seen)
}

/// Infers from `input` and parses it.
fn parse(format: &str, input: &str) -> (Box<dyn LogParser>, Batch, Vec<Reject>) {
    let mut p = with_sample(format, input);
    let (b, r, _) = run(&mut *p, input);
    (p, b, r)
}

fn get(p: &dyn LogParser, b: &Batch, row: usize, name: &str) -> Value {
    b.columns[p.schema().column(name).unwrap()].value(row)
}

fn type_of(p: &dyn LogParser, name: &str) -> DataType {
    p.schema().fields[p.schema().column(name).unwrap()].data_type
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

fn reasons(r: &[Reject]) -> Vec<(u64, &str)> {
    r.iter().map(|r| (r.line, r.reason.as_str())).collect()
}

const NGINX_JSON: &str = r#"{"time_iso8601":"2024-05-01T12:00:01+02:00","remote_addr":"203.0.113.9","remote_user":"-","request":"GET /shop/item?id=7&uid=u42 HTTP/1.1","status":"200","body_bytes_sent":"5120","request_time":"0.012","http_referer":"https://example.com/","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)","upstream_response_time":"0.010"}
{"time_iso8601":"2024-05-01T12:00:02+02:00","remote_addr":"2001:db8::5","remote_user":"bob","request":"POST /api/login HTTP/2.0","status":"302","body_bytes_sent":"0","request_time":"0.250","http_referer":"","http_user_agent":"curl/8.5.0","upstream_response_time":"-"}
"#;

#[test]
fn nginx_json_round_trip() {
    let (p, b, rejects) = parse("jsonl", NGINX_JSON);
    assert_eq!(rejects, vec![]);
    assert_eq!(b.num_rows(), 2);
    let p = &*p;
    p.schema().validate().unwrap();
    assert_eq!(p.schema().time_column.as_deref(), Some("ts"));
    assert_eq!(get(p, &b, 0, "ts"), ts("2024-05-01T10:00:01Z"));
    assert_eq!(get(p, &b, 0, "client_ip"), ip("203.0.113.9"));
    assert_eq!(get(p, &b, 1, "client_ip"), ip("2001:db8::5"));
    assert_eq!(get(p, &b, 0, "remote_user"), Value::Null);
    assert_eq!(get(p, &b, 1, "remote_user"), s("bob"));
    assert_eq!(get(p, &b, 0, "method"), s("GET"));
    assert_eq!(get(p, &b, 0, "url"), s("/shop/item?id=7&uid=u42"));
    assert_eq!(get(p, &b, 0, "uri"), s("/shop/item"));
    assert_eq!(get(p, &b, 0, "query"), s("id=7&uid=u42"));
    assert_eq!(get(p, &b, 0, "protocol"), s("HTTP/1.1"));
    assert_eq!(get(p, &b, 1, "protocol"), s("HTTP/2.0"));
    // Numeric strings fill the numeric canonical columns.
    assert_eq!(get(p, &b, 0, "status"), Value::Int(200));
    assert_eq!(get(p, &b, 1, "bytes"), Value::Int(0));
    assert_eq!(get(p, &b, 1, "request_time"), Value::Float(0.25));
    assert_eq!(get(p, &b, 0, "referer"), s("https://example.com/"));
    assert_eq!(get(p, &b, 1, "referer"), s(""));
    assert_eq!(get(p, &b, 1, "user_agent"), s("curl/8.5.0"));
    assert_eq!(get(p, &b, 0, "uid"), s("u42"));
    assert_eq!(get(p, &b, 1, "uid"), Value::Null);
    // Other strings stay text, as written.
    assert_eq!(type_of(p, "upstream_response_time"), DataType::Varchar);
    assert_eq!(get(p, &b, 1, "upstream_response_time"), s("-"));
    assert_eq!(p.schema().fields.len(), 15);
}

const APP_LOG: &str = r#"{"@timestamp":"2024-05-01T10:00:00.123Z","level":"info","msg":"request done","user_id":"u-1","path":"/v1/items?page=2","status_code":200,"duration_ms":12.5,"size":512,"cached":true,"tags":["a","b"],"ctx":{"region":"eu","shard":3}}
{"@timestamp":"2024-05-01T10:00:01.5-05:00","level":"warn","msg":"slow \"query\"\ttab","user_id":7,"path":"/v1/items","status_code":503,"duration_ms":2000,"size":null,"cached":false,"tags":[],"ctx":{}}
"#;

#[test]
fn app_log_round_trip() {
    let (p, b, rejects) = parse("jsonl", APP_LOG);
    assert_eq!(rejects, vec![]);
    let p = &*p;
    assert_eq!(get(p, &b, 0, "ts"), ts("2024-05-01T10:00:00.123Z"));
    assert_eq!(get(p, &b, 1, "ts"), ts("2024-05-01T15:00:01.5Z"));
    assert_eq!(get(p, &b, 0, "url"), s("/v1/items?page=2"));
    assert_eq!(get(p, &b, 0, "uri"), s("/v1/items"));
    assert_eq!(get(p, &b, 0, "query"), s("page=2"));
    assert_eq!(get(p, &b, 1, "query"), Value::Null);
    assert_eq!(get(p, &b, 1, "status"), Value::Int(503));
    // duration_ms is milliseconds: request_time is seconds.
    assert_eq!(get(p, &b, 0, "request_time"), Value::Float(0.0125));
    assert_eq!(get(p, &b, 1, "request_time"), Value::Float(2.0));
    assert_eq!(get(p, &b, 0, "bytes"), Value::Int(512));
    assert_eq!(get(p, &b, 1, "bytes"), Value::Null);
    // user_id is mixed (string, number): VARCHAR; it fills uid either way.
    assert_eq!(get(p, &b, 0, "uid"), s("u-1"));
    assert_eq!(get(p, &b, 1, "uid"), s("7"));
    assert_eq!(type_of(p, "level"), DataType::Varchar);
    assert_eq!(type_of(p, "cached"), DataType::Boolean);
    assert_eq!(get(p, &b, 1, "cached"), Value::Bool(false));
    assert_eq!(get(p, &b, 1, "msg"), s("slow \"query\"\ttab"));
    // Nested values are kept as their JSON text.
    assert_eq!(type_of(p, "tags"), DataType::Varchar);
    assert_eq!(get(p, &b, 0, "tags"), s(r#"["a","b"]"#));
    assert_eq!(get(p, &b, 0, "ctx"), s(r#"{"region":"eu","shard":3}"#));
    assert_eq!(get(p, &b, 1, "ctx"), s("{}"));
    let names: Vec<&str> = p.schema().fields[14..]
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["level", "msg", "cached", "tags", "ctx"]);
}

#[test]
fn inference_and_widening() {
    let sample = r#"{"ts":1714557600,"n":1,"x":1,"y":1,"flag":true,"b":true,"peer_ip":"10.0.0.1","addr":"host.example","seen":"2024-05-01 10:00:00","when":"2024-05-01","empty":null,"camelCase":"v"}
{"ts":1714557601,"n":2,"x":2.5,"y":"two","flag":false,"b":1,"peer_ip":"::1","addr":"10.0.0.2","seen":"2024-05-01T10:00:00+01:00","when":"x","empty":null,"camelCase":"w"}
"#;
    let p = with_sample("jsonl", sample);
    let want = [
        ("n", DataType::BigInt),
        ("x", DataType::Double),
        ("y", DataType::Varchar),
        ("flag", DataType::Boolean),
        ("b", DataType::Varchar),
        ("peer_ip", DataType::Ip),
        ("addr", DataType::Varchar),
        ("seen", DataType::Timestamp),
        ("when", DataType::Varchar),
        ("empty", DataType::Varchar),
        ("camel_case", DataType::Varchar),
    ];
    for (name, t) in want {
        assert_eq!(type_of(&*p, name), t, "{name}");
    }
    assert_eq!(type_of(&*p, "ts"), DataType::Timestamp);

    // While parsing: lossless conversions are made, others reject the line.
    let mut p = p;
    let input = r#"{"ts":1714557600,"n":3,"x":4,"y":5,"flag":true,"b":false,"peer_ip":"10.0.0.3","seen":"2024-05-01 10:00:00","n2":1}
{"ts":1714557600,"n":"7","x":"1.5","y":{"k":[1]},"flag":"false","b":null}
{"ts":1714557600,"n":2.0,"x":1e3}
{"ts":1714557600,"n":1.5}
{"ts":1714557600,"n":"many"}
{"ts":1714557600,"x":true}
{"ts":1714557600,"peer_ip":"nope"}
{"ts":1714557600,"seen":"yesterday"}
{"ts":1714557600,"flag":"maybe"}
{"ts":1714557600,"n":99999999999999999999}
"#;
    let (b, rejects, seen) = run(&mut *p, input);
    assert_eq!(seen, 10);
    assert_eq!(
        reasons(&rejects),
        [
            (4, "field 'n': '1.5' is not an integer"),
            (5, "field 'n': 'many' is not an integer"),
            (6, "field 'x': 'true' is not a number"),
            (7, "field 'peer_ip': 'nope' is not an IP address"),
            (8, "bad timestamp in field 'seen': 'yesterday'"),
            (9, "field 'flag': 'maybe' is not a boolean"),
            (10, "field 'n': '99999999999999999999' is not an integer"),
        ]
    );
    let p = &*p;
    assert_eq!(get(p, &b, 0, "x"), Value::Float(4.0));
    assert_eq!(get(p, &b, 0, "y"), s("5"));
    assert_eq!(get(p, &b, 0, "b"), s("false"));
    assert_eq!(get(p, &b, 0, "peer_ip"), ip("10.0.0.3"));
    assert_eq!(get(p, &b, 1, "n"), Value::Int(7));
    assert_eq!(get(p, &b, 1, "x"), Value::Float(1.5));
    assert_eq!(get(p, &b, 1, "y"), s(r#"{"k":[1]}"#));
    assert_eq!(get(p, &b, 1, "flag"), Value::Bool(false));
    assert_eq!(get(p, &b, 1, "b"), Value::Null);
    assert_eq!(get(p, &b, 2, "n"), Value::Int(2));
    assert_eq!(get(p, &b, 2, "x"), Value::Float(1000.0));
}

#[test]
fn canonical_names_and_priorities() {
    // `time` beats `date`; `url` beats `uri` (kept as jsonl_uri); the status that is
    // not a number stays text under its own name.
    let line = r#"{"date":"2024-01-01","time":"2024-05-01T00:00:00Z","ip":"1.2.3.4","method":"GET","url":"http://h/a?b=1","uri":"/a","status":"ok","status_code":404,"bytes_sent":10,"referrer":"r","useragent":"ua","latency_us":1500,"userid":"x","protocol":"HTTP/1.0"}"#;
    let (p, b, rejects) = parse("jsonl", line);
    assert_eq!(rejects, vec![]);
    let p = &*p;
    assert_eq!(get(p, &b, 0, "ts"), ts("2024-05-01T00:00:00Z"));
    assert_eq!(type_of(p, "date"), DataType::Timestamp);
    assert_eq!(get(p, &b, 0, "client_ip"), ip("1.2.3.4"));
    assert_eq!(get(p, &b, 0, "url"), s("http://h/a?b=1"));
    assert_eq!(get(p, &b, 0, "uri"), s("/a"));
    assert_eq!(get(p, &b, 0, "jsonl_uri"), s("/a"));
    assert_eq!(get(p, &b, 0, "query"), s("b=1"));
    assert_eq!(get(p, &b, 0, "jsonl_status"), s("ok"));
    assert_eq!(get(p, &b, 0, "status"), Value::Int(404));
    assert_eq!(get(p, &b, 0, "bytes"), Value::Int(10));
    assert_eq!(get(p, &b, 0, "referer"), s("r"));
    assert_eq!(get(p, &b, 0, "user_agent"), s("ua"));
    assert_eq!(get(p, &b, 0, "request_time"), Value::Float(0.0015));
    assert_eq!(get(p, &b, 0, "uid"), s("x"));
    assert_eq!(get(p, &b, 0, "protocol"), s("HTTP/1.0"));
}

#[test]
fn uid_rules() {
    let input = r#"{"ts":"2024-05-01T00:00:00Z","url":"/a?uid=q%201","remote_user":"ru","session":"s9"}
{"ts":"2024-05-01T00:00:00Z","url":"/a","remote_user":"ru","uid":"own"}
"#;
    for (source, want0, want1) in [
        (UidSource::default(), s("q 1"), s("own")),
        (UidSource::RemoteUser, s("ru"), s("own")),
        (UidSource::Field("session".into()), s("s9"), Value::Null),
        (UidSource::None, Value::Null, s("own")),
    ] {
        let options = ParserOptions {
            uid_from: source.clone(),
            sample: Some(input.as_bytes().to_vec()),
            ..Default::default()
        };
        let mut p = parser_for("jsonl", &options).unwrap();
        let (b, rejects, _) = run(&mut *p, input);
        assert_eq!(rejects, vec![]);
        assert_eq!(get(&*p, &b, 0, "uid"), want0, "{source:?}");
        assert_eq!(get(&*p, &b, 1, "uid"), want1, "{source:?}");
    }
}

#[test]
fn timestamps_with_offsets_and_epochs() {
    let sample = r#"{"timestamp":"2024-05-01T00:00:00Z"}"#;
    let mut p = with_sample("jsonl", sample);
    let input = r#"{"timestamp":"2024-05-01T02:30:00+02:30"}
{"timestamp":"2024-04-30T19:00:00-0500"}
{"timestamp":"2024-05-01 00:00:00"}
{"timestamp":"01/May/2024:02:00:00 +0200"}
{"timestamp":1714521600}
{"timestamp":1714521600.5}
{"timestamp":1714521600500}
{"timestamp":1714521600500000}
{"timestamp":1714521600500000123}
{"timestamp":"1714521600"}
{"timestamp":null}
{"other":1}
{"timestamp":"2024-13-01T00:00:00Z"}
{"timestamp":true}
"#;
    let (b, rejects, _) = run(&mut *p, input);
    let t0 = parse_timestamp("2024-05-01T00:00:00Z").unwrap();
    let half = t0 + 500_000;
    let want = [t0, t0, t0, t0, t0, half, half, half, half, t0];
    let got: Vec<Value> = (0..b.num_rows()).map(|r| b.columns[0].value(r)).collect();
    assert_eq!(got, want.map(Value::Int));
    assert_eq!(
        reasons(&rejects),
        [
            (11, "no timestamp field"),
            (12, "no timestamp field"),
            (
                13,
                "bad timestamp in field 'timestamp': '2024-13-01T00:00:00Z'"
            ),
            (14, "bad timestamp in field 'timestamp': 'true'"),
        ]
    );
}

#[test]
fn records_without_a_time_field_are_a_plain_table() {
    let options = ParserOptions {
        sample: Some(br#"{"a":1,"b":"x"}"#.to_vec()),
        ..Default::default()
    };
    let mut p = parser_for("jsonl", &options).unwrap();
    assert_eq!(
        p.schema(),
        &TableSchema::new(vec![
            Field::new("a", DataType::BigInt),
            Field::new("b", DataType::Varchar)
        ])
    );
    let (b, rejects, _) = run(&mut *p, "{\"a\":2,\"b\":\"y\"}\n{\"b\":\"z\"}\n");
    assert_eq!(rejects, vec![]);
    assert_eq!(get(&*p, &b, 1, "a"), Value::Null);
    // Without a sample: the canonical columns only, filled by name.
    let mut p = parser_for("jsonl", &ParserOptions::default()).unwrap();
    let (b, rejects, _) = run(
        &mut *p,
        r#"{"@timestamp":"2024-05-01T00:00:00Z","status":500,"extra":1}"#,
    );
    assert_eq!(rejects, vec![]);
    assert_eq!(p.schema().fields.len(), 14);
    assert_eq!(get(&*p, &b, 0, "status"), Value::Int(500));
}

#[test]
fn given_schema() {
    let schema = TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("status", DataType::SmallInt),
        Field::new("user_agent", DataType::Varchar),
        Field::new("latency", DataType::Double),
        Field::new("shard", DataType::Integer),
    ])
    .with_time_column("ts");
    let options = ParserOptions {
        schema: Some(schema.clone()),
        // Ignored when a schema is given.
        sample: Some(b"{}".to_vec()),
        ..Default::default()
    };
    let mut p = parser_for("jsonl", &options).unwrap();
    assert_eq!(p.schema(), &schema);
    let input = r#"{"time":"2024-05-01T00:00:00Z","status_code":201,"userAgent":"ua","latency":0.5,"shard":3,"unknown":[1]}
{"ts":"2024-05-01T00:00:00Z","status":70000}
{"ts":"2024-05-01T00:00:00Z","shard":"x"}
"#;
    let (b, rejects, _) = run(&mut *p, input);
    assert_eq!(b.num_rows(), 1);
    let row: Vec<Value> = b.columns.iter().map(|c| c.value(0)).collect();
    assert_eq!(
        row,
        [
            ts("2024-05-01T00:00:00Z"),
            Value::Int(201),
            s("ua"),
            Value::Float(0.5),
            Value::Int(3)
        ]
    );
    assert_eq!(
        reasons(&rejects),
        [
            (2, "field 'status': 70000 is out of range for SMALLINT"),
            (3, "field 'shard': 'x' is not an integer"),
        ]
    );
}

#[test]
fn json_escapes() {
    let input = r#"{"ts":"2024-05-01T00:00:00Z","msg":"\u00e9t\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","k\u0065y":"v"}"#;
    let (p, b, rejects) = parse("jsonl", input);
    assert_eq!(rejects, vec![]);
    assert_eq!(
        get(&*p, &b, 0, "msg"),
        s("\u{e9}t\u{e9} \u{1F600} \"q\" \\ / \u{8}\u{c}\n\r\t")
    );
    assert_eq!(get(&*p, &b, 0, "key"), s("v"));
}

#[test]
fn malformed_json_lines() {
    let good = r#"{"ts":"2024-05-01T00:00:00Z","a":"x","n":1}"#;
    let mut p = with_sample("jsonl", good);
    let cases = [
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"x"#,
            "unterminated string in field 'a'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"x","#,
            "line ends inside the JSON object",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"x""#,
            "line ends inside the JSON object, after field 'a'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"#,
            "line ends before the value of field 'a'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z"} x"#,
            "trailing text after the JSON object: 'x'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z"}{}"#,
            "trailing text after the JSON object: '{}'",
        ),
        (r#"["ts"]"#, "not a JSON object: '[\"ts\"]'"),
        ("42", "not a JSON object: '42'"),
        ("   ", "not a JSON object: blank line"),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","n":01}"#,
            "expected ',' or '}' after field 'n' at byte 34",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","n":tru}"#,
            "bad value in field 'n' at byte 33",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","n":[1,}"#,
            "invalid nested value in field 'n'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z" "a":1}"#,
            "expected ',' or '}' after field 'ts' at byte 29",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a" 1}"#,
            "expected ':' after a field name at byte 33",
        ),
        (r#"{ts:1}"#, "expected a field name at byte 1"),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"\x"}"#,
            "bad escape at byte 34 in field 'a'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"\ud800"}"#,
            "unpaired surrogate in a \\u escape in field 'a'",
        ),
        (
            r#"{"ts":"2024-05-01T00:00:00Z","a":"\u12"}"#,
            "bad \\u escape at byte 34 in field 'a'",
        ),
    ];
    for (line, reason) in cases {
        let (b, rejects, _) = run(&mut *p, line);
        assert_eq!(b.num_rows(), 0, "{line}");
        assert_eq!(rejects[0].reason, reason, "{line}");
    }
    // Line rules shared with the other formats.
    let (_, rejects, seen) = run(&mut *p, &format!("{good}\r\n\n{good}\n\u{0}\n"));
    assert_eq!(seen, 4);
    assert_eq!(
        reasons(&rejects),
        [(2, "empty line"), (4, "not a JSON object: '\u{0}'")]
    );
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    p.parse_chunk(b"{\"ts\":\"\xff\"}", 1, &mut out, &mut rejects);
    assert_eq!(rejects[0].reason, "invalid UTF-8 at byte 7");
}

const CSV: &str = "Timestamp,Client IP,Method,URL,Status,Bytes,Duration MS,User Agent,Note\r\n\
2024-05-01T10:00:00+02:00,10.0.0.1,GET,/a?uid=7,200,512,12,\"Mozilla/5.0 (X11, Linux)\",plain\r\n\
1714557601,10.0.0.2,POST,/b,404,,3.5,\"say \"\"hi\"\"\",\"multi\r\nline\"\r\n\
1714557602,,GET,/c,-,0,0,,\"\"\r\n";

#[test]
fn csv_round_trip() {
    let (p, b, rejects) = parse("csv", CSV);
    assert_eq!(rejects, vec![]);
    assert_eq!(b.num_rows(), 3);
    let p = &*p;
    assert_eq!(get(p, &b, 0, "ts"), ts("2024-05-01T08:00:00Z"));
    assert_eq!(get(p, &b, 1, "ts"), ts("2024-05-01T10:00:01Z"));
    assert_eq!(get(p, &b, 0, "client_ip"), ip("10.0.0.1"));
    assert_eq!(get(p, &b, 2, "client_ip"), Value::Null);
    assert_eq!(get(p, &b, 0, "uri"), s("/a"));
    assert_eq!(get(p, &b, 0, "uid"), s("7"));
    assert_eq!(get(p, &b, 1, "status"), Value::Int(404));
    assert_eq!(get(p, &b, 2, "status"), Value::Null);
    assert_eq!(get(p, &b, 1, "bytes"), Value::Null);
    assert_eq!(get(p, &b, 1, "request_time"), Value::Float(0.0035));
    assert_eq!(get(p, &b, 0, "user_agent"), s("Mozilla/5.0 (X11, Linux)"));
    assert_eq!(get(p, &b, 1, "user_agent"), s("say \"hi\""));
    assert_eq!(get(p, &b, 2, "user_agent"), Value::Null);
    assert_eq!(get(p, &b, 1, "note"), s("multi\r\nline"));
    // A quoted empty field is the empty string; an unquoted one is NULL.
    assert_eq!(get(p, &b, 2, "note"), s(""));
}

#[test]
fn csv_header_and_line_accounting() {
    let mut p = with_sample("csv", CSV);
    // The header is skipped and not counted; the multi-line record counts once.
    let (b, rejects, seen) = run(&mut *p, CSV);
    assert_eq!((seen, b.num_rows(), rejects.len()), (3, 3, 0));
    // A later chunk (not starting at line 1) has no header.
    let body = "2024-05-01T10:00:00Z,1.1.1.1,GET,/,200,1,1,ua,n\n\
                2024-05-01T10:00:00Z,1.1.1.1,GET,/,200,1,1,ua\n\
                2024-05-01T10:00:00Z,1.1.1.1,GET,/,200,1,1,ua,n,extra\n\
                2024-05-01T10:00:00Z,1.1.1.1,GET,/,2x,1,1,ua,n\n\
                \n\
                2024-05-01T10:00:00Z,1.1.1.1,GET,/,200,1,1,u\"a,n\n\
                2024-05-01T10:00:00Z,1.1.1.1,GET,/,200,1,1,\"ua\"x,n\n\
                ,1.1.1.1,GET,/,200,1,1,ua,n\n";
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    let seen = p.parse_chunk(body.as_bytes(), 10, &mut out, &mut rejects);
    assert_eq!(seen, 8);
    assert_eq!(out.len(), 1);
    assert_eq!(
        reasons(&rejects),
        [
            (11, "expected 9 fields, found 8"),
            (12, "expected 9 fields, found 10"),
            (13, "field 'Status': '2x' is not an integer"),
            (14, "empty line"),
            (15, "quote inside unquoted field 8"),
            (16, "unexpected text after quoted field 8: 'x,n'"),
            (17, "no timestamp field"),
        ]
    );
    // A different header at line 1 is rejected (and counted).
    let (b, rejects, seen) = run(&mut *p, "ts,ip\n");
    assert_eq!((seen, b.num_rows()), (1, 0));
    assert_eq!(rejects[0].reason, "header differs from the sample's header");
}

#[test]
fn csv_record_cut_by_a_chunk_boundary() {
    let mut p = with_sample("csv", CSV);
    // The chunk ends inside a quoted field: its first line is rejected and parsing
    // resumes on the next line; line numbers stay right.
    let chunk = "1714557601,10.0.0.2,POST,/b,404,,3.5,ua,\"multi\n\
                 still inside\n";
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    let seen = p.parse_chunk(chunk.as_bytes(), 5, &mut out, &mut rejects);
    assert_eq!(seen, 2);
    assert_eq!(
        reasons(&rejects),
        [
            (5, "unterminated quoted field 9"),
            (6, "expected 9 fields, found 1")
        ]
    );
}

#[test]
fn tsv_round_trip() {
    let input = "time\tremote_addr\trequest\tstatus\tbody_bytes_sent\trequest_time\tquote\n\
                 2024-05-01T00:00:00Z\t::1\tGET /x?y=1 HTTP/1.1\t200\t10\t0.5\tsays \"hi\"\n\
                 2024-05-01T00:00:01Z\t-\t-\t500\t\t\t\n\
                 2024-05-01T00:00:02Z\t1.2.3.4\n";
    let (p, b, rejects) = parse("tsv", input);
    let p = &*p;
    assert_eq!(reasons(&rejects), [(4, "expected 7 fields, found 2")]);
    assert_eq!(get(p, &b, 0, "client_ip"), ip("::1"));
    assert_eq!(get(p, &b, 0, "method"), s("GET"));
    assert_eq!(get(p, &b, 0, "query"), s("y=1"));
    assert_eq!(get(p, &b, 0, "protocol"), s("HTTP/1.1"));
    assert_eq!(get(p, &b, 0, "request_time"), Value::Float(0.5));
    assert_eq!(get(p, &b, 0, "quote"), s("says \"hi\""));
    assert_eq!(get(p, &b, 1, "client_ip"), Value::Null);
    assert_eq!(get(p, &b, 1, "method"), Value::Null);
    assert_eq!(get(p, &b, 1, "bytes"), Value::Null);
    assert_eq!(get(p, &b, 1, "quote"), Value::Null);
}

#[test]
fn csv_needs_a_sample_and_infers_types() {
    let err = parser_for("csv", &ParserOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("needs a sample"), "{err}");
    let sample = "ts,a,b,c,d,e\n1714557600,1,1.5,true,x,\n1714557601,2,2,false,3,\n";
    let p = with_sample("csv", sample);
    for (name, t) in [
        ("ts", DataType::Timestamp),
        ("a", DataType::BigInt),
        ("b", DataType::Double),
        ("c", DataType::Boolean),
        ("d", DataType::Varchar),
        ("e", DataType::Varchar),
    ] {
        assert_eq!(type_of(&*p, name), t, "{name}");
    }
}

#[test]
fn records_keep_their_own_columns() {
    // Not an access log (a time, but fewer than two request fields): the fields are
    // the columns, `user_id` is not the canonical `uid`, and the time column is the
    // time field named like one.
    let sample = "user_id,access_time,terminal,module,content\n\
                  7,2024-05-01 10:00:00,pc,login,a\n\
                  7,2024-05-01 10:00:01,pc,search,b\n\
                  8,2024-05-01 10:00:02,phone,login,c\n\
                  8,2024-05-01 10:00:03,pc,login,d\n";
    let mut p = with_sample("csv", sample);
    let want = TableSchema::new(vec![
        Field::new("user_id", DataType::BigInt),
        Field::not_null("access_time", DataType::Timestamp),
        Field::new("terminal", DataType::Varchar),
        Field::new("module", DataType::Varchar),
        Field::new("content", DataType::Varchar),
    ])
    .with_time_column("access_time")
    .with_indexes(["user_id", "terminal", "module"]);
    assert_eq!(p.schema(), &want);
    let (b, rejects, _) = run(
        &mut *p,
        &format!("{sample}x,2024-05-01 10:00:00,pc,login,e\n9,,pc,login,f\n9,soon,pc,login,g\n"),
    );
    assert_eq!(b.num_rows(), 4);
    assert_eq!(get(&*p, &b, 0, "user_id"), Value::Int(7));
    assert_eq!(get(&*p, &b, 0, "access_time"), ts("2024-05-01T10:00:00Z"));
    assert_eq!(
        reasons(&rejects),
        [
            (6, "field 'user_id': 'x' is not an integer"),
            (7, "no timestamp field"),
            (8, "bad timestamp in field 'access_time': 'soon'"),
        ]
    );

    // The time column chosen, or none.
    for (choice, time) in [
        (TimeColumn::None, None),
        (TimeColumn::Named("access_time".into()), Some("access_time")),
        (TimeColumn::Named("user_id".into()), Some("user_id")),
    ] {
        let options = ParserOptions {
            sample: Some(sample.as_bytes().to_vec()),
            time_column: choice.clone(),
            ..Default::default()
        };
        let p = parser_for("csv", &options).unwrap();
        assert_eq!(p.schema().time_column.as_deref(), time, "{choice:?}");
    }
    let options = ParserOptions {
        sample: Some(sample.as_bytes().to_vec()),
        time_column: TimeColumn::Named("module".into()),
        ..Default::default()
    };
    let err = parser_for("csv", &options).err().unwrap().to_string();
    assert!(err.contains("cannot be the time column"), "{err}");
    // An access log with `--time-column none` is records too.
    let options = ParserOptions {
        sample: Some(CSV.as_bytes().to_vec()),
        time_column: TimeColumn::None,
        ..Default::default()
    };
    let p = parser_for("csv", &options).unwrap();
    assert_eq!(p.schema().fields[0].name, "timestamp");
    assert_eq!(p.schema().time_column, None);
}

/// Feeds `input` to a parser in chunks of `lines` lines, as the importer does.
fn chunked(p: &mut dyn LogParser, input: &[u8], lines: usize) -> (usize, usize, u64) {
    let mut out = BatchBuilder::new(p.schema());
    let mut rejects = Vec::new();
    let (mut line, mut seen, mut rest) = (1u64, 0u64, input);
    while !rest.is_empty() {
        let mut cut = 0;
        let mut n = 0;
        while n < lines && cut < rest.len() {
            cut = rest[cut..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(rest.len(), |i| cut + i + 1);
            n += 1;
        }
        seen += p.parse_chunk(&rest[..cut], line, &mut out, &mut rejects);
        assert_eq!(seen as usize, out.len() + rejects.len());
        line += n as u64;
        rest = &rest[cut..];
    }
    let b = out.finish();
    let b = Batch::new(p.schema(), b.columns).expect("a valid batch");
    (b.num_rows(), rejects.len(), seen)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..1500),
        lines in 1usize..5,
    ) {
        for (format, sample) in [("jsonl", NGINX_JSON), ("jsonl", APP_LOG), ("csv", CSV), ("tsv", "ts\tip\tx\n")] {
            let mut p = with_sample(format, sample);
            chunked(&mut *p, &bytes, lines);
            // Also as a sample.
            let options = ParserOptions { sample: Some(bytes.clone()), ..Default::default() };
            if let Ok(mut p) = parser_for(format, &options) {
                chunked(&mut *p, &bytes, lines);
            }
        }
    }

    #[test]
    fn never_panic_on_mutated_lines(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), prop_oneof![
            any::<u8>(), Just(b'"'), Just(b','), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'\n')
        ]), 1..6),
        lines in 1usize..4,
    ) {
        let (format, input) = [("jsonl", NGINX_JSON), ("jsonl", APP_LOG), ("csv", CSV)][which];
        let mut bytes = input.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let mut p = with_sample(format, input);
        let (_, _, seen) = chunked(&mut *p, &bytes, lines);
        if format == "jsonl" {
            let physical = bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n"));
            prop_assert_eq!(seen as usize, physical);
        }
    }
}
