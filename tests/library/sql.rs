//! SQL engine tests: a differential test against a naive row-at-a-time evaluator,
//! error messages with positions, and a panic-freedom proptest on token soup.

use crate::common::{log_batch, log_schema, Rng, T0};
use logdb::{Db, Value};
use proptest::prelude::*;

fn log_db(dir: &std::path::Path, rows: usize) -> (Db, Vec<Vec<Value>>) {
    let db = Db::builder().max_segment_rows(3000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    let batch = log_batch(&schema, 11, T0, 700_000, rows);
    db.append("logs", &batch).unwrap();
    let all = crate::common::all_rows(&db, "logs");
    (db, all)
}

/// A random predicate as SQL and as a closure over a row (three-valued: None = NULL).
type Pred = Box<dyn Fn(&[Value]) -> Option<bool>>;

fn cmp_op(rng: &mut Rng) -> (&'static str, fn(std::cmp::Ordering) -> bool) {
    use std::cmp::Ordering::*;
    match rng.below(6) {
        0 => ("=", |o| o == Equal),
        1 => ("<>", |o| o != Equal),
        2 => ("<", |o| o == Less),
        3 => ("<=", |o| o != Greater),
        4 => (">", |o| o == Greater),
        _ => (">=", |o| o != Less),
    }
}

fn random_pred(rng: &mut Rng, rows: &[Vec<Value>], depth: u32) -> (String, Pred) {
    if depth > 0 && rng.below(3) == 0 {
        let (a, pa) = random_pred(rng, rows, depth - 1);
        let (b, pb) = random_pred(rng, rows, depth - 1);
        return if rng.below(2) == 0 {
            (
                format!("({a} AND {b})"),
                Box::new(move |r| match (pa(r), pb(r)) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }),
            )
        } else {
            (
                format!("({a} OR {b})"),
                Box::new(move |r| match (pa(r), pb(r)) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }),
            )
        };
    }
    // Columns: 0 ts, 2 uri, 3 uid, 4 status, 5 bytes, 6 request_time.
    let col = [0usize, 2, 3, 4, 5, 6][rng.below(6) as usize];
    let name = ["ts", "", "uri", "uid", "status", "bytes", "request_time"][col];
    if rng.below(8) == 0 {
        let neg = rng.below(2) == 0;
        return (
            format!("{name} IS {}NULL", if neg { "NOT " } else { "" }),
            Box::new(move |r| Some((r[col] == Value::Null) != neg)),
        );
    }
    let lit = rows[rng.below(rows.len() as u64) as usize][col].clone();
    let lit = if lit == Value::Null {
        rows[0][col].clone()
    } else {
        lit
    };
    let (op, test) = cmp_op(rng);
    let sql_lit = match &lit {
        Value::Int(v) if col == 0 => format!("TIMESTAMP '{}'", logdb::time::format_timestamp(*v)),
        Value::Int(v) => v.to_string(),
        Value::Float(v) => format!("{v:?}"),
        Value::Str(s) => format!("'{s}'"),
        _ => "NULL".into(),
    };
    (
        format!("{name} {op} {sql_lit}"),
        Box::new(move |r| {
            let o = match (&r[col], &lit) {
                (Value::Null, _) | (_, Value::Null) => return None,
                (Value::Int(a), Value::Int(b)) => a.cmp(b),
                (Value::Float(a), Value::Float(b)) => a.partial_cmp(b)?,
                (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
                _ => return None,
            };
            Some(test(o))
        }),
    )
}

