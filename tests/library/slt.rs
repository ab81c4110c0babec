//! Runs the sqllogictest files in `tests/slt/` against a database built here.
//!
//! Tables: `logs` (the common module's log_batch, 20,000 rows over several segments, one
//! per ~3 hours), `t` (a small hand-written table with NULLs), `empty` (no rows),
//! `nulls` (every value NULL), `users` (uid, name, country, plan, signup: uids
//! that match `logs.uid`, some that do not, a duplicate and a NULL, for joins), and
//! the real server logs of `tests/data/real` imported by the import engine:
//! `apache` (combined), `elb` (Classic Load Balancer) and `alb` (Application Load
//! Balancer). `tools/slt_expected.py` builds the same tables in DuckDB (from the CSV
//! files and column lists this test writes to `target/slt-data/`) to produce the
//! expected results.
//!
//! The files run in name order against one database, so statements in one file
//! (ddl.slt) must leave the shared tables as they found them.
//!
//! Every file runs under `PRAGMA enable_verification`: each query runs a second
//! time on one thread without indexes, and the two results must agree.
//!
//! Format: `query <types> [rowsort]`, the SQL, `----`, expected rows (values
//! separated by a tab; DOUBLEs with 3 decimals), a blank line; or `statement error
//! <substring>` followed by the SQL.

use crate::common::{log_batch, log_schema, T0};
use logdb::{BatchBuilder, DataType, Db, Field, TableSchema, Value};

/// id, name, x, y, flag, ts, ip.
type Row<'a> = (
    i64,
    Option<&'a str>,
    Option<i64>,
    Option<f64>,
    Option<bool>,
    Option<&'a str>,
    Option<&'a str>,
);

