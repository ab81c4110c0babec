//! Bounded-memory execution: the memory limit, partition-wise streaming
//! aggregation, the dense and hash group-by paths against a naive computation,
//! cancellation and progress.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::{log_batch, log_schema, DAY, HOUR, T0};
use logdb::exec::{execute_with_stats, ExecOptions, ExecStats, Progress};
use logdb::{Db, DbBuilder, Error, Value};

/// A `logs` table opened with `builder` in `dir`, holding `log_batch(seed, start,
/// step, rows)`.
fn logs_db(
    builder: DbBuilder,
    dir: &std::path::Path,
    seed: u64,
    (start, step, rows): (i64, i64, usize),
) -> Db {
    let db = builder.open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, seed, start, step, rows))
        .unwrap();
    db
}

/// `rows` rows spread over eight days (eight day partitions).
fn db_over_days(dir: &std::path::Path, rows: usize) -> Db {
    let builder = Db::builder().max_segment_rows(8000);
    logs_db(builder, dir, 5, (T0, 8 * DAY / rows as i64, rows))
}

fn opts(limit: usize) -> ExecOptions {
    ExecOptions {
        threads: 2,
        memory_limit: limit,
        ..ExecOptions::default()
    }
}

/// Runs `sql`; returns the rows and the estimated peak of operator memory.
fn run(db: &Db, sql: &str, o: &ExecOptions) -> logdb::Result<(Vec<Vec<Value>>, u64)> {
    let snap = db.snapshot().unwrap();
    let plan = logdb::sql::plan(&snap, sql).unwrap();
    let stats = ExecStats::default();
    let r = execute_with_stats(&snap, &plan, o, &stats)?;
    Ok((r.rows(), stats.peak_memory()))
}

fn assert_exhausted(r: logdb::Result<(Vec<Vec<Value>>, u64)>, sql: &str) {
    match r {
        Err(Error::ResourcesExhausted(m)) => {
            assert!(
                m.starts_with("query needs more than the memory limit of ")
                    && m.contains("(SET memory_limit to raise it) in "),
                "{m}"
            );
        }
        Err(e) => panic!("{sql}: expected ResourcesExhausted, got {e}"),
        Ok(_) => panic!("{sql}: expected ResourcesExhausted, got rows"),
    }
}

#[test]
fn partition_aligned_keys_stream_under_a_limit_that_fails_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 160_000);
    let unlimited = opts(usize::MAX);
    // (client_ip, bytes) is almost unique per row.
    let all_groups =
        "SELECT client_ip, bytes, count(*) AS c FROM logs GROUP BY 1, 2 ORDER BY c DESC, 1, 2 LIMIT 10";
    let per_day = "SELECT date_trunc('day', ts) AS d, client_ip, bytes, count(*) AS c FROM logs \
                   GROUP BY 1, 2, 3 ORDER BY c DESC, 1, 2, 3 LIMIT 10";
    let (_, peak_all) = run(&db, all_groups, &unlimited).unwrap();
    let (want, peak_day) = run(&db, per_day, &unlimited).unwrap();
    assert_eq!(want.len(), 10);
    // One day's groups (two workers: at most about two days in flight) against
    // all eight days' groups.
    assert!(
        peak_day * 2 < peak_all,
        "streaming peak {peak_day} vs {peak_all}"
    );
    let limit = ((peak_day + peak_all) / 2) as usize;
    assert_exhausted(run(&db, all_groups, &opts(limit)), all_groups);
    let (got, peak) = run(&db, per_day, &opts(limit)).unwrap();
    assert_eq!(got, want);
    assert!(peak as usize <= limit);
    // The time bucket can be any partition-aligned one; hour buckets too.
    let per_hour = per_day.replace("'day'", "'hour'");
    let (want, _) = run(&db, &per_hour, &unlimited).unwrap();
    let (got, _) = run(&db, &per_hour, &opts(limit)).unwrap();
    assert_eq!(got, want);
}

#[test]
fn a_big_sort_fails_cleanly_under_a_tiny_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 60_000);
    let sql = "SELECT * FROM logs ORDER BY bytes";
    assert_exhausted(run(&db, sql, &opts(1 << 20)), sql);
    let sql = "SELECT uid, bytes, count(*) FROM logs GROUP BY 1, 2";
    assert_exhausted(run(&db, sql, &opts(1 << 20)), sql);
    // With LIMIT the heap holds ten rows; the scan materializes only the sort key
    // and the selected columns, which fit.
    let sql = "SELECT ts, bytes FROM logs ORDER BY bytes DESC, ts LIMIT 10";
    let (rows, _) = run(&db, sql, &opts(8 << 20)).unwrap();
    assert_eq!(rows.len(), 10);
    let all = crate::common::all_rows(&db, "logs");
    let mut want: Vec<(i64, i64)> = all
        .iter()
        .filter_map(|r| match (&r[0], &r[5]) {
            (Value::Int(t), Value::Int(b)) => Some((*t, *b)),
            _ => None,
        })
        .collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let want: Vec<Vec<Value>> = want
        .iter()
        .take(10)
        .map(|(t, b)| vec![Value::Int(*t), Value::Int(*b)])
        .collect();
    assert_eq!(rows, want);
    // Whole rows: the scan streams segment by segment into the top-N, so a limit
    // far below the table's size is enough.
    let sql = "SELECT * FROM logs ORDER BY bytes DESC, ts LIMIT 10";
    let (unlimited, _) = run(&db, sql, &opts(usize::MAX)).unwrap();
    let (rows, peak) = run(&db, sql, &opts(4 << 20)).unwrap();
    assert_eq!(rows, unlimited);
    assert!(peak < 4 << 20, "{peak}");
    assert_exhausted(
        run(
            &db,
            "SELECT * FROM logs ORDER BY bytes DESC, ts",
            &opts(4 << 20),
        ),
        sql,
    );
}

