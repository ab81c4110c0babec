//! SQL statements through the library API: DDL/DML durability, prepared statements,
//! typed result access, session settings, and bad input that must fail cleanly.

use logdb::sql::Session;
use logdb::{Db, Error, Value};

fn open(dir: &std::path::Path) -> Db {
    Db::builder().max_segment_rows(1000).open(dir).unwrap()
}

fn count(db: &Db, sql: &str) -> i64 {
    let r = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.iter().next().unwrap().get(0).unwrap()
}

/// A log table `logs` (time column ts, index on uid) with `n` rows, one per minute
/// from 2024-05-01 00:00, inserted through SQL.
fn log_table(db: &Db, n: usize) {
    db.query(
        "CREATE TABLE logs (ts TIMESTAMP, uid VARCHAR, status SMALLINT, bytes BIGINT) \
         WITH (time_column = 'ts', indexes = 'uid, status')",
    )
    .unwrap();
    let mut sql = String::from("INSERT INTO logs VALUES ");
    for i in 0..n {
        let ts = 1_714_521_600_i64 + 60 * i as i64; // 2024-05-01 00:00:00 UTC
        let (d, h, m) = (ts / 86400 - 19844, (ts % 86400) / 3600, (ts % 3600) / 60);
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "('2024-05-{:02} {h:02}:{m:02}:00', 'u{}', {}, {})",
            d + 1,
            i % 7,
            if i % 10 == 0 { 500 } else { 200 },
            i * 3
        ));
    }
    let r = db.query(&sql).unwrap();
    assert_eq!(
        r.columns,
        vec![("Count".to_string(), logdb::DataType::BigInt)]
    );
    assert_eq!(
        r.iter().next().unwrap().get::<i64>("Count").unwrap(),
        n as i64
    );
}

/// id, name, score, ok of the `dim` table.
type DimRow = (i64, Option<String>, Option<f64>, Option<bool>);

#[test]
fn inserted_rows_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        log_table(&db, 3000);
        db.query("CREATE TABLE dim (id INT NOT NULL, name TEXT, score DOUBLE, ok BOOLEAN)")
            .unwrap();
        db.query("INSERT INTO dim (name, id) VALUES ('a', 1), (NULL, 2), ('c', -3)")
            .unwrap();
        db.query(
            "INSERT INTO dim SELECT status, uid, bytes, status = 500 FROM logs WHERE bytes < 30",
        )
        .unwrap();
    }
    let db = open(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM logs"), 3000);
    assert_eq!(
        count(&db, "SELECT count(*) FROM logs WHERE uid = 'u3'"),
        429
    );
    assert_eq!(count(&db, "SELECT count(*) FROM dim"), 13);
    let r = db
        .query("SELECT id, name, score, ok FROM dim ORDER BY id, name")
        .unwrap();
    let rows: Vec<DimRow> = r
        .iter()
        .map(|row| {
            (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
                row.get(3).unwrap(),
            )
        })
        .collect();
    assert_eq!(rows[0], (-3, Some("c".into()), None, None));
    assert_eq!(rows[1], (1, Some("a".into()), None, None));
    assert_eq!(rows[2], (2, None, None, None));
    // Rows from the SELECT: status 500 at i = 0, bytes 0; 200 elsewhere.
    assert_eq!(rows[3].0, 200);
    assert_eq!(rows[12], (500, Some("u0".into()), Some(0.0), Some(true)));
    let d = db.query("DESCRIBE logs").unwrap().text_rows();
    assert_eq!(
        d[0],
        ["ts", "TIMESTAMP", "NO", "NULL", "NULL", "time column"]
    );
    assert_eq!(d[1], ["uid", "VARCHAR", "YES", "NULL", "NULL", "indexed"]);
    assert_eq!(d[3][5], "NULL");
}

#[test]
fn create_table_as_select_and_if_not_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 200);
    let r = db
        .query("CREATE TABLE per_uid AS SELECT uid, count(*) AS n FROM logs GROUP BY uid")
        .unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 7);
    assert_eq!(count(&db, "SELECT sum(n) FROM per_uid"), 200);
    let e = db.query("CREATE TABLE per_uid (x INT)").unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    let r = db
        .query("CREATE TABLE IF NOT EXISTS per_uid (x INT)")
        .unwrap();
    assert_eq!(r.num_rows(), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM per_uid"), 7);
    let tables = db.query("SHOW TABLES").unwrap().text_rows();
    assert_eq!(tables, [["logs"], ["per_uid"]]);
    db.query("DROP TABLE per_uid").unwrap();
    db.query("DROP TABLE IF EXISTS per_uid").unwrap();
    let e = db.query("DROP TABLE per_uid").unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown table 'per_uid'; known tables: logs"),
        "{e}"
    );
}