fn build_db(dir: &std::path::Path) -> Db {
    let db = Db::builder().max_segment_rows(4000).open(dir).unwrap();
    let schema = log_schema();
    db.create_table("logs", schema.clone()).unwrap();
    let batch = log_batch(&schema, 7, T0, 500_000, 20_000);
    db.append("logs", &batch).unwrap();

    let t = TableSchema::new(vec![
        Field::new("id", DataType::BigInt),
        Field::new("name", DataType::Varchar),
        Field::new("x", DataType::Integer),
        Field::new("y", DataType::Double),
        Field::new("flag", DataType::Boolean),
        Field::new("ts", DataType::Timestamp),
        Field::new("ip", DataType::Ip),
    ]);
    db.create_table("t", t.clone()).unwrap();
    #[allow(clippy::type_complexity)]
    let rows: Vec<Row> = vec![
        (
            1,
            Some("alpha"),
            Some(10),
            Some(1.5),
            Some(true),
            Some("2024-05-01 10:00:00"),
            Some("10.0.0.1"),
        ),
        (
            2,
            Some("beta"),
            Some(-3),
            Some(2.25),
            Some(false),
            Some("2024-05-01 10:30:00"),
            Some("10.0.0.2"),
        ),
        (
            3,
            None,
            Some(7),
            None,
            None,
            Some("2024-05-02 00:00:00"),
            None,
        ),
        (
            4,
            Some("a_c"),
            None,
            Some(-0.5),
            Some(true),
            None,
            Some("::1"),
        ),
        (
            5,
            Some("A%C"),
            Some(0),
            Some(0.0),
            Some(false),
            Some("2023-12-31 23:59:59"),
            Some("192.168.1.1"),
        ),
        (
            6,
            Some("abc"),
            Some(10),
            Some(100.0),
            None,
            Some("2024-05-01 10:00:00"),
            Some("10.0.0.1"),
        ),
        (
            7,
            Some("Alpha"),
            Some(2147483647),
            Some(3.0),
            Some(true),
            Some("2024-02-29 12:34:56"),
            Some("2001:db8::1"),
        ),
        (
            8,
            Some(""),
            Some(-2147483648),
            Some(-7.75),
            Some(false),
            Some("2024-05-01 10:59:59"),
            Some("10.0.0.3"),
        ),
    ];
    let mut b = BatchBuilder::new(&t);
    for (id, name, x, y, flag, ts, ip) in &rows {
        b.push_i64(0, *id);
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
            Some(s) => b.push_i64(5, logdb::time::parse_timestamp(s).unwrap()),
            None => b.push_null(5),
        }
        match ip {
            Some(s) => b.push_ip(6, logdb::ip::parse(s).unwrap()),
            None => b.push_null(6),
        }
    }
    db.append("t", &b.finish()).unwrap();

    db.create_table("empty", t.clone()).unwrap();
    db.create_table("nulls", t.clone()).unwrap();
    let mut b = BatchBuilder::new(&t);
    for i in 0..3 {
        b.push_i64(0, i);
        for c in 1..7 {
            b.push_null(c);
        }
    }
    db.append("nulls", &b.finish()).unwrap();
    load_real_logs(&db);

    // Users for joins: uids that match logs.uid (u0..u499, u1000), some that match
    // nothing, a duplicate uid and a NULL uid.
    let users = TableSchema::new(vec![
        Field::new("uid", DataType::Varchar),
        Field::new("name", DataType::Varchar),
        Field::new("country", DataType::Varchar),
        Field::new("plan", DataType::Varchar),
        Field::new("signup", DataType::Timestamp),
    ]);
    db.create_table("users", users.clone()).unwrap();
    #[allow(clippy::type_complexity)]
    let rows: Vec<(Option<&str>, &str, Option<&str>, Option<&str>, Option<&str>)> = vec![
        (
            Some("u1"),
            "ann",
            Some("DE"),
            Some("pro"),
            Some("2024-01-05 10:00:00"),
        ),
        (
            Some("u2"),
            "bob",
            Some("US"),
            Some("free"),
            Some("2024-02-10 08:30:00"),
        ),
        (
            Some("u3"),
            "cid",
            Some("US"),
            Some("pro"),
            Some("2024-03-01 00:00:00"),
        ),
        (
            Some("u5"),
            "dee",
            Some("FR"),
            Some("free"),
            Some("2024-04-20 12:00:00"),
        ),
        (
            Some("u5"),
            "dee2",
            Some("FR"),
            Some("pro"),
            Some("2024-04-21 12:00:00"),
        ),
        (
            Some("u1000"),
            "big",
            Some("US"),
            Some("enterprise"),
            Some("2023-06-01 00:00:00"),
        ),
        (Some("u42"), "eve", None, None, None),
        (
            Some("u9999"),
            "ghost",
            Some("GB"),
            Some("free"),
            Some("2024-05-01 00:00:00"),
        ),
        (
            Some("x7"),
            "zed",
            Some("GB"),
            Some("pro"),
            Some("2024-05-02 00:00:00"),
        ),
        (
            None,
            "nobody",
            Some("DE"),
            Some("free"),
            Some("2024-01-01 00:00:00"),
        ),
    ];
    let mut b = BatchBuilder::new(&users);
    for (uid, name, country, plan, signup) in &rows {
        for (i, v) in [uid, &Some(*name), country, plan].into_iter().enumerate() {
            match v {
                Some(s) => b.push_str(i, s),
                None => b.push_null(i),
            }
        }
        match signup {
            Some(s) => b.push_i64(4, logdb::time::parse_timestamp(s).unwrap()),
            None => b.push_null(4),
        }
    }
    db.append("users", &b.finish()).unwrap();
    db
}

/// Imports the real log samples of `tests/data/real` (a missing directory is a
/// failure, not a skip).
fn load_real_logs(db: &Db) {
    use logdb::import::{import, ImportOptions, Quiet, Source};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real");
    assert!(
        dir.is_dir(),
        "the real log samples are missing: expected them in {}",
        dir.display()
    );
    for (table, file, format, lines) in [
        ("apache", "apache_combined_2015.log", "combined", 10_000),
        ("elb", "elb_classic_samples.log", "elb", 7),
        ("alb", "alb_samples.log", "alb", 4),
    ] {
        let path = dir.join(file);
        assert!(path.is_file(), "missing real log sample {}", path.display());
        let mut options = ImportOptions::new(format);
        options.table = table.into();
        let stats = import(db, &[Source::Path(path)], &options, &mut Quiet)
            .unwrap_or_else(|e| panic!("importing {file}: {e}"));
        assert_eq!(stats.lines, lines, "{file}");
        assert_eq!(stats.rows, lines, "every line of {file} is stored");
    }
}

