//! `logdb serve`: one long-lived process that follows log files into a database (as
//! `logdb import --follow` does) and answers SQL over HTTP, with a live dashboard at `/`.
//!
//! Threads: one per followed file (the library's `import::follow`), a pool of
//! request workers (`--max-queries` plus a few for cheap requests, so `/health`
//! and 429 answers still go out while every query slot is taken), a thread per
//! running query (its request worker waits for it, checking every 50 ms that the
//! client is still connected), the watchdog that enforces `--timeout-ms`,
//! tiny_http's own connection threads, and one that connects to the server every
//! 100 ms so that tiny_http's pool never leaves a connection unread (`nudge.rs`).
//! Ctrl-C or SIGTERM stops them all: followers commit what they read, running
//! queries are cancelled, and each followed file's summary is printed.

mod assets;
mod follow;
mod http;
mod limits;
mod nudge;
mod peer;
mod query;
mod routes;
mod status;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use logdb::db::Db;
use logdb::sql::Session;

use crate::import_cmd::{self, ImportArgs, TableArgs};
use follow::Follower;
use limits::{Slots, Watchdog};

/// Arguments of `logdb serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The database directory (created if missing when following or writing; opened
    /// read-only otherwise, so another process may import into it meanwhile).
    pub db: PathBuf,
    /// Address to listen on. Any address but a loopback one requires --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Follow these growing files (like `logdb import --follow`: rotation,
    /// truncation, resuming after the last committed line) into --table.
    #[arg(long, num_args = 1.., requires = "format")]
    pub follow: Vec<PathBuf>,
    /// Log format of the followed files: combined, common, nginx, elb, alb, jsonl,
    /// csv, tsv.
    #[arg(long, short = 'f', requires = "follow")]
    pub format: Option<String>,
    #[command(flatten)]
    pub into: TableArgs,
    /// Commit followed lines at least every this many milliseconds (default 1000).
    #[arg(long)]
    pub commit_ms: Option<u64>,
    /// Require the header `Authorization: Bearer TOKEN` on every request but the
    /// dashboard's own files.
    #[arg(long)]
    pub token: Option<String>,
    /// Allow statements that change the database (INSERT, DELETE, CREATE, DROP,
    /// ALTER); without it they are refused with 403.
    #[arg(long)]
    pub allow_write: bool,
    /// Allow queries to read files of the server's machine (read_log, read_csv,
    /// read_json, FROM 'file'); without it they are refused.
    #[arg(long)]
    pub allow_file_read: bool,
    /// Allow `COPY ... TO 'file'` to write files of the server's machine
    /// (needs --allow-write too); without it COPY TO is refused.
    #[arg(long)]
    pub allow_file_write: bool,
    /// Queries running at once; a request waits up to --queue-ms for a slot, then
    /// gets 429.
    #[arg(long, default_value_t = 8)]
    pub max_queries: usize,
    /// How long a query request waits for a free slot before 429.
    #[arg(long, default_value_t = 2_000)]
    pub queue_ms: u64,
    /// Cancel a query after this many milliseconds (504).
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Memory one query may hold, as in `SET memory_limit` (e.g. 512MB, 2GiB);
    /// default: the process's default limit divided by --max-queries.
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Largest request body (the SQL) in bytes (413 beyond).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_request_bytes: usize,
    /// Largest answer in bytes (422 beyond).
    #[arg(long, default_value_t = 64 << 20)]
    pub max_result_bytes: usize,
}

/// The limits every query request runs under.
#[derive(Debug)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub max_result_bytes: usize,
    pub timeout: Duration,
    /// How long a request waits for a query slot before 429.
    pub queue_wait: Duration,
}

/// What request handlers share.
pub struct State {
    pub db: Db,
    /// Settings every request's session starts from (the memory limit).
    pub session: Session,
    pub limits: Limits,
    pub token: Option<String>,
    pub allow_write: bool,
    pub slots: Slots,
    pub watchdog: Watchdog,
    pub followers: Vec<Follower>,
    pub started: Instant,
    /// The port the server listens on: a request's connection is the socket from
    /// the client's address to this port.
    pub port: u16,
    /// Queries cancelled because their client closed the connection.
    pub queries_abandoned: AtomicU64,
}

/// Request workers beyond the query slots, for cheap requests and 429 answers.
const SPARE_WORKERS: usize = 4;

/// Stack of a request worker: what the main thread has, for the statements short
/// enough to run on the worker itself (longer ones get the library's query stack).
const WORKER_STACK: usize = 8 << 20;

