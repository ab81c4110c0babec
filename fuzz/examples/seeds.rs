//! Writes the seed corpus of every fuzz target.
//!
//! Usage: `cargo run --example seeds -- <logdb checkout> <corpus dir>`
//! (tools/fuzz.sh runs it). Seeds come from the golden v1 files in `tests/golden`,
//! from a small segment written here by logdb itself, from hand-written log lines and
//! from blocks encoded by logdb's encoders; HTTP requests carry SQL seeds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use logdb::ingest::{generate, parser_for, GenOptions};
use logdb::storage::encoding as enc;
use logdb::storage::segment::write_segment;
use logdb::{BatchBuilder, Bitmap, StringVec};
use logdb_fuzz::{parser_options, with_stored_footer};

const COMBINED: &str = concat!(
    "198.51.100.7 - - [01/May/2024:10:00:00 +0000] \"GET /index.html?uid=42 HTTP/1.1\" 200 5120 \"-\" \"curl/8.0\"\n",
    "2001:db8::5 - alice [01/May/2024:10:00:01 +0200] \"POST /api/v1/items HTTP/2.0\" 201 - \"https://example.com/a?b=c\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
    "203.0.113.9 - - [01/May/2024:10:00:02 -0700] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"\n",
    "203.0.113.10 - - [01/May/2024:10:00:03 +0000] \"GET /a b c HTTP/1.0\" 304 0 \"-\" \"say \\\"hi\\\"\"\r\n",
    "\n",
    "not a log line\n",
);

const COMMON: &str = concat!(
    "198.51.100.7 - - [01/May/2024:10:00:00 +0000] \"GET /index.html?uid=42 HTTP/1.1\" 200 5120\n",
    "192.0.2.1 ident bob [31/Dec/2023:23:59:59 +0100] \"GET /robots.txt\" 404 -\n",
    "192.0.2.2 - - [29/Feb/2024:00:00:00 +0000] \"-\" 408 -\n",
);

const NGINX: &str = concat!(
    "198.51.100.7 - - [01/May/2024:10:00:00 +0000] \"GET /index.html?uid=42 HTTP/1.1\" 200 5120 \"-\" \"curl/8.0\" 0.012 0.010 420 \"example.com\"\n",
    "2001:db8::5 - alice [01/May/2024:10:00:01 +0200] \"POST /api HTTP/1.1\" 502 157 \"-\" \"Go-http-client/1.1\" 1.500 1.499, 0.001 1024 \"api.example.com\"\n",
    "192.0.2.3 - - [01/May/2024:10:00:02 +0000] \"-\" 400 0 \"-\" \"-\" 0.000 - - \"-\"\n",
);

const ELB: &str = concat!(
    "2024-05-01T10:00:00.123456Z my-elb 198.51.100.7:50211 10.0.0.5:80 0.000040 0.001200 0.000030 200 200 0 5120 \"GET http://example.com:80/index.html?uid=42 HTTP/1.1\" \"curl/8.0\" - -\n",
    "2024-05-01T10:00:01.000001Z my-elb [2001:db8::5]:443 - -1 -1 -1 504 0 0 0 \"POST https://example.com:443/api HTTP/1.1\" \"Mozilla/5.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2\n",
    "2024-05-01T10:00:02.5Z my-elb 192.0.2.1:1000 10.0.0.6:8080 0.1 0.2 0.3 301 301 12 0 \"GET http://example.com:80/old HTTP/1.0\"\n",
);