#[test]
fn window_functions_count_their_rows_and_frames_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 60_000);
    let sql = "SELECT ts, bytes, sum(bytes) OVER (PARTITION BY uid ORDER BY ts ROWS BETWEEN \
               10 PRECEDING AND CURRENT ROW) AS s, lag(bytes) OVER (PARTITION BY uid \
               ORDER BY ts) AS prev FROM logs";
    let (want, peak) = run(&db, sql, &opts(usize::MAX)).unwrap();
    assert_eq!(want.len(), 60_000);
    // At least the frames and the segment tree of the sum: dozens of bytes a row.
    assert!(peak > 60_000 * 48, "peak {peak}");
    match run(&db, sql, &opts(peak as usize / 2)) {
        Err(Error::ResourcesExhausted(m)) => assert!(m.ends_with("in window"), "{m}"),
        Err(e) => panic!("expected ResourcesExhausted, got {e}"),
        Ok(_) => panic!("expected ResourcesExhausted, got rows"),
    }
    let (got, _) = run(&db, sql, &opts(peak as usize + (2 << 20))).unwrap();
    assert_eq!(got, want);
}

fn render(v: &Value) -> String {
    match v {
        Value::Float(f) => format!("{f:.6}"),
        other => format!("{other:?}"),
    }
}

/// Group-by through the dense path (small domains), the packed hash path, the
/// wide-key path and streaming, each against a naive computation.
#[test]
fn every_group_by_path_agrees_with_a_naive_computation() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 30_000);
    let rows = crate::common::all_rows(&db, "logs");
    // Columns: 0 ts, 1 client_ip, 2 uri, 3 uid, 4 status, 5 bytes, 6 request_time,
    // 7 user_agent, 8 secure.
    let cases: Vec<(&str, KeyFn)> = vec![
        ("status, secure", |r| vec![r[4].clone(), r[8].clone()]),
        ("uid, bytes", |r| vec![r[3].clone(), r[5].clone()]),
        ("client_ip", |r| vec![r[1].clone()]),
        ("request_time, user_agent", |r| {
            vec![r[6].clone(), r[7].clone()]
        }),
        ("bytes * 2, status + 1", |r| {
            let m = |v: &Value, f: fn(i64) -> i64| match v {
                Value::Int(x) => Value::Int(f(*x)),
                _ => Value::Null,
            };
            vec![m(&r[5], |x| x * 2), m(&r[4], |x| x + 1)]
        }),
        ("date_trunc('hour', ts), uri", |r| {
            let h = match &r[0] {
                Value::Int(t) => Value::Int(t - t.rem_euclid(HOUR)),
                _ => Value::Null,
            };
            vec![h, r[2].clone()]
        }),
        // Keys of the time column alone: blocks inside one week (or month) find
        // their group once.
        ("date_trunc('week', ts)", |r| {
            let w = match &r[0] {
                // 1970-01-01 was a Thursday; weeks start on Monday.
                Value::Int(t) => Value::Int(t - (t + 3 * DAY).rem_euclid(7 * DAY)),
                _ => Value::Null,
            };
            vec![w]
        }),
        ("date_trunc('month', ts), hour(ts)", |r| match &r[0] {
            // Every row is in May 2024.
            Value::Int(t) => vec![Value::Int(T0), Value::Int(t.rem_euclid(DAY) / HOUR)],
            _ => vec![Value::Null, Value::Null],
        }),
        // Day buckets pack as (day - first) / 1 day; hour(ts) next to other keys
        // partitions the hash table.
        (
            "date_trunc('day', ts), hour(ts), uid, status",
            |r| match &r[0] {
                Value::Int(t) => vec![
                    Value::Int(t - t.rem_euclid(DAY)),
                    Value::Int(t.rem_euclid(DAY) / HOUR),
                    r[3].clone(),
                    r[4].clone(),
                ],
                _ => vec![Value::Null, Value::Null, r[3].clone(), r[4].clone()],
            },
        ),
        ("hour(ts), uid, status", |r| {
            let h = match &r[0] {
                Value::Int(t) => Value::Int(t.rem_euclid(DAY) / HOUR),
                _ => Value::Null,
            };
            vec![h, r[3].clone(), r[4].clone()]
        }),
    ];
    agrees_with_naive(&db, &rows, &cases);
}

type KeyFn = fn(&[Value]) -> Vec<Value>;

fn hour_of(v: &Value) -> Value {
    match v {
        Value::Int(t) => Value::Int(t.rem_euclid(DAY) / HOUR),
        _ => Value::Null,
    }
}

fn day_of(v: &Value) -> Value {
    match v {
        Value::Int(t) => Value::Int(t - t.rem_euclid(DAY)),
        _ => Value::Null,
    }
}

