//! `logdb import`: files or stdin into a table, with progress and a summary.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use logdb::db::Db;
use logdb::import::{
    import, ImportObserver, ImportOptions, ImportStats, Source, DEFAULT_MAX_REJECT_RATIO,
};
use logdb::ingest::{ParserOptions, TimeColumn, UidSource};
use logdb::value::format_bytes;

/// Parses `--uid-from`: `param:NAME` (or a bare NAME), `remote_user`, `field:NAME`, `none`.
pub fn parse_uid_source(spec: &str) -> Result<UidSource> {
    Ok(match spec {
        "none" => UidSource::None,
        "remote_user" => UidSource::RemoteUser,
        s => match s.split_once(':') {
            Some(("param", name)) if !name.is_empty() => UidSource::QueryParam(name.into()),
            Some(("field", name)) if !name.is_empty() => UidSource::Field(name.into()),
            Some((kind, _)) => anyhow::bail!(
                "unknown --uid-from kind '{kind}'; use param:NAME, field:NAME, remote_user or none"
            ),
            None => UidSource::QueryParam(s.into()),
        },
    })
}

/// Shows progress on a terminal and writes rejected lines to the reject file.
pub struct CliObserver {
    bar: Option<ProgressBar>,
    rejects: Option<BufWriter<File>>,
    reject_error: Option<std::io::Error>,
    shown_rejects: u64,
    /// Print a line to stderr after every commit (`--report-commits`).
    report_commits: bool,
    start: Instant,
}

impl CliObserver {
    pub fn new(reject_file: Option<&PathBuf>, progress: bool) -> Result<CliObserver> {
        let rejects = match reject_file {
            Some(p) => Some(BufWriter::new(File::create(p).with_context(|| {
                format!("cannot create reject file {}", p.display())
            })?)),
            None => None,
        };
        let bar = (progress && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Ok(CliObserver {
            bar,
            rejects,
            reject_error: None,
            shown_rejects: 0,
            report_commits: false,
            start: Instant::now(),
        })
    }

    /// Flushes the reject file and clears the progress bar.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if let Some(e) = self.reject_error.take() {
            return Err(e).context("cannot write the reject file");
        }
        if let Some(w) = &mut self.rejects {
            w.flush().context("cannot write the reject file")?;
        }
        Ok(())
    }
}

fn escape(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\r', "\\r")
}

impl ImportObserver for CliObserver {
    fn progress(&mut self, stats: &ImportStats, total: Option<u64>) {
        if let Some(b) = &self.bar {
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(stats.bytes_read);
            let secs = self.start.elapsed().as_secs_f64().max(1e-3);
            b.set_message(format!(
                "{} lines, {:.0} lines/s, {} rejected",
                stats.lines,
                stats.lines as f64 / secs,
                stats.rejected
            ));
        }
    }