const ALB: &str = concat!(
    "http 2024-05-01T10:00:00.123456Z app/my-alb/0123456789abcdef 198.51.100.7:50211 10.0.0.5:80 0.001 0.002 0.000 200 200 120 5120 \"GET http://example.com:80/index.html?uid=42 HTTP/1.1\" \"curl/8.0\" - - arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef \"Root=1-00000000-000000000000000000000000\" \"-\" \"-\" 0 2024-05-01T10:00:00.120000Z \"forward\" \"-\" \"-\" \"10.0.0.5:80\" \"200\" \"-\" \"-\"\n",
    "https 2024-05-01T10:00:01.000000Z app/my-alb/0123456789abcdef 2001:db8::5:443 - -1 -1 -1 460 - 80 0 \"GET https://example.com:443/ HTTP/2.0\" \"Mozilla/5.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - \"-\" \"example.com\" \"arn:aws:acm:us-east-1:000000000000:certificate/x\" 1 2024-05-01T10:00:00.990000Z \"-\" \"-\" \"-\" \"-\" \"-\" \"-\" \"-\"\n",
    "h2 2024-05-01T10:00:02.000000Z app/my-alb/0123456789abcdef 192.0.2.1:1000 10.0.0.6:8080 0.000 0.010 0.000 302 302 60 10 \"GET https://example.com:443/login HTTP/2.0\"\n",
);

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: seeds <logdb checkout> <corpus dir>");
        std::process::exit(2);
    }
    let root = PathBuf::from(&args[1]);
    let corpus = PathBuf::from(&args[2]);
    let golden = root.join("tests/golden/v1");

    let mut generated = Vec::new();
    generate(
        &GenOptions {
            lines: 40,
            days: 1,
            users: 5,
            uris: 8,
            ..GenOptions::default()
        },
        &mut generated,
    )?;
    for (format, lines) in [
        ("combined", COMBINED.as_bytes()),
        ("common", COMMON.as_bytes()),
        ("nginx", NGINX.as_bytes()),
        ("elb", ELB.as_bytes()),
        ("alb", ALB.as_bytes()),
    ] {
        let mut parser = parser_for(format, &parser_options(format)).map_err(io::Error::other)?;
        let mut rejects = Vec::new();
        let mut builder = BatchBuilder::new(parser.schema());
        parser.parse_chunk(lines, 1, &mut builder, &mut rejects);
        eprintln!(
            "{format}: {} sample rows, rejects: {rejects:?}",
            builder.len()
        );
        let dir = corpus.join(format!("parse_{format}"));
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("seed-samples"), lines)?;
        for (i, line) in lines.split_inclusive(|&b| b == b'\n').enumerate() {
            fs::write(dir.join(format!("seed-line-{i}")), line)?;
        }
        if format == "combined" {
            fs::write(dir.join("seed-generated"), &generated)?;
        }
    }

    // Segments: the golden files as they are and with uncompressed footers, and one
    // written here from generated lines (several blocks, NULLs, dictionaries, indexes).
    let dir = corpus.join("segment");
    fs::create_dir_all(&dir)?;
    let mut segments = Vec::new();
    collect(&golden.join("tables"), "lseg", &mut segments)?;
    segments.sort();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for path in &segments {
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        seeds.push((format!("golden-{name}"), fs::read(path)?));
    }
    let mut parser =
        parser_for("combined", &parser_options("combined")).map_err(io::Error::other)?;
    let mut builder = BatchBuilder::new(parser.schema());
    let mut small = Vec::new();
    generate(
        &GenOptions {
            lines: 2100,
            days: 1,
            users: 3,
            uris: 4,
            ..GenOptions::default()
        },
        &mut small,
    )?;
    parser.parse_chunk(&small, 1, &mut builder, &mut Vec::new());
    let batch = builder.finish();
    let seg = write_segment(parser.schema(), &batch, 1, 2048).map_err(io::Error::other)?;
    seeds.push(("generated".into(), seg.bytes));
    for (name, bytes) in &seeds {
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
        if let Some(stored) = with_stored_footer(bytes) {
            fs::write(dir.join(format!("seed-{name}-stored-footer")), stored)?;
        }
    }

    let dir = corpus.join("manifest");
    fs::create_dir_all(&dir)?;
    for entry in fs::read_dir(&golden)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name.starts_with("MANIFEST-") {
            fs::copy(&path, dir.join(format!("seed-{name}")))?;
        }
    }

    // SQL: every query of the sqllogictest files, and a few the files do not have.
    let dir = corpus.join("sql");
    fs::create_dir_all(&dir)?;
    let mut slt = Vec::new();
    collect(&root.join("tests/slt"), "slt", &mut slt)?;
    slt.sort();
    let mut queries: Vec<String> = EXTRA_SQL.iter().map(|q| q.to_string()).collect();
    for path in &slt {
        queries.extend(slt_queries(&fs::read_to_string(path)?));
    }
    for (i, q) in queries.iter().enumerate() {
        fs::write(dir.join(format!("seed-{i:03}")), q)?;
    }
    eprintln!("sql: {} seed queries", queries.len());

    // HTTP requests: hand-written ones, and every fourth SQL seed as a POST body or
    // in a GET's URL, in each answer format.
    let dir = corpus.join("http_request");
    fs::create_dir_all(&dir)?;
    for (i, request) in HTTP_REQUESTS.iter().enumerate() {
        fs::write(dir.join(format!("seed-request-{i}")), request)?;
    }
    let formats = [
        "json",
        "JSONEachRow",
        "CSVWithNames",
        "TabSeparated",
        "arrow",
    ];
    for (i, q) in queries.iter().enumerate().step_by(4) {
        let format = formats[i / 4 % formats.len()];
        let request = if i % 8 == 0 {
            format!(
                "POST /query?default_format={format} HTTP/1.1\r\nHost: localhost\r\n\
                 Content-Length: {}\r\n\r\n{q}",
                q.len()
            )
        } else {
            format!(
                "GET /?query={}+FORMAT+{format} HTTP/1.1\r\nAccept: text/csv\r\n\r\n",
                url_encode(q)
            )
        };
        fs::write(dir.join(format!("seed-sql-{i:03}")), request)?;
    }

    let dir = corpus.join("encoding");
    fs::create_dir_all(&dir)?;
    for (name, n, bytes) in encoded_blocks() {
        let mut seed = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8];
        seed.extend_from_slice(&bytes);
        fs::write(dir.join(format!("seed-{name}")), seed)?;
    }
    Ok(())
}

