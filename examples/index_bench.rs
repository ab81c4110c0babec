//! Times queries with and without the bitmap-index path on an existing database.
//!
//! cargo run --release --example index_bench -- /tmp/idxdemo/db [table]

use std::time::Instant;

use logdb::exec::ExecOptions;
use logdb::Db;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/tmp/idxdemo/db".into());
    let table = args.next().unwrap_or_else(|| "logs".into());
    let db = Db::builder().read_only(true).open(&path)?;
    let snap = db.snapshot()?;
    // A rare uid: the least frequent one from the index counts.
    let counts = snap.value_counts(&table, "uid")?;
    let (rare, n) = counts
        .iter()
        .filter(|(_, c)| *c > 0)
        .min_by_key(|(_, c)| *c)
        .ok_or("no uids")?;
    let rare = match rare {
        logdb::Value::Str(s) => s.to_string(),
        other => format!("{other:?}"),
    };
    println!("rare uid {rare} ({n} rows)");
    // A uid with a few dozen rows spread over the table (in many dictionaries).
    let (some, m) = counts
        .iter()
        .min_by_key(|(_, c)| c.abs_diff(30))
        .ok_or("no uids")?;
    let some = match some {
        logdb::Value::Str(s) => s.to_string(),
        other => format!("{other:?}"),
    };
    println!("uid {some} ({m} rows)");
    let queries = [
        format!("SELECT ts, uri, status FROM {table} WHERE uid = '{some}'"),
        format!("SELECT status, count(*) FROM {table} WHERE uid = '{some}' GROUP BY status"),
        format!("SELECT ts, uri, status FROM {table} WHERE uid = '{rare}'"),
        format!("SELECT count(*) FROM {table} WHERE uid = '{rare}'"),
        format!("SELECT status, count(*) FROM {table} GROUP BY status"),
        format!("SELECT count(*) FROM {table}"),
    ];
    for sql in &queries {
        let plan = logdb::sql::plan(&snap, sql)?;
        for use_indexes in [false, true] {
            let opts = ExecOptions {
                use_indexes,
                ..ExecOptions::default()
            };
            let mut best = f64::MAX;
            let mut rows = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let r = logdb::exec::execute(&snap, &plan, &opts)?;
                best = best.min(t.elapsed().as_secs_f64() * 1000.0);
                rows = r.num_rows();
            }
            println!(
                "{:>7.2} ms  indexes={use_indexes:<5} rows={rows:<6} {sql}",
                best
            );
        }
    }
    let r = db.query(&format!(
        "EXPLAIN ANALYZE SELECT ts, uri, status FROM {table} WHERE uid = '{some}'"
    ))?;
    for row in r.text_rows() {
        println!("{}", row[0]);
    }
    Ok(())
}
