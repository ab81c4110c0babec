//! Storage engine benchmarks on one million generated access-log rows: segment
//! encoding, block-by-block scans, durable appends and bitmap-index lookups.
//!
//! Run with `cargo bench --bench storage`; the data is generated once, outside the
//! timed loops. The encoded size per row is printed once next to the raw size.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdb::storage::backend::FileBytes;
use logdb::storage::mem::MemBackend;
use logdb::storage::segment::{self, ColumnBlock, ReadBuf, Segment};
use logdb::{Batch, BatchBuilder, DataType, Db, Field, TableSchema, Value};

const ROWS: usize = 1_000_000;
/// Rows per durable append.
const APPEND_ROWS: usize = 200_000;
const DISTINCT_UIDS: usize = 100_000;
const HOT_UIDS: usize = 5;
const DISTINCT_URIS: usize = 5_000;
/// 2024-05-01 00:00:00 UTC in microseconds.
const T0: i64 = 1_714_521_600_000_000;

fn schema() -> TableSchema {
    TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("client_ip", DataType::Ip),
        Field::new("uri", DataType::Varchar),
        Field::new("uid", DataType::Varchar),
        Field::new("status", DataType::SmallInt),
        Field::new("bytes", DataType::BigInt),
        Field::new("request_time", DataType::Double),
        Field::new("user_agent", DataType::Varchar),
    ])
    .with_time_column("ts")
    .with_indexes(["uid", "uri", "status"])
}

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Generated rows and what a lookup needs to know about them.
struct Data {
    batch: Batch,
    hot_uid: String,
    rare_uid: String,
    /// The in-memory size of the values: fixed widths plus string bytes and offsets.
    raw_bytes: usize,
}

