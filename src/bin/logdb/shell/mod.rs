//! The SQL shell: `logdb [DB] [-c SQL]... [-f FILE]... [-o MODE]`.
//!
//! Interactive when no `-c`/`-f` is given and stdin is a terminal (line editing,
//! history, completion, progress, Ctrl-C cancels the running query); otherwise it
//! runs the statements and exits, writing exactly the results to stdout and stopping
//! at the first error with a non-zero exit code. Documented in spec/shell.md.

mod complete;
mod dot;
pub mod render;
pub mod split;

use std::fs::File;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use logdb::db::Db;
use logdb::exec::{ExecOptions, Progress};
use logdb::sql::Session;
use logdb::storage::mem::MemBackend;
use logdb::{Error, QueryResult};

use logdb::value::format_bytes;
use render::{Layout, Mode, RowWriter};
use split::Item;

/// Arguments of the shell (the command line without a subcommand).
#[derive(clap::Args, Debug, Default)]
pub struct ShellArgs {
    /// Database directory, created when it does not exist (default: a transient
    /// in-memory database). A directory named like a subcommand needs a path with a
    /// slash, e.g. ./import.
    pub db: Option<PathBuf>,
    /// Run SQL or dot commands and exit (repeatable, run in order, before any -f).
    #[arg(
        short = 'c',
        long = "command",
        value_name = "SQL",
        allow_hyphen_values = true
    )]
    pub commands: Vec<String>,
    /// Run the statements of a file and exit (repeatable, after every -c).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output mode: box, csv, tsv, json, jsonl, markdown, line, bar.
    #[arg(short = 'o', long = "output", value_name = "MODE")]
    pub mode: Option<String>,
    /// Open the database without the writer lock (writes fail).
    #[arg(long)]
    pub read_only: bool,
    /// Keep going after an error in a script (the exit code is still non-zero).
    #[arg(long)]
    pub no_bail: bool,
}

/// A streamed result up to this size is kept for `.chart`.
const KEPT_RESULT_BYTES: usize = 4 << 20;

/// How a statement ended.
enum Outcome {
    /// A result to show.
    Result(QueryResult),
    /// A result written while it streamed: its rows, whether it had columns,
    /// and the result itself when it was small enough to keep.
    Written {
        rows: usize,
        columns: bool,
        kept: Option<QueryResult>,
    },
    /// The statement failed.
    Failed(Error),
    /// Writing the result failed (`None`: stdout).
    WriteFailed(io::Error, Option<PathBuf>),
}

/// What running one item asks of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Ok,
    Failed,
    /// `.quit`, or stdout closed: stop reading input.
    Quit,
}

/// Where results go: stdout or a file from `.output`.
struct Sink {
    writer: Box<dyn Write>,
    /// `None`: stdout.
    path: Option<PathBuf>,
}

impl Sink {
    fn stdout() -> Sink {
        Sink {
            writer: Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
            path: None,
        }
    }

    fn file(path: &Path) -> Result<Sink> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Sink {
            writer: Box::new(BufWriter::with_capacity(1 << 16, f)),
            path: Some(path.to_path_buf()),
        })
    }
}

/// The state of one shell.
pub(crate) struct Shell {
    session: Session,
    /// What `.open`/the banner call the database.
    db_label: String,
    read_only: bool,
    mode: Mode,
    /// `.maxrows`: `None` until set (40 on a terminal, all rows otherwise);
    /// `Some(None)`: no limit.
    max_rows: Option<Option<usize>>,
    timer: bool,
    bail: bool,
    interactive: bool,
    out: Sink,
    once: Option<Sink>,
    cancel: Arc<AtomicBool>,
    last: Option<QueryResult>,
    failed: bool,
    /// `.read` nesting, to stop a file that reads itself.
    depth: usize,
}