/// Runs `SELECT keys, <aggregates> FROM logs GROUP BY keys` for each case, with 1
/// and 2 threads, and compares it with the same grouping computed over `rows`.
fn agrees_with_naive(db: &Db, rows: &[Vec<Value>], cases: &[(&str, KeyFn)]) {
    for &(keys, key_fn) in cases {
        let nk = keys.split(", ").count();
        let sql = format!(
            "SELECT {keys}, count(*), sum(bytes), count(DISTINCT uid), max(request_time), \
             quantile_cont(bytes, 0.5), quantile_cont(bytes, 0.9) FROM logs GROUP BY {keys}"
        );
        for threads in [1, 2] {
            let o = ExecOptions {
                threads,
                ..ExecOptions::default()
            };
            let (got, _) = run(db, &sql, &o).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let mut got: Vec<String> = got
                .iter()
                .map(|r| r.iter().map(render).collect::<Vec<_>>().join("|"))
                .collect();
            let mut groups: BTreeMap<String, (Vec<Value>, Vec<&Vec<Value>>)> = BTreeMap::new();
            for r in rows {
                let k = key_fn(r);
                groups
                    .entry(format!("{k:?}"))
                    .or_insert((k, Vec::new()))
                    .1
                    .push(r);
            }
            let mut want: Vec<String> = groups
                .values()
                .map(|(k, rs)| {
                    let ints = |c: usize| {
                        rs.iter().filter_map(move |r| match r[c] {
                            Value::Int(x) => Some(x),
                            _ => None,
                        })
                    };
                    let sum: i64 = ints(5).sum();
                    let has_bytes = ints(5).next().is_some();
                    let uids: std::collections::BTreeSet<String> = rs
                        .iter()
                        .filter(|r| r[3] != Value::Null)
                        .map(|r| format!("{:?}", r[3]))
                        .collect();
                    let max_rt = rs
                        .iter()
                        .filter_map(|r| match r[6] {
                            Value::Float(f) => Some(f),
                            _ => None,
                        })
                        .fold(None, |a: Option<f64>, f| Some(a.map_or(f, |a| a.max(f))));
                    let mut b: Vec<f64> = ints(5).map(|x| x as f64).collect();
                    b.sort_by(f64::total_cmp);
                    let q = |q: f64| {
                        if b.is_empty() {
                            return Value::Null;
                        }
                        let pos = q * (b.len() - 1) as f64;
                        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                        Value::Float(b[lo] + (pos - lo as f64) * (b[hi] - b[lo]))
                    };
                    let mut cells: Vec<Value> = k.clone();
                    cells.push(Value::Int(rs.len() as i64));
                    cells.push(if has_bytes {
                        Value::Int(sum)
                    } else {
                        Value::Null
                    });
                    cells.push(Value::Int(uids.len() as i64));
                    cells.push(max_rt.map_or(Value::Null, Value::Float));
                    cells.push(q(0.5));
                    cells.push(q(0.9));
                    cells.iter().map(render).collect::<Vec<_>>().join("|")
                })
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got.len(), want.len(), "{sql}");
            assert_eq!(got, want, "{sql} ({nk} keys, {threads} threads)");
        }
    }
}

/// Time keys next to other keys (`date_trunc('day', ts), hour(ts), uid`): in a
/// block inside one hour they are evaluated once and the time column is not
/// decoded, unless something else reads it. Over two days of dense rows (most
/// blocks inside one hour, a few straddling one), several segments a day (merged
/// per day, their tables reused for the next day), and NULL uids.
#[test]
fn time_keys_constant_in_a_block_agree_with_a_naive_computation() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 110_000;
    let builder = Db::builder().block_rows(2048).max_segment_rows(30_000);
    let db = logs_db(builder, dir.path(), 9, (T0, 2 * DAY / rows as i64, rows));
    let all = crate::common::all_rows(&db, "logs");
    let cases: Vec<(&str, KeyFn)> = vec![
        ("date_trunc('day', ts), hour(ts), uid, status", |r| {
            vec![day_of(&r[0]), hour_of(&r[0]), r[3].clone(), r[4].clone()]
        }),
        ("hour(ts), uid, user_agent", |r| {
            vec![hour_of(&r[0]), r[3].clone(), r[7].clone()]
        }),
        // The time column is also a key of its own: it is decoded.
        ("date_trunc('day', ts), hour(ts), uid, ts", |r| {
            vec![day_of(&r[0]), hour_of(&r[0]), r[3].clone(), r[0].clone()]
        }),
    ];
    agrees_with_naive(&db, &all, &cases);

    // Only the time keys read `ts`: blocks inside one hour skip it, so the query
    // reads fewer bytes than one that also aggregates `ts`.
    let bytes = |sql: &str| {
        let snap = db.snapshot().unwrap();
        let plan = logdb::sql::plan(&snap, sql).unwrap();
        let stats = ExecStats::default();
        let r = execute_with_stats(&snap, &plan, &opts(usize::MAX), &stats).unwrap();
        (r.rows(), ExecStats::get(&stats.bytes_read))
    };
    let keys = "date_trunc('day', ts), hour(ts), uid";
    let (a, skipped) = bytes(&format!(
        "SELECT {keys}, count(*) FROM logs GROUP BY ALL ORDER BY ALL"
    ));
    let (b, read) = bytes(&format!(
        "SELECT {keys}, count(*), max(ts) >= min(ts) FROM logs GROUP BY ALL ORDER BY ALL"
    ));
    assert!(skipped < read, "{skipped} >= {read}");
    let strip = |rows: Vec<Vec<Value>>| -> Vec<Vec<Value>> {
        rows.into_iter().map(|r| r[..4].to_vec()).collect()
    };
    assert_eq!(a, strip(b));
    // A filter on `ts` reads it, and the answer is that of the naive computation.
    let (got, _) = run(
        &db,
        &format!(
            "SELECT {keys}, count(*) FROM logs WHERE ts < TIMESTAMP '2024-05-01 13:30:00' \
             GROUP BY ALL ORDER BY ALL"
        ),
        &opts(usize::MAX),
    )
    .unwrap();
    let cut = T0 + 13 * HOUR + 30 * 60_000_000;
    let mut want: BTreeMap<String, (Vec<Value>, i64)> = BTreeMap::new();
    for r in all
        .iter()
        .filter(|r| matches!(r[0], Value::Int(t) if t < cut))
    {
        let k = vec![day_of(&r[0]), hour_of(&r[0]), r[3].clone()];
        want.entry(format!("{k:?}")).or_insert((k, 0)).1 += 1;
    }
    let mut want: Vec<Vec<Value>> = want
        .into_values()
        .map(|(mut k, n)| {
            k.push(Value::Int(n));
            k
        })
        .collect();
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut got = got;
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, want);
}

