//! Parser and generator throughput on generated access logs.
//!
//! Input is made once, outside the timed loop: generated combined lines, the same
//! lines cut down to common format, and ELB/ALB, nginx-JSON-style and csv lines built
//! from their values; and generated CSV records (`csv_records`).
//! Each iteration parses the whole input in chunks of about 1 MiB of whole lines, one
//! batch per chunk, as an import does.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdb::column::Value;
use logdb::ingest::generate_records::{generate_records, RecordOptions};
use logdb::ingest::{generate, parser_for, GenOptions, ParserOptions, Profile};
use logdb::BatchBuilder;

const LINES: u64 = 100_000;
const NGINX_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#;

fn combined_input() -> Vec<u8> {
    // The simple profile: the figures in BENCHMARKS.md were measured on it.
    let opts = GenOptions {
        profile: Profile::Simple,
        lines: LINES,
        ..Default::default()
    };
    let mut data = Vec::new();
    generate(&opts, &mut data).unwrap();
    data
}

/// The combined lines without referer and user agent.
fn common_input(combined: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(combined.len());
    for line in combined.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let text = std::str::from_utf8(line).unwrap();
        let request_end = text.match_indices('"').nth(1).unwrap().0;
        let referer_start = request_end + 1 + text[request_end + 1..].find('"').unwrap();
        let time = text.rsplit(' ').next().unwrap();
        out.extend_from_slice(&text.as_bytes()[..referer_start]);
        out.extend_from_slice(time.as_bytes());
        out.push(b'\n');
    }
    out
}

