//! The aggregate cache (`SET aggregate_cache = true`): a session that reuses the
//! groups of whole segments between queries answers exactly as one that scans
//! everything, while the table grows, time windows slide, partitions are
//! deleted and filters change; EXPLAIN ANALYZE says how much it reused.

use crate::common::{log_batch, log_schema, DAY, HOUR, T0};
use logdb::{Db, Session, Value};

/// Rows compared with floats equal to `tolerance` relative (merging in another
/// order may change the last bits of a sum, and a quantile sketch's answer
/// within its error).
fn same(a: &[Vec<Value>], b: &[Vec<Value>], tolerance: f64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (Value::Float(p), Value::Float(q)) => {
                        (p - q).abs() <= tolerance * p.abs().max(q.abs()).max(1.0)
                    }
                    _ => p == q,
                })
        })
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    s.execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows()
}

fn analyze(s: &mut Session, sql: &str) -> String {
    rows(s, &format!("EXPLAIN ANALYZE {sql}"))
        .iter()
        .map(|r| format!("{:?}", r[0]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The panels of a dashboard and other aggregations, over `window`.
fn queries(window: &str) -> Vec<String> {
    let w = |extra: &str| match (window.is_empty(), extra.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!(" WHERE {extra}"),
        (false, true) => format!(" WHERE {window}"),
        (false, false) => format!(" WHERE {window} AND {extra}"),
    };
    vec![
        format!(
            "SELECT count(*), count_if(status >= 500), approx_count_distinct(client_ip), \
             sum(bytes), quantile_cont(request_time, 0.5), quantile_cont(request_time, 0.99), \
             approx_quantile(request_time, 0.95), avg(request_time), min(uri), max(ts) \
             FROM logs{}",
            w("")
        ),
        format!(
            "SELECT time_bucket(INTERVAL '10 minutes', ts) AS t, count(*), count_if(status >= 500) \
             FROM logs{} GROUP BY t ORDER BY t",
            w("")
        ),
        format!(
            "SELECT uri, count(*) AS n, count(DISTINCT uid), max(bytes) FROM logs{} \
             GROUP BY uri ORDER BY n DESC, uri LIMIT 10",
            w("")
        ),
        format!(
            "SELECT uid, count(*) AS n FROM logs{} GROUP BY uid ORDER BY n DESC, uid LIMIT 10",
            w("uid IS NOT NULL")
        ),
        format!(
            "SELECT status, user_agent, sum(request_time) FROM logs{} GROUP BY ALL ORDER BY ALL",
            w("status <> 200")
        ),
        format!(
            "SELECT secure, count(*) FROM logs{} GROUP BY secure ORDER BY secure",
            w("uri LIKE '/api/v1/%'")
        ),
    ]
}

fn check_all(cached: &mut Session, plain: &mut Session, window: &str) {
    for q in queries(window) {
        let want = rows(plain, &q);
        // Twice: once filling the cache, once from it.
        let tolerance = if q.contains("approx_quantile") {
            0.01
        } else {
            1e-9
        };
        for _ in 0..2 {
            let got = rows(cached, &q);
            assert!(
                same(&got, &want, tolerance),
                "{q}\ncached: {got:?}\nscanned: {want:?}"
            );
        }
    }
}

#[test]
fn cached_aggregates_answer_as_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::builder()
        .max_segment_rows(3000)
        .open(dir.path())
        .unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    let mut cached = Session::new(db.clone());
    cached.execute("SET aggregate_cache = true").unwrap();
    let mut plain = Session::new(db.clone());

    let step = 2_000_000; // a row every 2 s: 1,800 rows an hour
    let mut end = T0;
    for (round, n) in [12_000usize, 4_000, 700, 9_000].into_iter().enumerate() {
        // Appends make new segments after the cached ones.
        db.append("logs", &log_batch(&schema, round as u64, end, step, n))
            .unwrap();
        end += n as i64 * step;
        // Rows with values no earlier segment has (new strings to intern, a new
        // status), in a segment of their own.
        let ts = |t: i64| format!("TIMESTAMP '{}'", micros_text(t));
        let fresh: Vec<String> = (0..5)
            .map(|i| {
                format!(
                    "({}, '10.9.{round}.{i}', '/new/{round}/{i}', 'n{round}', 418, {i}, 0.25, 'bot/{round}', true)",
                    ts(end + i * 1000)
                )
            })
            .collect();
        plain
            .execute(&format!("INSERT INTO logs VALUES {}", fresh.join(", ")))
            .unwrap();
        end += 5_000;
        check_all(&mut cached, &mut plain, "");
        // Windows ending at the newest row, sliding forward.
        for back in [HOUR / 2, 3 * HOUR, 20 * HOUR] {
            let window = format!("ts >= {} AND ts < {}", ts(end - back), ts(end + 1));
            check_all(&mut cached, &mut plain, &window);
        }
        check_all(&mut cached, &mut plain, &format!("ts > {}", ts(T0 + HOUR)));
    }

    // The second run of a query reused every segment the first one saw.
    let q = "SELECT uri, max(bytes) FROM logs GROUP BY uri";
    rows(&mut cached, q);
    let plan = analyze(&mut cached, q);
    let kept = plan
        .split("segments: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap_or_default()
        .to_string();
    assert!(kept.parse::<u32>().unwrap() > 5, "{plan}");
    let reused = format!("aggregate_cache: {kept} whole segments");
    assert!(plan.contains(&reused), "{plan}");
    assert!(plan.contains("segments_scanned: 0 "), "{plan}");
    let off = analyze(&mut plain, q);
    assert!(!off.contains("aggregate_cache"), "{off}");
    assert!(
        rows(&mut cached, "EXPLAIN SELECT count(*), max(uri) FROM logs")
            .iter()
            .any(|r| format!("{:?}", r[0]).contains("aggregate_cache: on"))
    );
}

#[test]
fn cached_aggregates_follow_deleted_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::builder()
        .max_segment_rows(2000)
        .open(dir.path())
        .unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    // Three days of rows.
    db.append("logs", &log_batch(&schema, 5, T0, 40_000_000, 6_000))
        .unwrap();
    let mut cached = Session::new(db.clone());
    cached.execute("SET aggregate_cache = true").unwrap();
    let mut plain = Session::new(db.clone());
    check_all(&mut cached, &mut plain, "");
    let day = |d: i64| format!("TIMESTAMP '{}'", micros_text(T0 + d * DAY));
    plain
        .execute(&format!(
            "DELETE FROM logs WHERE ts >= {} AND ts < {}",
            day(0),
            day(1)
        ))
        .unwrap();
    check_all(&mut cached, &mut plain, "");
    // A new session of the same database shares the cache; turned off, it scans.
    let mut other = Session::new(db.clone());
    other.execute("SET aggregate_cache = true").unwrap();
    let q = "SELECT status, sum(bytes) FROM logs GROUP BY status";
    assert!(analyze(&mut other, q).contains("aggregate_cache: "));
    other.execute("SET aggregate_cache = false").unwrap();
    assert!(!analyze(&mut other, q).contains("aggregate_cache"));
    other.execute("SET aggregate_cache = true").unwrap();
    other.execute("RESET aggregate_cache").unwrap();
    assert_eq!(
        rows(&mut other, "SELECT current_setting('aggregate_cache')"),
        vec![vec![Value::Bool(false)]]
    );
    let e = other
        .execute("SET aggregate_cache = 'sometimes'")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("aggregate_cache needs true or false"),
        "{e}"
    );
}

fn micros_text(t: i64) -> String {
    logdb::time::format_timestamp(t)
}
