//! Cancellation lands promptly: a cancel flag set from another thread stops a
//! big hash join (build, key hashing and probing check the flag every 64k rows)
//! long before the join would finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use logdb::exec::ExecOptions;
use logdb::sql::Session;
use logdb::{BatchBuilder, DataType, Db, Error, Field, TableSchema};

/// A plain table `t(k, s)` of `rows` rows: `k` cycles through `keys` values, `s`
/// is `k` as text.
fn table(dir: &std::path::Path, rows: usize, keys: usize) -> Db {
    let db = Db::open(dir).unwrap();
    let schema = TableSchema::new(vec![
        Field::new("k", DataType::BigInt),
        Field::new("s", DataType::Varchar),
    ]);
    db.create_table("t", schema.clone()).unwrap();
    let mut b = BatchBuilder::new(&schema);
    for i in 0..rows {
        let k = (i % keys) as i64;
        b.push_i64(0, k);
        b.push_str(1, &format!("key-{k:08}"));
    }
    db.append("t", &b.finish()).unwrap();
    db
}

/// Runs `sql` with a cancel flag that another thread sets after `after`; returns
/// the result and how long the query went on once the flag was set.
fn cancel_after(db: &Db, sql: &str, after: Duration) -> (logdb::Result<usize>, Duration) {
    let flag = Arc::new(AtomicBool::new(false));
    let mut session = Session::new(db.clone());
    *session.options_mut() = ExecOptions {
        cancel: Some(flag.clone()),
        ..ExecOptions::default()
    };
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            flag.store(true, Ordering::Relaxed);
            Instant::now()
        })
    };
    let r = session.execute(sql).map(|r| r.num_rows());
    let done = Instant::now();
    let set_at = setter.join().unwrap();
    (r, done.saturating_duration_since(set_at))
}

/// Regression: the hash join's build (hashing every build row) and its probe
/// (hashing every row of a probe batch) ran without looking at the cancel flag,
/// so Ctrl-C took 1.3 to 3.1 s to land on this join (debug build). The cancel
/// points are fractions of the join's own uncancelled time, so the test keeps
/// its meaning as the join gets faster.
#[test]
fn cancel_stops_a_big_self_join_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let db = table(dir.path(), 3_000_000, 3_000_000);
    let sql = "SELECT count(*) FROM t a JOIN t b ON a.s = b.s AND a.k = b.k";
    let start = Instant::now();
    Session::new(db.clone()).execute(sql).unwrap();
    let full = start.elapsed();
    // Early (scanning or building) and later (probing).
    for after in [full / 5, full * 3 / 5] {
        let (r, latency) = cancel_after(&db, sql, after);
        assert!(
            matches!(r, Err(Error::Cancelled)),
            "cancel after {after:?} of {full:?}: {r:?}"
        );
        assert!(
            latency < Duration::from_secs(1),
            "cancel after {after:?} of {full:?} took {latency:?} to land"
        );
    }
}

/// A join whose output is huge (10^9 pairs from 1,000 keys) stops between
/// output batches.
#[test]
fn cancel_stops_an_exploding_join_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let db = table(dir.path(), 1_000_000, 1000);
    let sql = "SELECT count(*) FROM t a JOIN t b ON a.k = b.k";
    let (r, latency) = cancel_after(&db, sql, Duration::from_millis(500));
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
}