#[test]
fn delete_drops_whole_partitions_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 3 * 1440); // three whole days
    let before = count(&db, "SELECT count(*) FROM logs");
    for bad in [
        "DELETE FROM logs WHERE ts < TIMESTAMP '2024-05-02 12:00:00'",
        "DELETE FROM logs WHERE uid = 'u1'",
        "DELETE FROM logs WHERE ts < '2024-05-02' OR ts > '2024-05-03'",
    ] {
        let e = db.query(bad).unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{bad}: {e}");
        assert!(e.to_string().starts_with("line 1, column "), "{bad}: {e}");
        assert_eq!(count(&db, "SELECT count(*) FROM logs"), before, "{bad}");
    }
    let r = db
        .query("DELETE FROM logs WHERE ts < TIMESTAMP '2024-05-02'")
        .unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>("count").unwrap(), 1440);
    assert_eq!(count(&db, "SELECT count(*) FROM logs"), 2 * 1440);
    assert_eq!(
        count(&db, "SELECT count(*) FROM logs WHERE ts < '2024-05-02'"),
        0
    );
    let r = db
        .query("ALTER TABLE logs DROP PARTITION '2024-05-03'")
        .unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 1440);
    let e = db
        .query("ALTER TABLE logs DROP PARTITION '2024-05-03'")
        .unwrap_err();
    assert!(e.to_string().contains("no partition '2024-05-03'"), "{e}");
    db.query("ALTER TABLE logs DROP PARTITION IF EXISTS '2024-05-03'")
        .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM logs WHERE ts >= '2024-05-02' AND ts < '2024-05-03'"
        ),
        1440
    );
    // Deleting what is left, then nothing.
    assert_eq!(count(&db, "DELETE FROM logs"), 1440);
    assert_eq!(count(&db, "DELETE FROM logs WHERE ts >= '2024-01-01'"), 0);
}

#[test]
fn prepared_statements_bind_typed_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 2000);
    let stmt = db
        .prepare("SELECT count(*) FROM logs WHERE uid = $1 AND ts >= $2")
        .unwrap();
    assert_eq!(stmt.parameter_count(), 2);
    for (uid, ts) in [
        ("u1", "2024-05-01 10:00:00"),
        ("u6", "2024-05-01"),
        ("zz", "2024-05-01"),
    ] {
        let got: i64 = stmt
            .query(&[Value::from(uid), Value::from(ts)])
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .get(0)
            .unwrap();
        let want = count(
            &db,
            &format!("SELECT count(*) FROM logs WHERE uid = '{uid}' AND ts >= '{ts}'"),
        );
        assert_eq!(got, want, "{uid} {ts}");
    }
    // `?` numbered in order of appearance; integers, NULL and doubles.
    let q = db
        .prepare("SELECT count(*) FROM logs WHERE status = ? AND bytes > ? AND bytes < ?")
        .unwrap();
    let r = q
        .query(&[Value::Int(500), Value::Int(100), Value::Float(3000.5)])
        .unwrap();
    let want = count(
        &db,
        "SELECT count(*) FROM logs WHERE status = 500 AND bytes > 100 AND bytes < 3000.5",
    );
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), want);
    assert!(want > 0);
    let r = q
        .query(&[Value::Null, Value::Int(0), Value::Int(10)])
        .unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 0);

    // Parameters reach the planner as literals: the index and time pruning apply.
    let e = db
        .prepare("EXPLAIN SELECT count(*) FROM logs WHERE uid = $1 AND ts >= $2")
        .unwrap()
        .query(&[Value::from("u1"), Value::from("2024-05-02")])
        .unwrap()
        .text_rows()
        .concat()
        .join("\n");
    assert!(e.contains("index_predicates: [uid = 'u1']"), "{e}");
    assert!(e.contains("time_range: [2024-05-02 00:00:00"), "{e}");

    // Wrong count, wrong type.
    let e = stmt.query(&[Value::from("u1")]).unwrap_err();
    assert!(
        e.to_string().contains("2 parameters, 1 value was given"),
        "{e}"
    );
    let e = stmt
        .query(&[Value::from("u1"), Value::from("not a time")])
        .unwrap_err();
    assert!(e.to_string().starts_with("line 1, column 52:"), "{e}");
    let e = stmt
        .query(&[Value::Int(3), Value::from("2024-05-01")])
        .unwrap_err();
    assert!(e.to_string().starts_with("line 1, column 33:"), "{e}");
    // Unbound parameters outside prepare.
    let e = db
        .query("SELECT count(*) FROM logs WHERE uid = $1")
        .unwrap_err();
    assert!(e.to_string().contains("prepare it"), "{e}");
    let e = db
        .prepare("SELECT count(*) FROM logs WHERE uid = $1 AND ts > ?")
        .unwrap_err();
    assert!(e.to_string().contains("mixing"), "{e}");

    // A prepared INSERT and DELETE.
    let ins = db
        .prepare("INSERT INTO logs (ts, uid, status) VALUES ($1, $2, $3)")
        .unwrap();
    for i in 0..3 {
        ins.query(&[
            Value::from("2024-06-01 00:00:00"),
            Value::from("new"),
            Value::Int(i),
        ])
        .unwrap();
    }
    assert_eq!(count(&db, "SELECT count(*) FROM logs WHERE uid = 'new'"), 3);
    let del = db.prepare("DELETE FROM logs WHERE ts >= $1").unwrap();
    let r = del.query(&[Value::from("2024-06-01")]).unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 3);
}

