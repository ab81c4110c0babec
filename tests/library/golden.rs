//! Golden files: databases written by each released format version live in
//! `tests/golden/v<N>/` and must keep opening, reading and checking clean.
//!
//! The files of the current segment format version are made once by the `#[ignore]`d
//! `write_golden` test (`cargo test --test library -- --ignored golden::write_golden`)
//! and then never rewritten: a format change bumps the version and adds a new
//! directory. `v1` holds its index directories in the segment footer, `v2` in chunks
//! of their own, `v3` also stores dictionaries in pages, `v4` also stores integer
//! index keys in pages (its `bytes` column is indexed too: nearly every row a key of
//! its own, so each segment's index of it has several pages), `v5` adds a table
//! whose request targets are joined from their paths and query strings.

use std::path::{Path, PathBuf};

use logdb::{BatchBuilder, DataType, Db, Field, ScanOptions, TableSchema, Value};

fn golden_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/v{version}"))
}

/// 2024-05-01 22:00:00 UTC: the rows straddle midnight, so two day partitions.
const START: i64 = 1_714_600_800_000_000;
const ROWS: usize = 5000;

fn log_schema() -> TableSchema {
    TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("client_ip", DataType::Ip),
        Field::new("uri", DataType::Varchar),
        Field::new("uid", DataType::Varchar),
        Field::new("status", DataType::SmallInt),
        Field::new("bytes", DataType::BigInt),
        Field::new("request_time", DataType::Double),
        Field::new("referer", DataType::Varchar),
        Field::new("bot", DataType::Boolean),
        Field::new("port", DataType::Integer),
    ])
    .with_time_column("ts")
    .with_indexes(["uid", "uri", "status", "bytes"])
}

/// Row `i` of the golden log table, as values (the test's own, fixed definition).
fn row(i: usize) -> Vec<Value> {
    let i64i = i as i64;
    let ip = if i.is_multiple_of(7) {
        0x2001_0db8_u128 << 96 | i as u128
    } else {
        0xffff_u128 << 32 | (0x0a00_0000 + i as u128)
    };
    vec![
        Value::Int(START + i64i * 1_500_000),
        if i.is_multiple_of(11) {
            Value::Null
        } else {
            Value::Ip(ip)
        },
        Value::from(format!("/page/{}", (i * i) % 37).as_str()),
        if i.is_multiple_of(5) {
            Value::Null
        } else {
            Value::from(format!("u{}", if i.is_multiple_of(3) { 1000 } else { i % 50 }).as_str())
        },
        Value::Int([200, 200, 200, 304, 404, 500][i % 6]),
        Value::Int(i64i * 37 % 100_000),
        if i.is_multiple_of(13) {
            Value::Null
        } else {
            Value::Float((i % 997) as f64 / 1000.0)
        },
        // Nearly unique: stored as plain strings, not a dictionary.
        Value::from(format!("https://ref.example/{i}/{}", "x".repeat(i % 20)).as_str()),
        Value::Bool(i.is_multiple_of(4)),
        Value::Int(1024 + (i % 60000) as i64),
    ]
}

#[test]
#[ignore = "writes the golden files; run by hand when adding a format version"]
fn write_golden() {
    let dir = golden_dir(logdb::storage::segment::SEGMENT_FORMAT_VERSION);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let db = Db::builder()
        .max_segment_rows(2000)
        .block_rows(2048)
        .open(&dir)
        .unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &batch_of(&schema, row)).unwrap();
    let users = TableSchema::new(vec![
        Field::not_null("uid", DataType::Varchar),
        Field::new("plan", DataType::Varchar),
    ]);
    db.create_table("users", users.clone()).unwrap();
    let mut u = BatchBuilder::new(&users);
    for i in 0..50 {
        u.push_str(0, &format!("u{i}"));
        if i % 2 == 0 {
            u.push_str(1, "free");
        } else {
            u.push_null(1);
        }
    }
    db.append("users", &u.finish()).unwrap();
    // From v5: a request target joined from its path and query string.
    let requests = requests_schema();
    db.create_table("requests", requests.clone()).unwrap();
    db.append("requests", &batch_of(&requests, request))
        .unwrap();
    drop(db);
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

/// Rows `rows(0..ROWS)` of a table of `schema`.
fn batch_of(schema: &TableSchema, rows: fn(usize) -> Vec<Value>) -> logdb::Batch {
    let mut b = BatchBuilder::new(schema);
    for i in 0..ROWS {
        for (c, v) in rows(i).into_iter().enumerate() {
            match v {
                Value::Null => b.push_null(c),
                Value::Int(x) => b.push_i64(c, x),
                Value::Float(x) => b.push_f64(c, x),
                Value::Bool(x) => b.push_bool(c, x),
                Value::Str(s) => b.push_str(c, &s),
                Value::Ip(x) => b.push_ip(c, x),
                Value::List(_) => unreachable!("the golden rows hold no lists"),
            }
        }
    }
    b.finish()
}

