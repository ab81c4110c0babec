//! Parquet and Arrow through the library: COPY ... (FORMAT parquet) read back by
//! read_parquet with every type and NULL intact, results as Arrow record batches
//! and record batches appended to a table, `export_parquet`'s incremental runs
//! (nothing rewritten when nothing changed, one day rewritten when one day
//! changed, days removed by retention, a run killed midway finished by the next,
//! directories it must not touch), damaged files failing with the file's name,
//! and queries in place against the same queries over the table: row groups
//! skipped by their statistics (every comparison, IN, BETWEEN, NULL-only row
//! groups, a file without statistics), aggregates over dictionary-encoded
//! chunks (`ParquetAggregate`), and the filter run inside the reader conjunct by
//! conjunct. Reading files DuckDB and pyarrow wrote is tests/slt/parquet.slt.

use std::path::Path;

use logdb::arrow_import::{append_record_batch, import_parquet};
use logdb::export::{export_parquet, ExportOptions, ExportStats, MANIFEST};
use logdb::{Db, Quiet, Value};

use crate::common::{all_rows, log_batch, log_schema, DAY, T0};

fn rows(db: &Db, sql: &str) -> Vec<Vec<Value>> {
    db.query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows()
}

fn lit(p: &Path) -> String {
    p.to_str().unwrap().replace('\'', "''")
}

const ALL_TYPES: &str = "CREATE TABLE t (i BIGINT, n INTEGER, s SMALLINT, d DOUBLE, b BOOLEAN, \
                         v VARCHAR, ip IP, ts TIMESTAMP, dt DATE)";
const ALL_ROWS: &str = "INSERT INTO t VALUES \
    (1, 2, 3, 1.5, true, 'a,\"b\"', '10.0.0.1', TIMESTAMP '2024-01-02 03:04:05.123456', DATE '2024-01-02'), \
    (-9000000000, -70000, -300, -1e300, false, '', '2001:db8::1', TIMESTAMP '1969-12-31 23:59:59.5', DATE '0001-01-01'), \
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
    (4, 4, 4, 'NaN', true, 'caf\u{e9} \u{2603}', '255.255.255.255', TIMESTAMP '2262-01-01 00:00:00', DATE '9999-12-31')";