#[test]
fn typed_rows_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 5000);
    db.query("CREATE TABLE t (s VARCHAR, i INTEGER, d DOUBLE, b BOOLEAN, ip IP, ts TIMESTAMP)")
        .unwrap();
    db.query(
        "INSERT INTO t VALUES ('x', 1, 1.5, true, '10.0.0.1', '2024-05-01 10:00:00'), \
         (NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
    let r = db.query("SELECT * FROM t ORDER BY i").unwrap();
    let mut rows = r.iter();
    let row = rows.next().unwrap();
    assert_eq!(row.len(), 6);
    assert_eq!(row.get::<&str>("s").unwrap(), "x");
    assert_eq!(row.get::<String>(0).unwrap(), "x");
    assert_eq!(row.get::<i64>("I").unwrap(), 1);
    assert_eq!(row.get::<i32>(1).unwrap(), 1);
    assert_eq!(row.get::<f64>(1).unwrap(), 1.0);
    assert_eq!(row.get::<f64>("d").unwrap(), 1.5);
    assert!(row.get::<bool>("b").unwrap());
    assert_eq!(
        row.get::<std::net::IpAddr>("ip").unwrap().to_string(),
        "10.0.0.1"
    );
    assert_eq!(
        row.get::<i64>("ts").unwrap(),
        logdb::time::parse_timestamp("2024-05-01 10:00:00").unwrap()
    );
    // A TIMESTAMP reads as the text the shell (and DuckDB) prints.
    assert_eq!(row.get::<String>("ts").unwrap(), "2024-05-01 10:00:00");
    assert_eq!(
        row.get::<Option<String>>("ts").unwrap().as_deref(),
        Some("2024-05-01 10:00:00")
    );
    let e = row.get::<String>("i").unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 'i' is INTEGER and cannot be read as String"
    );
    assert_eq!(row.get::<Option<i64>>(1).unwrap(), Some(1));
    let e = row.get::<i64>("s").unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 's' is VARCHAR and cannot be read as i64"
    );
    let e = row.get::<i64>(6).unwrap_err();
    assert!(
        e.to_string()
            .contains("it has 6 columns (s, i, d, b, ip, ts)"),
        "{e}"
    );
    let e = row.get::<i64>("nope").unwrap_err();
    assert!(e.to_string().contains("no column 'nope'"), "{e}");
    let null = rows.next().unwrap();
    assert_eq!(null.get::<Option<&str>>(0).unwrap(), None);
    assert_eq!(null.get::<Option<f64>>("d").unwrap(), None);
    assert_eq!(null.get::<Value>("d").unwrap(), Value::Null);
    let e = null.get::<&str>(0).unwrap_err();
    assert!(
        e.to_string()
            .contains("is NULL in this row; read it as Option"),
        "{e}"
    );
    assert!(rows.next().is_none());

    // Whole columns across batches.
    let r = db
        .query("SELECT bytes, uid FROM logs WHERE status = 200")
        .unwrap();
    assert!(r.batches.len() > 1, "want a multi-batch result");
    let bytes = r.column_by_name("bytes").unwrap();
    assert_eq!(bytes.len(), r.num_rows());
    let logdb::ColumnData::Int64(v) = &bytes.data else {
        panic!("bytes is not Int64");
    };
    let by_rows: Vec<i64> = r.iter().map(|row| row.get(0).unwrap()).collect();
    assert_eq!(v, &by_rows);
    let total: i64 = v.iter().sum();
    assert_eq!(
        total,
        count(&db, "SELECT sum(bytes) FROM logs WHERE status = 200")
    );
    assert_eq!(r.column(1).unwrap().len(), r.num_rows());
    assert!(r.column(2).is_err());
    assert_eq!(r.column_index("UID").unwrap(), 1);
    // `for row in &result` works too.
    let mut n = 0;
    for row in &r {
        let _: &str = row.get("uid").unwrap();
        n += 1;
    }
    assert_eq!(n, r.num_rows());
}