fn render(v: &Value) -> String {
    match v {
        Value::Float(f) => format!("{f:.6}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn differential_against_naive_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let (db, rows) = log_db(dir.path(), 12_000);
    let mut rng = Rng(42);
    for _ in 0..150 {
        let (pred_sql, pred) = random_pred(&mut rng, &rows, 2);
        let kept: Vec<&Vec<Value>> = rows.iter().filter(|r| pred(r) == Some(true)).collect();
        let group = [
            None,
            Some((3usize, "uid")),
            Some((4, "status")),
            Some((7, "user_agent")),
        ][rng.below(4) as usize];
        let sql = match group {
            None => format!(
                "SELECT count(*), sum(bytes), min(uri), max(status), count(uid) FROM logs WHERE {pred_sql}"
            ),
            Some((_, g)) => format!(
                "SELECT {g}, count(*), sum(bytes), min(uri), max(status), count(uid) FROM logs WHERE {pred_sql} GROUP BY {g}"
            ),
        };
        let got = db.query(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut got: Vec<String> = got
            .rows()
            .iter()
            .map(|r| r.iter().map(render).collect::<Vec<_>>().join("|"))
            .collect();
        // The naive evaluator.
        let mut groups: std::collections::BTreeMap<String, (Value, Vec<&Vec<Value>>)> =
            Default::default();
        for r in &kept {
            let key = group.map_or(Value::Null, |(c, _)| r[c].clone());
            groups
                .entry(format!("{key:?}"))
                .or_insert((key, Vec::new()))
                .1
                .push(r);
        }
        if group.is_none() && groups.is_empty() {
            groups.insert(String::new(), (Value::Null, Vec::new()));
        }
        let mut want: Vec<String> = groups
            .values()
            .map(|(key, rs)| {
                let nn = |c: usize| rs.iter().map(move |r| &r[c]).filter(|v| **v != Value::Null);
                let sum: Option<i64> = nn(5).fold(None, |a, v| match v {
                    Value::Int(x) => Some(a.unwrap_or(0) + x),
                    _ => a,
                });
                let min_uri = nn(2).min_by(|a, b| match (a, b) {
                    (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
                    _ => std::cmp::Ordering::Equal,
                });
                let max_status = nn(4).max_by(|a, b| a.partial_cmp(b).unwrap());
                let mut cells = Vec::new();
                if group.is_some() {
                    cells.push(render(key));
                }
                cells.push(render(&Value::Int(rs.len() as i64)));
                cells.push(render(&sum.map_or(Value::Null, Value::Int)));
                cells.push(render(min_uri.unwrap_or(&Value::Null)));
                cells.push(render(max_status.unwrap_or(&Value::Null)));
                cells.push(render(&Value::Int(nn(3).count() as i64)));
                cells.join("|")
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{sql}");

        // The same filter as a projection with ORDER BY / LIMIT.
        let sql = format!("SELECT ts, uri FROM logs WHERE {pred_sql} ORDER BY ts DESC LIMIT 7");
        let got = db
            .query(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows();
        let mut want: Vec<Vec<Value>> = kept
            .iter()
            .map(|r| vec![r[0].clone(), r[2].clone()])
            .collect();
        want.sort_by(|a, b| b[0].partial_cmp(&a[0]).unwrap());
        want.truncate(7);
        assert_eq!(got, want, "{sql}");
    }
}

/// A `users` table for joins: `user_id` values that occur in logs.uid (u0..u499,
/// u1000), some that do not, duplicates and NULLs.
fn add_users(db: &Db, rng: &mut Rng) -> Vec<Vec<Value>> {
    use logdb::{BatchBuilder, DataType, Field, TableSchema};
    let schema = TableSchema::new(vec![
        Field::new("user_id", DataType::Varchar),
        Field::new("name", DataType::Varchar),
        Field::new("plan", DataType::Varchar),
    ]);
    db.create_table("users", schema.clone()).unwrap();
    let mut b = BatchBuilder::new(&schema);
    let mut rows = Vec::new();
    for i in 0..120 {
        let uid = match rng.below(12) {
            0 => None,
            1 => Some(format!("nobody{}", rng.below(5))),
            2 => Some("u1000".to_string()),
            _ => Some(format!("u{}", rng.below(60))),
        };
        let name = (rng.below(7) != 0).then(|| format!("n{i}"));
        let plan = format!("p{}", rng.below(3));
        let mut row = Vec::new();
        for (c, v) in [uid, name, Some(plan)].into_iter().enumerate() {
            match &v {
                Some(s) => b.push_str(c, s),
                None => b.push_null(c),
            }
            row.push(v.map_or(Value::Null, |s| Value::Str(s.as_str().into())));
        }
        rows.push(row);
    }
    db.append("users", &b.finish()).unwrap();
    rows
}

#[test]
fn joins_and_in_subqueries_against_naive_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let (db, rows) = log_db(dir.path(), 9_000);
    let mut rng = Rng(7);
    let users = add_users(&db, &mut rng);
    for _ in 0..60 {
        let (pred_sql, pred) = random_pred(&mut rng, &rows, 1);
        let kept: Vec<&Vec<Value>> = rows.iter().filter(|r| pred(r) == Some(true)).collect();
        let plan = format!("p{}", rng.below(3));
        let kind = rng.below(4);
        // IN subqueries over users give short lists (an IN list in the scan);
        // over logs they give hundreds of values (a hash semi/anti join).
        let from_logs = rng.below(2) == 0;
        let below = rng.below(3000) as i64;
        let by_plan = rng.below(2) == 0 && kind < 2;
        // (plan or NULL key, count(*), count(name), sum(bytes)) per output pair.
        let mut pairs: Vec<(Value, bool, Value)> = Vec::new();
        let sql = match kind {
            0 | 1 => {
                let join = if kind == 0 { "JOIN" } else { "LEFT JOIN" };
                for r in &kept {
                    let matches: Vec<&Vec<Value>> = users
                        .iter()
                        .filter(|u| r[3] != Value::Null && u[0] == r[3])
                        .collect();
                    for u in &matches {
                        pairs.push((u[2].clone(), u[1] != Value::Null, r[5].clone()));
                    }
                    if matches.is_empty() && kind == 1 {
                        pairs.push((Value::Null, false, r[5].clone()));
                    }
                }
                let g = if by_plan { "u.plan, " } else { "" };
                let gb = if by_plan { " GROUP BY u.plan" } else { "" };
                format!(
                    "SELECT {g}count(*), count(u.name), sum(bytes) FROM logs l {join} users u \
                     ON l.uid = u.user_id WHERE {pred_sql}{gb}"
                )
            }
            _ => {
                let set: Vec<&Value> = if from_logs {
                    rows.iter()
                        .filter(|r| matches!(r[5], Value::Int(b) if b < below))
                        .map(|r| &r[3])
                        .collect()
                } else {
                    users
                        .iter()
                        .filter(|u| u[2] == Value::Str(plan.as_str().into()))
                        .map(|u| &u[0])
                        .collect()
                };
                let has_null = set.contains(&&Value::Null);
                for r in &kept {
                    let found = r[3] != Value::Null && set.contains(&&r[3]);
                    let pass = if kind == 2 {
                        found
                    } else if set.is_empty() {
                        true
                    } else {
                        r[3] != Value::Null && !found && !has_null
                    };
                    if pass {
                        pairs.push((Value::Null, false, r[5].clone()));
                    }
                }
                let not = if kind == 2 { "" } else { "NOT " };
                let sub = if from_logs {
                    format!("SELECT uid FROM logs WHERE bytes < {below}")
                } else {
                    format!("SELECT user_id FROM users WHERE plan = '{plan}'")
                };
                format!(
                    "SELECT count(*), count(NULL), sum(bytes) FROM logs WHERE {pred_sql} \
                     AND uid {not}IN ({sub})"
                )
            }
        };
        let got = db.query(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut got: Vec<String> = got
            .rows()
            .iter()
            .map(|r| r.iter().map(render).collect::<Vec<_>>().join("|"))
            .collect();
        let mut groups: std::collections::BTreeMap<String, (Value, i64, i64, Option<i64>)> =
            Default::default();
        for (key, named, bytes) in &pairs {
            let key = if by_plan { key.clone() } else { Value::Null };
            let g = groups
                .entry(format!("{key:?}"))
                .or_insert((key, 0, 0, None));
            g.1 += 1;
            g.2 += i64::from(*named);
            if let Value::Int(b) = bytes {
                g.3 = Some(g.3.unwrap_or(0) + b);
            }
        }
        if !by_plan && groups.is_empty() {
            groups.insert(String::new(), (Value::Null, 0, 0, None));
        }
        let mut want: Vec<String> = groups
            .values()
            .map(|(k, n, named, sum)| {
                let mut cells = Vec::new();
                if by_plan {
                    cells.push(render(k));
                }
                cells.push(render(&Value::Int(*n)));
                cells.push(render(&Value::Int(*named)));
                cells.push(render(&sum.map_or(Value::Null, Value::Int)));
                cells.join("|")
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{sql}");
    }
}

fn err(db: &Db, sql: &str) -> String {
    match db.query(sql) {
        Ok(_) => panic!("{sql}: expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_problem_and_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = log_db(dir.path(), 100);
    let e = err(&db, "SELECT nope FROM logs");
    assert!(
        e.starts_with("line 1, column 8: unknown column 'nope'"),
        "{e}"
    );
    assert!(e.contains("known columns: ts, client_ip, uri"), "{e}");
    let e = err(&db, "SELECT * FROM nothere");
    assert!(
        e.starts_with("line 1, column 15: unknown table 'nothere'"),
        "{e}"
    );
    assert!(e.contains("known tables: logs"), "{e}");
    let e = err(&db, "SELECT * FROM logs WHERE status = secure");
    assert!(e.starts_with("line 1, column 26:"), "{e}");
    assert!(e.contains("SMALLINT") && e.contains("BOOLEAN"), "{e}");
    let e = err(&db, "SELECT uri ^ 'x' FROM logs");
    assert!(
        e.starts_with("line 1, column 8: not supported yet: operator ^"),
        "{e}"
    );
    let e = err(
        &db,
        "SELECT count(*) FROM logs l RIGHT JOIN logs r USING (uri)",
    );
    assert!(
        e.starts_with("line 1, column 40: not supported yet: USING in a RIGHT or FULL join"),
        "{e}"
    );
    let e = err(&db, "SELECT FROM");
    assert!(e.starts_with("line 1, column"), "{e}");
    let e = err(&db, "SELECT uri FROM logs WHERE sum(bytes) > 1");
    assert!(e.contains("aggregate functions are not allowed"), "{e}");
    let e = err(&db, "SELECT lower(status) FROM logs");
    assert!(
        e.contains("line 1, column 14") && e.contains("SMALLINT"),
        "{e}"
    );
}

#[test]
fn relational_errors_name_the_problem_and_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = log_db(dir.path(), 100);
    let cases = [
        (
            "SELECT uri FROM logs a JOIN logs b ON a.uid = b.uid",
            "line 1, column 8: ambiguous column name 'uri'; it could be a.uri or b.uri",
        ),
        (
            "SELECT count(*) FROM logs a JOIN nothere b ON a.uid = b.uid",
            "line 1, column 34: unknown table 'nothere'; known tables: logs",
        ),
        (
            "SELECT count(*) FROM logs a JOIN logs b",
            "line 1, column 34: INNER JOIN needs ON or USING",
        ),
        (
            "SELECT uri FROM logs a WHERE bytes > (SELECT max(a.bytes))",
            "line 1, column 46: not supported yet: an aggregate of the enclosing query's \
             columns inside a subquery",
        ),
        (
            "SELECT uri, uid FROM logs UNION ALL SELECT uri FROM logs",
            "line 1, column 37: UNION needs the same number of columns on both sides, got 2 and 1",
        ),
        (
            "SELECT a.nope FROM logs a JOIN logs b ON a.uid = b.uid",
            "line 1, column 10: unknown column 'nope' in table 'a'; known columns: ts, client_ip",
        ),
    ];
    for (sql, want) in cases {
        let e = err(&db, sql);
        assert!(e.starts_with(want), "{sql}\n{e}");
    }
}

#[test]
fn explain_shows_time_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = log_db(dir.path(), 100);
    let snap = db.snapshot().unwrap();
    let plan = logdb::sql::plan(
        &snap,
        "SELECT count(*) FROM logs WHERE ts >= '2024-05-01 00:10:00' AND ts < '2024-05-01 00:20:00'",
    )
    .unwrap();
    let mut scans = Vec::new();
    let mut stack = vec![&plan];
    while let Some(p) = stack.pop() {
        if let logdb::sql::LogicalPlan::Scan {
            schema,
            columns,
            time_range,
            ..
        } = p
        {
            let names: Vec<&str> = columns
                .iter()
                .map(|&c| schema.fields[c].name.as_str())
                .collect();
            scans.push((names, *time_range));
        }
        stack.extend(p.inputs());
    }
    assert_eq!(
        scans,
        [(vec!["ts"], Some((1714522200000000, 1714522800000000)))],
        "{plan:?}"
    );
}

#[test]
fn a_time_bound_from_a_scalar_subquery_prunes_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (db, rows) = log_db(dir.path(), 12_000);
    let sql =
        "SELECT count(*) FROM logs WHERE ts > (SELECT max(ts) FROM logs) - INTERVAL 10 MINUTE";
    let max = rows
        .iter()
        .filter_map(|r| match r[0] {
            Value::Int(t) => Some(t),
            _ => None,
        })
        .max()
        .unwrap();
    let want = rows
        .iter()
        .filter(|r| matches!(r[0], Value::Int(t) if t > max - 600_000_000))
        .count() as i64;
    assert_eq!(row(&db, sql), vec![Value::Int(want)]);
    let text: Vec<String> = db
        .query(&format!("EXPLAIN ANALYZE {sql}"))
        .unwrap()
        .text_rows()
        .into_iter()
        .map(|r| r.join(""))
        .collect();
    let text = text.join("\n");
    assert!(text.contains("time_range: [2024-05-"), "{text}");
    assert!(!text.contains("segments: 0 kept"), "{text}");
    let pruned = text
        .lines()
        .find(|l| l.trim_start().starts_with("segments:"))
        .unwrap();
    assert!(!pruned.contains(" 0 pruned"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(0usize..52, 0..25)) {
        thread_local! {
            static DB: (tempfile::TempDir, Db) = {
                let dir = tempfile::tempdir().unwrap();
                let (db, _) = log_db(dir.path(), 300);
                (dir, db)
            };
        }
        const WORDS: [&str; 52] = [
            "SELECT", "FROM", "logs", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "*", ",",
            "(", ")", "count", "sum", "status", "uri", "ts", "bytes", "=", "<", "+", "/",
            "%", "'a'", "1", "0", "NULL", "AND", "OR", "NOT", "IS", "LIKE", "CASE", "WHEN",
            "THEN", "END", "::", "INTERVAL", "DISTINCT", "-9223372036854775808",
            "JOIN", "LEFT", "ON", "USING", "UNION", "ALL", "WITH", "AS", "IN", "EXISTS",
            "l.uid", "(SELECT uid FROM logs)",
        ];
        let mut sql = String::from("SELECT ");
        for t in &tokens {
            sql.push_str(WORDS[*t]);
            sql.push(' ');
        }
        DB.with(|(_, db)| {
            let _ = db.query(&sql);
            let _ = db.query(&format!("SELECT status FROM logs WHERE {}", &sql[7..]));
        });
    }
}

/// The first row of a query's result.
fn row(db: &Db, sql: &str) -> Vec<Value> {
    let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows().into_iter().next().unwrap_or_default()
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn approximate_aggregates_are_close_to_exact_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (db, all) = log_db(dir.path(), 30_000);
    // approx_count_distinct / uniq against count(DISTINCT), within 5%.
    for col in ["uid", "uri", "bytes", "client_ip", "request_time", "ts"] {
        let r = row(
            &db,
            &format!(
                "SELECT approx_count_distinct({col}), uniq({col}), count(DISTINCT {col}) FROM logs"
            ),
        );
        let (approx, exact) = (num(&r[0]), num(&r[2]));
        assert_eq!(r[0], r[1]);
        assert!(
            (approx - exact).abs() <= 0.05 * exact + 1.0,
            "{col}: {approx} vs {exact}"
        );
    }
    // approx_quantile against the exact rank: within 1% of the row count.
    let mut times: Vec<f64> = all
        .iter()
        .filter_map(|r| match r[6] {
            Value::Float(f) => Some(f),
            _ => None,
        })
        .collect();
    times.sort_by(f64::total_cmp);
    for q in [0.5, 0.95, 0.99] {
        let r = row(
            &db,
            &format!("SELECT approx_quantile(request_time, {q}), quantile_cont(request_time, {q}) FROM logs"),
        );
        let got = num(&r[0]);
        let rank = times.partition_point(|&t| t < got) as f64;
        let want = q * (times.len() - 1) as f64;
        assert!(
            (rank - want).abs() <= 0.01 * times.len() as f64,
            "q={q}: {got} has rank {rank}, want {want}"
        );
        let exact = num(&r[1]);
        assert!((got - exact).abs() < 0.1, "q={q}: {got} vs exact {exact}");
    }
    // p50/p95/p99 per group in one query, approximate next to exact.
    let r = db
        .query(
            "SELECT status, approx_quantile(bytes, 0.5), approx_quantile(bytes, 0.95), \
             approx_quantile(bytes, 0.99), median(bytes), count(*) FROM logs GROUP BY status",
        )
        .unwrap();
    for row in r.rows() {
        assert!(
            matches!(row[1], Value::Int(_)),
            "approx_quantile keeps BIGINT"
        );
        assert!(num(&row[1]) <= num(&row[2]) && num(&row[2]) <= num(&row[3]));
    }
}

#[test]
fn clickhouse_aggregate_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = log_db(dir.path(), 2_000);
    let a = row(
        &db,
        "SELECT countIf(status = 404), argMax(uri, bytes), argMin(uri, bytes) FROM logs",
    );
    let b = row(
        &db,
        "SELECT count_if(status = 404), arg_max(uri, bytes), arg_min(uri, bytes) FROM logs",
    );
    assert_eq!(a, b);
    let e = err(&db, "SELECT count_if(status) FROM logs");
    assert!(
        e.contains("line 1, column 17") && e.contains("BOOLEAN"),
        "{e}"
    );
    let e = err(&db, "SELECT quantile_cont(bytes, 1.5) FROM logs");
    assert!(e.contains("between 0 and 1"), "{e}");
    let e = err(&db, "SELECT median(uri) FROM logs");
    assert!(e.contains("numeric or TIMESTAMP"), "{e}");
    let e = err(&db, "SELECT lower(uri) FILTER (WHERE true) FROM logs");
    assert!(e.contains("FILTER is only allowed on aggregates"), "{e}");
    // A number is a condition, as in DuckDB (zero is FALSE); a timestamp is not.
    let e = err(&db, "SELECT count(*) FILTER (WHERE ts) FROM logs");
    assert!(e.contains("BOOLEAN"), "{e}");
}

/// Every row of a single-column result, as text.
fn column(db: &Db, sql: &str) -> Vec<String> {
    let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.text_rows().into_iter().map(|mut r| r.remove(0)).collect()
}

#[test]
fn url_ip_and_interval_functions() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = log_db(dir.path(), 50);
    let one = |expr: &str| column(&db, &format!("SELECT {expr} FROM logs LIMIT 1")).remove(0);
    assert_eq!(one("url_param('/a/b?x=1&uid=u%2F7', 'uid')"), "u/7");
    assert_eq!(one("extractURLParameter('/a/b?x=1', 'x')"), "1");
    assert_eq!(one("url_param('/a/b?x=1', 'nope')"), "NULL");
    assert_eq!(one("url_param('/a/b', 'x')"), "NULL");
    assert_eq!(one("url_param(NULL, 'x')"), "NULL");
    assert_eq!(one("url_path('http://h.example:80/p/q?x=1#f')"), "/p/q");
    assert_eq!(one("path('/p?x')"), "/p");
    assert_eq!(
        one("domain('https://user@Example.com:8443/x')"),
        "Example.com"
    );
    assert_eq!(one("domain('/relative/path')"), "");
    assert_eq!(one("ip_in_cidr('10.1.2.3', '10.0.0.0/8')"), "true");
    assert_eq!(one("ip_in_cidr('11.1.2.3', '10.0.0.0/8')"), "false");
    assert_eq!(one("ip_in_cidr('2001:db8::1', '2001:db8::/32')"), "true");
    assert_eq!(one("ip_in_cidr('10.1.2.3', '0.0.0.0/0')"), "true");
    assert_eq!(one("ip_in_cidr(NULL, '10.0.0.0/8')"), "NULL");
    // ClickHouse's spelling.
    assert_eq!(one("isIPAddressInRange('10.1.2.3', '10.0.0.0/8')"), "true");
    assert_eq!(
        one("isIPAddressInRange('10.1.2.3', '10.2.0.0/16')"),
        "false"
    );
    assert_eq!(
        one("toStartOfInterval(TIMESTAMP '2024-05-01 10:17:42', INTERVAL 15 MINUTE)"),
        "2024-05-01 10:15:00"
    );
    assert_eq!(
        one("toStartOfInterval(TIMESTAMP '2024-05-01 10:17:42', INTERVAL '1 day')"),
        "2024-05-01 00:00:00"
    );
    // Over columns: every client IP is in its own /32, and the counts add up.
    let total = column(&db, "SELECT count(*) FROM logs").remove(0);
    let split = column(
        &db,
        "SELECT count_if(ip_in_cidr(client_ip, '10.0.0.0/8')) + \
         count_if(NOT ip_in_cidr(client_ip, '10.0.0.0/8')) + count_if(client_ip IS NULL) FROM logs",
    )
    .remove(0);
    assert_eq!(total, split);
    let paths = column(
        &db,
        "SELECT count(*) FROM logs WHERE url_path(uri) <> uri OR domain(uri) <> ''",
    );
    assert_eq!(paths, ["0"]);
    let e = err(&db, "SELECT ip_in_cidr(client_ip, '10.0.0.0/40') FROM logs");
    assert!(
        e.contains("line 1, column 30") && e.contains("invalid CIDR"),
        "{e}"
    );
    let e = err(&db, "SELECT ip_in_cidr(uri, '10.0.0.0/8') FROM logs");
    assert!(e.contains("needs an IP as argument 1, not VARCHAR"), "{e}");
}