/// The SIGINT flag: set by the handler, read by the executor between blocks.
static CANCEL: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(flag) = CANCEL.get() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Ctrl-C sets the cancel flag instead of ending the process (interactive only;
/// the line editor installs its own handler while it reads a line and restores
/// this one afterwards).
fn install_sigint_handler(flag: &Arc<AtomicBool>) {
    let _ = CANCEL.set(flag.clone());
    // SAFETY: the handler only performs an atomic load and store (async-signal
    // safe); `sa` is fully initialized before use.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Opens the shell's database. `None`: a new in-memory database. An existing
/// database is opened without the writer lock, which the first write takes: queries
/// write nothing (not even the lock file), run while another process imports, and a
/// directory that is not a logdb database, or one of a newer format, is refused
/// untouched.
pub(crate) fn open_db(path: Option<&Path>, read_only: bool) -> Result<Db> {
    let Some(path) = path else {
        return Ok(Db::builder().open_backend(Arc::new(MemBackend::new()))?);
    };
    let context = || format!("cannot open database {}", path.display());
    if !path.exists() {
        if read_only {
            anyhow::bail!("no database at {} (read-only: not created)", path.display());
        }
        return Db::builder().open(path).with_context(context);
    }
    let builder = Db::builder().read_only(read_only).lock_on_first_write(true);
    match builder.clone().create(false).open(path) {
        Ok(db) => Ok(db),
        // An empty directory becomes a new database, as `logdb import` does.
        Err(Error::NotFound(_)) if !read_only && is_empty_dir(path) => {
            builder.open(path).with_context(context)
        }
        Err(e) => Err(anyhow::Error::new(e).context(context())),
    }
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

/// Columns of the terminal on stdout, if stdout is one.
fn terminal_width() -> Option<usize> {
    if !io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LOGDB_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".logdb_history"))
}

/// Runs the shell.
pub fn run(args: ShellArgs) -> Result<ExitCode> {
    let mode = match &args.mode {
        Some(m) => Mode::parse(m).map_err(anyhow::Error::msg)?,
        None => Mode::Box,
    };
    let scripted = !args.commands.is_empty() || !args.files.is_empty();
    let interactive = !scripted && io::stdin().is_terminal();
    let db = open_db(args.db.as_deref(), args.read_only)?;
    let mut shell = Shell::new(db, label(args.db.as_deref()), mode, interactive);
    shell.bail = !args.no_bail;
    if interactive {
        shell.interactive_loop()?;
    } else if scripted {
        enum Script<'a> {
            Text(&'a str),
            File(&'a Path),
        }
        let texts = args.commands.iter().map(|c| Script::Text(c));
        let files = args.files.iter().map(|f| Script::File(f));
        for script in texts.chain(files) {
            let step = match script {
                Script::Text(text) => shell.run_text(text),
                Script::File(file) => shell.run_file(file),
            };
            if step == Step::Quit || (step == Step::Failed && shell.bail) {
                break;
            }
        }
    } else {
        shell.run_stdin()?;
    }
    shell.finish();
    // Interactive errors were shown as they happened; leaving is not a failure.
    Ok(if shell.failed && !interactive {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn label(path: Option<&Path>) -> String {
    path.map_or_else(
        || "a transient in-memory database".to_string(),
        |p| p.display().to_string(),
    )
}

impl Shell {
    fn new(db: Db, db_label: String, mode: Mode, interactive: bool) -> Shell {
        let read_only = db.options().read_only;
        Shell {
            session: Session::new(db),
            db_label,
            read_only,
            mode,
            max_rows: None,
            timer: false,
            bail: true,
            interactive,
            out: Sink::stdout(),
            once: None,
            cancel: Arc::new(AtomicBool::new(false)),
            last: None,
            failed: false,
            depth: 0,
        }
    }

    fn finish(&mut self) {
        let _ = self.out.writer.flush();
    }

    /// Reports an error on stderr (with the offending line and a caret for SQL
    /// errors that carry a position) and remembers the failure.
    fn error(&mut self, message: &str, sql: Option<&str>) -> Step {
        self.failed = true;
        let _ = self.out.writer.flush();
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "Error: {message}");
        if let Some((line, col)) = sql.and_then(|_| error_position(message)) {
            if let Some(text) = sql.and_then(|s| s.lines().nth(line.saturating_sub(1))) {
                let pad: String = text
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(err, "  {text}\n  {pad}^");
            }
        }
        Step::Failed
    }

    /// Runs every item of `text`; a trailing statement without `;` runs too.
    fn run_text(&mut self, text: &str) -> Step {
        let s = split::split(text);
        let mut result = Step::Ok;
        let last = s.last_statement().map(Item::Sql);
        for item in s.items.iter().copied().chain(last) {
            match self.run_item(item) {
                Step::Ok => {}
                Step::Quit => return Step::Quit,
                Step::Failed => {
                    result = Step::Failed;
                    if self.bail {
                        break;
                    }
                }
            }
        }
        result
    }

    fn run_file(&mut self, path: &Path) -> Step {
        const MAX_DEPTH: usize = 16;
        if self.depth >= MAX_DEPTH {
            return self.error(
                &format!(
                    "{}: files nested more than {MAX_DEPTH} deep",
                    path.display()
                ),
                None,
            );
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return self.error(&format!("cannot read {}: {e}", path.display()), None),
        };
        self.depth += 1;
        let step = self.run_text(&text);
        self.depth -= 1;
        step
    }

    fn run_item(&mut self, item: Item<'_>) -> Step {
        match item {
            Item::Dot(line) => self.dot(line),
            Item::Sql(sql) => self.run_sql(sql),
        }
    }

    /// SQL piped on stdin: statements run as soon as their `;` arrives.
    fn run_stdin(&mut self) -> Result<()> {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        let mut buffer = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line).context("cannot read stdin")? == 0 {
                break;
            }
            buffer.push_str(&line);
            let s = split::split(&buffer);
            if s.items.is_empty() {
                continue;
            }
            let consumed = buffer.len() - s.pending.len();
            for item in s.items {
                match self.run_item(item) {
                    Step::Ok => {}
                    Step::Quit => return Ok(()),
                    Step::Failed if self.bail => return Ok(()),
                    Step::Failed => {}
                }
            }
            buffer.drain(..consumed);
        }
        if let Some(last) = split::split(&buffer).last_statement() {
            let last = last.to_string();
            self.run_sql(&last);
        }
        Ok(())
    }

    fn layout(&self, to_terminal: bool) -> Layout {
        Layout {
            max_rows: self
                .max_rows
                .unwrap_or(if to_terminal { Some(40) } else { None }),
            width: if to_terminal { terminal_width() } else { None },
        }
    }

    /// Writes a result to the `.once` file, the `.output` file or stdout.
    fn show(&mut self, result: &QueryResult, mode: Mode) -> Step {
        if result.columns.is_empty() {
            return Step::Ok;
        }
        let to_terminal =
            self.once.is_none() && self.out.path.is_none() && terminal_width().is_some();
        let layout = self.layout(to_terminal);
        let (written, path) = match self.once.take() {
            Some(mut once) => {
                let r = render::render(&mut once.writer, result, mode, layout)
                    .and_then(|()| once.writer.flush());
                (r, once.path)
            }
            None => {
                let r = render::render(&mut self.out.writer, result, mode, layout)
                    .and_then(|()| self.out.writer.flush());
                (r, self.out.path.clone())
            }
        };
        match written {
            Ok(()) => Step::Ok,
            Err(e) => self.write_failed(e, path),
        }
    }

    /// Runs one statement: cancel flag and progress installed, result shown. In
    /// a mode that streams ([`Mode::streams`]) the result is written batch by
    /// batch as the query produces it ([`Session::query_stream`]), so its size is
    /// not bounded by memory; box and bar modes hold the whole result (within
    /// the memory limit) to lay it out.
    fn run_sql(&mut self, sql: &str) -> Step {
        let (sql, format) = logdb::sql::strip_format(sql);
        let mode = match format.map(Mode::parse) {
            None => self.mode,
            Some(Ok(m)) => m,
            Some(Err(e)) => return self.error(&e, None),
        };
        let progress = Arc::new(Progress::default());
        self.cancel.store(false, Ordering::Relaxed);
        {
            let opts: &mut ExecOptions = self.session.options_mut();
            opts.cancel = Some(self.cancel.clone());
            opts.progress = Some(progress.clone());
        }
        let start = Instant::now();
        let streamed = mode.streams();
        // Rows written as they arrive would mix with a progress bar.
        let (done, bar) = if self.interactive && !streamed {
            let (tx, rx) = mpsc::channel::<()>();
            let p = progress.clone();
            (
                Some(tx),
                Some(std::thread::spawn(move || progress_bar(&p, &rx))),
            )
        } else {
            (None, None)
        };
        let outcome = if streamed {
            self.stream(sql, mode)
        } else {
            match self.session.execute(sql) {
                Ok(r) => Outcome::Result(r),
                Err(e) => Outcome::Failed(e),
            }
        };
        drop(done);
        if let Some(bar) = bar {
            let _ = bar.join();
        }
        for n in self.session.options().notices.take() {
            eprintln!("notice: {n}");
        }
        let elapsed = start.elapsed();
        // The flag also catches a Ctrl-C the executor did not see before finishing.
        let cancelled = self.cancel.swap(false, Ordering::Relaxed);
        {
            let opts = self.session.options_mut();
            opts.progress = None;
        }
        match outcome {
            Outcome::Failed(Error::Cancelled) => self.error("query cancelled", None),
            _ if cancelled => self.error("query cancelled", None),
            Outcome::Failed(e) => self.error(&e.to_string(), Some(sql)),
            Outcome::WriteFailed(e, path) => self.write_failed(e, path),
            Outcome::Written {
                rows,
                columns,
                kept,
            } => {
                self.last = kept;
                self.footer(rows, columns, elapsed, &progress);
                Step::Ok
            }
            Outcome::Result(result) => {
                let step = self.show(&result, mode);
                if step == Step::Ok {
                    let columns = !result.columns.is_empty();
                    self.footer(result.num_rows(), columns, elapsed, &progress);
                }
                self.last = Some(result);
                step
            }
        }
    }

    /// Runs `sql` as a stream and writes each batch in `mode` as it arrives, to
    /// the `.once` file, the `.output` file or stdout.
    fn stream(&mut self, sql: &str, mode: Mode) -> Outcome {
        let mut stream = match self.session.query_stream(sql) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(e),
        };
        let columns = stream.columns().to_vec();
        if columns.is_empty() {
            return Outcome::Written {
                rows: 0,
                columns: false,
                kept: None,
            };
        }
        let mut once = self.once.take();
        let sink = once.as_mut().unwrap_or(&mut self.out);
        let path = sink.path.clone();
        let out: &mut dyn Write = &mut sink.writer;
        let mut rows = 0;
        // A small result is kept for `.chart`.
        let mut kept = Some(QueryResult {
            columns: columns.clone(),
            batches: Vec::new(),
        });
        let mut kept_bytes = 0;
        let written = (|| -> std::result::Result<(), Outcome> {
            let io_err = |e: io::Error| Outcome::WriteFailed(e, path.clone());
            let mut writer = RowWriter::begin(out, &columns, mode).map_err(io_err)?;
            for chunk in stream.by_ref() {
                let chunk = chunk.map_err(Outcome::Failed)?;
                rows += chunk.num_rows();
                writer.rows(out, &chunk).map_err(io_err)?;
                kept_bytes += chunk.batches.iter().map(|b| b.heap_bytes()).sum::<usize>();
                match &mut kept {
                    Some(k) if kept_bytes <= KEPT_RESULT_BYTES => k.batches.extend(chunk.batches),
                    _ => kept = None,
                }
            }
            writer.end(out).map_err(io_err)?;
            out.flush().map_err(io_err)
        })();
        // A failed query leaves the rows written so far; they are flushed before
        // the error is reported.
        let _ = out.flush();
        match written {
            Ok(()) => Outcome::Written {
                rows,
                columns: true,
                kept,
            },
            Err(o) => o,
        }
    }

    /// Reports a failed write of a result (stdout closed: stop quietly).
    fn write_failed(&mut self, e: io::Error, path: Option<PathBuf>) -> Step {
        match e.kind() {
            io::ErrorKind::BrokenPipe if path.is_none() => Step::Quit,
            io::ErrorKind::InvalidInput => self.error(&e.to_string(), None),
            _ => {
                let target = path.map_or("stdout".to_string(), |p| p.display().to_string());
                self.error(&format!("cannot write to {target}: {e}"), None)
            }
        }
    }

    /// Rows, time and work done, on stderr (interactive), and `.timer` output.
    /// The time is printed once: `.timer on` adds a `Run Time` line only where no
    /// footer line (which has the time) is shown.
    fn footer(&self, rows: usize, columns: bool, elapsed: Duration, progress: &Progress) {
        let secs = elapsed.as_secs_f64();
        let mut err = io::stderr().lock();
        let footer_line = self.interactive && columns;
        if footer_line {
            let scanned = progress.rows_scanned.load(Ordering::Relaxed);
            let bytes = progress.bytes_read.load(Ordering::Relaxed);
            let mut line = format!(
                "{rows} row{} in {}",
                if rows == 1 { "" } else { "s" },
                human_duration(elapsed)
            );
            if scanned > 0 || bytes > 0 {
                line.push_str(&format!(
                    ", {} rows scanned ({:.1} M rows/s), {} read",
                    scanned,
                    scanned as f64 / secs.max(1e-9) / 1e6,
                    format_bytes(bytes)
                ));
            }
            let _ = writeln!(err, "{line}");
        }
        if self.timer && !footer_line {
            let _ = writeln!(err, "Run Time: {}", human_duration(elapsed));
        }
    }

    /// The interactive loop: line editor, history, completion.
    fn interactive_loop(&mut self) -> Result<()> {
        use rustyline::error::ReadlineError;
        install_sigint_handler(&self.cancel);
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .max_history_size(10_000)?
            .history_ignore_dups(true)?
            .build();
        let mut editor: rustyline::Editor<complete::ShellHelper, rustyline::history::FileHistory> =
            rustyline::Editor::with_config(config)?;
        editor.set_helper(Some(complete::ShellHelper::default()));
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        eprintln!(
            "logdb {} — connected to {}{}.\nEnter \".help\" for usage hints; statements end with \";\".",
            env!("CARGO_PKG_VERSION"),
            self.db_label,
            if self.read_only { " (read-only)" } else { "" }
        );
        loop {
            if let Some(h) = editor.helper_mut() {
                h.refresh(self.session.db());
            }
            match editor.readline("logdb> ") {
                Ok(text) => {
                    if !text.trim().is_empty() {
                        let _ = editor.add_history_entry(text.trim_end());
                        if let Some(h) = &history {
                            if let Err(e) = editor.append_history(h) {
                                eprintln!("warning: cannot write history {}: {e}", h.display());
                            }
                        }
                    }
                    if self.run_text(&text) == Step::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Draws a progress bar on stderr once a query has run for a second, until `done`
/// is dropped.
fn progress_bar(progress: &Progress, done: &mpsc::Receiver<()>) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use mpsc::RecvTimeoutError::Timeout;
    if done.recv_timeout(Duration::from_secs(1)) != Err(Timeout) {
        return;
    }
    let style = |template: &str| {
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .progress_chars("=> ")
    };
    // A spinner until the scan says how many segments it will read, then a bar.
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(style("{spinner} running {elapsed}: {msg} (Ctrl-C cancels)"));
    let mut has_total = false;
    loop {
        let total = progress.segments_total.load(Ordering::Relaxed);
        if total > 0 && !has_total {
            has_total = true;
            bar.set_style(style(
                "{spinner} running {elapsed} [{bar:25}] {pos}/{len} segments, {msg} (Ctrl-C cancels)",
            ));
        }
        bar.set_length(total);
        bar.set_position(progress.segments_done.load(Ordering::Relaxed));
        bar.set_message(format!(
            "{} rows, {}",
            progress.rows_scanned.load(Ordering::Relaxed),
            format_bytes(progress.bytes_read.load(Ordering::Relaxed))
        ));
        bar.tick();
        if done.recv_timeout(Duration::from_millis(100)) != Err(Timeout) {
            break;
        }
    }
    bar.finish_and_clear();
}

/// `0.42 ms`, `12.3 ms`, `1.25 s`.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// `(line, column)` of a message starting with "line L, column C:".
fn error_position(message: &str) -> Option<(usize, usize)> {
    let rest = message.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(", column ")?;
    let (col, _) = rest.split_once(':')?;
    Some((line.trim().parse().ok()?, col.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_sql_errors() {
        assert_eq!(
            error_position("line 2, column 7: unknown column"),
            Some((2, 7))
        );
        assert_eq!(error_position("unknown table"), None);
        assert_eq!(error_position("line x, column 7: y"), None);
    }
}