/// A DATE column goes through segments on disk (type tag 9) and comes back with
/// its values, NULLs, zone maps and printing intact.
#[test]
fn date_columns_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.query("CREATE TABLE visits (d DATE, n INTEGER)").unwrap();
        let mut sql = String::from("INSERT INTO visits VALUES (NULL, -1)");
        // 2500 rows over 2.5 segments: one date per row, from 2023-12-01.
        let first = logdb::time::days_from_civil(2023, 12, 1);
        for i in 0..2500 {
            let day = logdb::time::format_day(first + i / 10);
            sql.push_str(&format!(", ('{day}', {i})"));
        }
        db.query(&sql).unwrap();
    }
    let db = open(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM visits"), 2501);
    assert_eq!(count(&db, "SELECT count(*) FROM visits WHERE d IS NULL"), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM visits WHERE d = '2024-01-01'"),
        10
    );
    assert_eq!(count(&db, "SELECT max(d) - min(d) FROM visits"), 249);
    let r = db
        .query("SELECT min(d), max(d), typeof(max(d)) FROM visits")
        .unwrap();
    assert_eq!(r.columns[0].1, logdb::DataType::Date);
    assert_eq!(r.text_rows()[0], ["2023-12-01", "2024-08-06", "DATE"]);
    let d = db.query("DESCRIBE visits").unwrap().text_rows();
    assert_eq!(d[0][1], "DATE");
}

/// A DECIMAL column goes through segments on disk (type tag 10 with its width and
/// scale) and the manifest (`"DECIMAL(10,2)"`), and comes back with its type,
/// values, NULLs and zone maps intact; CREATE TABLE AS keeps computed types.
#[test]
fn decimal_columns_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.query("CREATE TABLE prices (p DECIMAL(10,2), w NUMERIC(38,4), n INTEGER)")
            .unwrap();
        let mut sql = String::from("INSERT INTO prices VALUES (NULL, NULL, -1)");
        // 2500 rows over 2.5 segments: p from -12.50 in steps of 0.01.
        for i in 0..2500 {
            sql.push_str(&format!(", ('{}', {i}.5, {i})", (i - 1250) as f64 / 100.0));
        }
        db.query(&sql).unwrap();
        db.query("CREATE TABLE doubled AS SELECT p * 2 AS p2, p + w AS s FROM prices")
            .unwrap();
    }
    let db = open(dir.path());
    let manifest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST")
        })
        .max()
        .unwrap();
    let text = String::from_utf8_lossy(&std::fs::read(manifest).unwrap()).into_owned();
    assert!(text.contains("\"DECIMAL(10,2)\""), "{text}");
    assert_eq!(count(&db, "SELECT count(*) FROM prices WHERE p IS NULL"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM prices WHERE p = 0.25"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM prices WHERE p > 12.2"), 29);
    let r = db
        .query("SELECT min(p), max(p), sum(p), typeof(sum(p)), max(w), typeof(w) FROM prices")
        .unwrap();
    let decimal = |precision, scale| logdb::DataType::Decimal { precision, scale };
    assert_eq!(r.columns[0].1, decimal(10, 2));
    assert_eq!(
        r.text_rows()[0],
        [
            "-12.50",
            "12.49",
            "-12.50",
            "DECIMAL(38,2)",
            "2499.5000",
            "DECIMAL(38,4)"
        ]
    );
    let r = db
        .query("SELECT p2, s FROM doubled WHERE p2 IS NOT NULL ORDER BY p2 DESC LIMIT 1")
        .unwrap();
    assert_eq!(r.columns[0].1, decimal(18, 2));
    assert_eq!(r.columns[1].1, decimal(38, 4));
    assert_eq!(r.text_rows()[0], ["24.98", "2511.9900"]);
    let d = db.query("DESCRIBE prices").unwrap().text_rows();
    assert_eq!(d[0][1], "DECIMAL(10,2)");
    // Typed access: as f64 (rounded), never as the scaled integer.
    let row = db.query("SELECT p FROM prices WHERE n = 1300").unwrap();
    let first = row.iter().next().unwrap();
    assert_eq!(first.get::<f64>(0).unwrap(), 0.5);
    assert!(first.get::<i64>(0).is_err());
}

