//! Streamed query results (`Db::query_stream`, `Session::query_stream`): a scan
//! hands its rows over segment by segment, so a result larger than the memory
//! limit can be read; other plans run first and are then handed over; errors
//! and an early drop end the stream cleanly.

use logdb::sql::Session;
use logdb::{BatchBuilder, DataType, Db, Error, Field, TableSchema};

/// A plain table `t(k, s)` of `rows` rows in segments of `segment_rows`:
/// `k = 0, 1, ...`, `s = 'row-<k, 24 digits>'`.
fn table(dir: &std::path::Path, rows: usize, segment_rows: usize) -> Db {
    let db = Db::builder()
        .max_segment_rows(segment_rows)
        .open(dir)
        .unwrap();
    let schema = TableSchema::new(vec![
        Field::new("k", DataType::BigInt),
        Field::new("s", DataType::Varchar),
    ]);
    db.create_table("t", schema.clone()).unwrap();
    let mut b = BatchBuilder::new(&schema);
    for i in 0..rows {
        b.push_i64(0, i as i64);
        b.push_str(1, &format!("row-{i:024}"));
    }
    db.append("t", &b.finish()).unwrap();
    db
}

/// The first column of every row of `stream`, as integers.
fn first_ints(stream: logdb::QueryStream) -> Vec<i64> {
    stream
        .flat_map(|c| {
            let c = c.unwrap();
            c.iter()
                .map(|r| r.get::<i64>(0).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn session(db: &Db, memory_limit: usize) -> Session {
    let mut s = Session::new(db.clone());
    s.options_mut().memory_limit = memory_limit;
    s.options_mut().threads = 2;
    s
}

#[test]
fn a_scan_streams_a_million_rows_holding_a_few_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = table(dir.path(), 1_000_000, 50_000);
    let sql = "SELECT k, s FROM t WHERE k % 2 = 0";
    let limit = 16 << 20;

    // Materialized, the result (~19 MiB) does not fit the limit.
    match session(&db, limit).execute(sql) {
        Err(Error::ResourcesExhausted(_)) => {}
        other => panic!(
            "expected the limit to be hit, got {:?}",
            other.map(|r| r.num_rows())
        ),
    }

    // Streamed, it does: one segment's rows at a time.
    let mut stream = session(&db, limit).query_stream(sql).unwrap();
    assert_eq!(stream.columns().len(), 2);
    let (mut rows, mut chunks, mut sum, mut total_bytes, mut largest) = (0, 0, 0i64, 0, 0);
    for chunk in stream.by_ref() {
        let chunk = chunk.unwrap();
        chunks += 1;
        rows += chunk.num_rows();
        for row in chunk.iter() {
            let k: i64 = row.get("k").unwrap();
            let s: &str = row.get("s").unwrap();
            assert_eq!(s, format!("row-{k:024}"));
            sum += k;
        }
        let bytes: usize = chunk.batches.iter().map(logdb::Batch::heap_bytes).sum();
        total_bytes += bytes;
        largest = largest.max(bytes);
    }
    assert_eq!(rows, 500_000);
    assert_eq!(sum, (0..1_000_000i64).step_by(2).sum::<i64>());
    assert!(chunks >= 20, "{chunks} chunks");
    // Held at once: a segment's rows per scan thread (while they grow, up to
    // twice their size) and the batch waiting for the reader, each reservation
    // rounded up by at most 1 MiB; never the whole result.
    let peak = stream.peak_memory() as usize;
    eprintln!("{chunks} chunks, {total_bytes} bytes, largest {largest}, peak held {peak}");
    assert!(
        peak <= 5 * (largest + (1 << 20)),
        "peak {peak}, batch {largest}"
    );
    assert!(peak * 2 < total_bytes, "peak {peak}, result {total_bytes}");
}

#[test]
fn a_streamed_scan_keeps_table_order() {
    // Segments of very different sizes, so the threads finish them out of order;
    // the rows still come in the order they were inserted, as DuckDB's do.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::builder().open(dir.path()).unwrap();
    db.query("CREATE TABLE t (k BIGINT, s VARCHAR)").unwrap();
    let mut expected = Vec::new();
    let mut k = 0i64;
    for round in 0..30 {
        let n = if round % 3 == 0 { 900 } else { 1 + round };
        let values: Vec<String> = (k..k + n).map(|i| format!("({i}, 'x')")).collect();
        db.query(&format!("INSERT INTO t VALUES {}", values.join(", ")))
            .unwrap();
        expected.extend(k..k + n);
        k += n;
    }
    for _ in 0..5 {
        let streamed = first_ints(
            session(&db, 1 << 30)
                .query_stream("SELECT k FROM t WHERE s = 'x'")
                .unwrap(),
        );
        assert_eq!(streamed, expected);
    }
}

#[test]
fn other_plans_run_first_and_are_handed_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = table(dir.path(), 20_000, 5_000);
    let streamed = first_ints(
        db.query_stream("SELECT k FROM t WHERE k < 10 ORDER BY k DESC")
            .unwrap(),
    );
    assert_eq!(streamed, (0..10).rev().collect::<Vec<i64>>());
    let n: i64 = db
        .query_stream("SELECT count(*) FROM t")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 20_000);
    // Statements that are not queries run at once; their result is streamed.
    let s = db.query_stream("CREATE TABLE u (a INTEGER)").unwrap();
    assert_eq!(s.columns().len(), 1);
    assert_eq!(s.map(|c| c.unwrap().num_rows()).sum::<usize>(), 0);
    assert!(db.query("SELECT * FROM u").is_ok());
    // A join streams its output.
    let joined: usize = db
        .query_stream("SELECT a.k FROM t a JOIN t b ON a.k = b.k WHERE b.k < 100")
        .unwrap()
        .batches()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(joined, 100);
}

#[test]
fn errors_and_an_early_drop_end_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let db = table(dir.path(), 200_000, 10_000);
    // Bad SQL fails before a stream exists.
    let e = db.query_stream("SELECT nope FROM t").unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    // An error while running ends the stream with it.
    let mut s = db
        .query_stream("SELECT CAST(s AS BIGINT) AS n FROM t")
        .unwrap();
    let first = s.next().unwrap();
    assert!(first.is_err(), "{first:?}");
    assert!(s.next().is_none());
    // Dropped after one chunk: the query stops, nothing hangs.
    let mut s = db.query_stream("SELECT k, s FROM t").unwrap();
    assert!(s.next().unwrap().unwrap().num_rows() > 0);
    drop(s);
    // Dropped before a plan that runs first has produced anything: cancelled.
    let s = db
        .query_stream("SELECT s, count(*) FROM t GROUP BY s ORDER BY 2 DESC, 1")
        .unwrap();
    drop(s);
    // The database is still usable.
    let r = db.query("SELECT count(*) FROM t").unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 200_000);
}

/// A table function streams like a scan: a range whose materialized result
/// passes the limit is read batch by batch under it.
#[test]
fn a_table_function_streams_its_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let sql = "SELECT i * 2 FROM range(3000000) t(i) WHERE i % 3 = 0";
    let limit = 4 << 20;
    match session(&db, limit).execute(sql) {
        Err(Error::ResourcesExhausted(_)) => {}
        other => panic!(
            "expected the limit to be hit, got {:?}",
            other.map(|r| r.num_rows())
        ),
    }
    let (mut rows, mut sum) = (0usize, 0i64);
    for batch in session(&db, limit).query_stream(sql).unwrap().batches() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        if let logdb::ColumnData::Int64(v) = &batch.columns[0].data {
            sum += v.iter().sum::<i64>();
        }
    }
    assert_eq!(rows, 1_000_000);
    let want: i64 = (0..3_000_000i64)
        .filter(|i| i % 3 == 0)
        .map(|i| i * 2)
        .sum();
    assert_eq!(sum, want);
}