#[test]
fn copy_to_parquet_reads_back_every_type_and_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query(ALL_TYPES).unwrap();
    db.query(ALL_ROWS).unwrap();
    for codec in ["snappy", "zstd", "gzip", "lz4_raw", "uncompressed"] {
        let file = dir.path().join(format!("t-{codec}.parquet"));
        let n = rows(
            &db,
            &format!(
                "COPY t TO '{}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 2)",
                lit(&file)
            ),
        );
        assert_eq!(n, vec![vec![Value::Int(4)]], "{codec}");
        // Every value as it was (IP written as text, marked as logdb's IP).
        let back = rows(
            &db,
            &format!("SELECT * FROM read_parquet('{}')", lit(&file)),
        );
        let want = rows(&db, "SELECT * FROM t");
        assert_eq!(format!("{back:?}"), format!("{want:?}"), "{codec}");
        let types = db
            .query(&format!("SELECT * FROM '{}'", lit(&file)))
            .unwrap()
            .columns
            .iter()
            .map(|(_, t)| t.to_string())
            .collect::<Vec<_>>();
        assert_eq!(
            types,
            [
                "BIGINT",
                "INTEGER",
                "SMALLINT",
                "DOUBLE",
                "BOOLEAN",
                "VARCHAR",
                "IP",
                "TIMESTAMP",
                "DATE"
            ]
        );
    }
    // An existing file needs OVERWRITE; a failed COPY leaves the old file.
    let file = dir.path().join("t-zstd.parquet");
    let before = std::fs::read(&file).unwrap();
    let e = db
        .query(&format!("COPY t TO '{}' (FORMAT parquet)", lit(&file)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("exists; add (OVERWRITE)"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let e = db
        .query(&format!(
            "COPY t TO '{}' (FORMAT parquet, COMPRESSION brotli)",
            lit(&dir.path().join("x.parquet"))
        ))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown Parquet COMPRESSION 'brotli'"), "{e}");
    assert!(!dir.path().join("x.parquet").exists());
}

/// A DECIMAL column is written as Decimal128(p,s) and read back into a DECIMAL
/// column of another scale by value (never its scaled integers as they are);
/// integers and doubles appended to a DECIMAL column convert like CAST.
#[test]
fn decimal_columns_go_through_parquet_and_arrow_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query("CREATE TABLE p (d DECIMAL(9,2), n BIGINT, x DOUBLE)")
        .unwrap();
    db.query("INSERT INTO p VALUES ('1.25', 7, 0.5), ('-3.50', -2, 1.125), (NULL, NULL, NULL)")
        .unwrap();
    let f = dir.path().join("p.parquet");
    db.query(&format!("COPY p TO '{}' (FORMAT parquet)", lit(&f)))
        .unwrap();
    let r = db.query("SELECT * FROM p").unwrap();
    assert_eq!(
        r.arrow_schema().field(0).data_type().to_string(),
        "Decimal128(9, 2)"
    );
    db.query("CREATE TABLE q (d DECIMAL(10,3), n DECIMAL(4,1), x DECIMAL(5,2))")
        .unwrap();
    db.query(&format!("COPY q FROM '{}'", lit(&f))).unwrap();
    let text = db
        .query("SELECT d, n, x FROM q ORDER BY d")
        .unwrap()
        .text_rows();
    assert_eq!(
        text,
        [
            ["-3.500", "-2.0", "1.13"],
            ["1.250", "7.0", "0.50"],
            ["NULL", "NULL", "NULL"]
        ]
    );
    // Out of range for the column: an error naming the column, nothing appended.
    db.query("CREATE TABLE small (d DECIMAL(2,2), n BIGINT, x DOUBLE)")
        .unwrap();
    let e = db
        .query(&format!("COPY small FROM '{}'", lit(&f)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("DECIMAL(2,2)") && e.contains("column 'd'"),
        "{e}"
    );
    assert_eq!(
        rows(&db, "SELECT count(*) FROM small"),
        vec![vec![Value::Int(0)]]
    );
    // Arrow batches appended: Decimal128 rescaled, BIGINT and DOUBLE cast.
    let batches = r.to_arrow().unwrap();
    db.query("CREATE TABLE a (d DECIMAL(10,1), n DECIMAL(4,1), x DECIMAL(5,2))")
        .unwrap();
    for b in &batches {
        append_record_batch(&db, "a", b).unwrap();
    }
    let text = db
        .query("SELECT d, n, x FROM a ORDER BY d")
        .unwrap()
        .text_rows();
    assert_eq!(
        text,
        [
            ["-3.5", "-2.0", "1.13"],
            ["1.3", "7.0", "0.50"],
            ["NULL", "NULL", "NULL"]
        ]
    );
    db.query("CREATE TABLE b (d DECIMAL(2,2), n BIGINT, x DOUBLE)")
        .unwrap();
    let e = append_record_batch(&db, "b", &batches[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 0") && e.contains("DECIMAL(2,2)"), "{e}");
}

#[test]
fn copy_from_parquet_appends_by_position_and_a_glob_reads_many_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query(ALL_TYPES).unwrap();
    db.query(ALL_ROWS).unwrap();
    for k in 0..3 {
        let f = dir.path().join(format!("part-{k}.parquet"));
        db.query(&format!(
            "COPY (SELECT * FROM t WHERE i > {k} OR i IS NULL) TO '{}'",
            lit(&f)
        ))
        .unwrap();
    }
    let glob = dir.path().join("part-*.parquet");
    let n = rows(
        &db,
        &format!(
            "SELECT count(*), count(ip), sum(i) FROM read_parquet('{}', filename := true) \
             WHERE filename LIKE '%part-%'",
            lit(&glob)
        ),
    );
    // part-0: 1, 4, NULL; part-1: 4, NULL; part-2: 4, NULL.
    assert_eq!(n, vec![vec![Value::Int(7), Value::Int(4), Value::Int(13)]]);
    db.query("CREATE TABLE u (i BIGINT, n INTEGER, s SMALLINT, d DOUBLE, b BOOLEAN, v VARCHAR, ip IP, ts TIMESTAMP, dt DATE)")
        .unwrap();
    let copied = rows(
        &db,
        &format!("COPY u FROM '{}'", lit(&dir.path().join("part-0.parquet"))),
    );
    assert_eq!(copied, vec![vec![Value::Int(3)]]);
    let ips = rows(&db, "SELECT ip FROM u WHERE ip IS NOT NULL ORDER BY i");
    assert_eq!(ips.len(), 2);
    assert!(matches!(ips[0][0], Value::Ip(_)), "{ips:?}");
}

#[test]
fn results_are_arrow_batches_and_batches_append_to_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query(ALL_TYPES).unwrap();
    db.query(ALL_ROWS).unwrap();
    let result = db.query("SELECT * FROM t").unwrap();
    let batches = result.to_arrow().unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 4);
    let schema = result.arrow_schema();
    assert_eq!(
        schema.field(7).data_type().to_string(),
        "Timestamp(µs, \"UTC\")"
    );
    assert_eq!(schema.field(6).data_type().to_string(), "Utf8");
    // Appended to a table with the same columns (IP parsed from its text).
    db.query("CREATE TABLE c (i BIGINT, n INTEGER, s SMALLINT, d DOUBLE, b BOOLEAN, v VARCHAR, ip IP, ts TIMESTAMP, dt DATE)")
        .unwrap();
    for b in &batches {
        append_record_batch(&db, "c", b).unwrap();
    }
    assert_eq!(
        format!("{:?}", rows(&db, "SELECT * FROM c")),
        format!("{:?}", rows(&db, "SELECT * FROM t"))
    );
    // By name: a missing column is NULL, an unknown one an error naming it.
    let some = db.query("SELECT v, i FROM t").unwrap().to_arrow().unwrap();
    append_record_batch(&db, "c", &some[0]).unwrap();
    assert_eq!(
        rows(&db, "SELECT count(*), count(n) FROM c"),
        vec![vec![Value::Int(8), Value::Int(3)]]
    );
    let extra = db.query("SELECT 1 AS nope").unwrap().to_arrow().unwrap();
    let e = append_record_batch(&db, "c", &extra[0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("column 'nope'") && e.contains("no such column"),
        "{e}"
    );
    // A log table's time column cannot be NULL.
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    let nulls = db
        .query("SELECT NULL::TIMESTAMP AS ts, 'x' AS uri")
        .unwrap()
        .to_arrow()
        .unwrap();
    let e = append_record_batch(&db, "logs", &nulls[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("NULL ts"), "{e}");
}

/// A log table over `days` days, `per_day` rows a day.
fn logs_db(path: &Path, days: i64, per_day: usize) -> Db {
    let db = Db::open(path).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    for d in 0..days {
        let step = DAY / per_day as i64;
        db.append(
            "logs",
            &log_batch(&schema, d as u64, T0 + d * DAY, step, per_day),
        )
        .unwrap();
    }
    db
}

fn export(db: &Db, dir: &Path) -> ExportStats {
    export_parquet(db, "logs", dir, &ExportOptions::default(), &mut |_| {}).unwrap()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_export_writes_only_what_changed_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_db(&dir.path().join("db"), 3, 1000);
    let out = dir.path().join("export");
    let first = export(&db, &out);
    assert_eq!(
        (first.days_written, first.rows_written, first.days_unchanged),
        (3, 3000, 0)
    );
    assert_eq!(
        files_under(&out),
        [
            "_logdb_export.json",
            "_logdb_export.lock",
            "day=2024-05-01/part-0.parquet",
            "day=2024-05-02/part-0.parquet",
            "day=2024-05-03/part-0.parquet",
        ]
    );
    // The files hold the table, row for row (IP as text).
    let glob = out.join("*/*.parquet");
    let q = |from: &str| {
        format!(
            "SELECT ts, client_ip::VARCHAR, uri, uid, status, bytes, request_time, user_agent, \
             secure FROM {from} ORDER BY ts, uri"
        )
    };
    assert_eq!(
        format!(
            "{:?}",
            rows(&db, &q(&format!("read_parquet('{}')", lit(&glob))))
        ),
        format!("{:?}", rows(&db, &q("logs")))
    );

    // Nothing new: nothing written, the files untouched.
    let mtime = |p: &str| std::fs::metadata(out.join(p)).unwrap().modified().unwrap();
    let day1 = mtime("day=2024-05-01/part-0.parquet");
    let again = export(&db, &out);
    assert_eq!((again.days_written, again.days_unchanged), (0, 3));
    assert_eq!(mtime("day=2024-05-01/part-0.parquet"), day1);

    // Rows for day 2 and a new day 4: those two days only.
    let schema = log_schema();
    db.append("logs", &log_batch(&schema, 9, T0 + DAY + 5, 1000, 10))
        .unwrap();
    db.append("logs", &log_batch(&schema, 9, T0 + 3 * DAY, 1000, 10))
        .unwrap();
    let third = export(&db, &out);
    assert_eq!(
        (third.days_written, third.days_unchanged, third.rows_written),
        (2, 2, 1020)
    );
    assert_eq!(mtime("day=2024-05-01/part-0.parquet"), day1);
    let count = |p: &str| {
        rows(
            &db,
            &format!("SELECT count(*) FROM '{}'", lit(&out.join(p))),
        )
    };
    assert_eq!(
        count("day=2024-05-02/part-0.parquet"),
        vec![vec![Value::Int(1010)]]
    );

    // Retention drops days 1 and 2: their files go, the rest stay.
    db.drop_partitions_before("logs", T0 + 2 * DAY).unwrap();
    let fourth = export(&db, &out);
    assert_eq!((fourth.days_removed, fourth.days_unchanged), (2, 2));
    assert_eq!(
        files_under(&out),
        [
            "_logdb_export.json",
            "_logdb_export.lock",
            "day=2024-05-03/part-0.parquet",
            "day=2024-05-04/part-0.parquet",
        ]
    );

    // Read back by `import --format parquet`: a log table again, IPs as IPs.
    let back = Db::open(dir.path().join("back")).unwrap();
    let files: Vec<_> = files_under(&out)
        .iter()
        .filter(|f| f.ends_with(".parquet"))
        .map(|f| out.join(f))
        .collect();
    let stats = import_parquet(&back, &files, Some("logs"), &mut Quiet).unwrap();
    assert_eq!((stats.lines, stats.rows, stats.rejected), (1010, 1010, 0));
    assert_eq!(all_rows(&db, "logs").len(), 1010);
    assert_eq!(
        back.snapshot()
            .unwrap()
            .table("logs")
            .unwrap()
            .schema
            .fields[1]
            .data_type,
        logdb::DataType::Ip
    );
    assert_eq!(
        format!("{:?}", rows(&back, &q("logs"))),
        format!("{:?}", rows(&db, &q("logs")))
    );
}

#[test]
fn a_killed_export_is_finished_by_the_next_run_and_foreign_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = logs_db(&dir.path().join("db"), 3, 500);
    let out = dir.path().join("export");
    export(&db, &out);
    // As a kill would leave it: a day missing from the manifest, its file half
    // written under the temporary name, another day's file gone.
    let manifest = out.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["days"].as_object_mut().unwrap().remove("2024-05-03");
    std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
    std::fs::write(out.join("day=2024-05-03/.part-0.parquet.tmp"), b"PAR1 half").unwrap();
    std::fs::remove_file(out.join("day=2024-05-03/part-0.parquet")).unwrap();
    let run = export(&db, &out);
    assert_eq!((run.days_written, run.days_unchanged), (1, 2));
    assert!(!out.join("day=2024-05-03/.part-0.parquet.tmp").exists());
    let glob = out.join("*/*.parquet");
    assert_eq!(
        rows(&db, &format!("SELECT count(*) FROM '{}'", lit(&glob))),
        vec![vec![Value::Int(1500)]]
    );

    // A directory with other files and no manifest is not written into.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let e = export_parquet(
        &db,
        "logs",
        &foreign,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not empty"), "{e}");
    assert_eq!(files_under(&foreign), ["notes.txt"]);

    // A manifest naming files outside the layout removes nothing.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"keep").unwrap();
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["days"]["1999-01-01"] = serde_json::json!({
        "fingerprint": "x", "files": ["../victim.txt"], "rows": 1, "bytes": 1
    });
    std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
    let e = export_parquet(&db, "logs", &out, &ExportOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("unexpected file name"), "{e}");
    assert!(victim.exists());

    // Another table into the same directory is refused.
    std::fs::write(&manifest, text).unwrap();
    db.create_table("other", log_schema()).unwrap();
    db.append("other", &log_batch(&log_schema(), 1, T0, 1000, 5))
        .unwrap();
    let e = export_parquet(&db, "other", &out, &ExportOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds an export of table 'logs'"), "{e}");
}

#[test]
fn damaged_parquet_files_fail_naming_the_file_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query(ALL_TYPES).unwrap();
    db.query(ALL_ROWS).unwrap();
    let good = dir.path().join("good.parquet");
    db.query(&format!(
        "COPY (SELECT * FROM t, range(300)) TO '{}' (ROW_GROUP_SIZE 500)",
        lit(&good)
    ))
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.parquet");
    // Truncated: every length, coarse steps.
    for len in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
        std::fs::write(&bad, &bytes[..len]).unwrap();
        let e = db
            .query(&format!("SELECT count(*) FROM '{}'", lit(&bad)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.parquet"), "{len}: {e}");
    }
    // Bytes changed in place: any answer or an error naming the file, never a crash.
    let mut rng = crate::common::Rng(7);
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() as u64) as usize;
            b[at] = rng.next() as u8;
        }
        std::fs::write(&bad, &b).unwrap();
        if let Err(e) = db.query(&format!(
            "SELECT count(*), max(v), count(i), min(ts), max(d) FROM '{}'",
            lit(&bad)
        )) {
            let e = e.to_string();
            assert!(e.contains("bad.parquet"), "{e}");
        }
    }
}

