//! Times the executor on the everyday access-log questions.
//!
//! ```text
//! cargo build --release --example exec_queries
//! target/release/logdb generate --lines 5000000 -o /tmp/m.log
//! target/release/logdb import -f combined /tmp/m.db /tmp/m.log
//! target/release/examples/exec_queries /tmp/m.db [RUNS] [QUERY-NUMBER]
//! ```
//! Prints the best of RUNS (default 3) wall-clock times per query (and the first
//! rows of each result when `EXEC_QUERIES_PRINT` is set).

use std::time::Instant;

use logdb::column::Value;
use logdb::db::Db;

fn sql_string(v: &Value) -> String {
    match v {
        Value::Str(s) => s.replace('\'', "''"),
        other => format!("{other:?}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: exec_queries DB [RUNS] [QUERY]")?;
    let runs: usize = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let only: Option<usize> = args.get(3).map(|s| s.parse()).transpose()?;
    let db = Db::open(path)?;
    let snap = db.snapshot()?;
    let mut uids = snap.value_counts("logs", "uid")?;
    uids.sort_by_key(|u| std::cmp::Reverse(u.1));
    let hot = uids.first().map(|(v, _)| sql_string(v)).unwrap_or_default();
    let rare = uids.last().map(|(v, _)| sql_string(v)).unwrap_or_default();
    let mut uris = snap.value_counts("logs", "uri")?;
    uris.sort_by_key(|u| std::cmp::Reverse(u.1));
    let top_uri = uris.first().map(|(v, _)| sql_string(v)).unwrap_or_default();
    let queries = [
        ("count(*)", "SELECT count(*) FROM logs".to_string()),
        (
            "requests per hour",
            "SELECT date_trunc('hour', ts) AS h, count(*) FROM logs GROUP BY h ORDER BY h".into(),
        ),
        (
            "top 10 uris",
            "SELECT uri, count(*) AS c FROM logs GROUP BY uri ORDER BY c DESC LIMIT 10".into(),
        ),
        (
            "status mix",
            "SELECT status, count(*) AS c FROM logs GROUP BY status ORDER BY status".into(),
        ),
        (
            "one uid by hour",
            format!("SELECT hour(ts) AS h, count(*) FROM logs WHERE uid = '{hot}' GROUP BY h ORDER BY h"),
        ),
        (
            "p50/p95/p99 of top 10 uris",
            "SELECT uri, count(*) AS c, quantile_cont(request_time, 0.5) AS p50, \
             quantile_cont(request_time, 0.95) AS p95, quantile_cont(request_time, 0.99) AS p99 \
             FROM logs GROUP BY uri ORDER BY c DESC LIMIT 10"
                .into(),
        ),
        (
            "distinct uids per day",
            "SELECT date_trunc('day', ts) AS d, count(DISTINCT uid) FROM logs GROUP BY d ORDER BY d"
                .into(),
        ),
        (
            "(day, hour, uid, ua, status) top 10",
            "SELECT date_trunc('day', ts) AS day, hour(ts) AS hour, uid, user_agent, status, \
             count(*) AS c FROM logs GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC LIMIT 10"
                .into(),
        ),
        (
            "rows of a rare uid by ts",
            format!("SELECT * FROM logs WHERE uid = '{rare}' ORDER BY ts"),
        ),
        (
            "5xx per 5 minutes for one uri",
            format!(
                "SELECT time_bucket(INTERVAL '5 minutes', ts) AS b, count(*) FROM logs \
                 WHERE uri = '{top_uri}' AND status >= 500 GROUP BY b ORDER BY b"
            ),
        ),
    ];
    for (i, (name, sql)) in queries.iter().enumerate() {
        if only.is_some_and(|o| o != i + 1) {
            continue;
        }
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let r = db.query(sql)?;
            best = best.min(start.elapsed().as_secs_f64() * 1e3);
            rows = r.num_rows();
        }
        println!("{:>2} {name:<38} {best:>9.1} ms  {rows:>6} rows", i + 1);
        if std::env::var_os("EXEC_QUERIES_PRINT").is_some() {
            let r = db.query(sql)?;
            for line in r.to_table_string().lines().take(6) {
                println!("     {line}");
            }
        }
    }
    Ok(())
}
