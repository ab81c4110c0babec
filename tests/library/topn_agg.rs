//! Two-phase top-N aggregation: `GROUP BY .. ORDER BY <cheap aggregates> LIMIT n`
//! with expensive aggregates gives the same rows as the one-phase plan (the same
//! query without LIMIT, cut in the test), and EXPLAIN shows when it applies.

use crate::common::{log_batch, log_schema, T0};
use logdb::{Db, Value};

fn log_db(dir: &std::path::Path) -> Db {
    let db = Db::builder().max_segment_rows(3000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 7, T0, 900_000, 20_000))
        .unwrap();
    db
}

fn explain(db: &Db, sql: &str) -> String {
    let r = db.query(&format!("EXPLAIN {sql}")).unwrap();
    r.rows()
        .into_iter()
        .map(|row| format!("{:?}", row[0]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `query ORDER BY order LIMIT fetch OFFSET skip` (which must take the
/// two-phase plan) and compares it with the rows `skip..skip + fetch` of the
/// same query without LIMIT (one phase). `sort_cols` are the output columns the
/// ORDER BY reads: when it does not order the rows totally, tied rows may differ,
/// so then only the sort values must agree and each row must be a result row.
fn check(db: &Db, query: &str, order: &str, skip: usize, fetch: usize, total: bool) {
    let limited = format!("{query} ORDER BY {order} LIMIT {fetch} OFFSET {skip}");
    let plan = explain(db, &limited);
    assert!(plan.contains("TwoPhaseTopN"), "{limited}\n{plan}");
    let full_sql = format!("{query} ORDER BY {order}");
    assert!(!explain(db, &full_sql).contains("TwoPhaseTopN"));
    let got = db.query(&limited).unwrap().rows();
    let full = db.query(&full_sql).unwrap().rows();
    let want: Vec<Vec<Value>> = full.iter().skip(skip).take(fetch).cloned().collect();
    assert!(!want.is_empty(), "{limited}: empty");
    if total {
        assert_eq!(got, want, "{limited}");
    } else {
        assert_eq!(got.len(), want.len(), "{limited}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g[1], w[1], "{limited}: sort value");
            assert!(full.contains(g), "{limited}: {g:?} is no result row");
        }
    }
}

#[test]
fn two_phase_matches_one_phase() {
    let dir = tempfile::tempdir().unwrap();
    let db = log_db(dir.path());
    let q6 = "SELECT uri, count(*) AS c, quantile_cont(request_time, 0.5) AS p50, \
              quantile_cont(request_time, 0.95) AS p95, median(bytes) AS m FROM logs GROUP BY uri";
    for (skip, fetch) in [(0, 10), (0, 1), (3, 5), (40, 30)] {
        check(&db, q6, "c DESC, uri", skip, fetch, true);
    }
    // NULL keys (uid is NULL in about 10% of the rows: the largest group).
    let by_uid = "SELECT uid, count(*) AS c, quantile_cont(request_time, 0.9) AS p90, \
                  count(DISTINCT uri) AS d FROM logs GROUP BY uid";
    check(&db, by_uid, "c DESC, uid", 0, 5, true);
    check(&db, by_uid, "uid NULLS FIRST", 0, 3, true);
    check(&db, by_uid, "uid DESC NULLS LAST", 1, 4, true);
    // HAVING on a count, ascending order.
    check(
        &db,
        "SELECT uri, count(*) AS c, median(request_time) AS m FROM logs GROUP BY uri \
         HAVING count(*) > 20",
        "c, uri",
        2,
        6,
        true,
    );
    // Several keys (the IN lists per key select a superset of the groups), a
    // WHERE clause, a FILTER and an ORDER BY expression.
    check(
        &db,
        "SELECT status, uid, count(*) AS c, sum(bytes) FILTER (WHERE bytes > 100) AS s, \
         approx_count_distinct(uri) AS a, quantile_cont(bytes, 0.25) AS q \
         FROM logs WHERE request_time > 0.01 GROUP BY status, uid",
        "count(*) * 2 DESC, s, status, uid",
        2,
        7,
        true,
    );
    // A key expression that is not in the SELECT list.
    check(
        &db,
        "SELECT count(*) AS c, min(uri) AS u, median(request_time) AS m FROM logs \
         GROUP BY lower(uri)",
        "c DESC, u",
        0,
        4,
        true,
    );
    // Ties the ORDER BY leaves open.
    check(
        &db,
        "SELECT uri, min(status) AS s, median(bytes) AS m FROM logs GROUP BY uri",
        "s",
        0,
        3,
        false,
    );
    // A WHERE that keeps no row.
    let empty = "SELECT uri, count(*) AS c, median(bytes) FROM logs WHERE status = 999 \
                 GROUP BY uri ORDER BY c DESC LIMIT 3";
    assert!(explain(&db, empty).contains("TwoPhaseTopN"));
    assert_eq!(db.query(empty).unwrap().num_rows(), 0);
}

#[test]
fn one_phase_when_the_ranking_needs_expensive_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let db = log_db(dir.path());
    for sql in [
        // The sort reads the quantile.
        "SELECT uri, median(bytes) AS m FROM logs GROUP BY uri ORDER BY m DESC LIMIT 3",
        // HAVING reads the quantile.
        "SELECT uri, count(*) AS c FROM logs GROUP BY uri HAVING median(bytes) > 10 \
         ORDER BY c DESC LIMIT 3",
        // No expensive aggregate.
        "SELECT uri, count(*) AS c FROM logs GROUP BY uri ORDER BY c DESC LIMIT 3",
        // A DOUBLE key.
        "SELECT request_time, count(*) AS c, median(bytes) FROM logs GROUP BY request_time \
         ORDER BY c DESC LIMIT 3",
        // Too many rows.
        "SELECT uri, count(*) AS c, median(bytes) FROM logs GROUP BY uri ORDER BY c LIMIT 2000",
    ] {
        assert!(!explain(&db, sql).contains("TwoPhaseTopN"), "{sql}");
        db.query(sql).unwrap();
    }
}