/// The integer types, TIME and the TIMESTAMP units go through segments (type tags
/// 12-22) and the manifest (their names) and come back with their types, values,
/// NULLs and zone maps.
#[test]
fn integer_and_time_types_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.query(
            "CREATE TABLE typed (ti TINYINT, uti UTINYINT, usi USMALLINT, ui UINTEGER, \
             ubi UBIGINT, hi HUGEINT, uhi UHUGEINT, t TIME, s TIMESTAMP_S, \
             ms TIMESTAMP_MS, ns TIMESTAMP_NS)",
        )
        .unwrap();
        let mut sql = String::from(
            "INSERT INTO typed VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
             NULL, NULL, NULL)",
        );
        // 2500 rows over several segments.
        for i in 0..2500i64 {
            sql.push_str(&format!(
                ", ({}, {}, {}, {}, {}, {}, {}, '{:02}:{:02}:00.5', \
                 '2024-01-01 00:00:{:02}', '2024-01-01 00:00:00.{:03}', \
                 '2024-01-01 00:00:00.000000{:03}')",
                i % 256 - 128,
                i % 256,
                i * 20,
                i * 1_000_000,
                i * 3_000_000_000_000_000,
                -i,
                i,
                i % 24,
                i % 60,
                i % 60,
                i % 1000,
                i % 1000
            ));
        }
        db.query(&sql).unwrap();
    }
    let db = open(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM typed WHERE ti IS NULL"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM typed WHERE ubi > 7000000000000000000"
        ),
        166
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM typed WHERE t = '23:23:00.5'"),
        21
    );
    let r = db
        .query(
            "SELECT min(ti), max(uti), max(usi), max(ui), max(ubi), min(hi), max(uhi), \
             max(t), max(s), max(ms), max(ns), typeof(ns) FROM typed",
        )
        .unwrap();
    assert_eq!(r.columns[0].1, logdb::DataType::TinyInt);
    assert_eq!(r.columns[10].1, logdb::DataType::TimestampNs);
    assert_eq!(
        r.text_rows()[0],
        [
            "-128",
            "255",
            "49980",
            "2499000000",
            "7497000000000000000",
            "-2499",
            "2499",
            "23:59:00.5",
            "2024-01-01 00:00:59",
            "2024-01-01 00:00:00.999",
            "2024-01-01 00:00:00.000000999",
            "TIMESTAMP_NS"
        ]
    );
    let d = db.query("DESCRIBE typed").unwrap().text_rows();
    let names: Vec<&str> = d.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(
        names,
        [
            "TINYINT",
            "UTINYINT",
            "USMALLINT",
            "UINTEGER",
            "UBIGINT",
            "HUGEINT",
            "UHUGEINT",
            "TIME",
            "TIMESTAMP_S",
            "TIMESTAMP_MS",
            "TIMESTAMP_NS"
        ]
    );
}

/// A TIMESTAMP WITH TIME ZONE column is stored with its own type tag: after
/// reopening it keeps its type, its instants (offsets converted to UTC) and its
/// zone maps, and prints with `+00` as DuckDB does.
#[test]
fn timestamptz_columns_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        db.query("CREATE TABLE tz (id INTEGER, x TIMESTAMPTZ)")
            .unwrap();
        let mut sql = String::from("INSERT INTO tz VALUES (0, NULL)");
        for i in 1..2000i64 {
            sql.push_str(&format!(
                ", ({i}, '2024-01-01 {:02}:{:02}:00+02')",
                i % 24,
                i % 60
            ));
        }
        db.query(&sql).unwrap();
    }
    let db = open(dir.path());
    let r = db
        .query("SELECT min(x), max(x), typeof(x), count(x) FROM tz GROUP BY typeof(x)")
        .unwrap();
    assert_eq!(r.columns[0].1, logdb::DataType::TimestampTz);
    assert_eq!(
        r.text_rows()[0],
        [
            "2023-12-31 22:00:00+00",
            "2024-01-01 21:59:00+00",
            "TIMESTAMP WITH TIME ZONE",
            "1999"
        ]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM tz WHERE x < '2024-01-01 00:00:00+00'"
        ),
        count(&db, "SELECT count(*) FROM tz WHERE id % 24 < 2 AND id > 0")
    );
    let d = db.query("DESCRIBE tz").unwrap().text_rows();
    assert_eq!(d[1][1], "TIMESTAMP WITH TIME ZONE");
}