#[test]
fn a_cancelled_query_stops_with_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 20_000);
    let flag = Arc::new(AtomicBool::new(true));
    let o = ExecOptions {
        cancel: Some(flag.clone()),
        ..opts(usize::MAX)
    };
    for sql in [
        "SELECT uri, count(*) FROM logs GROUP BY uri",
        "SELECT * FROM logs WHERE bytes > 10",
        "SELECT date_trunc('hour', ts), count(*) FROM logs GROUP BY 1",
    ] {
        match run(&db, sql, &o) {
            Err(Error::Cancelled) => {}
            other => panic!(
                "{sql}: expected Cancelled, got {:?}",
                other.map(|r| r.0.len())
            ),
        }
    }
    flag.store(false, Ordering::Relaxed);
    assert!(run(&db, "SELECT uri, count(*) FROM logs GROUP BY uri", &o).is_ok());
}

#[test]
fn progress_counts_segments_rows_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 20_000);
    let progress = Arc::new(Progress::default());
    let o = ExecOptions {
        progress: Some(progress.clone()),
        ..opts(usize::MAX)
    };
    let (rows, _) = run(&db, "SELECT sum(bytes) FROM logs WHERE status = 200", &o).unwrap();
    assert_eq!(rows.len(), 1);
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    assert!(get(&progress.segments_total) >= 3);
    assert_eq!(get(&progress.segments_done), get(&progress.segments_total));
    assert!(get(&progress.rows_scanned) > 0 && get(&progress.rows_scanned) <= 20_000);
    assert!(get(&progress.bytes_read) > 0);

    // A filter no row passes still scans every block (its other columns unread).
    let progress = Arc::new(Progress::default());
    let o = ExecOptions {
        progress: Some(progress.clone()),
        ..opts(usize::MAX)
    };
    let (rows, _) = run(&db, "SELECT * FROM logs WHERE bytes + 1 = 0", &o).unwrap();
    assert!(rows.is_empty());
    assert_eq!(get(&progress.rows_scanned), 20_000);
}

