//! The `sql` target: arbitrary text parsed, planned and executed against a small
//! database built once per process in memory ([`fuzz_db`]).
//!
//! Checked for every input:
//! - nothing panics, and no error is [`Error::Internal`] (always a bug);
//! - a user mistake found while parsing or planning is an `InvalidInput` or
//!   `NotFound` whose message starts with "line L, column C:" (spec/sql.md);
//! - the same query with and without bitmap indexes gives the same rows (in any
//!   order), as `ExecOptions::use_indexes` promises; under a LIMIT (ties may be cut
//!   either way) only the same number of rows; EXPLAIN output is exempt;
//! - on two threads it gives the same number of rows with the same column types.
//!
//! Every run is deterministic: the database is in memory and fixed, the first two
//! runs use one thread. A run that passes [`RUN_DEADLINE`] is cancelled (results
//! are compared only when every run finished).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use logdb::sql::statement::Statement;
use logdb::sql::{parse_statement, plan_query, LogicalPlan, Session};
use logdb::storage::mem::MemBackend;
use logdb::{BatchBuilder, DataType, Db, Error, Field, QueryResult, TableSchema};

/// Longer inputs are skipped: they add time per run, not new paths.
pub const MAX_SQL_BYTES: usize = 4096;

/// Operator memory a fuzzed query may use before failing with ResourcesExhausted.
const FUZZ_MEMORY_LIMIT: usize = 256 << 20;

/// 2024-05-01 00:00:00 UTC in microseconds.
const T0: i64 = 1_714_521_600_000_000;
const MINUTE: i64 = 60_000_000;

/// The database every input runs against (built on first use):
/// - `logs`: 9,000 access-log rows over two days (ts, client_ip, uri, uid, status,
///   bytes, request_time, user_agent, secure), indexed on uid, uri and status, in
///   segments of at most 2,500 rows and blocks of 2,048 (the smallest); the first day
///   has enough rows to be split into hour partitions, the second is one partition;
/// - `t`: eight hand-written rows with NULLs and extreme values
///   (id, name, x INTEGER, y DOUBLE, flag, ts, ip), as in tests/slt;
/// - `empty`: t's columns, no rows; `nulls`: t's columns, three rows of NULLs.
pub fn fuzz_db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| build_db().expect("the fuzz database builds"))
}