/// `SET TimeZone` takes tz database names only and shows in current_setting.
#[test]
fn time_zone_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut s = Session::new(db);
    let zone = |s: &mut Session| -> String {
        let r = s.execute("SELECT current_setting('TimeZone')").unwrap();
        r.text_rows()[0][0].clone()
    };
    assert_eq!(zone(&mut s), "UTC");
    s.execute("SET TimeZone = 'Europe/Berlin'").unwrap();
    assert_eq!(zone(&mut s), "Europe/Berlin");
    s.execute("SET TIME ZONE 'America/New_York'").unwrap();
    assert_eq!(zone(&mut s), "America/New_York");
    // TIMESTAMP values are UTC instants whatever the session zone.
    let r = s
        .execute("SELECT TIMESTAMP '2024-07-01 12:00', TIMESTAMP '2024-07-01 12:00'::DATE")
        .unwrap();
    assert_eq!(r.text_rows()[0], ["2024-07-01 12:00:00", "2024-07-01"]);
    let e = s.execute("SET timezone = 'Europe/Berlinn'").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("line 1, column 16: unknown time zone 'Europe/Berlinn'"),
        "{e}"
    );
    s.execute("RESET TimeZone").unwrap();
    assert_eq!(zone(&mut s), "UTC");
}

#[test]
fn settings_live_in_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 4000);
    let mut s = Session::new(db.clone());
    let group = "SELECT uid, status, count(*), sum(bytes) FROM logs GROUP BY uid, status ORDER BY uid, status";
    s.execute("SET threads = 4").unwrap();
    assert_eq!(s.options().threads, 4);
    let four = s.execute(group).unwrap().rows();
    s.execute("SET threads TO 1").unwrap();
    assert_eq!(s.options().threads, 1);
    assert_eq!(s.execute(group).unwrap().rows(), four);
    let r = s.execute("SELECT current_setting('threads')").unwrap();
    assert_eq!(r.iter().next().unwrap().get::<i64>(0).unwrap(), 1);

    for (text, bytes) in [
        ("'2GB'", 2_000_000_000usize),
        ("'1KiB'", 1024),
        ("'1.5 MB'", 1_500_000),
        ("'3gib'", 3 << 30),
        ("'1KB'", 1000),
    ] {
        s.execute(&format!("SET memory_limit = {text}")).unwrap();
        assert_eq!(s.options().memory_limit, bytes, "{text}");
    }
    let r = s
        .execute("SELECT current_setting('memory_limit') AS m")
        .unwrap();
    assert_eq!(
        r.iter().next().unwrap().get::<&str>("m").unwrap(),
        "1000 bytes"
    );
    // A 1 KB limit is far below what the group-by's hash table needs.
    match s.execute(group) {
        Err(Error::ResourcesExhausted(m)) => assert!(m.contains("memory limit"), "{m}"),
        other => panic!("expected ResourcesExhausted, got {other:?}"),
    }
    s.execute("RESET memory_limit").unwrap();
    assert_eq!(
        s.options().memory_limit,
        logdb::exec::ExecOptions::default().memory_limit
    );
    s.execute("SET use_indexes = false").unwrap();
    assert!(!s.options().use_indexes);
    assert_eq!(s.execute(group).unwrap().rows(), four);
    s.execute("RESET ALL").unwrap();
    assert!(s.options().use_indexes);
    assert_eq!(
        s.options().threads,
        logdb::exec::ExecOptions::default().threads
    );

    for (bad, msg) in [
        ("SET threads = 0", "threads must be between 1 and"),
        ("SET threads = 'x'", "threads needs an integer"),
        ("SET memory_limit = '100'", "unknown unit for memory: ''"),
        ("SET memory_limit = '5 XB'", "unknown unit for memory: 'xb'"),
        ("SET memory_limit = 'lots'", "invalid memory limit"),
        ("SET nope = 1", "unrecognized configuration parameter 'nope'; known settings: aggregate_cache, default_null_order, default_order, explain_output, memory_limit, scalar_subquery_error_on_multiple_rows, threads, TimeZone, use_indexes, verification, verify_parallelism"),
        ("RESET nope", "unrecognized configuration parameter"),
        ("SELECT current_setting('nope')", "unrecognized configuration parameter"),
    ] {
        let e = s.execute(bad).unwrap_err();
        assert!(e.to_string().contains(msg), "{bad}: {e}");
        assert!(e.to_string().starts_with("line 1, column "), "{bad}: {e}");
    }
    // Db::query runs in a fresh session: SET there changes nothing that sticks.
    db.query("SET threads = 1").unwrap();
    assert!(db.prepare("SET threads = 1").is_err());
    // A prepared statement can run with the session's current settings.
    let p = s
        .prepare("SELECT count(*) FROM logs WHERE uid = ?")
        .unwrap();
    s.execute("SET threads = 2").unwrap();
    let r = s.execute_prepared(&p, &[Value::from("u2")]).unwrap();
    assert_eq!(
        r.iter().next().unwrap().get::<i64>(0).unwrap(),
        count(&db, "SELECT count(*) FROM logs WHERE uid = 'u2'")
    );
}