/// `count(*)` grouped by keys that depend only on the time column counts a block
/// whose time zone map lies inside one bucket of every key without decoding it;
/// the counts match a naive computation, and blocks straddling a boundary (or
/// under a filter) are read as usual.
#[test]
fn count_by_time_keys_counts_whole_blocks_from_zone_maps() {
    let dir = tempfile::tempdir().unwrap();
    // One row a second for 30 hours, starting 10 minutes before midnight: blocks
    // of 2048 rows span 34 minutes, so most lie inside one hour and some do not.
    let builder = Db::builder().max_segment_rows(20_000).block_rows(2048);
    let span = (T0 + DAY - 600 * 1_000_000, 1_000_000, 108_000);
    let db = logs_db(builder, dir.path(), 7, span);
    let rows = crate::common::all_rows(&db, "logs");
    type KeyFn = fn(i64) -> Vec<i64>;
    let cases: Vec<(&str, KeyFn)> = vec![
        ("date_trunc('hour', ts)", |t| vec![t - t.rem_euclid(HOUR)]),
        ("hour(ts)", |t| vec![t.rem_euclid(DAY) / HOUR]),
        ("date_trunc('day', ts), hour(ts)", |t| {
            vec![t - t.rem_euclid(DAY), t.rem_euclid(DAY) / HOUR]
        }),
        ("time_bucket(INTERVAL '20 minutes', ts)", |t| {
            // DuckDB's origin for sub-day buckets is 2000-01-03 (a multiple of 20 minutes
            // from the epoch).
            vec![t - t.rem_euclid(20 * 60 * 1_000_000)]
        }),
        ("minute(ts)", |t| vec![t.rem_euclid(HOUR) / 60_000_000]),
    ];
    for (keys, key_fn) in cases {
        let mut want: BTreeMap<Vec<i64>, i64> = BTreeMap::new();
        for r in &rows {
            let Value::Int(t) = r[0] else {
                panic!("ts is never NULL")
            };
            *want.entry(key_fn(t)).or_default() += 1;
        }
        let sql = format!("SELECT {keys}, count(*) FROM logs GROUP BY ALL");
        for threads in [1, 2] {
            let snap = db.snapshot().unwrap();
            let plan = logdb::sql::plan(&snap, &sql).unwrap();
            let stats = ExecStats::default();
            let o = ExecOptions {
                threads,
                ..ExecOptions::default()
            };
            let got = execute_with_stats(&snap, &plan, &o, &stats).unwrap();
            let mut got: Vec<(Vec<i64>, i64)> = got
                .rows()
                .into_iter()
                .map(|r| {
                    let ints: Vec<i64> = r
                        .iter()
                        .map(|v| match v {
                            Value::Int(x) => *x,
                            other => panic!("{sql}: {other:?}"),
                        })
                        .collect();
                    (ints[..ints.len() - 1].to_vec(), ints[ints.len() - 1])
                })
                .collect();
            got.sort();
            let want: Vec<(Vec<i64>, i64)> = want.clone().into_iter().collect();
            assert_eq!(got, want, "{sql} ({threads} threads)");
            let counted = ExecStats::get(&stats.blocks_counted);
            let read = ExecStats::get(&stats.blocks_read);
            if keys == "minute(ts)" {
                // A block spans many minutes: every block is read.
                assert_eq!(counted, 0, "{sql}");
            } else {
                assert!(
                    counted > 0 && read > 0,
                    "{sql}: {counted} counted, {read} read"
                );
            }
            assert_eq!(counted + read, ExecStats::get(&stats.blocks), "{sql}");
        }
    }
    // A filter, or an aggregate other than count(*), reads every block.
    for sql in [
        "SELECT date_trunc('hour', ts), count(*) FROM logs WHERE bytes >= 0 GROUP BY 1",
        "SELECT date_trunc('hour', ts), count(*), sum(bytes) FROM logs GROUP BY 1",
        "SELECT date_trunc('hour', ts), count(*) FILTER (WHERE status = 200) FROM logs GROUP BY 1",
    ] {
        let snap = db.snapshot().unwrap();
        let plan = logdb::sql::plan(&snap, sql).unwrap();
        let stats = ExecStats::default();
        execute_with_stats(&snap, &plan, &ExecOptions::default(), &stats).unwrap();
        assert_eq!(ExecStats::get(&stats.blocks_counted), 0, "{sql}");
    }
}

/// The line of `EXPLAIN ANALYZE sql` that contains `what`.
fn explain_analyze_line(db: &Db, sql: &str, what: &str) -> String {
    let r = db.query(&format!("EXPLAIN ANALYZE {sql}")).unwrap();
    let text: String = r
        .rows()
        .iter()
        .map(|row| format!("{:?}\n", row[0]))
        .collect();
    text.lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no '{what}' in {text}"))
        .to_string()
}

/// EXPLAIN ANALYZE ends with the memory peak the pool saw.
#[test]
fn explain_analyze_reports_the_memory_peak() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 20_000);
    let peak = |sql: &str| -> String {
        let line = explain_analyze_line(&db, sql, "Total: rows=");
        line.split("peak_memory=")
            .nth(1)
            .unwrap_or_else(|| panic!("{line}"))
            .trim_end_matches(['"', ')'])
            .to_string()
    };
    // The count's one row is all it holds.
    let count = peak("SELECT count(*) FROM logs");
    assert!(count.ends_with(" bytes"), "{count}");
    let grouped = peak("SELECT uid, bytes, count(*) FROM logs GROUP BY ALL");
    assert!(
        grouped.ends_with("KiB") || grouped.ends_with("MiB"),
        "{grouped}"
    );
}

