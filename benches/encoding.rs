//! Encode/decode throughput of the block encodings on access-log-like data.
//!
//! The data is generated here, deterministically: sorted microsecond timestamps with
//! jitter, status codes that are mostly 200, log-normal response sizes, zipf-like
//! dictionary codes, request times of 0.001-2.5 s with three decimals, client IPs,
//! URLs. Each column is cut into blocks of 8192 rows like the segment writer does.
//! Before timing, each scheme's size (bytes per value, raw and after `compress`) is
//! printed to stderr.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use logdb::storage::encoding::*;
use logdb::{Bitmap, StringVec};

const BLOCK: usize = 8192;
const BLOCKS: usize = 16;
const ROWS: usize = BLOCK * BLOCKS;

/// xorshift64*: a small deterministic generator, enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Zipf-like (s ~ 1) over 0..n: log-uniform ranks.
    fn zipf(&mut self, n: u64) -> u64 {
        (((n as f64).ln() * self.unit()).exp() as u64 - 1).min(n - 1)
    }
}

struct Data {
    timestamps: Vec<i64>,
    status: Vec<i64>,
    bytes: Vec<i64>,
    codes: Vec<u32>,
    request_time: Vec<f64>,
    ips: Vec<u128>,
    flags: Vec<bool>,
    validity: Bitmap,
    urls: StringVec,
}

fn generate(rows: usize, distinct_urls: u64) -> Data {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut t = 1_700_000_000_000_000i64;
    let mut d = Data {
        timestamps: Vec::with_capacity(rows),
        status: Vec::with_capacity(rows),
        bytes: Vec::with_capacity(rows),
        codes: Vec::with_capacity(rows),
        request_time: Vec::with_capacity(rows),
        ips: Vec::with_capacity(rows),
        flags: Vec::with_capacity(rows),
        validity: Bitmap::new(0, false),
        urls: StringVec::new(),
    };
    for _ in 0..rows {
        // ~1000 requests/s with exponential gaps.
        t += (-(1.0 - rng.unit()).ln() * 1000.0) as i64;
        d.timestamps.push(t);
        let s = rng.unit();
        d.status.push(match s {
            s if s < 0.90 => 200,
            s if s < 0.94 => 304,
            s if s < 0.97 => 404,
            s if s < 0.99 => 301,
            _ => 500,
        });
        d.bytes.push((8.0 + 1.5 * rng.normal()).exp() as i64);
        let code = rng.zipf(distinct_urls);
        d.codes.push(code as u32);
        let ms = ((2500f64).ln() * rng.unit()).exp() as i64;
        d.request_time.push(ms.max(1) as f64 / 1000.0);
        d.ips
            .push((0xffffu128 << 32) | (0x0a00_0000 + rng.zipf(50_000) as u128 * 7919 % (1 << 24)));
        d.flags.push(rng.unit() < 0.1);
        d.validity.push(rng.unit() >= 0.02);
        d.urls.push(&format!(
            "/shop/category-{}/item/{code}?ref=home",
            code % 97
        ));
    }
    d
}

fn blocks<T: Clone>(v: &[T]) -> Vec<Vec<T>> {
    v.chunks(BLOCK).map(|c| c.to_vec()).collect()
}

type Enc<T> = fn(&[T], &mut Vec<u8>);
type Dec<T> = fn(&[u8], usize, &mut Vec<T>) -> DecodeResult<()>;

/// Encodes every block once to report sizes, then times encode and decode.
fn codec<T: Clone>(c: &mut Criterion, name: &str, values: &[T], enc: Enc<T>, dec: Dec<T>) {
    let blocks = blocks(values);
    let encoded: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            let mut out = Vec::new();
            enc(b, &mut out);
            out
        })
        .collect();
    report(name, values.len(), &encoded);

    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(values.len() as u64));
    let mut out = Vec::new();
    g.bench_function("encode", |b| {
        b.iter(|| {
            for blk in &blocks {
                out.clear();
                enc(black_box(blk), &mut out);
            }
            out.len()
        })
    });
    let mut vals = Vec::new();
    g.bench_function("decode", |b| {
        b.iter(|| {
            for (e, blk) in encoded.iter().zip(&blocks) {
                dec(black_box(e), blk.len(), &mut vals).unwrap();
            }
            vals.len()
        })
    });
    g.finish();
}

fn report(name: &str, rows: usize, encoded: &[Vec<u8>]) {
    let raw: usize = encoded.iter().map(Vec::len).sum();
    let compressed: usize = encoded
        .iter()
        .map(|e| {
            let mut c = Vec::new();
            compress(e, &mut c);
            c.len()
        })
        .sum();
    let tags: Vec<u8> = encoded.iter().map(|e| e[0]).collect();
    eprintln!(
        "size {name:>14}: {:.3} bytes/value encoded, {:.3} after compress (first tags {:?})",
        raw as f64 / rows as f64,
        compressed as f64 / rows as f64,
        &tags[..tags.len().min(4)]
    );
}

fn bench_ints(c: &mut Criterion, d: &Data) {
    codec(c, "timestamp", &d.timestamps, encode_i64, decode_i64);
    codec(c, "status", &d.status, encode_i64, decode_i64);
    codec(c, "bytes", &d.bytes, encode_i64, decode_i64);
    codec(c, "dict_codes", &d.codes, encode_u32, decode_u32);
    let mut runs = d.status.clone();
    runs.sort_unstable();
    codec(c, "sorted_status", &runs, encode_i64, decode_i64);
    let random: Vec<i64> = {
        let mut r = Rng(7);
        (0..ROWS).map(|_| r.next() as i64).collect()
    };
    codec(c, "random_i64", &random, encode_i64, decode_i64);
}