#[test]
fn insert_casts_like_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.query("CREATE TABLE t (a INTEGER, b VARCHAR, ts TIMESTAMP, d DOUBLE, f BOOLEAN, s SMALLINT, ip IP)")
        .unwrap();
    for ok in [
        "INSERT INTO t (a) VALUES ('42')",
        "INSERT INTO t (a) VALUES (2.5)",
        "INSERT INTO t (a) VALUES (true)",
        "INSERT INTO t (b) VALUES (42)",
        "INSERT INTO t (ts) VALUES ('2024-05-01 10:00:00')",
        "INSERT INTO t (ts) VALUES (TIMESTAMP '2024-05-01')",
        "INSERT INTO t (d) VALUES (-1)",
        "INSERT INTO t (f) VALUES ('true')",
        "INSERT INTO t (s) VALUES (CAST('7' AS INT))",
        "INSERT INTO t (ip) VALUES ('::1')",
        "INSERT INTO t (b, a) SELECT a, b FROM t WHERE a = 42",
    ] {
        db.query(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let r = db
        .query("SELECT a FROM t WHERE a IS NOT NULL ORDER BY a")
        .unwrap();
    let a: Vec<i64> = r.iter().map(|row| row.get(0).unwrap()).collect();
    assert_eq!(a, [1, 3, 42]); // 2.5 is a DECIMAL: rounds half away from zero
    assert_eq!(count(&db, "SELECT count(*) FROM t WHERE b = '42'"), 2);
    for (bad, msg) in [
        ("INSERT INTO t (a) VALUES ('x')", "line 1, column 27: Conversion Error: could not convert string 'x' to INTEGER"),
        ("INSERT INTO t (ts) VALUES (42)", "Unimplemented type for cast (INTEGER -> TIMESTAMP)"),
        ("INSERT INTO t (s) VALUES (100000)", "out of range for the destination type INT16"),
        ("INSERT INTO t (s) SELECT 100000 + a FROM t", "out of range for the destination type INT16"),
        ("INSERT INTO t (a) SELECT ts FROM t", "line 1, column 26: Conversion Error: Unimplemented type for cast (TIMESTAMP -> INTEGER)"),
        ("INSERT INTO t VALUES (1)", "table 't' has 7 columns but 1 values were supplied"),
        ("INSERT INTO t (a, b) VALUES (1)", "INSERT names 2 columns but 1 values"),
        ("INSERT INTO t (zz) VALUES (1)", "line 1, column 16: unknown column 'zz'; known columns: a, b, ts"),
        ("INSERT INTO t (a, a) VALUES (1, 2)", "duplicate column name 'a'"),
        ("INSERT INTO nope VALUES (1)", "line 1, column 13: unknown table 'nope'; known tables: t"),
        ("INSERT INTO t (a) VALUES (1), ('x')", "line 1, column 32: Conversion Error"),
        ("INSERT INTO t (a) VALUES (1), (1, 2)", "VALUES lists must all be the same length"),
        ("INSERT INTO t (a) VALUES (1 + 1)", "not supported yet: expression 1 + 1 in VALUES"),
    ] {
        let e = db.query(bad).unwrap_err();
        assert!(e.to_string().contains(msg), "{bad}: {e}");
        assert!(e.to_string().starts_with("line "), "{bad}: {e}");
    }
    // Failed inserts store nothing.
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 11);
    db.query("CREATE TABLE nn (x INT NOT NULL, y INT)").unwrap();
    let e = db.query("INSERT INTO nn (y) VALUES (1)").unwrap_err();
    assert!(
        e.to_string().contains("NOT NULL constraint failed: nn.x"),
        "{e}"
    );
}

