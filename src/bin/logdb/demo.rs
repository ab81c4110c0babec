//! `logdb demo`: generate sample access logs, import them, and answer the everyday
//! questions, with timings.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use logdb::column::Value;
use logdb::db::Db;
use logdb::import::{import, ImportOptions, Source};
use logdb::ingest::generate::{generate, GenOptions};
use logdb::storage::segment::BlockValues;
use logdb::time::{format_timestamp, MICROS_PER_HOUR};

use crate::import_cmd::{human_bytes, print_summary, CliObserver};

/// Arguments of `logdb demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Working directory for the generated log and the database.
    #[arg(default_value = "logdb-demo")]
    pub dir: PathBuf,
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

fn timed<T>(out: &mut impl Write, title: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let r = f()?;
    writeln!(
        out,
        "\n-- {title}  ({:.1} ms)",
        start.elapsed().as_secs_f64() * 1e3
    )?;
    Ok(r)
}

fn bar(n: u64, max: u64, width: usize) -> String {
    "#".repeat(((n as f64 / max.max(1) as f64) * width as f64).round() as usize)
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
        human_bytes(gen.bytes),
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

    let snap = db.snapshot()?;

    let per_day: BTreeMap<String, u64> = timed(
        out,
        "requests per day, and the busiest hour (scan of ts)",
        || {
            let mut hours: BTreeMap<i64, u64> = BTreeMap::new();
            for seg in snap.segments("logs", None)? {
                let mut block = logdb::storage::segment::ColumnBlock::default();
                let mut scratch = Vec::new();
                let col = seg.column_index("ts").context("no ts column")?;
                for b in 0..seg.meta().columns[col].blocks.len() {
                    seg.read_block(col, b, &mut block, &mut scratch)?;
                    if let BlockValues::Int64(ts) = &block.values {
                        for &t in ts {
                            *hours.entry(t.div_euclid(MICROS_PER_HOUR)).or_default() += 1;
                        }
                    }
                }
            }
            let mut days = BTreeMap::new();
            for (&h, &n) in &hours {
                *days
                    .entry(format_timestamp(h * MICROS_PER_HOUR)[..10].to_string())
                    .or_default() += n;
            }
            if let Some((&h, &n)) = hours.iter().max_by_key(|(_, &n)| n) {
                days.insert(
                    format!("busiest hour {}", format_timestamp(h * MICROS_PER_HOUR)),
                    n,
                );
            }
            Ok(days)
        },
    )?;
    let max = per_day
        .iter()
        .filter(|(k, _)| !k.starts_with("busiest"))
        .map(|(_, &n)| n)
        .max()
        .unwrap_or(1);
    for (d, n) in &per_day {
        if d.starts_with("busiest") {
            writeln!(out, "  {d}: {n} requests")?;
        } else {
            writeln!(out, "  {d} {n:>9} {}", bar(*n, max, 40))?;
        }
    }

    let status = timed(
        out,
        "status mix (bitmap index counts, no data read)",
        || Ok(snap.value_counts("logs", "status")?),
    )?;
    let total: u64 = status.iter().map(|(_, n)| n).sum();
    for (v, n) in &status {
        writeln!(
            out,
            "  {:>5} {n:>9} {:>6.2}%",
            fmt_value(v),
            *n as f64 * 100.0 / total.max(1) as f64
        )?;
    }

    let mut uris = timed(out, "top 10 uris (bitmap index counts)", || {
        Ok(snap.value_counts("logs", "uri")?)
    })?;
    uris.sort_by_key(|u| std::cmp::Reverse(u.1));
    for (v, n) in uris.iter().take(10) {
        writeln!(out, "  {n:>9}  {}", fmt_value(v))?;
    }

    let mut uids = snap.value_counts("logs", "uid")?;
    uids.sort_by_key(|u| std::cmp::Reverse(u.1));
    if let Some((hot, n)) = uids.first().cloned() {
        let hours = timed(
            out,
            &format!(
                "what did the busiest user {} ({n} requests) do, by hour of day (bitmap lookup)",
                fmt_value(&hot)
            ),
            || {
                let mut hours = [0u64; 24];
                for (seg, rows) in snap.lookup("logs", "uid", &hot)? {
                    let col = seg.column_index("ts").context("no ts column")?;
                    let ts = &seg.read_columns(&[col])?[0];
                    if let logdb::column::ColumnData::Int64(ts) = &ts.data {
                        for r in rows.iter() {
                            hours[(ts[r as usize].rem_euclid(24 * MICROS_PER_HOUR)
                                / MICROS_PER_HOUR) as usize] += 1;
                        }
                    }
                }
                Ok(hours)
            },
        )?;
        let max = hours.iter().copied().max().unwrap_or(1);
        for (h, n) in hours.iter().enumerate() {
            writeln!(out, "  {h:02}:00 {n:>8} {}", bar(*n, max, 40))?;
        }
    }
    if let Some((rare, _)) = uids.iter().rev().find(|(_, n)| *n >= 1).cloned() {
        let hits = timed(
            out,
            &format!(
                "all requests of a rare user {} (bitmap lookup)",
                fmt_value(&rare)
            ),
            || {
                Ok(snap
                    .lookup("logs", "uid", &rare)?
                    .iter()
                    .map(|(_, b)| b.len())
                    .sum::<u64>())
            },
        )?;
        writeln!(out, "  {hits} requests")?;
    }

    writeln!(
        out,
        "\nThe database is in {}. Inspect it with:",
        db_dir.display()
    )?;
    writeln!(out, "  logdb info {}", db_dir.display())?;
    writeln!(out, "  logdb check {}", db_dir.display())?;
    Ok(())
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Ip(ip) => logdb::ip::format(*ip),
    }
}