    fn committed(&mut self, stats: &ImportStats) {
        if !self.report_commits {
            return;
        }
        // One write of a whole line, issued only after the commit returned (so after
        // the manifest's fsync): a reader of stderr may count these rows as durable.
        let msg = format!("committed {} rows, {} lines\n", stats.rows, stats.lines);
        let _ = std::io::stderr().lock().write_all(msg.as_bytes());
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(b) => b.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn reject(&mut self, file: &str, line: u64, reason: &str, text: &[u8]) {
        if let Some(w) = &mut self.rejects {
            if let Err(e) = writeln!(w, "{file}\t{line}\t{reason}\t{}", escape(text)) {
                self.reject_error.get_or_insert(e);
            }
        } else if self.shown_rejects < 10 {
            self.shown_rejects += 1;
            let msg = format!("rejected {file}:{line}: {reason}");
            match &self.bar {
                Some(b) => b.println(msg),
                None => eprintln!("{msg}"),
            }
        }
    }
}

/// How parsed lines land in a table: the options `import` and `serve --follow` share.
#[derive(clap::Args, Debug, Clone)]
pub struct TableArgs {
    /// Table to import into (created with the format's schema). Default: `logs`;
    /// but a records file (jsonl/csv/tsv that is not an access log) goes to a table
    /// named after the file, and a format whose schema differs from the one `logs`
    /// holds goes to a table named after the format (stderr says which).
    #[arg(long, short = 't')]
    pub table: Option<String>,
    /// The nginx log_format string (with --format nginx).
    #[arg(long)]
    pub log_format: Option<String>,
    /// Where uid comes from: param:NAME (default param:uid), field:NAME, remote_user, none.
    #[arg(long)]
    pub uid_from: Option<String>,
}

/// Arguments of `logdb import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The database directory (created if missing).
    pub db: PathBuf,
    /// Files (plain, .gz, .zst), directories (recursively; links are followed, each
    /// file and directory taken once) or `-` for stdin.
    #[arg(required_unless_present = "follow")]
    pub inputs: Vec<String>,
    /// Follow a growing file (like tail -F): import it, then new lines as they are
    /// written, until interrupted. Survives rotation and truncation, and resumes after
    /// the last committed line when restarted.
    #[arg(long, conflicts_with = "inputs")]
    pub follow: Option<PathBuf>,
    /// Log format: auto (detect from the first lines; the default), combined,
    /// common, nginx, elb, alb, jsonl, csv, tsv.
    #[arg(long, short = 'f', default_value = "auto")]
    pub format: String,
    #[command(flatten)]
    pub into: TableArgs,
    /// Write each rejected line here: file, line number, reason, text (tab-separated).
    #[arg(long)]
    pub reject_file: Option<PathBuf>,
    /// Fail when more lines than this are rejected (the rows before are kept).
    /// Given alone, it replaces the --max-reject-ratio check.
    #[arg(long)]
    pub max_rejects: Option<u64>,
    /// Stop, storing nothing, when more than this share (0 to 1) of the first
    /// 10,000 lines is rejected: the format is likely wrong. Default 0.1; 1 never
    /// stops.
    #[arg(long)]
    pub max_reject_ratio: Option<f64>,
    /// jsonl/csv/tsv records: the time column (a field of the input), or `none` for
    /// a plain table. Default: the first time field named like ts, time, timestamp,
    /// access_time or created_at, else the first field holding times, else none.
    #[arg(long)]
    pub time_column: Option<String>,
    /// Columns to give a bitmap index when the table is created (comma-separated).
    /// Default: uid, uri, status for access logs; for records, the text, integer
    /// and boolean columns whose values repeat in the first lines, and integer
    /// columns named like ids (user_id, uid, *_id) whose values are not ascending
    /// (up to 8).
    #[arg(long, value_delimiter = ',')]
    pub index: Option<Vec<String>>,
    /// Parser threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rows per commit (default: the segment size).
    #[arg(long)]
    pub batch_rows: Option<usize>,
    /// Rows per segment file at most (default 1 Mi).
    #[arg(long)]
    pub segment_rows: Option<usize>,
    /// Commit at least every this many milliseconds (useful with stdin).
    #[arg(long)]
    pub commit_ms: Option<u64>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// After every commit, print "committed R rows, L lines" (totals so far) to
    /// stderr. Each line is written only once the commit is durable.
    #[arg(long)]
    pub report_commits: bool,
}

/// Runs an import and prints the summary. Returns whether every file was read whole.
pub fn run(args: ImportArgs, out: &mut impl Write) -> Result<bool> {
    // Bad options fail before the database directory is created.
    import_options(&args)?;
    let mut builder = Db::builder();
    if let Some(n) = args.segment_rows {
        builder = builder.max_segment_rows(n);
    }
    let db = builder
        .open(&args.db)
        .with_context(|| format!("cannot open database {}", args.db.display()))?;
    run_on(&db, &args, out)
}

/// The library's import options for `args` (`import`, `.import` and `serve --follow`
/// build them here, so a followed file is read the same way by all three).
pub fn import_options(args: &ImportArgs) -> Result<ImportOptions> {
    let mut opts = ImportOptions::new(&args.format);
    opts.table = args.into.table.clone().unwrap_or_else(|| "logs".into());
    opts.auto_table = args.into.table.is_none();
    opts.parser = ParserOptions {
        uid_from: match &args.into.uid_from {
            Some(s) => parse_uid_source(s)?,
            None => UidSource::default(),
        },
        log_format: args.into.log_format.clone(),
        time_column: match args.time_column.as_deref() {
            None => TimeColumn::Detect,
            Some("none") => TimeColumn::None,
            Some(name) => TimeColumn::Named(name.to_string()),
        },
        ..Default::default()
    };
    opts.max_rejects = args.max_rejects;
    opts.max_reject_ratio = match (args.max_reject_ratio, args.max_rejects) {
        (Some(r), _) if !(0.0..=1.0).contains(&r) => {
            anyhow::bail!("--max-reject-ratio must be between 0 and 1, not {r}")
        }
        (Some(r), _) if r >= 1.0 => None,
        (Some(r), _) => Some(r),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_MAX_REJECT_RATIO),
    };
    opts.index = args.index.clone();
    opts.threads = args.threads;
    opts.batch_rows = args.batch_rows;
    let stdin = args.inputs.iter().any(|i| i == "-") || args.follow.is_some();
    opts.max_commit_delay = args
        .commit_ms
        .map(Duration::from_millis)
        .or(stdin.then(|| Duration::from_secs(1)));
    Ok(opts)
}