/// Queries for the `sql` target beyond the sqllogictest files.
const EXTRA_SQL: &[&str] = &[
    "SELECT count(*) FROM logs WHERE uid = 'u7' AND status IN (404, 500)",
    "SELECT uri, count(*) FROM logs WHERE status >= 400 GROUP BY uri ORDER BY 2 DESC LIMIT 3",
    "SELECT count(*), sum(bytes) FROM logs WHERE ts >= TIMESTAMP '2024-05-01 12:00:00' AND ts < TIMESTAMP '2024-05-02 03:00:00'",
    "SELECT status, count(*) FROM logs WHERE uri = '/api/v1/item/3' GROUP BY status",
    "SELECT DISTINCT uid FROM logs WHERE uid LIKE 'u1%' ORDER BY uid",
    "EXPLAIN SELECT count(*) FROM logs WHERE uid = 'u3'",
    "EXPLAIN ANALYZE SELECT uri, avg(request_time) FROM logs WHERE status = 500 GROUP BY uri",
    "SELECT toStartOfInterval(ts, INTERVAL 1 HOUR) AS h, count(*) FROM logs GROUP BY h ORDER BY h",
    "SELECT approx_count_distinct(client_ip), approx_quantile(request_time, 0.5) FROM logs",
    "SELECT name, x::VARCHAR || '-' || CAST(y AS VARCHAR) FROM t WHERE flag OR x IS NULL",
    "SELECT count(*) FILTER (WHERE secure) FROM logs WHERE client_ip IS NOT NULL",
];

/// Requests for the `http_request` target beyond the SQL seeds.
const HTTP_REQUESTS: &[&[u8]] = &[
    b"GET /query?sql=SELECT+1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /query?sql=SELECT%20count(*)%20FROM%20logs&format=csv HTTP/1.1\r\n\r\n",
    b"POST /query HTTP/1.1\r\nContent-Length: 35\r\nAccept: application/x-ndjson\r\n\r\nSELECT uri FROM logs LIMIT 3 FORMAT tsv",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nSELECT status, count(*) FROM logs GROUP BY status",
    b"GET /?query=SELECT+*+FROM+logs+ORDER+BY+uri&default_format=JSONEachRow HTTP/1.0\r\n\r\n",
    b"GET /query?sql=%zz HTTP/1.1\r\n\r\n",
    b"GET /query?sql=SELECT+1&query=SELECT+2 HTTP/1.1\r\n\r\n",
    b"POST /query?sql=SELECT+1 HTTP/1.1\r\n\r\nSELECT 2",
    b"POST /query HTTP/1.1\r\n\r\n\xff\xfe",
    b"GET /query?format=box&sql=SELECT+1 HTTP/1.1\r\n\r\n",
    b"POST /query HTTP/1.1\r\n\r\nINSERT INTO logs (status) VALUES (500)",
    b"POST /query HTTP/1.1\r\n\r\nSET memory_limit = '10MB'",
    b"GET /query?sql=SELECT+count(*)+FROM+range(100000000) HTTP/1.1\r\n\r\n",
    b"GET /query?sql=SELECT+string_agg(uri,+',')+FROM+logs+a,+logs+b HTTP/1.1\r\n\r\n",
    b"GET /health HTTP/1.1\r\n\r\n",
];

