//! `logdb demo`: generate sample access logs, import them, and answer the everyday
//! questions, with timings.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use logdb::column::Value;
use logdb::db::Db;
use logdb::import::{import, ImportOptions, Source};
use logdb::ingest::generate::{generate, GenOptions};
use logdb::time::format_timestamp;

use crate::import_cmd::{print_summary, CliObserver};
use logdb::value::format_bytes;

/// Arguments of `logdb demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Working directory for the generated log and the database (created; an old
    /// demo database in it is replaced).
    #[arg(default_value = "logdb-demo")]
    pub dir: PathBuf,
    /// Keep the generated log (by default it is deleted once imported: the database
    /// holds every line in a fraction of the space).
    #[arg(long)]
    pub keep_log: bool,
    /// Lines to generate.
    #[arg(long, default_value_t = 5_000_000)]
    pub lines: u64,
    /// Days of traffic.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: DemoArgs, out: &mut impl Write) -> Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let log = args.dir.join("access.log");
    let db_dir = args.dir.join("db");
    if db_dir.exists() {
        std::fs::remove_dir_all(&db_dir)
            .with_context(|| format!("cannot remove the old {}", db_dir.display()))?;
    }

    writeln!(
        out,
        "Generating {} access-log lines over {} days into {} ...",
        args.lines,
        args.days,
        log.display()
    )?;
    let start = Instant::now();
    let opts = GenOptions {
        seed: args.seed,
        lines: args.lines,
        days: args.days,
        ..GenOptions::default()
    };
    let file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let gen = generate(&opts, &mut w).context("generating the log")?;
    w.flush()?;
    writeln!(
        out,
        "  {} lines, {} in {:.1} s",
        gen.lines,
        format_bytes(gen.bytes),
        start.elapsed().as_secs_f64()
    )?;

    writeln!(out, "\nImporting into {} ...", db_dir.display())?;
    let db = Db::open(&db_dir)?;
    let mut obs = CliObserver::new(None, true)?;
    let start = Instant::now();
    let result = import(
        &db,
        &[Source::Path(log.clone())],
        &ImportOptions::new("combined"),
        &mut obs,
    );
    obs.finish()?;
    let stats = result?;
    if !args.keep_log {
        std::fs::remove_file(&log)
            .with_context(|| format!("cannot remove the generated {}", log.display()))?;
    }
    let info = db.table_info("logs")?;
    print_summary(out, &stats, info.bytes, start.elapsed())?;
    writeln!(
        out,
        "  compression: {:.1}x smaller than the raw log",
        gen.bytes as f64 / info.bytes.max(1) as f64
    )?;
    writeln!(
        out,
        "  partitions: {} ({} .. {}), segments: {}",
        info.partitions.len(),
        info.partitions
            .first()
            .map_or(String::new(), |p| p.key.clone()),
        info.partitions
            .last()
            .map_or(String::new(), |p| p.key.clone()),
        info.partitions
            .iter()
            .map(|p| p.segments.len())
            .sum::<usize>()
    )?;

    // The users to ask about: the busiest and a rare one, from the uid index counts.
    let snap = db.snapshot()?;
    let mut uids = snap.value_counts("logs", "uid")?;
    uids.sort_by_key(|u| std::cmp::Reverse(u.1));
    let hot = uids.first().map(|(v, _)| sql_string(v)).unwrap_or_default();
    let rare = uids.last().map(|(v, _)| sql_string(v)).unwrap_or_default();
    let day = info.partitions.get(1).or(info.partitions.first());
    let (day_start, day_end) = day.map_or((String::new(), String::new()), |p| {
        (format_timestamp(p.start), format_timestamp(p.end))
    });

    let questions = [
        ("requests per day", "SELECT date_trunc('day', ts) AS day, count(*) AS requests\nFROM logs GROUP BY day ORDER BY day".to_string()),
        ("the busiest hours", "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests\nFROM logs GROUP BY hour ORDER BY requests DESC LIMIT 5".to_string()),
        ("top 10 uris", "SELECT uri, count(*) AS requests FROM logs\nGROUP BY uri ORDER BY requests DESC LIMIT 10".to_string()),
        ("status mix", "SELECT status, count(*) AS requests FROM logs GROUP BY status ORDER BY status".to_string()),
        ("latency per endpoint, top 10 uris by traffic", "SELECT uri, count(*) AS requests, avg(request_time) AS avg_s, max(request_time) AS max_s\nFROM logs GROUP BY uri ORDER BY requests DESC LIMIT 10".to_string()),
        ("what did the busiest user do, hour by hour", format!("SELECT hour(ts) AS hour, count(*) AS requests FROM logs\nWHERE uid = '{hot}' GROUP BY hour ORDER BY hour")),
        ("visits per (day, hour, user, terminal), top 10", "SELECT date_trunc('day', ts) AS day, hour(ts) AS hour, uid, user_agent, count(*) AS visits\nFROM logs GROUP BY day, hour, uid, user_agent ORDER BY visits DESC LIMIT 10".to_string()),
        ("hours with the most 5xx on the second day", format!("SELECT date_trunc('hour', ts) AS hour, count(*) AS errors FROM logs\nWHERE status >= 500 AND ts >= TIMESTAMP '{day_start}' AND ts < TIMESTAMP '{day_end}'\nGROUP BY hour ORDER BY errors DESC LIMIT 5")),
        ("all requests of a rare user", format!("SELECT ts, method, uri, status FROM logs WHERE uid = '{rare}' ORDER BY ts")),
    ];
    for (title, sql) in &questions {
        let start = Instant::now();
        let result = db.query(sql).with_context(|| format!("running: {sql}"))?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        writeln!(
            out,
            "\n-- {title}  ({ms:.1} ms, {} rows)",
            result.num_rows()
        )?;
        for line in sql.lines() {
            writeln!(out, "   {line}")?;
        }
        for line in result.to_table_string().lines() {
            writeln!(out, "  {line}")?;
        }
    }

    writeln!(
        out,
        "\nThe database is in {}. Ask your own questions, or inspect it:",
        db_dir.display()
    )?;
    writeln!(out, "  logdb {}        (the SQL shell)", db_dir.display())?;
    writeln!(out, "  logdb info {}", db_dir.display())?;
    writeln!(out, "  logdb check {}", db_dir.display())?;
    if !on_path("logdb") {
        writeln!(
            out,
            "(`logdb` is not on your PATH: `cargo install --path .` puts it in ~/.cargo/bin, \
             or prefix the commands with `cargo run --release --`.)"
        )?;
    }
    writeln!(
        out,
        "Your own log: logdb import web.db /var/log/nginx/access.log   (the format is detected)"
    )?;
    writeln!(out, "Remove the demo with: rm -r {}", args.dir.display())?;
    Ok(())
}

/// Whether an executable named `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// A value as the text inside a SQL string literal.
fn sql_string(v: &Value) -> String {
    fmt_value(v).replace('\'', "''")
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Ip(ip) => logdb::ip::format(*ip),
        Value::List(items) => format!("{items:?}"),
    }
}