/// ELB (or ALB) lines carrying the values of the combined lines.
fn aws_input(combined: &[u8], alb: bool) -> Vec<u8> {
    let mut p = parser_for("combined", &ParserOptions::default()).unwrap();
    let mut out = BatchBuilder::new(p.schema());
    p.parse_chunk(combined, 1, &mut out, &mut Vec::new());
    let b = out.finish();
    let text = |c: usize, r: usize| match b.columns[c].value(r) {
        Value::Str(s) => s.to_string(),
        _ => "-".to_string(),
    };
    let mut data = String::new();
    for r in 0..b.num_rows() {
        let Value::Int(ts) = b.columns[0].value(r) else {
            continue;
        };
        let Value::Ip(ip) = b.columns[1].value(r) else {
            continue;
        };
        let Value::Float(rt) = b.columns[12].value(r) else {
            continue;
        };
        let status = match b.columns[8].value(r) {
            Value::Int(s) => s,
            _ => 200,
        };
        let bytes = match b.columns[9].value(r) {
            Value::Int(s) => s,
            _ => 0,
        };
        let time = logdb::time::format_timestamp(ts).replace(' ', "T");
        let client = match logdb::ip::from_u128(ip) {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let prefix = if alb { "https " } else { "" };
        data.push_str(&format!(
            "{prefix}{time}.000001Z my-lb {client}:{} 10.0.1.{}:80 0.000041 {rt} 0.000024 {status} {status} 0 {bytes} \"{} https://www.example.com:443{} HTTP/1.1\" \"{}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2",
            1024 + r % 60000,
            r % 250,
            text(3, r),
            text(4, r),
            text(11, r),
        ));
        if alb {
            data.push_str(&format!(
                " arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"www.example.com\" \"-\" 1 {time}.000000Z \"forward\" \"-\" \"-\" \"10.0.1.{}:80\" \"{status}\" \"-\" \"-\" TID_{r}",
                r % 250
            ));
        }
        data.push('\n');
    }
    data.into_bytes()
}

/// nginx-JSON-style lines (`jsonl`, with `sep == None`) or csv lines with a header,
/// carrying the values of the combined lines.
fn structured_input(combined: &[u8], csv: bool) -> Vec<u8> {
    let mut p = parser_for("combined", &ParserOptions::default()).unwrap();
    let mut out = BatchBuilder::new(p.schema());
    p.parse_chunk(combined, 1, &mut out, &mut Vec::new());
    let b = out.finish();
    let text = |c: usize, r: usize| match b.columns[c].value(r) {
        Value::Str(s) => s.to_string(),
        _ => "-".to_string(),
    };
    let num = |c: usize, r: usize| match b.columns[c].value(r) {
        Value::Int(v) => v.to_string(),
        Value::Float(v) => v.to_string(),
        _ => "0".to_string(),
    };
    let mut data = String::new();
    if csv {
        data.push_str("time,remote_addr,method,url,status,bytes,referer,user_agent,request_time\n");
    }
    for r in 0..b.num_rows() {
        let Value::Int(ts) = b.columns[0].value(r) else {
            continue;
        };
        let Value::Ip(ip) = b.columns[1].value(r) else {
            continue;
        };
        let time = logdb::time::format_timestamp(ts).replace(' ', "T") + "Z";
        let ip = logdb::ip::from_u128(ip).to_string();
        let q = |s: String| s.replace('\\', "\\\\").replace('"', "\\\"");
        let c = |s: String| s.replace('"', "\"\"");
        if csv {
            data.push_str(&format!(
                "{time},{ip},{},\"{}\",{},{},\"{}\",\"{}\",{}\n",
                text(3, r),
                c(text(4, r)),
                num(8, r),
                num(9, r),
                c(text(10, r)),
                c(text(11, r)),
                num(12, r),
            ));
        } else {
            data.push_str(&format!(
                r#"{{"time":"{time}","remote_addr":"{ip}","request_method":"{}","request_uri":"{}","status":{},"body_bytes_sent":{},"http_referer":"{}","http_user_agent":"{}","request_time":{}}}"#,
                text(3, r),
                q(text(4, r)),
                num(8, r),
                num(9, r),
                q(text(10, r)),
                q(text(11, r)),
                num(12, r),
            ));
            data.push('\n');
        }
    }
    data.into_bytes()
}

/// CSV records as `logdb generate --kind records` writes them (no quotes).
fn records_input() -> Vec<u8> {
    let opts = RecordOptions {
        rows: LINES,
        ..Default::default()
    };
    let mut data = Vec::new();
    generate_records(&opts, &mut data).unwrap();
    data
}

/// Splits `input` into pieces of about `size` bytes that end at line ends.
fn split_chunks(input: &[u8], size: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let cut = match rest
            .get(size..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => size + i + 1,
            None => rest.len(),
        };
        chunks.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    chunks
}

fn bench_parsers(c: &mut Criterion) {
    let combined = combined_input();
    // (benchmark, format, nginx log_format, input)
    let inputs: Vec<(&str, &str, Option<&str>, Vec<u8>)> = vec![
        ("combined", "combined", None, combined.clone()),
        ("common", "common", None, common_input(&combined)),
        ("nginx", "nginx", Some(NGINX_FORMAT), combined.clone()),
        ("elb", "elb", None, aws_input(&combined, false)),
        ("alb", "alb", None, aws_input(&combined, true)),
        ("jsonl", "jsonl", None, structured_input(&combined, false)),
        ("csv", "csv", None, structured_input(&combined, true)),
        ("csv_records", "csv", None, records_input()),
    ];
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    for (name, format, log_format, input) in &inputs {
        // The first 1000 lines, as the importer passes them to jsonl and csv.
        let sample_end = input
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c == b'\n')
            .nth(999)
            .map_or(input.len(), |(i, _)| i + 1);
        let options = ParserOptions {
            log_format: log_format.map(str::to_string),
            sample: Some(input[..sample_end].to_vec()),
            ..Default::default()
        };
        let mut parser = parser_for(format, &options).unwrap();
        // Every line must be stored, or the benchmark measures the reject path.
        let mut out = BatchBuilder::new(parser.schema());
        let mut rejects = Vec::new();
        parser.parse_chunk(input, 1, &mut out, &mut rejects);
        assert!(rejects.is_empty(), "{format}: {:?}", &rejects[..1]);
        let lines = out.len();
        eprintln!(
            "{name}: {lines} lines, {:.1} MB, {:.0} bytes/line",
            input.len() as f64 / 1e6,
            input.len() as f64 / lines as f64
        );
        let chunks = split_chunks(input, 1 << 20);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut out = BatchBuilder::new(parser.schema());
                let mut rejects = Vec::new();
                let mut seen = 0;
                for chunk in &chunks {
                    seen += parser.parse_chunk(black_box(chunk), seen + 1, &mut out, &mut rejects);
                    black_box(out.finish());
                }
                seen
            })
        });
    }
    group.finish();
}

fn bench_generator(c: &mut Criterion) {
    // Enough lines that the per-run setup (user and path tables) does not dominate.
    let opts = GenOptions {
        lines: 10 * LINES,
        ..Default::default()
    };
    let bytes = generate(&opts, &mut std::io::sink()).unwrap().bytes;
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("combined", |b| {
        b.iter(|| generate(black_box(&opts), &mut std::io::sink()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_parsers, bench_generator);
criterion_main!(benches);
