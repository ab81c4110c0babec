//! Executor benchmarks: the everyday access-log questions over one million
//! generated log lines (`logdb generate`'s nginx combined format, imported the way
//! `logdb import` does), throughput in rows scanned per second.
//!
//! Run with `cargo bench --bench exec`. The log is generated and imported once,
//! outside the timed loops; each iteration runs one query through `Db::query`.
//! Larger runs (5M lines, peak memory) use `examples/exec_queries.rs`.

use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdb::import::{import, ImportOptions, Quiet, Source};
use logdb::ingest::generate::{generate, GenOptions, Profile};
use logdb::{Db, Value};

const LINES: u64 = 1_000_000;

struct Data {
    _dir: tempfile::TempDir,
    db: Db,
    hot_uid: String,
    top_uri: String,
}

fn setup() -> Data {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let mut w = BufWriter::new(std::fs::File::create(&log).expect("log file"));
    // The simple profile: the figures in BENCHMARKS.md were measured on it.
    let gen = GenOptions {
        profile: Profile::Simple,
        lines: LINES,
        days: 7,
        seed: 42,
        ..GenOptions::default()
    };
    generate(&gen, &mut w).expect("generate");
    w.flush().expect("flush");
    drop(w);
    let db = Db::open(dir.path().join("db")).expect("open");
    import(
        &db,
        &[Source::Path(log.clone())],
        &ImportOptions::new("combined"),
        &mut Quiet,
    )
    .expect("import");
    std::fs::remove_file(&log).expect("remove log");
    let snap = db.snapshot().expect("snapshot");
    let top = |col: &str| {
        let mut v = snap.value_counts("logs", col).expect("value counts");
        v.sort_by_key(|x| std::cmp::Reverse(x.1));
        match v.first().map(|x| &x.0) {
            Some(Value::Str(s)) => s.to_string(),
            _ => String::new(),
        }
    };
    let (hot_uid, top_uri) = (top("uid"), top("uri"));
    Data {
        _dir: dir,
        db,
        hot_uid,
        top_uri,
    }
}

fn bench(c: &mut Criterion) {
    let d = setup();
    let queries = [
        (
            "requests_per_hour",
            "SELECT date_trunc('hour', ts) AS h, count(*) FROM logs GROUP BY h ORDER BY h"
                .to_string(),
        ),
        (
            "status_mix_scan",
            // `bytes > -1` keeps the answer off the index counts.
            "SELECT status, count(*) FROM logs WHERE bytes > -1 GROUP BY status".into(),
        ),
        (
            "top_uris_scan",
            "SELECT uri, count(*) AS c FROM logs WHERE bytes > -1 GROUP BY uri ORDER BY c DESC LIMIT 10"
                .into(),
        ),
        (
            "uid_by_hour",
            format!(
                "SELECT hour(ts) AS h, count(*) FROM logs WHERE uid = '{}' GROUP BY h",
                d.hot_uid
            ),
        ),
        (
            "uri_quantiles",
            "SELECT uri, count(*) AS c, quantile_cont(request_time, 0.5), \
             quantile_cont(request_time, 0.95), quantile_cont(request_time, 0.99) \
             FROM logs GROUP BY uri ORDER BY c DESC LIMIT 10"
                .into(),
        ),
        (
            "distinct_uids_per_day",
            "SELECT date_trunc('day', ts) AS d, count(DISTINCT uid) FROM logs GROUP BY d".into(),
        ),
        (
            "day_hour_uid_agent_status_top10",
            "SELECT date_trunc('day', ts), hour(ts), uid, user_agent, status, count(*) AS c \
             FROM logs GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC LIMIT 10"
                .into(),
        ),
        (
            "uid_bytes_hash",
            "SELECT uid, bytes, count(*) FROM logs GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10".into(),
        ),
        (
            "errors_per_5min_one_uri",
            format!(
                "SELECT time_bucket(INTERVAL '5 minutes', ts) AS b, count(*) FROM logs \
                 WHERE uri = '{}' AND status >= 500 GROUP BY b",
                d.top_uri
            ),
        ),
    ];
    let mut g = c.benchmark_group("exec");
    g.throughput(Throughput::Elements(LINES));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (name, sql) in &queries {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(d.db.query(sql).expect("query").num_rows()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