fn requests_schema() -> TableSchema {
    TableSchema::new(vec![
        Field::not_null("ts", DataType::Timestamp),
        Field::new("target", DataType::Varchar),
        Field::new("path", DataType::Varchar),
        Field::new("query", DataType::Varchar),
    ])
    .with_time_column("ts")
}

/// Row `i` of the golden requests table (v5 on): the target is the path, `?`
/// and the query (the path alone without one), except in row 2500, so that the
/// segment holding it stores its targets plain.
fn request(i: usize) -> Vec<Value> {
    let path = format!("/p/{}", i % 97);
    let query = (!i.is_multiple_of(4)).then(|| format!("id={i}&n={}", i % 13));
    let target = match (&query, i) {
        _ if i.is_multiple_of(9) => Value::Null,
        (_, 2500) => Value::from("/elsewhere#top"),
        (Some(q), _) => Value::from(format!("{path}?{q}").as_str()),
        (None, _) => Value::from(path.as_str()),
    };
    vec![
        Value::Int(START + i as i64 * 1_500_000),
        target,
        Value::from(path.as_str()),
        query.map_or(Value::Null, |q| Value::from(q.as_str())),
    ]
}

#[test]
fn golden_v1_opens_reads_and_checks() {
    opens_reads_and_checks(1);
}

#[test]
fn golden_v2_opens_reads_and_checks() {
    opens_reads_and_checks(2);
}

#[test]
fn golden_v3_opens_reads_and_checks() {
    opens_reads_and_checks(3);
}

#[test]
fn golden_v4_opens_reads_and_checks() {
    opens_reads_and_checks(4);
    // Integer keys in pages: a look-up of a `bytes` value finds its one row, a value
    // no row holds finds none, and counts by value come from the index.
    let db = Db::builder().read_only(true).open(golden_dir(4)).unwrap();
    let snap = db.snapshot().unwrap();
    let rows_of = |v: i64| -> u64 {
        let hits = snap.lookup("logs", "bytes", &Value::Int(v)).unwrap();
        hits.iter().map(|(_, b)| b.len()).sum()
    };
    assert_eq!(rows_of(1234 * 37), 1);
    assert_eq!(rows_of(4999 * 37 % 100_000), 1);
    assert_eq!(rows_of(1), 0);
    assert_eq!(rows_of(-5), 0);
    let counts = snap.value_counts("logs", "bytes").unwrap();
    let want: std::collections::BTreeSet<i64> =
        (0..ROWS as i64).map(|i| i * 37 % 100_000).collect();
    assert_eq!(counts.len(), want.len());
    assert!(counts
        .iter()
        .zip(&want)
        .all(|((v, n), w)| *v == Value::Int(*w) && *n == 1));
}

#[test]
fn golden_v5_opens_reads_and_checks() {
    opens_reads_and_checks(5);
    // Joined targets: every row as written; the segments without the odd row
    // store no target values.
    let db = Db::builder().read_only(true).open(golden_dir(5)).unwrap();
    let snap = db.snapshot().unwrap();
    assert_rows(&snap, "requests", request);
    let target = &snap.column_sizes("requests").unwrap()[1];
    assert_eq!((target.name.as_str(), target.joined_blocks), ("target", 3));
}

/// The rows of `table`, in order, are `expected(0..ROWS)`.
fn assert_rows(snap: &logdb::Snapshot, table: &str, expected: fn(usize) -> Vec<Value>) {
    let mut n = 0;
    for batch in snap.scan(table, &ScanOptions::default()).unwrap() {
        let batch = batch.unwrap();
        for r in 0..batch.num_rows() {
            let got: Vec<Value> = batch.columns.iter().map(|c| c.value(r)).collect();
            assert_eq!(got, expected(n), "{table} row {n}");
            n += 1;
        }
    }
    assert_eq!(n, ROWS);
}

fn opens_reads_and_checks(version: u32) {
    let dir = golden_dir(version);
    let db = Db::builder().read_only(true).open(&dir).unwrap();
    let tables = db.table_names().unwrap();
    match version {
        ..5 => assert_eq!(tables, ["logs", "users"]),
        _ => assert_eq!(tables, ["logs", "requests", "users"]),
    }
    let info = db.table_info("logs").unwrap();
    assert_eq!(info.rows, ROWS as u64);
    assert_eq!(
        info.partitions
            .iter()
            .map(|p| p.key.as_str())
            .collect::<Vec<_>>(),
        ["2024-05-01", "2024-05-02"]
    );

    let snap = db.snapshot().unwrap();
    assert_rows(&snap, "logs", row);
    let hits: u64 = snap
        .lookup("logs", "uid", &Value::from("u1000"))
        .unwrap()
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert_eq!(
        hits,
        (0..ROWS).filter(|i| i % 5 != 0 && i % 3 == 0).count() as u64
    );
    assert_eq!(db.table_info("users").unwrap().rows, 50);

    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}