/// One day of access-log rows in time order: uids skewed (a few hot ones take a
/// fifth of the traffic), uris Zipf-like, statuses mostly 200.
fn generate(rows: usize, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let sections = [
        "api/v1/items",
        "api/v2/search",
        "static/img",
        "blog",
        "account",
    ];
    let uris: Vec<String> = (0..DISTINCT_URIS)
        .map(|i| format!("/{}/{i}", sections[i % sections.len()]))
        .collect();
    let uids: Vec<String> = (0..DISTINCT_UIDS).map(|i| format!("u{i:06}")).collect();
    let agents: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/{}.0",
                90 + i
            )
        })
        .collect();
    let mut uid_counts = vec![0u32; DISTINCT_UIDS];
    let mut b = BatchBuilder::new(&schema());
    let mut ts = T0;
    let mut raw = 0;
    let step = 86_400_000_000 / rows.max(1) as u64;
    for _ in 0..rows {
        ts += rng.below(2 * step as usize) as i64;
        b.push_i64(0, ts);
        b.push_ip(
            1,
            (0xffff_u128 << 32) | (0x0a00_0000 + rng.below(200_000) as u128),
        );
        // Log-uniform rank: about Zipf with exponent 1.
        let uri =
            &uris[((DISTINCT_URIS as f64).powf(rng.unit()) as usize - 1).min(DISTINCT_URIS - 1)];
        b.push_str(2, uri);
        let u = if rng.below(5) == 0 {
            rng.below(HOT_UIDS)
        } else {
            HOT_UIDS + ((rng.unit().powi(2) * (DISTINCT_UIDS - HOT_UIDS) as f64) as usize)
        };
        uid_counts[u] += 1;
        b.push_str(3, &uids[u]);
        let status = match rng.below(100) {
            0..=89 => 200,
            90..=93 => 304,
            94..=95 => 301,
            96..=98 => 404,
            _ => 500,
        };
        b.push_i64(4, status);
        b.push_i64(5, (rng.unit().powi(3) * 2_000_000.0) as i64);
        b.push_f64(6, (rng.unit().powi(4) * 2500.0).round() / 1000.0 + 0.001);
        let agent = &agents[(rng.unit().powi(3) * agents.len() as f64) as usize];
        b.push_str(7, agent);
        raw += 8 + 16 + 2 + 8 + 8 + 3 * 4 + uri.len() + uids[u].len() + agent.len();
    }
    let hot = (0..DISTINCT_UIDS)
        .max_by_key(|&u| uid_counts[u])
        .unwrap_or(0);
    let rare = (0..DISTINCT_UIDS)
        .rev()
        .find(|&u| uid_counts[u] == 1)
        .unwrap_or(DISTINCT_UIDS - 1);
    Data {
        batch: b.finish(),
        hot_uid: uids[hot].clone(),
        rare_uid: uids[rare].clone(),
        raw_bytes: raw,
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

fn storage(c: &mut Criterion) {
    let schema = schema();
    let data = generate(ROWS, 42);
    let block_rows = segment::DEFAULT_BLOCK_ROWS;

    let encoded = segment::write_segment(&schema, &data.batch, 1, block_rows).unwrap();
    println!(
        "segment of {ROWS} rows: {} bytes encoded ({:.1} B/row), {} bytes raw ({:.1} B/row), ratio {:.2}",
        encoded.bytes.len(),
        encoded.bytes.len() as f64 / ROWS as f64,
        data.raw_bytes,
        data.raw_bytes as f64 / ROWS as f64,
        data.raw_bytes as f64 / encoded.bytes.len() as f64,
    );

    let mut g = c.benchmark_group("segment_write");
    // About a second per iteration: give the ten samples room.
    g.measurement_time(Duration::from_secs(12));
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("1M_rows", |b| {
        b.iter(|| segment::write_segment(&schema, black_box(&data.batch), 1, block_rows).unwrap())
    });
    g.finish();

    let seg = Segment::from_bytes(
        "bench.lseg",
        "bench.lseg".into(),
        FileBytes::from_vec(encoded.bytes),
    )
    .unwrap();
    let nblocks = seg.meta().columns[0].blocks.len();
    let ncols = seg.meta().columns.len();
    let mut g = c.benchmark_group("segment_scan");
    g.throughput(Throughput::Elements(ROWS as u64));
    let mut block = ColumnBlock::default();
    let mut scratch = ReadBuf::default();
    g.bench_function("all_columns", |b| {
        b.iter(|| {
            for col in 0..ncols {
                for blk in 0..nblocks {
                    seg.read_block(col, blk, &mut block, &mut scratch).unwrap();
                    black_box(block.len());
                }
            }
        })
    });
    for name in ["bytes", "uri"] {
        let col = seg.column_index(name).unwrap();
        g.bench_function(format!("column_{name}"), |b| {
            b.iter(|| {
                for blk in 0..nblocks {
                    seg.read_block(col, blk, &mut block, &mut scratch).unwrap();
                    black_box(block.len());
                }
            })
        });
    }
    g.finish();

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let append = data
        .batch
        .take(&(0..APPEND_ROWS as u32).collect::<Vec<_>>());
    let mut g = c.benchmark_group("db_append");
    g.throughput(Throughput::Elements(APPEND_ROWS as u64));
    g.bench_function("200k_rows_durable", |b| {
        b.iter(|| db.append("logs", black_box(&append)).unwrap())
    });
    g.finish();
    drop(db);

    let db = Db::builder()
        .open_backend(Arc::new(MemBackend::new()))
        .unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &data.batch).unwrap();
    let snap = db.snapshot().unwrap();
    let uid = seg.column_index("uid").unwrap();
    let status = seg.column_index("status").unwrap();
    let mut g = c.benchmark_group("index_lookup");
    g.throughput(Throughput::Elements(1));
    let cases = [
        ("uid_rare", uid, Value::from(data.rare_uid.as_str())),
        ("uid_hot", uid, Value::from(data.hot_uid.as_str())),
        ("status_404", status, Value::Int(404)),
    ];
    for (name, col, value) in &cases {
        let hits = seg.lookup(*col, value).unwrap().unwrap().len();
        println!("lookup {name}: {hits} rows");
        g.bench_function(*name, |b| {
            b.iter(|| seg.lookup(*col, black_box(value)).unwrap())
        });
    }
    g.bench_function("value_counts_status", |b| {
        b.iter(|| snap.value_counts("logs", "status").unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = storage
}
criterion_main!(benches);
