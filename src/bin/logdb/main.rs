//! The `logdb` command: the SQL shell (`logdb [DB] [-c SQL]...`) and subcommands for
//! import, maintenance and the demo. Thin: all work happens in the library.
//!
//! Routing: the first argument selects a subcommand when it is one's name (`import`,
//! `info`, ...); anything else (a path, an option, nothing) starts the shell. A
//! database directory named like a subcommand is opened as `./import`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod demo;
mod import_cmd;
mod serve;
mod shell;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use logdb::db::{Db, TableInfo};
use logdb::storage::backend::FileBackend;
use logdb::time::format_timestamp;

#[derive(Parser, Debug)]
#[command(
    name = "logdb",
    version,
    about = "An embedded columnar analytics database for web and access logs",
    override_usage = "logdb [DB] [-c SQL]... [-f FILE]... [-o MODE]   (the SQL shell)\n       logdb <COMMAND> [ARGS]...",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    shell: shell::ShellArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate sample access logs, import them and answer example questions.
    Demo(demo::DemoArgs),
    /// Import log files (or stdin) into a table.
    Import(import_cmd::ImportArgs),
    /// Write synthetic access-log lines (nginx combined), or activity records as CSV,
    /// to stdout or a file.
    Generate {
        /// What to write: `access` (nginx combined lines with a request time) or
        /// `records` (CSV `user_id,access_time,terminal,module,content` over one leap
        /// year).
        #[arg(long, default_value = "access", value_parser = ["access", "records"])]
        kind: String,
        /// Shape of the access log: `realistic` (ids in paths, thousands of user
        /// agents, uneven days, error bursts) or `simple` (fixed pools of paths and
        /// users, equal days).
        #[arg(long, default_value = "realistic", value_parser = ["realistic", "simple"])]
        profile: String,
        /// Lines (records: rows) to write.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// Days of traffic (access logs; records always span 366 days).
        #[arg(long)]
        days: Option<u32>,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (default stdout).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Follow log files, answer SQL over HTTP and show a live dashboard.
    Serve(serve::ServeArgs),
    /// Time SQL queries in-process and write timings and result rows as JSON.
    BenchQueries(bench::BenchArgs),
    /// Verify every checksum, and that manifest, segments and indexes agree.
    Check {
        /// The database directory.
        db: PathBuf,
    },
    /// List tables, partitions and segments with rows and bytes.
    Info {
        /// The database directory (opened read-only).
        db: PathBuf,
        /// Show only this table, down to its segments.
        table: Option<String>,
    },
    /// Write a table as Parquet files, one directory per day
    /// (`DIR/day=YYYY-MM-DD/part-N.parquet`) for Spark, Trino, Hive or DuckDB;
    /// a second run writes only the days that changed.
    Export {
        /// The database directory.
        db: PathBuf,
        /// The table to export (it must have a time column).
        table: String,
        /// The export directory (created if missing; an existing one must hold an
        /// earlier export of the same table, or nothing).
        dir: PathBuf,
        /// The file format.
        #[arg(long, default_value = "parquet", value_parser = ["parquet"])]
        format: String,
        /// The Parquet codec: zstd, snappy, gzip, lz4_raw or uncompressed.
        #[arg(long, default_value = "zstd")]
        compression: String,
        /// Rows per row group.
        #[arg(long, default_value_t = 1 << 20)]
        row_group_rows: usize,
    },
    /// Merge small segments into full-size ones.
    Compact {
        /// The database directory.
        db: PathBuf,
        /// The table whose small segments are merged.
        table: String,
    },
    /// Drop a log table's whole partitions older than a cut-off: a number of days
    /// before now (or before the newest data), or a given time.
    Retention {
        /// The database directory.
        db: PathBuf,
        /// The log table whose partitions are dropped.
        table: String,
        /// Keep this many days: partitions ending at or before the cut-off (now,
        /// by the wall clock, minus DAYS; see --from-latest) are dropped.
        #[arg(long, conflicts_with = "before")]
        days: Option<u32>,
        /// With --days: count the days back from the table's newest timestamp
        /// instead of from now (for data that is not current, e.g. samples).
        #[arg(long, requires = "days")]
        from_latest: bool,
        /// Drop partitions ending at or before this UTC time (e.g. 2024-05-01).
        #[arg(long)]
        before: Option<String>,
        /// List the partitions that would be dropped, with rows and bytes; drop
        /// nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

use logdb::value::format_bytes;

fn print_table(out: &mut impl Write, t: &TableInfo, segments: bool) -> std::io::Result<()> {
    let cols: Vec<String> = t
        .schema
        .fields
        .iter()
        .map(|f| format!("{} {}", f.name, f.data_type))
        .collect();
    writeln!(
        out,
        "table {}: {} rows, {} on disk, {} partitions",
        t.name,
        t.rows,
        format_bytes(t.bytes),
        t.partitions.len()
    )?;
    writeln!(out, "  columns: {}", cols.join(", "))?;
    match &t.schema.time_column {
        Some(tc) => writeln!(
            out,
            "  time column: {tc}; indexed: {}",
            t.schema.indexed.join(", ")
        )?,
        None => writeln!(
            out,
            "  no time column; indexed: {}",
            t.schema.indexed.join(", ")
        )?,
    }
    for p in &t.partitions {
        writeln!(
            out,
            "  partition {}: {} rows, {}, {} segments",
            p.key,
            p.rows,
            format_bytes(p.bytes),
            p.segments.len()
        )?;
        if segments {
            for s in &p.segments {
                let range = if s.min_ts <= s.max_ts {
                    format!(
                        "{} .. {}",
                        format_timestamp(s.min_ts),
                        format_timestamp(s.max_ts)
                    )
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "    {}: {} rows, {} {range}",
                    s.file,
                    s.rows,
                    format_bytes(s.bytes)
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(feature = "arrow")]
fn export_cmd(
    db: &std::path::Path,
    table: &str,
    dir: &std::path::Path,
    compression: &str,
    row_group_rows: usize,
    out: &mut impl Write,
) -> Result<()> {
    use logdb::export::{export_parquet, ExportOptions};
    if !db.is_dir() {
        anyhow::bail!("{} is not a database directory", db.display());
    }
    let handle = logdb::Db::builder()
        .read_only(true)
        .open(db)
        .with_context(|| format!("cannot open database {}", db.display()))?;
    let compression = logdb::arrow::ParquetCompression::from_name(compression).with_context(|| {
        format!("unknown compression '{compression}'; known: zstd, snappy, gzip, lz4_raw, uncompressed")
    })?;
    let options = ExportOptions {
        compression,
        row_group_rows: row_group_rows.max(1),
        ..ExportOptions::default()
    };
    let started = std::time::Instant::now();
    let stats = export_parquet(&handle, table, dir, &options, &mut |line| {
        eprintln!("{line}");
    })?;
    let secs = started.elapsed().as_secs_f64();
    if stats.whole_table {
        let what = if stats.days_written > 0 {
            format!(
                "written ({} rows, {} files, {})",
                stats.rows_written,
                stats.files_written,
                format_bytes(stats.bytes_written)
            )
        } else {
            "unchanged".to_string()
        };
        writeln!(
            out,
            "exported {table} (no time column: one set of files) to {}: {what} in {secs:.2} s",
            dir.display()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "exported {table} to {}: {} days written ({} rows, {} files, {}), {} unchanged, {} removed in {:.2} s",
        dir.display(),
        stats.days_written,
        stats.rows_written,
        stats.files_written,
        format_bytes(stats.bytes_written),
        stats.days_unchanged,
        stats.days_removed,
        secs
    )?;
    Ok(())
}

#[cfg(not(feature = "arrow"))]
fn export_cmd(
    _: &std::path::Path,
    _: &str,
    _: &std::path::Path,
    _: &str,
    _: usize,
    _: &mut impl Write,
) -> Result<()> {
    anyhow::bail!("this logdb was built without the `arrow` feature: it cannot write Parquet")
}

fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return shell::run(cli.shell);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::Demo(args) => {
            demo::run(args, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            let complete = import_cmd::run(args, &mut out)?;
            Ok(if complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Generate {
            kind,
            profile,
            lines,
            days,
            seed,
            output,
        } => {
            let write = |w: &mut dyn Write| -> Result<()> {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
                if kind == "records" {
                    if days.is_some() {
                        anyhow::bail!(
                            "--days does not apply to records: they span one leap year (366 days)"
                        );
                    }
                    let opts = logdb::ingest::generate_records::RecordOptions {
                        seed,
                        rows: lines,
                        ..Default::default()
                    };
                    logdb::ingest::generate_records::generate_records(&opts, &mut w)?;
                } else {
                    let opts = logdb::ingest::generate::GenOptions {
                        profile: logdb::ingest::Profile::from_name(&profile)
                            .with_context(|| format!("unknown profile '{profile}'"))?,
                        seed,
                        lines,
                        days: days.unwrap_or(7),
                        ..Default::default()
                    };
                    logdb::ingest::generate::generate(&opts, &mut w)?;
                }
                w.flush()?;
                Ok(())
            };
            match output {
                Some(p) => {
                    let mut f = std::fs::File::create(&p)
                        .with_context(|| format!("cannot create {}", p.display()))?;
                    write(&mut f)?;
                }
                None => write(&mut out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => Ok(if serve::run(args, &mut out)? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Command::BenchQueries(args) => Ok(if bench::run(args, &mut out)? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Command::Export {
            db,
            table,
            dir,
            format: _,
            compression,
            row_group_rows,
        } => {
            export_cmd(&db, &table, &dir, &compression, row_group_rows, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { db } => {
            if !db.is_dir() {
                writeln!(out, "FAILED: {} is not a directory", db.display())?;
                return Ok(ExitCode::FAILURE);
            }
            let report = logdb::db::check_backend(&FileBackend::new(&db))?;
            writeln!(
                out,
                "checked {}: manifest generation {}, {} tables, {} segments, {} rows, {}",
                db.display(),
                report.generation,
                report.tables,
                report.segments,
                report.rows,
                format_bytes(report.bytes)
            )?;
            for n in &report.notes {
                writeln!(out, "note: {n}")?;
            }
            for p in &report.problems {
                writeln!(out, "PROBLEM: {p}")?;
            }
            if report.is_ok() {
                writeln!(out, "OK")?;
                Ok(ExitCode::SUCCESS)
            } else {
                writeln!(out, "FAILED: {} problems", report.problems.len())?;
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Info { db, table } => {
            let handle = Db::builder().read_only(true).open(&db)?;
            match table {
                Some(t) => {
                    let info = handle.table_info(&t)?;
                    print_table(&mut out, &info, true)?;
                    writeln!(out, "  bytes per column (data + dictionary + index):")?;
                    for c in handle.snapshot()?.column_sizes(&t)? {
                        let total = c.data_bytes + c.dict_bytes + c.index_bytes;
                        let storage = match (c.dictionary_segments, c.plain_segments) {
                            (0, 0) => String::new(),
                            (_, 0) => format!(", dictionary of {} entries", c.dict_entries),
                            (0, _) => ", plain strings".to_string(),
                            (d, p) => format!(", dictionary in {d} segments, plain in {p}"),
                        };
                        let storage = match c.joined_blocks {
                            0 => storage,
                            n => format!("{storage}, {n} blocks joined from two other columns"),
                        };
                        writeln!(
                            out,
                            "    {:<24} {:>10} = {} + {} + {}  ({:.2} bytes/row{storage})",
                            c.name,
                            format_bytes(total),
                            format_bytes(c.data_bytes),
                            format_bytes(c.dict_bytes),
                            format_bytes(c.index_bytes),
                            total as f64 / info.rows.max(1) as f64
                        )?;
                    }
                }
                None => {
                    let tables = handle.tables()?;
                    if tables.is_empty() {
                        writeln!(out, "no tables")?;
                    }
                    for t in tables {
                        print_table(&mut out, &t, false)?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compact { db, table } => {
            let handle = Db::open(&db)?;
            let s = handle.compact(&table)?;
            writeln!(
                out,
                "compacted {table}: {} segments -> {} ({} rows rewritten)",
                s.segments_before, s.segments_after, s.rows
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention {
            db,
            table,
            days,
            from_latest,
            before,
            dry_run,
        } => {
            let handle = Db::open(&db)?;
            let (cutoff, reference) = match (days, before) {
                (Some(d), None) => {
                    let (from, what) = if from_latest {
                        (
                            newest_timestamp(&handle.table_info(&table)?),
                            "the newest data",
                        )
                    } else {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_micros() as i64)
                            .unwrap_or(0);
                        (Some(now), "now")
                    };
                    let Some(from) = from else {
                        writeln!(out, "table {table} has no rows: nothing to drop")?;
                        return Ok(ExitCode::SUCCESS);
                    };
                    let cutoff = from.saturating_sub(d as i64 * logdb::time::MICROS_PER_DAY);
                    (
                        cutoff,
                        format!("{what} ({}) minus {d} days", format_timestamp(from)),
                    )
                }
                (None, Some(b)) => {
                    let cutoff = logdb::time::parse_timestamp(&b).with_context(|| {
                        format!(
                            "cannot parse '{b}' as a timestamp (e.g. 2024-05-01 or \
                             2024-05-01T12:00:00Z)"
                        )
                    })?;
                    (cutoff, "--before".to_string())
                }
                _ => {
                    anyhow::bail!("give --days N (optionally --from-latest) or --before TIMESTAMP")
                }
            };
            let doomed = handle.partitions_before(&table, cutoff)?;
            let (rows, bytes) = doomed
                .iter()
                .fold((0, 0), |(r, b), p| (r + p.rows, b + p.bytes));
            let cut = format_timestamp(cutoff);
            if dry_run {
                writeln!(
                    out,
                    "would drop {} partitions of {table} ending at or before {cut} \
                     ({rows} rows, {}); dry run, nothing dropped",
                    doomed.len(),
                    format_bytes(bytes)
                )?;
            } else {
                let n = handle.drop_partitions_before(&table, cutoff)?;
                writeln!(
                    out,
                    "dropped {n} partitions of {table} ending at or before {cut} \
                     ({rows} rows, {})",
                    format_bytes(bytes)
                )?;
            }
            writeln!(out, "cut-off: {cut}, from {reference}")?;
            for p in &doomed {
                writeln!(
                    out,
                    "  partition {}: {} rows, {}",
                    p.key,
                    p.rows,
                    format_bytes(p.bytes)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The newest timestamp stored in a table (from its segments' time ranges).
fn newest_timestamp(t: &TableInfo) -> Option<i64> {
    t.partitions
        .iter()
        .flat_map(|p| &p.segments)
        .filter(|s| s.rows > 0 && s.min_ts <= s.max_ts)
        .map(|s| s.max_ts)
        .max()
}

/// Column buffers of a batch are tens of megabytes each and live for one commit.
/// glibc raises its mmap threshold after such buffers are freed, after which new ones
/// come from the heap and fragment it: a fixed threshold returns them to the system
/// (measured: peak RSS of a 6M-line import 1.18 GB -> 0.79 GB, and faster).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Every open segment keeps its file open (segments are read with positioned reads),
/// so a database of many segments needs more descriptors than the usual soft limit of
/// 1024: the soft limit is raised to the hard one.
fn raise_open_files_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit and setrlimit read and write a plain struct owned here.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Whether `e` is a closed pipe, as a bare `std::io::Error` or as the library's
/// `Error::Io` (whose OS error is part of its text, not its source).
fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let kind = match (
        e.downcast_ref::<std::io::Error>(),
        e.downcast_ref::<logdb::Error>(),
    ) {
        (Some(io), _) => io.kind(),
        (None, Some(logdb::Error::Io { error, .. })) => error.kind(),
        _ => return false,
    };
    kind == std::io::ErrorKind::BrokenPipe
}

fn main() -> ExitCode {
    tune_allocator();
    raise_open_files_limit();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (e.g. `logdb info db | head`) is not an error.
            if e.chain().any(is_broken_pipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every argument of every subcommand has a line of `--help` text.
    #[test]
    fn every_argument_has_help_text() {
        let mut missing = Vec::new();
        let mut stack = vec![(String::from("logdb"), super::Cli::command())];
        while let Some((path, cmd)) = stack.pop() {
            if cmd.get_about().is_none() && path != "logdb" {
                missing.push(format!("{path} (the subcommand)"));
            }
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "arguments without help text: {missing:?}"
        );
    }
}