fn bench_other(c: &mut Criterion, d: &Data) {
    codec(c, "request_time", &d.request_time, encode_f64, decode_f64);
    let noise: Vec<f64> = {
        let mut r = Rng(11);
        (0..ROWS).map(|_| r.normal()).collect()
    };
    codec(c, "random_f64", &noise, encode_f64, decode_f64);
    codec(c, "ip", &d.ips, encode_ip, decode_ip);
    codec(c, "bool", &d.flags, encode_bool, decode_bool);

    // Validity bitmaps, 2% NULLs.
    let bitmaps: Vec<Bitmap> = (0..BLOCKS)
        .map(|b| {
            let mut m = Bitmap::new(0, false);
            m.extend_from(&d.validity, b * BLOCK, BLOCK);
            m
        })
        .collect();
    let encoded: Vec<Vec<u8>> = bitmaps
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            encode_validity(m, &mut out);
            out
        })
        .collect();
    report("validity", ROWS, &encoded);
    let mut g = c.benchmark_group("validity");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("encode", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for m in &bitmaps {
                out.clear();
                encode_validity(black_box(m), &mut out);
            }
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(decode_validity(black_box(e), BLOCK).unwrap());
            }
        })
    });
    g.finish();
}

fn bench_strings(c: &mut Criterion, d: &Data) {
    let encoded: Vec<Vec<u8>> = (0..BLOCKS)
        .map(|b| {
            let mut out = Vec::new();
            encode_strings(&d.urls, b * BLOCK..(b + 1) * BLOCK, &mut out);
            out
        })
        .collect();
    report("strings", ROWS, &encoded);
    let mut g = c.benchmark_group("strings");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("encode", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for blk in 0..BLOCKS {
                out.clear();
                encode_strings(&d.urls, blk * BLOCK..(blk + 1) * BLOCK, &mut out);
            }
        })
    });
    g.bench_function("decode", |b| {
        let mut sv = StringVec::new();
        b.iter(|| {
            for e in &encoded {
                decode_strings(black_box(e), BLOCK, &mut sv).unwrap();
            }
        })
    });
    g.finish();
}

fn bench_dictionary(c: &mut Criterion) {
    // One segment: 1M rows, ~100k distinct URLs (zipf), 2% NULLs.
    let d = generate(1 << 20, 200_000);
    let (dict, _) = build_dictionary(&d.urls, Some(&d.validity));
    eprintln!(
        "dictionary: {} rows, {} distinct strings",
        d.urls.len(),
        dict.len()
    );
    let mut blob = Vec::new();
    encode_dictionary(&dict, &mut blob);
    report("dictionary", dict.len(), std::slice::from_ref(&blob));

    let mut g = c.benchmark_group("dictionary");
    g.sample_size(10);
    g.throughput(Throughput::Elements(d.urls.len() as u64));
    g.bench_function("build", |b| {
        b.iter(|| build_dictionary(black_box(&d.urls), Some(&d.validity)))
    });
    g.throughput(Throughput::Elements(dict.len() as u64));
    g.bench_function("decode_blob", |b| {
        b.iter(|| decode_dictionary(black_box(&blob), dict.len()).unwrap())
    });
    g.finish();
}

/// zstd on encoded blocks: level 1 vs 3 (size and decode speed), and how the ratio
/// depends on input size.
fn bench_compress(c: &mut Criterion, d: &Data) {
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut e = Vec::new();
    encode_strings(&d.urls, 0..BLOCK, &mut e);
    inputs.push(("strings", e));
    let mut e = Vec::new();
    encode_i64(&d.bytes[..BLOCK], &mut e);
    inputs.push(("bytes", e));
    let mut e = Vec::new();
    encode_u32(&d.codes[..BLOCK], &mut e);
    inputs.push(("dict_codes", e));

    for (name, raw) in &inputs {
        for level in [1, 3] {
            let z = zstd::bulk::compress(raw, level).unwrap();
            eprintln!(
                "zstd level {level} on {name}: {} -> {} bytes ({:.1}%)",
                raw.len(),
                z.len(),
                100.0 * z.len() as f64 / raw.len() as f64
            );
        }
    }
    let urls = &inputs[0].1;
    for len in [32, 64, 128, 256, 512, 1024, 4096] {
        let part = &urls[urls.len() - len..];
        let z = zstd::bulk::compress(part, 1).unwrap();
        eprintln!(
            "zstd level 1 on {len} bytes of strings: {} bytes ({:.1}%)",
            z.len(),
            100.0 * z.len() as f64 / len as f64
        );
    }

    let mut g = c.benchmark_group("zstd");
    for (name, raw) in &inputs {
        g.throughput(Throughput::Bytes(raw.len() as u64));
        for level in [1, 3] {
            let z = zstd::bulk::compress(raw, level).unwrap();
            g.bench_with_input(
                BenchmarkId::new(format!("compress_l{level}"), name),
                raw,
                |b, raw| b.iter(|| zstd::bulk::compress(black_box(raw), level).unwrap()),
            );
            g.bench_with_input(
                BenchmarkId::new(format!("decompress_l{level}"), name),
                &z,
                |b, z| b.iter(|| zstd::bulk::decompress(black_box(z), raw.len()).unwrap()),
            );
        }
        let mut framed = Vec::new();
        compress(raw, &mut framed);
        let mut scratch = Vec::new();
        g.bench_with_input(BenchmarkId::new("decompress", name), &framed, |b, f| {
            b.iter(|| {
                decompress(black_box(f), &mut scratch, raw.len())
                    .unwrap()
                    .len()
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let d = generate(ROWS, 100_000);
    bench_ints(c, &d);
    bench_other(c, &d);
    bench_strings(c, &d);
    bench_compress(c, &d);
    bench_dictionary(c);
}

criterion_group!(encoding, benches);
criterion_main!(encoding);