/// Percent-encodes every byte but letters, digits and `-_.`.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The SQL of every `query` and `statement error` record of a sqllogictest file.
fn slt_queries(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !(line.starts_with("query ") || line.starts_with("statement ")) {
            continue;
        }
        let sql: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.is_empty() && *l != "----")
            .collect();
        if !sql.is_empty() {
            out.push(sql.join("\n"));
        }
    }
    out
}

/// Every file under `dir` (recursively) whose extension is `ext`.
fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

/// Blocks of every encoding scheme, each with its row count.
fn encoded_blocks() -> Vec<(String, usize, Vec<u8>)> {
    let mut out = Vec::new();
    let int_inputs: Vec<(&str, Vec<i64>)> = vec![
        ("const", vec![7; 100]),
        ("small", (0..300).map(|i| i % 13).collect()),
        (
            "delta",
            (0..300).map(|i| 1_714_557_600_000_000 + i * 1000).collect(),
        ),
        ("runs", (0..300).map(|i| i / 50).collect()),
        (
            "wide",
            (0..70)
                .map(|i| i64::MIN / 3 + i * (i64::MAX / 80))
                .collect(),
        ),
        ("empty", Vec::new()),
    ];
    for (name, v) in &int_inputs {
        let mut b = Vec::new();
        enc::encode_i64(v, &mut b);
        out.push((format!("i64-{name}"), v.len(), b));
        let codes: Vec<u32> = v.iter().map(|&x| x as u32).collect();
        let mut b = Vec::new();
        enc::encode_u32(&codes, &mut b);
        out.push((format!("u32-{name}"), v.len(), b));
    }
    for (name, v) in [
        (
            "decimal",
            (0..200).map(|i| i as f64 * 0.001).collect::<Vec<f64>>(),
        ),
        ("bits", (0..200).map(|i| (i as f64).sqrt()).collect()),
        (
            "special",
            vec![f64::NAN, f64::INFINITY, -0.0, 1e300, f64::MIN_POSITIVE],
        ),
    ] {
        let mut b = Vec::new();
        enc::encode_f64(&v, &mut b);
        out.push((format!("f64-{name}"), v.len(), b));
    }
    let bools: Vec<bool> = (0..130).map(|i| i % 3 == 0).collect();
    let mut b = Vec::new();
    enc::encode_bool(&bools, &mut b);
    out.push(("bool-bits".into(), bools.len(), b));
    let mut b = Vec::new();
    enc::encode_bool(&[true; 9], &mut b);
    out.push(("bool-const".into(), 9, b));
    let ips: Vec<u128> = (0..100)
        .map(|i| {
            if i % 4 == 0 {
                0x2001_0db8 << 96 | i
            } else {
                0xffff_c000_0200 | i
            }
        })
        .collect();
    let mut b = Vec::new();
    enc::encode_ip(&ips, &mut b);
    out.push(("ip".into(), ips.len(), b));
    let mut valid = Bitmap::new(150, true);
    for i in (0..150).step_by(7) {
        valid.set(i, false);
    }
    for (name, v) in [
        ("validity-bits", valid),
        ("validity-all", Bitmap::new(70, true)),
        ("validity-none", Bitmap::new(70, false)),
    ] {
        let mut b = Vec::new();
        enc::encode_validity(&v, &mut b);
        out.push((name.into(), v.len(), b));
    }
    let mut strings = StringVec::new();
    for s in [
        "/",
        "/index.html",
        "",
        "ünïcödé",
        "/api/v1/items",
        "/index.html",
    ] {
        strings.push(s);
    }
    let mut b = Vec::new();
    enc::encode_strings(&strings, 0..strings.len(), &mut b);
    out.push(("strings".into(), strings.len(), b));
    let (dict, _) = enc::build_dictionary(&strings, None);
    let mut b = Vec::new();
    enc::encode_dictionary(&dict, &mut b);
    out.push(("dictionary".into(), dict.len(), b));
    let big: Vec<u8> = (0..4096u32).flat_map(|i| (i % 17).to_le_bytes()).collect();
    let mut b = Vec::new();
    enc::compress(&big, &mut b);
    out.push(("zstd".into(), 0, b));
    out
}