/// `count(*)` and `count(DISTINCT s)` grouped by time keys take a segment that
/// lies inside one bucket from its row count and its dictionary of `s`; a
/// segment whose `s` is all NULL (its dictionary holds a placeholder) adds no
/// value, and an empty string is a value.
#[test]
fn distinct_counts_by_day_come_from_segment_dictionaries() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 30_000);
    let day = |d: i64| T0 + 9 * DAY + d * DAY;
    let ts = |t: i64| logdb::time::format_timestamp(t);
    for (d, uid) in [(0, "NULL"), (1, "''"), (1, "'x'")] {
        db.query(&format!(
            "INSERT INTO logs (ts, uid) VALUES ('{}', {uid}), ('{}', {uid})",
            ts(day(d) + HOUR),
            ts(day(d) + 2 * HOUR)
        ))
        .unwrap();
    }
    let rows = crate::common::all_rows(&db, "logs");
    let mut want: BTreeMap<i64, (i64, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for r in &rows {
        let Value::Int(t) = r[0] else {
            panic!("ts is never NULL")
        };
        let e = want.entry(t - t.rem_euclid(DAY)).or_default();
        e.0 += 1;
        if let Value::Str(s) = &r[3] {
            e.1.insert(s.to_string());
        }
    }
    let want: Vec<Vec<Value>> = want
        .into_iter()
        .map(|(d, (n, set))| vec![Value::Int(d), Value::Int(n), Value::Int(set.len() as i64)])
        .collect();
    let sql = "SELECT date_trunc('day', ts) AS d, count(*), count(DISTINCT uid) FROM logs \
               GROUP BY d ORDER BY d";
    for threads in [1, 2] {
        let snap = db.snapshot().unwrap();
        let plan = logdb::sql::plan(&snap, sql).unwrap();
        let stats = ExecStats::default();
        let o = ExecOptions {
            threads,
            ..ExecOptions::default()
        };
        let got = execute_with_stats(&snap, &plan, &o, &stats).unwrap().rows();
        assert_eq!(got, want, "{threads} threads");
        assert_eq!(
            ExecStats::get(&stats.blocks_read),
            0,
            "every segment lies in one day"
        );
        assert!(ExecStats::get(&stats.blocks_counted) > 0);
    }
    // A filter reads the blocks, with the same answer.
    let filtered = db
        .query(
            "SELECT date_trunc('day', ts) AS d, count(*), count(DISTINCT uid) FROM logs \
             WHERE bytes IS NULL OR bytes >= 0 GROUP BY d ORDER BY d",
        )
        .unwrap()
        .rows();
    assert_eq!(filtered, want);

    // Without keys every segment is one group: the dictionaries of all of them
    // are merged.
    let stats = ExecStats::default();
    let snap = db.snapshot().unwrap();
    let sql = "SELECT count(*), count(DISTINCT uid) FROM logs";
    let plan = logdb::sql::plan(&snap, sql).unwrap();
    let got = execute_with_stats(&snap, &plan, &ExecOptions::default(), &stats)
        .unwrap()
        .rows();
    let distinct: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|r| match &r[3] {
            Value::Str(s) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![vec![
            Value::Int(rows.len() as i64),
            Value::Int(distinct.len() as i64)
        ]]
    );
    assert_eq!(ExecStats::get(&stats.blocks_read), 0);

    // One hour's group both from a segment inside it (its dictionary) and from
    // rows of segments spanning hours (their values): the same counts as
    // reading every row.
    for uid in ["'only-here'", "'x'"] {
        db.query(&format!(
            "INSERT INTO logs (ts, uid) VALUES ('{}', {uid})",
            ts(day(2) + HOUR + 60_000_000)
        ))
        .unwrap();
    }
    let by_hour = |filter: &str| {
        db.query(&format!(
            "SELECT date_trunc('hour', ts) AS h, count(*), count(DISTINCT uid) FROM logs \
             {filter} GROUP BY h ORDER BY h"
        ))
        .unwrap()
        .rows()
    };
    assert_eq!(
        by_hour(""),
        by_hour("WHERE bytes IS NULL OR bytes >= 0"),
        "hours mixing whole segments and rows"
    );
}

/// Streaming aggregation under ORDER BY <aggregate> LIMIT n drops a unit's groups
/// that sort after the top-N's worst kept row before materializing their keys:
/// the results equal the full sort's first rows, and fewer groups leave the
/// aggregate.
#[test]
fn a_top_n_bound_drops_groups_that_cannot_enter_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 40_000);
    let aggregate_rows = |sql: &str| -> u64 {
        let line = explain_analyze_line(&db, sql, "Aggregate:");
        let rows = line
            .split("(rows=")
            .nth(1)
            .unwrap_or_else(|| panic!("{line}"));
        rows[..rows.find(' ').unwrap()].parse().unwrap()
    };
    let keys = "date_trunc('day', ts) AS d, uid";
    for (aggs, order, n) in [
        ("count(*) AS c", "c DESC, d, uid", 7),
        ("count(*) AS c", "c, d, uid", 5),
        (
            "sum(bytes) AS s, count(*) AS c",
            "s DESC NULLS FIRST, d, uid",
            6,
        ),
        ("avg(request_time) AS a", "a DESC, d, uid", 4),
        (
            "max(request_time) AS m, count(*) AS c",
            "m, c DESC, d, uid",
            3,
        ),
    ] {
        let base = format!("SELECT {keys}, {aggs} FROM logs GROUP BY d, uid ORDER BY {order}");
        let all = db.query(&base).unwrap().rows();
        let limited = format!("{base} LIMIT {n}");
        let top = db.query(&limited).unwrap().rows();
        assert_eq!(top, all[..n.min(all.len())].to_vec(), "{limited}");
        assert!(
            aggregate_rows(&limited) < aggregate_rows(&base),
            "{limited}: no group was dropped"
        );
    }
    // OFFSET: each unit keeps its best OFFSET + LIMIT groups.
    let base =
        format!("SELECT {keys}, count(*) AS c FROM logs GROUP BY d, uid ORDER BY c DESC, d, uid");
    let all = db.query(&base).unwrap().rows();
    let page = db
        .query(&format!("{base} LIMIT 3 OFFSET 4"))
        .unwrap()
        .rows();
    assert_eq!(page, all[4..7].to_vec());
    // HAVING between the aggregate and the top-N.
    let base = format!(
        "SELECT {keys}, count(*) AS c FROM logs GROUP BY d, uid HAVING count(*) > 3 \
         ORDER BY c DESC, d, uid"
    );
    let all = db.query(&base).unwrap().rows();
    let top = db.query(&format!("{base} LIMIT 5")).unwrap().rows();
    assert_eq!(top, all[..5.min(all.len())].to_vec());
}