/// Writes every table as CSV, and its columns as `name TYPE` lines, for
/// tools/slt_expected.py.
fn export_csv(db: &Db) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/slt-data");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cols" || x == "csv") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for table in db.table_names().unwrap() {
        let r = db.query(&format!("SELECT * FROM {table}")).unwrap();
        let cols: String = r
            .columns
            .iter()
            .map(|(n, t)| format!("{n} {t}\n"))
            .collect();
        std::fs::write(dir.join(format!("{table}.cols")), cols).unwrap();
        let mut out = String::new();
        out.push_str(
            &r.columns
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
        for row in r.rows() {
            let cells: Vec<String> = row
                .iter()
                .zip(&r.columns)
                .map(|(v, (_, t))| match v {
                    Value::Null => "\\N".to_string(),
                    Value::Str(s) => format!("\"{}\"", s.replace('"', "\"\"")),
                    Value::Float(f) => format!("{f:?}"),
                    other => logdb::value::format_value(other, *t),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        std::fs::write(dir.join(format!("{table}.csv")), out).unwrap();
    }
}

fn render(v: &Value, t: DataType) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 { "inf" } else { "-inf" }.into()
            } else {
                let s = format!("{f:.3}");
                if s == "-0.000" {
                    "0.000".into()
                } else {
                    s
                }
            }
        }
        Value::Str(s) if s.is_empty() => "(empty)".into(),
        // tools/slt_expected.py prints DuckDB's DECIMALs as numbers with three
        // decimals; exact text is checked through `::VARCHAR`.
        Value::Int(x) if t.decimal().is_some() => {
            let scale = t.decimal().map_or(0, |(_, s)| s);
            render(
                &Value::Float(logdb::decimal::to_f64(*x, scale)),
                DataType::Double,
            )
        }
        other => logdb::value::format_value(other, t),
    }
}

#[test]
fn slt_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    export_csv(&db);
    let slt_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&slt_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files {
        // One session per file, as DuckDB's runner keeps one connection: SET and
        // PREPARE last until the file ends.
        let mut session = logdb::Session::new(db.clone());
        // Every query also runs on one thread without indexes, and must agree.
        session.execute("PRAGMA enable_verification").unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = text.lines().enumerate().peekable();
        while let Some((ln, line)) = lines.next() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let header: Vec<&str> = line.split_whitespace().collect();
            let mut sql = String::new();
            while let Some((_, l)) = lines.peek() {
                if l.trim().is_empty() || l.trim() == "----" {
                    break;
                }
                sql.push_str(l);
                sql.push('\n');
                lines.next();
            }
            let loc = format!("{}:{}", f.display(), ln + 1);
            count += 1;
            match header[0] {
                "statement" => {
                    let r = session.execute(&sql);
                    let want_err = header.get(1) == Some(&"error");
                    match (r, want_err) {
                        (Ok(_), false) => {}
                        (Err(e), true) => {
                            let needle = header[2..].join(" ");
                            if !e.to_string().contains(&needle) {
                                failures.push(format!("{loc}: error '{e}' lacks '{needle}'"));
                            }
                        }
                        (Ok(_), true) => failures.push(format!("{loc}: expected an error")),
                        (Err(e), false) => failures.push(format!("{loc}: {e}")),
                    }
                }
                "query" => {
                    let rowsort = header.get(2) == Some(&"rowsort");
                    let mut expected = Vec::new();
                    if lines.peek().is_some_and(|(_, l)| l.trim() == "----") {
                        lines.next();
                        while let Some((_, l)) = lines.peek() {
                            if l.trim().is_empty() {
                                break;
                            }
                            expected.push(l.to_string());
                            lines.next();
                        }
                    }
                    match session.execute(&sql) {
                        Err(e) => failures.push(format!("{loc}: {e}\n{sql}")),
                        Ok(r) => {
                            let mut got: Vec<String> = r
                                .rows()
                                .iter()
                                .map(|row| {
                                    row.iter()
                                        .zip(&r.columns)
                                        .map(|(v, (_, t))| render(v, *t))
                                        .collect::<Vec<_>>()
                                        .join("\t")
                                })
                                .collect();
                            let mut exp = expected.clone();
                            if rowsort {
                                got.sort();
                                exp.sort();
                            }
                            if got != exp {
                                failures.push(format!(
                                    "{loc}:\n{sql}expected:\n{}\ngot:\n{}",
                                    exp.join("\n"),
                                    got.join("\n")
                                ));
                            }
                        }
                    }
                }
                other => failures.push(format!("{loc}: unknown directive {other}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} slt records failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