/// Statements that must fail with an error (not a panic), with a position.
#[test]
fn bad_statements_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 100);
    for bad in [
        "CREATE TABLE x (a INT) WITH (time_column = 'a')",
        "CREATE TABLE x (a DECIMAL(40, 2))",
        "CREATE TABLE x (a INT PRIMARY KEY)",
        "CREATE TABLE x (a INT, A INT)",
        "CREATE TABLE x ()",
        "CREATE TABLE x (ts TIMESTAMP) WITH (color = 'red')",
        "CREATE TABLE x (ts TIMESTAMP) WITH (time_column = 'nope')",
        "CREATE TABLE x (ip IP) WITH (indexes = 'ip')",
        "CREATE TABLE \"9x\" (a INT)",
        "CREATE OR REPLACE TABLE IF NOT EXISTS logs (a INT)",
        "CREATE TABLE s.x (a INT)",
        "CREATE TABLE x AS SELECT nope FROM logs",
        "INSERT INTO logs (ts) VALUES (NULL)",
        "INSERT INTO logs VALUES ($1, 'a', 1, 1)",
        "INSERT INTO logs SELECT * FROM logs, logs",
        "DELETE FROM logs WHERE ts < now()",
        "DELETE FROM logs WHERE ts < 'yesterday'",
        "DELETE FROM nope",
        "DELETE FROM logs USING logs",
        "ALTER TABLE logs DROP PARTITION 'May 1'",
        "ALTER TABLE logs DROP PARTITION '2024-05-01T24'",
        "ALTER TABLE logs DROP PARTITION ('2024-05-09')",
        "ALTER TABLE logs ADD COLUMN x INT",
        "ALTER TABLE nope DROP PARTITION '2024-05-01'",
        "DESCRIBE nope",
        "DROP VIEW v",
        "UPDATE logs SET uid = 'x'",
        "SET threads = 1, memory_limit = '1GB'",
        "SET threads = 99999999999999999999",
        "SET memory_limit = '-5GB'",
        "SET memory_limit = '1e999GB'",
        "SELECT ?",
        "SELECT $0 FROM logs",
        "SELECT $name FROM logs",
        "SHOW TABLES LIKE 'x%'",
        "EXPLAIN INSERT INTO logs VALUES (1)",
        "SELECT 1; SELECT 2",
    ] {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.query(bad))) {
            Ok(Ok(r)) => panic!("{bad}: expected an error, got {r:?}"),
            Ok(Err(e)) => assert!(
                e.to_string().starts_with("line ") || matches!(e, Error::NotFound(_)),
                "{bad}: {e}"
            ),
            Err(_) => panic!("{bad}: panicked"),
        }
    }
    assert_eq!(db.table_names().unwrap(), ["logs"]);
    assert_eq!(count(&db, "SELECT count(*) FROM logs"), 100);
}

/// Random token sequences over the statement keywords never panic.
#[test]
fn statement_token_soup_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    log_table(&db, 50);
    let words = [
        "CREATE",
        "TABLE",
        "INSERT",
        "INTO",
        "VALUES",
        "DELETE",
        "FROM",
        "WHERE",
        "ALTER",
        "DROP",
        "PARTITION",
        "SET",
        "RESET",
        "SHOW",
        "TABLES",
        "DESCRIBE",
        "IF",
        "EXISTS",
        "NOT",
        "AS",
        "SELECT",
        "WITH",
        "logs",
        "x",
        "ts",
        "uid",
        "(",
        ")",
        ",",
        "=",
        "<",
        "'2024-05-01'",
        "'1GB'",
        "1",
        "-1",
        "NULL",
        "INT",
        "TIMESTAMP",
        "VARCHAR",
        "$1",
        "?",
        "threads",
        "memory_limit",
        "time_column",
        "*",
        "AND",
        "TO",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = 1 + next() % 12;
        let sql: Vec<&str> = (0..n)
            .map(|_| words[(next() % words.len() as u64) as usize])
            .collect();
        let sql = sql.join(" ");
        let mut s = Session::new(db.clone());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.execute(&sql)));
        assert!(r.is_ok(), "panicked on: {sql}");
    }
}

/// TIMESTAMP and DATE cells read as `jiff::Timestamp`, as the UTC wall time
/// `jiff::civil::DateTime`, and as the text the shell prints.
#[test]
fn timestamps_read_as_jiff_types() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db
        .query(
            "SELECT TIMESTAMP '2024-01-01 00:00:00' AS t, \
             TIMESTAMP '2024-05-01 10:00:00.25' AS u, 7 AS n, \
             CAST(NULL AS TIMESTAMP) AS z",
        )
        .unwrap();
    let row = r.iter().next().unwrap();
    let t: jiff::Timestamp = row.get("t").unwrap();
    assert_eq!(
        t,
        "2024-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    let u: jiff::civil::DateTime = row.get("u").unwrap();
    assert_eq!(u, jiff::civil::date(2024, 5, 1).at(10, 0, 0, 250_000_000));
    assert_eq!(row.get::<Option<jiff::Timestamp>>("z").unwrap(), None);
    let e = row.get::<jiff::Timestamp>("n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 'n' is INTEGER and cannot be read as jiff::Timestamp"
    );

    let r = db.query("SELECT DATE '2024-05-01' AS d").unwrap();
    let row = r.iter().next().unwrap();
    assert_eq!(row.get::<String>("d").unwrap(), "2024-05-01");
    let d: jiff::civil::DateTime = row.get("d").unwrap();
    assert_eq!(d, jiff::civil::date(2024, 5, 1).at(0, 0, 0, 0));
}