fn build_db() -> logdb::Result<Db> {
    let db = Db::builder()
        .max_segment_rows(2500)
        .block_rows(2048)
        .hour_split_rows(4500)
        .open_backend(Arc::new(MemBackend::new()))?;

    let logs = TableSchema::new(vec![
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
    .with_indexes(["uid", "uri", "status"]);
    db.create_table("logs", logs.clone())?;
    let mut rng = 0x5eed_u64;
    for (start, rows, step) in [
        (T0, 5000, MINUTE / 4),
        (T0 + 1440 * MINUTE, 4000, MINUTE / 3),
    ] {
        let mut b = BatchBuilder::new(&logs);
        for i in 0..rows {
            let r = splitmix(&mut rng);
            b.push_i64(0, start + i as i64 * step + (r % 1000) as i64);
            if r.is_multiple_of(29) {
                b.push_null(1);
            } else {
                b.push_ip(1, 0xffff_0a00_0000 | u128::from((r >> 8) as u16));
            }
            b.push_str(2, &format!("/api/v{}/item/{}", r % 3, (r >> 16) % 23));
            if r.is_multiple_of(11) {
                b.push_null(3);
            } else {
                b.push_str(3, &format!("u{}", (r >> 24) % 40));
            }
            let status = [200, 200, 200, 200, 200, 304, 404, 500][(r >> 32) as usize % 8];
            b.push_i64(4, status);
            b.push_i64(5, ((r >> 36) % 100_000) as i64);
            if r.is_multiple_of(37) {
                b.push_null(6);
            } else {
                b.push_f64(6, ((r >> 40) % 5000) as f64 / 1000.0);
            }
            b.push_str(
                7,
                ["Mozilla/5.0", "curl/8.0", "Googlebot/2.1", ""][(r >> 50) as usize % 4],
            );
            b.push_bool(8, r & (1 << 60) != 0);
        }
        db.append("logs", &b.finish())?;
    }

    let t = TableSchema::new(vec![
        Field::new("id", DataType::BigInt),
        Field::new("name", DataType::Varchar),
        Field::new("x", DataType::Integer),
        Field::new("y", DataType::Double),
        Field::new("flag", DataType::Boolean),
        Field::new("ts", DataType::Timestamp),
        Field::new("ip", DataType::Ip),
    ]);
    db.create_table("t", t.clone())?;
    type Row = (
        Option<&'static str>,
        Option<i64>,
        Option<f64>,
        Option<bool>,
        Option<i64>,
        Option<u128>,
    );
    let rows: [Row; 8] = [
        (
            Some("alpha"),
            Some(10),
            Some(1.5),
            Some(true),
            Some(T0 + 600 * MINUTE),
            Some(0xffff_0a00_0001),
        ),
        (
            Some("beta"),
            Some(-3),
            Some(2.25),
            Some(false),
            Some(T0 + 630 * MINUTE),
            Some(0xffff_0a00_0002),
        ),
        (None, Some(7), None, None, Some(T0 + 1440 * MINUTE), None),
        (Some("a_c"), None, Some(-0.5), Some(true), None, Some(1)),
        (
            Some("A%C"),
            Some(0),
            Some(0.0),
            Some(false),
            Some(T0 - 121 * 1440 * MINUTE),
            Some(0xffff_c0a8_0101),
        ),
        (
            Some("ünïcödé"),
            Some(10),
            Some(f64::INFINITY),
            None,
            Some(T0 + 600 * MINUTE),
            Some(0xffff_0a00_0001),
        ),
        (
            Some("Alpha"),
            Some(i64::from(i32::MAX)),
            Some(f64::NAN),
            Some(true),
            Some(i64::MIN / 2),
            Some(0x2001_0db8 << 96 | 1),
        ),
        (
            Some(""),
            Some(i64::from(i32::MIN)),
            Some(-1e300),
            Some(false),
            Some(0),
            Some(u128::MAX),
        ),
    ];
    let mut b = BatchBuilder::new(&t);
    for (i, (name, x, y, flag, ts, ip)) in rows.iter().enumerate() {
        b.push_i64(0, i as i64 + 1);
        match name {
            Some(s) => b.push_str(1, s),
            None => b.push_null(1),
        }
        match x {
            Some(v) => b.push_i64(2, *v),
            None => b.push_null(2),
        }
        match y {
            Some(v) => b.push_f64(3, *v),
            None => b.push_null(3),
        }
        match flag {
            Some(v) => b.push_bool(4, *v),
            None => b.push_null(4),
        }
        match ts {
            Some(v) => b.push_i64(5, *v),
            None => b.push_null(5),
        }
        match ip {
            Some(v) => b.push_ip(6, *v),
            None => b.push_null(6),
        }
    }
    db.append("t", &b.finish())?;
    db.create_table("empty", t.clone())?;
    db.create_table("nulls", t.clone())?;
    let mut b = BatchBuilder::new(&t);
    for i in 0..3 {
        b.push_i64(0, i);
        for c in 1..7 {
            b.push_null(c);
        }
    }
    db.append("nulls", &b.finish())?;
    Ok(db)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `sql` in a fresh session with the given settings, cancelled after
/// [`RUN_DEADLINE`] (the query then fails with `Error::Cancelled`).
fn run(db: &Db, sql: &str, threads: usize, use_indexes: bool) -> logdb::Result<QueryResult> {
    let mut session = Session::new(db.clone());
    let o = session.options_mut();
    o.threads = threads;
    o.use_indexes = use_indexes;
    o.memory_limit = FUZZ_MEMORY_LIMIT;
    let watchdog = watchdog();
    o.cancel = Some(watchdog.cancel.clone());
    watchdog.arm();
    let result = session.execute(sql);
    watchdog.disarm();
    result
}

/// Time one run of a fuzzed query may take before it is cancelled. A short query
/// can ask for a lot of work (`range(0, 10^12)`, a cross join of large inputs),
/// and the instrumented build runs 10-50x slower than a release build; libFuzzer
/// reports an input above 10 s (`-timeout=10` in tools/fuzz.sh) as a crash, and
/// each input runs up to three times.
const RUN_DEADLINE: Duration = Duration::from_secs(1);

/// One thread per process that sets the cancel flag of the running query once
/// its deadline passes (cancellation is checked between blocks and in join
/// loops, so it lands within milliseconds).
struct Watchdog {
    cancel: Arc<AtomicBool>,
    /// Milliseconds since `start` at which to cancel; 0 while no query runs.
    deadline_ms: AtomicU64,
    start: Instant,
}

impl Watchdog {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn arm(&self) {
        self.cancel.store(false, Ordering::SeqCst);
        let deadline = self.now_ms() + RUN_DEADLINE.as_millis() as u64;
        self.deadline_ms.store(deadline.max(1), Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.deadline_ms.store(0, Ordering::SeqCst);
        self.cancel.store(false, Ordering::SeqCst);
    }
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let w: &'static Watchdog = Box::leak(Box::new(Watchdog {
            cancel: Arc::new(AtomicBool::new(false)),
            deadline_ms: AtomicU64::new(0),
            start: Instant::now(),
        }));
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            let deadline = w.deadline_ms.load(Ordering::SeqCst);
            if deadline != 0 && w.now_ms() >= deadline {
                w.cancel.store(true, Ordering::SeqCst);
            }
        });
        w
    })
}

/// Panics on an error that only a bug can cause.
fn assert_not_internal(sql: &str, r: &logdb::Result<QueryResult>) {
    if let Err(e @ Error::Internal(_)) = r {
        panic!("internal error for {sql:?}: {e}");
    }
}