/// A self-join on a low-cardinality key makes millions of pairs from a few
/// thousand rows: aggregates and top-N over it stream the pairs and hold almost
/// nothing; materializing them fails with the limit named; a LIMIT stops the join.
#[test]
fn join_output_streams_into_aggregates_and_top_n_or_counts_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 4_000);
    let unlimited = opts(usize::MAX);
    let limit = opts(4 << 20);
    let (want, _) = run(
        &db,
        "SELECT sum(c * c) FROM (SELECT status, count(*) AS c FROM logs GROUP BY status)",
        &unlimited,
    )
    .unwrap();
    let pairs = match want[0][0] {
        Value::Int(n) => n,
        ref v => panic!("{v:?}"),
    };
    assert!(pairs > 2_000_000, "{pairs}");
    let count = "SELECT count(*) FROM logs a JOIN logs b ON a.status = b.status";
    let (got, peak) = run(&db, count, &limit).unwrap();
    assert_eq!(got, vec![vec![Value::Int(pairs)]]);
    assert!(peak < 2 << 20, "streamed join held {peak} bytes");
    // Grouped, and through a filter and a projection.
    let grouped = "SELECT a.status, count(*), sum(b.bytes) FROM logs a JOIN logs b \
                   ON a.status = b.status WHERE a.bytes > b.bytes GROUP BY 1 ORDER BY 1";
    assert_eq!(
        run(&db, grouped, &limit).unwrap().0,
        run(&db, grouped, &unlimited).unwrap().0
    );
    let top = "SELECT a.bytes + b.bytes AS s, a.ts, b.ts FROM logs a JOIN logs b \
               ON a.status = b.status ORDER BY 1 DESC, 2, 3 LIMIT 5";
    let (got, _) = run(&db, top, &limit).unwrap();
    let rows: Vec<(Value, i64, i64)> = crate::common::all_rows(&db, "logs")
        .into_iter()
        .filter_map(|r| match (&r[0], &r[5]) {
            (Value::Int(t), Value::Int(b)) => Some((r[4].clone(), *t, *b)),
            _ => None,
        })
        .collect();
    let mut pairs: Vec<(i64, i64, i64)> = Vec::new();
    for (sa, ta, ba) in &rows {
        for (sb, tb, bb) in &rows {
            if sa == sb && *sa != Value::Null {
                pairs.push((-(ba + bb), *ta, *tb));
            }
        }
    }
    pairs.sort_unstable();
    let want: Vec<Vec<Value>> = pairs[..5]
        .iter()
        .map(|&(s, a, b)| vec![Value::Int(-s), Value::Int(a), Value::Int(b)])
        .collect();
    assert_eq!(got, want);
    // Every pair materialized: over the limit, in the join.
    let all = "SELECT a.uri, b.uri FROM logs a JOIN logs b ON a.status = b.status ORDER BY 1, 2";
    match run(&db, all, &limit) {
        Err(Error::ResourcesExhausted(m)) => assert!(m.ends_with("in hash join output"), "{m}"),
        other => panic!("{all}: expected ResourcesExhausted, got {other:?}"),
    }
    // A LIMIT without ORDER BY stops the join after its rows.
    let few = "SELECT a.uri, b.uri FROM logs a JOIN logs b ON a.status = b.status LIMIT 7";
    assert_eq!(run(&db, few, &limit).unwrap().0.len(), 7);
}

/// DISTINCT is a group table: counted against the limit, and the same rows as
/// GROUP BY.
#[test]
fn distinct_runs_as_a_counted_group_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 60_000);
    let distinct = "SELECT count(*) FROM (SELECT DISTINCT client_ip, bytes FROM logs)";
    let grouped = "SELECT count(*) FROM (SELECT client_ip, bytes FROM logs GROUP BY 1, 2)";
    let (want, _) = run(&db, grouped, &opts(usize::MAX)).unwrap();
    let (got, peak) = run(&db, distinct, &opts(usize::MAX)).unwrap();
    assert_eq!(got, want);
    assert!(peak > 1 << 20, "{peak}");
    assert_exhausted(run(&db, distinct, &opts(1 << 20)), distinct);
    // Over a union (not a scan), the Distinct operator uses the same table.
    let union = "SELECT count(*) FROM (SELECT DISTINCT client_ip, bytes FROM \
                 (SELECT client_ip, bytes FROM logs UNION ALL SELECT client_ip, bytes FROM logs))";
    assert_eq!(run(&db, union, &opts(usize::MAX)).unwrap().0, want);
    assert_exhausted(run(&db, union, &opts(1 << 20)), union);
}

