//! `logdb bench-queries`: run a list of SQL queries against a database in this process,
//! timing every run, and write the timings and the result rows to JSON. The engine side
//! of `tools/bench.py`, which runs the same suite on DuckDB and ClickHouse and compares
//! the answers.
//!
//! Input (`--queries FILE`): a JSON array of `{"name": "Q1", "sql": "SELECT ..."}`.
//! Output (`--json FILE`, or stdout): `{"engine", "version", "threads", "peak_rss_kb",
//! "queries": [{"name", "sql", "columns": [[name, type]], "rows": [[text]],
//! "warmup_s": [..], "times_s": [..], "error"}]}`. Rows are the text of
//! `QueryResult::text_rows` (NULL as `NULL`), taken from the last run. A query that
//! fails records its error, the others still run, and the command exits non-zero.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use logdb::db::Db;
use logdb::sql::Session;
use serde::{Deserialize, Serialize};

/// Arguments of `logdb bench-queries`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The database directory (opened read-only).
    pub db: PathBuf,
    /// JSON file with the queries: `[{"name": "Q1", "sql": "SELECT count(*) FROM logs"}, ...]`.
    #[arg(long)]
    pub queries: PathBuf,
    /// Timed runs per query.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// Untimed warm-up runs per query, before the timed ones.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the results here (default stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Deserialize, Debug)]
struct QuerySpec {
    name: String,
    sql: String,
}

#[derive(Serialize, Debug)]
struct QueryReport {
    name: String,
    sql: String,
    columns: Vec<(String, String)>,
    rows: Vec<Vec<String>>,
    warmup_s: Vec<f64>,
    times_s: Vec<f64>,
    error: Option<String>,
}

#[derive(Serialize, Debug)]
struct Report {
    engine: &'static str,
    version: &'static str,
    threads: usize,
    /// Peak resident set of this process (getrusage), KiB.
    peak_rss_kb: i64,
    queries: Vec<QueryReport>,
}

/// Runs the suite; returns whether every query succeeded.
pub fn run(args: BenchArgs, out: &mut impl Write) -> Result<bool> {
    let text = std::fs::read_to_string(&args.queries)
        .with_context(|| format!("cannot read {}", args.queries.display()))?;
    let specs: Vec<QuerySpec> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON array of {{\"name\": ..., \"sql\": ...}}",
            args.queries.display()
        )
    })?;
    let db = Db::builder().read_only(true).open(&args.db)?;
    let mut session = Session::new(db);
    if let Some(t) = args.threads {
        session.options_mut().threads = t.max(1);
    }
    let threads = session.options().threads;

    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        reports.push(run_one(&mut session, spec, args.warmup, args.runs));
    }
    let ok = reports.iter().all(|r| r.error.is_none());
    let report = Report {
        engine: "logdb",
        version: env!("CARGO_PKG_VERSION"),
        threads,
        peak_rss_kb: peak_rss_kb(),
        queries: reports,
    };
    let json = serde_json::to_string_pretty(&report)?;
    match &args.json {
        Some(p) => std::fs::write(p, json + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => writeln!(out, "{json}")?,
    }
    Ok(ok)
}

fn run_one(session: &mut Session, spec: QuerySpec, warmup: u32, runs: u32) -> QueryReport {
    let mut report = QueryReport {
        name: spec.name,
        sql: spec.sql,
        columns: Vec::new(),
        rows: Vec::new(),
        warmup_s: Vec::new(),
        times_s: Vec::new(),
        error: None,
    };
    let mut last = None;
    for i in 0..warmup + runs {
        let start = Instant::now();
        let result = session.execute(&report.sql);
        let secs = start.elapsed().as_secs_f64();
        match result {
            Ok(r) => {
                if i < warmup {
                    report.warmup_s.push(secs);
                } else {
                    report.times_s.push(secs);
                }
                last = Some(r);
            }
            Err(e) => {
                report.error = Some(e.to_string());
                return report;
            }
        }
    }
    if let Some(r) = last {
        report.rows = r.text_rows();
        report.columns = r
            .columns
            .iter()
            .map(|(n, t)| (n.clone(), t.to_string()))
            .collect();
    }
    report
}

fn peak_rss_kb() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and has no other effect.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0 {
            usage.ru_maxrss
        } else {
            -1
        }
    }
}