/// Panics unless a parse or plan error is a user error with a position.
fn assert_user_error(sql: &str, e: &Error) {
    match e {
        Error::InvalidInput(m) | Error::NotFound(m) => assert!(
            has_position(m),
            "error without 'line L, column C:' for {sql:?}: {m}"
        ),
        other => panic!("parse/plan error of the wrong kind for {sql:?}: {other:?}"),
    }
}

/// Whether `m` starts with "line L, column C:".
pub fn has_position(m: &str) -> bool {
    let Some(rest) = m.strip_prefix("line ") else {
        return false;
    };
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(rest);
    let Some(rest) = rest[n..].strip_prefix(", column ").filter(|_| n > 0) else {
        return false;
    };
    let n = digits(rest);
    n > 0 && rest[n..].starts_with(':')
}

/// Whether the rows depend on the scan order: the plan keeps only some rows
/// (LIMIT, OFFSET, ORDER BY ... LIMIT), or has window functions (rows tied on the
/// window's ORDER BY get their numbers, lags and frames in scan order).
fn has_limit(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Scan { .. } => false,
        LogicalPlan::Limit { .. }
        | LogicalPlan::Sort { fetch: Some(_), .. }
        | LogicalPlan::Window { .. } => true,
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Project { input, .. }
        | LogicalPlan::Aggregate { input, .. }
        | LogicalPlan::Sort { input, .. }
        | LogicalPlan::Unnest { input, .. }
        | LogicalPlan::Distinct { input } => has_limit(input),
        LogicalPlan::Join { left, right, .. } => has_limit(left) || has_limit(right),
        LogicalPlan::Union { inputs } => inputs.iter().any(has_limit),
        LogicalPlan::RecursiveCte { anchor, step, .. } => has_limit(anchor) || has_limit(step),
        LogicalPlan::Apply {
            input, subquery, ..
        } => has_limit(input) || has_limit(&subquery.plan),
        LogicalPlan::OneRow
        | LogicalPlan::Values { .. }
        | LogicalPlan::TableFunction { .. }
        | LogicalPlan::WorkTable { .. } => false,
    }
}

/// The rows of a result as sorted text (results without ORDER BY have no fixed order).
fn sorted_text(r: &QueryResult) -> Vec<Vec<String>> {
    let mut rows = r.text_rows();
    rows.sort();
    rows
}

/// The checks of the `sql` target (see the module docs).
pub fn check_sql(data: &[u8]) {
    if data.len() > MAX_SQL_BYTES {
        return;
    }
    let sql = String::from_utf8_lossy(data);
    let db = fuzz_db();
    let snapshot = db.snapshot().expect("snapshot of the in-memory database");
    let (explain, limited) = match parse_statement(&sql) {
        Err(e) => {
            assert_user_error(&sql, &e);
            return;
        }
        Ok(Statement::Query { query, explain }) => match plan_query(&snapshot, &query) {
            Err(e) => {
                assert_user_error(&sql, &e);
                return;
            }
            // A LIMIT inside a subquery (no plan node here) also makes the kept
            // rows depend on the scan order.
            Ok(plan) => (
                explain.is_some(),
                has_limit(&plan) || {
                    // Also calls whose values depend on the row order or on
                    // chance: only the row counts compare.
                    let upper = sql.to_uppercase();
                    [
                        "LIMIT",
                        "OFFSET",
                        "RANDOM",
                        "STRING_AGG",
                        "GROUP_CONCAT",
                        "LISTAGG",
                        "MODE",
                        "LAST",
                        "FIRST",
                        "ANY_VALUE",
                        "ARG_M",
                    ]
                    .iter()
                    .any(|w| upper.contains(w))
                },
            ),
        },
        // Statements that write (CREATE, INSERT, DROP, ...) would change the shared
        // database under later inputs: parsed, not run.
        Ok(_) => return,
    };
    let indexed = run(db, &sql, 1, true);
    assert_not_internal(&sql, &indexed);
    let scanned = run(db, &sql, 1, false);
    assert_not_internal(&sql, &scanned);
    if let (Ok(a), Ok(b)) = (&indexed, &scanned) {
        assert_eq!(
            a.columns, b.columns,
            "columns with and without indexes: {sql:?}"
        );
        if limited && !explain {
            assert_eq!(
                a.num_rows(),
                b.num_rows(),
                "rows with and without indexes: {sql:?}"
            );
        } else if !explain {
            assert_eq!(
                sorted_text(a),
                sorted_text(b),
                "rows with and without indexes differ: {sql:?}"
            );
        }
    }
    let parallel = run(db, &sql, 2, true);
    assert_not_internal(&sql, &parallel);
    if let (Ok(a), Ok(b)) = (&indexed, &parallel) {
        assert_eq!(a.columns, b.columns, "columns on 1 and 2 threads: {sql:?}");
        if !explain {
            assert_eq!(
                a.num_rows(),
                b.num_rows(),
                "rows on 1 and 2 threads: {sql:?}"
            );
        }
    }
    if let Ok(r) = &indexed {
        let _ = r.to_table_string();
    }
}
