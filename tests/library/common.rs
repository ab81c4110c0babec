//! Helpers shared by the in-process tests: access-log-like batches and tables, and
//! run-and-assert helpers for SQL.
#![allow(dead_code)]

use logdb::{Batch, BatchBuilder, DataType, Field, TableSchema};

pub const HOUR: i64 = 3_600_000_000;
pub const DAY: i64 = 24 * HOUR;
/// 2024-05-01 00:00:00 UTC.
pub const T0: i64 = 1_714_521_600_000_000;

pub fn log_schema() -> TableSchema {
    TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("client_ip", DataType::Ip),
        Field::new("uri", DataType::Varchar),
        Field::new("uid", DataType::Varchar),
        Field::new("status", DataType::SmallInt),
        Field::new("bytes", DataType::BigInt),
        Field::new("request_time", DataType::Double),
        Field::new("user_agent", DataType::Varchar),
        Field::new("secure", DataType::Boolean),
    ])
    .with_time_column("ts")
    .with_indexes(["uid", "uri", "status"])
}

/// A small deterministic PRNG (splitmix64).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `rows` log rows starting at `start`, `step` micros apart, with skewed uids and
/// uris, a few NULLs, mostly-200 statuses.
pub fn log_batch(schema: &TableSchema, seed: u64, start: i64, step: i64, rows: usize) -> Batch {
    let mut rng = Rng(seed);
    let mut b = BatchBuilder::new(schema);
    for i in 0..rows {
        b.push_i64(0, start + i as i64 * step);
        b.push_ip(
            1,
            (0xffff_u128 << 32) | (rng.below(1 << 20) as u128 + 0x0a00_0000),
        );
        let u = rng.below(1000);
        let uri = format!("/api/v{}/item/{}", u % 3, (u * u) % 97);
        b.push_str(2, &uri);
        if rng.below(10) == 0 {
            b.push_null(3);
        } else {
            let r = rng.below(1 << 16);
            let uid = if r.is_multiple_of(4) { 1000 } else { r % 500 };
            b.push_str(3, &format!("u{uid}"));
        }
        let s = match rng.below(100) {
            0..=89 => 200,
            90..=94 => 304,
            95..=97 => 404,
            _ => 500,
        };
        b.push_i64(4, s);
        b.push_i64(5, rng.below(100_000) as i64);
        if rng.below(50) == 0 {
            b.push_null(6);
        } else {
            b.push_f64(6, rng.below(5000) as f64 / 1000.0);
        }
        b.push_str(
            7,
            ["Mozilla/5.0", "curl/8.0", "Googlebot/2.1"][rng.below(3) as usize],
        );
        b.push_bool(8, rng.below(2) == 0);
    }
    b.finish()
}

/// All rows of a scan as value tuples.
pub fn all_rows(db: &logdb::Db, table: &str) -> Vec<Vec<logdb::Value>> {
    let snap = db.snapshot().unwrap();
    let mut out = Vec::new();
    for batch in snap.scan(table, &logdb::ScanOptions::default()).unwrap() {
        let batch = batch.unwrap();
        for r in 0..batch.num_rows() {
            out.push(batch.columns.iter().map(|c| c.value(r)).collect());
        }
    }
    out
}

/// The rows of a batch as value tuples.
pub fn batch_rows(batch: &Batch) -> Vec<Vec<logdb::Value>> {
    (0..batch.num_rows())
        .map(|r| batch.columns.iter().map(|c| c.value(r)).collect())
        .collect()
}

/// A log table of `rows` rows (`log_batch` with `seed`, one row every 0.5 s from
/// `T0`) in small segments (3,000 rows) and blocks (2,048), so indexes skip a lot.
pub fn indexed_logs_db(dir: &std::path::Path, seed: u64, rows: usize) -> logdb::Db {
    let db = logdb::Db::builder()
        .max_segment_rows(3000)
        .block_rows(2048)
        .open(dir)
        .unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, seed, T0, 500_000, rows))
        .unwrap();
    db
}

/// Runs `sql` on two threads, with or without the bitmap-index path.
pub fn run_sql(db: &logdb::Db, sql: &str, use_indexes: bool) -> logdb::QueryResult {
    let snap = db.snapshot().unwrap();
    let plan = logdb::sql::plan(&snap, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let opts = logdb::exec::ExecOptions {
        threads: 2,
        use_indexes,
        ..logdb::exec::ExecOptions::default()
    };
    logdb::exec::execute(&snap, &plan, &opts).unwrap_or_else(|e| panic!("{sql}: {e}"))
}