#[test]
fn copy_partition_by_writes_hive_directories_as_duckdb_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query("CREATE TABLE t (i BIGINT, s VARCHAR, ts TIMESTAMP, f DOUBLE)")
        .unwrap();
    db.query(
        "INSERT INTO t VALUES (1, 'a/b', TIMESTAMP '2024-01-02 03:04:05', 1.5), \
         (2, NULL, TIMESTAMP '2024-01-02 03:04:05', 2), (3, 'x y=z', TIMESTAMP '2024-01-03', 1.5), \
         (4, 'a/b', NULL, NULL)",
    )
    .unwrap();
    let out = dir.path().join("out");
    let n = rows(
        &db,
        &format!(
            "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (s, ts))",
            lit(&out)
        ),
    );
    assert_eq!(n, vec![vec![Value::Int(4)]]);
    // The names DuckDB 1.x gives the same rows (checked with its COPY).
    assert_eq!(
        files_under(&out),
        [
            "s=__HIVE_DEFAULT_PARTITION__/ts=2024-01-02%2003%3A04%3A05/data_0.parquet",
            "s=a%2Fb/ts=2024-01-02%2003%3A04%3A05/data_0.parquet",
            "s=a%2Fb/ts=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
            "s=x%20y%3Dz/ts=2024-01-03%2000%3A00%3A00/data_0.parquet",
        ]
    );
    // The files hold the other columns.
    let back = rows(
        &db,
        &format!(
            "SELECT i, f FROM read_parquet('{}') ORDER BY i",
            lit(&out.join("*/*/*.parquet"))
        ),
    );
    assert_eq!(back.len(), 4);
    assert_eq!(back[0], vec![Value::Int(1), Value::Float(1.5)]);
    // A directory with files in it needs OVERWRITE_OR_IGNORE.
    let e = db
        .query(&format!("COPY t TO '{}' (PARTITION_BY (s))", lit(&out)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not empty"), "{e}");
    let n = rows(
        &db,
        &format!(
            "COPY (SELECT i, s FROM t) TO '{}' (PARTITION_BY (s), OVERWRITE_OR_IGNORE)",
            lit(&out)
        ),
    );
    assert_eq!(n, vec![vec![Value::Int(4)]]);
    assert!(out.join("s=a%2Fb/data_0.csv").is_file());
    let e = db
        .query(&format!(
            "COPY (SELECT s FROM t) TO '{}' (PARTITION_BY (s), OVERWRITE_OR_IGNORE)",
            lit(&out)
        ))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nothing would be written"), "{e}");
}

#[test]
fn read_parquet_decodes_only_the_columns_a_query_uses() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query(ALL_TYPES).unwrap();
    db.query(ALL_ROWS).unwrap();
    let out = dir.path().join("parts");
    db.query(&format!(
        "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (b))",
        lit(&out)
    ))
    .unwrap();
    let from = format!(
        "read_parquet('{}', filename := true)",
        lit(&out.join("*/*.parquet"))
    );
    let explain = |sql: &str| -> String {
        rows(&db, &format!("EXPLAIN {sql}"))
            .iter()
            .map(|r| format!("{:?}", r[0]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Two of the file's eight columns, then filename and the hive column b.
    let sql = format!("SELECT v, i, b, filename LIKE '%b=%' AS f FROM {from} ORDER BY i");
    assert!(
        explain(&sql).contains("2 of 8 columns"),
        "{}",
        explain(&sql)
    );
    let got = rows(&db, &sql);
    let want = rows(&db, "SELECT v, i, b::VARCHAR, true AS f FROM t ORDER BY i");
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
    // count(*) keeps one column in the read, and decodes none of it.
    let count = format!("SELECT count(*) FROM {from}");
    assert!(
        explain(&count).contains("1 of 8 columns")
            && explain(&count).contains("decoded for passing rows: []"),
        "{}",
        explain(&count)
    );
    assert_eq!(rows(&db, &count), vec![vec![Value::Int(4)]]);
    // Every column: no projection shown.
    let all = format!("SELECT * FROM {from}");
    assert!(!explain(&all).contains("columns"), "{}", explain(&all));
}

/// A table without a time column exports whole as `DIR/part-N.parquet`: again
/// only when one of its segments changed (one fingerprint of them all), parts
/// beyond the new ones removed; replaced by a table with a time column, its
/// files give way to day directories.
#[test]
fn a_table_without_a_time_column_exports_whole_and_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.query("CREATE TABLE plain (id BIGINT, name VARCHAR, at TIMESTAMP)")
        .unwrap();
    // Three commits, three segments: a file is split between batches.
    for k in 0..3 {
        db.query(&format!(
            "INSERT INTO plain SELECT range, 'n' || range, TIMESTAMP '2024-05-01' + INTERVAL \
             (range) HOUR FROM range({}, {})",
            k * 500,
            k * 500 + 500
        ))
        .unwrap();
    }
    let out = dir.path().join("export");
    let options = ExportOptions {
        rows_per_file: 400,
        ..ExportOptions::default()
    };
    let run = || export_parquet(&db, "plain", &out, &options, &mut |_| {}).unwrap();
    let first = run();
    assert!(first.whole_table);
    assert_eq!(
        (first.days_written, first.files_written, first.rows_written),
        (1, 3, 1500)
    );
    assert_eq!(
        files_under(&out),
        [
            "_logdb_export.json",
            "_logdb_export.lock",
            "part-0.parquet",
            "part-1.parquet",
            "part-2.parquet"
        ]
    );
    let q = |from: &str| format!("SELECT id, name, at FROM {from} ORDER BY id");
    assert_eq!(
        rows(&db, &q(&format!("read_parquet('{}')", lit(&out)))),
        rows(&db, &q("plain"))
    );
    // Nothing new: nothing written.
    let mtime = || {
        std::fs::metadata(out.join("part-0.parquet"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime();
    let again = run();
    assert_eq!((again.days_written, again.days_unchanged), (0, 1));
    assert_eq!(mtime(), before);
    // Fewer rows: fewer parts, the extra ones removed.
    db.query("DELETE FROM plain").unwrap();
    db.query("INSERT INTO plain VALUES (1, 'one', NULL)")
        .unwrap();
    let third = run();
    assert_eq!((third.days_written, third.rows_written), (1, 1));
    assert_eq!(
        files_under(&out),
        ["_logdb_export.json", "_logdb_export.lock", "part-0.parquet"]
    );
    // The table replaced by one with a time column: by day from now on.
    db.query("CREATE OR REPLACE TABLE plain (id BIGINT, at TIMESTAMP) WITH (time_column = 'at')")
        .unwrap();
    db.query("INSERT INTO plain VALUES (1, TIMESTAMP '2024-05-01 10:00:00')")
        .unwrap();
    let fourth = run();
    assert!(!fourth.whole_table);
    assert_eq!(
        files_under(&out),
        [
            "_logdb_export.json",
            "_logdb_export.lock",
            "day=2024-05-01/part-0.parquet"
        ]
    );
    // A manifest naming other files for the whole table is refused.
    let manifest = std::fs::read_to_string(out.join(MANIFEST)).unwrap();
    let edited = manifest.replace(
        "\"days\": {",
        "\"whole\": {\"fingerprint\": \"x\", \"files\": [\"../victim\"], \"rows\": 0, \
         \"bytes\": 0},\n  \"days\": {",
    );
    assert_ne!(edited, manifest);
    std::fs::write(out.join(MANIFEST), edited).unwrap();
    let e = export_parquet(&db, "plain", &out, &options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("unexpected file name '../victim'"), "{e}");
}

/// Ten thousand rows in order of `i`: `s` ascending text, NULL for i in
/// 3000..3999; `ts` one second apart; `v` two or three values per thousand rows
/// (NULL every 7th row); five IPs; `f` a fraction; `d` a day per hundred rows.
const TEN_ROW_GROUPS: &str = "CREATE TABLE t AS SELECT i, \
    CASE WHEN i BETWEEN 3000 AND 3999 THEN NULL ELSE 's' || CAST(100000 + i AS VARCHAR) END AS s, \
    TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts, \
    CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || CAST((i // 700) % 13 AS VARCHAR) END AS v, \
    CAST('10.0.' || CAST(i % 5 AS VARCHAR) || '.1' AS IP) AS ip, \
    i / 10000.0 AS f, \
    DATE '2024-01-01' + CAST(i // 100 AS INTEGER) AS d \
    FROM range(10000) r(i)";

/// The table of [`TEN_ROW_GROUPS`] and its Parquet copy, in row groups of
/// 1,000 rows.
fn ten_row_groups(dir: &Path) -> (Db, String) {
    let db = Db::open(dir.join("db")).unwrap();
    db.query(TEN_ROW_GROUPS).unwrap();
    let file = dir.join("t.parquet");
    db.query(&format!(
        "COPY t TO '{}' (FORMAT parquet, ROW_GROUP_SIZE 1000)",
        lit(&file)
    ))
    .unwrap();
    (db, format!("'{}'", lit(&file)))
}

/// The lines of `EXPLAIN sql`.
fn explain_text(db: &Db, sql: &str) -> String {
    rows(db, &format!("EXPLAIN {sql}"))
        .into_iter()
        .map(|r| match &r[0] {
            Value::Str(s) => s.to_string(),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn row_groups_their_statistics_rule_out_are_skipped_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (db, file) = ten_row_groups(dir.path());
    // (WHERE, row groups kept of 10; None: no conjunct statistics can test)
    let cases: &[(&str, Option<usize>)] = &[
        ("i = 2500", Some(1)),
        ("i < 1000", Some(1)),
        ("i <= 1000", Some(2)),
        ("1000 > i", Some(1)),
        ("i > 8999", Some(1)),
        ("i >= 8999", Some(2)),
        ("i BETWEEN 2500 AND 4500", Some(3)),
        ("i IN (5, 9995, 20000)", Some(2)),
        ("i IN (20000, 30000)", Some(0)),
        ("i NOT IN (5)", None),
        ("ts >= TIMESTAMP '2024-01-01 02:30:00'", Some(1)),
        ("ts < TIMESTAMP '2024-01-01'", Some(0)),
        ("s = 's104500'", Some(1)),
        ("s < 's101000'", Some(1)),
        // Row group 3 holds only NULLs in s: no comparison keeps a row of it.
        ("s >= 's100000'", Some(9)),
        ("s IS NULL", None),
        ("s IN ('s103500', 's100001')", Some(1)),
        ("v = 'v5'", Some(2)),
        ("d = DATE '2024-01-05'", Some(1)),
        ("d BETWEEN DATE '2024-01-05' AND DATE '2024-01-15'", Some(2)),
        // Floats and IPs are never tested against statistics.
        ("f > 0.95", Some(10)),
        ("ip = '10.0.1.1'", Some(10)),
        ("i = 2500 AND s = 's102500'", Some(1)),
        ("i = 2500 AND s = 's103500'", Some(0)),
        ("i + 0 = 2500", None),
        ("i > 9000 OR i < 10", None),
    ];
    for &(cond, kept) in cases {
        for select in [
            "SELECT count(*), min(i), max(s), count(DISTINCT v) FROM {src} WHERE {cond}",
            "SELECT i, s, v, ip FROM {src} WHERE {cond} ORDER BY i",
        ] {
            let on = |src: &str| select.replace("{src}", src).replace("{cond}", cond);
            assert_eq!(
                format!("{:?}", rows(&db, &on(&file))),
                format!("{:?}", rows(&db, &on("t"))),
                "{}",
                on(&file)
            );
            let explain = explain_text(&db, &on(&file));
            let line = explain
                .lines()
                .find(|l| l.contains("row groups:"))
                .unwrap_or_else(|| panic!("{}\n{explain}", on(&file)));
            match kept {
                Some(k) => assert!(
                    line.contains(&format!("row groups: {k} of 10 after statistics [")),
                    "{cond}: {line}"
                ),
                None => assert!(
                    line.trim_end().ends_with("row groups: 10"),
                    "{cond}: {line}"
                ),
            }
        }
    }
    // The conjuncts are named as SQL.
    let explain = explain_text(
        &db,
        &format!(
            "SELECT count(*) FROM {file} WHERE ts >= TIMESTAMP '2024-01-01 02:30:00' \
             AND s IN ('a''b', 'c') AND d = DATE '2024-01-05'"
        ),
    );
    assert!(
        explain.contains("[ts >= '2024-01-01 02:30:00', s IN ('a''b', 'c'), d = '2024-01-05']"),
        "{explain}"
    );
}

#[test]
fn a_file_without_statistics_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let file = "'tests/data/files/parquet/nostats.parquet'";
    let sql = format!("SELECT count(*), max(s) FROM {file} WHERE i = 0 OR s = 'z'");
    assert_eq!(
        rows(&db, &sql),
        vec![vec![Value::Int(2), Value::Str("z".into())]]
    );
    let sql = format!("SELECT count(*) FROM {file} WHERE i >= 20");
    assert_eq!(rows(&db, &sql), vec![vec![Value::Int(3)]]);
    let explain = explain_text(&db, &sql);
    assert!(
        explain.contains("row groups: 3 of 3 after statistics [i >= 20]"),
        "{explain}"
    );
}

#[test]
fn aggregates_over_parquet_run_on_dictionaries_and_match_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (db, file) = ten_row_groups(dir.path());
    // v's chunks are dictionary-encoded throughout: read as dictionaries (each
    // row group its own), not as a string per row.
    let path = dir.path().join("t.parquet");
    let pf = logdb::arrow::ParquetFile::open(&path).unwrap();
    for rg in [0, 5] {
        let mut reader = pf.read_row_group(rg, 8192, Some(&[3])).unwrap();
        let (cols, _) = reader.next_columns().unwrap().unwrap();
        assert!(
            matches!(cols[0], logdb::arrow::ReadColumn::Dict { .. }),
            "row group {rg}: {:?}",
            cols[0]
        );
    }
    let queries = [
        "SELECT v, count(*), min(i), max(i), max(s) FROM {src} GROUP BY v ORDER BY v",
        "SELECT v, ip, count(*) FROM {src} GROUP BY v, ip ORDER BY v, ip",
        "SELECT min(v), max(v), count(DISTINCT v), count(v), count(*) FROM {src}",
        "SELECT v, max(s), min(s) FROM {src} WHERE v IN ('v1', 'v5') GROUP BY v ORDER BY v",
        "SELECT count(*), count(DISTINCT ip) FROM {src} WHERE v LIKE 'v1%'",
        "SELECT ip, count(*), max(v) FROM {src} WHERE v > 'v3' GROUP BY ip ORDER BY ip",
        "SELECT d, count(*) FROM {src} GROUP BY d ORDER BY d LIMIT 5",
        "SELECT s, count(*) FROM {src} GROUP BY s ORDER BY 2 DESC, 1 LIMIT 3",
        "SELECT i % 3 AS k, v, count(*) FROM {src} WHERE i < 5000 GROUP BY k, v ORDER BY k, v",
    ];
    for threads in [1, 2] {
        let opts = logdb::exec::ExecOptions {
            threads,
            ..logdb::exec::ExecOptions::default()
        };
        let run = |sql: &str| {
            let snap = db.snapshot().unwrap();
            let plan = logdb::sql::plan(&snap, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            logdb::exec::execute(&snap, &plan, &opts)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .rows()
        };
        for q in queries {
            let (got, want) = (
                run(&q.replace("{src}", &file)),
                run(&q.replace("{src}", "t")),
            );
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{q} ({threads} threads)"
            );
        }
    }
    let explain = explain_text(&db, &format!("SELECT v, count(*) FROM {file} GROUP BY v"));
    assert!(explain.contains("ParquetAggregate:"), "{explain}");
    // The filename and hive columns are constants of each row group.
    let with_name = format!(
        "SELECT filename LIKE '%t.parquet' AS f, v, count(*) FROM read_parquet({file}, filename := true) \
         GROUP BY 1, 2 ORDER BY v"
    );
    let want = rows(
        &db,
        "SELECT true AS f, v, count(*) FROM t GROUP BY 1, 2 ORDER BY v",
    );
    assert_eq!(format!("{:?}", rows(&db, &with_name)), format!("{want:?}"));
}

#[test]
fn a_filter_runs_inside_the_reader_conjunct_by_conjunct() {
    let dir = tempfile::tempdir().unwrap();
    let (db, file) = ten_row_groups(dir.path());
    let from = format!("read_parquet({file}, filename := true)");
    // Each conjunct sees only the rows the ones before it kept: the cast never
    // meets the text of s.
    for sql in [
        format!("SELECT count(*) FROM {from} WHERE i > 100000 AND CAST(s AS BIGINT) > 5"),
        format!("SELECT i FROM {from} WHERE i > 100000 AND CAST(s AS BIGINT) > 5"),
        format!(
            "SELECT count(*) FROM {from} WHERE filename LIKE '%zzz%' AND CAST(s AS BIGINT) > 5"
        ),
        format!("SELECT i FROM {from} WHERE filename LIKE '%zzz%' AND CAST(s AS BIGINT) > 5"),
    ] {
        let got = rows(&db, &sql);
        assert!(
            got.is_empty() || got == vec![vec![Value::Int(0)]],
            "{sql}: {got:?}"
        );
    }
    // An error of a conjunct is the query's error, not a damaged file.
    for sql in [
        format!("SELECT count(*) FROM {file} WHERE CAST(s AS BIGINT) > 5"),
        format!("SELECT i FROM {file} WHERE CAST(s AS BIGINT) > 5"),
    ] {
        let e = db.query(&sql).unwrap_err().to_string();
        assert!(
            e.contains("could not convert") && !e.contains("Parquet"),
            "{sql}: {e}"
        );
    }
    // The rows of a selective filter, and a filter on the filename column
    // alone, as the table gives them.
    for (cond, want) in [
        ("v = 'v3' AND i % 2 = 0", "v = 'v3' AND i % 2 = 0"),
        ("filename LIKE '%t.parquet' AND i < 3", "i < 3"),
    ] {
        let got = rows(
            &db,
            &format!("SELECT i, s, ip FROM {from} WHERE {cond} ORDER BY i"),
        );
        let want = rows(
            &db,
            &format!("SELECT i, s, ip FROM t WHERE {want} ORDER BY i"),
        );
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{cond}");
    }
    let explain = explain_text(
        &db,
        &format!("SELECT i, s FROM {file} WHERE v = 'v3' ORDER BY i LIMIT 2"),
    );
    assert!(
        explain.contains("TableFunction: read_parquet(")
            && explain.contains("filter: (v = 'v3')")
            && !explain.contains("\nFilter")
            && !explain.contains(" Filter:"),
        "{explain}"
    );
}