/// Imports into an open database (`args.db` and `args.segment_rows` are not used)
/// and prints the summary. Returns whether every file was read whole.
pub fn run_on(db: &Db, args: &ImportArgs, out: &mut impl Write) -> Result<bool> {
    let opts = import_options(args)?;
    let sources: Vec<Source> = args
        .inputs
        .iter()
        .map(|i| {
            if i == "-" {
                Source::Stdin
            } else {
                Source::Path(i.into())
            }
        })
        .collect();
    let mut obs = CliObserver::new(args.reject_file.as_ref(), !args.quiet)?;
    obs.report_commits = args.report_commits;
    let start = Instant::now();
    let parquet = args.format == "parquet" || (args.format == "auto" && all_parquet(&sources));
    let result = match &args.follow {
        _ if parquet => import_parquet(db, &sources, args, &mut obs),
        Some(path) => {
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
                .context("cannot install the interrupt handler")?;
            logdb::import::follow(db, path, &opts, &mut obs, &stop)
        }
        None => import(db, &sources, &opts, &mut obs),
    };
    obs.finish()?;
    let stats = result?;
    let elapsed = start.elapsed();
    let info = db.table_info(&stats.table)?;
    print_summary(out, &stats, info.bytes, elapsed)?;
    for e in &stats.file_errors {
        writeln!(out, "error: {e}")?;
    }
    Ok(stats.file_errors.is_empty())
}

/// Whether every file the inputs name is a `.parquet` file, apart from the
/// names engines skip beside them (`_...`, `.hidden`: an export's manifest).
fn all_parquet(sources: &[Source]) -> bool {
    let Ok(files) = logdb::import::expand_sources(sources) else {
        return false;
    };
    let mut any = false;
    for f in &files {
        let Source::Path(p) = f else { return false };
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".parquet") {
            any = true;
        } else if !(name.starts_with('_') || name.starts_with('.')) {
            return false;
        }
    }
    any
}

/// `import --format parquet` (or only `.parquet` inputs with `--format auto`).
#[cfg(feature = "arrow")]
fn import_parquet(
    db: &Db,
    sources: &[Source],
    args: &ImportArgs,
    obs: &mut CliObserver,
) -> logdb::Result<logdb::ImportStats> {
    if args.follow.is_some() || sources.iter().any(|s| matches!(s, Source::Stdin)) {
        return Err(logdb::Error::InvalidInput(
            "Parquet is read from files (not stdin or --follow)".into(),
        ));
    }
    let files: Vec<std::path::PathBuf> = logdb::import::expand_sources(sources)?
        .into_iter()
        .filter_map(|s| match s {
            Source::Path(p) => Some(p),
            Source::Stdin => None,
        })
        // A directory's or a glob's Parquet files; a file named outright whatever its name.
        .filter(|p| {
            logdb::arrow_import::is_parquet_path(p)
                || sources
                    .iter()
                    .any(|s| matches!(s, Source::Path(named) if named == p))
        })
        .collect();
    logdb::arrow_import::import_parquet(db, &files, args.into.table.as_deref(), obs)
}

#[cfg(not(feature = "arrow"))]
fn import_parquet(
    _: &Db,
    _: &[Source],
    _: &ImportArgs,
    _: &mut CliObserver,
) -> logdb::Result<logdb::ImportStats> {
    Err(logdb::Error::InvalidInput(
        "this logdb was built without the `arrow` feature: it cannot read Parquet".into(),
    ))
}

pub fn print_summary(
    out: &mut impl Write,
    s: &ImportStats,
    table_bytes: u64,
    elapsed: Duration,
) -> std::io::Result<()> {
    let secs = elapsed.as_secs_f64().max(1e-9);
    writeln!(out, "files:          {}", s.files)?;
    writeln!(out, "lines read:     {}", s.lines)?;
    writeln!(out, "rows stored:    {}", s.rows)?;
    writeln!(out, "lines rejected: {}", s.rejected)?;
    writeln!(out, "input bytes:    {}", format_bytes(s.bytes_read))?;
    writeln!(out, "table on disk:  {}", format_bytes(table_bytes))?;
    writeln!(
        out,
        "elapsed:        {:.2} s ({:.0} lines/s)",
        secs,
        s.lines as f64 / secs
    )?;
    Ok(())
}