/// Runs the server until Ctrl-C or SIGTERM. Returns whether every followed file
/// was imported without error.
pub fn run(args: ServeArgs, out: &mut impl Write) -> Result<bool> {
    let listen = resolve(&args.listen)?;
    match &args.token {
        Some(t) if t.trim().is_empty() => bail!("--token must not be empty"),
        None if !listen.ip().is_loopback() => bail!(
            "listening on {listen}, which is not a loopback address, requires --token \
             (clients then send 'Authorization: Bearer TOKEN')"
        ),
        _ => {}
    }
    if let Some(s) = &args.into.uid_from {
        import_cmd::parse_uid_source(s)?;
    }
    let writable = args.allow_write || !args.follow.is_empty();
    let db = Db::builder()
        .read_only(!writable)
        .open(&args.db)
        .with_context(|| format!("cannot open database {}", args.db.display()))?;
    let session = session_for(&db, &args)?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the interrupt handler")?;

    let server = tiny_http::Server::http(listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let state = State {
        db,
        session,
        limits: Limits {
            max_request_bytes: args.max_request_bytes,
            max_result_bytes: args.max_result_bytes,
            timeout: Duration::from_millis(args.timeout_ms),
            queue_wait: Duration::from_millis(args.queue_ms),
        },
        token: args.token.clone(),
        allow_write: args.allow_write,
        slots: Slots::new(args.max_queries),
        watchdog: Watchdog::default(),
        followers: args.follow.iter().map(|f| Follower::new(f)).collect(),
        started: Instant::now(),
        port: server
            .server_addr()
            .to_ip()
            .map_or(listen.port(), |a| a.port()),
        queries_abandoned: AtomicU64::new(0),
    };
    std::thread::scope(|scope| {
        let stop = &*stop;
        // Whatever ends this closure, early error included, stops every thread.
        let result = serve_until_stopped(scope, &state, &server, &args, stop, out);
        stop.store(true, Ordering::Relaxed);
        result
    })
}

/// What a follow thread returns: its import's outcome and how long it ran.
type FollowOutcome = (Result<logdb::import::ImportStats>, Duration);

/// Starts the watchdog, the followers and the request workers, waits for `stop`,
/// then prints each followed file's summary. Returns whether every follow succeeded.
fn serve_until_stopped<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    state: &'env State,
    server: &'env tiny_http::Server,
    args: &'env ServeArgs,
    stop: &'env AtomicBool,
    out: &mut impl Write,
) -> Result<bool> {
    scope.spawn(|| state.watchdog.run(stop));
    let mut followers: Vec<std::thread::ScopedJoinHandle<'scope, FollowOutcome>> = Vec::new();
    for follower in &state.followers {
        let import_args = follow_args(args, follower.file.clone());
        followers.push(scope.spawn(move || {
            let start = Instant::now();
            (follower.run(&state.db, &import_args, stop), start.elapsed())
        }));
        follower.wait_for_table(
            &state.db,
            args.into.table.as_deref().unwrap_or("logs"),
            stop,
        );
    }
    for _ in 0..args.max_queries.max(1) + SPARE_WORKERS {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, || serve_requests(state, server, stop))
            .context("cannot start a request worker")?;
    }
    if let Some(listening) = server.server_addr().to_ip() {
        scope.spawn(move || nudge::run(listening, stop));
    }
    let bound = server
        .server_addr()
        .to_ip()
        .map_or_else(|| args.listen.clone(), |a| a.to_string());
    writeln!(out, "logdb serve: listening on http://{bound}")?;
    for f in &state.followers {
        let table = args.into.table.as_deref().unwrap_or("logs");
        writeln!(out, "following {} into table {table}", f.file.display())?;
    }
    out.flush()?;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut ok = true;
    for (follower, handle) in state.followers.iter().zip(followers) {
        let (result, elapsed) = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a follow thread panicked"))?;
        writeln!(out, "{}:", follower.file.display())?;
        match result {
            Ok(stats) => {
                let bytes = state
                    .db
                    .table_info(args.into.table.as_deref().unwrap_or("logs"))
                    .map_or(0, |t| t.bytes);
                import_cmd::print_summary(out, &stats, bytes, elapsed)?;
            }
            Err(e) => {
                ok = false;
                writeln!(out, "error: {e:#}")?;
            }
        }
    }
    Ok(ok)
}

/// The first address `listen` names (`127.0.0.1:8080`, `[::1]:0`, `localhost:8080`).
fn resolve(listen: &str) -> Result<SocketAddr> {
    listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen}: expected HOST:PORT"))?
        .next()
        .with_context(|| format!("--listen {listen}: the host has no address"))
}

/// The session every request clones: the per-query memory limit set.
fn session_for(db: &Db, args: &ServeArgs) -> Result<Session> {
    let mut session = Session::new(db.clone());
    session.options_mut().allow_file_read = args.allow_file_read;
    session.options_mut().allow_file_write = args.allow_file_write;
    // Dashboards ask the same aggregations every few seconds: each reuses the
    // groups of the segments the last one saw.
    session.options_mut().aggregate_cache = true;
    match &args.memory_limit {
        Some(limit) => {
            session
                .execute(&format!(
                    "SET memory_limit = '{}'",
                    limit.replace('\'', "''")
                ))
                .with_context(|| format!("--memory-limit {limit}"))?;
        }
        None => {
            let options = session.options_mut();
            options.memory_limit = logdb::exec::default_memory_limit() / args.max_queries.max(1);
        }
    }
    Ok(session)
}

/// The arguments `logdb import --follow FILE` would get for a followed file.
fn follow_args(args: &ServeArgs, file: PathBuf) -> ImportArgs {
    ImportArgs {
        db: args.db.clone(),
        inputs: Vec::new(),
        follow: Some(file),
        format: args.format.clone().unwrap_or_else(|| "auto".into()),
        // Served queries and the followers share one table: the one named here.
        into: TableArgs {
            table: Some(args.into.table.clone().unwrap_or_else(|| "logs".into())),
            ..args.into.clone()
        },
        reject_file: None,
        max_rejects: None,
        max_reject_ratio: Some(1.0),
        time_column: None,
        index: None,
        threads: None,
        batch_rows: None,
        segment_rows: None,
        commit_ms: args.commit_ms,
        quiet: true,
        report_commits: false,
    }
}

/// A request worker: answers requests until `stop` is set.
fn serve_requests(state: &State, server: &tiny_http::Server, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => routes::handle(state, request),
            Ok(None) => {}
            Err(e) => {
                eprintln!("logdb serve: cannot receive a request: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