/// An IN subquery's rows and the literal list made of them stay in the plan for
/// the whole query: they count against the limit (a list of 10M distinct values
/// reached 3.3x a 1 GB limit), and a list is only built when it is short.
#[test]
fn in_subquery_results_count_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 60_000);
    let unlimited = opts(usize::MAX);
    // Every value distinct and none equal to a uri.
    let semi =
        "SELECT count(*) FROM logs WHERE uri IN (SELECT uri || CAST(ts AS VARCHAR) FROM logs)";
    let list = "SELECT count(*) FROM logs \
                WHERE uri IN (SELECT uri || CAST(ts AS VARCHAR) FROM logs) OR status = 0";
    let (got, peak) = run(&db, semi, &unlimited).unwrap();
    assert_eq!(got, vec![vec![Value::Int(0)]]);
    assert!(peak > 2 << 20, "{peak}");
    let (want, _) = run(
        &db,
        "SELECT count(*) FROM logs WHERE status = 0",
        &unlimited,
    )
    .unwrap();
    let (got, peak) = run(&db, list, &unlimited).unwrap();
    assert_eq!(got, want);
    assert!(peak > 4 << 20, "{peak}");
    for sql in [semi, list] {
        assert_exhausted(run(&db, sql, &opts(2 << 20)), sql);
    }
}

/// A table function's rows stream into the aggregate or top-N above it, batch by
/// batch (a range of 100M rows is counted under a 1 MiB limit), a LIMIT stops it
/// after its rows, a cancel flag stops it, and its output counts against the limit
/// where it is materialized.
#[test]
fn table_function_rows_stream_and_stop_early() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let limit = opts(1 << 20);
    let count = "SELECT count(*) FROM range(100000000)";
    let (got, peak) = run(&db, count, &limit).unwrap();
    assert_eq!(got, vec![vec![Value::Int(100_000_000)]]);
    assert!(peak < 1 << 20, "{peak}");
    // Grouped, through a filter and a projection.
    let grouped = "SELECT i % 3, count(*), sum(i) FROM range(3000000) t(i) \
                   WHERE i % 2 = 0 GROUP BY 1 ORDER BY 1";
    let mut want = [(0i64, 0i64); 3];
    for i in (0..3_000_000i64).filter(|i| i % 2 == 0) {
        want[(i % 3) as usize].0 += 1;
        want[(i % 3) as usize].1 += i;
    }
    let want: Vec<Vec<Value>> = want
        .iter()
        .enumerate()
        .map(|(k, &(c, s))| vec![Value::Int(k as i64), Value::Int(c), Value::Int(s)])
        .collect();
    assert_eq!(run(&db, grouped, &limit).unwrap().0, want);
    let top = "SELECT i FROM range(10000000) t(i) ORDER BY i DESC LIMIT 3";
    assert_eq!(
        run(&db, top, &limit).unwrap().0,
        [9_999_999, 9_999_998, 9_999_997].map(|v| vec![Value::Int(v)])
    );
    // A LIMIT stops a range of 10^15 rows after its first batch.
    let start = std::time::Instant::now();
    let few = "SELECT * FROM generate_series(1000000000000000) LIMIT 5 OFFSET 2";
    assert_eq!(
        run(&db, few, &limit).unwrap().0,
        (2..7).map(|v| vec![Value::Int(v)]).collect::<Vec<_>>()
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // Materialized, every row is counted.
    let all = "SELECT * FROM range(10000000)";
    match run(&db, all, &limit) {
        Err(Error::ResourcesExhausted(m)) => {
            assert!(m.ends_with("in table function output"), "{m}")
        }
        other => panic!("{all}: expected ResourcesExhausted, got {other:?}"),
    }
    // A raised cancel flag stops the function before its first batch.
    let flag = Arc::new(AtomicBool::new(true));
    let o = ExecOptions {
        cancel: Some(flag),
        ..opts(usize::MAX)
    };
    match run(&db, "SELECT count(*) FROM range(1000000000000)", &o) {
        Err(Error::Cancelled) => {}
        other => panic!("expected Cancelled, got {other:?}"),
    }
}

/// A cross product streams into count(*) chunk by chunk; materialized, it fails
/// cleanly at the limit.
#[test]
fn a_cross_product_streams_into_count_or_fails_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_over_days(dir.path(), 2_000);
    let limit = opts(4 << 20);
    let count = "SELECT count(*) FROM logs a CROSS JOIN logs b";
    let (got, peak) = run(&db, count, &limit).unwrap();
    assert_eq!(got, vec![vec![Value::Int(4_000_000)]]);
    assert!(peak < 4 << 20, "streamed cross product held {peak} bytes");
    let less = "SELECT count(*) FROM logs a, logs b WHERE a.bytes < b.bytes";
    let (got, _) = run(&db, less, &limit).unwrap();
    let bytes: Vec<i64> = crate::common::all_rows(&db, "logs")
        .into_iter()
        .filter_map(|r| match r[5] {
            Value::Int(b) => Some(b),
            _ => None,
        })
        .collect();
    let mut sorted = bytes.clone();
    sorted.sort_unstable();
    let want: usize = bytes
        .iter()
        .map(|b| sorted.len() - sorted.partition_point(|x| x <= b))
        .sum();
    assert_eq!(got, vec![vec![Value::Int(want as i64)]]);
    let all = "SELECT a.uri, b.uri FROM logs a CROSS JOIN logs b ORDER BY 1, 2";
    match run(&db, all, &limit) {
        Err(Error::ResourcesExhausted(m)) => {
            assert!(m.ends_with("in nested loop join output"), "{m}")
        }
        other => panic!("{all}: expected ResourcesExhausted, got {other:?}"),
    }
    let few = "SELECT a.uri, b.uri FROM logs a CROSS JOIN logs b LIMIT 7";
    assert_eq!(run(&db, few, &limit).unwrap().0.len(), 7);
}
